//! Hand-written runtime for the generated `acr` crate.
//!
//! Generated code builds a [`Request`] (method, encoded path, query, headers, body, the
//! operation's name and auth scope), hands it to [`Transport::send`], and maps the
//! [`Response`] to its typed response or to an [`Error`]. Everything about *how* a request
//! travels (tokens, retries, redirects, tracing) stays behind `send`.

pub mod error;
pub mod headers;
pub mod names;
pub mod paging;
pub mod request;
pub mod response;
pub mod transport;

pub use error::Error;
pub use headers::{Link, UploadRange};
pub use names::{Digest, NameError, Reference, RepositoryName, UploadLocation};
pub use request::{Body, Request};
pub use response::Response;
pub use transport::{ClientBuilder, FromTransport, Transport};

/// The `Result` type of every fallible runtime call.
pub type Result<T, E = Error> = std::result::Result<T, E>;
