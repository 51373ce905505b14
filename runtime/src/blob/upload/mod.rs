//! Resumable, chunked blob upload ([`Transport::upload_blob`]).
//!
//! The protocol (OCI distribution spec, "Pushing blobs"): `POST /v2/<name>/blobs/uploads/`
//! opens a session; `PATCH <Location>` sends each chunk and answers a new `Location` and
//! `Range: 0-<last byte held>`; `PUT <Location>&digest=<digest>` completes it. The rooms:
//! - [`options`](UploadOptions): what the caller sets, and the [`Uploaded`] result;
//! - `source`: where the bytes come from ([`UploadSource`]);
//! - `session`: one session on the wire (requests, hash state, byte counts);
//! - `resume`: the pure decisions after a failure (resume at the registry's `Range`, rewind,
//!   start over, or fail), unit-tested without HTTP.
//!
//! What this adds on top of the protocol:
//! - with a known digest, an existing blob is skipped (`HEAD`); its size is the registry's
//!   `Content-Length`, else the caller's or the source's length, else the source is read
//!   through (and checked against the digest) to count it: a `HEAD` without
//!   `Content-Length` means "exists, size unknown", never size 0;
//! - a blob in another repository is mounted (`POST ?mount=&from=`); any answer but `201`
//!   (`202` with a session, or `401`/`403`/`404`/`405`/… from a registry or token service that
//!   will not mount) falls back to a plain upload: a failed mount is not a failed upload;
//! - a blob that fits in one chunk goes in the completing `PUT` itself;
//! - the digest is computed as the bytes stream; memory stays at about one chunk (plus the
//!   copy the HTTP stack holds while sending it), whatever the blob size;
//! - **recovery** within **one budget** ([`UploadOptions::max_resumes`]): after a failed
//!   `PATCH` the registry is asked how much it holds (`GET <Location>`); where it answers
//!   consistently the upload resumes at its `Range` (hash state rewound to exactly those
//!   bytes); where the session is gone (docker-registry cancels a session whose `_state`
//!   offset no longer matches what it stored, which is the rule after any cut mid-`PATCH`) a
//!   seekable source starts over in a new session, and a one-pass stream fails clearly unless
//!   its first chunk is still unconfirmed;
//! - the result ([`Uploaded`]) and the trace (event "upload complete" in span
//!   `acr.upload_blob`) say how many bytes were sent against the blob's size; a failure's
//!   message says it too;
//! - on an unrecoverable error the session is cancelled (`DELETE <Location>`) and the error
//!   says so; the registry's reported digest is compared with ours.

mod options;
mod resume;
mod session;
mod source;

use http::{Method, StatusCode};
use tracing::Instrument as _;

use self::session::{Session, SessionEnd, Tally};
use self::source::Source;
use super::digester::Digester;
use crate::{Digest, Error, RepositoryName, Request, Transport, UploadLocation};

pub use self::options::{Progress, ProgressFn, UploadMethod, UploadOptions, Uploaded};
pub use self::source::{AsyncReadSeek, UploadSource};

const OP: &str = "upload_blob";

/// A blob the registry has, as its `HEAD` answer describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BlobInfo {
    /// The size in bytes from `Content-Length`; `None` when the registry sent none (the size
    /// is unknown, not zero).
    pub size: Option<u64>,
}

/// How the registry answered a mount request.
enum Mount {
    /// `201`: the blob is in the repository now.
    Done,
    /// `202` with a session to upload into.
    Session(String),
    /// Anything else: upload in a new session.
    Refused,
}

