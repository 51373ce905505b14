//! The request the generated code hands to the transport.

use std::fmt;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};

use crate::Secret;
use crate::response::BodyKind;

/// The body of a [`Request`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum Body {
    /// No body.
    #[default]
    Empty,
    /// Raw bytes with their media type.
    Bytes {
        /// The `Content-Type` to send.
        content_type: String,
        /// The bytes.
        data: Bytes,
    },
    /// A serialized JSON document (`Content-Type: application/json`).
    Json(Bytes),
    /// Form fields (`application/x-www-form-urlencoded`); a key may repeat. `Debug` shows
    /// the text values and redacts the secret ones (refresh tokens, AAD tokens).
    Form(Vec<(String, FormValue)>),
    /// Bytes streamed from a producer, never all in memory (see [`StreamBody`]).
    Stream(StreamBody),
}

/// A request body of a known length whose bytes a producer hands over piece by piece
/// through a bounded queue while the request is on the wire (a large blob uploaded in one
/// request, read from its source as it goes). It can be sent **once**: a retry, or a
/// redirect that would send it again, fails with [`Error::InvalidInput`](crate::Error)
/// instead (the caller, which holds the source, decides whether to start over).
///
/// Clones share the one queue. `Content-Length` is `len`; a producer that ends short or
/// gives more makes the request fail on the wire, never a wrong body sent as complete.
#[derive(Clone)]
pub struct StreamBody {
    /// The `Content-Type` to send.
    pub content_type: String,
    /// The body's length in bytes (`Content-Length`).
    pub len: u64,
    pieces: std::sync::Arc<
        std::sync::Mutex<Option<tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>>>,
    >,
}

impl StreamBody {
    /// A body of `len` bytes of `content_type`, and the sender its producer feeds (at most
    /// `queue` pieces wait; at least 1). Dropping the sender early, or sending an error,
    /// breaks the request.
    pub fn channel(
        content_type: impl Into<String>,
        len: u64,
        queue: usize,
    ) -> (Self, tokio::sync::mpsc::Sender<std::io::Result<Bytes>>) {
        let (tx, rx) = tokio::sync::mpsc::channel(queue.max(1));
        let body = Self {
            content_type: content_type.into(),
            len,
            pieces: std::sync::Arc::new(std::sync::Mutex::new(Some(rx))),
        };
        (body, tx)
    }

    /// The queue of pieces, the first time; `None` once taken (the body was sent).
    pub fn take(&self) -> Option<tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>> {
        self.pieces.lock().ok().and_then(|mut g| g.take())
    }
}

impl fmt::Debug for StreamBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamBody")
            .field("content_type", &self.content_type)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// One value of a [`Body::Form`]: text, or a [`Secret`] that `Debug` never shows. Both are
/// sent as they are.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormValue {
    /// Plain text (`grant_type`, `service`, `scope`).
    Text(String),
    /// A password or token.
    Secret(Secret),
}

impl FormValue {
    /// The value as it goes on the wire.
    pub fn expose(&self) -> &str {
        match self {
            Self::Text(t) => t,
            Self::Secret(s) => s.expose(),
        }
    }
}

impl From<String> for FormValue {
    fn from(value: String) -> Self {
        Self::Text(value)
    }
}

impl From<&str> for FormValue {
    fn from(value: &str) -> Self {
        Self::Text(value.to_owned())
    }
}

impl From<Secret> for FormValue {
    fn from(value: Secret) -> Self {
        Self::Secret(value)
    }
}

impl fmt::Debug for FormValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(t) => fmt::Debug::fmt(t, f),
            Self::Secret(s) => fmt::Debug::fmt(s, f),
        }
    }
}

impl serde::Serialize for FormValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.expose())
    }
}

