//! What the emulator reads out of a manifest: validation against its media type, the blobs and
//! child manifests it references, and the attributes ACR reports (architecture, os, config
//! media type, image size, platform references).

use serde_json::Value;

use super::errors::AcrError;

/// Docker image manifest v2 schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker image config.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// A content descriptor (`mediaType`, `digest`, `size`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Descriptor {
    pub media_type: Option<String>,
    pub digest: String,
    pub size: u64,
    /// Foreign layers carry `urls` and need not be in the registry.
    pub foreign: bool,
    pub platform: Option<(String, String)>,
}

/// A parsed manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// An image (or artifact) manifest: a config and layers.
    Image {
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
    /// An index / manifest list.
    Index { manifests: Vec<Descriptor> },
}

fn descriptor(value: &Value) -> Option<Descriptor> {
    let platform = value.get("platform").map(|p| {
        (
            p.get("architecture")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            p.get("os")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        )
    });
    Some(Descriptor {
        media_type: value
            .get("mediaType")
            .and_then(Value::as_str)
            .map(str::to_owned),
        digest: value.get("digest")?.as_str()?.to_owned(),
        size: value.get("size").and_then(Value::as_u64).unwrap_or(0),
        foreign: value
            .get("urls")
            .and_then(Value::as_array)
            .is_some_and(|u| !u.is_empty()),
        platform,
    })
}

/// Checks `bytes` against `content_type` and parses what the emulator needs.
///
/// Rules (distribution's, as far as ACR showed them): the body is a JSON object; a `mediaType`
/// field, when present, must equal the `Content-Type`; the Docker types require that field
/// (ACR answered `MANIFEST_INVALID` to an OCI body sent as a Docker manifest); image manifests
/// need `config` and `layers`, indexes need `manifests`. Other media types (artifacts) are
/// stored without further checks.
pub(crate) fn parse(content_type: &str, bytes: &[u8]) -> Result<Option<Parsed>, AcrError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| AcrError::manifest_invalid(&format!("invalid JSON: {e}")))?;
    let object = value
        .as_object()
        .ok_or_else(|| AcrError::manifest_invalid("not a JSON object"))?;
    let declared = object.get("mediaType").and_then(Value::as_str);
    if let Some(declared) = declared
        && declared != content_type
    {
        return Err(AcrError::manifest_invalid(&format!(
            "mediaType {declared} does not match Content-Type {content_type}"
        )));
    }
    if matches!(content_type, DOCKER_MANIFEST | DOCKER_LIST) && declared.is_none() {
        return Err(AcrError::manifest_invalid("mediaType is required"));
    }
    let invalid = |why: &str| AcrError::manifest_invalid(why);
    match content_type {
        DOCKER_MANIFEST | OCI_MANIFEST => {
            if object.get("schemaVersion").and_then(Value::as_u64) != Some(2) {
                return Err(invalid("schemaVersion must be 2"));
            }
            let config = object
                .get("config")
                .and_then(descriptor)
                .ok_or_else(|| invalid("config descriptor missing"))?;
            let layers = object
                .get("layers")
                .and_then(Value::as_array)
                .ok_or_else(|| invalid("layers missing"))?
                .iter()
                .map(|l| descriptor(l).ok_or_else(|| invalid("bad layer descriptor")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some(Parsed::Image { config, layers }))
        }
        DOCKER_LIST | OCI_INDEX => {
            if object.get("schemaVersion").and_then(Value::as_u64) != Some(2) {
                return Err(invalid("schemaVersion must be 2"));
            }
            let manifests = object
                .get("manifests")
                .and_then(Value::as_array)
                .ok_or_else(|| invalid("manifests missing"))?
                .iter()
                .map(|m| descriptor(m).ok_or_else(|| invalid("bad manifest descriptor")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some(Parsed::Index { manifests }))
        }
        _ => Ok(None),
    }
}

/// `architecture` and `os` from an image config blob, when it is an image config.
pub(crate) fn platform_of_config(
    config_media_type: Option<&str>,
    config: &[u8],
) -> Option<(String, String)> {
    if !matches!(config_media_type, Some(DOCKER_CONFIG | OCI_CONFIG)) {
        return None;
    }
    let value: Value = serde_json::from_slice(config).ok()?;
    let arch = value.get("architecture")?.as_str()?.to_owned();
    let os = value.get("os")?.as_str()?.to_owned();
    Some((arch, os))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_a_media_type_mismatch_and_a_docker_body_without_media_type() {
        let oci = br#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:a","size":1},"layers":[]}"#;
        assert!(matches!(
            parse(OCI_MANIFEST, oci),
            Ok(Some(Parsed::Image { .. }))
        ));
        assert_eq!(
            parse(DOCKER_MANIFEST, oci).unwrap_err().code,
            "MANIFEST_INVALID"
        );
        let docker = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"digest":"sha256:a","size":1},"layers":[]}"#;
        assert!(parse(DOCKER_MANIFEST, docker).is_ok());
        assert_eq!(
            parse(OCI_MANIFEST, docker).unwrap_err().code,
            "MANIFEST_INVALID"
        );
        assert_eq!(
            parse(OCI_MANIFEST, b"[]").unwrap_err().code,
            "MANIFEST_INVALID"
        );
        assert_eq!(parse("application/x-artifact", b"{}").unwrap(), None);
    }

    #[test]
    fn reads_platform_from_image_configs_only() {
        let config = br#"{"architecture":"arm64","os":"linux"}"#;
        assert_eq!(
            platform_of_config(Some(OCI_CONFIG), config),
            Some(("arm64".into(), "linux".into()))
        );
        assert_eq!(platform_of_config(Some("application/x"), config), None);
    }
}
