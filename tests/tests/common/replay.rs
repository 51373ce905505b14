//! Recorded ACR traffic (`../shared/acr-recordings/*.json`, format in its `INDEX.md`) and a
//! loopback server that answers with it.
//!
//! The server matches each request it receives against the first unused recorded interaction
//! with the same method, path and query, and answers that interaction's status, headers and
//! body. Matching is lenient where the recorders changed the traffic:
//!
//! * the host is ignored (recordings say `fake_url.azurecr.io`);
//! * paths are compared percent-decoded, so `library%2Fhello-world` (Python) matches
//!   `library/hello-world` (ours);
//! * the test proxy replaced digests in URIs by `sha256_encoded_stream`: that word matches any
//!   `sha256:<64 hex>`; when a recorded URI carries it, the proxy also dropped the upload
//!   session's `_nouploadcache` and `_state` query parameters, so ours may carry them;
//! * the recorded `api-version` query parameter (API 2021-07-01) is ignored: the target API
//!   (2019-08-15-preview) has none and our client sends none.
//!
//! In "dance" mode ([`ReplayServer::start`] with `dance = true`), the `realm` of a
//! `WWW-Authenticate` challenge is pointed at the server itself, so a client can follow the
//! recorded 401 → token → retry dance, and each token answered gets a unique suffix (the
//! sanitised recordings answer the same `access_token` every time, and a client rightly gives
//! up when a 401 is answered by the very token it just sent).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use bytes::Bytes;
use percent_encoding::percent_decode_str;
use serde_json::Value;

/// What the sanitiser put where a digest was.
pub const SANITISED_DIGEST: &str = "sha256_encoded_stream";

/// `CARGO_MANIFEST_DIR/../../shared/acr-recordings`, when it exists.
pub fn recordings_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/acr-recordings");
    dir.is_dir().then_some(dir)
}

/// One recorded file.
#[derive(Debug, Clone)]
pub struct Recording {
    /// The file name.
    pub file: String,
    /// Where the recording came from (repository:path@commit).
    pub source: String,
    /// Its exchanges, in order.
    pub interactions: Vec<Interaction>,
}

/// One recorded exchange.
#[derive(Debug, Clone)]
pub struct Interaction {
    /// Its position in the recording.
    pub index: usize,
    /// The request method.
    pub method: String,
    /// The request host.
    pub host: String,
    /// The request path, as recorded (still percent-encoded).
    pub path: String,
    /// The request query pairs, decoded.
    pub query: Vec<(String, String)>,
    /// Request headers (lower-case names; a repeated header has several values).
    pub request_headers: BTreeMap<String, Vec<String>>,
    /// The request body.
    pub request_body: Option<Bytes>,
    /// The response status.
    pub status: u16,
    /// Response headers (lower-case names).
    pub response_headers: BTreeMap<String, Vec<String>>,
    /// The response body.
    pub response_body: Option<Bytes>,
}

impl Interaction {
    /// Whether this exchange went to the registry (not to AAD or ARM).
    pub fn is_registry(&self) -> bool {
        self.host.ends_with(".azurecr.io")
    }

    /// Whether it is an `/oauth2/...` exchange.
    pub fn is_oauth(&self) -> bool {
        self.path.starts_with("/oauth2/")
    }

