//! The attribute types the emulator stores and the JSON bodies of the `/acr/v1` operations
//! (field names exactly as on the wire: the models of the ACR REST reference,
//! <https://learn.microsoft.com/rest/api/containerregistry/>).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::store::{ManifestRecord, Repo, TagRecord};
use super::time::format_acr;

/// The four lock flags of a repository, tag or manifest (`changeableAttributes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attributes {
    /// Whether the item may be deleted.
    pub delete_enabled: bool,
    /// Whether the item may be overwritten (and deleted).
    pub write_enabled: bool,
    /// Whether the item may be pulled.
    pub read_enabled: bool,
    /// Whether the item appears in listings.
    pub list_enabled: bool,
}

impl Default for Attributes {
    fn default() -> Self {
        Attributes {
            delete_enabled: true,
            write_enabled: true,
            read_enabled: true,
            list_enabled: true,
        }
    }
}

/// A partial change of [`Attributes`]: the body of the `PATCH` operations, where only the fields
/// being changed are sent. Unknown fields (`teleportEnabled`, `quarantineState`, ...) are ignored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributesUpdate {
    /// New `deleteEnabled`, if changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_enabled: Option<bool>,
    /// New `writeEnabled`, if changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_enabled: Option<bool>,
    /// New `readEnabled`, if changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_enabled: Option<bool>,
    /// New `listEnabled`, if changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_enabled: Option<bool>,
}

impl AttributesUpdate {
    /// `writeEnabled=false, deleteEnabled=false`: what `az acr repository update --write-enabled
    /// false --delete-enabled false` sends.
    pub fn locked() -> Self {
        AttributesUpdate {
            write_enabled: Some(false),
            delete_enabled: Some(false),
            ..Default::default()
        }
    }

    /// Applies the set fields to `attributes`.
    pub fn apply(&self, attributes: &mut Attributes) {
        if let Some(v) = self.delete_enabled {
            attributes.delete_enabled = v;
        }
        if let Some(v) = self.write_enabled {
            attributes.write_enabled = v;
        }
        if let Some(v) = self.read_enabled {
            attributes.read_enabled = v;
        }
        if let Some(v) = self.list_enabled {
            attributes.list_enabled = v;
        }
    }
}

fn attributes_json(a: &Attributes) -> Value {
    json!({
        "deleteEnabled": a.delete_enabled,
        "writeEnabled": a.write_enabled,
        "readEnabled": a.read_enabled,
        "listEnabled": a.list_enabled,
    })
}

/// `RepositoryAttributes` (GET/PATCH `/acr/v1/{name}`).
pub(crate) fn repository_json(registry: &str, name: &str, repo: &Repo) -> Value {
    let mut attrs = attributes_json(&repo.attributes);
    if let Some(map) = attrs.as_object_mut() {
        // The preview field the live service still returns.
        map.insert("teleportEnabled".into(), json!(false));
    }
    json!({
        "registry": registry,
        "imageName": name,
        "createdTime": format_acr(repo.created),
        "lastUpdateTime": format_acr(repo.updated),
        "manifestCount": repo.manifests.len(),
        "tagCount": repo.tags.len(),
        "changeableAttributes": attrs,
    })
}

/// `TagAttributesBase` (one entry of `_tags`, the `tag` of a `TagAttributes`).
pub(crate) fn tag_json(name: &str, tag: &TagRecord) -> Value {
    json!({
        "name": name,
        "digest": tag.digest,
        "createdTime": format_acr(tag.created),
        "lastUpdateTime": format_acr(tag.updated),
        "signed": false,
        "changeableAttributes": attributes_json(&tag.attributes),
    })
}

/// `ManifestAttributesBase` (one entry of `_manifests`, the `manifest` of a `ManifestAttributes`).
pub(crate) fn manifest_json(digest: &str, record: &ManifestRecord, tags: Vec<String>) -> Value {
    let mut value = json!({
        "digest": digest,
        "imageSize": record.image_size,
        "createdTime": format_acr(record.created),
        "lastUpdateTime": format_acr(record.updated),
        "mediaType": record.media_type,
        "changeableAttributes": attributes_json(&record.attributes),
    });
    if let Some(map) = value.as_object_mut() {
        if let Some(arch) = &record.architecture {
            map.insert("architecture".into(), json!(arch));
        }
        if let Some(os) = &record.os {
            map.insert("os".into(), json!(os));
        }
        if let Some(config) = &record.config_media_type {
            map.insert("configMediaType".into(), json!(config));
        }
        if !tags.is_empty() {
            map.insert("tags".into(), json!(tags));
        }
        if !record.references.is_empty() {
            let refs: Vec<Value> = record
                .references
                .iter()
                .map(|r| json!({"digest": r.digest, "architecture": r.architecture, "os": r.os}))
                .collect();
            map.insert("references".into(), Value::Array(refs));
        }
    }
    value
}
