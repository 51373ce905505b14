//! Workflows through `acr::Client`: push an image and pull it back byte-identical, copy an image
//! between repositories with mounts, lock a tag and see the push refused, list 2,500 tags in
//! pages, delete by tag (refused) and by digest (accepted).
//!
//! Blob and manifest transfers use the runtime's high-level helpers (`upload_blob`,
//! `download_blob`, `put_manifest`, `get_manifest`, through `client.transport()`); attribute and
//! listing calls use the generated operations. Push/pull, copy and delete run against the real
//! registry (skipped with a printed reason when `docker-registry` is absent) and the emulator;
//! locks and ACR listings need the emulator.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap (see notes/COMMON.md)

mod common;

use acr::Client;
use acr::models::TagChangeableAttributes;
use acr_runtime::blob::{UploadOptions, UploadSource};
use acr_runtime::{Digest, Reference, RepositoryName};
use acr_tests::emulator::{DEFAULT_PAGE_SIZE, Emulator, OCI_MANIFEST};
use acr_tests::registry::Flavour;
use common::image::TestImage;
use common::status_and_code;
use common::workflow::{assert_same_image, pull_image, push_image};
use futures_util::TryStreamExt as _;

/// 64 KiB, the smallest chunk the client builder accepts: layers above it go in several PATCHes.
const CHUNK: usize = 64 * 1024;

/// Pushes an image with a 150 KiB layer (three chunks) and a tiny one, pulls it back by tag and
/// by digest, and compares every byte.
async fn push_and_pull(client: &Client, label: &str) {
    let image = TestImage::new(&format!("{label}/push-pull"), &[150 * 1024, 10]);
    let digest = push_image(client, "e2e/roundtrip", "v1", &image, CHUNK).await;
    assert_eq!(digest.as_str(), image.manifest_digest(), "{label}");
    let by_tag = pull_image(client, "e2e/roundtrip", "v1").await;
    assert_same_image(&by_tag, &image);
    let by_digest = pull_image(client, "e2e/roundtrip", digest.as_str()).await;
    assert_same_image(&by_digest, &image);
}

#[tokio::test]
async fn push_and_pull_byte_identical_on_the_real_registry() {
    let Some(registry) = common::start_registry(Flavour::Open).await else {
        return;
    };
    push_and_pull(&common::registry_client(&registry), "docker-registry").await;
}

#[tokio::test]
async fn push_and_pull_byte_identical_on_the_emulator() {
    let emulator = common::start_emulator().await;
    push_and_pull(&common::emulator_client(&emulator), "emulator").await;
    // The 150 KiB layer went up in three PATCHes of at most 64 KiB, each with ACR's
    // `start-end` Content-Range.
    let log = emulator.log();
    let patches: Vec<_> = common::requests(&log, "PATCH", "/v2/e2e/roundtrip/blobs/uploads/")
        .filter(|r| r.status == 202)
        .collect();
    assert_eq!(patches.len(), 3, "{patches:#?}");
    assert_eq!(patches[0].header("content-range"), Some("0-65535"));
    assert_eq!(patches[2].header("content-range"), Some("131072-153599"));
    assert_eq!(emulator.tags("e2e/roundtrip"), ["v1"]);
}

/// Copies `e2e/copy-src:v1` to `e2e/copy-dst:v1`: every blob is mounted (no byte travels), then
/// the manifest is put; the copy pulls back identical.
async fn copy_with_mount(client: &Client, label: &str) -> TestImage {
    let image = TestImage::new(&format!("{label}/copy"), &[5000, 300]);
    push_image(client, "e2e/copy-src", "v1", &image, CHUNK).await;
    let source = RepositoryName::new("e2e/copy-src").unwrap();
    let target = RepositoryName::new("e2e/copy-dst").unwrap();
    for (digest, bytes) in image.blobs() {
        let options = UploadOptions::default()
            .digest(Digest::new(digest.as_str()).unwrap())
            .mount_from(source.clone());
        let mounted = client
            .transport()
            .upload_blob(&target, UploadSource::Bytes(bytes.clone()), options)
            .await
            .unwrap();
        assert_eq!(
            (mounted.digest.as_str(), mounted.size),
            (digest.as_str(), bytes.len() as u64)
        );
        let head = client
            .check_blob_exists("e2e/copy-dst", digest.as_str())
            .await
            .unwrap();
        assert_eq!(head.content_length, Some(bytes.len() as u64), "{label}");
    }
    let copied = client
        .transport()
        .put_manifest(
            &target,
            &Reference::new("v1").unwrap(),
            image.manifest.clone(),
            OCI_MANIFEST,
        )
        .await
        .unwrap();
    assert_eq!(copied.as_str(), image.manifest_digest());
    let pulled = pull_image(client, "e2e/copy-dst", "v1").await;
    assert_same_image(&pulled, &image);
    image
}

#[tokio::test]
async fn copy_between_repositories_with_mount_on_the_real_registry() {
    let Some(registry) = common::start_registry(Flavour::Open).await else {
        return;
    };
    copy_with_mount(&common::registry_client(&registry), "docker-registry").await;
}

