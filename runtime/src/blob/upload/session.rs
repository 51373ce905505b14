//! One upload session on the wire (OCI distribution spec, "Pushing a blob in chunks"):
//! `PATCH <Location>` per chunk with `Content-Range: <start>-<end>` (no `bytes ` prefix, as
//! ACR's API reference writes it; docker-registry 2.8 ignores the header), each answered with a
//! new `Location` the next request must use and `Range: 0-<last byte held>`; `GET <Location>`
//! for the status; `PUT <Location>&digest=<digest>` to complete; `DELETE <Location>` to cancel.
//!
//! What to do when a request fails is decided by the pure functions of [`super::resume`]; this
//! module sends the requests, keeps the hash state in step with the bytes the registry holds
//! (saved states at chunk boundaries, re-reading a seekable source when the registry holds
//! less than it confirmed), and counts what it sent.

use bytes::Bytes;
use http::Method;

use super::OP;
use super::options::{Progress, ProgressFn};
use super::resume::{
    self, Attempt, CompleteAnswer, Failure, Means, PatchAnswer, StatusAnswer, Step, after_complete,
    after_patch, after_status,
};
use super::source::Source;
use crate::blob::digester::Digester;
use crate::{Body, Digest, Error, RepositoryName, Request, Transport};

/// What an upload has used so far, over all its sessions.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tally {
    /// Body bytes sent (`PATCH` and `PUT`), every attempt counted whole.
    pub bytes_sent: u64,
    /// Resumes and rewinds.
    pub resumes: u32,
    /// New sessions after a lost one.
    pub restarts: u32,
    /// Recoveries left in the caller's budget.
    pub budget_left: u32,
}

/// Unconfirmed bytes from byte 0 that a one-pass source cannot give again: a new session
/// starts with them.
pub(crate) struct Carry {
    /// The bytes, from byte 0 of the blob.
    pub data: Bytes,
    /// Whether the source ended after them.
    pub last: bool,
}

/// Why a session ended without success.
pub(crate) enum SessionEnd {
    /// Start a new session (the budget was already charged).
    Restart {
        /// Whether the old session may still exist and should be cancelled.
        cancel_old: bool,
        /// The failure that lost the session.
        cause: Error,
        /// For a one-pass source: the bytes to start the new session with.
        carry: Option<Carry>,
    },
    /// Give up (the caller cancels the session).
    Fatal {
        /// The failure behind it.
        error: Error,
        /// What went wrong and what to do.
        message: String,
    },
}

/// Whether `e` (which has no status) means the request got no answer: the connection broke,
/// or timed out in a way worth trying again. Refusals made before sending (credentials that
/// may not go there, a bad input) are not.
fn no_answer(e: &Error) -> bool {
    matches!(e, Error::Transport(_)) || e.is_retryable()
}

fn fatal(error: Error, message: impl Into<String>) -> SessionEnd {
    SessionEnd::Fatal {
        error,
        message: message.into(),
    }
}

/// One upload session, from its first `Location` to `201 Created`.
pub(crate) struct Session<'a> {
    t: &'a Transport,
    repo: &'a RepositoryName,
    scope: &'a str,
    location: String,
    digester: Digester,
    /// Bytes the registry confirmed.
    confirmed: u64,
    /// Whether any body byte was sent in this session (reads `Range: 0-0`).
    sent_any: bool,
    /// (offset, hash state) at confirmed chunk boundaries.
    checkpoints: Vec<(u64, Digester)>,
    progress: Option<ProgressFn>,
    total: Option<u64>,
}

impl<'a> Session<'a> {
    /// A session at `location` (from the `POST`), hashing with `digester` from byte 0.
    pub fn new(
        t: &'a Transport,
        repo: &'a RepositoryName,
        scope: &'a str,
        location: String,
        digester: Digester,
        progress: Option<ProgressFn>,
        total: Option<u64>,
    ) -> Self {
        Self {
            t,
            repo,
            scope,
            location,
            checkpoints: vec![(0, digester.clone())],
            digester,
            confirmed: 0,
            sent_any: false,
            progress,
            total,
        }
    }

    /// Bytes the registry confirmed.
    pub fn confirmed(&self) -> u64 {
        self.confirmed
    }

    fn request(&self, op: &'static str, method: Method) -> Request {
        Request::new(op, method, self.location.clone())
            .scope(self.scope)
            .repository(self.repo.as_str())
    }

