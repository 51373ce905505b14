//! The response the transport hands back to generated code.

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use url::Url;

use crate::{Error, UploadLocation};

/// What a response body holds; it decides the most bytes the transport reads of it (see
/// [`ResponseLimits`]).
///
/// A [`Request`](crate::Request) names its kind with
/// [`Request::response_kind`](crate::Request::response_kind); when it does not, the transport
/// infers it: a form body (the token endpoints) is [`Token`](Self::Token); an `Accept` that
/// lists manifest or index media types is [`Manifest`](Self::Manifest); a method other than
/// `GET` is [`Ack`](Self::Ack); a `GET` is read by its response's `Content-Type`: a manifest
/// or index media type is a manifest, JSON (or none) a [`Document`](Self::Document), anything
/// else a [`Blob`](Self::Blob).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BodyKind {
    /// A manifest or index (4 MiB by default: the limit distribution and ACR put on a
    /// manifest `PUT`).
    Manifest,
    /// A token endpoint's answer (1 MiB by default).
    Token,
    /// An error status's body (1 MiB by default); a longer one is cut at the limit, the
    /// error keeps its status.
    Error,
    /// A JSON document or listing: catalogs, tag and manifest lists, attributes (8 MiB by
    /// default).
    Document,
    /// Blob bytes read whole (the generated `get_blob`; 64 MiB by default: large blobs belong
    /// in the streaming, verified `Client::pull_blob` of the `acr` crate).
    Blob,
    /// The answer to a request that changes something (`POST`, `PUT`, `PATCH`, `DELETE`),
    /// whose body the client does not need (1 MiB by default).
    Ack,
}

/// The most bytes read of a buffered response body, per [`BodyKind`]. The transport checks
/// `Content-Length` before reading, then counts while reading, and stops at the limit with
/// [`Error::TooLarge`]; so memory stays bounded whatever the server sends.
///
/// Raise a limit with [`ClientBuilder::response_limit`](crate::ClientBuilder::response_limit),
/// or for one request with [`Request::response_limit`](crate::Request::response_limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseLimits {
    /// [`BodyKind::Manifest`] (4 MiB).
    pub manifest: u64,
    /// [`BodyKind::Token`] (1 MiB).
    pub token: u64,
    /// [`BodyKind::Error`] (1 MiB).
    pub error: u64,
    /// [`BodyKind::Document`] (8 MiB).
    pub document: u64,
    /// [`BodyKind::Blob`] (64 MiB).
    pub blob: u64,
    /// [`BodyKind::Ack`] (1 MiB).
    pub ack: u64,
}

const MIB: u64 = 1024 * 1024;

impl Default for ResponseLimits {
    fn default() -> Self {
        Self {
            manifest: 4 * MIB,
            token: MIB,
            error: MIB,
            document: 8 * MIB,
            blob: 64 * MIB,
            ack: MIB,
        }
    }
}

impl ResponseLimits {
    /// The limit of `kind`, in bytes.
    pub fn get(&self, kind: BodyKind) -> u64 {
        match kind {
            BodyKind::Manifest => self.manifest,
            BodyKind::Token => self.token,
            BodyKind::Error => self.error,
            BodyKind::Document => self.document,
            BodyKind::Blob => self.blob,
            BodyKind::Ack => self.ack,
        }
    }

    /// Sets the limit of `kind`, in bytes.
    pub fn set(&mut self, kind: BodyKind, bytes: u64) {
        match kind {
            BodyKind::Manifest => self.manifest = bytes,
            BodyKind::Token => self.token = bytes,
            BodyKind::Error => self.error = bytes,
            BodyKind::Document => self.document = bytes,
            BodyKind::Blob => self.blob = bytes,
            BodyKind::Ack => self.ack = bytes,
        }
    }
}

/// A response with a success status, its body already read.
#[derive(Debug, Clone)]
pub struct Response {
    /// The operation that produced it.
    pub operation: &'static str,
    /// The status code.
    pub status: StatusCode,
    /// The URL that answered, after redirects. Relative references the response carries
    /// (`Location`, `Link` targets) resolve against it (RFC 3986 §5; RFC 9110 §10.2.2,
    /// RFC 8288 §3.2), not against the endpoint: use [`Response::resolve`].
    pub url: Url,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Response {
    /// Resolves `reference` (a `Location` value, a `Link` target) against [`Response::url`]
    /// (RFC 3986 §5); an unparsable reference is an [`Error::InvalidResponse`].
    pub fn resolve(&self, reference: &str) -> crate::Result<Url> {
        resolve(self.operation, &self.url, reference)
    }

    /// A header's value as text, if present and valid text.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Header `name` as an [`UploadLocation`], resolved against [`Response::url`] (see
    /// [`UploadLocation::resolve`]); a present but unusable value is an error.
    pub fn upload_location(&self, name: &str) -> crate::Result<Option<UploadLocation>> {
        upload_location(self.operation, &self.url, &self.headers, name)
    }

    /// Parses a header with `FromStr`; a present but unparsable header is an error.
    pub fn header<T>(&self, name: &str) -> crate::Result<Option<T>>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        typed_header(self.operation, &self.headers, name)
    }

    /// Parses the body as JSON.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidResponse`] when the body does not fit `T`; the message names the JSON
    /// path of the value (for example ``at `tags[3].digest`: ...``) and serde's reason
    /// ([`crate::json::from_slice`]).
    pub fn json<T: DeserializeOwned>(&self) -> crate::Result<T> {
        crate::json::from_slice(&self.body).map_err(|e| {
            Error::unreadable(
                self.operation,
                format!("body is not the expected JSON: {e}"),
                self.status,
                self.headers.clone(),
                self.body.clone(),
            )
        })
    }
}

