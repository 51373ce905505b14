//! What the caller knows of a blob's size before downloading it ([`ExpectedSize`]).

use crate::Error;

/// What the caller knows of a blob's size before downloading it: the bound a download is held
/// to, so a server that sends an endless body cannot fill memory or the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedSize {
    /// The size in bytes is known (an OCI descriptor's `size`): a body that goes past it fails
    /// at the first byte too many; one that ends short is resumed like a cut connection.
    Exactly(u64),
    /// The size is unknown: refuse a blob of more than this many bytes.
    AtMost(u64),
}

impl ExpectedSize {
    /// The most bytes the download may have.
    pub fn limit(self) -> u64 {
        match self {
            ExpectedSize::Exactly(n) | ExpectedSize::AtMost(n) => n,
        }
    }

    /// The error of `operation` for a body that announces or sends more than the limit;
    /// `what` says which (`the body has`).
    pub fn too_long(self, operation: &'static str, what: &str) -> Error {
        match self {
            ExpectedSize::Exactly(n) => Error::invalid_response(
                operation,
                format!("{what} more than the blob's expected size of {n} bytes; refused"),
            ),
            ExpectedSize::AtMost(limit) => Error::TooLarge { operation, limit },
        }
    }
}
