//! Error responses in ACR's shape: `{"errors":[{"code":..,"message":..,"detail":..}]}` with
//! `Content-Type: application/json; charset=utf-8` (compact JSON plus a newline, as ACR sends).

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The message ACR puts on its refusals of locked artifacts. The code is not a standard
/// distribution code (docker prints such errors as `unknown: ...`); see the module docs.
pub const DISALLOWED_MESSAGE: &str = "The operation is disallowed on this registry, repository or image. View troubleshooting steps at https://aka.ms/acr/faq/#why-does-my-pull-or-push-request-fail-with-disallowed-operation";

/// One registry error, turned into a response by [`IntoResponse`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct AcrError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The error code (`NAME_UNKNOWN`, `DIGEST_INVALID`, ...).
    pub code: &'static str,
    /// The human-readable message.
    pub message: String,
    /// The optional detail (any JSON).
    pub detail: Option<Value>,
}

impl AcrError {
    /// An error without detail.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AcrError {
            status,
            code,
            message: message.into(),
            detail: None,
        }
    }

    /// Adds a detail value.
    pub fn with_detail(mut self, detail: Value) -> Self {
        self.detail = Some(detail);
        self
    }

    /// 404 `NAME_UNKNOWN` as `/v2` and the `/acr/v1` reads word it.
    pub fn name_unknown(name: &str) -> Self {
        AcrError::new(
            StatusCode::NOT_FOUND,
            "NAME_UNKNOWN",
            format!("repository \"{name}\" is not found"),
        )
    }

    /// 404 `NAME_UNKNOWN` as `DELETE /acr/v1/{name}` words it.
    pub fn name_unknown_for_delete(name: &str) -> Self {
        AcrError::new(
            StatusCode::NOT_FOUND,
            "NAME_UNKNOWN",
            "repository name not known to registry",
        )
        .with_detail(json!({ "name": name }))
    }

    /// 404 `MANIFEST_UNKNOWN` for a tag.
    pub fn tag_manifest_unknown(tag: &str) -> Self {
        AcrError::new(
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
            format!("manifest tagged by \"{tag}\" is not found"),
        )
        .with_detail(json!({ "Tag": tag }))
    }

    /// 404 `MANIFEST_UNKNOWN` for a digest.
    pub fn manifest_unknown() -> Self {
        AcrError::new(
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
            "manifest unknown",
        )
    }

    /// 404 `TAG_UNKNOWN` (the `/acr/v1/{name}/_tags/{tag}` operations).
    pub fn tag_unknown() -> Self {
        AcrError::new(
            StatusCode::NOT_FOUND,
            "TAG_UNKNOWN",
            "the specified tag does not exist",
        )
    }

    /// 404 `BLOB_UNKNOWN`.
    pub fn blob_unknown(digest: &str) -> Self {
        AcrError::new(
            StatusCode::NOT_FOUND,
            "BLOB_UNKNOWN",
            "blob unknown to registry",
        )
        .with_detail(json!({ "digest": digest }))
    }

    /// 404 `BLOB_UPLOAD_UNKNOWN`.
    pub fn upload_unknown() -> Self {
        AcrError::new(
            StatusCode::NOT_FOUND,
            "BLOB_UPLOAD_UNKNOWN",
            "blob upload unknown to registry",
        )
    }

    /// 404 `BLOB_UPLOAD_INVALID` (stale or forged `_state`, as distribution answers).
    pub fn upload_invalid() -> Self {
        AcrError::new(
            StatusCode::NOT_FOUND,
            "BLOB_UPLOAD_INVALID",
            "blob upload invalid",
        )
    }

    /// 400 `DIGEST_INVALID` with the recorded message and detail.
    pub fn digest_invalid() -> Self {
        AcrError::new(
            StatusCode::BAD_REQUEST,
            "DIGEST_INVALID",
            "provided digest did not match uploaded content",
        )
        .with_detail(json!("digest parsing failed"))
    }

    /// 400 `MANIFEST_INVALID`.
    pub fn manifest_invalid(reason: &str) -> Self {
        AcrError::new(
            StatusCode::BAD_REQUEST,
            "MANIFEST_INVALID",
            "manifest invalid",
        )
        .with_detail(json!({ "Reason": reason }))
    }

    /// 400 `MANIFEST_BLOB_UNKNOWN`.
    pub fn manifest_blob_unknown(digest: &str) -> Self {
        AcrError::new(
            StatusCode::BAD_REQUEST,
            "MANIFEST_BLOB_UNKNOWN",
            "blob unknown to registry",
        )
        .with_detail(json!({ "digest": digest }))
    }

    /// 405 `UNSUPPORTED` for `DELETE /v2/<name>/manifests/<tag>`.
    pub fn delete_by_tag() -> Self {
        AcrError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "UNSUPPORTED",
            "A manifest can only be deleted by digest.",
        )
    }

    /// 405 `UNSUPPORTED` for a method the route does not serve.
    pub fn method_unsupported() -> Self {
        AcrError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "UNSUPPORTED",
            "The operation is unsupported.",
        )
    }

    /// The refusal of an operation on a locked repository, tag or manifest.
    pub fn disallowed() -> Self {
        AcrError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "REGISTRY_DISALLOWED_OPERATION",
            DISALLOWED_MESSAGE,
        )
    }

    /// 400 with a code and message (bad paging parameters, bad JSON bodies, ...).
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        AcrError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401 `UNAUTHORIZED` with a message and no challenge (the `/oauth2` endpoints).
    pub fn unauthorized(message: impl Into<String>) -> Self {
        AcrError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let (Some(detail), Some(map)) = (&self.detail, error.as_object_mut()) {
            map.insert("detail".into(), detail.clone());
        }
        json!({ "errors": [error] })
    }
}

impl IntoResponse for AcrError {
    fn into_response(self) -> Response {
        json_response(self.status, &self.body())
    }
}

/// A JSON response as ACR sends it: compact, newline-terminated, `application/json; charset=utf-8`.
pub fn json_response(status: StatusCode, value: &Value) -> Response {
    let mut text = value.to_string();
    text.push('\n');
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// The plain-text `404 page not found` that ACR answers for a path no route matches.
pub fn page_not_found() -> Response {
    let mut response = Response::new(Body::from("404 page not found\n"));
    *response.status_mut() = StatusCode::NOT_FOUND;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
