//! The one error type of the runtime and of the generated client.

use http::StatusCode;

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
    #[error("{operation}: the registry answered {status}: {message}")]
    Status {
        /// The operation.
        operation: &'static str,
        /// The status.
        status: StatusCode,
        /// A summary of the error body.
        message: String,
    },
    /// The registry answered something we cannot read.
    #[error("{operation}: unexpected response: {message}")]
    InvalidResponse {
        /// The operation.
        operation: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The request could not be sent or the response not received.
    #[error("{operation}: transport error: {source}")]
    Transport {
        /// The operation.
        operation: &'static str,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
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

    /// The HTTP status, when the registry answered with an error status.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}
