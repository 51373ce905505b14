//! Manifests by tag or digest, verified ([`Transport::get_manifest`],
//! [`Transport::put_manifest`]), and the one family of manifest types ([`types`]: image
//! manifest, index, descriptor, platform, schema 1; re-exported by `acr` as
//! `acr::manifest`).
//!
//! A get sends an `Accept` list of the OCI and Docker manifest and index media types (OCI
//! distribution spec, "Pulling manifests"), refuses bodies over 4 MiB, and checks the
//! bytes against the digest (the reference when it is one, else `Docker-Content-Digest`) **in
//! that digest's algorithm** (`sha256` or `sha512`, OCI image spec "Registered algorithms").
//! A signed schema 1 manifest is checked over its JWS payload, the document without its
//! `signatures` block, as the registry computes its digest ([`types::v1_payload`]): the
//! distribution registry re-signs it on every GET, so its bytes change. A put sends the media
//! type as `Content-Type` and checks the digest the registry reports.
//! Like the blob functions, these speak the `/v2/<name>/manifests/<reference>` path
//! themselves (see [`blob`](crate::blob) for why).

pub mod types;

use bytes::Bytes;
use http::{Method, StatusCode};

use crate::{Body, Digest, Error, Reference, RepositoryName, Request, Transport};
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
                "get_manifest",
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
fn verify(op: &'static str, expected: &Digest, bytes: &[u8]) -> crate::Result<Digest> {
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

impl Transport {
    /// Gets manifest `reference` (tag or digest) of `repo`, verified.
    pub async fn get_manifest(
        &self,
        repo: &RepositoryName,
        reference: &Reference,
    ) -> crate::Result<Manifest> {
        const OP: &str = "get_manifest";
        let req = Request::new(OP, Method::GET, format!("/v2/{repo}/manifests/{reference}"))
            .header("accept", MANIFEST_ACCEPT)?
            .scope(format!("repository:{repo}:pull"))
            .repository(repo.as_str())
            .response_kind(crate::BodyKind::Manifest);
        // Buffered by the transport, within the client's manifest limit (4 MiB unless raised):
        // a connection cut while the body arrives is retried like any idempotent request.
        let resp = self.send(req).await?;
        let content_type = resp
            .header_str("content-type")
            .map(|s| s.split(';').next().unwrap_or_default().trim().to_owned());
        let reported = resp.header_str("docker-content-digest").map(str::to_owned);
        let bytes = resp.body;
        let expected = match reference.as_digest() {
            Some(d) => Some(d),
            None => reported
                .map(|r| {
                    Digest::new(r).map_err(|e| {
                        Error::invalid_response(OP, format!("Docker-Content-Digest: {e}"))
                    })
                })
                .transpose()?,
        };
        let digest = match &expected {
            Some(exp) => verify(OP, exp, &bytes)?,
            None => manifest_digest("sha256", &bytes).unwrap_or_else(|| Digest::sha256(&bytes)),
        };
        let media_type = content_type
            .filter(|c| !c.is_empty())
            .or_else(|| {
                serde_json::from_slice::<serde_json::Value>(&bytes)
                    .ok()
                    .and_then(|v| {
                        v.get("mediaType")
                            .and_then(|m| m.as_str())
                            .map(str::to_owned)
                    })
            })
            .unwrap_or_default();
        Ok(Manifest {
            media_type,
            digest,
            bytes,
        })
    }

    /// Puts `bytes` as manifest `reference` (tag or digest) of `repo` with `media_type`;
    /// returns the digest, checked against the registry's.
    pub async fn put_manifest(
        &self,
        repo: &RepositoryName,
        reference: &Reference,
        bytes: Bytes,
        media_type: &str,
    ) -> crate::Result<Digest> {
        const OP: &str = "create_manifest";
        if bytes.len() as u64 > MAX_MANIFEST_SIZE {
            return Err(Error::invalid_input(
                OP,
                format!(
                    "the manifest is larger than {MAX_MANIFEST_SIZE} bytes; registries refuse it"
                ),
            ));
        }
        // The digest in the reference's algorithm (sha256 for a tag).
        let digest = match reference.as_digest() {
            Some(d) => verify(OP, &d, &bytes)?,
            None => manifest_digest("sha256", &bytes).unwrap_or_else(|| Digest::sha256(&bytes)),
        };
        let req = Request::new(OP, Method::PUT, format!("/v2/{repo}/manifests/{reference}"))
            .body(Body::Bytes {
                content_type: media_type.to_owned(),
                data: bytes.clone(),
            })
            .scope(format!("repository:{repo}:pull,push"))
            .repository(repo.as_str());
        let resp = self.send(req).await?;
        if resp.status != StatusCode::CREATED && !resp.status.is_success() {
            return Err(Error::invalid_response(
                OP,
                format!("unexpected status {}", resp.status),
            ));
        }
        // The registry may report another algorithm than the reference's: compare in its.
        if let Some(reported) = resp.header_str("docker-content-digest") {
            let reported = Digest::new(reported)
                .map_err(|e| Error::invalid_response(OP, format!("Docker-Content-Digest: {e}")))?;
            let ours = if reported.algorithm() == digest.algorithm() {
                Some(digest.clone())
            } else {
                manifest_digest(reported.algorithm(), &bytes)
            };
            if ours.as_ref().is_some_and(|o| *o != reported) {
                return Err(Error::DigestMismatch {
                    operation: OP,
                    expected: ours.map(|o| o.to_string()).unwrap_or_default(),
                    actual: reported.to_string(),
                });
            }
        }
        Ok(digest)
    }
}
