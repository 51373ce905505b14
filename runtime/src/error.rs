//! The one error type of the runtime and of the generated client.
//!
//! Every message names the operation, the repository when there is one, and says what to
//! do next. The error body of a registry (`{"errors":[{"code","message","detail"}]}`, OCI
//! distribution spec, "Error Codes") is kept parsed ([`ErrorInfo`], the code as an open
//! [`ErrorCode`], `detail` as raw JSON because it is an array, an object or a string on the
//! wire); a plain-text body is kept as text. The status, headers and body of a response are
//! kept with the error ([`Error::headers`], [`Error::body`]), also when a success response
//! could not be read. A failure below HTTP keeps its innermost cause in the message
//! ("could not connect: connection refused"), and the number of attempts is said only when
//! the request was sent more than once. No message ever carries a credential, a token or a
//! URL query (storage redirects carry signatures in theirs).

use std::fmt;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;

use crate::names::NameError;

/// A registry error code: those of the OCI distribution spec 1.1 ("Error Codes"), those
/// CNCF distribution and ACR add, and any other kept as it came ([`ErrorCode::Other`]).
///
/// New variants may be added in minor versions (a code seen as `Other` today may get its
/// own variant); match with a wildcard arm, or compare [`ErrorCode::as_str`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `BLOB_UNKNOWN`: the blob is not in the repository.
    BlobUnknown,
    /// `BLOB_UPLOAD_INVALID`: the upload failed or the session does not accept this request.
    BlobUploadInvalid,
    /// `BLOB_UPLOAD_UNKNOWN`: the upload session is unknown (cancelled, expired or done).
    BlobUploadUnknown,
    /// `DIGEST_INVALID`: the content does not match the digest given.
    DigestInvalid,
    /// `MANIFEST_BLOB_UNKNOWN`: a manifest names a blob the repository does not have.
    ManifestBlobUnknown,
    /// `MANIFEST_INVALID`: the manifest is malformed or fails validation.
    ManifestInvalid,
    /// `MANIFEST_UNKNOWN`: no manifest for this tag or digest.
    ManifestUnknown,
    /// `NAME_INVALID`: the repository name is malformed.
    NameInvalid,
    /// `NAME_UNKNOWN`: the repository is not known to the registry.
    NameUnknown,
    /// `SIZE_INVALID`: the content length does not match the size given.
    SizeInvalid,
    /// `UNAUTHORIZED`: authentication is required (or the token lacks the scope).
    Unauthorized,
    /// `DENIED`: the credential may not do this.
    Denied,
    /// `UNSUPPORTED`: the registry does not support this operation (ACR: deleting a
    /// manifest by tag).
    Unsupported,
    /// `TOOMANYREQUESTS`: the registry is throttling the client.
    TooManyRequests,
    /// `MANIFEST_UNVERIFIED` (CNCF distribution): a schema 1 manifest signature failed.
    ManifestUnverified,
    /// `TAG_INVALID` (CNCF distribution): the tag in the manifest does not match the URL.
    TagInvalid,
    /// `PAGINATION_NUMBER_INVALID` (CNCF distribution and ACR): the page size `n` is invalid.
    PaginationNumberInvalid,
    /// `UNKNOWN` (CNCF distribution): an unknown error.
    Unknown,
    /// Any other code, as the registry wrote it.
    Other(String),
}

