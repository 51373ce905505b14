//! The request handlers. [`registry`] is the one axum handler of the registry server: it logs the
//! request, applies injected faults, routes by hand ([`super::route`]), authorizes
//! ([`super::auth`]) and dispatches to the operation's handler; [`storage::storage`] serves the
//! blob storage server.

pub(crate) mod acr;
pub(crate) mod blobs;
pub(crate) mod manifests;
pub(crate) mod oauth;
pub(crate) mod referrers;
pub(crate) mod storage;
pub(crate) mod uploads;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt as _;
use percent_encoding::percent_decode_str;

use super::auth::{self, Access};
use super::body;
use super::context::{Shared, lock};
use super::errors::{AcrError, json_response, page_not_found};
use super::faults::{Fault, FaultAction};
use super::log::{DROPPED, LOGGED_HEADERS, LoggedRequest, SECRET_LOGGED_AS, Server};
use super::route::{self, Route};
use super::server::ConnectionControl;

/// The largest request body the emulator reads (manifests are limited to 4 MiB by ACR; blob
/// chunks may be larger).
const MAX_BODY: usize = 512 * 1024 * 1024;

/// One request on its way through a handler.
pub(crate) struct Call {
    pub shared: Arc<Shared>,
    pub method: Method,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Option<Body>,
    pub access: Access,
    /// A request-side drop fault: read this many bytes, (maybe keep them,) drop the connection.
    pub drop_after: Option<(usize, bool)>,
    pub connection: Option<ConnectionControl>,
}

impl Call {
    /// The first query value for `key`.
    pub(crate) fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A header as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The whole request body (the request-side drop fault, when set, never returns).
    pub(crate) async fn read_body(&mut self) -> Result<Bytes, AcrError> {
        let body = self.body.take().unwrap_or_else(Body::empty);
        if let Some((limit, _)) = self.drop_after {
            let _ = read_at_most(body, limit).await;
            return drop_connection(self.connection.as_ref()).await;
        }
        let (bytes, _) = read_at_most(body, MAX_BODY).await;
        Ok(Bytes::from(bytes))
    }
}

/// Reads up to `limit` bytes; returns them and whether the body ended within the limit.
pub(crate) async fn read_at_most(body: Body, limit: usize) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            return (out, false);
        };
        let room = limit - out.len();
        if chunk.len() >= room {
            out.extend_from_slice(&chunk[..room]);
            // The body may end exactly here; peek once.
            let ended = chunk.len() == room && stream.next().await.is_none();
            return (out, ended);
        }
        out.extend_from_slice(&chunk);
    }
    (out, true)
}

/// Drops the connection and never returns (the handler future is dropped with the connection).
pub(crate) async fn drop_connection<T>(connection: Option<&ConnectionControl>) -> T {
    if let Some(connection) = connection {
        connection.drop_connection();
    }
    std::future::pending().await
}

/// Writes a log entry when dropped, so a request whose connection was dropped is logged too.
struct LogGuard {
    shared: Arc<Shared>,
    entry: Option<LoggedRequest>,
}

impl LogGuard {
    fn new(shared: &Arc<Shared>, server: Server, parts: &axum::http::request::Parts) -> Self {
        let headers = LOGGED_HEADERS
            .iter()
            .filter_map(|name| {
                let value = parts.headers.get(*name)?.to_str().ok()?;
                Some(((*name).to_owned(), value.to_owned()))
            })
            .collect();
        let authorization = parts.headers.get(header::AUTHORIZATION).map(|v| {
            let text = v.to_str().unwrap_or("?");
            text.split(' ').next().unwrap_or_default().to_owned()
        });
        LogGuard {
            shared: Arc::clone(shared),
            entry: Some(LoggedRequest {
                server,
                method: parts.method.to_string(),
                path: parts.uri.path().to_owned(),
                query: parts.uri.query().map(str::to_owned),
                headers,
                authorization,
                status: DROPPED,
                fault: None,
                form: Vec::new(),
            }),
        }
    }

