//! The endpoints of `spec/oci-distribution.lap` (tag list, catalog, referrers), generated into
//! the same `Client` as the ACR spec, against the real registry and the ACR emulator:
//!
//! * Debian's `docker-registry` (distribution 2.8): tag list and catalog in pages (`n` and the
//!   `Link` header), and referrers through the **tag schema fallback**: distribution 2.8 has no
//!   referrers API, so `Client::referrers` reads the index tagged `<alg>-<encoded>`;
//! * the emulator, which serves the referrers API as ACR does (`OCI-Filters-Applied`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use acr::Client;
use acr::discovery::{ReferrersSource, referrers_tag};
use acr_tests::registry::Flavour;
use bytes::Bytes;
use common::image::{OCI_MANIFEST, TestImage};
use common::workflow::push_image;
use common::{emulator_client, registry_client, sha256, start_emulator, start_registry};
use futures_util::TryStreamExt as _;
use serde_json::json;

const SBOM: &str = "application/vnd.example.sbom.v1";
const SIGNATURE: &str = "application/vnd.example.signature.v1";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const EMPTY_CONFIG: &str = "application/vnd.oci.empty.v1+json";

/// Pushes the empty config blob `{}` to `repo` (artifacts refer to it).
async fn push_empty_config(client: &Client, repo: &str) -> String {
    let empty = Bytes::from_static(b"{}");
    let digest = sha256(&empty);
    let started = client.start_upload(repo).await.unwrap();
    let location = started.location.expect("Location");
    client
        .complete_upload(location, digest.as_str())
        .value(empty)
        .await
        .unwrap();
    digest
}

/// An artifact manifest of `artifact_type` whose subject is `subject` (a manifest of `size`
/// bytes); returns its bytes and digest.
fn artifact(artifact_type: &str, subject: &str, size: usize, config: &str) -> (Bytes, String) {
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": EMPTY_CONFIG, "digest": config, "size": 2},
        "layers": [{"mediaType": EMPTY_CONFIG, "digest": config, "size": 2}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": size},
        "annotations": {"org.example.kind": artifact_type},
    });
    let bytes = Bytes::from(serde_json::to_vec(&manifest).unwrap());
    let digest = sha256(&bytes);
    (bytes, digest)
}

/// Pushes an image and two artifacts that refer to it; returns the subject's digest and the
/// artifacts' `(bytes, digest)`.
async fn image_with_referrers(
    client: &Client,
    repo: &str,
) -> (String, Vec<(String, Bytes, String)>) {
    let image = TestImage::new(&format!("{repo}/image"), &[300, 500]);
    let subject = push_image(client, repo, "v1", &image, 1 << 20).await;
    let config = push_empty_config(client, repo).await;
    let mut artifacts = Vec::new();
    for t in [SBOM, SIGNATURE] {
        let (bytes, digest) = artifact(t, subject.as_str(), image.manifest.len(), &config);
        client
            .create_manifest(repo, digest.as_str(), bytes.clone(), OCI_MANIFEST)
            .await
            .unwrap();
        artifacts.push((t.to_owned(), bytes, digest));
    }
    (subject.as_str().to_owned(), artifacts)
}

/// Tags `v1`..`v5` listed through pages of two. `pages_tags`: whether the server honours `n`
/// on the tag list (distribution 2.8 does not: it answers every tag, unsorted, in one page;
/// the specification lets a registry answer fewer or all).
async fn tags_and_catalog(client: &Client, repo: &str, label: &str, pages_tags: bool) {
    let image = TestImage::new(&format!("{repo}/tags"), &[100]);
    for tag in ["v1", "v2", "v3", "v4", "v5"] {
        push_image(client, repo, tag, &image, 1 << 20).await;
    }
    let first = client.list_tags(repo).n(2).await.unwrap();
    assert_eq!(first.status, 200, "{label}");
    if pages_tags {
        assert_eq!(
            first.body.tags.clone().unwrap_or_default(),
            ["v1", "v2"],
            "{label}: one page of two"
        );
        assert!(first.link.is_some(), "{label}: a Link to the next page");
    }
    let mut all: Vec<String> = client
        .list_tags(repo)
        .n(2)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    if !pages_tags {
        all.sort();
    }
    assert_eq!(all, ["v1", "v2", "v3", "v4", "v5"], "{label}: every page");

    let repos: Vec<String> = client
        .list_repositories()
        .n(1)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert!(
        repos.iter().any(|r| r == repo),
        "{label}: the catalog lists {repo}: {repos:?}"
    );
    let mut sorted = repos.clone();
    sorted.sort();
    assert_eq!(repos, sorted, "{label}: the catalog is in lexical order");
}

