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

#[cfg(test)]
mod tests {
    use crate::{Digest, Reference, RepositoryName, Transport};

    /// The transfers' futures are `Send`, so they can be spawned and run in parallel (the
    /// image workflows do). A `&Source` held across an `.await` once made `upload_blob`'s
    /// future `!Send` (the boxed readers are `Send` but not `Sync`); this fails to compile
    /// when any of them regresses.
    #[allow(dead_code)]
    fn transfer_futures_are_send(t: &Transport, repo: &RepositoryName, digest: &Digest) {
        fn send<T: Send>(_: T) {}
        let reference = Reference::from(digest);
        send(t.upload_blob(
            repo,
            super::UploadSource::reader(tokio::io::empty()),
            super::UploadOptions::default(),
        ));
        send(t.upload_blob(
            repo,
            super::UploadSource::path("blob"),
            super::UploadOptions::default(),
        ));
        send(t.blob_exists(repo, digest));
        send(t.download_blob(repo, digest));
        send(t.download_blob_to(repo, digest, super::ExpectedSize::AtMost(1), "blob"));
        send(t.get_manifest(repo, &reference));
        send(t.put_manifest(repo, &reference, bytes::Bytes::new(), "x"));
    }
}