impl ErrorCode {
    const KNOWN: &'static [(&'static str, ErrorCode)] = &[
        ("BLOB_UNKNOWN", ErrorCode::BlobUnknown),
        ("BLOB_UPLOAD_INVALID", ErrorCode::BlobUploadInvalid),
        ("BLOB_UPLOAD_UNKNOWN", ErrorCode::BlobUploadUnknown),
        ("DIGEST_INVALID", ErrorCode::DigestInvalid),
        ("MANIFEST_BLOB_UNKNOWN", ErrorCode::ManifestBlobUnknown),
        ("MANIFEST_INVALID", ErrorCode::ManifestInvalid),
        ("MANIFEST_UNKNOWN", ErrorCode::ManifestUnknown),
        ("NAME_INVALID", ErrorCode::NameInvalid),
        ("NAME_UNKNOWN", ErrorCode::NameUnknown),
        ("SIZE_INVALID", ErrorCode::SizeInvalid),
        ("UNAUTHORIZED", ErrorCode::Unauthorized),
        ("DENIED", ErrorCode::Denied),
        ("UNSUPPORTED", ErrorCode::Unsupported),
        ("TOOMANYREQUESTS", ErrorCode::TooManyRequests),
        ("MANIFEST_UNVERIFIED", ErrorCode::ManifestUnverified),
        ("TAG_INVALID", ErrorCode::TagInvalid),
        (
            "PAGINATION_NUMBER_INVALID",
            ErrorCode::PaginationNumberInvalid,
        ),
        ("UNKNOWN", ErrorCode::Unknown),
    ];

    /// The code of `text`; an unknown code is kept as [`ErrorCode::Other`].
    pub fn new(text: &str) -> Self {
        Self::KNOWN
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, code)| code.clone())
            .unwrap_or_else(|| Self::Other(text.to_owned()))
    }

    /// The code as the registry writes it (`MANIFEST_UNKNOWN`).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Other(text) => text,
            known => Self::KNOWN
                .iter()
                .find(|(_, code)| code == known)
                .map(|(name, _)| *name)
                .unwrap_or_default(),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ErrorCode {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(s))
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(Self::new(&text))
    }
}

/// Reads an absent, `null` or empty code as `None`.
fn code_or_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<ErrorCode>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    Ok(text.filter(|t| !t.is_empty()).map(|t| ErrorCode::new(&t)))
}

/// Reads an absent or `null` message as empty.
fn text_or_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// One entry of a registry error body (`{"errors":[…]}`); written back in the same shape.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct ErrorInfo {
    /// The error code (`MANIFEST_UNKNOWN`, `UNAUTHORIZED`, …); `None` when the entry has none.
    #[serde(
        default,
        deserialize_with = "code_or_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub code: Option<ErrorCode>,
    /// The human-readable message (empty when the entry has none).
    #[serde(default, deserialize_with = "text_or_empty")]
    pub message: String,
    /// The detail, kept as JSON: an array, an object or a string on the wire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Option<Vec<ErrorInfo>>,
}

/// A response with an error status, its body parsed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StatusError {
    /// The operation.
    pub operation: &'static str,
    /// The repository, when the operation works on one.
    pub repository: Option<String>,
    /// The status.
    pub status: StatusCode,
    /// The parsed `errors` of a JSON error body (empty when the body was not one).
    pub errors: Vec<ErrorInfo>,
    /// The body as text when it was not a JSON error body (truncated to 512 bytes).
    pub text: Option<String>,
    /// How many times the request was sent.
    pub attempts: u32,
    /// The response headers (empty when they were not kept).
    pub headers: HeaderMap,
    /// The body as it came (as much of it as was read: error bodies are read up to a limit).
    pub body: Bytes,
}

impl StatusError {
    /// Parses an error `body` answered with `status`.
    pub fn new(
        operation: &'static str,
        repository: Option<String>,
        status: StatusCode,
        body: &[u8],
        attempts: u32,
    ) -> Self {
        let (errors, text) = match serde_json::from_slice::<ErrorBody>(body) {
            Ok(ErrorBody {
                errors: Some(errors),
            }) if !errors.is_empty() => (errors, None),
            _ => {
                let text = String::from_utf8_lossy(body);
                let text = text.trim();
                let text = (!text.is_empty()).then(|| truncate(text, 512));
                (Vec::new(), text)
            }
        };
        Self {
            operation,
            repository,
            status,
            errors,
            text,
            attempts,
            headers: HeaderMap::new(),
            body: Bytes::copy_from_slice(body),
        }
    }

    /// The first entry's code.
    fn code(&self) -> Option<&ErrorCode> {
        self.errors.first().and_then(|e| e.code.as_ref())
    }

