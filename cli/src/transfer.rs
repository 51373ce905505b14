//! The blob transfers every push and pull of the CLI goes through, with a progress bar and
//! Ctrl-C handling. A push advances its bar from the library's progress observer
//! (`acr::progress`); a pull counts the bytes it writes.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use acr::blob::{ExpectedSize, UploadSource, Uploaded};
use acr::{Client, Digest, RepositoryName};
use indicatif::ProgressBar;

use crate::cancel::{self, CancellableFile};
use crate::failure::Failure;

/// Why a transfer failed: the library's error, or a local one (the message says what).
#[derive(Debug)]
pub enum TransferError {
    /// The registry or the transfer failed.
    Acr(acr::Error),
    /// A local file failed.
    Local(String),
}

/// What a blob push of the CLI sets: each field a setter of `Client::push_blob`.
#[derive(Debug, Clone, Default)]
pub struct UploadOptions {
    /// `.digest(..)`: skip and mount need it.
    pub digest: Option<Digest>,
    /// `.size(..)`.
    pub size: Option<u64>,
    /// `.chunk_size(..)`.
    pub chunk_size: Option<usize>,
    /// `.mount_from(..)`.
    pub mount_from: Option<RepositoryName>,
}

impl UploadOptions {
    /// Sets the digest.
    pub fn digest(mut self, digest: Digest) -> Self {
        self.digest = Some(digest);
        self
    }

    /// Sets the size in bytes.
    pub fn size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }
}

/// Uploads the file at `path` (its digest and size known) to `repo`, advancing `bar` by the
/// bytes the registry confirms. Ctrl-C stops it after the chunk in flight and cancels the
/// upload session.
pub async fn push_blob(
    client: &Client,
    repo: &RepositoryName,
    path: &Path,
    options: UploadOptions,
    bar: &ProgressBar,
) -> Result<Uploaded, TransferError> {
    push_blob_until(client, repo, path, options, bar, None).await
}

/// [`push_blob`], which also stops after the chunk in flight (its session cancelled) once
/// `stop` is set.
pub async fn push_blob_until(
    client: &Client,
    repo: &RepositoryName,
    path: &Path,
    options: UploadOptions,
    bar: &ProgressBar,
    stop: Option<Arc<AtomicBool>>,
) -> Result<Uploaded, TransferError> {
    let mut file = CancellableFile::open(path)
        .await
        .map_err(|e| TransferError::Local(format!("cannot read {}: {e}", path.display())))?;
    if let Some(stop) = stop {
        file = file.stop_when(stop);
    }
    let start = bar.position();
    let b = bar.clone();
    let size = options.size;
    let mut push = client
        .push_blob(repo, UploadSource::seekable(file))
        .progress(move |p: acr::progress::Progress| b.set_position(start + p.bytes));
    if let Some(d) = options.digest {
        push = push.digest(d);
    }
    if let Some(n) = options.size {
        push = push.size(n);
    }
    if let Some(n) = options.chunk_size {
        push = push.chunk_size(n);
    }
    if let Some(r) = options.mount_from {
        push = push.mount_from(r);
    }
    let result = push.await;
    match result {
        Ok(u) => {
            // Skipped and mounted blobs report no chunk: count them whole.
            bar.set_position(start + size.unwrap_or(u.size));
            Ok(u)
        }
        Err(e) => Err(TransferError::Acr(e)),
    }
}

/// Downloads blob `digest` of `repo` to `path`, verified, through a temporary file beside it
/// renamed into place: on any failure, or when the future is dropped (Ctrl-C), no file is left.
/// `expected` bounds the bytes written. Advances `bar` by the bytes received.
pub async fn pull_blob(
    client: &Client,
    repo: &RepositoryName,
    digest: &Digest,
    expected: ExpectedSize,
    path: &Path,
    bar: &ProgressBar,
) -> Result<u64, TransferError> {
    let start = bar.position();
    let b = bar.clone();
    client
        .pull_blob(repo, digest)
        .expected_size(expected)
        .progress(move |p: acr::progress::Progress| b.set_position(start + p.bytes))
        .to_file(path)
        .await
        .map_err(TransferError::Acr)
}

impl TransferError {
    /// The failure of `what` that this error means: an interruption (exit 130, saying whether
    /// the upload session was cancelled) after Ctrl-C, else the error's own exit code.
    pub fn into_failure(self, what: impl std::fmt::Display) -> Failure {
        if cancel::interrupted() {
            let note = match &self {
                TransferError::Acr(acr::Error::Upload {
                    cancelled: true, ..
                }) => "; the upload session was cancelled",
                TransferError::Acr(acr::Error::Upload {
                    cancelled: false, ..
                }) => "; the registry did not confirm cancelling the upload session",
                _ => "",
            };
            return Failure::plain(
                format!("{what}: {}{note}", cancel::MESSAGE),
                cancel::EXIT_INTERRUPTED,
            );
        }
        match self {
            TransferError::Acr(e) => Failure::from_error(what, &e),
            TransferError::Local(message) => Failure::failed(format!("{what}: {message}")),
        }
    }
}
