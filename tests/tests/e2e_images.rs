//! Whole images against the in-process ACR emulator (Basic login, then Bearer tokens per
//! scope): a two-platform index pushed from an OCI layout with `Client::push_image`, blobs in
//! parallel, then pulled with `Client::pull_image` into another layout: the same blob files,
//! byte for byte, and the same tagged entry.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap (see notes/COMMON.md)

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use acr::image::OciLayout;
use acr::manifest::{Descriptor, ImageIndex, OCI_INDEX, Platform};
use common::image::{OCI_MANIFEST, TestImage};

/// Writes `image` into `layout`; returns its manifest's descriptor.
fn write(layout: &OciLayout, image: &TestImage) -> Descriptor {
    for (_, bytes) in image.blobs() {
        layout.add_blob("application/octet-stream", &bytes).unwrap();
    }
    layout.add_blob(OCI_MANIFEST, &image.manifest).unwrap()
}

/// Every file under `dir/blobs` by `<alg>/<hex>`, with its bytes.
fn blob_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for alg in std::fs::read_dir(dir.join("blobs")).unwrap() {
        let alg = alg.unwrap();
        for file in std::fs::read_dir(alg.path()).unwrap() {
            let file = file.unwrap();
            let name = format!(
                "{}/{}",
                alg.file_name().to_string_lossy(),
                file.file_name().to_string_lossy()
            );
            out.insert(name, std::fs::read(file.path()).unwrap());
        }
    }
    out
}

#[tokio::test]
async fn an_index_pushed_from_a_layout_pulls_back_into_an_identical_one() {
    let emulator = common::start_emulator().await;
    let client = common::emulator_client(&emulator);
    let source_dir = tempfile::tempdir().unwrap();
    let source = OciLayout::create(source_dir.path()).unwrap();
    let amd64 = TestImage::new("images/amd64", &[10_000, 200 * 1024, 3]);
    let arm64 = TestImage::new("images/arm64", &[64 * 1024, 5]);
    let index = ImageIndex::new(vec![
        write(&source, &amd64).with_platform(Platform::new("linux", "amd64")),
        write(&source, &arm64).with_platform(Platform::new("linux", "arm64")),
    ]);
    let top = source.add_blob(OCI_INDEX, &index.to_bytes()).unwrap();
    source.tag("v1", top.clone()).unwrap();

    let pushed = client
        .push_image("images/multi", "v1", &source)
        .await
        .unwrap();
    assert_eq!(pushed.descriptor.digest, top.digest);
    assert_eq!((pushed.manifests, pushed.blobs_transferred), (3, 7));

    let dest = tempfile::tempdir().unwrap();
    let pulled = client
        .pull_image("images/multi", "v1")
        .to_layout(dest.path())
        .await
        .unwrap();
    assert_eq!((pulled.manifests, pulled.blobs_transferred), (3, 7));
    assert_eq!(blob_files(dest.path()), blob_files(source_dir.path()));
    let entry = OciLayout::open(dest.path())
        .unwrap()
        .resolve("v1")
        .unwrap()
        .unwrap();
    assert_eq!(
        (entry.digest, entry.media_type),
        (top.digest.clone(), top.media_type.clone())
    );

    // By digest: recorded without a name, and nothing downloaded again.
    let by_digest = client
        .pull_image("images/multi", top.digest.as_str())
        .to_layout(dest.path())
        .await
        .unwrap();
    assert_eq!(
        (by_digest.blobs_transferred, by_digest.blobs_skipped),
        (0, 7)
    );
    let index = OciLayout::open(dest.path()).unwrap().index().unwrap();
    assert_eq!(
        index.manifests.len(),
        1,
        "one entry for the one manifest: {index:?}"
    );
}