    fn hint(&self) -> &'static str {
        use ErrorCode as C;
        match (self.status.as_u16(), self.code()) {
            (_, Some(C::NameUnknown)) => "check the repository name",
            (_, Some(C::ManifestUnknown)) => "check the tag or digest",
            (_, Some(C::BlobUnknown)) => "check the digest; push the blob first",
            (_, Some(C::BlobUploadUnknown)) => "the upload session is gone; start the upload again",
            (_, Some(C::DigestInvalid)) => "the content does not match its digest",
            (_, Some(C::Unsupported)) => {
                "the registry does not support this; manifests are deleted by digest"
            }
            (401, _) => {
                "check the credential and that it grants the operation's scope on this repository"
            }
            (403, _) | (_, Some(C::Denied)) => "the credential lacks permission for this operation",
            (404, _) => "check the repository name, tag or digest",
            (405, _) => "the registry refuses this method here (a lock, or delete by tag)",
            (408 | 429, _) | (_, Some(C::TooManyRequests)) => {
                "the registry is throttling or slow; try later or raise the retry budget"
            }
            (500..=599, _) => "the registry failed; try again later",
            _ => "see the registry's message",
        }
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

impl fmt::Display for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.operation)?;
        if let Some(repo) = &self.repository {
            write!(f, " on repository {repo:?}")?;
        }
        write!(f, ": the registry answered {}", self.status)?;
        if let Some(first) = self.errors.first() {
            match &first.code {
                Some(code) => write!(f, " {code}: {}", first.message)?,
                None => write!(f, " {:?}", first.message)?,
            }
            if self.errors.len() > 1 {
                write!(f, " (and {} more errors)", self.errors.len() - 1)?;
            }
        } else if let Some(text) = &self.text {
            write!(f, " {text:?}")?;
        }
        write!(f, "{}; {}", retried(self.attempts), self.hint())
    }
}

/// `" after N attempts"` when the request was sent more than once, else nothing: one
/// attempt is no news, and saying it reads as if the request had been retried.
fn retried(attempts: u32) -> String {
    if attempts > 1 {
        format!(" after {attempts} attempts")
    } else {
        String::new()
    }
}

/// Where a request went wrong before a status came back.
#[derive(Debug)]
#[non_exhaustive]
pub struct TransportError {
    /// The operation.
    pub operation: &'static str,
    /// The repository, when the operation works on one.
    pub repository: Option<String>,
    /// How many times the request was sent.
    pub attempts: u32,
    /// What failed, in words (`timed out`, `could not connect`, …).
    pub kind: &'static str,
    /// The innermost cause, in words (`connection refused`).
    pub cause: String,
    /// The underlying error, its URL removed. Not public: the HTTP stack is no part of the
    /// API; [`std::error::Error::source`] reaches it.
    pub(crate) source: reqwest::Error,
}

impl TransportError {
    fn new(
        operation: &'static str,
        repository: Option<String>,
        attempts: u32,
        source: reqwest::Error,
    ) -> Self {
        let source = source.without_url();
        let kind = if source.is_timeout() {
            "timed out"
        } else if source.is_connect() {
            "could not connect"
        } else if source.is_body() || source.is_decode() {
            "the response broke off"
        } else if source.is_request() {
            "the request failed"
        } else {
            "transport error"
        };
        let cause = innermost_cause(&source);
        Self {
            operation,
            repository,
            attempts,
            kind,
            cause,
            source,
        }
    }
}

/// The innermost cause of `error` in words: the deepest I/O error of the source chain (by
/// kind: "connection refused"), else the deepest error's message.
fn innermost_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut deepest: &(dyn std::error::Error + 'static) = error;
    let mut io: Option<&std::io::Error> = None;
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<std::io::Error>() {
            io = Some(found);
        }
        deepest = e;
        current = e.source();
    }
    if let Some(io) = io {
        use std::io::ErrorKind as K;
        let words = match io.kind() {
            K::ConnectionRefused => Some("connection refused"),
            K::ConnectionReset => Some("connection reset by the peer"),
            K::ConnectionAborted => Some("connection aborted"),
            K::NotConnected => Some("not connected"),
            K::TimedOut => Some("timed out"),
            K::UnexpectedEof => Some("the connection closed early"),
            K::BrokenPipe => Some("the connection closed (broken pipe)"),
            K::AddrNotAvailable => Some("address not available"),
            _ => None,
        };
        if let Some(words) = words {
            return words.to_owned();
        }
        return io.to_string();
    }
    deepest.to_string()
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.operation)?;
        if let Some(repo) = &self.repository {
            write!(f, " on repository {repo:?}")?;
        }
        write!(f, ": {}", self.kind)?;
        if self.cause != self.kind {
            write!(f, ": {}", self.cause)?;
        }
        write!(
            f,
            "{}; check the endpoint and the network, or raise the timeouts or retry budget",
            retried(self.attempts)
        )
    }
}

