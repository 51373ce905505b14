//! Typed views of the OCI and Docker manifest and index formats. Unknown fields are
//! ignored; the raw bytes stay next to these views (a digest is over the exact bytes).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// OCI image manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index media type.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker image manifest (schema 2) media type.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list media type.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// ORAS artifact manifest media type.
pub const ORAS_ARTIFACT: &str = "application/vnd.cncf.oras.artifact.manifest.v1+json";

/// A content descriptor (`config`, `layers[]`, `manifests[]`, `subject`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The media type of the referenced content.
    pub media_type: String,
    /// Its digest.
    pub digest: String,
    /// Its size in bytes.
    pub size: i64,
    /// Other places it may be fetched from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// The platform (index entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// The artifact type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
}

/// The platform of an index entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Platform {
    /// CPU architecture (`amd64`).
    pub architecture: String,
    /// Operating system (`linux`).
    pub os: String,
    /// OS version.
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    /// OS features.
    #[serde(rename = "os.features", default, skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
    /// CPU variant (`v8`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// CPU features (docker manifest lists).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
}

/// An OCI image manifest or a Docker schema 2 manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    /// Always 2.
    pub schema_version: i32,
    /// The media type, when the document names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The artifact type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layers, base first.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// The manifest this one refers to (referrers API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An OCI image index or a Docker manifest list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    /// Always 2.
    pub schema_version: i32,
    /// The media type, when the document names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The artifact type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The manifests, one per platform.
    pub manifests: Vec<Descriptor>,
    /// The manifest this one refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A parsed manifest.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ManifestKind {
    /// An image manifest (OCI or Docker schema 2).
    Image(Box<ImageManifest>),
    /// An index (OCI) or manifest list (Docker).
    Index(Box<ImageIndex>),
    /// Another format (Docker schema 1, ORAS artifact, …) as JSON.
    Other(serde_json::Value),
}

impl ManifestKind {
    /// Parses `bytes` of `media_type` (or the document's own `mediaType`, or its shape).
    pub fn parse(media_type: &str, bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let value: serde_json::Value = serde_json::from_slice(bytes)?;
        let declared = value
            .get("mediaType")
            .and_then(|v| v.as_str())
            .unwrap_or(media_type)
            .to_owned();
        let mt = if media_type.is_empty() || media_type == "application/json" {
            declared.as_str()
        } else {
            media_type
        };
        Ok(match mt {
            OCI_MANIFEST | DOCKER_MANIFEST => Self::Image(Box::new(serde_json::from_value(value)?)),
            OCI_INDEX | DOCKER_MANIFEST_LIST => {
                Self::Index(Box::new(serde_json::from_value(value)?))
            }
            _ if value.get("manifests").is_some_and(|m| m.is_array()) => {
                Self::Index(Box::new(serde_json::from_value(value)?))
            }
            _ if value.get("config").is_some()
                && value.get("schemaVersion").and_then(|v| v.as_i64()) == Some(2) =>
            {
                Self::Image(Box::new(serde_json::from_value(value)?))
            }
            _ => Self::Other(value),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_four_formats() {
        let image = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1469,"digest":"sha256:feb5"},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":2479,"digest":"sha256:2db2"}],"unknown":1}"#;
        match ManifestKind::parse(DOCKER_MANIFEST, image).unwrap() {
            ManifestKind::Image(m) => {
                assert_eq!(m.layers[0].size, 2479);
                assert_eq!(m.config.digest, "sha256:feb5");
            }
            other => panic!("{other:?}"),
        }
        let index = br#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":7,"digest":"sha256:aa","platform":{"architecture":"arm64","os":"linux","variant":"v8","os.features":["x"]}}]}"#;
        match ManifestKind::parse("application/json", index).unwrap() {
            ManifestKind::Index(i) => {
                let p = i.manifests[0].platform.as_ref().unwrap();
                assert_eq!(
                    (p.architecture.as_str(), p.variant.as_deref()),
                    ("arm64", Some("v8"))
                );
                assert_eq!(p.os_features, vec!["x".to_owned()]);
            }
            other => panic!("{other:?}"),
        }
        let oci = br#"{"schemaVersion":2,"config":{"mediaType":"a","size":2,"digest":"sha256:bb"},"layers":[],"annotations":{"k":"v"}}"#;
        assert!(
            matches!(ManifestKind::parse(OCI_MANIFEST, oci).unwrap(), ManifestKind::Image(m) if m.annotations["k"] == "v")
        );
        let v1 = br#"{"schemaVersion":1,"name":"x","fsLayers":[]}"#;
        assert!(matches!(
            ManifestKind::parse(
                "application/vnd.docker.distribution.manifest.v1+prettyjws",
                v1
            )
            .unwrap(),
            ManifestKind::Other(_)
        ));
        assert!(ManifestKind::parse(OCI_MANIFEST, b"not json").is_err());
    }
}
