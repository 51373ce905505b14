//! `GET|HEAD|DELETE /v2/<name>/blobs/<digest>`, with the optional 307 to the storage server.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;

use super::{Call, empty};
use crate::body::{parse_range, ranged};
use crate::context::Shared;
use crate::errors::AcrError;

/// How long a redirect URL stays valid.
const SIGNED_URL_SECS: u64 = 600;

/// The signature of a storage URL for `digest` expiring at `expiry` (Unix seconds).
pub(crate) fn storage_signature(shared: &Shared, digest: &str, expiry: u64) -> String {
    hex::encode(shared.tokens.mac(format!("{digest}|{expiry}").as_bytes()))
}

/// A signed, expiring storage-server URL for `digest` (like an Azure Blob SAS URL).
pub(crate) fn storage_url(shared: &Shared, digest: &str) -> Option<String> {
    let origin = shared.storage_origin.get()?;
    let expiry = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
        + SIGNED_URL_SECS;
    let sig = storage_signature(shared, digest, expiry);
    Some(format!("{origin}/blobs/{digest}?se={expiry}&sig={sig}"))
}

/// The blob operations.
pub(crate) async fn blob(call: Call, name: &str, digest: &str) -> Result<Response, AcrError> {
    match call.method {
        Method::GET => {
            let content = call.shared.store().blob(name, digest)?;
            if call.shared.redirect_blobs()
                && let Some(url) = storage_url(&call.shared, digest)
            {
                return Ok(empty(StatusCode::TEMPORARY_REDIRECT, &[("location", url)]));
            }
            let mut response = ranged(content, parse_range(call.header("range")), false);
            if let Ok(v) = HeaderValue::from_str(digest) {
                response.headers_mut().insert("docker-content-digest", v);
            }
            Ok(response)
        }
        Method::HEAD => {
            // ACR answers HEAD with the full size and ignores Range.
            let content = call.shared.store().blob(name, digest)?;
            let mut response = ranged(content, None, true);
            if let Ok(v) = HeaderValue::from_str(digest) {
                response.headers_mut().insert("docker-content-digest", v);
            }
            response.headers_mut().remove(header::ACCEPT_RANGES);
            Ok(response)
        }
        Method::DELETE => {
            call.shared.store().delete_blob(name, digest)?;
            Ok(empty(
                StatusCode::ACCEPTED,
                &[("docker-content-digest", digest.to_owned())],
            ))
        }
        _ => Err(AcrError::method_unsupported()),
    }
}