    /// The first value of a response header.
    pub fn response_header(&self, name: &str) -> Option<&str> {
        self.response_headers
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    /// The first value of a request header.
    pub fn request_header(&self, name: &str) -> Option<&str> {
        self.request_headers
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    /// The first value of a query parameter.
    pub fn query_value(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The response body parsed as JSON, when it is JSON.
    pub fn response_json(&self) -> Option<Value> {
        serde_json::from_slice(self.response_body.as_deref()?).ok()
    }

    /// The request body's form fields (for `/oauth2`).
    pub fn request_form(&self) -> Vec<(String, String)> {
        self.request_body
            .as_deref()
            .and_then(|b| serde_urlencoded::from_bytes(b).ok())
            .unwrap_or_default()
    }

    /// Whether the recorder replaced a digest in the URI.
    pub fn is_sanitised(&self) -> bool {
        self.path.contains(SANITISED_DIGEST)
            || self.query.iter().any(|(_, v)| v == SANITISED_DIGEST)
    }

    /// The percent-decoded path segments (without the leading empty one).
    pub fn segments(&self) -> Vec<String> {
        self.path
            .split('/')
            .skip(1)
            .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
            .collect()
    }

    /// `METHOD path?query` for messages.
    pub fn describe(&self) -> String {
        let query: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if query.is_empty() {
            format!("#{} {} {}", self.index, self.method, self.path)
        } else {
            format!(
                "#{} {} {}?{}",
                self.index,
                self.method,
                self.path,
                query.join("&")
            )
        }
    }
}

fn headers(value: &Value) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    if let Some(map) = value.as_object() {
        for (name, v) in map {
            let values = match v {
                Value::Array(items) => items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect(),
                Value::String(s) => vec![s.clone()],
                other => vec![other.to_string()],
            };
            out.insert(name.to_ascii_lowercase(), values);
        }
    }
    out
}

fn body(part: &Value) -> Option<Bytes> {
    let text = part.get("body")?.as_str()?;
    if part.get("body_encoding").and_then(Value::as_str) == Some("base64") {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .ok()
            .map(Bytes::from)
    } else {
        Some(Bytes::from(text.to_owned()))
    }
}

/// Parses one recording file.
pub fn load(path: &Path) -> Result<Recording, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut interactions = Vec::new();
    for (index, item) in doc["interactions"]
        .as_array()
        .ok_or("no interactions")?
        .iter()
        .enumerate()
    {
        let request = &item["request"];
        let response = &item["response"];
        let uri = request["uri"].as_str().ok_or("no uri")?;
        let url = url_parts(uri).ok_or_else(|| format!("bad uri {uri}"))?;
        interactions.push(Interaction {
            index,
            method: request["method"].as_str().unwrap_or_default().to_owned(),
            host: url.0,
            path: url.1,
            query: url.2,
            request_headers: headers(&request["headers"]),
            request_body: body(request),
            status: response["status"].as_u64().unwrap_or_default() as u16,
            response_headers: headers(&response["headers"]),
            response_body: body(response),
        });
    }
    Ok(Recording {
        file: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        source: doc["source"].as_str().unwrap_or_default().to_owned(),
        interactions,
    })
}

/// Every `*.json` of `dir`, sorted by name.
pub fn load_all(dir: &Path) -> Vec<Recording> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("the recordings folder is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| load(p).expect("a recording parses"))
        .collect()
}

/// Decoded query pairs.
type Query = Vec<(String, String)>;

/// `(host, path, decoded query pairs)` of an absolute URI.
fn url_parts(uri: &str) -> Option<(String, String, Query)> {
    let rest = uri.split_once("://")?.1;
    let slash = rest.find('/').unwrap_or(rest.len());
    let host = rest[..slash].to_owned();
    let path_and_query = &rest[slash..];
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, q),
        None => (path_and_query, ""),
    };
    let query = serde_urlencoded::from_str(query).ok()?;
    Some((host, path.to_owned(), query))
}

/// Whether `actual` equals `recorded`, where each [`SANITISED_DIGEST`] in `recorded` stands for
/// any `sha256:<64 lowercase hex>`.
pub fn matches_sanitised(recorded: &str, actual: &str) -> bool {
    let mut pieces = recorded.split(SANITISED_DIGEST);
    let Some(first) = pieces.next() else {
        return recorded == actual;
    };
    let Some(mut rest) = actual.strip_prefix(first) else {
        return false;
    };
    for piece in pieces {
        let Some(after) = rest.strip_prefix("sha256:") else {
            return false;
        };
        if after.len() < 64 || !after[..64].bytes().all(|b| b.is_ascii_hexdigit()) {
            return false;
        }
        let Some(next) = after[64..].strip_prefix(piece) else {
            return false;
        };
        rest = next;
    }
    rest.is_empty()
}

/// The query parameters a recorded request may lack although we send them: see the module docs.
const DROPPED_BY_SANITISER: &[&str] = &["_nouploadcache", "_state"];

/// Why a received request does not match a recorded one (`None` when it matches).
pub fn mismatch(
    recorded: &Interaction,
    method: &str,
    path: &str,
    query: &[(String, String)],
) -> Option<String> {
    if recorded.method != method {
        return Some(format!("method {method} != {}", recorded.method));
    }
    let decode = |p: &str| percent_decode_str(p).decode_utf8_lossy().into_owned();
    if !matches_sanitised(&decode(&recorded.path), &decode(path)) {
        return Some(format!("path {path} != {}", recorded.path));
    }
    let mut expected: Vec<&(String, String)> = recorded
        .query
        .iter()
        .filter(|(k, _)| k != "api-version")
        .collect();
    for (k, v) in query {
        match expected
            .iter()
            .position(|(ek, ev)| ek == k && matches_sanitised(ev, v))
        {
            Some(i) => {
                expected.remove(i);
            }
            None if recorded.is_sanitised() && DROPPED_BY_SANITISER.contains(&k.as_str()) => {}
            None => return Some(format!("query {k}={v} was not recorded")),
        }
    }
    if !expected.is_empty() {
        return Some(format!("recorded query {expected:?} was not sent"));
    }
    None
}

/// A request the server received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The method.
    pub method: String,
    /// The path, as received.
    pub path: String,
    /// The decoded query pairs.
    pub query: Vec<(String, String)>,
    /// The headers (lower-case names).
    pub headers: BTreeMap<String, String>,
    /// The body.
    pub body: Bytes,
    /// The index of the recorded interaction it was answered with, or why none matched.
    pub matched: Result<usize, String>,
}

impl Received {
    /// A header by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The body's form fields.
    pub fn form(&self) -> Vec<(String, String)> {
        serde_urlencoded::from_bytes(&self.body).unwrap_or_default()
    }
}

