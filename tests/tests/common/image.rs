//! Test images: an OCI image config, layers of deterministic bytes and the OCI manifest that
//! names them, with their digests.

use bytes::Bytes;
use serde_json::json;

use super::sha256;

/// The OCI image manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// The OCI image config media type.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// The (uncompressed) OCI layer media type.
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

/// An image: config, layers and manifest, each with its exact bytes.
#[derive(Debug, Clone)]
pub struct TestImage {
    /// The config blob.
    pub config: Bytes,
    /// The layer blobs, base first.
    pub layers: Vec<Bytes>,
    /// The OCI manifest naming them.
    pub manifest: Bytes,
}

/// `len` bytes that depend on `seed` (xorshift), so different images never share a blob.
pub fn pseudo_random(seed: &str, len: usize) -> Bytes {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for b in seed.bytes() {
        state = (state ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    Bytes::from(out)
}

impl TestImage {
    /// An image whose layers have `layer_sizes` bytes each, all derived from `seed`.
    pub fn new(seed: &str, layer_sizes: &[usize]) -> Self {
        let layers: Vec<Bytes> = layer_sizes
            .iter()
            .enumerate()
            .map(|(i, size)| pseudo_random(&format!("{seed}/layer{i}"), *size))
            .collect();
        let diff_ids: Vec<String> = layers.iter().map(|l| sha256(l)).collect();
        let config = json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": {"e2e.seed": seed}},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        });
        let config = Bytes::from(serde_json::to_vec(&config).expect("config JSON"));
        let descriptors: Vec<serde_json::Value> = layers
            .iter()
            .map(|l| json!({"mediaType": OCI_LAYER, "digest": sha256(l), "size": l.len()}))
            .collect();
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha256(&config), "size": config.len()},
            "layers": descriptors,
            "annotations": {"org.opencontainers.image.title": seed},
        });
        // Pretty-printed on purpose: the digest must be over these exact bytes, spaces and all.
        let manifest = Bytes::from(serde_json::to_vec_pretty(&manifest).expect("manifest JSON"));
        TestImage {
            config,
            layers,
            manifest,
        }
    }

    /// The config's digest.
    pub fn config_digest(&self) -> String {
        sha256(&self.config)
    }

    /// The layers' digests.
    pub fn layer_digests(&self) -> Vec<String> {
        self.layers.iter().map(|l| sha256(l)).collect()
    }

    /// The manifest's digest.
    pub fn manifest_digest(&self) -> String {
        sha256(&self.manifest)
    }

    /// Every blob (config first, then the layers) with its digest.
    pub fn blobs(&self) -> Vec<(String, Bytes)> {
        std::iter::once(&self.config)
            .chain(self.layers.iter())
            .map(|b| (sha256(b), b.clone()))
            .collect()
    }
}
