//! A tiny in-test registry (axum) for what the ACR emulator (`acr-emulator`, see `emu`) cannot
//! or must not do. Tests of ACR behaviour (token flows, scopes, uploads, listings, redirects,
//! cut downloads) run against the emulator; this fake keeps only:
//!
//! * **registries that are not ACR**: no auth at all (`AuthMode::Open`: statuses injected into
//!   a registry where every request is counted and no challenge comes between, `retry.rs`;
//!   anonymous pushes through a front or a slow proxy, `redirects.rs`, `timeouts.rs`), docker
//!   token auth with a `/token` realm (`AuthMode::Docker`) and an htpasswd Basic challenge
//!   (`AuthMode::Basic`), and a challenge whose realm names another host (`realm_base`), for
//!   the origin rules of `auth.rs` and `origin.rs`;
//! * **answers that break the protocol on purpose**, which the emulator, a faithful registry,
//!   never gives: a token answer over 1 MiB, a manifest body that is not the stored one or is
//!   too large, a `Docker-Content-Digest` that is not the blob's, blob content stored under a
//!   digest it does not have, a PATCH that keeps half a chunk and then answers 500, an upload
//!   session cut back below what was confirmed or forgotten;
//! * **a lenient upload session**: any `_state` is accepted and upload `Location`s may be
//!   relative to the request URL (RFC 9110 §10.2.2), for the resume-at-`Range` path that the
//!   strict emulator (distribution's session rule) does not take.
//!
//! `runtime/tests/redaction.rs` includes this file too: every token and signed storage URL it
//! hands out carries the marker `SECRET`, which that test hunts for in logs and errors.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State as AxState};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use bytes::Bytes;
use sha2::Digest as _;

pub fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
}

/// How the fake registry wants to be authenticated to.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthMode {
    /// No auth at all.
    Open,
    /// ACR-style bearer tokens from `/oauth2/token`.
    Acr,
    /// Docker token auth from `/token` (realm `realm_base` + `/token`).
    Docker,
    /// htpasswd-style Basic.
    Basic,
}

/// A failure injected into the next `/v2` request.
#[derive(Debug, Clone)]
pub struct Inject {
    pub status: u16,
    pub retry_after: Option<String>,
}

/// A failure injected into the next PATCH.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PatchFault {
    /// Keep the first half of the chunk, then answer 500.
    KeepHalfThen500,
    /// Forget the whole session, then answer 500.
    LoseSession,
    /// Cut the session back to this many bytes (fewer than confirmed), then answer 500.
    TruncateTo(usize),
}

pub struct State {
    pub mode: Mutex<AuthMode>,
    pub user: String,
    pub password: String,
    pub refresh_token: String,
    pub anonymous_pull: Mutex<bool>,
    /// Realm base (scheme://host:port) to put in challenges; defaults to the server itself.
    pub realm_base: Mutex<String>,
    pub self_base: Mutex<String>,
    pub huge_token: Mutex<bool>,
    pub token_requests: AtomicUsize,
    pub token_log: Mutex<Vec<String>>,
    pub unauthorized: AtomicUsize,
    pub v2_requests: AtomicUsize,
    /// `(method path, had Authorization)` per request, storage included.
    pub log: Mutex<Vec<(String, bool)>>,
    tokens: Mutex<HashMap<String, Vec<String>>>,
    next: AtomicUsize,
    pub inject: Mutex<VecDeque<Inject>>,
    pub blobs: Mutex<HashMap<String, Bytes>>,
    uploads: Mutex<HashMap<String, Vec<u8>>>,
    pub patch_faults: Mutex<VecDeque<PatchFault>>,
    pub content_ranges: Mutex<Vec<String>>,
    pub cancelled: AtomicUsize,
    pub report_wrong_digest: Mutex<bool>,
    /// Storage base to redirect blob GETs to (307), if set.
    pub redirect_to: Mutex<Option<String>>,
    /// Answer upload `Location`s as references relative to the request's URL (`u1?_state=…`)
    /// instead of absolute paths: RFC 9110 §10.2.2 allows it.
    pub relative_locations: std::sync::atomic::AtomicBool,
    pub manifests: Mutex<HashMap<(String, String), (String, Bytes)>>,
    /// Serve this body instead of the stored manifest.
    pub manifest_override: Mutex<Option<Bytes>>,
}

