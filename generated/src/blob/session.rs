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
    after_patch, after_status, after_streamed,
};
use acr_runtime::blob::{Digester, Source, update_off_task};
use acr_runtime::http::StatusCode;
use acr_runtime::progress::Reporter;
use acr_runtime::{Body, StreamBody};
use bytes::Bytes;
use futures_util::FutureExt as _;

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

impl Tally {
    /// Counts a resume (or rewind) in this session, charged to the budget.
    fn charge_resume(&mut self) {
        self.budget_left = self.budget_left.saturating_sub(1);
        self.resumes += 1;
    }
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

/// A blob from a one-pass source that fits in one chunk and is larger than this (bytes)
/// goes in one request whose body streams from the source ([`Session::send_streamed`]),
/// instead of being read into memory whole first. Below it the blob is held, so that the
/// request can be sent again after a failure.
const STREAM_ABOVE: u64 = 16 << 20;
/// The same for a seekable source (a file, bytes): it can start over after a failure, so
/// only blobs of a few pieces are held; several uploads at once then hold a few MiB each.
const STREAM_SEEKABLE_ABOVE: u64 = 2 * STREAM_PIECE as u64;
/// The pieces a streamed body is read, hashed and sent in (bytes).
const STREAM_PIECE: usize = 512 << 10;
/// How many pieces of a streamed body may wait for the connection (with one being hashed
/// and one being written, a streamed upload holds about 2 MiB).
const STREAM_QUEUE: usize = 4;

/// Whether a blob of `len` bytes goes in one streamed request with chunks of `chunk_size`.
pub(crate) fn streams_whole(len: u64, chunk_size: usize, seekable: bool) -> bool {
    let above = if seekable {
        STREAM_SEEKABLE_ABOVE
    } else {
        STREAM_ABOVE
    };
    len > above && len <= chunk_size as u64
}

/// The digest `ours` (`algorithm:hex`, of the bytes sent), checked against the one the
/// caller gave, if any.
#[expect(
    clippy::result_large_err,
    reason = "the SessionEnd every step of a session returns, moved once per upload"
)]
fn checked_digest(ours: String, expected: Option<&Digest>) -> Result<Digest, SessionEnd> {
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
    Ok(digest)
}

/// Checks the `Docker-Content-Digest` the registry answered the completion with, if any,
/// against the digest of the bytes sent.
#[expect(
    clippy::result_large_err,
    reason = "the SessionEnd every step of a session returns, moved once per upload"
)]
fn check_reported(reported: Option<&Digest>, digest: &Digest) -> Result<(), SessionEnd> {
    match reported {
        Some(reported) if reported != digest => Err(fatal(
            Error::DigestMismatch {
                operation: complete_upload::OPERATION,
                expected: digest.to_string(),
                actual: reported.to_string(),
            },
            "the registry reports another digest than the bytes sent",
        )),
        _ => Ok(()),
    }
}

/// How the registry answered a completing `PUT` that failed with `e`; `None` for a failure
/// that is neither an answer nor a lost one (a malformed answer).
fn complete_answer(e: &Error) -> Option<CompleteAnswer> {
    Some(match e.status() {
        Some(StatusCode::NOT_FOUND) => CompleteAnswer::Gone,
        Some(StatusCode::BAD_REQUEST) if e.code() == Some(&ErrorCode::DigestInvalid) => {
            CompleteAnswer::DigestRefused
        }
        Some(s) => CompleteAnswer::Status(s.as_u16()),
        None if no_answer(e) => CompleteAnswer::NoAnswer,
        None => return None,
    })
}

/// Chunks of at least this size (bytes) from a seekable source of known length are streamed
/// from the source ([`Session::stream_chunk`]) rather than read into memory first.
const STREAM_CHUNKS_FROM: usize = 4 << 20;

/// Whether an upload of `total` bytes in chunks of `chunk_size` streams each chunk from its
/// source: several chunks, large ones, and a source that can go back after a failure.
pub(crate) fn streams_chunks(total: u64, chunk_size: usize, seekable: bool) -> bool {
    seekable && chunk_size >= STREAM_CHUNKS_FROM && total > chunk_size as u64
}

