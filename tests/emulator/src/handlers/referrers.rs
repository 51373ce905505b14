//! `GET /v2/<name>/referrers/<digest>`: the referrers API of the OCI distribution spec v1.1.0
//! ("Listing Referrers", end-12a/end-12b), which ACR serves.
//!
//! The answer is an image index (`application/vnd.oci.image.index.v1+json`) of the descriptors of
//! every manifest in the repository whose `subject` is the given digest. Each descriptor carries
//! the manifest's `artifactType` (or, when it has none, its config's media type) and its
//! `annotations`, as the specification says. With `artifactType=T` only those of type `T` are
//! listed and the response says `OCI-Filters-Applied: artifactType`. A registry that serves the
//! API never answers 404 for an unknown subject: it answers an empty index.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::Call;
use crate::errors::{AcrError, json_response};

/// The media type of the answer (OCI image spec, image index).
const INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// The descriptor of a stored manifest when its `subject` is `subject`.
fn referrer(digest: &str, media_type: &str, bytes: &[u8], subject: &str) -> Option<Value> {
    let doc: Value = serde_json::from_slice(bytes).ok()?;
    let points_at = doc
        .get("subject")
        .and_then(|s| s.get("digest"))
        .and_then(Value::as_str);
    if points_at != Some(subject) {
        return None;
    }
    let artifact_type = doc.get("artifactType").and_then(Value::as_str).or_else(|| {
        doc.get("config")
            .and_then(|c| c.get("mediaType"))
            .and_then(Value::as_str)
    });
    let mut descriptor = Map::new();
    descriptor.insert("mediaType".into(), json!(media_type));
    descriptor.insert("digest".into(), json!(digest));
    descriptor.insert("size".into(), json!(bytes.len()));
    if let Some(t) = artifact_type {
        descriptor.insert("artifactType".into(), json!(t));
    }
    if let Some(a) = doc.get("annotations").filter(|a| a.is_object()) {
        descriptor.insert("annotations".into(), a.clone());
    }
    Some(Value::Object(descriptor))
}

/// `GET /v2/<name>/referrers/<digest>[?artifactType=T]`.
pub(crate) async fn referrers(call: Call, name: &str, subject: &str) -> Result<Response, AcrError> {
    let filter = call
        .query
        .iter()
        .find(|(k, _)| k == "artifactType")
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty());
    let manifests: Vec<Value> = {
        let store = call.shared.store();
        match store.known_repo(name) {
            Ok(repo) => repo
                .manifests
                .iter()
                .filter_map(|(digest, record)| {
                    referrer(digest, &record.media_type, &record.bytes, subject)
                })
                .filter(|d| {
                    filter
                        .as_deref()
                        .is_none_or(|t| d.get("artifactType").and_then(Value::as_str) == Some(t))
                })
                .collect(),
            // No manifest at all: no referrers either (never a 404 from a registry with the API).
            Err(_) => Vec::new(),
        }
    };
    let body = json!({ "schemaVersion": 2, "mediaType": INDEX, "manifests": manifests });
    let mut response = json_response(StatusCode::OK, &body);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(INDEX));
    if filter.is_some() {
        response.headers_mut().insert(
            "OCI-Filters-Applied",
            HeaderValue::from_static("artifactType"),
        );
    }
    Ok(response)
}
