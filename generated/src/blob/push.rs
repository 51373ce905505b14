//! [`Client::push_blob`]: resumable, chunked, verified blob upload, composed of the generated
//! operations `check_blob_exists`, `mount_blob`, `start_upload`, `upload_chunk`,
//! `get_upload_status`, `complete_upload` and `cancel_upload` (OCI distribution spec v1.1,
//! "Pushing blobs": a session opened by a `POST`, one `PATCH` per chunk answered with a new
//! `Location` and the `Range` held, a completing `PUT` with the digest). The rooms:
//! - this module: what the caller sets ([`PushBlob`]), skip, mount, and the sessions;
//! - `session`: one session (requests, hash state, byte counts);
//! - [`acr_runtime::blob::resume`]: the pure decisions after a failure (resume at the
//!   registry's `Range`, rewind, start over, or fail), unit-tested without HTTP;
//! - [`UploadSource`]: where the bytes come from.
//!
//! What this adds on top of the protocol:
//! - with a known digest, an existing blob is skipped (`HEAD`); its size is the registry's
//!   `Content-Length`, else the caller's or the source's length, else the source is read
//!   through (and checked against the digest) to count it: a `HEAD` without
//!   `Content-Length` means "exists, size unknown", never size 0;
//! - a blob in another repository is mounted ([`PushBlob::mount_from`]); any answer but `201`
//!   (`202` with a session, or `401`/`403`/`404`/`405`/… from a registry or token service that
//!   will not mount) falls back to a plain upload: a failed mount is not a failed upload;
//! - one token serves the whole upload: its existence check, session and chunks ask for the
//!   scope of `start_upload` (as the spec states it), so a warm client sends no request that is
//!   answered 401;
//! - a blob that fits in one chunk goes in the completing `PUT` itself;
//! - the digest is computed as the bytes stream; memory stays at about one chunk (plus the
//!   copy the HTTP stack holds while sending it), whatever the blob size;
//! - **recovery** within **one budget** ([`PushBlob::max_resumes`]): after a failed chunk the
//!   registry is asked how much it holds (`get_upload_status`); where it answers consistently
//!   the upload resumes at its `Range` (hash state rewound to exactly those bytes); where the
//!   session is gone (docker-registry cancels a session whose `_state` offset no longer matches
//!   what it stored, which is the rule after any cut mid-chunk) a seekable source starts over
//!   in a new session, and a one-pass stream fails clearly unless its first chunk is still
//!   unconfirmed;
//! - the result ([`Uploaded`]) and the trace (event "upload complete" in span
//!   `acr.push_blob`) say how many bytes were sent against the blob's size; a failure's
//!   message says it too;
//! - on an unrecoverable error the session is cancelled (`cancel_upload`) and the error says
//!   so; the registry's reported digest is compared with ours;
//! - progress ([`PushBlob::progress`]): each value once, as the registry confirms bytes.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use acr_runtime::FromTransport as _;
use acr_runtime::blob::{DEFAULT_MAX_RESUMES, Digester, Source};
use acr_runtime::http::StatusCode;
use acr_runtime::progress::{OnProgress, Reporter};
use tracing::Instrument as _;

use super::session::{Carry, Session, SessionEnd, Tally, streams_chunks, streams_whole};
use super::{UploadMethod, UploadSource, Uploaded};
use crate::operations::{mount_blob, start_upload};
use crate::{Client, Digest, Error, RepositoryName, UploadLocation};

/// The workflow's name, for errors and tracing.
pub(super) const OP: &str = "push_blob";
/// The largest chunk held in memory for a source of unknown length (64 MiB): a larger
/// chunk size is lowered to it, so memory stays bounded whatever the options.
pub const MAX_CHUNK_UNKNOWN_LENGTH: usize = 64 << 20;

/// The request of [`Client::push_blob`]: set options, then `.await` it for an [`Uploaded`].
#[must_use = "a request does nothing until it is awaited"]
pub struct PushBlob {
    client: Client,
    repository: Result<RepositoryName, String>,
    source: UploadSource,
    digest: Option<Result<Digest, String>>,
    size: Option<u64>,
    mount_from: Option<Result<RepositoryName, String>>,
    chunk_size: Option<usize>,
    max_resumes: Option<u32>,
    progress: Option<OnProgress>,
}

