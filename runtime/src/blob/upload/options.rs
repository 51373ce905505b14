//! What the caller sets for an upload ([`UploadOptions`]) and what it gets back ([`Uploaded`]).

use std::sync::Arc;

use crate::{Digest, RepositoryName};

/// Progress of an upload: bytes the registry has confirmed, and the total when known.
///
/// `confirmed` grows chunk by chunk; it goes back when the registry holds less than it
/// confirmed (the upload rewinds) or loses the session (the upload starts over from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes the registry confirmed holding.
    pub confirmed: u64,
    /// The blob size, when known.
    pub total: Option<u64>,
}

/// A progress callback.
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// The recovery budget when the caller sets none.
pub(crate) const DEFAULT_MAX_RESUMES: u32 = 8;

/// Options of [`Transport::upload_blob`](crate::Transport::upload_blob).
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct UploadOptions {
    /// The digest, when known in advance: enables skip-if-exists and mount, and is checked
    /// against the bytes.
    pub digest: Option<Digest>,
    /// The size in bytes, when known (for progress, and the size reported when the blob
    /// already exists; files know theirs).
    pub size: Option<u64>,
    /// A repository of the same registry to mount the blob from (needs `digest`).
    pub mount_from: Option<RepositoryName>,
    /// The chunk size in bytes (the transport's by default).
    pub chunk_size: Option<usize>,
    /// Called after each chunk the registry confirmed.
    pub progress: Option<ProgressFn>,
    /// The one recovery budget of the upload (8 when `None`): each resume from the
    /// registry's `Range`, each rewind of a seekable source and each restart in a new session
    /// takes one. When it is spent the upload fails.
    pub max_resumes: Option<u32>,
}

impl std::fmt::Debug for UploadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadOptions")
            .field("digest", &self.digest)
            .field("size", &self.size)
            .field("mount_from", &self.mount_from)
            .field("chunk_size", &self.chunk_size)
            .field("progress", &self.progress.is_some())
            .field("max_resumes", &self.max_resumes)
            .finish()
    }
}

impl UploadOptions {
    /// Sets the expected digest.
    pub fn digest(mut self, digest: Digest) -> Self {
        self.digest = Some(digest);
        self
    }

    /// Sets the size in bytes.
    pub fn size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }

    /// Mounts from `repo` when the blob is there.
    pub fn mount_from(mut self, repo: RepositoryName) -> Self {
        self.mount_from = Some(repo);
        self
    }

    /// Sets the chunk size in bytes (at least 1).
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = Some(bytes.max(1));
        self
    }

    /// Sets the progress callback.
    pub fn progress(mut self, f: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Sets the recovery budget: how many resumes, rewinds and restarts the upload may use
    /// in all (see [`UploadOptions::max_resumes`](UploadOptions#structfield.max_resumes)).
    pub fn max_resumes(mut self, n: u32) -> Self {
        self.max_resumes = Some(n);
        self
    }
}

/// How an upload reached the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UploadMethod {
    /// The blob already existed in the repository (`HEAD`): nothing was sent.
    Skipped,
    /// The registry mounted it from another repository: nothing was sent.
    Mounted,
    /// Its bytes were sent.
    Sent,
}

/// The result of [`Transport::upload_blob`](crate::Transport::upload_blob).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Uploaded {
    /// The blob's digest.
    pub digest: Digest,
    /// The blob's size in bytes.
    pub size: u64,
    /// How it got there.
    pub method: UploadMethod,
    /// Body bytes sent in all (`PATCH` and `PUT` bodies, every attempt counted in full, so a
    /// chunk cut part-way counts whole): `size` when nothing failed, more after restarts.
    pub bytes_sent: u64,
    /// Resumes and rewinds within a session.
    pub resumes: u32,
    /// New sessions started after the registry lost one.
    pub restarts: u32,
}

impl Uploaded {
    /// `bytes_sent / size` (1.0 for a clean upload, 0.0 when nothing was sent; 0.0 for an
    /// empty blob).
    pub fn sent_ratio(&self) -> f64 {
        if self.size == 0 {
            0.0
        } else {
            self.bytes_sent as f64 / self.size as f64
        }
    }
}