impl State {
    fn new() -> Self {
        Self {
            mode: Mutex::new(AuthMode::Open),
            user: "admin".into(),
            password: "s3cr3t-pa55".into(),
            refresh_token: "refresh-SECRET-token".into(),
            anonymous_pull: Mutex::new(false),
            realm_base: Mutex::new(String::new()),
            self_base: Mutex::new(String::new()),
            huge_token: Mutex::new(false),
            token_requests: AtomicUsize::new(0),
            token_log: Mutex::new(Vec::new()),
            unauthorized: AtomicUsize::new(0),
            v2_requests: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
            tokens: Mutex::new(HashMap::new()),
            next: AtomicUsize::new(0),
            inject: Mutex::new(VecDeque::new()),
            blobs: Mutex::new(HashMap::new()),
            uploads: Mutex::new(HashMap::new()),
            patch_faults: Mutex::new(VecDeque::new()),
            content_ranges: Mutex::new(Vec::new()),
            cancelled: AtomicUsize::new(0),
            report_wrong_digest: Mutex::new(false),
            redirect_to: Mutex::new(None),
            relative_locations: std::sync::atomic::AtomicBool::new(false),
            manifests: Mutex::new(HashMap::new()),
            manifest_override: Mutex::new(None),
        }
    }

    pub fn set_mode(&self, mode: AuthMode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn issue(&self, scopes: Vec<String>) -> Response {
        self.token_requests.fetch_add(1, Ordering::SeqCst);
        if *self.huge_token.lock().unwrap() {
            return (StatusCode::OK, "x".repeat(2 * 1024 * 1024)).into_response();
        }
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let token = format!("access-SECRET-{n}");
        self.tokens.lock().unwrap().insert(token.clone(), scopes);
        let body = serde_json::json!({ "access_token": token, "token": token, "expires_in": 3600 });
        axum::Json(body).into_response()
    }

    fn basic_ok(&self, headers: &HeaderMap) -> bool {
        let want = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.user, self.password));
        headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == format!("Basic {want}"))
    }
}

pub struct Fake {
    pub state: Arc<State>,
    pub url: String,
}

pub async fn start() -> Fake {
    start_on("127.0.0.1").await
}

/// Starts a fake registry listening on `host` (`127.0.0.1` or `localhost`).
pub async fn start_on(host: &str) -> Fake {
    let state = Arc::new(State::new());
    let app = axum::Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::disable())
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind(format!("{host}:0"))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    let url = format!("http://{host}:{port}");
    *state.realm_base.lock().unwrap() = url.clone();
    *state.self_base.lock().unwrap() = url.clone();
    Fake { state, url }
}

fn q(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .map(|q| serde_urlencoded::from_str(q).unwrap_or_default())
        .unwrap_or_default()
}

fn scope_ok(granted: &[String], needed: &str) -> bool {
    let (t, rest) = needed.split_once(':').unwrap();
    let (name, actions) = rest.rsplit_once(':').unwrap();
    let mut have: Vec<&str> = Vec::new();
    for g in granted {
        let Some((gt, grest)) = g.split_once(':') else {
            continue;
        };
        let Some((gname, gactions)) = grest.rsplit_once(':') else {
            continue;
        };
        if gt == t && gname == name {
            have.extend(gactions.split(','));
        }
    }
    actions
        .split(',')
        .all(|a| have.contains(&a) || have.contains(&"*"))
}

async fn handle(
    AxState(st): AxState<Arc<State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    st.log.lock().unwrap().push((
        format!("{method} {path}"),
        headers.contains_key("authorization"),
    ));
    if path.starts_with("/storage/") {
        return storage(&st, &path, &headers).await;
    }
    if path == "/oauth2/token" || path == "/token" {
        return token(&st, &method, &uri, &headers, &body);
    }
    let Some(rest) = path.strip_prefix("/v2/") else {
        return (StatusCode::NOT_FOUND, "404 page not found").into_response();
    };
    st.v2_requests.fetch_add(1, Ordering::SeqCst);
    // what scope does this need?
    let (name, kind, tail) = if rest.is_empty() {
        (String::new(), "base", String::new())
    } else if let Some(i) = rest.find("/blobs/uploads") {
        (
            rest[..i].to_owned(),
            "upload",
            rest[i + "/blobs/uploads".len()..]
                .trim_start_matches('/')
                .to_owned(),
        )
    } else if let Some(i) = rest.find("/blobs/") {
        (rest[..i].to_owned(), "blob", rest[i + 7..].to_owned())
    } else if let Some(i) = rest.find("/manifests/") {
        (rest[..i].to_owned(), "manifest", rest[i + 11..].to_owned())
    } else {
        return (StatusCode::NOT_FOUND, "404 page not found").into_response();
    };
    let action = match (kind, &method) {
        ("base", _) => "",
        ("upload", _) => "push",
        (_, &Method::DELETE) => "delete",
        ("manifest", &Method::PUT) => "push",
        _ => "pull",
    };
    let needed = format!("repository:{name}:{action}");
    if let Some(r) = authorize(&st, &headers, &needed, action.is_empty()) {
        return r;
    }
    if let Some(inj) = st.inject.lock().unwrap().pop_front() {
        let mut r = (StatusCode::from_u16(inj.status).unwrap(), "injected").into_response();
        if let Some(ra) = inj.retry_after {
            r.headers_mut().insert("retry-after", ra.parse().unwrap());
        }
        return r;
    }
    match kind {
        "base" => StatusCode::OK.into_response(),
        "blob" => blob(&st, &method, &name, &tail, &headers).await,
        "upload" => upload(&st, &method, &uri, &name, &tail, &headers, body),
        _ => manifest(&st, &method, &name, &tail, &headers, body),
    }
}