impl std::fmt::Debug for PushBlob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushBlob")
            .field("repository", &self.repository)
            .field("digest", &self.digest)
            .field("size", &self.size)
            .field("mount_from", &self.mount_from)
            .field("chunk_size", &self.chunk_size)
            .field("max_resumes", &self.max_resumes)
            .field("progress", &self.progress.is_some())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Pushes a blob from `source` into `repository`: skipped when the registry has it,
    /// mounted from another repository when asked, else uploaded in chunks, resumed after
    /// failures, and checked against its digest (see the [module docs](crate::blob)).
    ///
    /// Set `.digest(..)` (enables skip and mount, and is checked against the bytes),
    /// `.size(..)`, `.mount_from(..)`, `.chunk_size(..)`, `.max_resumes(..)` and
    /// `.progress(..)`, then `.await` an [`Uploaded`]. See [`PushBlob::send`] for the errors.
    #[doc(alias = "upload_blob")]
    pub fn push_blob(
        &self,
        repository: impl TryInto<RepositoryName, Error: std::fmt::Display>,
        source: UploadSource,
    ) -> PushBlob {
        PushBlob {
            client: self.clone(),
            repository: repository.try_into().map_err(|e| e.to_string()),
            source,
            digest: None,
            size: None,
            mount_from: None,
            chunk_size: None,
            max_resumes: None,
            progress: None,
        }
    }
}

impl PushBlob {
    /// The blob's digest, when known in advance: enables skip-if-exists and mount, and is
    /// checked against the bytes (`sha256` or `sha512`).
    pub fn digest(mut self, digest: impl TryInto<Digest, Error: std::fmt::Display>) -> Self {
        self.digest = Some(digest.try_into().map_err(|e| e.to_string()));
        self
    }

    /// The blob's size in bytes, when known (for progress, and the size reported when the
    /// blob already exists; files and bytes know theirs).
    pub fn size(mut self, bytes: u64) -> Self {
        self.size = Some(bytes);
        self
    }

    /// A repository of the same registry to mount the blob from (needs [`PushBlob::digest`]).
    pub fn mount_from(
        mut self,
        repository: impl TryInto<RepositoryName, Error: std::fmt::Display>,
    ) -> Self {
        self.mount_from = Some(repository.try_into().map_err(|e| e.to_string()));
        self
    }