/// Which timeout ended a request (see [`Error::Timeout`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// No byte of the response arrived for the read timeout.
    Read,
    /// The request body made no progress for the write timeout.
    Write,
    /// The caller's overall deadline (`request_timeout`) passed.
    Deadline,
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Read => "no response bytes arrived within the read timeout",
            Self::Write => "the request body made no progress within the write timeout",
            Self::Deadline => "the request did not finish within its request_timeout",
        })
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// `" (could not connect: connection refused)"` when `source` is a transport failure, so
/// an error that wraps one keeps its innermost cause in its message; else nothing.
fn transport_cause(source: &Option<Box<Error>>) -> String {
    match source.as_deref() {
        Some(Error::Transport(t)) if t.cause != t.kind => format!(" ({}: {})", t.kind, t.cause),
        Some(Error::Transport(t)) => format!(" ({})", t.kind),
        _ => String::new(),
    }
}

/// The parts of a response the client could not read, kept for the caller.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ResponseParts {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

/// Everything that can go wrong talking to a registry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The caller passed something that cannot be sent (a bad header value, a bad name
    /// passed as text to an operation).
    #[error("{operation}: invalid input: {message}")]
    InvalidInput {
        /// The operation.
        operation: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A name did not parse ([`RepositoryName::new`](crate::RepositoryName::new) and the
    /// like); `?` converts a [`NameError`] into this.
    #[error(transparent)]
    Name(#[from] NameError),
    /// The registry answered with a status that is not a success.
    #[error("{0}")]
    Status(Box<StatusError>),
    /// The registry answered something we cannot read.
    #[error("{operation}: unexpected response: {message}")]
    InvalidResponse {
        /// The operation.
        operation: &'static str,
        /// What is wrong.
        message: String,
        /// The response, when one came and could not be read.
        response: Option<Box<ResponseParts>>,
    },
    /// The request could not be sent or the response not received.
    #[error("{0}")]
    Transport(#[source] Box<TransportError>),
    /// Getting a token failed, or the registry's auth challenge cannot be answered.
    #[error(
        "{operation}: authentication failed: {message}{}",
        transport_cause(source)
    )]
    Auth {
        /// The operation that needed the token.
        operation: &'static str,
        /// What went wrong and what to do.
        message: String,
        /// The failure of the token request, if one was made.
        #[source]
        source: Option<Box<Error>>,
    },
    /// A credential would have gone where it must not (plain http, a foreign token realm).
    #[error("{operation}: refused for safety: {message}")]
    Insecure {
        /// The operation.
        operation: &'static str,
        /// What was refused and how to allow it.
        message: String,
    },
    /// Content does not match its digest.
    #[error(
        "{operation}: digest mismatch: expected {expected}, got {actual}; the content is corrupt or was changed, do not use it"
    )]
    DigestMismatch {
        /// The operation.
        operation: &'static str,
        /// The digest asked for or computed by us.
        expected: String,
        /// The digest of the bytes, or the one the registry reported.
        actual: String,
    },
    /// A request stalled for longer than an idle timeout, or outlived its deadline.
    #[error("{operation}: timed out: {kind} ({after:?}); check the network, or raise the timeout")]
    Timeout {
        /// The operation.
        operation: &'static str,
        /// Which timeout.
        kind: TimeoutKind,
        /// The timeout's length.
        after: std::time::Duration,
    },
    /// A response body is larger than its limit.
    #[error("{operation}: response larger than the limit of {limit} bytes; refused")]
    TooLarge {
        /// The operation.
        operation: &'static str,
        /// The limit in bytes.
        limit: u64,
    },
    /// A blob upload failed; the error says whether the session was cancelled.
    #[error("{operation} on repository {repository:?}: upload failed at byte {offset}: {message}{}{}", transport_cause(source), if *cancelled { " (the upload session was cancelled)" } else { "" })]
    Upload {
        /// The operation (`push_blob`).
        operation: &'static str,
        /// The repository.
        repository: String,
        /// The bytes the registry had confirmed when it failed.
        offset: u64,
        /// What went wrong and what to do.
        message: String,
        /// Whether the session was cancelled with `DELETE`.
        cancelled: bool,
        /// The failure behind it, if any.
        #[source]
        source: Option<Box<Error>>,
    },
    /// Reading a local source or writing a local file failed.
    #[error("{operation}: {message}: {source}")]
    Io {
        /// The operation.
        operation: &'static str,
        /// What was being done.
        message: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The client could not be configured.
    #[error("invalid client configuration: {0}")]
    Config(String),
}

