//! The wire side of one HTTP exchange: timeouts that measure inactivity, request bodies
//! whose progress is seen, and response bodies read with a size limit.
//!
//! - **Write idle**: a request body larger than [`SLICE`] goes out as a stream of slices with
//!   its `Content-Length` set; HTTP/1 and HTTP/2 pull the next slice only once the previous
//!   one is buffered for the socket, so each pull is progress. A body that makes no progress
//!   for the write timeout fails the attempt; a slow but live upload never does, however long
//!   it takes (a 16 MiB chunk at 100 KiB/s takes 164 s).
//! - **Read idle**: once the body is handed over, the wait for the response head, and then
//!   the wait for each piece of the response body, is bounded by the read timeout.
//! - Bytes handed to the kernel are out of sight: the read timeout must outlast the time the
//!   network takes to drain the socket's send buffer (seconds even on slow links).
//! - **Size**: a buffered body is refused up front when its `Content-Length` is over the
//!   limit, and while reading as soon as the count passes it, so a server sending an endless
//!   body costs at most the limit in memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::time::Instant;

use crate::Error;
use crate::error::TimeoutKind;
use crate::paging::BoxStream;

/// Request bodies larger than this go out in slices of this size (64 KiB).
pub(crate) const SLICE: usize = 64 * 1024;

/// The idle timeouts of an exchange.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// The longest wait for the next bytes of a response (its head or body).
    pub read: Duration,
    /// The longest time the request body may make no progress.
    pub write: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            read: Duration::from_secs(120),
            write: Duration::from_secs(120),
        }
    }
}

/// Why an exchange failed before a usable response.
#[derive(Debug)]
pub(crate) enum Failure {
    /// reqwest/hyper failed (connect, a cut connection, a cut body).
    Http(reqwest::Error),
    /// An idle timeout.
    Timeout(TimeoutKind, Duration),
    /// The body is larger than its limit.
    TooLarge(u64),
}

impl Failure {
    /// Whether the request may have reached the server before this failure, so that its
    /// effect may have happened although its answer was lost: anything but a failure to
    /// connect.
    pub(crate) fn may_have_reached_server(&self) -> bool {
        match self {
            Self::Http(e) => !e.is_connect(),
            Self::Timeout(..) | Self::TooLarge(_) => true,
        }
    }

    /// The [`Error`] of this failure for `operation`.
    pub(crate) fn into_error(
        self,
        operation: &'static str,
        repository: Option<String>,
        attempts: u32,
    ) -> Error {
        match self {
            Self::Http(e) => Error::transport(operation, repository, attempts, e),
            Self::Timeout(kind, after) => Error::Timeout {
                operation,
                kind,
                after,
            },
            Self::TooLarge(limit) => Error::TooLarge { operation, limit },
        }
    }
}

/// When the exchange last made progress, and whether its request body is still going out.
#[derive(Debug)]
pub(crate) struct Progress {
    base: Instant,
    /// Nanoseconds after `base` of the last progress.
    last: AtomicU64,
    writing: AtomicBool,
}

impl Progress {
    /// A new exchange, its clock started now.
    fn start() -> Arc<Self> {
        Arc::new(Self {
            base: Instant::now(),
            last: AtomicU64::new(0),
            writing: AtomicBool::new(false),
        })
    }

    fn touch(&self) {
        let nanos = u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.last.fetch_max(nanos, Ordering::Relaxed);
    }

    /// When the exchange times out if nothing moves, which timeout that is, and its length.
    fn idle_deadline(&self, t: &Timeouts) -> (Instant, TimeoutKind, Duration) {
        let last = self.base + Duration::from_nanos(self.last.load(Ordering::Relaxed));
        if self.writing.load(Ordering::Relaxed) {
            (last + t.write, TimeoutKind::Write, t.write)
        } else {
            (last + t.read, TimeoutKind::Read, t.read)
        }
    }
}

