//! Blob upload sessions: `POST /v2/<name>/blobs/uploads/` (start, mount, monolithic) and
//! `GET|PATCH|PUT|DELETE /v2/<name>/blobs/uploads/<uuid>?_nouploadcache=false&_state=<token>`.
//!
//! The `_state` token is shaped like ACR's (and distribution's): URL-safe base64 of a 32-byte
//! HMAC followed by `{"Name","UUID","Offset","StartedAt"}`. Each `PATCH` answers a new Location
//! with the new offset.
//!
//! **The session rule** (strict upload state, the default), as CNCF distribution enforces it in
//! `registry/handlers/blobupload.go` (`blobUploadDispatcher`) on every request to an upload URL:
//! * a `_state` that is missing, undecodable, forged (bad HMAC) or names another repository or
//!   session is refused with 404 `BLOB_UPLOAD_INVALID`; the session is untouched;
//! * a valid `_state` whose `Offset` differs from the bytes the session holds ("upload resumed
//!   at wrong offset") is refused with 404 `BLOB_UPLOAD_INVALID` **and cancels the session**: every
//!   later request, with any `_state`, gets 404 `BLOB_UPLOAD_UNKNOWN`.
//!
//! So a `PATCH` cut mid-body that kept part of the chunk (the registry stores what it read) ends
//! the session at the client's next request: the client's last Location is stale. With
//! [`crate::EmulatorBuilder::strict_upload_state`]`(false)` offsets are not compared
//! and a request without `_state` is accepted (kinder than any real registry; for tests of
//! other things only).
use axum::http::{Method, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use bytes::Bytes;
use jiff::Timestamp;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::{Call, drop_connection, empty, read_at_most};
use crate::context::Shared;
use crate::errors::AcrError;
use crate::names::{is_repository_name, is_sha256_digest, sha256_digest};
use crate::paging::encode_query_value;
use crate::store::Upload;

/// The `_state` token for a session at `offset`.
fn state_token(
    shared: &Shared,
    name: &str,
    uuid: &str,
    offset: usize,
    started: Timestamp,
) -> String {
    let payload = json!({
        "Name": name,
        "UUID": uuid,
        "Offset": offset,
        "StartedAt": started.to_string(),
    })
    .to_string();
    let mut raw = shared.tokens.mac(payload.as_bytes()).to_vec();
    raw.extend_from_slice(payload.as_bytes());
    URL_SAFE.encode(raw)
}

/// The relative Location of a session at `offset`.
fn location(shared: &Shared, name: &str, uuid: &str, offset: usize, started: Timestamp) -> String {
    let state = state_token(shared, name, uuid, offset, started);
    format!(
        "/v2/{name}/blobs/uploads/{uuid}?_nouploadcache=false&_state={}",
        encode_query_value(&state)
    )
}

/// ACR's `Range` value: `0-<last byte>`, `0-0` for an empty session.
fn range_value(size: usize) -> String {
    format!("0-{}", size.saturating_sub(1))
}

/// The headers of a session response: Location, Range, Docker-Upload-UUID.
fn session_headers(
    shared: &Shared,
    name: &str,
    uuid: &str,
    size: usize,
    started: Timestamp,
) -> Vec<(&'static str, String)> {
    vec![
        ("location", location(shared, name, uuid, size, started)),
        ("range", range_value(size)),
        ("docker-upload-uuid", uuid.to_owned()),
    ]
}

/// Why a request's `_state` does not fit its session.
enum StateMismatch {
    /// Missing, undecodable, forged, or for another session: refused, session untouched.
    Invalid,
    /// A valid token at another offset than the bytes held: refused, and the session is
    /// cancelled (distribution's "upload resumed at wrong offset").
    WrongOffset,
}

/// Checks the `_state` query parameter against the session (see the module docs).
fn check_state(call: &Call, name: &str, uuid: &str, upload: &Upload) -> Result<(), StateMismatch> {
    let strict = call.shared.settings.strict_upload_state;
    let Some(state) = call.query("_state") else {
        return if strict {
            Err(StateMismatch::Invalid)
        } else {
            Ok(())
        };
    };
    let raw = URL_SAFE
        .decode(state)
        .or_else(|_| URL_SAFE_NO_PAD.decode(state.trim_end_matches('=')))
        .map_err(|_| StateMismatch::Invalid)?;
    if raw.len() <= 32 {
        return Err(StateMismatch::Invalid);
    }
    let (mac, payload) = raw.split_at(32);
    if mac != call.shared.tokens.mac(payload) {
        return Err(StateMismatch::Invalid);
    }
    let payload: Value = serde_json::from_slice(payload).map_err(|_| StateMismatch::Invalid)?;
    if payload["Name"] != name || payload["UUID"] != uuid {
        return Err(StateMismatch::Invalid);
    }
    if strict && payload["Offset"].as_u64() != Some(upload.data.len() as u64) {
        return Err(StateMismatch::WrongOffset);
    }
    Ok(())
}

/// `POST /v2/<name>/blobs/uploads/`: mount (`?mount=&from=`), monolithic (`?digest=`) or a new
/// session.
pub(crate) async fn start(mut call: Call, name: &str) -> Result<Response, AcrError> {
    if call.method != Method::POST {
        return Err(AcrError::method_unsupported());
    }
    if let (Some(digest), Some(from)) = (call.query("mount"), call.query("from")) {
        // Mount needs pull on the source too; otherwise (or if the source lacks the blob) fall
        // back to a new session, as the OCI spec says.
        let can_pull = is_repository_name(from) && call.access.allows("repository", from, "pull");
        let mounted = is_sha256_digest(digest) && can_pull && {
            let mut store = call.shared.store();
            store.has_blob(from, digest) && store.link_blob(name, digest)
        };
        if mounted {
            return Ok(empty(
                StatusCode::CREATED,
                &[
                    ("location", format!("/v2/{name}/blobs/{digest}")),
                    ("docker-content-digest", digest.to_owned()),
                ],
            ));
        }
    } else if let Some(digest) = call.query("digest").map(str::to_owned) {
        let body = call.read_body().await?;
        if sha256_digest(&body) != digest {
            return Err(AcrError::digest_invalid());
        }
        call.shared.store().store_blob(name, body);
        return Ok(empty(
            StatusCode::CREATED,
            &[
                ("location", format!("/v2/{name}/blobs/{digest}")),
                ("docker-content-digest", digest),
            ],
        ));
    }
    let uuid = call.shared.ids.uuid();
    let started = {
        let mut store = call.shared.store();
        let started = store.now();
        store.uploads.insert(
            uuid.clone(),
            Upload {
                name: name.to_owned(),
                data: Vec::new(),
                started,
            },
        );
        started
    };
    Ok(empty(
        StatusCode::ACCEPTED,
        &session_headers(&call.shared, name, &uuid, 0, started),
    ))
}

/// Parses ACR's `Content-Range: <start>-<end>` (a `bytes ` prefix is tolerated).
fn content_range(value: &str) -> Option<(u64, u64)> {
    let value = value.trim();
    let value = value.strip_prefix("bytes ").unwrap_or(value);
    let value = value.split('/').next()?;
    let (start, end) = value.split_once('-')?;
    let (start, end) = (start.trim().parse().ok()?, end.trim().parse().ok()?);
    (end >= start).then_some((start, end))
}

/// The session operations.
pub(crate) async fn session(mut call: Call, name: &str, uuid: &str) -> Result<Response, AcrError> {
    let shared = call.shared.clone();
    // Look the session up and check `_state` before touching the body.
    let (size, started) = {
        let mut store = shared.store();
        let upload = store
            .uploads
            .get(uuid)
            .filter(|u| u.name == name)
            .ok_or_else(AcrError::upload_unknown)?;
        match check_state(&call, name, uuid, upload) {
            Ok(()) => (upload.data.len(), upload.started),
            Err(StateMismatch::Invalid) => return Err(AcrError::upload_invalid()),
            Err(StateMismatch::WrongOffset) => {
                store.uploads.remove(uuid);
                return Err(AcrError::upload_invalid());
            }
        }
    };
    match call.method {
        Method::GET => Ok(empty(
            StatusCode::NO_CONTENT,
            &session_headers(&shared, name, uuid, size, started),
        )),
        Method::DELETE => {
            shared.store().uploads.remove(uuid);
            Ok(empty(StatusCode::NO_CONTENT, &[]))
        }
        Method::PATCH => {
            if let Some(value) = call.header("content-range") {
                let ok = content_range(value).is_some_and(|(start, _)| start == size as u64);
                if !ok {
                    return Ok(empty(
                        StatusCode::RANGE_NOT_SATISFIABLE,
                        &session_headers(&shared, name, uuid, size, started),
                    ));
                }
            }
            let body = call.body.take().unwrap_or_default();
            if let Some((limit, keep)) = call.drop_after {
                let (partial, _) = read_at_most(body, limit).await;
                if keep && let Some(upload) = shared.store().uploads.get_mut(uuid) {
                    upload.data.extend_from_slice(&partial);
                }
                return drop_connection(call.connection.as_ref()).await;
            }
            let (chunk, complete) = read_at_most(body, super::MAX_BODY).await;
            if !complete {
                // The client went away mid-chunk (or sent more than the limit): like
                // distribution, keep what was read, so the client's Location goes stale.
                if let Some(upload) = shared.store().uploads.get_mut(uuid) {
                    upload.data.extend_from_slice(&chunk);
                }
                return Err(AcrError::new(
                    StatusCode::BAD_REQUEST,
                    "BLOB_UPLOAD_INVALID",
                    "incomplete chunk",
                ));
            }
            if let Some((start, end)) = call.header("content-range").and_then(content_range)
                && end - start + 1 != chunk.len() as u64
            {
                return Ok(empty(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    &session_headers(&shared, name, uuid, size, started),
                ));
            }
            let size = {
                let mut store = shared.store();
                let upload = store
                    .uploads
                    .get_mut(uuid)
                    .ok_or_else(AcrError::upload_unknown)?;
                upload.data.extend_from_slice(&chunk);
                upload.data.len()
            };
            Ok(empty(
                StatusCode::ACCEPTED,
                &session_headers(&shared, name, uuid, size, started),
            ))
        }
        Method::PUT => {
            let last = call.read_body().await?;
            let digest = call.query("digest").map(str::to_owned);
            let mut store = shared.store();
            let mut upload = store
                .uploads
                .remove(uuid)
                .ok_or_else(AcrError::upload_unknown)?;
            upload.data.extend_from_slice(&last);
            let actual = format!("sha256:{}", hex::encode(Sha256::digest(&upload.data)));
            // A failed completion ends the session, as distribution cancels it.
            let digest = digest
                .filter(|d| is_sha256_digest(d) && *d == actual)
                .ok_or_else(AcrError::digest_invalid)?;
            store.store_blob(name, Bytes::from(upload.data));
            Ok(empty(
                StatusCode::CREATED,
                &[
                    ("location", format!("/v2/{name}/blobs/{digest}")),
                    ("docker-content-digest", digest),
                ],
            ))
        }
        _ => Err(AcrError::method_unsupported()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_acr_content_ranges() {
        assert_eq!(content_range("0-1238"), Some((0, 1238)));
        assert_eq!(content_range("bytes 1239-2478/*"), Some((1239, 2478)));
        assert_eq!(content_range("5-4"), None);
        assert_eq!(content_range("x"), None);
        assert_eq!(range_value(0), "0-0");
        assert_eq!(range_value(11), "0-10");
    }
}
