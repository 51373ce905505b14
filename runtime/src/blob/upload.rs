//! Resumable, chunked blob upload ([`Transport::upload_blob`]).
//!
//! The protocol (acr-wire §6.1, OCI distribution): `POST /v2/<name>/blobs/uploads/` opens a
//! session; `PATCH <Location>` sends each chunk with `Content-Range: <start>-<end>` (no
//! `bytes ` prefix, as ACR wants; docker-registry 2.8 ignores it) and answers a new
//! `Location` that the next request must use, and `Range: 0-<last byte held>`;
//! `PUT <Location>&digest=<digest>` completes it.
//!
//! What this adds on top:
//! - with a known digest, an existing blob is skipped (`HEAD`), and a blob in another
//!   repository is mounted (falling back to an upload when the registry answers 202);
//! - a blob that fits in one chunk goes in the completing `PUT` itself;
//! - sha256 is computed as the bytes stream; memory stays at about one chunk (plus the copy
//!   the HTTP stack holds while sending it), whatever the blob size;
//! - **resume**: when a `PATCH` fails (connection dropped, 5xx, 416), the registry is asked
//!   how much it holds (`GET <Location>` → `Range`) and the upload continues from there, with
//!   the hash state rewound to exactly those bytes (saved states at chunk boundaries, and a
//!   re-read of a seekable source when the registry holds less than the current chunk's
//!   start); when the session is gone, a seekable source starts over and a one-pass stream
//!   fails clearly;
//! - on an unrecoverable error the session is cancelled (`DELETE <Location>`) and the error
//!   says so; the registry's reported digest is compared with ours.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::{Method, StatusCode};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncSeek, AsyncSeekExt as _};
use tracing::Instrument as _;

use super::digester::Digester;
use crate::{Body, Digest, Error, RepositoryName, Request, Transport, UploadLocation, UploadRange};

const OP: &str = "upload_blob";

/// A readable and seekable source.
pub trait AsyncReadSeek: AsyncRead + AsyncSeek + Send + Unpin {}
impl<T: AsyncRead + AsyncSeek + Send + Unpin> AsyncReadSeek for T {}

/// Where the bytes of an upload come from.
#[non_exhaustive]
pub enum UploadSource {
    /// Bytes in memory (seekable).
    Bytes(Bytes),
    /// A file (seekable; its length is known).
    Path(PathBuf),
    /// A one-pass stream: a failed session cannot start over.
    Reader(Box<dyn AsyncRead + Send + Unpin>),
    /// A seekable stream, positioned at the start of the blob.
    Seekable(Box<dyn AsyncReadSeek>),
}

impl UploadSource {
    /// A one-pass reader.
    pub fn reader(r: impl AsyncRead + Send + Unpin + 'static) -> Self {
        Self::Reader(Box::new(r))
    }

    /// A seekable reader.
    pub fn seekable(r: impl AsyncRead + AsyncSeek + Send + Unpin + 'static) -> Self {
        Self::Seekable(Box::new(r))
    }

    /// A file.
    pub fn path(p: impl Into<PathBuf>) -> Self {
        Self::Path(p.into())
    }
}

impl std::fmt::Debug for UploadSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Self::Path(p) => write!(f, "Path({})", p.display()),
            Self::Reader(_) => f.write_str("Reader"),
            Self::Seekable(_) => f.write_str("Seekable"),
        }
    }
}

/// Progress of an upload: bytes the registry has confirmed, and the total when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes the registry confirmed holding.
    pub confirmed: u64,
    /// The blob size, when known.
    pub total: Option<u64>,
}

/// A progress callback.
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// Options of [`Transport::upload_blob`].
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct UploadOptions {
    /// The digest, when known in advance: enables skip-if-exists and mount, and is checked
    /// against the bytes.
    pub digest: Option<Digest>,
    /// The size, when known (for progress; files know theirs).
    pub size: Option<u64>,
    /// A repository of the same registry to mount the blob from (needs `digest`).
    pub mount_from: Option<RepositoryName>,
    /// The chunk size (the transport's by default).
    pub chunk_size: Option<usize>,
    /// Called after each chunk the registry confirmed.
    pub progress: Option<ProgressFn>,
    /// How many failed chunks may be resumed in all (8 by default when `None`).
    pub max_resumes: Option<u32>,
}