    /// Records the fields of an `/oauth2` form, secrets replaced (see [`LoggedRequest::form`]).
    fn set_form(&mut self, body: &[u8]) {
        let Some(entry) = &mut self.entry else {
            return;
        };
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
        entry.form = pairs
            .into_iter()
            .map(|(key, value)| {
                let secret = matches!(key.as_str(), "refresh_token" | "access_token" | "password");
                let value = if secret && !value.is_empty() {
                    SECRET_LOGGED_AS.to_owned()
                } else {
                    value
                };
                (key, value)
            })
            .collect();
    }

    fn set_fault(&mut self, fault: &Fault) {
        if let Some(entry) = &mut self.entry {
            entry.fault = Some(fault.to_string());
        }
    }

    fn finish(mut self, status: StatusCode) {
        if let Some(entry) = &mut self.entry {
            entry.status = status.as_u16();
        }
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        if let Some(entry) = self.entry.take() {
            lock(&self.shared.log).push(entry);
        }
    }
}

/// What the fault that fired on this request asks of the handler.
enum FaultEffect {
    None,
    TruncateResponse(usize),
    DropRequest(usize, bool),
}

/// Applies a fired fault: an immediate response, or an effect for later.
async fn apply_fault(fault: &Fault, method: &Method) -> Result<FaultEffect, Response> {
    match fault.action {
        FaultAction::Status(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let code = if status == StatusCode::TOO_MANY_REQUESTS {
                "TOOMANYREQUESTS"
            } else {
                "UNKNOWN"
            };
            Err(AcrError::new(status, code, "injected fault").into_response())
        }
        FaultAction::TooManyRequests { retry_after_secs } => {
            let mut response = AcrError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TOOMANYREQUESTS",
                "too many requests",
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            Err(response)
        }
        FaultAction::Throttled {
            status,
            ref retry_after,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let code = if status == StatusCode::TOO_MANY_REQUESTS {
                "TOOMANYREQUESTS"
            } else {
                "UNKNOWN"
            };
            let mut response = AcrError::new(status, code, "throttled").into_response();
            if let Ok(value) = HeaderValue::from_str(retry_after) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            Err(response)
        }
        FaultAction::Delay(delay) => {
            tokio::time::sleep(delay).await;
            Ok(FaultEffect::None)
        }
        FaultAction::DropAfter {
            bytes,
            keep_partial,
        } => Ok(if *method == Method::GET {
            FaultEffect::TruncateResponse(bytes)
        } else {
            FaultEffect::DropRequest(bytes, keep_partial)
        }),
    }
}

fn decoded_path(path: &str) -> String {
    percent_decode_str(path).decode_utf8_lossy().into_owned()
}

fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    raw.and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default()
}

/// Adds the headers ACR puts on every registry response.
fn decorate(shared: &Shared, response: &mut Response, oauth: bool) {
    let headers = response.headers_mut();
    if !oauth {
        headers.insert(
            "docker-distribution-api-version",
            HeaderValue::from_static("registry/2.0"),
        );
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(
                "Docker-Content-Digest, WWW-Authenticate, Link, X-Ms-Correlation-Request-Id",
            ),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
    }
    if let Ok(id) = HeaderValue::from_str(&shared.ids.uuid()) {
        headers.insert("x-ms-correlation-request-id", id);
    }
}