/// Puts `data` on `rb` as the body: whole when small, else as slices whose pulls are
/// progress (see the module docs), with its `Content-Length` set.
pub(crate) fn with_body(
    rb: reqwest::RequestBuilder,
    data: Bytes,
    progress: &Arc<Progress>,
) -> reqwest::RequestBuilder {
    if data.len() <= SLICE {
        return rb.body(data);
    }
    progress.writing.store(true, Ordering::Relaxed);
    let len = data.len();
    let stream = futures_util::stream::unfold(
        (data, progress.clone()),
        |(mut rest, progress)| async move {
            if rest.is_empty() {
                return None;
            }
            let chunk = rest.split_to(rest.len().min(SLICE));
            progress.touch();
            if rest.is_empty() {
                // the last slice is with the HTTP stack: from now on the response is awaited
                progress.writing.store(false, Ordering::Relaxed);
            }
            Some((Ok::<_, std::io::Error>(chunk), (rest, progress)))
        },
    );
    rb.header(http::header::CONTENT_LENGTH, len)
        .body(reqwest::Body::wrap_stream(stream))
}

/// Puts a streamed body on `rb`: the producer's pieces as they come, each pull progress,
/// with `Content-Length: len`.
pub(crate) fn with_stream(
    rb: reqwest::RequestBuilder,
    len: u64,
    pieces: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
    progress: &Arc<Progress>,
) -> reqwest::RequestBuilder {
    progress.writing.store(true, Ordering::Relaxed);
    let stream = futures_util::stream::unfold(
        (pieces, progress.clone()),
        |(mut pieces, progress)| async move {
            let piece = pieces.recv().await;
            progress.touch();
            match piece {
                Some(item) => Some((item, (pieces, progress))),
                None => {
                    progress.writing.store(false, Ordering::Relaxed);
                    None
                }
            }
        },
    );
    rb.header(http::header::CONTENT_LENGTH, len)
        .body(reqwest::Body::wrap_stream(stream))
}

/// The idle watch of one exchange (an attempt with its redirects): its [`Progress`] and one
/// timer for all of its waits (the response head, then each piece of a buffered body).
///
/// The timer is made at the first wait that is not over at once, and moved only when it
/// fires before the exchange has been idle for its timeout. It is never late: it is set at
/// most the shorter of the two timeouts ahead, and every change of what the exchange waits
/// for (the last slice of the body handed over, the head, a piece of the body) is progress,
/// which only postpones the deadline. One timer per exchange instead of one per wait: each
/// timer registers with the runtime's time driver, a lock the runtime's workers share.
///
/// The transport's own progress (the head, a piece of the body) is dated when the next wait
/// is not over at once, not when it happens: a wait that is over at once (the rest of a small
/// body, already received) reads no clock. The date is late by the time between the two
/// waits, which follow each other in the transport (microseconds), and a later date only
/// postpones the deadline by that much.
pub(crate) struct Watch {
    progress: Arc<Progress>,
    timeouts: Timeouts,
    /// The timer, made at the first wait that is not over at once.
    timer: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
    /// Progress of the transport's own not dated yet (see above).
    moved: bool,
}

impl Watch {
    /// A new exchange, its clock started now.
    pub(crate) fn start(timeouts: Timeouts) -> Self {
        Self {
            progress: Progress::start(),
            timeouts,
            timer: None,
            moved: false,
        }
    }

    /// When the exchange started.
    pub(crate) fn started(&self) -> Instant {
        self.progress.base
    }

    /// The exchange's progress, for the request body to mark.
    pub(crate) fn progress(&self) -> &Arc<Progress> {
        &self.progress
    }

    /// Marks progress: the idle clock starts again (from the next wait that is not over at
    /// once, see above).
    pub(crate) fn touch(&mut self) {
        self.moved = true;
    }

    /// A new hop of the exchange (a redirect followed): nothing is being written yet, and
    /// the idle clock starts again.
    pub(crate) fn next_hop(&mut self) {
        self.progress.writing.store(false, Ordering::Relaxed);
        self.progress.touch();
        self.moved = false;
    }

