//! Blobs, whole and verified (hand-written, composed only of the generated operations):
//! [`Client::push_blob`](crate::Client::push_blob) uploads in chunks, skips a blob the
//! registry has, mounts from another repository, resumes after failures and checks the
//! digest; [`Client::pull_blob`](crate::Client::pull_blob) streams (or writes to a file) a
//! blob verified against its digest, resuming a broken connection with `Range`.
//!
//! Both are awaited like every request builder, with their options as setters, and report
//! [`Progress`](crate::progress::Progress) to one observer type
//! ([`OnProgress`](crate::progress::OnProgress)). The wire (paths, scopes, operation names)
//! is known only to the spec and the generated operations; the pure parts (digests, resume
//! decisions, sources, size bounds) are the runtime's ([`acr_runtime::blob`]).

mod pull;
mod push;
mod session;

pub use acr_runtime::blob::{AsyncReadSeek, ExpectedSize, UploadMethod, UploadSource, Uploaded};
pub use pull::{BlobStream, PullBlob, PullBlobToFile};
pub use push::{MAX_CHUNK_UNKNOWN_LENGTH, PushBlob};

#[cfg(test)]
mod tests {
    use crate::{Client, Digest, Reference, RepositoryName};

    /// The transfers' futures are `Send`, so they can be spawned and run in parallel (the
    /// image workflows do). A `&Source` held across an `.await` once made the upload's
    /// future `!Send` (the boxed readers are `Send` but not `Sync`); this fails to compile
    /// when any of them regresses.
    #[allow(dead_code)]
    fn transfer_futures_are_send(c: &Client, repo: &RepositoryName, digest: &Digest) {
        fn send<T: Send>(_: T) {}
        let reference = Reference::from(digest);
        send(
            c.push_blob(repo, super::UploadSource::reader(tokio::io::empty()))
                .send(),
        );
        send(c.push_blob(repo, super::UploadSource::path("blob")).send());
        send(c.pull_blob(repo, digest).send());
        send(c.pull_blob(repo, digest).max_size(1).to_file("blob").send());
        send(c.pull_manifest(repo, &reference).send());
        send(
            c.push_manifest(repo, &reference, bytes::Bytes::new(), "x")
                .send(),
        );
    }
}
