//! `Client::pull_image` into an OCI layout when the registry serves a bad blob: the pull fails,
//! and the layout holds no half-written blob, no temporary file and no manifest that names a
//! missing blob. The real registry (`docker-registry`) serves the bad bytes: its stored blob
//! is altered on disk after the push. Two faults of the class: same length, other bytes (the
//! digest does not match), and a shorter blob (the size does not match the descriptor's).
//! Also: the bound on parallel blobs holds (connections counted at a TCP proxy).
//! Skips with a printed reason when docker-registry is absent, unless `REQUIRE_REAL_REGISTRY=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap (see notes/COMMON.md)

mod common;

use std::path::Path;

use acr::image::OciLayout;
use acr_tests::registry::Flavour;
use common::image::{OCI_MANIFEST, TestImage};

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// Pushes a 3-layer image, alters its middle layer in storage with `alter`, pulls it into a
/// fresh layout `parallel` blobs at a time; returns the error and the files the layout holds
/// afterwards. With 1 at a time the config and first layer land before the bad one; with
/// more, the failure cancels the downloads in flight (their temporary files must go too).
async fn pull_altered(
    seed: &str,
    alter: fn(&mut Vec<u8>),
    parallel: usize,
) -> Option<(acr::Error, Vec<String>)> {
    let registry = common::start_registry(Flavour::Open).await?;
    let client = common::registry_client(&registry);
    let image = TestImage::new(seed, &[4000, 300 * 1024, 50]);
    let source_dir = tempfile::tempdir().unwrap();
    let source = OciLayout::create(source_dir.path()).unwrap();
    for (_, bytes) in image.blobs() {
        source.add_blob("application/octet-stream", &bytes).unwrap();
    }
    let manifest = source.add_blob(OCI_MANIFEST, &image.manifest).unwrap();
    source.tag("v1", manifest).unwrap();
    client
        .push_image("e2e/faults", "v1", &source)
        .await
        .unwrap();

    let bad = registry.stored_blob(&image.layer_digests()[1]);
    let mut bytes = std::fs::read(&bad).unwrap();
    alter(&mut bytes);
    std::fs::write(&bad, bytes).unwrap();

    let dest = tempfile::tempdir().unwrap();
    let err = client
        .pull_image("e2e/faults", "v1")
        .to_layout(dest.path())
        .blobs_in_parallel(parallel)
        .await
        .expect_err("a pull of an altered blob fails");
    let left = files(dest.path());
    if parallel == 1 {
        // The good blobs before it landed, so the checks below are about the bad one.
        for good in [image.config_digest(), image.layer_digests()[0].clone()] {
            let file = format!("blobs/sha256/{}", &good[7..]);
            assert!(left.contains(&file), "{file} in {left:?}");
        }
    }
    let bad_file = format!("blobs/sha256/{}", &image.layer_digests()[1][7..]);
    let manifest_file = format!("blobs/sha256/{}", &image.manifest_digest()[7..]);
    assert!(!left.contains(&bad_file), "no bad blob in {left:?}");
    assert!(
        !left.contains(&manifest_file),
        "no manifest naming a missing blob in {left:?}"
    );
    let index = OciLayout::open(dest.path()).unwrap().index().unwrap();
    assert!(index.manifests.is_empty(), "nothing tagged: {index:?}");
    Some((err, left))
}

/// No temporary file (`.acr-…`) anywhere in `files`.
fn assert_no_temp_files(files: &[String]) {
    assert!(
        files
            .iter()
            .all(|f| !f.rsplit('/').next().unwrap().starts_with('.')),
        "temporary files left: {files:?}"
    );
}

#[tokio::test]
async fn a_blob_with_other_bytes_leaves_nothing_half_written() {
    let Some((err, left)) = pull_altered("faults/bytes", |b| b[1000] ^= 0xff, 1).await else {
        return;
    };
    assert!(matches!(err, acr::Error::DigestMismatch { .. }), "{err:?}");
    assert_no_temp_files(&left);
}

#[tokio::test]
async fn a_shorter_blob_leaves_nothing_half_written() {
    let Some((err, left)) = pull_altered("faults/short", |b| b.truncate(b.len() / 2), 4).await
    else {
        return;
    };
    assert!(
        err.to_string().contains("size") || matches!(err, acr::Error::DigestMismatch { .. }),
        "{err:?}"
    );
    assert_no_temp_files(&left);
}

/// The bound on parallel blobs holds: through a counting TCP proxy, a push and a pull of a
/// six-blob image one blob at a time use a single connection (the client's pool opens a
/// second one only when a request is in flight on the first), and two at a time at most two.
/// Only upper bounds are asserted: how many transfers overlap below the bound is timing.
#[tokio::test]
async fn blobs_in_parallel_bounds_the_connections() {
    let Some(registry) = common::start_registry(Flavour::Open).await else {
        return;
    };
    let target: std::net::SocketAddr = format!("127.0.0.1:{}", registry.port()).parse().unwrap();
    for (n, bound) in [(0, 1usize), (1, 2)] {
        let image = TestImage::new(&format!("bound/{n}"), &[9000, 8000, 7000, 6000, 5000]);
        let source_dir = tempfile::tempdir().unwrap();
        let source = OciLayout::create(source_dir.path()).unwrap();
        for (_, bytes) in image.blobs() {
            source.add_blob("application/octet-stream", &bytes).unwrap();
        }
        let manifest = source.add_blob(OCI_MANIFEST, &image.manifest).unwrap();
        source.tag("v1", manifest).unwrap();
        let repository = format!("e2e/bound{n}");

        let proxy =
            acr_tests::fault_proxy::FaultProxy::start(target, acr_tests::fault_proxy::Cut::never())
                .await
                .unwrap();
        let client = acr::Client::builder(proxy.endpoint()).build().unwrap();
        let pushed = client
            .push_image(repository.as_str(), "v1", &source)
            .blobs_in_parallel(bound)
            .await
            .unwrap();
        assert_eq!(pushed.blobs_transferred, 6);
        let push_connections = proxy.connections();

        let proxy =
            acr_tests::fault_proxy::FaultProxy::start(target, acr_tests::fault_proxy::Cut::never())
                .await
                .unwrap();
        let client = acr::Client::builder(proxy.endpoint()).build().unwrap();
        let dest = tempfile::tempdir().unwrap();
        let pulled = client
            .pull_image(repository.as_str(), "v1")
            .to_layout(dest.path())
            .blobs_in_parallel(bound)
            .await
            .unwrap();
        assert_eq!(pulled.blobs_transferred, 6);
        let pull_connections = proxy.connections();
        assert!(
            push_connections as usize <= bound && pull_connections as usize <= bound,
            "{bound} at a time: push used {push_connections} connections, pull {pull_connections}"
        );
    }
}
