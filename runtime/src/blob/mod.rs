//! The pure parts of blob transfers: what the `acr` crate's verified, resumable workflows
//! (`Client::push_blob`, `Client::pull_blob`) are composed of besides the generated
//! operations, which alone know the wire.
//!
//! - [`Digester`]: incremental digests whose state can be saved and restored;
//! - [`BackgroundDigester`] and [`update_off_task`]: digests computed on tokio's blocking
//!   pool, off the task that moves the bytes;
//! - [`resume`]: the decisions after a failed upload request (resume at the registry's
//!   `Range`, rewind, start over, or fail), unit-tested without HTTP;
//! - [`UploadSource`] and its reader [`Source`]: where an upload's bytes come from;
//! - [`ExpectedSize`]: the bound a download is held to;
//! - [`Uploaded`] and [`UploadMethod`]: what an upload gives back.

mod background;
mod digester;
mod expected;
mod outcome;
pub mod resume;
mod source;

pub use background::{BackgroundDigester, update_off_task};
pub use digester::Digester;
pub use expected::ExpectedSize;
pub use outcome::{DEFAULT_MAX_RESUMES, UploadMethod, Uploaded};
pub use source::{AsyncReadSeek, Source, UploadSource};
