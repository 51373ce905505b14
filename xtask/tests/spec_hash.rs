//! The spec is the upstream file, byte for byte: its sha256 is the one the README states.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sha2::{Digest, Sha256};

#[test]
fn spec_hash_matches_readme() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let spec = std::fs::read(root.join("spec/containerregistry.lap")).expect("spec readable");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README readable");
    let actual = hex::encode(Sha256::digest(&spec));
    let stated = readme
        .split('`')
        .find(|w| w.len() == 64 && w.bytes().all(|b| b.is_ascii_hexdigit()))
        .expect("the README states a sha256");
    assert_eq!(
        actual, stated,
        "spec/containerregistry.lap does not have the sha256 the README states"
    );
}