#[tokio::test]
async fn copy_between_repositories_with_mount_on_the_emulator() {
    let emulator = common::start_emulator().await;
    let client = common::emulator_client(&emulator);
    let image = copy_with_mount(&client, "emulator").await;
    let log = emulator.log();
    // One mount per blob, answered 201; not a single byte uploaded to the target.
    let mounts: Vec<_> = common::requests(&log, "POST", "/v2/e2e/copy-dst/blobs/uploads/")
        .filter(|r| r.status != 401)
        .collect();
    assert_eq!(mounts.len(), image.blobs().len(), "{mounts:#?}");
    for (mount, (digest, _)) in mounts.iter().zip(image.blobs()) {
        assert_eq!(mount.status, 201);
        let query = mount.query.as_deref().unwrap_or_default();
        assert!(query.contains("from=e2e%2Fcopy-src"), "{query}");
        assert!(query.contains(&digest.replace(':', "%3A")), "{query}");
    }
    assert_eq!(
        common::requests(&log, "PATCH", "/v2/e2e/copy-dst/").count(),
        0,
        "nothing uploaded to the target"
    );
    assert_eq!(
        common::requests(&log, "PUT", "/v2/e2e/copy-dst/blobs/").count(),
        0,
        "no upload completed in the target"
    );
}

