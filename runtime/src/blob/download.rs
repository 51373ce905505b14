//! Verified, resuming blob download ([`Transport::download_blob`],
//! [`Transport::download_blob_to`]).
//!
//! `GET /v2/<name>/blobs/<digest>` (following a 307 to storage without `Authorization`).
//! The bytes are hashed as they pass; when the connection drops (or the body ends before
//! the announced size), the download resumes with `Range: bytes=<offset>-` (a server that
//! ignores the range and answers 200 has its first `offset` bytes skipped). The digest is
//! checked before the stream reports its end: a mismatch is the stream's last item, an
//! error. `download_blob_to` writes to a temporary file in the target's folder and renames
//! it only after verification, so a failed download leaves no file behind; it takes the
//! blob's expected size ([`ExpectedSize`]: a descriptor's `size`, or a caller-set maximum when
//! the size is unknown) and stops at the first byte past it, so a server that sends an endless
//! body cannot fill the disk.

use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt as _;
use http::{Method, StatusCode};
use tokio::io::AsyncWriteExt as _;

use super::digester::Digester;
use crate::paging::BoxStream;
use crate::{Digest, Error, RepositoryName, Request, Transport};

const OP: &str = "download_blob";
/// How many times a broken download is resumed.
const MAX_RESUMES: u32 = 8;

/// What the caller knows of a blob's size before downloading it
/// ([`Transport::download_blob_to`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedSize {
    /// The size in bytes is known (an OCI descriptor's `size`): a body that goes past it fails
    /// at the first byte too many; one that ends short is resumed like a cut connection.
    Exactly(u64),
    /// The size is unknown: refuse a blob of more than this many bytes.
    AtMost(u64),
}

impl ExpectedSize {
    /// The most bytes the download may have.
    fn limit(self) -> u64 {
        match self {
            ExpectedSize::Exactly(n) | ExpectedSize::AtMost(n) => n,
        }
    }

    /// The error for a body that announces or sends more than the limit.
    fn too_long(self, what: &str) -> Error {
        match self {
            ExpectedSize::Exactly(n) => Error::invalid_response(
                "get_blob",
                format!("{what} more than the blob's expected size of {n} bytes; refused"),
            ),
            ExpectedSize::AtMost(limit) => Error::TooLarge {
                operation: "get_blob",
                limit,
            },
        }
    }
}

/// A blob's bytes as a stream; verified against the digest before it ends.
pub struct BlobStream {
    inner: BoxStream<Bytes>,
    size: Option<u64>,
}

impl std::fmt::Debug for BlobStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStream")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl BlobStream {
    /// The blob size, when the registry announced it.
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// The stream as an `AsyncRead` (errors become `io::Error`s wrapping [`Error`]).
    pub fn into_async_read(self) -> impl tokio::io::AsyncRead + Send + Unpin {
        tokio_util::io::StreamReader::new(self.inner.map(|r| r.map_err(std::io::Error::other)))
    }
}

impl Stream for BlobStream {
    type Item = crate::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

struct State {
    t: Transport,
    repo: RepositoryName,
    digest: Digest,
    body: Option<BoxStream<Bytes>>,
    /// Bytes the body still has to skip (a server that ignored `Range`).
    skip: u64,
    offset: u64,
    total: Option<u64>,
    /// The caller's expectation, if any.
    expected: Option<ExpectedSize>,
    digester: Digester,
    resumes: u32,
    done: bool,
}

impl State {
    /// Opens the body at `self.offset`.
    async fn open(&mut self) -> crate::Result<()> {
        let mut req = Request::new(
            "get_blob",
            Method::GET,
            format!("/v2/{}/blobs/{}", self.repo, self.digest),
        )
        .scope(format!("repository:{}:pull", self.repo))
        .repository(self.repo.as_str());
        if self.offset > 0 {
            req = req.header("range", &format!("bytes={}-", self.offset))?;
        }
        let resp = self.t.send_streaming(req).await?;
        let len = resp
            .header_str("content-length")
            .and_then(|v| v.parse::<u64>().ok());
        self.skip = 0;
        if resp.status == StatusCode::PARTIAL_CONTENT {
            // Content-Range: bytes <start>-<end>/<total>
            let cr = resp.header_str("content-range").unwrap_or_default();
            let range = crate::headers::parse_content_range(cr);
            if range.map(|(first, _, _)| first) != Some(self.offset) {
                return Err(Error::invalid_response(
                    "get_blob",
                    format!(
                        "asked for bytes from {}, got Content-Range {cr:?}",
                        self.offset
                    ),
                ));
            }
            if let Some((_, _, Some(t))) = range {
                self.announced(t)?;
            }
        } else {
            if let Some(n) = len {
                self.announced(n)?;
            }
            self.skip = self.offset;
        }
        self.body = Some(resp.body);
        Ok(())
    }

