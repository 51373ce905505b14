//! Manifests by tag or digest, verified ([`Transport::get_manifest`],
//! [`Transport::put_manifest`]).
//!
//! A get sends the `Accept` list of acr-wire §2.1, refuses bodies over 4 MiB, and checks the
//! bytes against the digest (the reference when it is one, else `Docker-Content-Digest`).
//! A put sends the media type as `Content-Type` and checks the digest the registry reports.
//! Like the blob functions, these speak the `/v2/<name>/manifests/<reference>` path
//! themselves (see [`blob`](crate::blob) for why).

pub mod types;

use bytes::Bytes;
use http::{Method, StatusCode};

use crate::{Body, Digest, Error, Reference, RepositoryName, Request, Transport};
pub use types::{Descriptor, ImageIndex, ImageManifest, ManifestKind, Platform};

/// The largest manifest accepted, in bytes.
pub const MAX_MANIFEST_SIZE: u64 = 4 * 1024 * 1024;

/// The `Accept` header of manifest gets.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.cncf.oras.artifact.manifest.v1+json, application/vnd.docker.distribution.manifest.v1+prettyjws, application/json;q=0.5, */*;q=0.1";

/// A manifest: its exact bytes, media type and digest.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The media type (`Content-Type`, else the document's `mediaType`).
    pub media_type: String,
    /// The digest of `bytes`.
    pub digest: Digest,
    /// The bytes exactly as stored.
    pub bytes: Bytes,
}

impl Manifest {
    /// The typed view of the bytes.
    pub fn parse(&self) -> crate::Result<ManifestKind> {
        ManifestKind::parse(&self.media_type, &self.bytes).map_err(|e| {
            Error::invalid_response(
                "get_manifest",
                format!("the manifest is not valid JSON of its type: {e}"),
            )
        })
    }
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
            .repository(repo.as_str());
        let resp = self.send_streaming(req).await?;
        let content_type = resp
            .header_str("content-type")
            .map(|s| s.split(';').next().unwrap_or_default().trim().to_owned());
        let reported = resp.header_str("docker-content-digest").map(str::to_owned);
        let bytes = resp.bytes(MAX_MANIFEST_SIZE).await?;
        let actual = Digest::sha256(&bytes);
        let expected = reference.as_digest().map(|d| d.to_string()).or(reported);
        if let Some(exp) = expected {
            let actual_same_alg = if exp.starts_with("sha256:") {
                actual.to_string()
            } else {
                // another algorithm: hash with it
                let d = Digest::new(exp.clone())
                    .map_err(|e| Error::invalid_response(OP, e.to_string()))?;
                let mut h = crate::blob::digester_for(&d).ok_or_else(|| {
                    Error::invalid_response(
                        OP,
                        format!("unsupported digest algorithm {}", d.algorithm()),
                    )
                })?;
                h.update(&bytes);
                h.finish()
            };
            if actual_same_alg != exp {
                return Err(Error::DigestMismatch {
                    operation: OP,
                    expected: exp,
                    actual: actual_same_alg,
                });
            }
        }
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
            digest: actual,
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
        let digest = Digest::sha256(&bytes);
        if let Some(d) = reference.as_digest()
            && d != digest
        {
            return Err(Error::DigestMismatch {
                operation: OP,
                expected: d.to_string(),
                actual: digest.to_string(),
            });
        }
        let req = Request::new(OP, Method::PUT, format!("/v2/{repo}/manifests/{reference}"))
            .body(Body::Bytes {
                content_type: media_type.to_owned(),
                data: bytes,
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
        if let Some(reported) = resp.header_str("docker-content-digest")
            && reported != digest.as_str()
        {
            return Err(Error::DigestMismatch {
                operation: OP,
                expected: digest.to_string(),
                actual: reported.to_owned(),
            });
        }
        Ok(digest)
    }
}
