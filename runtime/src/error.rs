//! The one error type of the runtime and of the generated client.
//!
//! Every message names the operation, the repository when there is one, and says what to
//! do next. The error body of a registry (`{"errors":[{"code","message","detail"}]}`) is
//! kept parsed ([`ErrorInfo`], with `detail` as raw JSON because it is an array, an object
//! or a string on the wire); a plain-text body is kept as text. No message ever carries a
//! credential, a token or a URL query (storage redirects carry signatures in theirs).

use std::fmt;

use http::StatusCode;
use serde::Deserialize;

/// One entry of a registry error body (`{"errors":[…]}`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ErrorInfo {
    /// The ACR/OCI error code (`MANIFEST_UNKNOWN`, `UNAUTHORIZED`, …).
    #[serde(default)]
    pub code: String,
    /// The human-readable message.
    #[serde(default)]
    pub message: String,
    /// The detail, kept as JSON: an array, an object or a string on the wire.
    #[serde(default)]
    pub detail: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorInfo>,
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
            Ok(parsed) if !parsed.errors.is_empty() => (parsed.errors, None),
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
        }
    }

    fn hint(&self) -> &'static str {
        let code = self.errors.first().map(|e| e.code.as_str()).unwrap_or("");
        match (self.status.as_u16(), code) {
            (_, "NAME_UNKNOWN") => "check the repository name",
            (_, "MANIFEST_UNKNOWN") => "check the tag or digest",
            (_, "BLOB_UNKNOWN") => "check the digest; push the blob first",
            (_, "BLOB_UPLOAD_UNKNOWN") => "the upload session is gone; start the upload again",
            (_, "DIGEST_INVALID") => "the content does not match its digest",
            (_, "UNSUPPORTED") => {
                "the registry does not support this; manifests are deleted by digest"
            }
            (401, _) => {
                "check the credential and that it grants the operation's scope on this repository"
            }
            (403, _) | (_, "DENIED") => "the credential lacks permission for this operation",
            (404, _) => "check the repository name, tag or digest",
            (405, _) => "the registry refuses this method here (a lock, or delete by tag)",
            (408 | 429, _) => {
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
            write!(f, " {}: {}", first.code, first.message)?;
            if self.errors.len() > 1 {
                write!(f, " (and {} more errors)", self.errors.len() - 1)?;
            }
        } else if let Some(text) = &self.text {
            write!(f, " {text:?}")?;
        }
        write!(f, " after {}; {}", attempts(self.attempts), self.hint())
    }
}

fn attempts(n: u32) -> String {
    if n == 1 {
        "1 attempt".to_owned()
    } else {
        format!("{n} attempts")
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
    /// The underlying error, its URL removed.
    pub source: reqwest::Error,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.operation)?;
        if let Some(repo) = &self.repository {
            write!(f, " on repository {repo:?}")?;
        }
        let what = if self.source.is_timeout() {
            "timed out"
        } else if self.source.is_connect() {
            "could not connect"
        } else {
            "transport error"
        };
        write!(
            f,
            ": {what} after {}: {}; check the endpoint and the network, or raise the timeouts or retry budget",
            attempts(self.attempts),
            self.source
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

/// Everything that can go wrong talking to a registry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The caller passed something that cannot be sent (a bad name, a bad header value).
    #[error("{operation}: invalid input: {message}")]
    InvalidInput {
        /// The operation.
        operation: &'static str,
        /// What is wrong.
        message: String,
    },
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
    },
    /// The request could not be sent or the response not received.
    #[error("{0}")]
    Transport(Box<TransportError>),
    /// Getting a token failed, or the registry's auth challenge cannot be answered.
    #[error("{operation}: authentication failed: {message}")]
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
    #[error("{operation} on repository {repository:?}: upload failed at byte {offset}: {message}{}", if *cancelled { " (the upload session was cancelled)" } else { "" })]
    Upload {
        /// The operation (`upload_blob`).
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

    /// An [`Error::InvalidResponse`].
    pub fn invalid_response(operation: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidResponse {
            operation,
            message: message.into(),
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

    pub(crate) fn transport(
        operation: &'static str,
        repository: Option<String>,
        attempts: u32,
        source: reqwest::Error,
    ) -> Self {
        Self::Transport(Box::new(TransportError {
            operation,
            repository,
            attempts,
            source: source.without_url(),
        }))
    }

    /// The HTTP status, when the registry answered with an error status.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Status(s) => Some(s.status),
            Self::Auth {
                source: Some(inner),
                ..
            }
            | Self::Upload {
                source: Some(inner),
                ..
            } => inner.status(),
            _ => None,
        }
    }

    /// The first ACR/OCI error code of the error body (`MANIFEST_UNKNOWN`), if any.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Status(s) => s
                .errors
                .first()
                .map(|e| e.code.as_str())
                .filter(|c| !c.is_empty()),
            Self::Auth {
                source: Some(inner),
                ..
            }
            | Self::Upload {
                source: Some(inner),
                ..
            } => inner.code(),
            _ => None,
        }
    }

    /// The parsed entries of the registry's error body (empty when there are none).
    pub fn errors(&self) -> &[ErrorInfo] {
        match self {
            Self::Status(s) => &s.errors,
            _ => &[],
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
                Some("NAME_UNKNOWN" | "MANIFEST_UNKNOWN" | "BLOB_UNKNOWN" | "BLOB_UPLOAD_UNKNOWN")
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
        assert_eq!(e.code(), Some("UNAUTHORIZED"));
        assert_eq!(e.status(), Some(StatusCode::UNAUTHORIZED));
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
        assert!(e.is_not_found());
        assert!(e.to_string().contains("404 page not found"), "{e}");
        let long = "x".repeat(2000);
        let e = Error::from_status("op", None, StatusCode::BAD_GATEWAY, long.as_bytes(), 3);
        assert!(e.to_string().len() < 800);
        assert!(e.is_retryable());
        assert_eq!(e.attempts(), Some(3));
    }
}