#[tokio::test]
async fn a_locked_tag_refuses_the_push() {
    let emulator = common::start_emulator().await;
    let client = common::emulator_client(&emulator);
    let repo = "e2e/locked";
    let first = TestImage::new("lock/first", &[100]);
    let second = TestImage::new("lock/second", &[200]);
    push_image(&client, repo, "v1", &first, CHUNK).await;

    // update_tag_attributes writeEnabled=false
    let locked = client
        .update_tag_attributes(repo, "v1")
        .value(TagChangeableAttributes {
            write_enabled: Some(false),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        locked.body.tag.changeable_attributes.write_enabled,
        Some(false)
    );
    let props = client.get_tag_properties(repo, "v1").await.unwrap();
    assert_eq!(
        props.body.tag.changeable_attributes.write_enabled,
        Some(false)
    );

    // Moving the tag to another image is refused, by the helper and by the raw operation.
    let name = RepositoryName::new(repo).unwrap();
    for (digest, bytes) in second.blobs() {
        let uploaded = client
            .transport()
            .upload_blob(&name, UploadSource::Bytes(bytes), UploadOptions::default())
            .await
            .unwrap();
        assert_eq!(
            uploaded.digest.as_str(),
            digest,
            "blobs may still be pushed"
        );
    }
    let refused = client
        .transport()
        .put_manifest(
            &name,
            &Reference::new("v1").unwrap(),
            second.manifest.clone(),
            OCI_MANIFEST,
        )
        .await;
    let (status, code) = status_and_code(refused);
    assert_eq!(
        (status, code.as_str()),
        (405, "REGISTRY_DISALLOWED_OPERATION")
    );
    let (status, code) = status_and_code(
        client
            .create_manifest(repo, "v1", second.manifest.clone(), OCI_MANIFEST)
            .await,
    );
    assert_eq!(
        (status, code.as_str()),
        (405, "REGISTRY_DISALLOWED_OPERATION")
    );
    let still = client.get_manifest(repo, "v1").await.unwrap();
    assert_eq!(
        still.body, first.manifest,
        "the tag still names the first image"
    );

    // The same image under another tag is fine; so is re-pushing the locked tag unchanged.
    let other = client
        .create_manifest(repo, "v2", second.manifest.clone(), OCI_MANIFEST)
        .await
        .unwrap();
    assert_eq!(other.status, 201);
    let same = client
        .create_manifest(repo, "v1", first.manifest.clone(), OCI_MANIFEST)
        .await
        .unwrap();
    assert_eq!(same.status, 201);

    // Unlocked, the tag moves.
    client
        .update_tag_attributes(repo, "v1")
        .value(TagChangeableAttributes {
            write_enabled: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    let moved = client
        .create_manifest(repo, "v1", second.manifest.clone(), OCI_MANIFEST)
        .await
        .unwrap();
    assert_eq!(
        moved.docker_content_digest.as_ref().map(|d| d.as_str()),
        Some(second.manifest_digest().as_str())
    );
    assert_eq!(
        client.get_manifest(repo, "v1").await.unwrap().body,
        second.manifest
    );
}

/// Seeds `count` tags `t0000`, `t0001`, ... on one manifest of `repo`.
fn seed_tags(emulator: &Emulator, repo: &str, count: usize) {
    let image = emulator.put_image(repo, "t0000", "amd64", "linux").unwrap();
    for i in 1..count {
        emulator
            .put_manifest(
                repo,
                &format!("t{i:04}"),
                OCI_MANIFEST,
                image.manifest.clone(),
            )
            .unwrap();
    }
}

#[tokio::test]
async fn list_2500_tags_in_pages() {
    let emulator = common::start_emulator().await;
    let repo = "e2e/many-tags";
    seed_tags(&emulator, repo, 2500);
    let client = common::emulator_client(&emulator);
    emulator.clear_log();

    let tags: Vec<String> = client
        .get_tags(repo)
        .n(100)
        .into_stream()
        .map_ok(|tag| tag.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(tags.len(), 2500);
    let expected: Vec<String> = (0..2500).map(|i| format!("t{i:04}")).collect();
    assert_eq!(tags, expected, "every tag once, in order");

    // 25 pages, each after the first asked for with the previous page's Link.
    let pages: Vec<String> = emulator
        .log()
        .iter()
        .filter(|r| r.path == format!("/acr/v1/{repo}/_tags") && r.status == 200)
        .map(|r| r.query.clone().unwrap_or_default())
        .collect();
    assert_eq!(pages.len(), 25, "{pages:?}");
    assert_eq!(pages[0], "n=100");
    for (k, query) in pages.iter().enumerate().skip(1) {
        let last = format!("last=t{:04}", k * 100 - 1);
        assert!(
            query.contains(&last) && query.contains("n=100"),
            "page {k}: {query}"
        );
    }

    // Without `n` the server's page size applies and the stream still gets everything.
    emulator.clear_log();
    let count = client
        .get_tags(repo)
        .into_stream()
        .try_fold(0usize, |n, _| async move { Ok(n + 1) })
        .await
        .unwrap();
    assert_eq!(count, 2500);
    let default_pages: Vec<Option<String>> = emulator
        .log()
        .iter()
        .filter(|r| r.path == format!("/acr/v1/{repo}/_tags") && r.status == 200)
        .map(|r| r.query.clone())
        .collect();
    assert_eq!(default_pages.len(), 2500usize.div_ceil(DEFAULT_PAGE_SIZE));
    assert_eq!(
        default_pages[0], None,
        "the first page is asked for without n"
    );
}

/// Pushes `e2e/deletes:v1`, asks for a delete by tag (refused with `by_tag_status`), deletes by
/// digest (202), and sees tag and manifest gone.
async fn delete_by_tag_then_by_digest(client: &Client, label: &str, by_tag_status: u16) {
    let repo = "e2e/deletes";
    let image = TestImage::new(&format!("{label}/deletes"), &[64]);
    let digest = push_image(client, repo, "v1", &image, CHUNK).await;

    // Our client refuses a tag as the reference before sending anything ...
    let refused = client
        .delete_manifest(repo, "v1")
        .await
        .expect_err("delete_manifest takes a digest");
    assert_eq!(refused.status(), None, "{label}: {refused}");
    // ... and the server refuses it too, when asked directly.
    let raw = acr_runtime::Request::new(
        "delete_manifest",
        http::Method::DELETE,
        format!("/v2/{repo}/manifests/v1"),
    )
    .scope(format!("repository:{repo}:delete"));
    let (status, _) = status_and_code(client.transport().send(raw).await);
    assert_eq!(status, by_tag_status, "{label}: delete by tag");
    let still = client
        .get_manifest(repo, "v1")
        .accept(OCI_MANIFEST)
        .await
        .unwrap();
    assert_eq!(still.body, image.manifest, "{label}: still there");

    let deleted = client.delete_manifest(repo, digest.as_str()).await.unwrap();
    assert_eq!(deleted.status, 202, "{label}: delete by digest");
    for reference in ["v1", digest.as_str()] {
        let gone = client
            .get_manifest(repo, reference)
            .accept(OCI_MANIFEST)
            .await
            .expect_err("deleted");
        assert!(gone.is_not_found(), "{label}: {reference}: {gone:?}");
    }
}

#[tokio::test]
async fn delete_by_tag_refused_by_digest_accepted_on_the_real_registry() {
    let Some(registry) = common::start_registry(Flavour::Open).await else {
        return;
    };
    let client = common::registry_client(&registry);
    delete_by_tag_then_by_digest(&client, "docker-registry", 400).await;
}

#[tokio::test]
async fn delete_by_tag_refused_by_digest_accepted_on_the_emulator() {
    let emulator = common::start_emulator().await;
    let client = common::emulator_client(&emulator);
    delete_by_tag_then_by_digest(&client, "emulator", 405).await;
    // ACR's answer to a delete by tag, as the Azure SDK for Go's recordings of live traffic show
    // (405 `UNSUPPORTED`), checked before the name.
    let raw = acr_runtime::Request::new(
        "delete_manifest",
        http::Method::DELETE,
        "/v2/e2e/deletes/manifests/v1",
    )
    .scope("repository:e2e/deletes:delete");
    let error = client.transport().send(raw).await.unwrap_err();
    assert_eq!(error.code().map(|c| c.as_str()), Some("UNSUPPORTED"));
    assert_eq!(
        error.errors()[0].message,
        "A manifest can only be deleted by digest."
    );
    // The repository went with its last manifest.
    assert!(emulator.repositories().is_empty());
}
