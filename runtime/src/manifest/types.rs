//! The OCI and Docker manifest formats, once: image manifest, image index, descriptor and
//! platform (OCI image spec 1.1: `manifest.md`, `image-index.md`, `descriptor.md`), the
//! Docker schema 2 manifest and manifest list (same shapes, other media types), and the
//! Docker schema 1 manifest.
//!
//! # As registries really send them
//!
//! - JSON `null` for a list or map reads as empty: the CNCF distribution registry stores and
//!   serves manifests with `"layers": null` and `"annotations": null` (Go marshals a nil slice
//!   or map as `null`).
//! - Unknown fields are **kept** (in `extra`) and written back, so a manifest read, changed and
//!   written again loses nothing a newer spec or another tool put in it.
//! - Digests are [`Digest`]s (validated, `sha256` or `sha512` or another registered
//!   algorithm), sizes `u64`.
//! - A value that does not fit names its JSON path (`layers[2].digest`) in the error.
//!
//! The raw bytes stay next to these views ([`Manifest`](super::Manifest)): a digest is over the
//! exact bytes, never over a re-serialization.
//!
//! # Why not the `oci-spec` crate
//!
//! `oci-spec` (0.8, shared by `oci-client` and the container runtimes) was tried on the same
//! inputs in a scratch test: it refuses `"layers": null` and an index's `"manifests": null`
//! ("invalid type: null, expected a sequence"), drops unknown fields on a round trip, and has
//! no schema 1 type; it also brings `derive_builder`, `getset` and `strum` into a library
//! crate. These types are small, follow the same spec sections, and meet the registry as it
//! is; they may gain `From` conversions to `oci-spec` behind a feature if users ask.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Digest;
use crate::json::{JsonError, null_as_default};

/// OCI image manifest (`application/vnd.oci.image.manifest.v1+json`).
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index (`application/vnd.oci.image.index.v1+json`).
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image config (`application/vnd.oci.image.config.v1+json`).
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// OCI layer, uncompressed tar (`application/vnd.oci.image.layer.v1.tar`).
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// OCI layer, gzip-compressed tar (`application/vnd.oci.image.layer.v1.tar+gzip`).
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// OCI layer, zstd-compressed tar (`application/vnd.oci.image.layer.v1.tar+zstd`).
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// The OCI empty descriptor's media type (`application/vnd.oci.empty.v1+json`, image spec
/// 1.1 "Guidance for an Empty Descriptor"): the config of an artifact with no config.
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The content of the OCI empty descriptor: `{}`.
pub const OCI_EMPTY_CONTENT: &[u8] = b"{}";
/// The digest of [`OCI_EMPTY_CONTENT`].
pub const OCI_EMPTY_DIGEST: &str =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
/// Docker image manifest, schema 2 (`application/vnd.docker.distribution.manifest.v2+json`).
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list (`application/vnd.docker.distribution.manifest.list.v2+json`).
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker image config (`application/vnd.docker.container.image.v1+json`).
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// Docker layer, gzip-compressed tar (`application/vnd.docker.image.rootfs.diff.tar.gzip`).
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// Docker layer, uncompressed tar (`application/vnd.docker.image.rootfs.diff.tar`).
pub const DOCKER_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";
/// Docker foreign layer (`application/vnd.docker.image.rootfs.foreign.diff.tar.gzip`).
pub const DOCKER_FOREIGN_LAYER_GZIP: &str =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
/// Docker schema 1 manifest, signed (`application/vnd.docker.distribution.manifest.v1+prettyjws`).
pub const DOCKER_MANIFEST_V1_SIGNED: &str =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
/// Docker schema 1 manifest, unsigned (`application/vnd.docker.distribution.manifest.v1+json`).
pub const DOCKER_MANIFEST_V1: &str = "application/vnd.docker.distribution.manifest.v1+json";
/// ORAS artifact manifest (`application/vnd.cncf.oras.artifact.manifest.v1+json`).
pub const ORAS_ARTIFACT: &str = "application/vnd.cncf.oras.artifact.manifest.v1+json";