/// The registry server's only handler.
pub(crate) async fn registry(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let mut log = LogGuard::new(&shared, Server::Registry, &parts);
    let connection = parts.extensions.get::<ConnectionControl>().cloned();
    let fault = lock(&shared.faults).hit(
        Server::Registry,
        parts.method.as_str(),
        &decoded_path(parts.uri.path()),
    );
    let mut effect = FaultEffect::None;
    if let Some(fault) = &fault {
        log.set_fault(fault);
        tracing::debug!(%fault, path = parts.uri.path(), "fault fired");
        match apply_fault(fault, &parts.method).await {
            Ok(e) => effect = e,
            Err(mut response) => {
                decorate(&shared, &mut response, false);
                log.finish(response.status());
                return response;
            }
        }
    }
    let route = route::parse(parts.uri.path());
    let oauth = matches!(route, Some(Route::OAuthExchange | Route::OAuthToken));
    let mut response = match route {
        None => page_not_found(),
        Some(route) => {
            let is_patch_upload =
                parts.method == Method::PATCH && matches!(route, Route::Upload { .. });
            let drop_after = match effect {
                FaultEffect::DropRequest(bytes, keep) if is_patch_upload => Some((bytes, keep)),
                FaultEffect::DropRequest(bytes, _) => {
                    // Not an upload chunk: read what the fault allows and hang up.
                    let _ = read_at_most(body, bytes).await;
                    return drop_connection(connection.as_ref()).await;
                }
                _ => None,
            };
            let body = if oauth && parts.method == Method::POST && drop_after.is_none() {
                // Buffered (token forms are small) so the log can show the form's fields.
                let (bytes, _) = read_at_most(body, MAX_BODY).await;
                log.set_form(&bytes);
                Body::from(bytes)
            } else {
                body
            };
            dispatch(
                &shared,
                parts.method.clone(),
                route,
                parse_query(parts.uri.query()),
                parts.headers.clone(),
                body,
                drop_after,
                connection,
            )
            .await
        }
    };
    decorate(&shared, &mut response, oauth);
    if let FaultEffect::TruncateResponse(keep) = effect {
        response = body::truncate(response, keep).await;
    }
    log.finish(response.status());
    response
}

#[allow(clippy::too_many_arguments)]
async fn dispatch(
    shared: &Arc<Shared>,
    method: Method,
    route: Route,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Body,
    drop_after: Option<(usize, bool)>,
    connection: Option<ConnectionControl>,
) -> Response {
    let Some(requirement) = auth::requirement(&route, &method) else {
        return AcrError::method_unsupported().into_response();
    };
    let access = match auth::authorize(shared, &headers, &requirement) {
        Ok(access) => access,
        Err(challenge) => return *challenge,
    };
    let call = Call {
        shared: Arc::clone(shared),
        method,
        query,
        headers,
        body: Some(body),
        access,
        drop_after,
        connection,
    };
    let result = match route {
        Route::V2Root => Ok(json_response(StatusCode::OK, &serde_json::json!({}))),
        Route::V2Catalog => acr::v2_catalog(call).await,
        Route::V2TagsList { name } => acr::v2_tags_list(call, &name).await,
        Route::Referrers { name, digest } => referrers::referrers(call, &name, &digest).await,
        Route::Manifest { name, reference } => manifests::manifest(call, &name, &reference).await,
        Route::Blob { name, digest } => blobs::blob(call, &name, &digest).await,
        Route::StartUpload { name } => uploads::start(call, &name).await,
        Route::Upload { name, uuid } => uploads::session(call, &name, &uuid).await,
        Route::AcrCatalog => acr::catalog(call).await,
        Route::AcrRepository { name } => acr::repository(call, &name).await,
        Route::AcrTags { name } => acr::tags(call, &name).await,
        Route::AcrTag { name, tag } => acr::tag(call, &name, &tag).await,
        Route::AcrManifests { name } => acr::manifests(call, &name).await,
        Route::AcrManifest { name, digest } => acr::manifest(call, &name, &digest).await,
        Route::OAuthExchange => oauth::exchange(call).await,
        Route::OAuthToken => oauth::token(call).await,
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

/// An empty response with `status` and the given headers.
pub(crate) fn empty(status: StatusCode, headers: &[(&'static str, String)]) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    for (name, value) in headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            response.headers_mut().insert(*name, v);
        }
    }
    response
}