    /// Waits for `fut`, failing once the exchange has made no progress for its idle timeout.
    pub(crate) async fn wait<F: std::future::Future>(
        &mut self,
        fut: F,
    ) -> Result<F::Output, Failure> {
        let mut fut = std::pin::pin!(fut);
        std::future::poll_fn(|cx| self.poll_wait(fut.as_mut(), cx)).await
    }

    /// One poll of [`Watch::wait`]: the awaited thing first, the timer only when it is not
    /// there yet.
    fn poll_wait<F: std::future::Future>(
        &mut self,
        fut: std::pin::Pin<&mut F>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<F::Output, Failure>> {
        use std::task::Poll;
        if let Poll::Ready(r) = fut.poll(cx) {
            return Poll::Ready(Ok(r));
        }
        let Self {
            progress,
            timeouts,
            timer,
            moved,
        } = self;
        if std::mem::take(moved) {
            progress.touch();
        }
        let shortest = timeouts.read.min(timeouts.write);
        let timer = timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(progress.base + shortest)));
        loop {
            if timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let (at, kind, after) = progress.idle_deadline(timeouts);
            let now = Instant::now();
            if at <= now {
                return Poll::Ready(Err(Failure::Timeout(kind, after)));
            }
            // progress moved the deadline while the timer ran: wait again, never past what
            // a change of the awaited thing could make the deadline
            timer.as_mut().reset(at.min(now + shortest));
        }
    }
}

/// Sends `rb` and waits for the response head, failing when the exchange makes no progress
/// for its idle timeout; the head is progress.
pub(crate) async fn send(
    rb: reqwest::RequestBuilder,
    watch: &mut Watch,
) -> Result<reqwest::Response, Failure> {
    let response = watch.wait(rb.send()).await?.map_err(Failure::Http)?;
    watch.touch();
    Ok(response)
}

/// The next piece of `resp`'s body, waiting at most `read` for it.
pub(crate) async fn chunk(
    resp: &mut reqwest::Response,
    read: Duration,
) -> Result<Option<Bytes>, Failure> {
    match tokio::time::timeout(read, resp.chunk()).await {
        Ok(r) => r.map_err(Failure::Http),
        Err(_) => Err(Failure::Timeout(TimeoutKind::Read, read)),
    }
}

/// Reads `resp`'s body, refusing more than `limit` bytes (checked against `Content-Length`
/// first, then while reading); each piece is awaited by `watch` and is progress.
pub(crate) async fn read_limited(
    mut resp: reqwest::Response,
    limit: u64,
    watch: &mut Watch,
) -> Result<Bytes, Failure> {
    if resp.content_length().is_some_and(|n| n > limit) {
        return Err(Failure::TooLarge(limit));
    }
    // The first piece is kept as it is: a small body is one piece, never copied.
    let Some(first) = next_piece(&mut resp, watch).await? else {
        return Ok(Bytes::new());
    };
    if first.len() as u64 > limit {
        return Err(Failure::TooLarge(limit));
    }
    let Some(second) = next_piece(&mut resp, watch).await? else {
        return Ok(first);
    };
    let mut buf = BytesMut::from(first);
    let mut piece = second;
    loop {
        if (buf.len() + piece.len()) as u64 > limit {
            return Err(Failure::TooLarge(limit));
        }
        buf.extend_from_slice(&piece);
        match next_piece(&mut resp, watch).await? {
            Some(more) => piece = more,
            None => break,
        }
    }
    Ok(buf.freeze())
}

/// The next piece of `resp`'s body, awaited by `watch`; its arrival is progress.
async fn next_piece(
    resp: &mut reqwest::Response,
    watch: &mut Watch,
) -> Result<Option<Bytes>, Failure> {
    let piece = watch.wait(resp.chunk()).await?.map_err(Failure::Http)?;
    watch.touch();
    Ok(piece)
}