fn authorize(st: &State, headers: &HeaderMap, needed: &str, base: bool) -> Option<Response> {
    let mode = st.mode.lock().unwrap().clone();
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let challenge = |err: bool| {
        st.unauthorized.fetch_add(1, Ordering::SeqCst);
        let host = st
            .self_base
            .lock()
            .unwrap()
            .split("://")
            .nth(1)
            .unwrap()
            .to_owned();
        let realm = match mode {
            AuthMode::Docker => format!("{}/token", st.realm_base.lock().unwrap()),
            _ => format!("{}/oauth2/token", st.realm_base.lock().unwrap()),
        };
        let mut v = format!(r#"Bearer realm="{realm}",service="{host}""#);
        if !base {
            v.push_str(&format!(r#",scope="{needed}""#));
        }
        if err {
            v.push_str(r#",error="insufficient_scope""#);
        }
        let mut r = (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":[{"Type":"repository","Name":"x","Action":"pull"}]}]})),
        )
            .into_response();
        r.headers_mut()
            .insert("www-authenticate", v.parse().unwrap());
        Some(r)
    };
    match mode {
        AuthMode::Open => None,
        AuthMode::Basic => {
            if st.basic_ok(headers) {
                None
            } else {
                st.unauthorized.fetch_add(1, Ordering::SeqCst);
                let mut r = StatusCode::UNAUTHORIZED.into_response();
                r.headers_mut().insert(
                    "www-authenticate",
                    r#"Basic realm="Registry Realm""#.parse().unwrap(),
                );
                Some(r)
            }
        }
        AuthMode::Acr | AuthMode::Docker => {
            let Some(token) = auth.strip_prefix("Bearer ") else {
                return challenge(false);
            };
            let tokens = st.tokens.lock().unwrap();
            match tokens.get(token) {
                None => {
                    drop(tokens);
                    challenge(true)
                }
                Some(granted) if base || scope_ok(granted, needed) => None,
                Some(_) => {
                    drop(tokens);
                    challenge(true)
                }
            }
        }
    }
}

fn token(st: &State, method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Response {
    let pairs: Vec<(String, String)> = if method == Method::POST {
        serde_urlencoded::from_bytes(body).unwrap_or_default()
    } else {
        q(uri)
    };
    let get = |k: &str| pairs.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.clone());
    let scopes: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.clone())
        .collect();
    st.token_log.lock().unwrap().push(format!(
        "{method} {} grant={:?} scopes={scopes:?} basic={}",
        uri.path(),
        get("grant_type"),
        headers.contains_key("authorization")
    ));
    if method == Method::POST {
        match get("grant_type").as_deref() {
            Some("refresh_token") if get("refresh_token").as_deref() == Some(&st.refresh_token) => {
                st.issue(scopes)
            }
            Some("password")
                if get("refresh_token").as_deref() == Some("")
                    && *st.anonymous_pull.lock().unwrap() =>
            {
                let pulls = scopes
                    .into_iter()
                    .map(|s| {
                        let (head, _) = s.rsplit_once(':').unwrap();
                        format!("{head}:pull")
                    })
                    .collect();
                st.issue(pulls)
            }
            _ => StatusCode::UNAUTHORIZED.into_response(),
        }
    } else if st.basic_ok(headers) {
        st.issue(scopes)
    } else if !headers.contains_key("authorization") && *st.anonymous_pull.lock().unwrap() {
        let pulls = scopes
            .into_iter()
            .map(|s| {
                let (head, _) = s.rsplit_once(':').unwrap();
                format!("{head}:pull")
            })
            .collect();
        st.issue(pulls)
    } else {
        StatusCode::UNAUTHORIZED.into_response()
    }
}

fn ranged(data: Bytes, headers: &HeaderMap) -> Response {
    let range = headers
        .get("range")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (status, start, slice) = match range.as_deref().and_then(|r| r.strip_prefix("bytes=")) {
        Some(r) => {
            let (a, b) = r.split_once('-').unwrap();
            let a: usize = a.parse().unwrap();
            let b: usize = if b.is_empty() {
                data.len() - 1
            } else {
                b.parse::<usize>().unwrap().min(data.len() - 1)
            };
            (StatusCode::PARTIAL_CONTENT, a, data.slice(a..=b))
        }
        None => (StatusCode::OK, 0, data.clone()),
    };
    let total = data.len();
    let len = slice.len();
    let body = Body::from(slice);
    let mut r = Response::builder()
        .status(status)
        .header("content-length", len.to_string());
    if status == StatusCode::PARTIAL_CONTENT {
        r = r.header(
            "content-range",
            format!("bytes {start}-{}/{total}", start + len - 1),
        );
    }
    r.body(body).unwrap()
}

async fn storage(st: &State, path: &str, headers: &HeaderMap) -> Response {
    let digest = path.trim_start_matches("/storage/");
    let Some(data) = st.blobs.lock().unwrap().get(digest).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    ranged(data, headers)
}

async fn blob(
    st: &State,
    method: &Method,
    _name: &str,
    digest: &str,
    headers: &HeaderMap,
) -> Response {
    let Some(data) = st.blobs.lock().unwrap().get(digest).cloned() else {
        return (StatusCode::NOT_FOUND, axum::Json(serde_json::json!({"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry","detail":{"digest":digest}}]}))).into_response();
    };
    if method == Method::HEAD {
        return Response::builder()
            .status(200)
            .header("content-length", data.len().to_string())
            .header("docker-content-digest", digest)
            .body(Body::empty())
            .unwrap();
    }
    if method == Method::DELETE {
        st.blobs.lock().unwrap().remove(digest);
        return StatusCode::ACCEPTED.into_response();
    }
    if let Some(base) = st.redirect_to.lock().unwrap().clone() {
        return Response::builder()
            .status(307)
            .header(
                "location",
                format!("{base}/storage/{digest}?sig=SAS-SECRET"),
            )
            .body(Body::empty())
            .unwrap();
    }
    let mut r = ranged(data, headers);
    r.headers_mut()
        .insert("docker-content-digest", digest.parse().unwrap());
    r
}

/// An upload answer whose `Location` is relative (to `/v2/<name>/blobs/uploads/` or a session
/// URL under it, which resolve alike) when `relative`.
fn upload_response(
    relative: bool,
    status: StatusCode,
    name: &str,
    uuid: &str,
    size: usize,
    n: usize,
) -> Response {
    let location = if relative {
        format!("{uuid}?_state=s{n}")
    } else {
        format!("/v2/{name}/blobs/uploads/{uuid}?_state=s{n}")
    };
    Response::builder()
        .status(status)
        .header("location", location)
        .header("range", format!("0-{}", size.saturating_sub(1)))
        .header("docker-upload-uuid", uuid)
        .header("content-length", "0")
        .body(Body::empty())
        .unwrap()
}

#[allow(clippy::too_many_arguments)]
fn upload(
    st: &State,
    method: &Method,
    uri: &Uri,
    name: &str,
    uuid: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let n = st.next.fetch_add(1, Ordering::SeqCst);
    let unknown = || {
        (StatusCode::NOT_FOUND, axum::Json(serde_json::json!({"errors":[{"code":"BLOB_UPLOAD_UNKNOWN","message":"blob upload unknown to registry"}]}))).into_response()
    };
    if method == Method::POST {
        let query = q(uri);
        let get = |k: &str| query.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.clone());
        if let (Some(_from), Some(digest)) = (get("from"), get("mount"))
            && st.blobs.lock().unwrap().contains_key(&digest)
        {
            return Response::builder()
                .status(201)
                .header("location", format!("/v2/{name}/blobs/{digest}"))
                .header("docker-content-digest", digest)
                .body(Body::empty())
                .unwrap();
        }
        let uuid = format!("u{n}");
        st.uploads.lock().unwrap().insert(uuid.clone(), Vec::new());
        return upload_response(
            st.relative_locations.load(Ordering::SeqCst),
            StatusCode::ACCEPTED,
            name,
            &uuid,
            0,
            n,
        );
    }
    let mut uploads = st.uploads.lock().unwrap();
    let Some(data) = uploads.get_mut(uuid) else {
        return unknown();
    };
    match *method {
        Method::GET => {
            let size = data.len();
            upload_response(
                st.relative_locations.load(Ordering::SeqCst),
                StatusCode::NO_CONTENT,
                name,
                uuid,
                size,
                n,
            )
        }
        Method::DELETE => {
            uploads.remove(uuid);
            st.cancelled.fetch_add(1, Ordering::SeqCst);
            StatusCode::NO_CONTENT.into_response()
        }
        Method::PATCH => {
            if let Some(cr) = headers.get("content-range").and_then(|v| v.to_str().ok()) {
                st.content_ranges.lock().unwrap().push(cr.to_owned());
                let start: usize = cr.split('-').next().unwrap().parse().unwrap();
                if start != data.len() {
                    let size = data.len();
                    return upload_response(
                        st.relative_locations.load(Ordering::SeqCst),
                        StatusCode::RANGE_NOT_SATISFIABLE,
                        name,
                        uuid,
                        size,
                        n,
                    );
                }
            }
            let fault = st.patch_faults.lock().unwrap().pop_front();
            match fault {
                Some(PatchFault::KeepHalfThen500) => {
                    data.extend_from_slice(&body[..body.len() / 2]);
                    StatusCode::INTERNAL_SERVER_ERROR.into_response()
                }
                Some(PatchFault::TruncateTo(n)) => {
                    data.truncate(n);
                    StatusCode::INTERNAL_SERVER_ERROR.into_response()
                }
                Some(PatchFault::LoseSession) => {
                    uploads.remove(uuid);
                    StatusCode::INTERNAL_SERVER_ERROR.into_response()
                }
                None => {
                    data.extend_from_slice(&body);
                    let size = data.len();
                    upload_response(
                        st.relative_locations.load(Ordering::SeqCst),
                        StatusCode::ACCEPTED,
                        name,
                        uuid,
                        size,
                        n,
                    )
                }
            }
        }
        Method::PUT => {
            data.extend_from_slice(&body);
            let query = q(uri);
            let digest = query
                .iter()
                .find(|(k, _)| k == "digest")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let actual = sha256(data);
            if digest != actual {
                return (StatusCode::BAD_REQUEST, axum::Json(serde_json::json!({"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content","detail":"digest parsing failed"}]}))).into_response();
            }
            let data = Bytes::from(uploads.remove(uuid).unwrap());
            st.blobs.lock().unwrap().insert(actual.clone(), data);
            let reported = if *st.report_wrong_digest.lock().unwrap() {
                sha256(b"something else")
            } else {
                actual.clone()
            };
            Response::builder()
                .status(201)
                .header("location", format!("/v2/{name}/blobs/{actual}"))
                .header("docker-content-digest", reported)
                .header("content-length", "0")
                .body(Body::empty())
                .unwrap()
        }
        _ => StatusCode::METHOD_NOT_ALLOWED.into_response(),
    }
}

