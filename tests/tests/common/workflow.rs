//! Push and pull whole images with the runtime's high-level helpers (`upload_blob`,
//! `put_manifest`, `get_manifest`, `download_blob`), reached through `client.transport()`.

use acr::Client;
use acr_runtime::blob::UploadSource;
use acr_runtime::manifest::{Manifest, ManifestKind};
use acr_runtime::{Digest, Reference, RepositoryName};
use acr_tests::transfers::{Transfers as _, UploadOptions};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt as _;

use super::image::{OCI_MANIFEST, TestImage};
use super::sha256;

/// Uploads every blob of `image` to `repo` in chunks of `chunk_size` bytes, then puts its
/// manifest under `tag`; returns the manifest digest the registry confirmed.
pub async fn push_image(
    client: &Client,
    repo: &str,
    tag: &str,
    image: &TestImage,
    chunk_size: usize,
) -> Digest {
    let name = RepositoryName::new(repo).unwrap();
    for (digest, bytes) in image.blobs() {
        let uploaded = client
            .transport()
            .upload_blob(
                &name,
                UploadSource::Bytes(bytes.clone()),
                UploadOptions::default().chunk_size(chunk_size),
            )
            .await
            .unwrap();
        assert_eq!(uploaded.digest.as_str(), digest, "upload_blob's digest");
        assert_eq!(uploaded.size, bytes.len() as u64);
    }
    client
        .transport()
        .put_manifest(
            &name,
            &Reference::new(tag).unwrap(),
            image.manifest.clone(),
            OCI_MANIFEST,
        )
        .await
        .unwrap()
}

/// A pulled image: the manifest as the registry served it and every blob it names (config
/// first), each downloaded and checked against its descriptor's digest and size.
#[derive(Debug)]
pub struct Pulled {
    /// The manifest (bytes, media type, digest).
    pub manifest: Manifest,
    /// `(digest, bytes)` of the config, then of each layer.
    pub blobs: Vec<(String, Bytes)>,
}

/// Downloads the whole blob `digest` of `repo` (the runtime verifies the digest).
pub async fn download(client: &Client, repo: &str, digest: &str) -> Bytes {
    let mut stream = client
        .transport()
        .download_blob(
            &RepositoryName::new(repo).unwrap(),
            &Digest::new(digest).unwrap(),
        )
        .await
        .unwrap();
    let mut out = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    out.freeze()
}

/// Pulls `repo:reference` (tag or digest) and every blob of it.
pub async fn pull_image(client: &Client, repo: &str, reference: &str) -> Pulled {
    let manifest = client
        .transport()
        .get_manifest(
            &RepositoryName::new(repo).unwrap(),
            &Reference::new(reference).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(manifest.digest.as_str(), sha256(&manifest.bytes));
    let ManifestKind::Image(parsed) = manifest.parse().unwrap() else {
        panic!("{repo}:{reference} is not an image manifest");
    };
    let mut blobs = Vec::new();
    for descriptor in std::iter::once(&parsed.config).chain(parsed.layers.iter()) {
        let bytes = download(client, repo, descriptor.digest.as_str()).await;
        assert_eq!(sha256(&bytes), descriptor.digest.as_str());
        assert_eq!(bytes.len() as u64, descriptor.size, "{}", descriptor.digest);
        blobs.push((descriptor.digest.to_string(), bytes));
    }
    Pulled { manifest, blobs }
}

/// Asserts that `pulled` is `image`, byte for byte.
pub fn assert_same_image(pulled: &Pulled, image: &TestImage) {
    assert_eq!(pulled.manifest.bytes, image.manifest, "manifest bytes");
    assert_eq!(pulled.manifest.digest.as_str(), image.manifest_digest());
    assert_eq!(pulled.manifest.media_type, OCI_MANIFEST);
    let expected = image.blobs();
    assert_eq!(pulled.blobs.len(), expected.len());
    for ((got_digest, got), (digest, bytes)) in pulled.blobs.iter().zip(expected.iter()) {
        assert_eq!(got_digest, digest);
        assert_eq!(got, bytes, "blob {digest} is byte-identical");
    }
}
