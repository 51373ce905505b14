//! The blob storage server that redirected blob GETs land on (ACR redirects to Azure Blob
//! Storage). It serves `GET|HEAD /blobs/<digest>?se=<expiry>&sig=<signature>` with Range support,
//! refuses a bad or expired signature with 403 (`AuthenticationFailed`, as Azure Storage does),
//! refuses any request carrying an `Authorization` header with 401 `InvalidAuthenticationInfo`
//! (as Azure Storage does with a foreign token), and logs each request with [`Server::Storage`],
//! including whether it carried that header (it must not: credentials never follow a redirect to
//! another host).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use percent_encoding::percent_decode_str;

use super::{FaultEffect, LogGuard, apply_fault, decoded_path, drop_connection, parse_query};
use crate::body::{parse_range, ranged, truncate};
use crate::context::{Shared, lock};
use crate::log::Server;
use crate::names::is_sha256_digest;
use crate::server::ConnectionControl;

use super::blobs::storage_signature;

fn plain(status: StatusCode, code: &str) -> Response {
    let body =
        format!("<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code></Error>");
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    response
}

/// The storage server's only handler.
pub(crate) async fn storage(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, _body) = request.into_parts();
    let mut log = LogGuard::new(&shared, Server::Storage, &parts);
    let connection = parts.extensions.get::<ConnectionControl>().cloned();
    let fault = lock(&shared.faults).hit(
        Server::Storage,
        parts.method.as_str(),
        &decoded_path(parts.uri.path()),
    );
    let mut effect = FaultEffect::None;
    if let Some(fault) = &fault {
        log.set_fault(fault);
        match apply_fault(fault, &parts.method).await {
            Ok(e) => effect = e,
            Err(response) => {
                log.finish(response.status());
                return response;
            }
        }
    }
    if let FaultEffect::DropRequest(..) = effect {
        return drop_connection(connection.as_ref()).await;
    }
    let mut response = serve(&shared, &parts);
    if let FaultEffect::TruncateResponse(keep) = effect {
        response = truncate(response, keep).await;
    }
    log.finish(response.status());
    response
}

fn serve(shared: &Shared, parts: &axum::http::request::Parts) -> Response {
    let head = parts.method == Method::HEAD;
    if parts.method != Method::GET && !head {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "UnsupportedHttpVerb");
    }
    let digest = parts
        .uri
        .path()
        .strip_prefix("/blobs/")
        .map(|d| percent_decode_str(d).decode_utf8_lossy().into_owned())
        .filter(|d| is_sha256_digest(d));
    let Some(digest) = digest else {
        return plain(StatusCode::NOT_FOUND, "ResourceNotFound");
    };
    if parts.headers.contains_key(header::AUTHORIZATION) {
        // Azure Storage does not take the registry's token: a client that forwards it fails.
        return plain(StatusCode::UNAUTHORIZED, "InvalidAuthenticationInfo");
    }
    let query = parse_query(parts.uri.query());
    let get = |k: &str| {
        query
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let expiry = get("se").and_then(|s| s.parse::<u64>().ok());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let signed = match (expiry, get("sig")) {
        (Some(expiry), Some(sig)) => {
            expiry > now && sig == storage_signature(shared, &digest, expiry)
        }
        _ => false,
    };
    if !signed {
        return plain(StatusCode::FORBIDDEN, "AuthenticationFailed");
    }
    let Some(content) = shared.store().blob_content(&digest) else {
        return plain(StatusCode::NOT_FOUND, "BlobNotFound");
    };
    let range = parse_range(
        parts
            .headers
            .get(header::RANGE)
            .and_then(|v| v.to_str().ok()),
    );
    let mut response = ranged(content, range, head);
    let headers = response.headers_mut();
    headers.insert("x-ms-blob-type", HeaderValue::from_static("BlockBlob"));
    if let Ok(v) = HeaderValue::from_str(&format!("\"0x{}\"", &digest[7..23].to_uppercase())) {
        headers.insert(header::ETAG, v);
    }
    headers.insert(
        header::SERVER,
        HeaderValue::from_static("Windows-Azure-Blob/1.0"),
    );
    response
}