impl Error {
    /// An [`Error::InvalidInput`].
    pub fn invalid_input(operation: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidInput {
            operation,
            message: message.into(),
        }
    }

    /// An [`Error::InvalidResponse`] without the response.
    pub fn invalid_response(operation: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidResponse {
            operation,
            message: message.into(),
            response: None,
        }
    }

    /// An [`Error::InvalidResponse`] that keeps the status, headers and body of the response
    /// the client could not read.
    pub fn unreadable(
        operation: &'static str,
        message: impl Into<String>,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    ) -> Self {
        Self::InvalidResponse {
            operation,
            message: message.into(),
            response: Some(Box::new(ResponseParts {
                status,
                headers,
                body,
            })),
        }
    }

    /// An [`Error::Io`].
    pub fn io(operation: &'static str, message: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            operation,
            message: message.into(),
            source,
        }
    }

    /// An [`Error::Status`] from an error response's status and body.
    pub fn from_status(
        operation: &'static str,
        repository: Option<String>,
        status: StatusCode,
        body: &[u8],
        attempts: u32,
    ) -> Self {
        Self::Status(Box::new(StatusError::new(
            operation, repository, status, body, attempts,
        )))
    }

    /// The same error with the response `headers` kept ([`Error::Status`] and
    /// [`Error::InvalidResponse`] with a response; others are returned as they are).
    pub fn with_headers(mut self, headers: HeaderMap) -> Self {
        match &mut self {
            Self::Status(s) => s.headers = headers,
            Self::InvalidResponse {
                response: Some(r), ..
            } => r.headers = headers,
            _ => {}
        }
        self
    }

    pub(crate) fn transport(
        operation: &'static str,
        repository: Option<String>,
        attempts: u32,
        source: reqwest::Error,
    ) -> Self {
        Self::Transport(Box::new(TransportError::new(
            operation, repository, attempts, source,
        )))
    }

    /// The error behind an [`Error::Auth`] or [`Error::Upload`], if any.
    fn inner(&self) -> Option<&Error> {
        match self {
            Self::Auth {
                source: Some(inner),
                ..
            }
            | Self::Upload {
                source: Some(inner),
                ..
            } => Some(inner),
            _ => None,
        }
    }

    /// The HTTP status of the response this error is about: an error status, or the status
    /// of a response that could not be read.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Status(s) => Some(s.status),
            Self::InvalidResponse {
                response: Some(r), ..
            } => Some(r.status),
            _ => self.inner().and_then(Error::status),
        }
    }

    /// The first registry error code of the error body (`MANIFEST_UNKNOWN`), if any.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Self::Status(s) => s.code(),
            _ => self.inner().and_then(Error::code),
        }
    }

    /// The message of this error without the operation and the advice: the registry's own
    /// message for an error status (the first `errors[].message`, or its text body), the
    /// innermost cause of a transport failure (`connection refused`), the description of
    /// the other kinds that carry one; `None` for the rest.
    pub fn message(&self) -> Option<&str> {
        match self {
            Self::Status(s) => s
                .errors
                .first()
                .map(|e| e.message.as_str())
                .filter(|m| !m.is_empty())
                .or(s.text.as_deref()),
            Self::Transport(t) => Some(&t.cause),
            Self::InvalidInput { message, .. }
            | Self::InvalidResponse { message, .. }
            | Self::Insecure { message, .. }
            | Self::Io { message, .. } => Some(message),
            Self::Auth {
                message, source, ..
            }
            | Self::Upload {
                message, source, ..
            } => source
                .as_deref()
                .and_then(|inner| match inner {
                    Self::Status(_) => inner.message(),
                    _ => None,
                })
                .or(Some(message)),
            Self::Config(message) => Some(message),
            _ => None,
        }
    }

    /// The parsed entries of the registry's error body (empty when there are none).
    pub fn errors(&self) -> &[ErrorInfo] {
        match self {
            Self::Status(s) => &s.errors,
            _ => self.inner().map(Error::errors).unwrap_or_default(),
        }
    }

    /// The headers of the response this error is about, when they were kept.
    pub fn headers(&self) -> Option<&HeaderMap> {
        match self {
            Self::Status(s) => Some(&s.headers),
            Self::InvalidResponse {
                response: Some(r), ..
            } => Some(&r.headers),
            _ => self.inner().and_then(Error::headers),
        }
    }

    /// The body of the response this error is about (an error body as far as it was read,
    /// or the whole body that could not be read).
    pub fn body(&self) -> Option<&Bytes> {
        match self {
            Self::Status(s) => Some(&s.body),
            Self::InvalidResponse {
                response: Some(r), ..
            } => Some(&r.body),
            _ => self.inner().and_then(Error::body),
        }
    }

    /// How many times the request was sent, when the error comes from a sent request.
    pub fn attempts(&self) -> Option<u32> {
        match self {
            Self::Status(s) => Some(s.attempts),
            Self::Transport(t) => Some(t.attempts),
            _ => None,
        }
    }

    /// Whether trying again later may succeed (connection errors, 408, 429, 5xx gateways).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Status(s) => crate::retry::is_retryable_status(s.status),
            Self::Transport(t) => crate::retry::is_retryable_transport(&t.source),
            Self::Timeout { kind, .. } => *kind != TimeoutKind::Deadline,
            _ => false,
        }
    }

    /// Whether the thing asked for does not exist (404 or a `*_UNKNOWN` code).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
            || matches!(
                self.code(),
                Some(
                    ErrorCode::NameUnknown
                        | ErrorCode::ManifestUnknown
                        | ErrorCode::BlobUnknown
                        | ErrorCode::BlobUploadUnknown
                )
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_send_sync_static() {
        fn check<T: Send + Sync + 'static + std::error::Error>() {}
        check::<Error>();
    }

    #[test]
    fn parses_json_error_body_with_any_detail() {
        let body = br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":[{"Type":"repository","Name":"hello","Action":"pull"}]}]}"#;
        let e = Error::from_status(
            "get_manifest",
            Some("hello".into()),
            StatusCode::UNAUTHORIZED,
            body,
            2,
        );
        assert_eq!(e.code(), Some(&ErrorCode::Unauthorized));
        assert_eq!(e.message(), Some("authentication required"));
        assert_eq!(e.status(), Some(StatusCode::UNAUTHORIZED));
        assert_eq!(e.body().map(|b| &b[..]), Some(&body[..]));
        assert!(e.errors()[0].detail.as_ref().is_some_and(|d| d.is_array()));
        let text = e.to_string();
        assert!(text.contains("get_manifest"), "{text}");
        assert!(text.contains("\"hello\""), "{text}");
        assert!(text.contains("2 attempts"), "{text}");
        assert!(text.contains("check the credential"), "{text}");

        let body = br#"{"errors":[{"code":"DIGEST_INVALID","message":"m","detail":"digest parsing failed"}]}"#;
        let e = Error::from_status("complete_upload", None, StatusCode::BAD_REQUEST, body, 1);
        assert_eq!(
            e.errors()[0].detail,
            Some(serde_json::json!("digest parsing failed"))
        );
        let body =
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"m","detail":{"Tag":"x"}}]}"#;
        let e = Error::from_status("get_manifest", None, StatusCode::NOT_FOUND, body, 1);
        assert!(e.is_not_found());
        assert!(!e.is_retryable());
    }

    #[test]
    fn plain_text_bodies_are_kept() {
        let e = Error::from_status(
            "get_properties",
            None,
            StatusCode::NOT_FOUND,
            b"404 page not found\n",
            1,
        );
        assert_eq!(e.code(), None);
        assert_eq!(e.message(), Some("404 page not found"));
        assert!(e.is_not_found());
        assert!(e.to_string().contains("404 page not found"), "{e}");
        assert!(
            !e.to_string().contains("attempt"),
            "one attempt is not said: {e}"
        );
        let long = "x".repeat(2000);
        let e = Error::from_status("op", None, StatusCode::BAD_GATEWAY, long.as_bytes(), 3);
        assert!(e.to_string().len() < 800);
        assert!(e.is_retryable());
        assert_eq!(e.attempts(), Some(3));
    }

    #[test]
    fn codes_are_open_and_round_trip() {
        for text in [
            "MANIFEST_UNKNOWN",
            "TOOMANYREQUESTS",
            "PAGINATION_NUMBER_INVALID",
        ] {
            let code = ErrorCode::new(text);
            assert!(!matches!(code, ErrorCode::Other(_)), "{text}");
            assert_eq!(code.as_str(), text);
        }
        let other = ErrorCode::new("QUOTA_EXCEEDED");
        assert_eq!(other, ErrorCode::Other("QUOTA_EXCEEDED".into()));
        assert_eq!(other.to_string(), "QUOTA_EXCEEDED");
        let body = br#"{"errors":[{"code":"QUOTA_EXCEEDED","message":null},{"message":"m"}]}"#;
        let e = Error::from_status("op", None, StatusCode::FORBIDDEN, body, 1);
        assert_eq!(e.code().map(ErrorCode::as_str), Some("QUOTA_EXCEEDED"));
        assert_eq!(e.errors()[1].code, None);
        assert_eq!(e.message(), None);
        // `errors: null` is a body without entries, kept as text
        let e = Error::from_status(
            "op",
            None,
            StatusCode::BAD_GATEWAY,
            br#"{"errors":null}"#,
            1,
        );
        assert!(e.errors().is_empty());
        assert_eq!(e.message(), Some(r#"{"errors":null}"#));
    }

    #[test]
    fn attempts_are_said_only_after_retries() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#;
        let once = Error::from_status("get_manifest", None, StatusCode::NOT_FOUND, body, 1);
        assert!(!once.to_string().contains("attempt"), "{once}");
        let twice = Error::from_status("get_manifest", None, StatusCode::BAD_GATEWAY, body, 3);
        assert!(twice.to_string().contains("after 3 attempts"), "{twice}");
    }

    #[test]
    fn an_unreadable_response_is_kept() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ms-correlation-request-id", "abc".parse().unwrap());
        let e = Error::unreadable(
            "get_tags",
            "body is not the expected JSON",
            StatusCode::OK,
            headers,
            Bytes::from_static(b"<html>"),
        );
        assert_eq!(e.status(), Some(StatusCode::OK));
        assert_eq!(e.body().map(|b| &b[..]), Some(&b"<html>"[..]));
        assert_eq!(
            e.headers()
                .and_then(|h| h.get("x-ms-correlation-request-id"))
                .map(|v| v.as_bytes()),
            Some(&b"abc"[..])
        );
        assert!(!e.is_not_found());
    }

    #[test]
    fn a_name_error_converts_with_question_mark() {
        fn parse() -> crate::Result<crate::RepositoryName> {
            Ok(crate::RepositoryName::new("Bad Name")?)
        }
        let e = parse().unwrap_err();
        assert!(matches!(e, Error::Name(_)), "{e:?}");
        assert!(e.to_string().contains("invalid repository name"), "{e}");
    }

    /// A port nothing listens on.
    fn closed_port() -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn transport_errors_keep_their_innermost_cause() {
        // connection refused: the smallest case
        let port = closed_port();
        let source = reqwest::get(format!("http://127.0.0.1:{port}/v2/"))
            .await
            .unwrap_err();
        let once = Error::transport("check_docker_v2_support", None, 1, source);
        let text = once.to_string();
        assert!(
            text.contains("could not connect: connection refused"),
            "{text}"
        );
        assert!(!text.contains("error sending request"), "{text}");
        assert!(!text.contains("attempt"), "{text}");
        assert_eq!(once.message(), Some("connection refused"));
        assert!(std::error::Error::source(&once).is_some());
        let source = reqwest::get(format!("http://127.0.0.1:{port}/v2/"))
            .await
            .unwrap_err();
        let retried = Error::transport("check_docker_v2_support", None, 4, source);
        assert!(
            retried
                .to_string()
                .contains("could not connect: connection refused after 4 attempts"),
            "{retried}"
        );

        // one more of the class: a server that closes the connection without answering
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                drop(socket);
            }
        });
        let source = reqwest::get(format!("http://{addr}/v2/"))
            .await
            .unwrap_err();
        let closed = Error::transport("check_docker_v2_support", None, 1, source);
        let text = closed.to_string();
        assert!(!text.contains("error sending request"), "{text}");
        assert!(text.contains("closed") || text.contains("reset"), "{text}");

        // an error that wraps a transport failure keeps its cause too
        let source = reqwest::get(format!("http://127.0.0.1:{port}/oauth2/token"))
            .await
            .unwrap_err();
        let auth = Error::Auth {
            operation: "get_tags",
            message: "the token endpoint cannot be reached".into(),
            source: Some(Box::new(Error::transport("get_token", None, 1, source))),
        };
        assert!(
            auth.to_string()
                .ends_with("cannot be reached (could not connect: connection refused)"),
            "{auth}"
        );
    }
}
