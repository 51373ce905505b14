//! Blob upload and download.
