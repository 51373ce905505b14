//! A scripted loopback HTTP server that records every request it receives, headers and body
//! included: the far end of redirect, origin, limit and timeout tests.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use bytes::Bytes;

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    /// Path and query.
    pub uri: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    /// The path without the query.
    pub fn path(&self) -> &str {
        self.uri.split('?').next().unwrap_or_default()
    }

    /// Whether any part of the request carries `secret` or an `Authorization` header.
    pub fn carries_credential(&self, secrets: &[&str]) -> bool {
        self.headers.contains_key("authorization")
            || self.headers.iter().any(|(_, v)| {
                let v = String::from_utf8_lossy(v.as_bytes());
                secrets.iter().any(|s| v.contains(s))
            })
            || secrets
                .iter()
                .any(|s| self.uri.contains(s) || String::from_utf8_lossy(&self.body).contains(s))
    }
}

type Handler = Arc<dyn Fn(&Recorded, &str) -> Response + Send + Sync>;
type Log = Arc<Mutex<Vec<Recorded>>>;

/// A running scripted server.
#[derive(Clone)]
pub struct Scripted {
    /// `http://host:port`.
    pub url: String,
    pub log: Log,
}

impl Scripted {
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }
}

/// Starts a server on `host` (`127.0.0.1` or `localhost`) answering each request with
/// `handler(request, own base URL)`.
pub async fn serve(
    host: &str,
    handler: impl Fn(&Recorded, &str) -> Response + Send + Sync + 'static,
) -> Scripted {
    let listener = tokio::net::TcpListener::bind(format!("{host}:0"))
        .await
        .unwrap();
    let url = format!("http://{host}:{}", listener.local_addr().unwrap().port());
    let log = Arc::new(Mutex::new(Vec::new()));
    let state = (Arc::new(handler) as Handler, log.clone(), url.clone());
    let app = axum::Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::disable())
        .with_state(state);
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Scripted { url, log }
}

async fn handle(
    State((handler, log, url)): State<(Handler, Log, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let rec = Recorded {
        method,
        uri: uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default(),
        headers,
        body,
    };
    log.lock().unwrap().push(rec.clone());
    handler(&rec, &url)
}

/// A response with `status` and headers.
pub fn answer(status: u16, headers: &[(&str, &str)], body: impl Into<Body>) -> Response {
    let mut r = Response::builder().status(status);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.body(body.into()).unwrap()
}

/// An endless chunked body of `piece`s (no `Content-Length`), counting the bytes it hands
/// to the server in `sent`.
pub fn endless(sent: Arc<std::sync::atomic::AtomicU64>) -> Body {
    let piece = Bytes::from(vec![b'x'; 64 * 1024]);
    let stream = futures_util::stream::repeat_with(move || {
        sent.fetch_add(piece.len() as u64, std::sync::atomic::Ordering::SeqCst);
        Ok::<_, std::io::Error>(piece.clone())
    });
    Body::from_stream(stream)
}

/// The client of the [`one_connection_at_a_time`] tests: anonymous, no retries, a 2 s read
/// timeout, so a request waiting on a connection the client still holds fails quickly.
pub fn one_connection_client(url: &str) -> acr_runtime::Transport {
    acr_runtime::ClientBuilder::new(url)
        .credential(acr_runtime::Credential::Anonymous)
        .retry(acr_runtime::RetryPolicy::none())
        .read_timeout(std::time::Duration::from_secs(2))
        .build()
        .unwrap()
}

/// A keep-alive HTTP/1.1 server that serves one connection at a time, as a server with a
/// limit of one connection per client does: the next connection is accepted once the one
/// before is closed. `answer` gets each request's head (request line and headers) and gives
/// the whole answer's bytes. Returns the base URL and the most connections that were open at
/// once (1 when the client never waits on a second connection while holding the first).
pub async fn one_connection_at_a_time(
    answer: impl Fn(&str) -> Vec<u8> + Send + 'static,
) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let most = Arc::new(AtomicUsize::new(0));
    let seen = most.clone();
    tokio::spawn(async move {
        let open = AtomicUsize::new(0);
        while let Ok((mut s, _)) = listener.accept().await {
            seen.fetch_max(open.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
            let mut buf = Vec::new();
            let mut piece = [0u8; 4096];
            'conn: loop {
                let end = loop {
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break end;
                    }
                    match s.read(&mut piece).await {
                        Ok(0) | Err(_) => break 'conn,
                        Ok(n) => buf.extend_from_slice(&piece[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                buf.drain(..end + 4);
                if s.write_all(&answer(&head)).await.is_err() {
                    break;
                }
            }
            open.fetch_sub(1, Ordering::SeqCst);
        }
    });
    (url, most)
}
