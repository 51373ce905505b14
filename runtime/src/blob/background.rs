//! Digests computed on tokio's blocking pool, so that SHA-256 (about 0.15 s of CPU per
//! 256 MiB with the CPU's SHA extensions, several times that without) does not run on the
//! task that moves the bytes.

use bytes::Bytes;
use tokio::sync::mpsc;

use super::Digester;

/// How many pieces may wait for the hashing thread before [`BackgroundDigester::update`]
/// waits: with HTTP bodies read in pieces of at most a few hundred KiB, a few MiB.
const QUEUE: usize = 16;

/// A [`Digester`] fed on a thread of tokio's blocking pool, through a bounded queue: the
/// task that receives a download hands each piece over and goes on receiving, and the
/// digest is ready shortly after the last piece.
///
/// Needs a tokio runtime (it spawns with `tokio::task::spawn_blocking`).
#[derive(Debug)]
pub struct BackgroundDigester {
    queue: Option<mpsc::Sender<Bytes>>,
    worker: tokio::task::JoinHandle<Digester>,
}

impl BackgroundDigester {
    /// Starts hashing with `digester` (its state so far kept).
    pub fn spawn(digester: Digester) -> Self {
        let (queue, mut pieces) = mpsc::channel::<Bytes>(QUEUE);
        let worker = tokio::task::spawn_blocking(move || {
            let mut digester = digester;
            while let Some(piece) = pieces.blocking_recv() {
                digester.update(&piece);
            }
            digester
        });
        Self {
            queue: Some(queue),
            worker,
        }
    }

    /// Hands `data` to the hashing thread, waiting while its queue is full. Returns `false`
    /// when the thread is gone (it panicked); [`BackgroundDigester::finish`] then says so.
    pub async fn update(&mut self, data: Bytes) -> bool {
        match &self.queue {
            Some(q) => q.send(data).await.is_ok(),
            None => false,
        }
    }

    /// The digest of everything handed over, as `algorithm:hex`, once the thread has hashed
    /// it all; `None` when the thread failed (a panic, or a runtime shutting down).
    pub async fn finish(mut self) -> Option<String> {
        self.queue = None;
        self.worker.await.ok().map(Digester::finish)
    }
}

/// `digester` fed with `data` on tokio's blocking pool (one piece, for example an upload
/// chunk hashed while it is on the wire); `None` if that thread failed.
pub async fn update_off_task(digester: Digester, data: Bytes) -> Option<Digester> {
    if !digester.hashes() {
        return Some(digester);
    }
    tokio::task::spawn_blocking(move || {
        let mut digester = digester;
        digester.update(&data);
        digester
    })
    .await
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Digest;

    #[tokio::test]
    async fn the_background_digest_is_the_digest_of_the_pieces_in_order() {
        let mut bg = BackgroundDigester::spawn(Digester::sha256());
        let mut all = Vec::new();
        for i in 0..100u8 {
            let piece = vec![i; 1000 + usize::from(i)];
            all.extend_from_slice(&piece);
            assert!(bg.update(Bytes::from(piece)).await);
        }
        let expected = Digest::sha256(&all).to_string();
        assert_eq!(bg.finish().await.as_deref(), Some(expected.as_str()));
        let one = update_off_task(Digester::sha256(), Bytes::from(all)).await;
        assert_eq!(one.map(Digester::finish), Some(expected));
    }

    #[tokio::test]
    async fn a_started_state_is_kept() {
        let mut start = Digester::sha256();
        start.update(b"hello ");
        let mut bg = BackgroundDigester::spawn(start);
        assert!(bg.update(Bytes::from_static(b"world")).await);
        assert_eq!(
            bg.finish().await,
            Some(Digest::sha256(b"hello world").to_string())
        );
    }
}