impl Transport {
    /// Whether `digest` exists in `repo` (`HEAD /v2/<name>/blobs/<digest>`); what the registry
    /// says of it when it does.
    ///
    /// Errors: any failure but 404 (which is `Ok(None)`).
    pub async fn blob_exists(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> crate::Result<Option<BlobInfo>> {
        self.blob_exists_in_scope(repo, digest, format!("repository:{repo}:pull"))
            .await
    }

    /// [`Transport::blob_exists`] with the token of `scope` (an upload asks with its push
    /// scope, so one token serves the whole upload).
    pub(crate) async fn blob_exists_in_scope(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        scope: String,
    ) -> crate::Result<Option<BlobInfo>> {
        let req = Request::new(
            "check_blob_exists",
            Method::HEAD,
            format!("/v2/{repo}/blobs/{digest}"),
        )
        .scope(scope)
        .repository(repo.as_str());
        match self.send(req).await {
            Ok(r) => Ok(Some(BlobInfo {
                size: r.header::<u64>("content-length")?,
            })),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Uploads a blob to `repo`. See the [module docs](self) for skip, mount, chunking,
    /// recovery and verification.
    ///
    /// Errors: [`Error::Upload`] when the upload failed after it began (with the bytes the
    /// registry confirmed, whether the session was cancelled, and the cause), for example a
    /// spent recovery budget or a lost session with a one-pass source;
    /// [`Error::DigestMismatch`] (inside `Upload`) when the bytes do not match
    /// `options.digest` or the registry reports another digest; [`Error::Io`] when the source
    /// cannot be read; the errors of the `HEAD`, mount-less `POST` and token requests as they
    /// come.
    pub async fn upload_blob(
        &self,
        repo: &RepositoryName,
        source: UploadSource,
        options: UploadOptions,
    ) -> crate::Result<Uploaded> {
        let span = tracing::info_span!(
            "acr.upload_blob",
            repository = repo.as_str(),
            size = tracing::field::Empty,
            bytes_sent = tracing::field::Empty,
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
    ) -> crate::Result<Uploaded> {
        let mut src = Source::open(source).await?;
        let total = options.size.or(src.len());
        if let Some(n) = total {
            span.record("size", n);
        }
        let scope = format!("repository:{repo}:pull,push");
        let report = |confirmed: u64| {
            if let Some(p) = &options.progress {
                p(options::Progress { confirmed, total });
            }
        };
        let nothing_sent = |digest: &Digest, size: u64, method: UploadMethod| Uploaded {
            digest: digest.clone(),
            size,
            method,
            bytes_sent: 0,
            resumes: 0,
            restarts: 0,
        };
        let mut location = None;
        if let Some(digest) = &options.digest {
            if let Some(info) = self
                .blob_exists_in_scope(repo, digest, scope.clone())
                .await?
            {
                let size = match info.size.or(total) {
                    Some(n) => n,
                    None => measure(&mut src, digest).await?,
                };
                tracing::debug!(parent: &span, size, "blob exists; skipped");
                report(size);
                return Ok(nothing_sent(digest, size, UploadMethod::Skipped));
            }
            if let Some(from) = &options.mount_from {
                match self.mount(repo, from, digest, &scope).await? {
                    Mount::Done => {
                        let size = match total {
                            Some(n) => n,
                            None => match self
                                .blob_exists_in_scope(repo, digest, scope.clone())
                                .await?
                                .and_then(|i| i.size)
                            {
                                Some(n) => n,
                                None => measure(&mut src, digest).await?,
                            },
                        };
                        tracing::debug!(parent: &span, from = from.as_str(), "blob mounted");
                        report(size);
                        return Ok(nothing_sent(digest, size, UploadMethod::Mounted));
                    }
                    Mount::Session(l) => location = Some(l),
                    Mount::Refused => {}
                }
            }
        }
        let chunk_size = options.chunk_size.unwrap_or(self.chunk_size()).max(1);
        let mut tally = Tally {
            budget_left: options.max_resumes.unwrap_or(options::DEFAULT_MAX_RESUMES),
            ..Tally::default()
        };
        let mut carry = None;
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
            let mut s = Session::new(
                self,
                repo,
                &scope,
                location,
                digester,
                options.progress.clone(),
                total,
            );
            let outcome = s
                .run(
                    &mut src,
                    chunk_size,
                    options.digest.as_ref(),
                    carry.take(),
                    &mut tally,
                )
                .await;
            match outcome {
                Ok((digest, size)) => {
                    span.record("size", size);
                    span.record("bytes_sent", tally.bytes_sent);
                    let done = Uploaded {
                        digest,
                        size,
                        method: UploadMethod::Sent,
                        bytes_sent: tally.bytes_sent,
                        resumes: tally.resumes,
                        restarts: tally.restarts,
                    };
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
                    tokio::time::sleep(self.retry_policy().backoff(n)).await;
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

    /// Asks the registry to mount `digest` from `from` into `repo`.
    ///
    /// Errors: only a request that got no answer at all; every answer but `201` is
    /// [`Mount::Session`] (a `202` with a usable Location) or [`Mount::Refused`].
    async fn mount(
        &self,
        repo: &RepositoryName,
        from: &RepositoryName,
        digest: &Digest,
        scope: &str,
    ) -> crate::Result<Mount> {
        let req = Request::new(
            "mount_blob",
            Method::POST,
            format!("/v2/{repo}/blobs/uploads/"),
        )
        .query("from", from.as_str())
        .query("mount", digest.as_str())
        .scope(format!("{scope} repository:{from}:pull"))
        .repository(repo.as_str());
        match self.send(req).await {
            Ok(resp) if resp.status == StatusCode::CREATED => {
                if let Some(reported) = resp.header_str("docker-content-digest")
                    && reported != digest.as_str()
                {
                    return Err(Error::DigestMismatch {
                        operation: "mount_blob",
                        expected: digest.to_string(),
                        actual: reported.to_owned(),
                    });
                }
                Ok(Mount::Done)
            }
            // OCI: "the registry MAY ... fall back to an upload session" (202 + Location)
            Ok(resp) if resp.status == StatusCode::ACCEPTED => {
                match location_of(&resp, "mount_blob") {
                    Ok(l) => Ok(Mount::Session(l)),
                    Err(e) => {
                        tracing::debug!(error = %e, "mount answered 202 without a usable Location; uploading");
                        Ok(Mount::Refused)
                    }
                }
            }
            Ok(resp) => {
                tracing::debug!(status = resp.status.as_u16(), "mount not done; uploading");
                Ok(Mount::Refused)
            }
            // 401 insufficient_scope (a token service that grants one scope per token), 403,
            // 404, 405, 5xx, or a token request for the two scopes refused
            Err(e) if e.status().is_some() || matches!(e, Error::Auth { .. }) => {
                tracing::debug!(error = %e, "mount refused; uploading");
                Ok(Mount::Refused)
            }
            Err(e) => Err(e),
        }
    }

    async fn start_upload(&self, repo: &RepositoryName, scope: &str) -> crate::Result<String> {
        let req = Request::new(
            "start_upload",
            Method::POST,
            format!("/v2/{repo}/blobs/uploads/"),
        )
        .scope(scope)
        .repository(repo.as_str())
        // A second session opened because the answer to the first was lost does no harm: the
        // registry expires the unused one.
        .repeatable();
        let resp = self.send(req).await?;
        location_of(&resp, "start_upload")
    }
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

/// The upload `Location` of `resp`, resolved against the URL that answered (RFC 9110 §10.2.2,
/// RFC 3986 §5: a relative reference such as `uploads/<id>` or `?_state=...` is relative to the
/// response's own URL, not to the registry's root), then checked as an [`UploadLocation`].
fn location_of(resp: &crate::Response, op: &'static str) -> crate::Result<String> {
    let loc = resp
        .headers
        .get(http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Error::invalid_response(op, "the registry answered no upload Location"))?;
    checked_location(&resp.url, loc, op)
}

/// `loc` resolved against `base` and checked as an [`UploadLocation`]: an absolute path stays a
/// path (sent to the registry's endpoint), anything else becomes an absolute URL.
pub(super) fn checked_location(
    base: &url::Url,
    loc: &str,
    op: &'static str,
) -> crate::Result<String> {
    let resolved = if loc.starts_with('/') && !loc.starts_with("//") {
        loc.to_owned()
    } else {
        base.join(loc)
            .map_err(|e| Error::invalid_response(op, format!("upload Location {loc:?}: {e}")))?
            .to_string()
    };
    UploadLocation::new(resolved)
        .map(|l| l.as_str().to_owned())
        .map_err(|e| Error::invalid_response(op, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_validated_and_resolved_against_the_answering_url() {
        let base = url::Url::parse("https://r.example/v2/a/blobs/uploads/").unwrap();
        let check = |loc: &str| checked_location(&base, loc, "start_upload");
        assert_eq!(
            check("/v2/a/blobs/uploads/u?_state=x%3D").unwrap(),
            "/v2/a/blobs/uploads/u?_state=x%3D"
        );
        // Relative references are relative to the URL that answered, not the root.
        assert_eq!(
            check("u1?_state=y").unwrap(),
            "https://r.example/v2/a/blobs/uploads/u1?_state=y"
        );
        assert_eq!(
            check("?_state=z").unwrap(),
            "https://r.example/v2/a/blobs/uploads/?_state=z"
        );
        assert!(check("/v2/../x").is_err());
        assert!(check("/v2/a b").is_err());
    }
}
