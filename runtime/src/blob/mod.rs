//! Blob upload and download, spoken in the OCI distribution protocol's own paths.
//!
//! These are methods of [`Transport`](crate::Transport) rather than compositions of the
//! generated operations: resume and verification cannot be separated from the protocol
//! (the `Location` that changes after every `PATCH`, the `Range` the registry reports, the
//! hash state that must match the bytes the registry holds), so this module sends its
//! requests through [`Transport::send`](crate::Transport::send) itself. The generated
//! client exposes `client.transport()` so users reach them.

mod digester;
pub mod download;
pub mod upload;

pub use download::{BlobStream, ExpectedSize};
pub use upload::{
    AsyncReadSeek, BlobInfo, Progress, ProgressFn, UploadMethod, UploadOptions, UploadSource,
    Uploaded,
};