/// Unknown fields of a document, kept as they came.
pub type Extra = Map<String, Value>;

/// `skip_serializing_if` for annotation maps.
fn map_is_empty(m: &BTreeMap<String, String>) -> bool {
    m.is_empty()
}

/// A content descriptor (OCI image spec `descriptor.md`): what `config`, `layers[]`,
/// `manifests[]` and `subject` hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The media type of the referenced content.
    pub media_type: String,
    /// Its digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// Other places it may be fetched from; a `null` list reads as empty.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub urls: Vec<String>,
    /// Annotations; a `null` map reads as empty.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "map_is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
    /// The platform the content is for (index entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// The artifact type (OCI 1.1): the referenced manifest's `artifactType` or config type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The content itself, base64-encoded (OCI 1.1 "Embedded content").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Fields this version does not know, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Descriptor {
    /// A descriptor of `size` bytes of `media_type` with `digest`.
    pub fn new(media_type: impl Into<String>, digest: Digest, size: u64) -> Self {
        Self {
            media_type: media_type.into(),
            digest,
            size,
            urls: Vec::new(),
            annotations: BTreeMap::new(),
            platform: None,
            artifact_type: None,
            data: None,
            extra: Extra::new(),
        }
    }

    /// The descriptor of `content` of `media_type` (its `sha256` digest and length).
    pub fn of(media_type: impl Into<String>, content: &[u8]) -> Self {
        Self::new(media_type, Digest::sha256(content), content.len() as u64)
    }

    /// The OCI empty descriptor: `{}` of [`OCI_EMPTY`], the config of an artifact that has
    /// none (OCI image spec 1.1).
    pub fn empty() -> Self {
        Self::of(OCI_EMPTY, OCI_EMPTY_CONTENT)
    }

    /// With annotation `key` = `value`.
    pub fn with_annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.annotations.insert(key.into(), value.into());
        self
    }

    /// With `platform`.
    pub fn with_platform(mut self, platform: Platform) -> Self {
        self.platform = Some(platform);
        self
    }

    /// With `artifact_type`.
    pub fn with_artifact_type(mut self, artifact_type: impl Into<String>) -> Self {
        self.artifact_type = Some(artifact_type.into());
        self
    }
}

/// The platform of an index entry (OCI image spec `image-index.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Platform {
    /// CPU architecture, as Go's `GOARCH` (`amd64`, `arm64`).
    pub architecture: String,
    /// Operating system, as Go's `GOOS` (`linux`, `windows`).
    pub os: String,
    /// OS version (`10.0.14393.1066`).
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    /// OS features (`win32k`); a `null` list reads as empty.
    #[serde(
        rename = "os.features",
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub os_features: Vec<String>,
    /// CPU variant (`v8` for `arm64`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// CPU features (reserved by OCI; Docker manifest lists use it).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub features: Vec<String>,
    /// Fields this version does not know, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Platform {
    /// `os`/`architecture` (`Platform::new("linux", "amd64")`).
    pub fn new(os: impl Into<String>, architecture: impl Into<String>) -> Self {
        Self {
            architecture: architecture.into(),
            os: os.into(),
            os_version: None,
            os_features: Vec::new(),
            variant: None,
            features: Vec::new(),
            extra: Extra::new(),
        }
    }

    /// With CPU `variant` (`v8`).
    pub fn with_variant(mut self, variant: impl Into<String>) -> Self {
        self.variant = Some(variant.into());
        self
    }
}

