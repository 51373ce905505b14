//! The blob transfers every push and pull of the CLI goes through, with a progress bar and
//! Ctrl-C handling: one place to re-point when the library grows its own progress observer.

use std::path::Path;

use acr::blob::{ExpectedSize, UploadOptions, UploadSource, Uploaded};
use acr::{Digest, RepositoryName, Transport};
use futures_util::StreamExt as _;
use indicatif::ProgressBar;
use tokio::io::AsyncWriteExt as _;

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

/// Uploads the file at `path` (its digest and size known) to `repo`, advancing `bar` by the
/// bytes the registry confirms. Ctrl-C stops it after the chunk in flight and cancels the
/// upload session.
pub async fn push_blob(
    transport: &Transport,
    repo: &RepositoryName,
    path: &Path,
    mut options: UploadOptions,
    bar: &ProgressBar,
) -> Result<Uploaded, TransferError> {
    let file = CancellableFile::open(path)
        .await
        .map_err(|e| TransferError::Local(format!("cannot read {}: {e}", path.display())))?;
    let start = bar.position();
    let b = bar.clone();
    options.progress = None;
    let options = options.progress(move |p| b.set_position(start + p.confirmed));
    let size = options.size;
    let result = transport
        .upload_blob(repo, UploadSource::seekable(file), options)
        .await;
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
    transport: &Transport,
    repo: &RepositoryName,
    digest: &Digest,
    expected: ExpectedSize,
    path: &Path,
    bar: &ProgressBar,
) -> Result<u64, TransferError> {
    let local = |what: &str, e: std::io::Error| TransferError::Local(format!("{what}: {e}"));
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => std::path::PathBuf::from("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".acr-pull-")
        .tempfile_in(&dir)
        .map_err(|e| local(&format!("cannot create a file in {}", dir.display()), e))?;
    let file = tmp
        .reopen()
        .map_err(|e| local("cannot open the temporary file", e))?;
    let mut file = tokio::io::BufWriter::with_capacity(1 << 20, tokio::fs::File::from_std(file));
    let mut stream = transport
        .download_blob(repo, digest)
        .await
        .map_err(TransferError::Acr)?;
    let limit = match expected {
        ExpectedSize::Exactly(n) | ExpectedSize::AtMost(n) => n,
    };
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(TransferError::Acr)?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(TransferError::Local(format!(
                "blob {digest} is larger than the {limit} bytes expected; refused"
            )));
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| local("cannot write the temporary file", e))?;
        bar.inc(chunk.len() as u64);
    }
    if let ExpectedSize::Exactly(n) = expected
        && n != size
    {
        return Err(TransferError::Local(format!(
            "blob {digest} has {size} bytes, not the {n} expected"
        )));
    }
    file.flush()
        .await
        .map_err(|e| local("cannot write the temporary file", e))?;
    file.get_ref()
        .sync_all()
        .await
        .map_err(|e| local("cannot sync the temporary file", e))?;
    drop(file);
    tmp.persist(path).map_err(|e| {
        local(
            &format!("cannot move the download to {}", path.display()),
            e.error,
        )
    })?;
    Ok(size)
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