/// Reads `len` bytes from `src` in pieces of [`STREAM_PIECE`] bytes, hashes each off this
/// task (from `digester`) and hands it to `pieces` (a streamed request body); the hash state
/// after them. A source that fails or ends short breaks the body (an error piece) and gives
/// its error; a body whose request ended stops the reading early (`None`: not every byte was
/// read, so there is no hash state of them). When these bytes end the
/// blob (`ends_blob`) and the source checks its own bytes ([`Source::verified`]), it is read
/// to its end before the last piece goes: a check that fails breaks the body, and the
/// registry never completes the blob.
async fn produce(
    src: &mut Source,
    digester: Digester,
    len: u64,
    ends_blob: bool,
    pieces: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
) -> crate::Result<Option<Digester>> {
    let mut digester = digester;
    let mut read = 0u64;
    while read < len {
        let want = (len - read).min(STREAM_PIECE as u64) as usize;
        let piece = match src.read_chunk(want).await {
            Ok(p) if p.len() == want => p,
            Ok(_) => {
                let _ = pieces
                    .send(Err(std::io::Error::other("the source ended early")))
                    .await;
                return Err(Error::invalid_input(
                    OP,
                    format!("the source ended before the {len} bytes announced"),
                ));
            }
            Err(e) => {
                let _ = pieces
                    .send(Err(std::io::Error::other("the source failed")))
                    .await;
                return Err(e);
            }
        };
        read += piece.len() as u64;
        digester = update_off_task(digester, piece.clone())
            .await
            .ok_or_else(|| Error::invalid_input(OP, "internal: the hashing thread stopped"))?;
        if read == len
            && ends_blob
            && src.verified().is_some()
            && let Err(e) = src.expect_end().await
        {
            let _ = pieces
                .send(Err(std::io::Error::other("the source's check failed")))
                .await;
            return Err(e);
        }
        if pieces.send(Ok(piece)).await.is_err() {
            // the request ended (failed): its error tells why
            return Ok((read == len).then_some(digester));
        }
    }
    Ok(Some(digester))
}

/// A chunk read from the source, and whether the source ended with it.
pub(crate) struct Chunk {
    data: Bytes,
    last: bool,
}

impl Chunk {
    /// A read of `chunk_size` bytes: shorter means the source ended.
    fn of(data: Bytes, chunk_size: usize) -> Self {
        let last = data.len() < chunk_size;
        Self { data, last }
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
        self.advance(data.len() as u64);
    }

    /// Counts `n` more bytes confirmed (already hashed) and reports them.
    fn advance(&mut self, n: u64) {
        self.confirmed += n;
        self.reporter
            .report(self.digest, self.confirmed, self.total);
    }

    /// Sends the blob from the source (after `carry`, if given) and completes the session.
    ///
    /// While a chunk is on the wire the next one is read and the one in flight hashed (off
    /// this task), so the connection does not wait for the disk or SHA-256 between chunks;
    /// at most two chunks are in memory: the one sent and the one read ahead.
    pub async fn run(
        &mut self,
        src: &mut Source,
        chunk_size: usize,
        expected: Option<&Digest>,
        carry: Option<Carry>,
        tally: &mut Tally,
    ) -> Result<(Digest, u64), SessionEnd> {
        if carry.is_none()
            && let Some(len) = self.total
            && streams_whole(len, chunk_size, src.seekable())
        {
            return self.send_streamed(src, len, expected, tally).await;
        }
        if carry.is_none()
            && let Some(total) = self.total
            && streams_chunks(total, chunk_size, src.seekable())
        {
            while self.confirmed < total {
                let end = total.min(self.confirmed + chunk_size as u64);
                self.stream_chunk(src, end, tally).await?;
            }
            return self.complete(src, Bytes::new(), expected, tally).await;
        }
        let mut carry = carry;
        let mut ahead: Option<Bytes> = None;
        let mut first = true;
        loop {
            let chunk = match carry.take() {
                Some(c) => Chunk {
                    data: c.data,
                    last: c.last,
                },
                None => match ahead.take() {
                    Some(data) => Chunk::of(data, chunk_size),
                    None => Chunk::of(
                        src.read_chunk(chunk_size)
                            .await
                            .map_err(|e| fatal(e, "reading the source failed"))?,
                        chunk_size,
                    ),
                },
            };
            if first && chunk.last {
                // small blob: one request
                return self.complete(src, chunk.data, expected, tally).await;
            }
            first = false;
            let last = chunk.last;
            if !chunk.data.is_empty() {
                ahead = self.send_chunk(src, chunk, chunk_size, tally).await?;
            }
            if last {
                return self.complete(src, Bytes::new(), expected, tally).await;
            }
        }
    }