impl std::fmt::Debug for UploadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadOptions")
            .field("digest", &self.digest)
            .field("size", &self.size)
            .field("mount_from", &self.mount_from)
            .field("chunk_size", &self.chunk_size)
            .field("progress", &self.progress.is_some())
            .field("max_resumes", &self.max_resumes)
            .finish()
    }
}

impl UploadOptions {
    /// Sets the expected digest.
    pub fn digest(mut self, digest: Digest) -> Self {
        self.digest = Some(digest);
        self
    }

    /// Sets the size.
    pub fn size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }

    /// Mounts from `repo` when the blob is there.
    pub fn mount_from(mut self, repo: RepositoryName) -> Self {
        self.mount_from = Some(repo);
        self
    }

    /// Sets the chunk size (at least 1 byte).
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = Some(bytes.max(1));
        self
    }

    /// Sets the progress callback.
    pub fn progress(mut self, f: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Sets how many failed chunks may be resumed.
    pub fn max_resumes(mut self, n: u32) -> Self {
        self.max_resumes = Some(n);
        self
    }
}

enum Reader {
    OnePass(Box<dyn AsyncRead + Send + Unpin>),
    Seek(Box<dyn AsyncReadSeek>),
}

struct Source {
    reader: Reader,
    /// Where the reader is, in blob bytes.
    pos: u64,
    len: Option<u64>,
}

impl Source {
    async fn open(source: UploadSource) -> crate::Result<Self> {
        let (reader, len) = match source {
            UploadSource::Bytes(b) => {
                let len = b.len() as u64;
                (Reader::Seek(Box::new(std::io::Cursor::new(b))), Some(len))
            }
            UploadSource::Path(p) => {
                let f = tokio::fs::File::open(&p)
                    .await
                    .map_err(|e| Error::io(OP, format!("cannot open {}", p.display()), e))?;
                let len = f
                    .metadata()
                    .await
                    .map_err(|e| Error::io(OP, format!("cannot stat {}", p.display()), e))?
                    .len();
                (Reader::Seek(Box::new(f)), Some(len))
            }
            UploadSource::Reader(r) => (Reader::OnePass(r), None),
            UploadSource::Seekable(r) => (Reader::Seek(r), None),
        };
        Ok(Self {
            reader,
            pos: 0,
            len,
        })
    }

    fn seekable(&self) -> bool {
        matches!(self.reader, Reader::Seek(_))
    }

    /// Reads up to `n` bytes (fewer only at the end).
    async fn read_chunk(&mut self, n: usize) -> crate::Result<Bytes> {
        let mut buf = BytesMut::with_capacity(n);
        while buf.len() < n {
            let read = match &mut self.reader {
                Reader::OnePass(r) => r.read_buf(&mut buf).await,
                Reader::Seek(r) => r.read_buf(&mut buf).await,
            };
            match read {
                Ok(0) => break,
                Ok(k) => self.pos += k as u64,
                Err(e) => return Err(Error::io(OP, "cannot read the upload source", e)),
            }
        }
        Ok(buf.freeze())
    }

    async fn seek(&mut self, to: u64) -> crate::Result<()> {
        match &mut self.reader {
            Reader::Seek(r) => {
                r.seek(std::io::SeekFrom::Start(to))
                    .await
                    .map_err(|e| Error::io(OP, "cannot seek the upload source", e))?;
                self.pos = to;
                Ok(())
            }
            Reader::OnePass(_) => Err(Error::invalid_input(OP, "the source cannot seek")),
        }
    }
}

/// Why a session ended without success.
enum SessionEnd {
    /// The registry forgot the session: start over if the source can.
    Gone(Error),
    /// Anything else: cancel and fail.
    Fatal(Error, String),
}

struct Session<'a> {
    t: &'a Transport,
    repo: &'a RepositoryName,
    scope: String,
    location: String,
    digester: Digester,
    /// Bytes the registry confirmed.
    confirmed: u64,
    /// (offset, hash state) at confirmed chunk boundaries.
    checkpoints: Vec<(u64, Digester)>,
    resumes: u32,
    max_resumes: u32,
    progress: Option<ProgressFn>,
    total: Option<u64>,
}