/// An OCI image manifest or a Docker schema 2 manifest (OCI image spec `manifest.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    /// Always 2.
    pub schema_version: u32,
    /// The media type, when the document names it (OCI: should; Docker: always).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The artifact type (OCI 1.1), when the config does not tell it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layers, base first; a `null` list reads as empty.
    #[serde(default, deserialize_with = "null_as_default")]
    pub layers: Vec<Descriptor>,
    /// The manifest this one refers to (OCI 1.1, the referrers API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations; a `null` map reads as empty.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "map_is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
    /// Fields this version does not know, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ImageManifest {
    /// An OCI image manifest of `config` and `layers`.
    pub fn new(config: Descriptor, layers: Vec<Descriptor>) -> Self {
        Self {
            schema_version: 2,
            media_type: Some(OCI_MANIFEST.to_owned()),
            artifact_type: None,
            config,
            layers,
            subject: None,
            annotations: BTreeMap::new(),
            extra: Extra::new(),
        }
    }

    /// A Docker schema 2 manifest of `config` and `layers`.
    pub fn docker(config: Descriptor, layers: Vec<Descriptor>) -> Self {
        Self {
            media_type: Some(DOCKER_MANIFEST.to_owned()),
            ..Self::new(config, layers)
        }
    }

    /// With annotation `key` = `value`.
    pub fn with_annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.annotations.insert(key.into(), value.into());
        self
    }

    /// With `subject` (the manifest this one refers to).
    pub fn with_subject(mut self, subject: Descriptor) -> Self {
        self.subject = Some(subject);
        self
    }

    /// With `artifact_type`.
    pub fn with_artifact_type(mut self, artifact_type: impl Into<String>) -> Self {
        self.artifact_type = Some(artifact_type.into());
        self
    }

    /// The media type to send it with: its own, else [`OCI_MANIFEST`].
    pub fn media_type(&self) -> &str {
        self.media_type.as_deref().unwrap_or(OCI_MANIFEST)
    }

    /// The JSON bytes to push (compact; the digest is over exactly these).
    pub fn to_bytes(&self) -> Bytes {
        to_bytes(self)
    }
}

/// An OCI image index or a Docker manifest list (OCI image spec `image-index.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    /// Always 2.
    pub schema_version: u32,
    /// The media type, when the document names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The artifact type (OCI 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The manifests, typically one per platform; a `null` list reads as empty.
    #[serde(default, deserialize_with = "null_as_default")]
    pub manifests: Vec<Descriptor>,
    /// The manifest this one refers to (OCI 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations; a `null` map reads as empty.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "map_is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
    /// Fields this version does not know, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ImageIndex {
    /// An OCI image index of `manifests`.
    pub fn new(manifests: Vec<Descriptor>) -> Self {
        Self {
            schema_version: 2,
            media_type: Some(OCI_INDEX.to_owned()),
            artifact_type: None,
            manifests,
            subject: None,
            annotations: BTreeMap::new(),
            extra: Extra::new(),
        }
    }

    /// A Docker manifest list of `manifests`.
    pub fn docker(manifests: Vec<Descriptor>) -> Self {
        Self {
            media_type: Some(DOCKER_MANIFEST_LIST.to_owned()),
            ..Self::new(manifests)
        }
    }

    /// With annotation `key` = `value`.
    pub fn with_annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.annotations.insert(key.into(), value.into());
        self
    }

    /// With `subject`.
    pub fn with_subject(mut self, subject: Descriptor) -> Self {
        self.subject = Some(subject);
        self
    }

    /// With `artifact_type`.
    pub fn with_artifact_type(mut self, artifact_type: impl Into<String>) -> Self {
        self.artifact_type = Some(artifact_type.into());
        self
    }

    /// The media type to send it with: its own, else [`OCI_INDEX`].
    pub fn media_type(&self) -> &str {
        self.media_type.as_deref().unwrap_or(OCI_INDEX)
    }

    /// The JSON bytes to push.
    pub fn to_bytes(&self) -> Bytes {
        to_bytes(self)
    }
}

/// Serializes a type whose every field serializes (no map with non-text keys, no failing
/// `Serialize`), so this cannot fail; an empty body would be refused by the registry.
fn to_bytes<T: Serialize>(value: &T) -> Bytes {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .unwrap_or_default()
}

/// A layer of a schema 1 manifest (`fsLayers[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FsLayer {
    /// The layer blob's digest.
    pub blob_sum: Digest,
    /// Fields this version does not know, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A history entry of a schema 1 manifest (`history[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct V1History {
    /// The v1 image JSON of the layer, as text.
    #[serde(default)]
    pub v1_compatibility: String,
    /// Fields this version does not know, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A Docker schema 1 manifest (deprecated; `docker-registry` serves it when schema 1 is