    /// The chunk size in bytes (at least 1; the client's by default,
    /// [`ClientBuilder::chunk_size`](crate::ClientBuilder::chunk_size)).
    ///
    /// With a seekable source of known length (files, bytes, a size given), chunks of 4 MiB
    /// or more are streamed from the source as they are sent (read, hashed and sent in
    /// 512 KiB pieces, at most 4 waiting for the connection), so an upload holds about 3 MiB
    /// whatever the chunk size; a blob of more than 1 MiB that fits in one chunk goes in one
    /// such request. A one-pass source streams a blob that fits in one chunk only above
    /// 16 MiB. Otherwise memory holds at most two chunks (the one on the wire and the next,
    /// read ahead). For a source of unknown length the chunk
    /// size is at most
    /// [`MAX_CHUNK_UNKNOWN_LENGTH`](crate::blob::MAX_CHUNK_UNKNOWN_LENGTH).
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = Some(bytes.max(1));
        self
    }

    /// The one recovery budget of the upload (8 by default): each resume from the registry's
    /// `Range`, each rewind of a seekable source and each restart in a new session takes one.
    /// When it is spent the upload fails.
    pub fn max_resumes(mut self, n: u32) -> Self {
        self.max_resumes = Some(n);
        self
    }

    /// Observes the upload's [`Progress`](crate::progress::Progress): the bytes the registry confirmed, after each
    /// chunk, each value once.
    pub fn progress(mut self, observer: impl Into<OnProgress>) -> Self {
        self.progress = Some(observer.into());
        self
    }

    /// Pushes the blob; awaiting the request does the same.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a bad repository name or digest, or an unsupported digest
    /// algorithm; [`Error::Upload`] when the upload failed after it began (with the bytes the
    /// registry confirmed, whether the session was cancelled, and the cause), for example a
    /// spent recovery budget or a lost session with a one-pass source;
    /// [`Error::DigestMismatch`] (inside `Upload`) when the bytes do not match the digest set
    /// or the registry reports another digest; [`Error::Io`] when the source cannot be read;
    /// the errors of the existence check, session and token requests as they come.
    pub async fn send(self) -> crate::Result<Uploaded> {
        let repository = self
            .repository
            .clone()
            .map_err(|e| Error::invalid_input(OP, e))?;
        let span = tracing::info_span!(
            "acr.push_blob",
            repository = repository.as_str(),
            size = tracing::field::Empty,
            bytes_sent = tracing::field::Empty,
        );
        self.run(&repository, span.clone()).instrument(span).await
    }

    async fn run(self, repo: &RepositoryName, span: tracing::Span) -> crate::Result<Uploaded> {
        let digest = self
            .digest
            .transpose()
            .map_err(|e| Error::invalid_input(OP, e))?;
        let mount_from = self
            .mount_from
            .transpose()
            .map_err(|e| Error::invalid_input(OP, e))?;
        let mut src = Source::open(self.source).await?;
        let total = self.size.or(src.known_len());
        if let Some(n) = total {
            span.record("size", n);
        }
        // One token for the whole upload: the scope the spec gives the session's `POST`.
        let (_, start) = self.client.start_upload(repo).into_request()?;
        let client = match start.scope {
            Some(scope) => Client::from_transport(self.client.transport().with_token_scope(scope)),
            None => self.client.clone(),
        };
        let reporter = Reporter::new(self.progress);
        let nothing_sent = |digest: &Digest, size: u64, method: UploadMethod| {
            Uploaded::new(digest.clone(), size, method, 0, 0, 0)
        };
        let mut location = None;
        if let Some(digest) = &digest {
            if let Some(size) = exists(&client, repo, digest).await? {
                let size = match size.or(total) {
                    Some(n) => n,
                    None => measure(&mut src, digest).await?,
                };
                tracing::debug!(parent: &span, size, "blob exists; skipped");
                reporter.report(Some(digest), size, Some(size));
                return Ok(nothing_sent(digest, size, UploadMethod::Skipped));
            }
            if let Some(from) = &mount_from {
                // the mount asks for its own scope (this repository's push, the source's pull)
                match mount(&self.client, repo, from, digest).await? {
                    Mount::Done => {
                        let size = match total {
                            Some(n) => n,
                            None => match exists(&client, repo, digest).await?.flatten() {
                                Some(n) => n,
                                None => measure(&mut src, digest).await?,
                            },
                        };
                        tracing::debug!(parent: &span, from = from.as_str(), "blob mounted");
                        reporter.report(Some(digest), size, Some(size));
                        return Ok(nothing_sent(digest, size, UploadMethod::Mounted));
                    }
                    Mount::Session(l) => location = Some(l),
                    Mount::Refused => {}
                }
            }
        }
        let mut chunk_size = self
            .chunk_size
            .unwrap_or(client.transport().chunk_size())
            .max(1);
        if total.is_none() {
            // a source of unknown length cannot stream in one request (the length is
            // announced first): its chunks are held in memory, so they are bounded
            chunk_size = chunk_size.min(MAX_CHUNK_UNKNOWN_LENGTH);
        }
        let mut tally = Tally {
            budget_left: self.max_resumes.unwrap_or(DEFAULT_MAX_RESUMES),
            ..Tally::default()
        };
        let mut carry = None;
        let mut fresh = true;
        loop {
            let location = match location.take() {
                Some(l) => l,
                // the first chunk is read while the session opens
                None if std::mem::take(&mut fresh)
                    && src.seekable()
                    && !total.is_some_and(|n| {
                        streams_whole(n, chunk_size, true) || streams_chunks(n, chunk_size, true)
                    }) =>
                {
                    let (location, first) = futures_util::future::join(
                        open_session(&client, repo),
                        src.read_chunk(chunk_size),
                    )
                    .await;
                    let location = location?;
                    match first {
                        Ok(first) => {
                            carry = Some(Carry {
                                last: first.len() < chunk_size,
                                data: first,
                            });
                            location
                        }
                        // the session is open: cancel it, as any failed upload does
                        Err(e) => {
                            let cancelled = client.cancel_upload(&location).await.is_ok();
                            return Err(Error::Upload {
                                operation: OP,
                                repository: repo.to_string(),
                                offset: 0,
                                message: "reading the source failed (0 bytes sent)".to_owned(),
                                cancelled,
                                source: Some(Box::new(e)),
                            });
                        }
                    }
                }
                None => open_session(&client, repo).await?,
            };
            // Bytes from a source that checks them against this very digest, all streamed
            // through `produce` (which reads the source to its end, its check, before the
            // last bytes go), are not hashed again. The registry checks the digest of what
            // it received when the upload completes (OCI distribution spec, "Pushing
            // blobs"), whatever a resume sent again.
            let streams = total.is_some_and(|n| {
                streams_whole(n, chunk_size, true) || streams_chunks(n, chunk_size, true)
            });
            let digester = match &digest {
                Some(d) if streams && carry.is_none() && src.verified() == Some(d) => {
                    Digester::Trusted(d.clone())
                }
                Some(d) => Digester::for_digest(d).ok_or_else(|| {
                    Error::invalid_input(
                        OP,
                        format!("unsupported digest algorithm {}", d.algorithm()),
                    )
                })?,
                None => Digester::sha256(),
            };
            let mut s = Session::new(
                &client,
                repo,
                location,
                digester,
                &reporter,
                digest.as_ref(),
                total,
            );
            let outcome = s
                .run(
                    &mut src,
                    chunk_size,
                    digest.as_ref(),
                    carry.take(),
                    &mut tally,
                )
                .await;
            match outcome {
                Ok((digest, size)) => {
                    span.record("size", size);
                    span.record("bytes_sent", tally.bytes_sent);
                    let done = Uploaded::new(
                        digest,
                        size,
                        UploadMethod::Sent,
                        tally.bytes_sent,
                        tally.resumes,
                        tally.restarts,
                    );
                    tracing::info!(
                        parent: &span,
                        size,
                        bytes_sent = tally.bytes_sent,
                        sent_ratio = done.sent_ratio(),
                        resumes = tally.resumes,
                        restarts = tally.restarts,
                        "upload complete"
                    );
                    return Ok(done);
                }
                Err(SessionEnd::Restart {
                    cancel_old,
                    cause,
                    carry: c,
                }) => {
                    tally.restarts += 1;
                    tracing::warn!(
                        parent: &span,
                        error = %cause,
                        restart = tally.restarts,
                        bytes_sent = tally.bytes_sent,
                        budget_left = tally.budget_left,
                        "upload session lost; starting over in a new session"
                    );
                    if cancel_old {
                        s.cancel().await;
                    }
                    if src.seekable() {
                        src.seek(0).await?;
                    } else {
                        carry = c;
                    }
                    let n = tally.resumes + tally.restarts;
                    tokio::time::sleep(client.transport().retry_policy().backoff(n)).await;
                }
                Err(SessionEnd::Fatal { error, message }) => {
                    let cancelled = s.cancel().await;
                    let of = total.map_or_else(|| "unknown".to_owned(), |n| n.to_string());
                    span.record("bytes_sent", tally.bytes_sent);
                    return Err(Error::Upload {
                        operation: OP,
                        repository: repo.to_string(),
                        offset: s.confirmed(),
                        message: format!(
                            "{message} ({} bytes sent for a blob of {of} bytes, {} resumes, {} restarts)",
                            tally.bytes_sent, tally.resumes, tally.restarts
                        ),
                        cancelled,
                        source: Some(Box::new(error)),
                    });
                }
            }
        }
    }
}

