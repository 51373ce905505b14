//! Ctrl-C: what an interrupted command leaves behind.
//!
//! While a blob upload runs (`blob push`, `image push`), the first Ctrl-C makes the file being
//! uploaded fail its next read: the upload stops after the chunk in flight, the library cancels
//! the upload session (`DELETE <Location>`, OCI distribution spec "Canceling an upload") and the
//! command exits with [`EXIT_INTERRUPTED`]. A second Ctrl-C, or the first one while nothing is
//! uploading, ends the command at once: its futures are dropped, which removes the temporary
//! files and folders of a pull (nothing partial is left at the destination).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncSeek, ReadBuf};

/// Exit code of a command interrupted by Ctrl-C (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static UPLOADS: AtomicUsize = AtomicUsize::new(0);

/// Whether Ctrl-C was pressed.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Records a Ctrl-C; returns whether an upload is running that will stop cleanly on its own.
pub fn interrupt() -> bool {
    INTERRUPTED.store(true, Ordering::SeqCst);
    UPLOADS.load(Ordering::SeqCst) > 0
}

/// The message of an upload stopped by Ctrl-C.
pub const MESSAGE: &str = "interrupted (Ctrl-C)";

/// A file to upload that fails its next read once Ctrl-C was pressed, so that the upload stops
/// and its session is cancelled by the library. While one exists, the first Ctrl-C waits for it.
#[derive(Debug)]
pub struct CancellableFile {
    file: tokio::fs::File,
    /// A stop of this upload alone (see [`CancellableFile::stop_when`]).
    stop: Option<Arc<AtomicBool>>,
}

/// The message of an upload stopped because the registry turned out to have the blob.
pub const STOPPED: &str = "stopped: the registry has the blob";

impl CancellableFile {
    /// Opens `path`.
    pub async fn open(path: &std::path::Path) -> io::Result<Self> {
        let file = tokio::fs::File::open(path).await?;
        UPLOADS.fetch_add(1, Ordering::SeqCst);
        Ok(Self { file, stop: None })
    }

    /// Also fails the next read once `stop` is set, as Ctrl-C does, for this file only: the
    /// upload stops after the chunk in flight and its session is cancelled.
    pub fn stop_when(mut self, stop: Arc<AtomicBool>) -> Self {
        self.stop = Some(stop);
        self
    }
}

impl Drop for CancellableFile {
    fn drop(&mut self) {
        UPLOADS.fetch_sub(1, Ordering::SeqCst);
    }
}

impl AsyncRead for CancellableFile {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if interrupted() {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::Interrupted, MESSAGE)));
        }
        if self.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst)) {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::Interrupted, STOPPED)));
        }
        Pin::new(&mut self.file).poll_read(cx, buf)
    }
}

impl AsyncSeek for CancellableFile {
    fn start_seek(mut self: Pin<&mut Self>, position: io::SeekFrom) -> io::Result<()> {
        Pin::new(&mut self.file).start_seek(position)
    }

    fn poll_complete(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        Pin::new(&mut self.file).poll_complete(cx)
    }
}