    /// Takes the response's new `Location`, resolved against the URL that answered (a relative
    /// reference is relative to it, RFC 3986 §5), when there is a valid one.
    fn update_location(&mut self, resp: &crate::Response) {
        if let Some(l) = resp
            .headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| super::checked_location(&resp.url, l, "upload_chunk").ok())
        {
            self.location = l;
        }
    }

    fn means(&self, src: &Source, tally: &Tally) -> Means {
        Means {
            budget_left: tally.budget_left,
            seekable: src.seekable(),
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

    /// Sends the blob from the source (after `carry`, if given) and completes the session.
    pub async fn run(
        &mut self,
        src: &mut Source,
        chunk_size: usize,
        expected: Option<&Digest>,
        carry: Option<Carry>,
        tally: &mut Tally,
    ) -> Result<(Digest, u64), SessionEnd> {
        let mut carry = carry;
        let mut first = true;
        loop {
            let (chunk, last) = match carry.take() {
                Some(c) => (c.data, c.last),
                None => {
                    let chunk = src
                        .read_chunk(chunk_size)
                        .await
                        .map_err(|e| fatal(e, "reading the source failed"))?;
                    let last = chunk.len() < chunk_size;
                    (chunk, last)
                }
            };
            if first && last {
                // small blob: one request
                return self.complete(src, chunk, expected, tally).await;
            }
            first = false;
            if !chunk.is_empty() {
                self.send_chunk(src, chunk, last, tally).await?;
            }
            if last {
                return self.complete(src, Bytes::new(), expected, tally).await;
            }
        }
    }

    /// A restart as `step` asks, charged to the budget, carrying `pending` when the source
    /// cannot give it again.
    fn restart(
        &self,
        src: &Source,
        tally: &mut Tally,
        cancel_old: bool,
        cause: Error,
        pending: &Bytes,
        last: bool,
    ) -> SessionEnd {
        tally.budget_left = tally.budget_left.saturating_sub(1);
        let carry = (!src.seekable()).then(|| Carry {
            data: pending.clone(),
            last,
        });
        SessionEnd::Restart {
            cancel_old,
            cause,
            carry,
        }
    }

    /// PATCHes `chunk` (which starts at `self.confirmed`), recovering as [`resume`] decides.
    async fn send_chunk(
        &mut self,
        src: &mut Source,
        chunk: Bytes,
        last: bool,
        tally: &mut Tally,
    ) -> Result<(), SessionEnd> {
        let mut pending = chunk;
        while !pending.is_empty() {
            let attempt = Attempt {
                confirmed: self.confirmed,
                len: pending.len() as u64,
            };
            let req = self
                .request("upload_chunk", Method::PATCH)
                .header(
                    "content-range",
                    &format!("{}-{}", attempt.confirmed, attempt.end() - 1),
                )
                .map_err(|e| fatal(e, "bad header"))?
                .body(Body::Bytes {
                    content_type: "application/octet-stream".into(),
                    data: pending.clone(),
                });
            tally.bytes_sent += attempt.len;
            self.sent_any = true;
            let (answer, failure) = match self.t.send(req).await {
                Ok(resp) => {
                    self.update_location(&resp);
                    let h = resume::held(resp.header_str("range"), self.confirmed, true);
                    (PatchAnswer::Accepted(h), None)
                }
                Err(e) => match e.status() {
                    Some(s) => (PatchAnswer::Status(s.as_u16()), Some(e)),
                    None if no_answer(&e) => (PatchAnswer::NoAnswer, Some(e)),
                    None => return Err(fatal(e, "the chunk could not be sent")),
                },
            };
            let failure = failure.unwrap_or_else(|| {
                Error::invalid_response(
                    "upload_chunk",
                    "the registry's Range does not match the chunk sent",
                )
            });
            let step = after_patch(&attempt, answer, &self.means(src, tally));
            let step = match step {
                Step::Done => {
                    self.confirm(&pending);
                    self.checkpoints
                        .push((self.confirmed, self.digester.clone()));
                    return Ok(());
                }
                Step::AskStatus => {
                    tracing::warn!(offset = self.confirmed, error = %failure, "chunk failed; asking the registry how much it holds");
                    let backoff = tally.resumes + tally.restarts + 1;
                    tokio::time::sleep(self.t.retry_policy().backoff(backoff)).await;
                    let answer = self.status(attempt).await;
                    after_status(&attempt, answer, &self.means(src, tally))
                }
                other => other,
            };
            match step {
                Step::Done | Step::AskStatus => {
                    return Err(fatal(failure, "internal: unexpected resume step"));
                }
                Step::Resume { at } => {
                    tally.budget_left = tally.budget_left.saturating_sub(1);
                    tally.resumes += 1;
                    tracing::info!(at, "resuming at the registry's Range");
                    let held_part = pending.split_to((at - self.confirmed) as usize);
                    self.confirm(&held_part);
                }
                Step::Rewind { at } => {
                    tally.budget_left = tally.budget_left.saturating_sub(1);
                    tally.resumes += 1;
                    tracing::warn!(
                        at,
                        confirmed = self.confirmed,
                        "the registry holds less than it confirmed; rewinding"
                    );
                    let end = attempt.end();
                    self.rewind(src, at).await?;
                    // the source now stands at `at`: send from it up to the chunk's end again
                    let want = (end - at) as usize;
                    pending = src
                        .read_chunk(want)
                        .await
                        .map_err(|e| fatal(e, "re-reading the source failed"))?;
                    if pending.len() != want {
                        return Err(fatal(
                            Error::invalid_input(OP, "the source changed while uploading"),
                            "the source is shorter on re-read",
                        ));
                    }
                }
                Step::Restart { cancel_old } => {
                    return Err(self.restart(src, tally, cancel_old, failure, &pending, last));
                }
                Step::Fail(why) => return Err(fatal(failure, why.message())),
            }
        }
        self.checkpoints
            .push((self.confirmed, self.digester.clone()));
        Ok(())
    }

    /// Asks the registry how many bytes it holds (`GET <Location>`) after `attempt` failed.
    async fn status(&mut self, attempt: Attempt) -> StatusAnswer {
        let req = self.request("get_upload_status", Method::GET);
        match self.t.send(req).await {
            Ok(resp) => {
                self.update_location(&resp);
                let sent_any = self.sent_any || attempt.len > 0;
                StatusAnswer::Held(resume::held(
                    resp.header_str("range"),
                    self.confirmed,
                    sent_any,
                ))
            }
            Err(e) if e.status() == Some(http::StatusCode::NOT_FOUND) => {
                tracing::warn!(error = %e, "the registry no longer knows the upload session");
                StatusAnswer::Gone
            }
            Err(e) => {
                tracing::warn!(error = %e, "the upload status request failed");
                StatusAnswer::Failed
            }
        }
    }

    /// Sets the hash state and the source to `h` bytes, fewer than confirmed.
    async fn rewind(&mut self, src: &mut Source, h: u64) -> Result<(), SessionEnd> {
        let Some((at, state)) = self
            .checkpoints
            .iter()
            .rev()
            .find(|(o, _)| *o <= h)
            .cloned()
        else {
            return Err(fatal(
                Error::invalid_input(OP, "no checkpoint"),
                "internal: no hash checkpoint",
            ));
        };
        self.checkpoints.retain(|(o, _)| *o <= at);
        src.seek(at)
            .await
            .map_err(|e| fatal(e, "seeking the source failed"))?;
        self.digester = state;
        self.confirmed = at;
        // re-hash the bytes between the checkpoint and what the registry holds
        let mut left = h - at;
        while left > 0 {
            let part = src
                .read_chunk(left.min(1 << 20) as usize)
                .await
                .map_err(|e| fatal(e, "re-reading the source failed"))?;
            if part.is_empty() {
                return Err(fatal(
                    Error::invalid_input(OP, "short source"),
                    "the source is shorter on re-read",
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
        src: &mut Source,
        last: Bytes,
        expected: Option<&Digest>,
        tally: &mut Tally,
    ) -> Result<(Digest, u64), SessionEnd> {
        let mut digester = self.digester.clone();
        digester.update(&last);
        let ours = digester.finish();
        let size = self.confirmed + last.len() as u64;
        let digest = Digest::new(ours.clone())
            .map_err(|e| fatal(Error::invalid_input(OP, e.to_string()), "internal"))?;
        if let Some(exp) = expected
            && *exp != digest
        {
            return Err(fatal(
                Error::DigestMismatch {
                    operation: OP,
                    expected: exp.to_string(),
                    actual: ours,
                },
                "the source does not match the digest given",
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
        tally.bytes_sent += last.len() as u64;
        let attempt = Attempt {
            confirmed: self.confirmed,
            len: last.len() as u64,
        };
        match self.t.send(req).await {
            Ok(resp) => {
                if let Some(reported) = resp.header_str("docker-content-digest")
                    && reported != digest.as_str()
                {
                    return Err(fatal(
                        Error::DigestMismatch {
                            operation: "complete_upload",
                            expected: digest.to_string(),
                            actual: reported.to_owned(),
                        },
                        "the registry reports another digest than the bytes sent",
                    ));
                }
                self.confirm(&last);
                Ok((digest, size))
            }
            Err(e) => {
                // a retried PUT may find its first attempt already completed the blob
                let gone_or_cut = e.status() == Some(http::StatusCode::NOT_FOUND)
                    || e.status().is_none()
                    || e.is_retryable();
                if gone_or_cut
                    && let Ok(Some(_)) = self
                        .t
                        .blob_exists_in_scope(self.repo, &digest, self.scope.to_owned())
                        .await
                {
                    self.confirm(&last);
                    return Ok((digest, size));
                }
                let answer = match e.status() {
                    Some(http::StatusCode::NOT_FOUND) => CompleteAnswer::Gone,
                    Some(http::StatusCode::BAD_REQUEST)
                        if e.code().is_some_and(|c| c == "DIGEST_INVALID") =>
                    {
                        CompleteAnswer::DigestRefused
                    }
                    Some(s) => CompleteAnswer::Status(s.as_u16()),
                    None if no_answer(&e) => CompleteAnswer::NoAnswer,
                    None => return Err(fatal(e, Failure::CompletionRefused.message())),
                };
                match after_complete(&attempt, answer, &self.means(src, tally)) {
                    Step::Restart { cancel_old } => {
                        Err(self.restart(src, tally, cancel_old, e, &last, true))
                    }
                    Step::Fail(why) => Err(fatal(e, why.message())),
                    _ => Err(fatal(e, "internal: unexpected completion step")),
                }
            }
        }
    }

    /// Cancels the session; whether the registry confirmed it.
    pub async fn cancel(&self) -> bool {
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