    /// PATCHes the bytes from `self.confirmed` to `end` (the source standing at
    /// `self.confirmed`) as a body streamed from the source: read, hashed off this task and
    /// sent in pieces of [`STREAM_PIECE`] bytes, so the chunk is never in memory whole. The
    /// body cannot be sent twice: after a failure the registry is asked what it holds, the
    /// source and the hash state are set back to that (from the checkpoint at the chunk's
    /// start), and the caller's loop goes on from there, as [`resume`] decides.
    async fn stream_chunk(
        &mut self,
        src: &mut Source,
        end: u64,
        tally: &mut Tally,
    ) -> Result<(), SessionEnd> {
        let attempt = Attempt {
            confirmed: self.confirmed,
            len: end - self.confirmed,
        };
        let (body, pieces) =
            StreamBody::channel("application/octet-stream", attempt.len, STREAM_QUEUE);
        let ends_blob = self.total == Some(end);
        let produce = produce(
            &mut *src,
            self.digester.clone(),
            attempt.len,
            ends_blob,
            pieces,
        );
        let request = self
            .client
            .upload_chunk(&self.location, Bytes::new())
            .content_range(format!("{}-{}", attempt.confirmed, end - 1));
        let body = Body::Stream(body);
        let send = async move {
            let (client, mut request) = request.into_request()?;
            request.body = body;
            let raw = client.transport().send(request).await?;
            upload_chunk::Response::from_raw(raw)
        };
        tally.bytes_sent += attempt.len;
        self.sent_any = true;
        let (result, produced) = futures_util::future::join(send, produce).await;
        let (answer, failure) = self.patch_answer(result)?;
        let step = after_patch(&attempt, answer, &self.means(src, tally));
        let produced = match produced {
            Ok(d) => d,
            // the source failed: nothing to resume from
            Err(e) => return Err(fatal(e, "reading the source failed")),
        };
        if let Step::Done = step {
            let Some(produced) = produced else {
                return Err(fatal(
                    Error::invalid_response(
                        upload_chunk::OPERATION,
                        "the registry took a chunk whose body was not sent whole",
                    ),
                    "the chunk could not be sent",
                ));
            };
            self.digester = produced;
            self.advance(attempt.len);
            self.checkpoints
                .push((self.confirmed, self.digester.clone()));
            return Ok(());
        }
        match self
            .settle(step, attempt, &failure, self.means(src, tally), *tally)
            .await
        {
            Step::Done | Step::AskStatus => Err(fatal(failure, "internal: unexpected resume step")),
            Step::Resume { at } | Step::Rewind { at } => {
                tally.charge_resume();
                tracing::info!(at, "resuming at the registry's Range");
                // the hash state and the source back to `at`, from the chunk's checkpoint
                self.rewind(src, at).await
            }
            Step::Restart { cancel_old } => {
                Err(self.restart(src, tally, cancel_old, failure, &Bytes::new(), true))
            }
            Step::Fail(why) => Err(fatal(failure, why.message())),
        }
    }