/// Reads at most `limit` bytes of an error response's body: a longer body is cut there, and
/// a failure while reading keeps what arrived (the status is the error; its body only
/// explains it).
pub(crate) async fn read_error_body(
    mut resp: reqwest::Response,
    limit: u64,
    read: Duration,
) -> Bytes {
    let mut buf = BytesMut::new();
    while let Ok(Some(piece)) = chunk(&mut resp, read).await {
        let room = usize::try_from(limit.saturating_sub(buf.len() as u64)).unwrap_or(usize::MAX);
        if piece.len() >= room {
            buf.extend_from_slice(&piece[..room]);
            break;
        }
        buf.extend_from_slice(&piece);
    }
    buf.freeze()
}

/// The body of `resp` as a stream, each piece awaited at most `read`, all of it by
/// `deadline` when one is set; failures become errors of `operation`.
pub(crate) fn stream(
    resp: reqwest::Response,
    read: Duration,
    deadline: Option<(Instant, Duration)>,
    operation: &'static str,
    repository: Option<String>,
    attempts: u32,
) -> BoxStream<Bytes> {
    let state = Some((resp, repository));
    Box::pin(futures_util::stream::unfold(
        state,
        move |state| async move {
            let (mut resp, repository) = state?;
            let next = match deadline {
                Some((at, after)) => tokio::time::timeout_at(at, chunk(&mut resp, read))
                    .await
                    .unwrap_or(Err(Failure::Timeout(TimeoutKind::Deadline, after))),
                None => chunk(&mut resp, read).await,
            };
            match next {
                Ok(Some(piece)) => Some((Ok(piece), Some((resp, repository)))),
                Ok(None) => None,
                Err(f) => Some((Err(f.into_error(operation, repository, attempts)), None)),
            }
        },
    ))
}

/// A buffered [`StreamingResponse`] body of one piece.
pub(crate) fn once(body: Bytes) -> BoxStream<Bytes> {
    Box::pin(futures_util::stream::once(async move { Ok(body) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeouts(read_ms: u64, write_ms: u64) -> Timeouts {
        Timeouts {
            read: Duration::from_millis(read_ms),
            write: Duration::from_millis(write_ms),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_watch_is_not_late_when_the_wait_turns_from_writing_to_reading() {
        // A long write timeout, a short read timeout: the body is handed over at 500 ms and
        // the answer never comes, so the read timeout ends the exchange at 600 ms, not at the
        // write timeout's 1 s.
        let mut watch = Watch::start(timeouts(100, 1000));
        watch.progress.writing.store(true, Ordering::Relaxed);
        let progress = Arc::clone(&watch.progress);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            progress.writing.store(false, Ordering::Relaxed);
            progress.touch();
        });
        let started = Instant::now();
        let failure = watch.wait(std::future::pending::<()>()).await.unwrap_err();
        let waited = started.elapsed();
        assert!(
            matches!(failure, Failure::Timeout(TimeoutKind::Read, d) if d == Duration::from_millis(100)),
            "{failure:?}"
        );
        assert!(
            waited >= Duration::from_millis(600) && waited < Duration::from_millis(700),
            "timed out after {waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn progress_keeps_one_watch_alive_across_its_waits() {
        // Three waits of 80 ms each under a 100 ms read timeout, each ended by progress: one
        // timer serves all three, and none of them times out although together they last
        // longer than the timeout.
        let mut watch = Watch::start(timeouts(100, 100));
        let started = Instant::now();
        for _ in 0..3 {
            watch
                .wait(tokio::time::sleep(Duration::from_millis(80)))
                .await
                .unwrap();
            watch.touch();
        }
        assert!(started.elapsed() >= Duration::from_millis(240));
        // and then silence: the next wait times out 100 ms after the last progress
        let at = Instant::now();
        let failure = watch.wait(std::future::pending::<()>()).await.unwrap_err();
        assert!(
            matches!(failure, Failure::Timeout(TimeoutKind::Read, _)),
            "{failure:?}"
        );
        let waited = at.elapsed();
        assert!(
            waited >= Duration::from_millis(100) && waited < Duration::from_millis(150),
            "timed out after {waited:?}"
        );
    }
}
