//! Manifests: the one family of manifest types ([`types`]: image manifest, index, descriptor,
//! platform, schema 1; re-exported by `acr` as `acr::manifest`), and their verification, which
//! the `acr` crate's `Client::pull_manifest` and `Client::push_manifest` are composed of.
//!
//! A pull sends an `Accept` list of the OCI and Docker manifest and index media types (OCI
//! distribution spec, "Pulling manifests"), refuses bodies over 4 MiB, and checks the
//! bytes against the digest (the reference when it is one, else `Docker-Content-Digest`) **in
//! that digest's algorithm** (`sha256` or `sha512`, OCI image spec "Registered algorithms").
//! A signed schema 1 manifest is checked over its JWS payload, the document without its
//! `signatures` block, as the registry computes its digest ([`types::v1_payload`]): the
//! distribution registry re-signs it on every GET, so its bytes change. A put sends the media
//! type as `Content-Type` and checks the digest the registry reports.

pub mod types;

use bytes::Bytes;

use crate::{Digest, Error};
pub use types::*;

/// The largest manifest accepted, in bytes.
pub const MAX_MANIFEST_SIZE: u64 = 4 * 1024 * 1024;

/// The `Accept` header of manifest gets.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.cncf.oras.artifact.manifest.v1+json, application/vnd.docker.distribution.manifest.v1+prettyjws, application/json;q=0.5, */*;q=0.1";

/// A manifest: its exact bytes, media type and digest.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The media type (`Content-Type`, else the document's `mediaType`).
    pub media_type: String,
    /// The digest of `bytes` (of the JWS payload for a signed schema 1 manifest), in the
    /// algorithm of the digest it was fetched or checked by (`sha256` when none).
    pub digest: Digest,
    /// The bytes exactly as stored.
    pub bytes: Bytes,
}

impl Manifest {
    /// The typed view of the bytes.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidResponse`] when the bytes are not valid JSON of their type; the
    /// message names the JSON path of the value that does not fit (`layers[2].digest`).
    pub fn parse(&self) -> crate::Result<ManifestKind> {
        ManifestKind::parse(&self.media_type, &self.bytes).map_err(|e| {
            Error::invalid_response(
                "pull_manifest",
                format!("the manifest is not valid JSON of its type: {e}"),
            )
        })
    }
}

/// The digest of manifest `bytes` in `algorithm`: over the bytes, or for a signed schema 1
/// manifest over its JWS payload ([`v1_payload`]). `None` for an algorithm
/// [`Digest::compute`] does not know.
pub fn manifest_digest(algorithm: &str, bytes: &[u8]) -> Option<Digest> {
    match v1_payload(bytes) {
        Some(payload) => Digest::compute(algorithm, &payload),
        None => Digest::compute(algorithm, bytes),
    }
}

/// Checks manifest `bytes` against `expected` in its algorithm: the bytes themselves, or for
/// a signed schema 1 manifest its JWS payload. Returns the matching digest, or the error of
/// operation `op` ([`Error::DigestMismatch`], or [`Error::InvalidResponse`] for an
/// algorithm this library cannot compute).
pub fn verify(op: &'static str, expected: &Digest, bytes: &[u8]) -> crate::Result<Digest> {
    let actual = expected.recompute(bytes).ok_or_else(|| {
        Error::invalid_response(
            op,
            format!(
                "unsupported digest algorithm {} (sha256 and sha512 are)",
                expected.algorithm()
            ),
        )
    })?;
    if &actual == expected {
        return Ok(actual);
    }
    if let Some(payload) = v1_payload(bytes)
        && expected.recompute(&payload).as_ref() == Some(expected)
    {
        return Ok(expected.clone());
    }
    Err(Error::DigestMismatch {
        operation: op,
        expected: expected.to_string(),
        actual: actual.to_string(),
    })
}
