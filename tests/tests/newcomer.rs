//! The newcomer program (`tests/examples/newcomer.rs`, at most 40 lines) run against the real
//! registry: what it leaves behind is checked here (the pulled layout holds the image, the
//! manifest is gone after the delete by digest).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[allow(dead_code)] // its `main` is the example's entry point, unused here
#[path = "../examples/newcomer.rs"]
mod newcomer;

use acr::image::OciLayout;
use acr::manifest::ManifestKind;
use acr::{Reference, RepositoryName};
use acr_tests::registry::Flavour;

#[tokio::test]
async fn the_newcomer_program_runs_against_the_real_registry() {
    let source = include_str!("../examples/newcomer.rs");
    assert!(
        source.lines().count() <= 40,
        "the newcomer program has {} lines; the promise is 40 at most",
        source.lines().count()
    );
    let Some(registry) = common::start_registry(Flavour::Open).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pulled");
    newcomer::run(&registry.endpoint(), out.to_str().unwrap())
        .await
        .unwrap();

    // Pulled verified to disk: the manifest tagged `stable` with its config and three layers.
    let layout = OciLayout::open(&out).unwrap();
    let top = layout.resolve("stable").unwrap().expect("tagged stable");
    let bytes = layout.read_blob(&top.digest).unwrap();
    let ManifestKind::Image(manifest) = ManifestKind::parse(&top.media_type, &bytes).unwrap()
    else {
        panic!("an image manifest");
    };
    assert_eq!(manifest.layers.len(), 3);
    for blob in std::iter::once(&manifest.config).chain(&manifest.layers) {
        layout.read_blob(&blob.digest).unwrap();
    }
    let layer = layout.read_blob(&manifest.layers[2].digest).unwrap();
    assert_eq!(&layer[..], b"the third layer");

    // Deleted by digest: the registry no longer has it.
    let client = common::registry_client(&registry);
    let gone = client
        .pull_manifest(
            &RepositoryName::new("newcomer/hello").unwrap(),
            &Reference::from(&top.digest),
        )
        .await
        .unwrap_err();
    assert!(gone.is_not_found(), "{gone}");
}