fn manifest(
    st: &State,
    method: &Method,
    name: &str,
    reference: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let mut manifests = st.manifests.lock().unwrap();
    match *method {
        Method::PUT => {
            let ct = headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let digest = sha256(&body);
            manifests.insert(
                (name.to_owned(), reference.to_owned()),
                (ct.clone(), body.clone()),
            );
            manifests.insert((name.to_owned(), digest.clone()), (ct, body));
            Response::builder()
                .status(201)
                .header("location", format!("/v2/{name}/manifests/{digest}"))
                .header("docker-content-digest", digest)
                .body(Body::empty())
                .unwrap()
        }
        Method::GET | Method::HEAD => {
            let Some((ct, data)) = manifests
                .get(&(name.to_owned(), reference.to_owned()))
                .cloned()
            else {
                return (StatusCode::NOT_FOUND, axum::Json(serde_json::json!({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":reference}}]}))).into_response();
            };
            let digest = sha256(&data);
            let data = st.manifest_override.lock().unwrap().clone().unwrap_or(data);
            Response::builder()
                .status(200)
                .header("content-type", ct)
                .header("docker-content-digest", digest)
                .body(Body::from(data))
                .unwrap()
        }
        _ => StatusCode::METHOD_NOT_ALLOWED.into_response(),
    }
}