/// One HTTP request of one operation, before auth, retry and redirects.
#[derive(Debug, Clone)]
pub struct Request {
    /// The operation's name (`get_manifest`), for errors and tracing.
    pub operation: &'static str,
    /// The HTTP method.
    pub method: Method,
    /// The path, already percent-encoded, starting with `/` (or an absolute URL, as upload
    /// locations and `Link` targets may be). It may carry a query string of its own (upload
    /// locations do); `query` pairs are appended to it. Credentials go only to the
    /// endpoint's origin.
    pub path: String,
    /// Query pairs, not yet encoded; a key may repeat.
    pub query: Vec<(String, String)>,
    /// Extra request headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Body,
    /// The auth scope the operation needs (`repository:hello:pull`), if any; several scopes
    /// are separated by spaces (`repository:a:pull,push repository:b:pull`, a mount). A warm
    /// client sends the cached token of this scope up front; `None` sends no credential until
    /// the registry challenges.
    pub scope: Option<String>,
    /// Whether the request authenticates with the credential's username and password (HTTP
    /// Basic) up front, whatever the registry's challenge (`GET /oauth2/token` does).
    pub basic_auth: bool,
    /// The repository the operation works on, for errors and tracing.
    pub repository: Option<String>,
    /// What the response body holds, which sets how much of it is read; `None` lets the
    /// transport infer it (see [`BodyKind`]).
    pub response_kind: Option<BodyKind>,
    /// The most bytes read of the response body, overriding the client's limit of its kind.
    pub response_limit: Option<u64>,
    /// Whether sending the request again does no harm although its method is not idempotent
    /// (RFC 9110 §9.2.2), so a lost connection or a retryable status retries it as if it were:
    /// opening an upload session (`POST /v2/<name>/blobs/uploads/`), whose unused twin the
    /// registry expires.
    pub repeatable: bool,
    /// Whether a `404` to a resend of this `DELETE`, after an attempt whose answer was lost
    /// (the connection broke or timed out once the request could have reached the server),
    /// means the first attempt deleted it. `DELETE` is idempotent (RFC 9110 §9.2.2): the
    /// second request has the effect of the first, but its answer differs, and the caller
    /// asked for the resource to be gone. Such a response is returned as a success, with
    /// its true status (`404`). Only for operations whose success has no body.
    pub done_when_gone: bool,
}

impl Request {
    /// A request of `operation` with `method` on `path` (already encoded).
    pub fn new(operation: &'static str, method: Method, path: impl Into<String>) -> Self {
        Self {
            operation,
            method,
            path: path.into(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: Body::Empty,
            scope: None,
            basic_auth: false,
            repository: None,
            response_kind: None,
            response_limit: None,
            repeatable: false,
            done_when_gone: false,
        }
    }

    /// Marks a `DELETE` whose `404`, after a lost answer, means done (see
    /// [`Request::done_when_gone`]).
    pub fn done_when_gone(mut self) -> Self {
        self.done_when_gone = true;
        self
    }

    /// Marks the request as harmless to send twice (see [`Request::repeatable`]).
    pub fn repeatable(mut self) -> Self {
        self.repeatable = true;
        self
    }

    /// Says what the response body holds (see [`BodyKind`]); its limit applies.
    pub fn response_kind(mut self, kind: BodyKind) -> Self {
        self.response_kind = Some(kind);
        self
    }

    /// Reads at most `bytes` of the response body, whatever its kind.
    pub fn response_limit(mut self, bytes: u64) -> Self {
        self.response_limit = Some(bytes);
        self
    }

    /// Appends a query pair.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Sets a header; a value that is not a valid header value is an error.
    pub fn header(mut self, name: &str, value: &str) -> crate::Result<Self> {
        let name = HeaderName::try_from(name).map_err(|_| {
            crate::Error::invalid_input(self.operation, format!("invalid header name {name:?}"))
        })?;
        let value = HeaderValue::try_from(value).map_err(|_| {
            crate::Error::invalid_input(self.operation, format!("invalid value for header {name}"))
        })?;
        self.headers.append(name, value);
        Ok(self)
    }

    /// Sets the body.
    pub fn body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }

    /// Makes the request carry the credential's username and password (HTTP Basic) up front.
    pub fn basic_auth(mut self) -> Self {
        self.basic_auth = true;
        self
    }

    /// Sets the auth scope.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Sets the repository, for errors and tracing.
    pub fn repository(mut self, repository: impl Into<String>) -> Self {
        self.repository = Some(repository.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_debug_redacts_secrets_and_the_wire_keeps_them() {
        let form = vec![
            ("grant_type".to_owned(), FormValue::from("refresh_token")),
            (
                "refresh_token".to_owned(),
                FormValue::from(Secret::new("rt-SECRET")),
            ),
        ];
        let request =
            Request::new("exchange", Method::POST, "/oauth2/token").body(Body::Form(form.clone()));
        let debug = format!("{request:?} {request:#?}");
        assert!(!debug.contains("rt-SECRET"), "{debug}");
        assert!(debug.contains("\"refresh_token\"") && debug.contains("<redacted>"));
        assert_eq!(
            serde_urlencoded::to_string(&form).unwrap(),
            "grant_type=refresh_token&refresh_token=rt-SECRET"
        );
    }
}