/// A response with a success status whose body is still a stream (blob downloads).
pub struct StreamingResponse {
    /// The operation that produced it.
    pub operation: &'static str,
    /// The status code.
    pub status: StatusCode,
    /// The URL that answered, after redirects (see [`Response::url`]).
    pub url: Url,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body, chunk by chunk; a broken connection is an `Err` item.
    pub body: crate::paging::BoxStream<Bytes>,
}

impl std::fmt::Debug for StreamingResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingResponse")
            .field("operation", &self.operation)
            .field("status", &self.status)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl StreamingResponse {
    /// Resolves `reference` against [`StreamingResponse::url`] (see [`Response::resolve`]).
    pub fn resolve(&self, reference: &str) -> crate::Result<Url> {
        resolve(self.operation, &self.url, reference)
    }

    /// A header's value as text, if present and valid text.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Header `name` as an [`UploadLocation`], resolved against [`StreamingResponse::url`]
    /// (see [`UploadLocation::resolve`]); a present but unusable value is an error.
    pub fn upload_location(&self, name: &str) -> crate::Result<Option<UploadLocation>> {
        upload_location(self.operation, &self.url, &self.headers, name)
    }

    /// Parses a header with `FromStr`; a present but unparsable header is an error.
    pub fn header<T>(&self, name: &str) -> crate::Result<Option<T>>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        typed_header(self.operation, &self.headers, name)
    }

    /// Reads the whole body, refusing more than `limit` bytes.
    pub async fn bytes(mut self, limit: u64) -> crate::Result<Bytes> {
        use futures_util::StreamExt as _;
        let op = self.operation;
        if self
            .header_str("content-length")
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|n| n > limit)
        {
            return Err(Error::TooLarge {
                operation: op,
                limit,
            });
        }
        let mut buf = bytes::BytesMut::new();
        while let Some(chunk) = self.body.next().await {
            let chunk = chunk?;
            if (buf.len() + chunk.len()) as u64 > limit {
                return Err(Error::TooLarge {
                    operation: op,
                    limit,
                });
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    }
}

/// A response body handed over as a stream of chunks (a streamed operation's body: blob
/// bytes); a broken connection is an `Err` item. Memory holds one chunk at a time.
pub struct BodyStream {
    operation: &'static str,
    body: crate::paging::BoxStream<Bytes>,
}

impl BodyStream {
    /// The stream of `body`, a response of `operation`.
    pub fn new(operation: &'static str, body: crate::paging::BoxStream<Bytes>) -> Self {
        Self { operation, body }
    }

    /// The boxed stream inside.
    pub fn into_inner(self) -> crate::paging::BoxStream<Bytes> {
        self.body
    }

    /// Reads the whole body into memory, refusing more than `limit` bytes.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`] past `limit`; the stream's own errors (a broken connection).
    pub async fn bytes(mut self, limit: u64) -> crate::Result<Bytes> {
        use futures_util::StreamExt as _;
        let mut buf = bytes::BytesMut::new();
        while let Some(chunk) = self.body.next().await {
            let chunk = chunk?;
            if (buf.len() + chunk.len()) as u64 > limit {
                return Err(Error::TooLarge {
                    operation: self.operation,
                    limit,
                });
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    }
}

impl std::fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyStream")
            .field("operation", &self.operation)
            .finish_non_exhaustive()
    }
}

impl futures_core::Stream for BodyStream {
    type Item = crate::Result<Bytes>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.body.as_mut().poll_next(cx)
    }
}

/// Header `name` of `headers` as an [`UploadLocation`] resolved against `base`.
fn upload_location(
    operation: &'static str,
    base: &Url,
    headers: &HeaderMap,
    name: &str,
) -> crate::Result<Option<UploadLocation>> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| Error::invalid_response(operation, format!("header {name} is not text")))?;
    UploadLocation::resolve(base, text)
        .map(Some)
        .map_err(|e| Error::invalid_response(operation, format!("header {name}: {e}")))
}

/// Resolves `reference` against `base` (RFC 3986 §5.2); only http(s) results are accepted.
fn resolve(operation: &'static str, base: &Url, reference: &str) -> crate::Result<Url> {
    let url = base.join(reference.trim()).map_err(|e| {
        Error::invalid_response(
            operation,
            format!("the reference is not a URL reference: {e}"),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::invalid_response(
            operation,
            "the reference is not an http(s) URL",
        ));
    }
    Ok(url)
}

/// Parses header `name` of `headers` with `FromStr`; a present but unparsable header is an error
/// of `operation`.
fn typed_header<T>(
    operation: &'static str,
    headers: &HeaderMap,
    name: &str,
) -> crate::Result<Option<T>>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    if headers.get(name).is_none() {
        return Ok(None);
    }
    // Several fields of one name read as one list (RFC 9110 §5.3), so a `Link` split over
    // two fields is read whole; identical repeats count once.
    let mut text = String::new();
    for value in headers.get_all(name) {
        let value = value.to_str().map_err(|_| {
            Error::invalid_response(operation, format!("header {name} is not text"))
        })?;
        if text.is_empty() {
            text.push_str(value);
        } else if text != value {
            text.push_str(", ");
            text.push_str(value);
        }
    }
    text.parse::<T>()
        .map(Some)
        .map_err(|e| Error::invalid_response(operation, format!("header {name}: {e}")))
}
