//! The blob and manifest transfers the image workflows of `copy_image` and in-memory pushes
//! stand on, in one place: the client's verified, resumable blob and manifest methods
//! ([`Client::push_blob`], [`Client::pull_blob`], [`Client::push_manifest`],
//! [`Client::pull_manifest`]), composed of the generated operations.

use crate::blob::{BlobStream, UploadSource, Uploaded};
use crate::manifest::Manifest;
use crate::progress::OnProgress;
use crate::{Client, Digest, Error, Reference, RepositoryName};

/// What an image workflow sets on a blob push: each field a setter of [`Client::push_blob`].
#[derive(Debug, Clone, Default)]
pub(super) struct UploadOptions {
    digest: Option<Digest>,
    size: Option<u64>,
    mount_from: Option<RepositoryName>,
    progress: Option<OnProgress>,
}

impl UploadOptions {
    /// `.digest(..)`.
    pub(super) fn digest(mut self, digest: Digest) -> Self {
        self.digest = Some(digest);
        self
    }

    /// `.size(..)`.
    pub(super) fn size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }

    /// `.mount_from(..)`.
    pub(super) fn mount_from(mut self, repository: RepositoryName) -> Self {
        self.mount_from = Some(repository);
        self
    }

    /// `.progress(..)`, when there is an observer.
    pub(super) fn progress(mut self, observer: Option<&OnProgress>) -> Self {
        self.progress = observer.cloned();
        self
    }
}

/// What the registry says of a blob it has.
#[derive(Debug, Clone, Copy)]
pub(super) struct BlobInfo {
    /// Its size in bytes, when the registry stated it.
    #[allow(dead_code)]
    pub(super) size: Option<u64>,
}

/// Manifest `reference` of `repository`, verified against its digest.
pub(super) async fn get_manifest(
    client: &Client,
    repository: &RepositoryName,
    reference: &Reference,
) -> Result<Manifest, Error> {
    client.pull_manifest(repository, reference).await
}

/// Puts `bytes` of `media_type` as manifest `reference` of `repository`; the digest the
/// registry reports is checked against the bytes.
pub(super) async fn put_manifest(
    client: &Client,
    repository: &RepositoryName,
    reference: &Reference,
    bytes: acr_runtime::bytes::Bytes,
    media_type: &str,
) -> Result<Digest, Error> {
    client
        .push_manifest(repository, reference, bytes, media_type)
        .await
}

/// Whether blob `digest` is in `repository` (`None`: it is not).
pub(super) async fn blob_exists(
    client: &Client,
    repository: &RepositoryName,
    digest: &Digest,
) -> Result<Option<BlobInfo>, Error> {
    match client.check_blob_exists(repository, digest).await {
        Ok(r) => Ok(Some(BlobInfo {
            size: r.content_length,
        })),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Blob `digest` of `repository` as a verified, resuming stream.
pub(super) async fn download_blob(
    client: &Client,
    repository: &RepositoryName,
    digest: &Digest,
) -> Result<BlobStream, Error> {
    client.pull_blob(repository, digest).await
}

/// Uploads a blob to `repository` (skipped when present, mounted when asked, else sent in
/// chunks, resumed and verified).
pub(super) async fn upload_blob(
    client: &Client,
    repository: &RepositoryName,
    source: UploadSource,
    options: UploadOptions,
) -> Result<Uploaded, Error> {
    let mut push = client.push_blob(repository, source);
    if let Some(d) = options.digest {
        push = push.digest(d);
    }
    if let Some(n) = options.size {
        push = push.size(n);
    }
    if let Some(r) = options.mount_from {
        push = push.mount_from(r);
    }
    if let Some(p) = options.progress {
        push = push.progress(p);
    }
    push.await
}
