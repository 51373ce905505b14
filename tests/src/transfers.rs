//! The blob and manifest transfers called the way the guard tests were written before the
//! workflows moved from the runtime into `acr` (issue 8: `Client::push_blob`,
//! `Client::pull_blob`, `Client::push_manifest`, `Client::pull_manifest`): methods of a
//! [`Transport`] with an [`UploadOptions`] value. Each maps one to one onto the builders, so
//! the recovery, fault, limit, redirect and origin tests keep their assertions unchanged while
//! they exercise the new code. Test code only; also included by the runtime's tests
//! (`#[path]`).

#![allow(dead_code)]

use std::future::Future;
use std::path::Path;

use acr::blob::{BlobStream, ExpectedSize, UploadSource, Uploaded};
use acr::manifest::Manifest;
use acr::progress::{OnProgress, Progress};
use acr::{Client, Digest, Reference, RepositoryName, Transport};
use acr_runtime::FromTransport as _;

/// What a test sets for an upload; each field is a setter of [`acr::blob::PushBlob`].
#[derive(Clone, Default)]
pub struct UploadOptions {
    /// `.digest(..)`.
    pub digest: Option<Digest>,
    /// `.size(..)`.
    pub size: Option<u64>,
    /// `.mount_from(..)`.
    pub mount_from: Option<RepositoryName>,
    /// `.chunk_size(..)`.
    pub chunk_size: Option<usize>,
    /// `.progress(..)`.
    pub progress: Option<OnProgress>,
    /// `.max_resumes(..)`.
    pub max_resumes: Option<u32>,
}

impl UploadOptions {
    /// Sets the digest.
    pub fn digest(mut self, digest: Digest) -> Self {
        self.digest = Some(digest);
        self
    }
    /// Sets the size.
    pub fn size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }
    /// Mounts from `repo`.
    pub fn mount_from(mut self, repo: RepositoryName) -> Self {
        self.mount_from = Some(repo);
        self
    }
    /// Sets the chunk size.
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = Some(bytes);
        self
    }
    /// Sets the progress observer.
    pub fn progress(mut self, f: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(OnProgress::new(f));
        self
    }
    /// Sets the recovery budget.
    pub fn max_resumes(mut self, n: u32) -> Self {
        self.max_resumes = Some(n);
        self
    }
}

/// What `check_blob_exists` says of a blob that exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobInfo {
    /// Its `Content-Length`, when sent.
    pub size: Option<u64>,
}

/// The client over `t`.
pub fn client(t: &Transport) -> Client {
    Client::from_transport(t.clone())
}

/// The transfers as methods of a transport.
pub trait Transfers {
    /// `client.push_blob(repo, source)` with `options`.
    fn upload_blob(
        &self,
        repo: &RepositoryName,
        source: UploadSource,
        options: UploadOptions,
    ) -> impl Future<Output = acr::Result<Uploaded>> + Send;
    /// `client.check_blob_exists(repo, digest)`, a 404 as `None`.
    fn blob_exists(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> impl Future<Output = acr::Result<Option<BlobInfo>>> + Send;
    /// `client.pull_blob(repo, digest)`.
    fn download_blob(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> impl Future<Output = acr::Result<BlobStream>> + Send;
    /// `client.pull_blob(repo, digest).expected_size(expected).to_file(path)`.
    fn download_blob_to(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        expected: ExpectedSize,
        path: impl AsRef<Path>,
    ) -> impl Future<Output = acr::Result<u64>> + Send;
    /// `client.pull_manifest(repo, reference)`.
    fn get_manifest(
        &self,
        repo: &RepositoryName,
        reference: &Reference,
    ) -> impl Future<Output = acr::Result<Manifest>> + Send;
    /// `client.push_manifest(repo, reference, bytes, media_type)`.
    fn put_manifest(
        &self,
        repo: &RepositoryName,
        reference: &Reference,
        bytes: bytes::Bytes,
        media_type: &str,
    ) -> impl Future<Output = acr::Result<Digest>> + Send;
}

impl Transfers for Transport {
    fn upload_blob(
        &self,
        repo: &RepositoryName,
        source: UploadSource,
        options: UploadOptions,
    ) -> impl Future<Output = acr::Result<Uploaded>> + Send {
        let mut push = client(self).push_blob(repo, source);
        if let Some(d) = options.digest {
            push = push.digest(d);
        }
        if let Some(n) = options.size {
            push = push.size(n);
        }
        if let Some(r) = options.mount_from {
            push = push.mount_from(r);
        }
        if let Some(n) = options.chunk_size {
            push = push.chunk_size(n);
        }
        if let Some(p) = options.progress {
            push = push.progress(p);
        }
        if let Some(n) = options.max_resumes {
            push = push.max_resumes(n);
        }
        push.send()
    }

    fn blob_exists(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> impl Future<Output = acr::Result<Option<BlobInfo>>> + Send {
        let request = client(self).check_blob_exists(repo, digest);
        async move {
            match request.await {
                Ok(r) => Ok(Some(BlobInfo {
                    size: r.content_length,
                })),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            }
        }
    }

    fn download_blob(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> impl Future<Output = acr::Result<BlobStream>> + Send {
        client(self).pull_blob(repo, digest).send()
    }

    fn download_blob_to(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        expected: ExpectedSize,
        path: impl AsRef<Path>,
    ) -> impl Future<Output = acr::Result<u64>> + Send {
        client(self)
            .pull_blob(repo, digest)
            .expected_size(expected)
            .to_file(path.as_ref())
            .send()
    }

    fn get_manifest(
        &self,
        repo: &RepositoryName,
        reference: &Reference,
    ) -> impl Future<Output = acr::Result<Manifest>> + Send {
        client(self).pull_manifest(repo, reference).send()
    }

    fn put_manifest(
        &self,
        repo: &RepositoryName,
        reference: &Reference,
        bytes: bytes::Bytes,
        media_type: &str,
    ) -> impl Future<Output = acr::Result<Digest>> + Send {
        client(self)
            .push_manifest(repo, reference, bytes, media_type)
            .send()
    }
}
