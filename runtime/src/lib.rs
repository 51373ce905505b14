//! Hand-written runtime for the generated `acr` crate.
//!
//! Users depend on `acr`, which re-exports everything here that a user touches; this crate
//! is what the generated code is compiled against.
//!
//! Generated code builds a [`Request`] (method, encoded path, query, headers, body, the
//! operation's name and auth scope), hands it to [`Transport::send`] (or
//! [`Transport::send_streaming`] for blob bodies), and maps the [`Response`] to its typed
//! response or to an [`Error`]. Everything about *how* a request travels (tokens, retries,
//! redirects, tracing) stays behind `send`.
//!
//! The blob and manifest workflows (resumable push, verified pull, digest-checked manifests)
//! live in the `acr` crate, composed of the generated operations, which alone know the wire
//! (paths, scopes, operation names). This crate holds their pure parts: digests and their
//! incremental state, the resume decisions, upload sources, size bounds ([`blob`]), manifest
//! types and their verification ([`manifest`]), and the progress observer ([`progress`]).
//!
//! Public: the credentials ([`Credential`], [`auth`]), names ([`RepositoryName`],
//! [`Reference`], [`Digest`], [`UploadLocation`]), errors ([`Error`], [`ErrorCode`]), the
//! client's configuration ([`ClientBuilder`], [`RetryPolicy`]), the transfers' parts ([`blob`],
//! [`manifest`], [`progress`]), paging ([`paging`]) and the request/response seam the generated code uses.
//! Token parsing, challenges, retry decisions and header internals are not.

pub mod auth;
pub mod blob;
pub mod encode;
mod error;
mod headers;
pub mod json;
pub mod manifest;
mod names;
pub mod paging;
pub mod progress;
mod request;
mod response;
mod retry;
mod secret;
pub mod stream;
mod transport;

pub use auth::{
    AadToken, AadTokenFuture, AadTokenSource, Credential, GenericCredential, TokenService,
};
pub use error::{
    Error, ErrorCode, ErrorInfo, ResponseParts, StatusError, TimeoutKind, TransportError,
};
pub use headers::{HeaderParseError, Link, UploadRange, parse_content_range};
pub use names::{Digest, NameError, Reference, RepositoryName, UploadLocation};
pub use paging::{Continuation, ContinuationError, LinkValue, Page};
pub use request::{Body, FormValue, Request, StreamBody};
pub use response::{BodyKind, BodyStream, Response, ResponseLimits, StreamingResponse};
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use transport::{ClientBuilder, DEFAULT_CHUNK_SIZE, FromTransport, Transport};

/// The runtime's header, token and name parsers gathered for the fuzz targets of
/// `runtime/fuzz` (`cargo xtask fuzz`). Not part of the API: hidden from the docs, and free to
/// change in any release.
#[doc(hidden)]
pub mod __fuzz {
    pub use crate::auth::challenge::parse as www_authenticate;
    pub use crate::auth::jwt::expiry as jwt_expiry;
    pub use crate::paging::next_link;
    pub use crate::retry::parse_retry_after;

    /// `Content-Range` of a `206` answer, as the download reads it.
    pub fn content_range(value: &str) -> Option<(u64, u64, Option<u64>)> {
        crate::headers::parse_content_range(value)
    }
}

/// The `Result` type of every fallible call: `Result<T, acr::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The `bytes` crate of bodies.
pub use bytes;
/// The `http` crate the runtime's types use (`Method`, `HeaderMap`, `StatusCode`).
pub use http;