    /// Sends the whole blob (`len` bytes from byte 0 of `src`) in one request whose body is
    /// read from the source as it goes: never in memory whole, whatever the chunk size. With
    /// the digest known it is the completing `PUT` itself (OCI distribution spec, "Monolithic
    /// upload", the `POST`/`PUT` pair); without, one `PATCH` of the whole blob, then the
    /// completing `PUT` (the digest is only known at the end). Pieces of [`STREAM_PIECE`] bytes
    /// are hashed off this task while earlier ones are on the wire.
    ///
    /// The body cannot be sent twice: after a lost connection, a lost session (404), throttling
    /// or a server error, a seekable source starts over in a new session (one recovery of the
    /// budget); a one-pass source fails. A refusal the registry would give again (another
    /// 4xx, [`after_streamed`]) and a source that does not match the digest given fail at
    /// once.
    async fn send_streamed(
        &mut self,
        src: &mut Source,
        len: u64,
        expected: Option<&Digest>,
        tally: &mut Tally,
    ) -> Result<(Digest, u64), SessionEnd> {
        let (body, pieces) = StreamBody::channel("application/octet-stream", len, STREAM_QUEUE);
        let produce = produce(&mut *src, self.digester.clone(), len, true, pieces);
        tally.bytes_sent += len;
        self.sent_any = true;
        let body = Body::Stream(body);
        let sent = match expected {
            Some(digest) => {
                let request = self.client.complete_upload(&self.location, digest);
                let send = async move {
                    let (client, mut request) = request.into_request()?;
                    request.body = body;
                    let raw = client.transport().send(request).await?;
                    complete_upload::Response::from_raw(raw).map(|r| r.docker_content_digest)
                };
                futures_util::future::join(send, produce).await
            }
            None => {
                let request = self
                    .client
                    .upload_chunk(&self.location, Bytes::new())
                    .content_range(format!("0-{}", len - 1));
                let send = async move {
                    let (client, mut request) = request.into_request()?;
                    request.body = body;
                    let raw = client.transport().send(request).await?;
                    upload_chunk::Response::from_raw(raw).map(|r| {
                        let location = r.location;
                        (location, r.range)
                    })
                }
                .map(|r| {
                    r.map(|(location, range)| {
                        self.update_location(location);
                        let _ = range;
                        None
                    })
                });
                futures_util::future::join(send, produce).await
            }
        };
        let (answer, produced) = sent;
        let digester = match produced {
            Ok(d) => d,
            Err(e) => return Err(fatal(e, "reading the source failed")),
        };
        let reported = match answer {
            Ok(reported) => reported,
            Err(e) => {
                tracing::warn!(error = %e, "the streamed upload failed");
                // every byte read: a source that does not match the digest given fails here,
                // whatever the registry said of it (sending it again would not help)
                if let (Some(d), Some(_)) = (&digester, expected) {
                    checked_digest(d.clone().finish(), expected)?;
                }
                // a malformed answer counts as none: the body cannot be sent again as it is
                let answer = complete_answer(&e).unwrap_or(CompleteAnswer::NoAnswer);
                let means = self.means(src, tally);
                return Err(match after_streamed(answer, expected.is_some(), &means) {
                    Step::Restart { cancel_old } => {
                        self.restart(src, tally, cancel_old, e, &Bytes::new(), true)
                    }
                    Step::Fail(why) => fatal(e, why.message()),
                    _ => fatal(e, "internal: unexpected resume step"),
                });
            }
        };
        let Some(digester) = digester else {
            return Err(fatal(
                Error::invalid_response(OP, "the registry took a body that was not sent whole"),
                "the blob could not be sent",
            ));
        };
        self.digester = digester;
        let ours = self.digester.clone().finish();
        let digest = checked_digest(ours, expected)?;
        check_reported(reported.as_ref(), &digest)?;
        self.advance(len);
        if expected.is_some() {
            return Ok((digest, len));
        }
        self.checkpoints
            .push((self.confirmed, self.digester.clone()));
        self.complete(src, Bytes::new(), expected, tally).await
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

    /// PATCHes `chunk` (which starts at `self.confirmed`), recovering as [`resume`] decides;
    /// the next chunk, read while this one was on the wire (`None` after the last).
    ///
    /// The first attempt is pipelined: the next chunk is read and this one hashed from the
    /// confirmed state while the request is out. When the registry takes the whole chunk the
    /// hash becomes the confirmed state; otherwise it is dropped, the chunk read ahead is
    /// given back to the source, and recovery goes one request at a time.
    async fn send_chunk(
        &mut self,
        src: &mut Source,
        chunk: Chunk,
        chunk_size: usize,
        tally: &mut Tally,
    ) -> Result<Option<Bytes>, SessionEnd> {
        let last = chunk.last;
        let mut pending = chunk.data;
        let mut pipelined = true;
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
            let (result, early) = if std::mem::take(&mut pipelined) {
                let hashed = update_off_task(self.digester.clone(), pending.clone());
                let next = async {
                    match last {
                        true => Ok(None),
                        false => src.read_chunk(chunk_size).await.map(Some),
                    }
                };
                let (result, (hashed, next)) = futures_util::future::join(
                    request.into_future(),
                    futures_util::future::join(hashed, next),
                )
                .await;
                (result, Some((hashed, next)))
            } else {
                (request.await, None)
            };
            let (answer, failure) = self.patch_answer(result)?;
            let step = after_patch(&attempt, answer, &self.means(src, tally));
            if let Some((hashed, next)) = early {
                match (&step, hashed, next) {
                    (_, _, Err(e)) => return Err(fatal(e, "reading the source failed")),
                    (Step::Done, Some(state), Ok(next)) => {
                        self.digester = state;
                        self.advance(attempt.len);
                        self.checkpoints
                            .push((self.confirmed, self.digester.clone()));
                        return Ok(next);
                    }
                    // not the whole chunk: give back what was read ahead, and recover one
                    // request at a time
                    (_, _, Ok(next)) => {
                        if let Some(n) = next {
                            src.unread(n);
                        }
                    }
                }
            }
            let step = match step {
                Step::Done => {
                    self.confirm(&pending);
                    self.checkpoints
                        .push((self.confirmed, self.digester.clone()));
                    return self.read_next(src, last, chunk_size).await;
                }
                other => {
                    self.settle(other, attempt, &failure, self.means(src, tally), *tally)
                        .await
                }
            };
            match step {
                Step::Done | Step::AskStatus => {
                    return Err(fatal(failure, "internal: unexpected resume step"));
                }
                Step::Resume { at } => {
                    tally.charge_resume();
                    tracing::info!(at, "resuming at the registry's Range");
                    let held_part = pending.split_to((at - self.confirmed) as usize);
                    self.confirm(&held_part);
                }
                Step::Rewind { at } => {
                    tally.charge_resume();
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
        self.read_next(src, last, chunk_size).await
    }

    /// The chunk after one the registry confirmed on the slow path (`None` after the last).
    async fn read_next(
        &mut self,
        src: &mut Source,
        last: bool,
        chunk_size: usize,
    ) -> Result<Option<Bytes>, SessionEnd> {
        if last {
            return Ok(None);
        }
        src.read_chunk(chunk_size)
            .await
            .map(Some)
            .map_err(|e| fatal(e, "reading the source failed"))
    }

    /// What the answer to a `PATCH` says for [`after_patch`], and the failure behind it (none
    /// when the registry took the chunk); takes a new `Location`. A failure that is neither an
    /// answer nor a lost connection ends the session.
    #[expect(
        clippy::result_large_err,
        reason = "the SessionEnd every step of a session returns, moved once per upload"
    )]
    fn patch_answer(
        &mut self,
        result: crate::Result<upload_chunk::Response>,
    ) -> Result<(PatchAnswer, Error), SessionEnd> {
        Ok(match result {
            Ok(resp) => {
                self.update_location(resp.location);
                let h = resume::held_range(resp.range, self.confirmed, true);
                // the failure to report if that Range is not the chunk's end
                let mismatch = Error::invalid_response(
                    upload_chunk::OPERATION,
                    "the registry's Range does not match the chunk sent",
                );
                (PatchAnswer::Accepted(h), mismatch)
            }
            Err(e) => match e.status() {
                Some(s) => (PatchAnswer::Status(s.as_u16()), e),
                None if no_answer(&e) => (PatchAnswer::NoAnswer, e),
                // accepted, but its Location or Range unusable: ask the registry
                None if matches!(e, Error::InvalidResponse { .. }) => {
                    (PatchAnswer::Accepted(None), e)
                }
                None => return Err(fatal(e, "the chunk could not be sent")),
            },
        })
    }

    /// The step to take after `attempt` failed with `failure` and [`after_patch`] gave
    /// `step`: when that is [`Step::AskStatus`], waits the retry policy's backoff (for the
    /// recoveries so far in `tally`), asks ([`Session::status`]) and decides with `means`,
    /// the recovery means held before the wait; any other step is returned as it is.
    async fn settle(
        &mut self,
        step: Step,
        attempt: Attempt,
        failure: &Error,
        means: Means,
        tally: Tally,
    ) -> Step {
        if step != Step::AskStatus {
            return step;
        }
        let backoff = tally.resumes + tally.restarts + 1;
        tracing::warn!(offset = self.confirmed, error = %failure, "chunk failed; asking the registry how much it holds");
        tokio::time::sleep(self.client.transport().retry_policy().backoff(backoff)).await;
        let answer = self.status(attempt).await;
        after_status(&attempt, answer, &means)
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
        let digest = checked_digest(ours, expected)?;
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
                check_reported(resp.docker_content_digest.as_ref(), &digest)?;
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
                let Some(answer) = complete_answer(&e) else {
                    return Err(fatal(e, Failure::CompletionRefused.message()));
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