impl Transport {
    /// Whether `digest` exists in `repo` (`HEAD`); its size when it does.
    pub async fn blob_exists(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> crate::Result<Option<u64>> {
        self.blob_exists_in_scope(repo, digest, format!("repository:{repo}:pull"))
            .await
    }

    /// [`Transport::blob_exists`] with the token of `scope` (an upload asks with its push
    /// scope, so one token serves the whole upload).
    async fn blob_exists_in_scope(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        scope: String,
    ) -> crate::Result<Option<u64>> {
        let req = Request::new(
            "check_blob_exists",
            Method::HEAD,
            format!("/v2/{repo}/blobs/{digest}"),
        )
        .scope(scope)
        .repository(repo.as_str());
        match self.send(req).await {
            Ok(r) => Ok(Some(r.header::<u64>("content-length")?.unwrap_or(0))),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Uploads a blob to `repo` and returns its digest and size. See the [module
    /// docs](self) for skip, mount, chunking, resume and verification.
    pub async fn upload_blob(
        &self,
        repo: &RepositoryName,
        source: UploadSource,
        options: UploadOptions,
    ) -> crate::Result<(Digest, u64)> {
        let span = tracing::info_span!(
            "acr.upload_blob",
            repository = repo.as_str(),
            size = tracing::field::Empty
        );
        self.upload_blob_in(repo, source, options, span.clone())
            .instrument(span)
            .await
    }

    async fn upload_blob_in(
        &self,
        repo: &RepositoryName,
        source: UploadSource,
        options: UploadOptions,
        span: tracing::Span,
    ) -> crate::Result<(Digest, u64)> {
        let mut src = Source::open(source).await?;
        let total = options.size.or(src.len);
        if let Some(n) = total {
            span.record("size", n);
        }
        let scope = format!("repository:{repo}:pull,push");
        let report = |confirmed: u64| {
            if let Some(p) = &options.progress {
                p(Progress { confirmed, total });
            }
        };
        let mut location = None;
        if let Some(digest) = &options.digest {
            if let Some(size) = self
                .blob_exists_in_scope(repo, digest, scope.clone())
                .await?
            {
                tracing::debug!(parent: &span, "blob exists; skipped");
                report(size);
                return Ok((digest.clone(), size));
            }
            if let Some(from) = &options.mount_from {
                let req = Request::new(
                    "mount_blob",
                    Method::POST,
                    format!("/v2/{repo}/blobs/uploads/"),
                )
                .query("from", from.as_str())
                .query("mount", digest.as_str())
                .scope(format!("{scope} repository:{from}:pull"))
                .repository(repo.as_str());
                let resp = self.send(req).await?;
                if resp.status == StatusCode::CREATED {
                    if let Some(reported) = resp.header_str("docker-content-digest")
                        && reported != digest.as_str()
                    {
                        return Err(Error::DigestMismatch {
                            operation: "mount_blob",
                            expected: digest.to_string(),
                            actual: reported.to_owned(),
                        });
                    }
                    let size = match total {
                        Some(n) => n,
                        None => self
                            .blob_exists_in_scope(repo, digest, scope.clone())
                            .await?
                            .unwrap_or(0),
                    };
                    tracing::debug!(parent: &span, from = from.as_str(), "blob mounted");
                    report(size);
                    return Ok((digest.clone(), size));
                }
                // 202: the registry opened an upload session instead
                location = Some(location_of(&resp.headers, "mount_blob")?);
            }
        }
        let chunk_size = options.chunk_size.unwrap_or(self.chunk_size()).max(1);
        let max_resumes = options.max_resumes.unwrap_or(8);
        let mut restarts = 0;
        loop {
            let location = match location.take() {
                Some(l) => l,
                None => self.start_upload(repo, &scope).await?,
            };
            let digester = match &options.digest {
                Some(d) => Digester::for_digest(d).ok_or_else(|| {
                    Error::invalid_input(
                        OP,
                        format!("unsupported digest algorithm {}", d.algorithm()),
                    )
                })?,
                None => Digester::sha256(),
            };
            let mut s = Session {
                t: self,
                repo,
                scope: scope.clone(),
                location,
                checkpoints: vec![(0, digester.clone())],
                digester,
                confirmed: 0,
                resumes: 0,
                max_resumes,
                progress: options.progress.clone(),
                total,
            };
            match s.run(&mut src, chunk_size, options.digest.as_ref()).await {
                Ok(done) => return Ok(done),
                Err(SessionEnd::Gone(e)) if src.seekable() && restarts < 2 => {
                    restarts += 1;
                    tracing::warn!(parent: &span, error = %e, "upload session lost; starting over");
                    src.seek(0).await?;
                }
                Err(SessionEnd::Gone(e)) => {
                    let message = if src.seekable() {
                        "the upload session was lost again after starting over; try later"
                            .to_owned()
                    } else {
                        "the registry lost the upload session and the source is a one-pass stream, so it cannot start over; upload again from a file or a seekable source".to_owned()
                    };
                    return Err(Error::Upload {
                        operation: OP,
                        repository: repo.to_string(),
                        offset: s.confirmed,
                        message,
                        cancelled: false,
                        source: Some(Box::new(e)),
                    });
                }
                Err(SessionEnd::Fatal(e, message)) => {
                    let cancelled = s.cancel().await;
                    return Err(Error::Upload {
                        operation: OP,
                        repository: repo.to_string(),
                        offset: s.confirmed,
                        message,
                        cancelled,
                        source: Some(Box::new(e)),
                    });
                }
            }
        }
    }

    async fn start_upload(&self, repo: &RepositoryName, scope: &str) -> crate::Result<String> {
        let req = Request::new(
            "start_upload",
            Method::POST,
            format!("/v2/{repo}/blobs/uploads/"),
        )
        .scope(scope)
        .repository(repo.as_str());
        let resp = self.send(req).await?;
        location_of(&resp.headers, "start_upload")
    }
}

fn location_of(headers: &http::HeaderMap, op: &'static str) -> crate::Result<String> {
    let loc = headers
        .get(http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Error::invalid_response(op, "the registry answered no upload Location"))?;
    UploadLocation::new(loc)
        .map(|l| l.as_str().to_owned())
        .map_err(|e| Error::invalid_response(op, e.to_string()))
}

/// Bytes held according to a `Range: 0-<end>` header (`0-0` with nothing confirmed yet is
/// read as empty: registries write an empty session that way).
fn held(headers: &http::HeaderMap, confirmed: u64) -> Option<u64> {
    let r: UploadRange = headers.get("range")?.to_str().ok()?.parse().ok()?;
    if r.start != 0 {
        return None;
    }
    if r.end == 0 && confirmed == 0 {
        return Some(0);
    }
    Some(r.end + 1)
}

impl Session<'_> {
    fn request(&self, op: &'static str, method: Method) -> Request {
        Request::new(op, method, self.location.clone())
            .scope(self.scope.clone())
            .repository(self.repo.as_str())
    }

    fn update_location(&mut self, headers: &http::HeaderMap) {
        if let Some(l) = headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| UploadLocation::new(l).ok())
        {
            self.location = l.as_str().to_owned();
        }
    }

    fn confirm(&mut self, data: &[u8]) {
        self.digester.update(data);
        self.confirmed += data.len() as u64;
        if let Some(p) = &self.progress {
            p(Progress {
                confirmed: self.confirmed,
                total: self.total,
            });
        }
    }

    async fn run(
        &mut self,
        src: &mut Source,
        chunk_size: usize,
        expected: Option<&Digest>,
    ) -> Result<(Digest, u64), SessionEnd> {
        let fatal = |e: Error, m: &str| SessionEnd::Fatal(e, m.to_owned());
        let mut first = true;
        loop {
            let chunk = src
                .read_chunk(chunk_size)
                .await
                .map_err(|e| fatal(e, "reading the source failed"))?;
            let last = chunk.len() < chunk_size;
            if first && last {
                // small blob: one request
                return self.complete(chunk, expected).await;
            }
            first = false;
            if !chunk.is_empty() {
                self.send_chunk(src, chunk).await?;
            }
            if last {
                return self.complete(Bytes::new(), expected).await;
            }
        }
    }

    /// PATCHes `chunk` (which starts at `self.confirmed`), resuming on failure.
    async fn send_chunk(&mut self, src: &mut Source, chunk: Bytes) -> Result<(), SessionEnd> {
        let mut pending = chunk;
        while !pending.is_empty() {
            let start = self.confirmed;
            let end = start + pending.len() as u64 - 1;
            let req = self
                .request("upload_chunk", Method::PATCH)
                .header("content-range", &format!("{start}-{end}"))
                .map_err(|e| SessionEnd::Fatal(e, "bad header".into()))?
                .body(Body::Bytes {
                    content_type: "application/octet-stream".into(),
                    data: pending.clone(),
                });
            let failure = match self.t.send(req).await {
                Ok(resp) => {
                    self.update_location(&resp.headers);
                    match held(&resp.headers, self.confirmed) {
                        Some(h) if h == end + 1 => {
                            self.confirm(&pending);
                            self.checkpoints
                                .push((self.confirmed, self.digester.clone()));
                            return Ok(());
                        }
                        // no Range, or an odd one: ask the registry below
                        _ => Error::invalid_response(
                            "upload_chunk",
                            "the registry's Range does not match the chunk sent",
                        ),
                    }
                }
                Err(e) => e,
            };
            let status = failure.status();
            let resumable = failure.is_retryable()
                || status == Some(StatusCode::RANGE_NOT_SATISFIABLE)
                || matches!(failure, Error::InvalidResponse { .. });
            if status == Some(StatusCode::NOT_FOUND) {
                return Err(SessionEnd::Gone(failure));
            }
            if !resumable {
                return Err(SessionEnd::Fatal(
                    failure,
                    "the registry refused a chunk".into(),
                ));
            }
            if self.resumes >= self.max_resumes {
                return Err(SessionEnd::Fatal(
                    failure,
                    format!("gave up after {} resumed chunks; try later", self.resumes),
                ));
            }
            self.resumes += 1;
            tracing::warn!(offset = self.confirmed, resume = self.resumes, error = %failure, "chunk failed; asking the registry how much it holds");
            tokio::time::sleep(self.t.retry_policy().backoff(self.resumes)).await;
            let h = self.status().await?;
            if h >= self.confirmed && h <= end + 1 {
                let got = (h - self.confirmed) as usize;
                let held_part = pending.split_to(got);
                self.confirm(&held_part);
            } else if h < self.confirmed {
                self.rewind(src, h).await?;
                // the registry lost earlier bytes: the source now stands at `h`; the
                // caller's chunk is stale, so send from the source up to `end` again
                let want = (end + 1 - h) as usize;
                pending = src
                    .read_chunk(want)
                    .await
                    .map_err(|e| SessionEnd::Fatal(e, "re-reading the source failed".into()))?;
                if pending.len() != want {
                    return Err(SessionEnd::Fatal(
                        Error::invalid_input(OP, "the source changed while uploading"),
                        "the source is shorter on re-read".into(),
                    ));
                }
            } else {
                return Err(SessionEnd::Fatal(
                    Error::invalid_response(
                        "get_upload_status",
                        format!("the registry claims {h} bytes, more than were sent"),
                    ),
                    "the registry's upload state is inconsistent".into(),
                ));
            }
        }
        self.checkpoints
            .push((self.confirmed, self.digester.clone()));
        Ok(())
    }

    /// Asks the registry how many bytes it holds (`GET <Location>`).
    async fn status(&mut self) -> Result<u64, SessionEnd> {
        let req = self.request("get_upload_status", Method::GET);
        match self.t.send(req).await {
            Ok(resp) => {
                self.update_location(&resp.headers);
                held(&resp.headers, self.confirmed).ok_or_else(|| {
                    SessionEnd::Fatal(
                        Error::invalid_response(
                            "get_upload_status",
                            "no usable Range in the upload status",
                        ),
                        "cannot tell how much the registry holds".into(),
                    )
                })
            }
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Err(SessionEnd::Gone(e)),
            Err(e) => Err(SessionEnd::Fatal(
                e,
                "cannot ask the registry how much it holds".into(),
            )),
        }
    }

    /// Sets the hash state and the source to `h` bytes, fewer than confirmed.
    async fn rewind(&mut self, src: &mut Source, h: u64) -> Result<(), SessionEnd> {
        if !src.seekable() {
            return Err(SessionEnd::Fatal(
                Error::invalid_input(OP, "one-pass source"),
                format!(
                    "the registry holds {h} bytes, fewer than it confirmed ({}), and a one-pass stream cannot be re-read",
                    self.confirmed
                ),
            ));
        }
        let Some((at, state)) = self
            .checkpoints
            .iter()
            .rev()
            .find(|(o, _)| *o <= h)
            .cloned()
        else {
            return Err(SessionEnd::Fatal(
                Error::invalid_input(OP, "no checkpoint"),
                "internal: no hash checkpoint".into(),
            ));
        };
        self.checkpoints.retain(|(o, _)| *o <= at);
        src.seek(at)
            .await
            .map_err(|e| SessionEnd::Fatal(e, "seeking the source failed".into()))?;
        self.digester = state;
        self.confirmed = at;
        // re-hash the bytes between the checkpoint and what the registry holds
        let mut left = h - at;
        while left > 0 {
            let part = src
                .read_chunk(left.min(1 << 20) as usize)
                .await
                .map_err(|e| SessionEnd::Fatal(e, "re-reading the source failed".into()))?;
            if part.is_empty() {
                return Err(SessionEnd::Fatal(
                    Error::invalid_input(OP, "short source"),
                    "the source is shorter on re-read".into(),
                ));
            }
            self.digester.update(&part);
            self.confirmed += part.len() as u64;
            left -= part.len() as u64;
        }
        Ok(())
    }

    /// Completes the upload with `last` (possibly empty) and checks the digest.
    async fn complete(
        &mut self,
        last: Bytes,
        expected: Option<&Digest>,
    ) -> Result<(Digest, u64), SessionEnd> {
        let mut digester = self.digester.clone();
        digester.update(&last);
        let ours = digester.finish();
        let size = self.confirmed + last.len() as u64;
        let digest = Digest::new(ours.clone()).map_err(|e| {
            SessionEnd::Fatal(Error::invalid_input(OP, e.to_string()), "internal".into())
        })?;
        if let Some(exp) = expected
            && *exp != digest
        {
            return Err(SessionEnd::Fatal(
                Error::DigestMismatch {
                    operation: OP,
                    expected: exp.to_string(),
                    actual: ours,
                },
                "the source does not match the digest given".into(),
            ));
        }
        let body = if last.is_empty() {
            Body::Empty
        } else {
            Body::Bytes {
                content_type: "application/octet-stream".into(),
                data: last.clone(),
            }
        };
        let req = self
            .request("complete_upload", Method::PUT)
            .query("digest", digest.as_str())
            .body(body);
        match self.t.send(req).await {
            Ok(resp) => {
                if let Some(reported) = resp.header_str("docker-content-digest")
                    && reported != digest.as_str()
                {
                    return Err(SessionEnd::Fatal(
                        Error::DigestMismatch {
                            operation: "complete_upload",
                            expected: digest.to_string(),
                            actual: reported.to_owned(),
                        },
                        "the registry reports another digest than the bytes sent".into(),
                    ));
                }
                self.confirm(&last);
                Ok((digest, size))
            }
            Err(e) => {
                // a retried PUT may find its first attempt already completed the blob
                if (e.status() == Some(StatusCode::NOT_FOUND) || e.is_retryable())
                    && let Ok(Some(_)) = self
                        .t
                        .blob_exists_in_scope(self.repo, &digest, self.scope.clone())
                        .await
                {
                    self.confirm(&last);
                    return Ok((digest, size));
                }
                if e.status() == Some(StatusCode::NOT_FOUND) {
                    return Err(SessionEnd::Gone(e));
                }
                Err(SessionEnd::Fatal(e, "completing the upload failed".into()))
            }
        }
    }

    /// Cancels the session; whether the registry confirmed it.
    async fn cancel(&self) -> bool {
        let req = self.request("cancel_upload", Method::DELETE);
        match self.t.send(req).await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(error = %e, "cancelling the upload session failed");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn range_header_reads_as_bytes_held() {
        assert_eq!(held(&headers(&[("range", "0-0")]), 0), Some(0));
        assert_eq!(held(&headers(&[("range", "0-0")]), 1), Some(1));
        assert_eq!(held(&headers(&[("range", "0-1238")]), 0), Some(1239));
        assert_eq!(held(&headers(&[("range", "bytes=0-99")]), 50), Some(100));
        assert_eq!(held(&headers(&[("range", "5-99")]), 0), None);
        assert_eq!(held(&headers(&[]), 0), None);
    }

    #[test]
    fn locations_are_validated() {
        let h = headers(&[("location", "/v2/a/blobs/uploads/u?_state=x%3D")]);
        assert_eq!(
            location_of(&h, "start_upload").unwrap(),
            "/v2/a/blobs/uploads/u?_state=x%3D"
        );
        assert!(location_of(&headers(&[("location", "/v2/../x")]), "start_upload").is_err());
        assert!(location_of(&headers(&[]), "start_upload").is_err());
    }
}
