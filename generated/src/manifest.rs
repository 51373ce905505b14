//! Manifests: the one family of manifest types (image manifest, index, descriptor, platform,
//! schema 1; from [`acr_runtime::manifest`]), and manifests pushed and pulled verified against
//! their digest (hand-written, composed of the generated `get_manifest` and
//! `create_manifest`): [`Client::pull_manifest`](crate::Client::pull_manifest) and
//! [`Client::push_manifest`](crate::Client::push_manifest).
//!
//! A pull sends an `Accept` list of the OCI and Docker manifest and index media types
//! ([`MANIFEST_ACCEPT`]; OCI distribution spec v1.1, "Pulling manifests"), reads at most the
//! client's manifest limit (4 MiB unless raised; a connection cut while the body arrives is
//! retried), and checks the bytes against the digest (the reference when it is one, else
//! `Docker-Content-Digest`) **in that digest's algorithm** (`sha256` or `sha512`, OCI image
//! spec "Registered algorithms"); a signed schema 1 manifest is checked over its JWS payload.
//! A push refuses a manifest over 4 MiB, computes the digest of the bytes (in the reference's
//! algorithm when it is a digest, which must match), sends the media type as `Content-Type`
//! and checks the digest the registry reports.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

pub use acr_runtime::manifest::*;
use bytes::Bytes;

use crate::operations::{create_manifest, get_manifest};
use crate::{Client, Digest, Error, Reference, RepositoryName};

/// The request of [`Client::pull_manifest`]: `.await` it for a verified [`Manifest`].
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until it is awaited"]
pub struct PullManifest {
    client: Client,
    repository: Result<RepositoryName, String>,
    reference: Result<Reference, String>,
}

/// The request of [`Client::push_manifest`]: `.await` it for the manifest's digest.
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until it is awaited"]
pub struct PushManifest {
    client: Client,
    repository: Result<RepositoryName, String>,
    reference: Result<Reference, String>,
    bytes: Bytes,
    media_type: String,
}

impl Client {
    /// Pulls manifest `reference` (a tag or a digest) of `repository`, verified against its
    /// digest (see the [module docs](crate::manifest)). `.await` a [`Manifest`]: its exact
    /// bytes, media type and digest; [`Manifest::parse`] gives the typed view.
    #[doc(alias = "download_manifest")]
    pub fn pull_manifest(
        &self,
        repository: impl TryInto<RepositoryName, Error: std::fmt::Display>,
        reference: impl TryInto<Reference, Error: std::fmt::Display>,
    ) -> PullManifest {
        PullManifest {
            client: self.clone(),
            repository: repository.try_into().map_err(|e| e.to_string()),
            reference: reference.try_into().map_err(|e| e.to_string()),
        }
    }

    /// Pushes `bytes` as manifest `reference` (a tag or a digest) of `repository` with
    /// `media_type`, checking the digest the registry reports against the bytes' (see the
    /// [module docs](crate::manifest)). `.await` the digest.
    #[doc(alias = "upload_manifest")]
    pub fn push_manifest(
        &self,
        repository: impl TryInto<RepositoryName, Error: std::fmt::Display>,
        reference: impl TryInto<Reference, Error: std::fmt::Display>,
        bytes: impl Into<Bytes>,
        media_type: impl Into<String>,
    ) -> PushManifest {
        PushManifest {
            client: self.clone(),
            repository: repository.try_into().map_err(|e| e.to_string()),
            reference: reference.try_into().map_err(|e| e.to_string()),
            bytes: bytes.into(),
            media_type: media_type.into(),
        }
    }
}

impl PullManifest {
    /// Pulls the manifest; awaiting the request does the same.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a bad repository name or reference;
    /// [`Error::DigestMismatch`] when the bytes are not the digest's;
    /// [`Error::InvalidResponse`] for an algorithm this library cannot compute or an unusable
    /// `Docker-Content-Digest`; [`Error::TooLarge`] over the manifest limit; the errors of
    /// `get_manifest` (a 404 among them).
    pub async fn send(self) -> crate::Result<Manifest> {
        let op = get_manifest::OPERATION;
        let repo = self.repository.map_err(|e| Error::invalid_input(op, e))?;
        let reference = self.reference.map_err(|e| Error::invalid_input(op, e))?;
        let resp = self
            .client
            .get_manifest(&repo, &reference)
            .accept(MANIFEST_ACCEPT)
            .await?;
        let content_type = resp
            .content_type
            .map(|s| s.split(';').next().unwrap_or_default().trim().to_owned());
        let bytes = resp.body;
        let expected = reference.as_digest().or(resp.docker_content_digest);
        let digest = match &expected {
            Some(exp) => verify(op, exp, &bytes)?,
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
}

impl IntoFuture for PullManifest {
    type Output = crate::Result<Manifest>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

impl PushManifest {
    /// Pushes the manifest; awaiting the request does the same. Returns the digest.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a bad repository name or reference, a manifest over 4 MiB,
    /// or a digest reference the bytes do not match; [`Error::DigestMismatch`] when the
    /// registry reports another digest; [`Error::InvalidResponse`] for an unexpected status or
    /// an unusable `Docker-Content-Digest`; the errors of `create_manifest`.
    pub async fn send(self) -> crate::Result<Digest> {
        let op = create_manifest::OPERATION;
        let repo = self.repository.map_err(|e| Error::invalid_input(op, e))?;
        let reference = self.reference.map_err(|e| Error::invalid_input(op, e))?;
        let bytes = self.bytes;
        if bytes.len() as u64 > MAX_MANIFEST_SIZE {
            return Err(Error::invalid_input(
                op,
                format!(
                    "the manifest is larger than {MAX_MANIFEST_SIZE} bytes; registries refuse it"
                ),
            ));
        }
        // The digest in the reference's algorithm (sha256 for a tag).
        let digest = match reference.as_digest() {
            Some(d) => verify(op, &d, &bytes)?,
            None => manifest_digest("sha256", &bytes).unwrap_or_else(|| Digest::sha256(&bytes)),
        };
        let resp = self
            .client
            .create_manifest(&repo, &reference, bytes.clone(), self.media_type)
            .await?;
        if !(200..300).contains(&resp.status) {
            return Err(Error::invalid_response(
                op,
                format!("unexpected status {}", resp.status),
            ));
        }
        // The registry may report another algorithm than the reference's: compare in its.
        if let Some(reported) = resp.docker_content_digest {
            let ours = if reported.algorithm() == digest.algorithm() {
                Some(digest.clone())
            } else {
                manifest_digest(reported.algorithm(), &bytes)
            };
            if ours.as_ref().is_some_and(|o| *o != reported) {
                return Err(Error::DigestMismatch {
                    operation: op,
                    expected: ours.map(|o| o.to_string()).unwrap_or_default(),
                    actual: reported.to_string(),
                });
            }
        }
        Ok(digest)
    }
}

impl IntoFuture for PushManifest {
    type Output = crate::Result<Digest>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