/// enabled, signed as `application/vnd.docker.distribution.manifest.v1+prettyjws`). Its
/// digest is over [`v1_payload`], not over the signed bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestV1 {
    /// Always 1.
    pub schema_version: u32,
    /// The repository name.
    #[serde(default)]
    pub name: String,
    /// The tag.
    #[serde(default)]
    pub tag: String,
    /// The CPU architecture.
    #[serde(default)]
    pub architecture: String,
    /// The layers, **top first**; a `null` list reads as empty.
    #[serde(default, deserialize_with = "null_as_default")]
    pub fs_layers: Vec<FsLayer>,
    /// One entry per layer; a `null` list reads as empty.
    #[serde(default, deserialize_with = "null_as_default")]
    pub history: Vec<V1History>,
    /// The JWS signatures (kept as JSON; this library does not check them).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub signatures: Vec<Value>,
    /// Fields this version does not know, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A parsed manifest.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ManifestKind {
    /// An image manifest (OCI or Docker schema 2).
    Image(Box<ImageManifest>),
    /// An index (OCI) or manifest list (Docker).
    Index(Box<ImageIndex>),
    /// A Docker schema 1 manifest, signed or not.
    V1(Box<ManifestV1>),
    /// Another format (ORAS artifact, …) as JSON.
    Other(Value),
}

impl ManifestKind {
    /// Parses `bytes` of `media_type` (or, when that is empty or `application/json`, the
    /// document's own `mediaType`; failing that, its shape).
    ///
    /// # Errors
    ///
    /// A [`JsonError`] naming the JSON path of a value that does not fit the format.
    pub fn parse(media_type: &str, bytes: &[u8]) -> Result<Self, JsonError> {
        let value: Value = crate::json::from_slice(bytes)?;
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
        let has = |key: &str| value.get(key).is_some();
        let schema = value.get("schemaVersion").and_then(Value::as_i64);
        Ok(match mt {
            OCI_MANIFEST | DOCKER_MANIFEST => {
                Self::Image(Box::new(crate::json::from_value(value)?))
            }
            OCI_INDEX | DOCKER_MANIFEST_LIST => {
                Self::Index(Box::new(crate::json::from_value(value)?))
            }
            DOCKER_MANIFEST_V1_SIGNED | DOCKER_MANIFEST_V1 => {
                Self::V1(Box::new(crate::json::from_value(value)?))
            }
            _ if schema == Some(2) && has("manifests") => {
                Self::Index(Box::new(crate::json::from_value(value)?))
            }
            _ if schema == Some(2) && has("config") => {
                Self::Image(Box::new(crate::json::from_value(value)?))
            }
            _ if schema == Some(1) && has("fsLayers") => {
                Self::V1(Box::new(crate::json::from_value(value)?))
            }
            _ => Self::Other(value),
        })
    }
}