impl IntoFuture for PushBlob {
    type Output = crate::Result<Uploaded>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// Whether `digest` is in `repo` (`check_blob_exists`): `Some` with the size the registry
/// states (`None` inside when it sent no `Content-Length`: the size is unknown, not zero), or
/// `None` when it answers 404.
///
/// Errors: any failure but 404.
pub(super) async fn exists(
    client: &Client,
    repo: &RepositoryName,
    digest: &Digest,
) -> crate::Result<Option<Option<u64>>> {
    match client.check_blob_exists(repo, digest).await {
        Ok(r) => Ok(Some(r.content_length)),
        Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(None),
        Err(e) => Err(e),
    }
}

/// How the registry answered a mount request.
enum Mount {
    /// `201`: the blob is in the repository now.
    Done,
    /// `202` with a session to upload into.
    Session(UploadLocation),
    /// Anything else: upload in a new session.
    Refused,
}

/// Asks the registry to mount `digest` from `from` into `repo` (`mount_blob`).
///
/// Errors: only a request that got no answer at all; every answer but `201` is
/// [`Mount::Session`] (a `202` with a usable Location) or [`Mount::Refused`].
async fn mount(
    client: &Client,
    repo: &RepositoryName,
    from: &RepositoryName,
    digest: &Digest,
) -> crate::Result<Mount> {
    match client.mount_blob(repo, from, digest).await {
        Ok(resp) if resp.status == StatusCode::CREATED.as_u16() => {
            if let Some(reported) = resp.docker_content_digest
                && reported != *digest
            {
                return Err(Error::DigestMismatch {
                    operation: mount_blob::OPERATION,
                    expected: digest.to_string(),
                    actual: reported.to_string(),
                });
            }
            Ok(Mount::Done)
        }
        // OCI: "the registry MAY ... fall back to an upload session" (202 + Location)
        Ok(resp) if resp.status == StatusCode::ACCEPTED.as_u16() => match resp.location {
            Some(l) => Ok(Mount::Session(l)),
            None => {
                tracing::debug!("mount answered 202 without a Location; uploading");
                Ok(Mount::Refused)
            }
        },
        Ok(resp) => {
            tracing::debug!(status = resp.status, "mount not done; uploading");
            Ok(Mount::Refused)
        }
        // 401 insufficient_scope (a token service that grants one scope per token), 403,
        // 404, 405, 5xx, a token request for the two scopes refused, or an answer whose
        // headers are unusable (a 202 without a valid Location)
        Err(e)
            if e.status().is_some()
                || matches!(e, Error::Auth { .. } | Error::InvalidResponse { .. }) =>
        {
            tracing::debug!(error = %e, "mount refused; uploading");
            Ok(Mount::Refused)
        }
        Err(e) => Err(e),
    }
}

/// Opens an upload session (`start_upload`); its `Location`.
async fn open_session(client: &Client, repo: &RepositoryName) -> crate::Result<UploadLocation> {
    client.start_upload(repo).await?.location.ok_or_else(|| {
        Error::invalid_response(
            start_upload::OPERATION,
            "the registry answered no upload Location",
        )
    })
}

/// Reads the rest of `src` to learn the blob's size, checking it against `digest` (the skip
/// and mount paths when neither the registry nor the caller nor the source knows the size).
///
/// Errors: [`Error::Io`] when reading fails; [`Error::DigestMismatch`] when the bytes are not
/// `digest`'s; [`Error::InvalidInput`] for an unsupported digest algorithm.
async fn measure(src: &mut Source, digest: &Digest) -> crate::Result<u64> {
    let mut digester = Digester::for_digest(digest).ok_or_else(|| {
        Error::invalid_input(
            OP,
            format!("unsupported digest algorithm {}", digest.algorithm()),
        )
    })?;
    let mut size = 0u64;
    loop {
        let part = src.read_chunk(1 << 20).await?;
        if part.is_empty() {
            break;
        }
        digester.update(&part);
        size += part.len() as u64;
    }
    let actual = digester.finish();
    if actual != digest.as_str() {
        return Err(Error::DigestMismatch {
            operation: OP,
            expected: digest.to_string(),
            actual,
        });
    }
    Ok(size)
}
