//! What an upload gives back ([`Uploaded`]: the digest, size, and how the bytes got there) and
//! its recovery budget.

use crate::Digest;

/// The recovery budget of an upload when the caller sets none: resumes, rewinds and restarts
/// in all.
pub const DEFAULT_MAX_RESUMES: u32 = 8;

/// How an upload reached the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UploadMethod {
    /// The blob already existed in the repository (`HEAD`): nothing was sent.
    Skipped,
    /// The registry mounted it from another repository: nothing was sent.
    Mounted,
    /// Its bytes were sent.
    Sent,
}

/// The result of an upload (the `acr` crate's `Client::push_blob`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Uploaded {
    /// The blob's digest.
    pub digest: Digest,
    /// The blob's size in bytes.
    pub size: u64,
    /// How it got there.
    pub method: UploadMethod,
    /// Body bytes sent in all (`PATCH` and `PUT` bodies, every attempt counted in full, so a
    /// chunk cut part-way counts whole): `size` when nothing failed, more after restarts.
    pub bytes_sent: u64,
    /// Resumes and rewinds within a session.
    pub resumes: u32,
    /// New sessions started after the registry lost one.
    pub restarts: u32,
}

impl Uploaded {
    /// The result for blob `digest` of `size` bytes that got there by `method`, with the body
    /// bytes sent in all and the resumes and restarts it took.
    pub fn new(
        digest: Digest,
        size: u64,
        method: UploadMethod,
        bytes_sent: u64,
        resumes: u32,
        restarts: u32,
    ) -> Self {
        Self {
            digest,
            size,
            method,
            bytes_sent,
            resumes,
            restarts,
        }
    }

    /// `bytes_sent / size` (1.0 for a clean upload, 0.0 when nothing was sent; 0.0 for an
    /// empty blob).
    pub fn sent_ratio(&self) -> f64 {
        if self.size == 0 {
            0.0
        } else {
            self.bytes_sent as f64 / self.size as f64
        }
    }
}
