//! Fuzz target: manifest and index parsing. The first byte picks the media type the registry
//! declared (or none); the rest is the body. A parsed image or index serializes and parses
//! back to the same value.
#![no_main]

use acr_runtime::manifest::ManifestKind;
use acr_runtime::manifest::types::{
    DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST, ORAS_ARTIFACT,
};
use libfuzzer_sys::fuzz_target;

const MEDIA_TYPES: &[&str] = &[
    "",
    "application/json",
    OCI_MANIFEST,
    OCI_INDEX,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    ORAS_ARTIFACT,
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let media_type = MEDIA_TYPES[usize::from(pick) % MEDIA_TYPES.len()];
    match ManifestKind::parse(media_type, body) {
        Ok(ManifestKind::Image(m)) => {
            let text = serde_json::to_vec(&m).expect("an image manifest serializes");
            let again = ManifestKind::parse(OCI_MANIFEST, &text).expect("reads back");
            assert_eq!(again, ManifestKind::Image(m));
        }
        Ok(ManifestKind::Index(i)) => {
            let text = serde_json::to_vec(&i).expect("an index serializes");
            let again = ManifestKind::parse(OCI_INDEX, &text).expect("reads back");
            assert_eq!(again, ManifestKind::Index(i));
        }
        Ok(_) | Err(_) => {}
    }
});
