//! The blob and manifest transfers the image workflows of `copy_image` and in-memory pushes
//! stand on, in one place: today the runtime's verified, resumable transfers reached through
//! [`Client::transport`]; when the client gains its own blob and manifest builders, these
//! helpers are re-pointed and the workflows stay as they are.

use crate::blob::{BlobInfo, BlobStream, UploadOptions, UploadSource, Uploaded};
use crate::manifest::Manifest;
use crate::{Client, Digest, Error, Reference, RepositoryName};

/// Manifest `reference` of `repository`, verified against its digest.
pub(super) async fn get_manifest(
    client: &Client,
    repository: &RepositoryName,
    reference: &Reference,
) -> Result<Manifest, Error> {
    client.transport().get_manifest(repository, reference).await
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
        .transport()
        .put_manifest(repository, reference, bytes, media_type)
        .await
}

/// Whether blob `digest` is in `repository` (`None`: it is not).
pub(super) async fn blob_exists(
    client: &Client,
    repository: &RepositoryName,
    digest: &Digest,
) -> Result<Option<BlobInfo>, Error> {
    client.transport().blob_exists(repository, digest).await
}

/// Blob `digest` of `repository` as a verified, resuming stream.
pub(super) async fn download_blob(
    client: &Client,
    repository: &RepositoryName,
    digest: &Digest,
) -> Result<BlobStream, Error> {
    client.transport().download_blob(repository, digest).await
}

/// Uploads a blob to `repository` (skipped when present, mounted when asked, else sent in
/// chunks, resumed and verified).
pub(super) async fn upload_blob(
    client: &Client,
    repository: &RepositoryName,
    source: UploadSource,
    options: UploadOptions,
) -> Result<Uploaded, Error> {
    client
        .transport()
        .upload_blob(repository, source, options)
        .await
}