/// The bytes a signed schema 1 manifest's digest is computed over: the JWS payload, i.e. the
/// document without its `signatures` block, rebuilt from the signatures' protected headers
/// (`formatLength` bytes of the document, then the base64url-decoded `formatTail`), as
/// Docker's libtrust `ParsePrettySignature` and the distribution registry do. The registry
/// re-signs on every GET, so the served bytes change while this payload does not.
///
/// Returns `None` when `bytes` is not a signed schema 1 manifest (no `signatures`, or
/// protected headers that do not agree or do not fit the document).
pub fn v1_payload(bytes: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let decode = |text: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .ok()
    };
    let doc: Value = serde_json::from_slice(bytes).ok()?;
    let signatures = doc.get("signatures")?.as_array()?;
    let mut format: Option<(usize, Vec<u8>)> = None;
    for sig in signatures {
        let protected: Value =
            serde_json::from_slice(&decode(sig.get("protected")?.as_str()?)?).ok()?;
        let length = usize::try_from(protected.get("formatLength")?.as_u64()?).ok()?;
        let tail = decode(protected.get("formatTail")?.as_str()?)?;
        match &format {
            None => format = Some((length, tail)),
            Some(f) if *f == (length, tail) => {}
            Some(_) => return None,
        }
    }
    let (length, tail) = format?;
    let head = bytes.get(..length)?;
    let mut payload = Vec::with_capacity(length + tail.len());
    payload.extend_from_slice(head);
    payload.extend_from_slice(&tail);
    Some(payload)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn d(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    #[test]
    fn parses_the_formats() {
        let image = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","size":1469,"digest":"{}"}},"layers":[{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":2479,"digest":"{}"}}],"unknown":1}}"#,
            d('f'),
            d('2')
        );
        match ManifestKind::parse(DOCKER_MANIFEST, image.as_bytes()).unwrap() {
            ManifestKind::Image(m) => {
                assert_eq!(m.layers[0].size, 2479);
                assert_eq!(m.config.digest.as_str(), d('f'));
                assert_eq!(m.extra["unknown"], 1);
            }
            other => panic!("{other:?}"),
        }
        let index = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":7,"digest":"{}","platform":{{"architecture":"arm64","os":"linux","variant":"v8","os.features":["x"]}}}}]}}"#,
            d('a')
        );
        match ManifestKind::parse("application/json", index.as_bytes()).unwrap() {
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
        let v1 = br#"{"schemaVersion":1,"name":"x","tag":"t","fsLayers":[],"history":null}"#;
        assert!(matches!(
            ManifestKind::parse(DOCKER_MANIFEST_V1_SIGNED, v1).unwrap(),
            ManifestKind::V1(m) if m.name == "x" && m.history.is_empty()
        ));
        assert!(matches!(
            ManifestKind::parse("", v1).unwrap(),
            ManifestKind::V1(_)
        ));
        assert!(matches!(
            ManifestKind::parse(ORAS_ARTIFACT, br#"{"blobs":[]}"#).unwrap(),
            ManifestKind::Other(_)
        ));
        assert!(ManifestKind::parse(OCI_MANIFEST, b"not json").is_err());
    }

    /// What docker-registry stores and serves for a manifest pushed from Go with nil slices
    /// and maps; and one more of the class, every list and map of every type `null`.
    #[test]
    fn null_collections_read_as_empty() {
        let served = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"{OCI_CONFIG}","digest":"{}","size":2}},"layers":null,"annotations":null}}"#,
            d('c')
        );
        let ManifestKind::Image(m) = ManifestKind::parse(OCI_MANIFEST, served.as_bytes()).unwrap()
        else {
            panic!("image");
        };
        assert!(m.layers.is_empty() && m.annotations.is_empty());
        let all_null = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":1,"urls":null,"annotations":null,"platform":{{"architecture":"amd64","os":"linux","os.features":null,"features":null}}}}],"subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":1,"urls":null,"annotations":null}},"annotations":null}}"#,
            d('a'),
            d('b')
        );
        let ManifestKind::Index(i) = ManifestKind::parse(OCI_INDEX, all_null.as_bytes()).unwrap()
        else {
            panic!("index");
        };
        let p = i.manifests[0].platform.as_ref().unwrap();
        assert!(p.os_features.is_empty() && p.features.is_empty());
        assert!(i.manifests[0].urls.is_empty() && i.annotations.is_empty());
        let ManifestKind::Index(i) =
            ManifestKind::parse(OCI_INDEX, br#"{"schemaVersion":2,"manifests":null}"#).unwrap()
        else {
            panic!("index");
        };
        assert!(i.manifests.is_empty());
        let v1 = br#"{"schemaVersion":1,"fsLayers":null,"history":null,"signatures":null}"#;
        assert!(matches!(
            ManifestKind::parse(DOCKER_MANIFEST_V1_SIGNED, v1).unwrap(),
            ManifestKind::V1(m) if m.fs_layers.is_empty()
        ));
    }

    #[test]
    fn unknown_fields_are_kept_on_a_round_trip() {
        let doc = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"{OCI_CONFIG}","digest":"{}","size":2,"x-desc":[1]}},"layers":[],"x-top":{{"k":"v"}}}}"#,
            d('c')
        );
        let m: ImageManifest = crate::json::from_slice(doc.as_bytes()).unwrap();
        let back: Value = serde_json::from_slice(&m.to_bytes()).unwrap();
        let want: Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(back, want);
    }

    #[test]
    fn a_bad_value_names_its_path() {
        let doc = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"a","digest":"{}","size":2}},"layers":[{{"mediaType":"a","digest":"{}","size":1}},{{"mediaType":"a","digest":"sha256:nope","size":1}}]}}"#,
            d('a'),
            d('b')
        );
        let e = ManifestKind::parse(OCI_MANIFEST, doc.as_bytes()).unwrap_err();
        assert_eq!(e.path, "layers[1].digest", "{e}");
        let doc = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"a","digest":"{}","size":-2}}}}"#,
            d('a')
        );
        let e = ManifestKind::parse(OCI_MANIFEST, doc.as_bytes()).unwrap_err();
        assert_eq!(e.path, "config.size", "{e}");
    }

    #[test]
    fn builders_write_what_the_spec_reads() {
        let config = Descriptor::empty();
        assert_eq!(config.digest.as_str(), OCI_EMPTY_DIGEST);
        assert_eq!(config.size, 2);
        let layer = Descriptor::of(OCI_LAYER_GZIP, b"layer").with_annotation("k", "v");
        let m = ImageManifest::new(config.clone(), vec![layer.clone()])
            .with_artifact_type("application/x.test")
            .with_subject(Descriptor::of(OCI_MANIFEST, b"{}"));
        let v: Value = serde_json::from_slice(&m.to_bytes()).unwrap();
        assert_eq!(v["mediaType"], OCI_MANIFEST);
        assert_eq!(v["artifactType"], "application/x.test");
        assert_eq!(v["layers"][0]["annotations"]["k"], "v");
        assert!(v.get("annotations").is_none(), "empty maps are left out");
        assert_eq!(
            ManifestKind::parse(m.media_type(), &m.to_bytes()).unwrap(),
            ManifestKind::Image(Box::new(m))
        );
        let idx = ImageIndex::docker(vec![
            Descriptor::of(DOCKER_MANIFEST, b"x")
                .with_platform(Platform::new("linux", "arm64").with_variant("v8")),
        ]);
        assert_eq!(idx.media_type(), DOCKER_MANIFEST_LIST);
        let v: Value = serde_json::from_slice(&idx.to_bytes()).unwrap();
        assert_eq!(v["manifests"][0]["platform"]["variant"], "v8");
    }

    /// A schema 1 manifest signed the way libtrust signs it: the payload is the document up
    /// to `formatLength` plus `formatTail`; two signatures must agree.
    #[test]
    fn v1_payload_is_the_document_without_its_signatures() {
        use base64::Engine as _;
        let enc = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let payload = b"{\n   \"schemaVersion\": 1,\n   \"name\": \"r\",\n   \"fsLayers\": []\n}";
        // libtrust cuts before the closing "\n}" and appends the signatures there
        let length = payload.len() - 2;
        let tail = &payload[length..];
        let protected = enc(format!(
            r#"{{"formatLength":{length},"formatTail":"{}","time":"2024-01-01T00:00:00Z"}}"#,
            enc(tail)
        )
        .as_bytes());
        let signed = format!(
            "{},\n   \"signatures\": [{{\"header\": {{}}, \"signature\": \"x\", \"protected\": \"{protected}\"}}]\n}}",
            std::str::from_utf8(&payload[..length]).unwrap()
        );
        assert_eq!(v1_payload(signed.as_bytes()).unwrap(), payload);
        // two signatures that disagree: not a payload
        let other = enc(br#"{"formatLength":3,"formatTail":"fQ"}"#);
        let bad = signed.replace("}]\n}", &format!("}}, {{\"protected\": \"{other}\"}}]\n}}"));
        assert!(v1_payload(bad.as_bytes()).is_none());
        assert!(v1_payload(payload).is_none(), "unsigned: no payload");
    }
}