#[derive(Debug, Default)]
struct Shared {
    pool: Vec<(Interaction, bool)>,
    received: Vec<Received>,
    origin: String,
    dance: bool,
    in_order: bool,
    tokens_served: usize,
}

/// A loopback server answering with recorded interactions.
#[derive(Debug)]
pub struct ReplayServer {
    shared: Arc<Mutex<Shared>>,
    origin: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ReplayServer {
    /// Serves `pool` (each interaction at most once). With `dance`, challenges point their realm
    /// at this server and tokens are made unique (see the module docs); with `in_order`, a
    /// request may only match the first unused interaction.
    pub async fn start(pool: Vec<Interaction>, dance: bool, in_order: bool) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let origin = format!("http://{}", listener.local_addr().expect("an address"));
        let shared = Arc::new(Mutex::new(Shared {
            pool: pool.into_iter().map(|i| (i, false)).collect(),
            received: Vec::new(),
            origin: origin.clone(),
            dance,
            in_order,
            tokens_served: 0,
        }));
        let router = Router::new()
            .fallback(answer)
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        ReplayServer {
            shared,
            origin,
            task,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.origin
    }

    /// The requests received since the last call.
    pub fn take_received(&self) -> Vec<Received> {
        std::mem::take(&mut self.shared.lock().expect("not poisoned").received)
    }

    /// The recorded indices not answered yet.
    pub fn unused(&self) -> Vec<usize> {
        self.shared
            .lock()
            .expect("not poisoned")
            .pool
            .iter()
            .filter(|(_, used)| !used)
            .map(|(i, _)| i.index)
            .collect()
    }
}

async fn answer(State(shared): State<Arc<Mutex<Shared>>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 64 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(parts.uri.query().unwrap_or_default()).unwrap_or_default();
    let headers: BTreeMap<String, String> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let method = parts.method.as_str().to_owned();
    let mut shared = shared.lock().expect("not poisoned");
    let mut reasons = Vec::new();
    let mut found = None;
    for (slot, (interaction, used)) in shared.pool.iter().enumerate() {
        if *used {
            continue;
        }
        match mismatch(interaction, &method, &path, &query) {
            None => {
                found = Some(slot);
                break;
            }
            Some(why) => reasons.push(format!("{}: {why}", interaction.describe())),
        }
        if shared.in_order {
            break;
        }
    }
    let matched = match found {
        Some(slot) => {
            shared.pool[slot].1 = true;
            Ok(slot)
        }
        None => Err(format!(
            "no recorded interaction matches {method} {path} {query:?}: {reasons:?}"
        )),
    };
    let response = match &matched {
        Ok(slot) => {
            shared.tokens_served += 1;
            let suffix = shared.dance.then(|| format!("-{}", shared.tokens_served));
            respond(&shared.pool[*slot].0, &shared.origin, suffix.as_deref())
        }
        Err(why) => {
            let mut r = Response::new(axum::body::Body::from(why.clone()));
            *r.status_mut() = StatusCode::IM_A_TEAPOT;
            r
        }
    };
    let matched = matched.map(|slot| shared.pool[slot].0.index);
    shared.received.push(Received {
        method,
        path,
        query,
        headers,
        body,
        matched,
    });
    response
}

/// The recorded response; hop-by-hop and length headers are left to the server. With a
/// `dance_suffix`, challenges point at `origin` and token values get the suffix.
fn respond(interaction: &Interaction, origin: &str, dance_suffix: Option<&str>) -> Response {
    let mut body = interaction.response_body.clone().unwrap_or_default();
    if let Some(suffix) = dance_suffix
        && interaction.is_oauth()
        && let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(&body)
    {
        for key in ["access_token", "refresh_token"] {
            if let Some(Value::String(token)) = map.get_mut(key) {
                token.push_str(suffix);
            }
        }
        body = Bytes::from(Value::Object(map).to_string());
    }
    let mut response = Response::new(axum::body::Body::from(body));
    *response.status_mut() =
        StatusCode::from_u16(interaction.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, values) in &interaction.response_headers {
        if matches!(
            name.as_str(),
            "content-length" | "transfer-encoding" | "connection"
        ) {
            continue;
        }
        let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
            continue;
        };
        for value in values {
            let value = if dance_suffix.is_some() && name == "www-authenticate" {
                rewrite(value, origin)
            } else {
                value.clone()
            };
            if let Ok(v) = HeaderValue::from_str(&value) {
                response.headers_mut().append(name.clone(), v);
            }
        }
    }
    response
}

/// Points `realm="https://host/oauth2/token"` at `origin`.
fn rewrite(challenge: &str, origin: &str) -> String {
    let Some(start) = challenge.find("realm=\"") else {
        return challenge.to_owned();
    };
    let value_start = start + "realm=\"".len();
    let Some(len) = challenge[value_start..].find('"') else {
        return challenge.to_owned();
    };
    let realm = &challenge[value_start..value_start + len];
    let path = realm
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or("/oauth2/token");
    format!(
        "{}{origin}{path}{}",
        &challenge[..value_start],
        &challenge[value_start + len..]
    )
}
