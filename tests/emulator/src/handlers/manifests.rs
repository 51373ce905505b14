//! `GET|HEAD|PUT|DELETE /v2/<name>/manifests/<reference>`.

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;

use super::{Call, empty};
use crate::errors::AcrError;
use crate::store::Reference;

/// ACR's manifest size limit.
const MAX_MANIFEST: usize = 4 * 1024 * 1024;

/// The manifest operations.
pub(crate) async fn manifest(
    mut call: Call,
    name: &str,
    reference: &Reference,
) -> Result<Response, AcrError> {
    match call.method {
        Method::GET | Method::HEAD => {
            let (digest, media_type, bytes) = call.shared.store().pull_manifest(name, reference)?;
            let length = bytes.len();
            let body = if call.method == Method::HEAD {
                Body::empty()
            } else {
                Body::from(bytes)
            };
            let mut response = Response::new(body);
            let headers = response.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&media_type) {
                headers.insert(header::CONTENT_TYPE, v);
            }
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
            if let Ok(v) = HeaderValue::from_str(&digest) {
                headers.insert("docker-content-digest", v);
            }
            if let Ok(v) = HeaderValue::from_str(&format!("\"{digest}\"")) {
                headers.insert(header::ETAG, v);
            }
            Ok(response)
        }
        Method::PUT => {
            let bytes = call.read_body().await?;
            if bytes.len() > MAX_MANIFEST {
                return Err(AcrError::manifest_invalid("manifest exceeds 4 MiB"));
            }
            let media_type = match call.header("content-type") {
                Some(ct) => ct.split(';').next().unwrap_or_default().trim().to_owned(),
                None => serde_json::from_slice::<serde_json::Value>(&bytes)
                    .ok()
                    .and_then(|v| v.get("mediaType")?.as_str().map(str::to_owned))
                    .ok_or_else(|| AcrError::manifest_invalid("no media type"))?,
            };
            let digest =
                call.shared
                    .store()
                    .put_manifest(name, reference, &media_type, bytes, true)?;
            Ok(empty(
                StatusCode::CREATED,
                &[
                    ("location", format!("/v2/{name}/manifests/{digest}")),
                    ("docker-content-digest", digest),
                ],
            ))
        }
        Method::DELETE => match reference {
            Reference::Tag(_) => Err(AcrError::delete_by_tag()),
            Reference::Digest(digest) => {
                call.shared.store().delete_manifest(name, digest)?;
                Ok(empty(StatusCode::ACCEPTED, &[]))
            }
        },
        _ => Err(AcrError::method_unsupported()),
    }
}
