//! One upload session (OCI distribution spec, "Pushing a blob in chunks"): `upload_chunk` per
//! chunk with its `Content-Range` (`<start>-<end>`), each answered with a new `Location` the
//! next request must use and the `Range` held; `get_upload_status` for the status;
//! `complete_upload` with the digest to complete; `cancel_upload` to cancel. All of them are
//! the generated operations; this module knows no path.
//!
//! What to do when a request fails is decided by the pure functions of
//! [`acr_runtime::blob::resume`]; this
//! module sends the requests, keeps the hash state in step with the bytes the registry holds
//! (saved states at chunk boundaries, re-reading a seekable source when the registry holds
//! less than it confirmed), and counts what it sent.

use acr_runtime::blob::resume::{
    self, Attempt, CompleteAnswer, Failure, Means, PatchAnswer, StatusAnswer, Step, after_complete,
    after_patch, after_status,
};
use acr_runtime::blob::{Digester, Source};
use acr_runtime::http::StatusCode;
use acr_runtime::progress::Reporter;
use bytes::Bytes;

use super::push::{OP, exists};
use crate::operations::{complete_upload, upload_chunk};
use crate::{Client, Digest, Error, ErrorCode, RepositoryName, UploadLocation};

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
    /// The client whose token scope covers the whole upload.
    client: &'a Client,
    repo: &'a RepositoryName,
    location: UploadLocation,
    digester: Digester,
    /// Bytes the registry confirmed.
    confirmed: u64,
    /// Whether any body byte was sent in this session (reads `Range: 0-0`).
    sent_any: bool,
    /// (offset, hash state) at confirmed chunk boundaries.
    checkpoints: Vec<(u64, Digester)>,
    reporter: &'a Reporter,
    /// The blob's digest for progress values, when known up front.
    digest: Option<&'a Digest>,
    total: Option<u64>,
}

impl<'a> Session<'a> {
    /// A session at `location` (from the `POST`), hashing with `digester` from byte 0.
    pub fn new(
        client: &'a Client,
        repo: &'a RepositoryName,
        location: UploadLocation,
        digester: Digester,
        reporter: &'a Reporter,
        digest: Option<&'a Digest>,
        total: Option<u64>,
    ) -> Self {
        Self {
            client,
            repo,
            location,
            checkpoints: vec![(0, digester.clone())],
            digester,
            confirmed: 0,
            sent_any: false,
            reporter,
            digest,
            total,
        }
    }

    /// Bytes the registry confirmed.
    pub fn confirmed(&self) -> u64 {
        self.confirmed
    }

    /// Takes the response's new `Location` (already resolved against the URL that answered,
    /// RFC 3986 §5, by the generated response), when there is one.
    fn update_location(&mut self, location: Option<UploadLocation>) {
        if let Some(l) = location {
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
        self.reporter
            .report(self.digest, self.confirmed, self.total);
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
            let request = self
                .client
                .upload_chunk(&self.location, pending.clone())
                .content_range(format!("{}-{}", attempt.confirmed, attempt.end() - 1));
            tally.bytes_sent += attempt.len;
            self.sent_any = true;
            let (answer, failure) = match request.await {
                Ok(resp) => {
                    self.update_location(resp.location);
                    let h = resume::held_range(resp.range, self.confirmed, true);
                    (PatchAnswer::Accepted(h), None)
                }
                Err(e) => match e.status() {
                    Some(s) => (PatchAnswer::Status(s.as_u16()), Some(e)),
                    None if no_answer(&e) => (PatchAnswer::NoAnswer, Some(e)),
                    // accepted, but its Location or Range unusable: ask the registry
                    None if matches!(e, Error::InvalidResponse { .. }) => {
                        (PatchAnswer::Accepted(None), Some(e))
                    }
                    None => return Err(fatal(e, "the chunk could not be sent")),
                },
            };
            let failure = failure.unwrap_or_else(|| {
                Error::invalid_response(
                    upload_chunk::OPERATION,
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
                    tokio::time::sleep(self.client.transport().retry_policy().backoff(backoff))
                        .await;
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

    /// Asks the registry how many bytes it holds (`get_upload_status`) after `attempt` failed.
    async fn status(&mut self, attempt: Attempt) -> StatusAnswer {
        match self.client.get_upload_status(&self.location).await {
            Ok(resp) => {
                self.update_location(resp.location);
                let sent_any = self.sent_any || attempt.len > 0;
                StatusAnswer::Held(resume::held_range(resp.range, self.confirmed, sent_any))
            }
            // an answer whose Location or Range is unusable says nothing of what is held
            Err(e) if matches!(e, Error::InvalidResponse { .. }) => {
                tracing::warn!(error = %e, "the upload status answer is unusable");
                StatusAnswer::Held(None)
            }
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => {
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
        let mut request = self.client.complete_upload(&self.location, &digest);
        if !last.is_empty() {
            request = request.value(last.clone());
        }
        tally.bytes_sent += last.len() as u64;
        let attempt = Attempt {
            confirmed: self.confirmed,
            len: last.len() as u64,
        };
        match request.await {
            Ok(resp) => {
                if let Some(reported) = resp.docker_content_digest
                    && reported != digest
                {
                    return Err(fatal(
                        Error::DigestMismatch {
                            operation: complete_upload::OPERATION,
                            expected: digest.to_string(),
                            actual: reported.to_string(),
                        },
                        "the registry reports another digest than the bytes sent",
                    ));
                }
                self.confirm(&last);
                Ok((digest, size))
            }
            Err(e) => {
                // a retried PUT may find its first attempt already completed the blob
                let gone_or_cut = e.status() == Some(StatusCode::NOT_FOUND)
                    || e.status().is_none()
                    || e.is_retryable();
                if gone_or_cut && let Ok(Some(_)) = exists(self.client, self.repo, &digest).await {
                    self.confirm(&last);
                    return Ok((digest, size));
                }
                let answer = match e.status() {
                    Some(StatusCode::NOT_FOUND) => CompleteAnswer::Gone,
                    Some(StatusCode::BAD_REQUEST)
                        if e.code() == Some(&ErrorCode::DigestInvalid) =>
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
        match self.client.cancel_upload(&self.location).await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(error = %e, "cancelling the upload session failed");
                false
            }
        }
    }
}
