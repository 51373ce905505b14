//! Content discovery beyond single operations (hand-written, built on the generated ones): the
//! referrers of a manifest, on registries with the referrers API and on those without it.
//!
//! The OCI distribution specification v1.1.0 ("Listing Referrers", "Unavailable Referrers
//! API", "Referrers Tag Schema") has a client ask `GET /v2/<name>/referrers/<digest>`
//! ([`Client::get_referrers`]) and, when the registry answers 404, read the image index tagged
//! `<alg>-<encoded>` instead ([`referrers_tag`]); when that tag holds no valid index either,
//! there are no referrers. [`Client::referrers`] does both.

use std::future::IntoFuture;
use std::pin::Pin;

use futures_util::StreamExt as _;

use crate::manifest::{Descriptor, ImageIndex};
use crate::{Client, Digest, Error, RepositoryName};

/// The tag under which a registry without the referrers API keeps the referrers of `subject`:
/// the digest's algorithm truncated to 32 characters, `-`, and its encoded part truncated to 64
/// characters, with any character a tag may not hold replaced by `-` (OCI distribution spec
/// v1.1.0, "Referrers Tag Schema"). `sha256:abc…` gives `sha256-abc…`.
pub fn referrers_tag(subject: &Digest) -> String {
    let text = subject.as_str();
    let (algorithm, encoded) = text.split_once(':').unwrap_or((text, ""));
    let clean = |s: &str, max: usize| -> String {
        s.chars()
            .take(max)
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    };
    format!("{}-{}", clean(algorithm, 32), clean(encoded, 64))
}

/// Where a list of referrers came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReferrersSource {
    /// The registry's referrers API (`GET /v2/<name>/referrers/<digest>`).
    Api,
    /// The image index tagged by the referrers tag schema: the registry has no referrers API.
    TagSchema,
    /// Neither: the registry has no referrers API and no index under the referrers tag, so the
    /// manifest has no referrers (OCI distribution spec v1.1.0, "Unavailable Referrers API").
    None,
}

/// The referrers of a manifest: what [`Client::referrers`] returns.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Referrers {
    /// The descriptors of the manifests whose `subject` is the manifest asked about, filtered
    /// by artifact type when one was given.
    pub manifests: Vec<Descriptor>,
    /// Where they came from.
    pub source: ReferrersSource,
}

/// The request of [`Client::referrers`]: set the artifact type filter if wanted, then `.await`.
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until it is awaited"]
pub struct ReferrersRequest {
    client: Client,
    repository: Result<RepositoryName, String>,
    subject: Result<Digest, String>,
    artifact_type: Option<String>,
}

impl ReferrersRequest {
    /// Only referrers whose artifact type is `artifact_type`. A registry that cannot filter
    /// answers them all; the filter is then applied here, so the result is filtered either way.
    pub fn artifact_type(mut self, artifact_type: impl Into<String>) -> Self {
        self.artifact_type = Some(artifact_type.into());
        self
    }

    /// Asks the referrers API, following its pages, and falls back to the referrers tag schema
    /// when the registry answers 404.
    ///
    /// # Errors
    ///
    /// A bad repository name or digest ([`Error`] before any request); any failure of the
    /// referrers API other than 404, or of reading the referrers tag other than 404.
    pub async fn send(self) -> Result<Referrers, Error> {
        const OPERATION: &str = "referrers";
        let Self {
            client,
            repository,
            subject,
            artifact_type,
        } = self;
        let repository = repository.map_err(|e| Error::invalid_input(OPERATION, e))?;
        let subject = subject.map_err(|e| Error::invalid_input(OPERATION, e))?;
        let mut request = client.get_referrers(&repository, &subject);
        if let Some(t) = &artifact_type {
            request = request.artifact_type(t.clone());
        }
        let mut stream = request.into_stream();
        let mut manifests = Vec::new();
        let mut source = ReferrersSource::Api;
        while let Some(item) = stream.next().await {
            match item {
                Ok(d) => manifests.push(d),
                Err(e) if manifests.is_empty() && e.is_not_found() => {
                    // No referrers API: the result's `source` says the tag schema was read.
                    (manifests, source) = via_tag_schema(&client, &repository, &subject).await?;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        if let Some(t) = &artifact_type {
            manifests.retain(|d| d.artifact_type.as_deref() == Some(t.as_str()));
        }
        Ok(Referrers { manifests, source })
    }
}

/// The index tagged by the referrers tag schema, or nothing when there is none or it is not an
/// image index.
async fn via_tag_schema(
    client: &Client,
    repository: &RepositoryName,
    subject: &Digest,
) -> Result<(Vec<Descriptor>, ReferrersSource), Error> {
    let tag = referrers_tag(subject);
    match client
        .get_manifest(repository, tag.as_str())
        .accept("application/vnd.oci.image.index.v1+json")
        .await
    {
        Ok(response) => match serde_json::from_slice::<ImageIndex>(&response.body) {
            Ok(index) => Ok((index.manifests, ReferrersSource::TagSchema)),
            // Not an image index: no referrers (OCI distribution spec v1.1.0).
            Err(_) => Ok((Vec::new(), ReferrersSource::None)),
        },
        Err(e) if e.is_not_found() => Ok((Vec::new(), ReferrersSource::None)),
        Err(e) => Err(e),
    }
}

impl IntoFuture for ReferrersRequest {
    type Output = Result<Referrers, Error>;
    type IntoFuture = Pin<Box<dyn std::future::Future<Output = Self::Output> + Send>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

impl Client {
    /// The referrers of the manifest `subject` in `repository`: the manifests whose `subject`
    /// field points at it (signatures, SBOMs, attestations), from the registry's referrers API,
    /// or, on a registry without it, from the index under the referrers tag schema
    /// ([`referrers_tag`]), as the OCI distribution spec v1.1.0 requires of clients.
    ///
    /// Set `.artifact_type(..)` to filter, then `.await`. The raw single operation is
    /// [`Client::get_referrers`].
    pub fn referrers(
        &self,
        repository: impl TryInto<RepositoryName, Error: std::fmt::Display>,
        subject: impl TryInto<Digest, Error: std::fmt::Display>,
    ) -> ReferrersRequest {
        ReferrersRequest {
            client: self.clone(),
            repository: repository.try_into().map_err(|e| e.to_string()),
            subject: subject.try_into().map_err(|e| e.to_string()),
            artifact_type: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referrers_tags_follow_the_schema() {
        let hex = "a".repeat(64);
        let d = Digest::try_from(format!("sha256:{hex}")).expect("digest");
        assert_eq!(referrers_tag(&d), format!("sha256-{hex}"));
        let long = "b".repeat(128);
        let d = Digest::try_from(format!("sha512:{long}")).expect("digest");
        assert_eq!(referrers_tag(&d), format!("sha512-{}", "b".repeat(64)));
    }
}