    /// Takes the size the registry announced, checked against the caller's expectation.
    fn announced(&mut self, n: u64) -> crate::Result<()> {
        match self.expected {
            Some(e) if n > e.limit() => {
                return Err(e.too_long(&format!("the registry announces {n} bytes,")));
            }
            Some(ExpectedSize::Exactly(want)) if n != want => {
                return Err(Error::invalid_response(
                    "get_blob",
                    format!("the registry announces {n} bytes, the blob's expected size is {want}"),
                ));
            }
            _ => {}
        }
        self.total = Some(n);
        Ok(())
    }

    async fn next(&mut self) -> Option<crate::Result<Bytes>> {
        loop {
            if self.done {
                return None;
            }
            if self.body.is_none()
                && let Err(e) = self.open().await
            {
                if e.is_retryable() && self.resumes < MAX_RESUMES {
                    self.resumes += 1;
                    tokio::time::sleep(self.t.retry_policy().backoff(self.resumes)).await;
                    continue;
                }
                self.done = true;
                return Some(Err(e));
            }
            let body = self.body.as_mut()?;
            match body.next().await {
                Some(Ok(mut chunk)) => {
                    if self.skip > 0 {
                        let n = self.skip.min(chunk.len() as u64);
                        let _ = chunk.split_to(n as usize);
                        self.skip -= n;
                    }
                    if chunk.is_empty() {
                        continue;
                    }
                    if let Some(e) = self.expected
                        && self.offset + chunk.len() as u64 > e.limit()
                    {
                        self.done = true;
                        self.body = None;
                        return Some(Err(e.too_long("the body has")));
                    }
                    if self
                        .total
                        .is_some_and(|t| self.offset + chunk.len() as u64 > t)
                    {
                        self.done = true;
                        return Some(Err(Error::invalid_response(
                            "get_blob",
                            "the blob is longer than announced",
                        )));
                    }
                    self.digester.update(&chunk);
                    self.offset += chunk.len() as u64;
                    return Some(Ok(chunk));
                }
                Some(Err(e)) => {
                    self.body = None;
                    if self.resumes < MAX_RESUMES
                        && (e.is_retryable() || matches!(e, Error::Transport(_)))
                    {
                        self.resumes += 1;
                        tracing::warn!(offset = self.offset, resume = self.resumes, error = %e, "download broke; resuming with Range");
                        tokio::time::sleep(self.t.retry_policy().backoff(self.resumes)).await;
                        continue;
                    }
                    self.done = true;
                    return Some(Err(e));
                }
                None => {
                    self.body = None;
                    if self.total.is_some_and(|t| self.offset < t) {
                        if self.resumes < MAX_RESUMES {
                            self.resumes += 1;
                            tracing::warn!(
                                offset = self.offset,
                                "download ended early; resuming with Range"
                            );
                            continue;
                        }
                        self.done = true;
                        return Some(Err(Error::invalid_response(
                            "get_blob",
                            format!(
                                "the body ended at byte {} of {:?} after {} resumes",
                                self.offset, self.total, self.resumes
                            ),
                        )));
                    }
                    self.done = true;
                    let actual = std::mem::replace(&mut self.digester, Digester::sha256()).finish();
                    if actual != self.digest.as_str() {
                        return Some(Err(Error::DigestMismatch {
                            operation: OP,
                            expected: self.digest.to_string(),
                            actual,
                        }));
                    }
                    tracing::debug!(size = self.offset, "download verified");
                    return None;
                }
            }
        }
    }
}

impl Transport {
    /// Downloads blob `digest` of `repo` as a verified, resuming stream.
    pub async fn download_blob(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> crate::Result<BlobStream> {
        self.download_blob_expecting(repo, digest, None).await
    }

    /// [`Transport::download_blob`] held to `expected`.
    async fn download_blob_expecting(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        expected: Option<ExpectedSize>,
    ) -> crate::Result<BlobStream> {
        let digester = Digester::for_digest(digest).ok_or_else(|| {
            Error::invalid_input(
                OP,
                format!("unsupported digest algorithm {}", digest.algorithm()),
            )
        })?;
        let mut state = State {
            t: self.clone(),
            repo: repo.clone(),
            digest: digest.clone(),
            body: None,
            skip: 0,
            offset: 0,
            total: match expected {
                Some(ExpectedSize::Exactly(n)) => Some(n),
                _ => None,
            },
            expected,
            digester,
            resumes: 0,
            done: false,
        };
        // open now so that a missing blob is an error of this call, not of the stream
        state.open().await?;
        let size = state.total;
        let inner = futures_util::stream::unfold(state, |mut st| async move {
            st.next().await.map(|item| (item, st))
        });
        Ok(BlobStream {
            inner: Box::pin(inner),
            size,
        })
    }

    /// Downloads blob `digest` of `repo` into `path` (via a temporary file in the same
    /// folder, renamed after verification); returns the size in bytes.
    ///
    /// `expected` bounds what is written: [`ExpectedSize::Exactly`] with a descriptor's size
    /// (a registry that announces or sends more fails at once), or [`ExpectedSize::AtMost`] a
    /// maximum when the size is unknown. A server that sends more than that (an endless
    /// body) fails as soon as the first byte past it arrives, before it is written.
    ///
    /// Errors: [`Error::InvalidResponse`] (exact size) or [`Error::TooLarge`] (maximum) for a
    /// blob larger than `expected`; [`Error::DigestMismatch`] when the bytes are not `digest`'s;
    /// [`Error::Io`] for the local file; the request's own errors. On any error no file is
    /// left behind (the temporary file is removed).
    pub async fn download_blob_to(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        expected: ExpectedSize,
        path: impl AsRef<Path>,
    ) -> crate::Result<u64> {
        let path = path.as_ref();
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => std::path::PathBuf::from("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".acr-download-")
            .tempfile_in(&dir)
            .map_err(|e| {
                Error::io(
                    OP,
                    format!("cannot create a temporary file in {}", dir.display()),
                    e,
                )
            })?;
        let file = tmp
            .reopen()
            .map_err(|e| Error::io(OP, "cannot open the temporary file", e))?;
        let mut file =
            tokio::io::BufWriter::with_capacity(1 << 20, tokio::fs::File::from_std(file));
        let mut stream = self
            .download_blob_expecting(repo, digest, Some(expected))
            .await?;
        let mut size = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            size += chunk.len() as u64;
            file.write_all(&chunk)
                .await
                .map_err(|e| Error::io(OP, "cannot write the temporary file", e))?;
        }
        file.flush()
            .await
            .map_err(|e| Error::io(OP, "cannot write the temporary file", e))?;
        file.get_ref()
            .sync_all()
            .await
            .map_err(|e| Error::io(OP, "cannot sync the temporary file", e))?;
        drop(file);
        tmp.persist(path).map_err(|e| {
            Error::io(
                OP,
                format!("cannot move the download to {}", path.display()),
                e.error,
            )
        })?;
        Ok(size)
    }
}