#[tokio::test]
async fn tag_list_and_catalog_on_the_real_registry() {
    let Some(registry) = start_registry(Flavour::Open).await else {
        return;
    };
    tags_and_catalog(
        &registry_client(&registry),
        "discovery/tags",
        "docker-registry",
        false,
    )
    .await;
}

#[tokio::test]
async fn tag_list_and_catalog_on_the_emulator() {
    let emulator = start_emulator().await;
    tags_and_catalog(
        &emulator_client(&emulator),
        "discovery/tags",
        "emulator",
        true,
    )
    .await;
}

#[tokio::test]
async fn referrers_through_the_api_on_the_emulator() {
    let emulator = start_emulator().await;
    let client = emulator_client(&emulator);
    let repo = "discovery/api";
    let (subject, artifacts) = image_with_referrers(&client, repo).await;

    // The raw operation: an image index of both.
    let page = client.get_referrers(repo, subject.as_str()).await.unwrap();
    let listed = page.body.manifests.clone();
    let mut digests: Vec<String> = listed.iter().map(|d| d.digest.to_string()).collect();
    digests.sort();
    let mut expected: Vec<String> = artifacts.iter().map(|(_, _, d)| d.clone()).collect();
    expected.sort();
    assert_eq!(digests, expected);
    for (t, bytes, digest) in &artifacts {
        let d = listed.iter().find(|d| d.digest.as_str() == digest).unwrap();
        assert_eq!(d.artifact_type.as_deref(), Some(t.as_str()));
        assert_eq!(d.size, bytes.len() as u64);
    }

    // Filtered by the registry, which says so.
    let sboms = client
        .get_referrers(repo, subject.as_str())
        .artifact_type(SBOM)
        .await
        .unwrap();
    assert_eq!(sboms.oci_filters_applied.as_deref(), Some("artifactType"));
    assert_eq!(sboms.body.manifests.len(), 1);

    // The workflow uses the API and does not read the tag schema.
    let found = client
        .referrers(repo, subject.as_str())
        .artifact_type(SIGNATURE)
        .await
        .unwrap();
    assert_eq!(found.source, ReferrersSource::Api);
    assert_eq!(found.manifests.len(), 1);
    assert_eq!(found.manifests[0].digest.as_str(), artifacts[1].2);
    assert!(
        common::logged(&emulator, "sha256-").is_empty(),
        "no request for the referrers tag"
    );

    // A subject nobody refers to: an empty index, not a 404.
    let other = sha256(b"nobody refers to this");
    let none = client.referrers(repo, other.as_str()).await.unwrap();
    assert_eq!(
        (none.source, none.manifests.len()),
        (ReferrersSource::Api, 0)
    );
}

#[tokio::test]
async fn referrers_through_the_tag_schema_on_the_real_registry() {
    let Some(registry) = start_registry(Flavour::Open).await else {
        return;
    };
    let client = registry_client(&registry);
    let repo = "discovery/fallback";
    let (subject, artifacts) = image_with_referrers(&client, repo).await;

    // distribution 2.8 has no referrers API: the raw operation fails with 404.
    let raw = client
        .get_referrers(repo, subject.as_str())
        .await
        .unwrap_err();
    assert!(raw.is_not_found(), "{raw}");

    // No index under the referrers tag yet: no referrers.
    let none = client.referrers(repo, subject.as_str()).await.unwrap();
    assert_eq!(
        (none.source, none.manifests.len()),
        (ReferrersSource::None, 0)
    );

    // A client of an OCI 1.1 registry without the API keeps the index under the tag schema.
    let descriptors: Vec<_> = artifacts
        .iter()
        .map(|(t, bytes, digest)| {
            json!({"mediaType": OCI_MANIFEST, "digest": digest, "size": bytes.len(), "artifactType": t})
        })
        .collect();
    let index = Bytes::from(
        serde_json::to_vec(
            &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors}),
        )
        .unwrap(),
    );
    let tag = referrers_tag(&subject.as_str().try_into().unwrap());
    assert_eq!(tag, subject.replace(':', "-"));
    client
        .create_manifest(repo, tag.as_str(), index, OCI_INDEX)
        .await
        .unwrap();

    let all = client.referrers(repo, subject.as_str()).await.unwrap();
    assert_eq!(all.source, ReferrersSource::TagSchema);
    assert_eq!(all.manifests.len(), 2);
    // The filter applies on the client when the registry cannot filter.
    let sboms = client
        .referrers(repo, subject.as_str())
        .artifact_type(SBOM)
        .await
        .unwrap();
    assert_eq!(sboms.source, ReferrersSource::TagSchema);
    assert_eq!(sboms.manifests.len(), 1);
    assert_eq!(sboms.manifests[0].digest.as_str(), artifacts[0].2);
}
