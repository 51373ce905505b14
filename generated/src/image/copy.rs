//! [`Client::copy_image`]: an image or index from one repository to another, within one
//! registry or between two, with its referrers if asked.
//!
//! Within one registry a blob is mounted (OCI distribution spec v1.1.0, "Mounting a blob
//! from another repository": `POST /v2/<name>/blobs/uploads/?mount=<digest>&from=<other>`), so
//! no byte of it travels; a registry that refuses the mount (any answer but `201`) gets the
//! blob streamed through instead. Between registries every blob the destination lacks is
//! streamed: its verified download from the source feeds the destination's chunked upload
//! directly, in pieces of 512 KiB, so memory stays at a few MiB per blob in flight (plus the
//! HTTP stack's buffers), whatever the layer size; nothing is written to disk. The upload does
//! not hash the bytes again: the download checks them against their digest, and is read to
//! its end (the check) before the last bytes go to the destination.

use std::collections::BTreeSet;
use std::future::{Future, IntoFuture};
use std::io::SeekFrom;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use acr_runtime::bytes::Bytes;
use futures_util::{Stream as _, TryStreamExt as _};

use super::wire::UploadOptions;
use super::wire::{self, get_manifest};
use super::{DEFAULT_PARALLEL_BLOBS, ImageTransfer, blobs_of, unsupported};
use crate::blob::{BlobStream, UploadMethod, UploadSource};
use crate::discovery::{ReferrersSource, referrers_tag};
use crate::manifest::{Descriptor, ImageIndex, Manifest, ManifestKind, Platform};
use crate::progress::OnProgress;
use crate::{Client, Digest, Error, Reference, RepositoryName};

const OP: &str = "copy_image";

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The request of [`Client::copy_image`]: set options, then `.await`.
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until it is awaited"]
pub struct CopyImageRequest {
    source: Client,
    destination: Option<Client>,
    src_repository: Result<RepositoryName, String>,
    src_reference: Result<Reference, String>,
    dst_repository: Result<RepositoryName, String>,
    dst_reference: Result<Reference, String>,
    platform: Option<Platform>,
    referrers: bool,
    parallel: usize,
    progress: Option<OnProgress>,
    overall: Option<OnProgress>,
}

impl CopyImageRequest {
    /// Copies into the registry of `destination` (another client: another registry, or the
    /// same one with other credentials) instead of the source's. Blobs are then streamed
    /// through this process, unless both clients have the same endpoint: then they are
    /// mounted as within one registry (falling back to streaming when refused).
    pub fn to(mut self, destination: &Client) -> Self {
        self.destination = Some(destination.clone());
        self
    }

    /// From an image index (or Docker manifest list), copies only the image of `platform`
    /// (its `os` and `architecture`, and its `variant` when set), and tags that image
    /// manifest, not the index, as the destination reference. Without it, an index is copied
    /// whole: every child manifest (by digest) with its blobs, then the index. A source that
    /// is a single image manifest is copied as it is either way.
    pub fn platform(mut self, platform: Platform) -> Self {
        self.platform = Some(platform);
        self
    }

    /// Also copies the referrers of every copied manifest (signatures, SBOMs, attestations:
    /// the manifests whose `subject` it is, found with [`Client::referrers`]), with their
    /// blobs and their own referrers. A destination without the referrers API gets the
    /// referrers tag index (`<alg>-<hex>`, OCI distribution spec v1.1.0, "Referrers Tag
    /// Schema") updated, as the spec asks of clients. Off by default.
    pub fn with_referrers(mut self, yes: bool) -> Self {
        self.referrers = yes;
        self
    }

    /// Observes the [`Progress`](crate::progress::Progress) of every blob copied: bytes sent
    /// of a streamed blob, and the whole size at once for one mounted or already there; each
    /// value once, per blob (its digest says which).
    pub fn progress(mut self, observer: impl Into<OnProgress>) -> Self {
        self.progress = Some(observer.into());
        self
    }

    /// Observes the progress of the whole copy: values without a digest whose `bytes` are
    /// those of every blob together and whose `total` is the sizes of the blobs started so
    /// far (it grows as blobs start); each value once.
    pub fn overall_progress(mut self, observer: impl Into<OnProgress>) -> Self {
        self.overall = Some(observer.into());
        self
    }

    /// How many blobs are copied at once (at least 1; default [`DEFAULT_PARALLEL_BLOBS`]).
    /// Memory grows with it: a few MiB per blob in flight (see
    /// [`PushBlob::chunk_size`](crate::blob::PushBlob::chunk_size)).
    pub fn blobs_in_parallel(mut self, n: usize) -> Self {
        self.parallel = n.max(1);
        self
    }

    /// Gets the source manifest (verified), copies every blob the destination lacks (a
    /// `HEAD` first: a blob it holds is skipped; then a mount within one registry, else a
    /// streamed, verified upload), puts the child manifests of an index by digest, and the
    /// top manifest as the destination reference; then, if asked, the referrers.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a bad repository name or reference, a manifest that is not
    /// an image manifest or index (Docker schema 1, unknown types), a `.platform(..)` the
    /// index does not hold, or a destination digest reference that is not the copied
    /// manifest's; [`Error::Upload`] when a blob upload failed after it began (its cause
    /// inside, for instance the source's bytes not matching their digest); the errors of
    /// [`Client::pull_manifest`], [`Client::pull_blob`], [`Client::push_blob`],
    /// [`Client::push_manifest`] and
    /// [`Client::referrers`] as they come. Blobs and child manifests already copied stay in
    /// the destination after a failure (a retry skips them); the top manifest is put last,
    /// so the destination reference never names an incomplete image.
    pub async fn send(self) -> Result<ImageTransfer, Error> {
        let src_repository = self
            .src_repository
            .map_err(|e| Error::invalid_input(OP, e))?;
        let src_reference = self
            .src_reference
            .map_err(|e| Error::invalid_input(OP, e))?;
        let dst_repository = self
            .dst_repository
            .map_err(|e| Error::invalid_input(OP, e))?;
        let dst_reference = self
            .dst_reference
            .map_err(|e| Error::invalid_input(OP, e))?;
        let observer = super::observer(self.progress.as_ref(), self.overall.as_ref());
        let destination = self.destination.unwrap_or_else(|| self.source.clone());
        let same_registry =
            destination.transport().endpoint() == self.source.transport().endpoint();
        let job = Job {
            source: &self.source,
            destination: &destination,
            src_repository: &src_repository,
            dst_repository: &dst_repository,
            same_registry,
            platform: self.platform.as_ref(),
            referrers: self.referrers,
            parallel: self.parallel,
            progress: observer.as_ref(),
            visited: Mutex::new(BTreeSet::new()),
        };
        let top = get_manifest(&self.source, &src_repository, &src_reference).await?;
        let result = job.copy_tree(top, dst_reference.clone(), true).await?;
        tracing::info!(
            source = src_repository.as_str(),
            destination = dst_repository.as_str(),
            reference = dst_reference.as_str(),
            same_registry,
            manifests = result.manifests,
            blobs_transferred = result.blobs_transferred,
            blobs_mounted = result.blobs_mounted,
            blobs_skipped = result.blobs_skipped,
            referrers = result.referrers,
            "image copied"
        );
        Ok(result)
    }
}

impl IntoFuture for CopyImageRequest {
    type Output = Result<ImageTransfer, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// Puts `manifest` as `reference` of `repository`.
async fn put_manifest(
    client: &Client,
    repository: &RepositoryName,
    reference: &Reference,
    manifest: &Manifest,
) -> Result<(), Error> {
    let bytes = manifest.bytes.clone();
    wire::put_manifest(client, repository, reference, bytes, &manifest.media_type)
        .await
        .map(drop)
}

/// Whether an index entry's `platform` is `wanted` (os, architecture, and variant when
/// `wanted` names one).
fn platform_matches(wanted: &Platform, entry: Option<&Platform>) -> bool {
    entry.is_some_and(|p| {
        p.os == wanted.os
            && p.architecture == wanted.architecture
            && (wanted.variant.is_none() || p.variant == wanted.variant)
    })
}

/// How one blob reached the destination.
enum BlobCopy {
    Sent(u64),
    Mounted,
    Skipped,
}

/// One copy in progress.
struct Job<'a> {
    source: &'a Client,
    destination: &'a Client,
    src_repository: &'a RepositoryName,
    dst_repository: &'a RepositoryName,
    same_registry: bool,
    platform: Option<&'a Platform>,
    referrers: bool,
    parallel: usize,
    progress: Option<&'a OnProgress>,
    /// Manifests whose referrers were already looked up (referrers of referrers may loop).
    visited: Mutex<BTreeSet<Digest>>,
}

impl Job<'_> {
    /// Copies `manifest` and everything it names, putting it as `reference`; `top`: whether
    /// it is the manifest the caller named (the platform choice applies there only).
    fn copy_tree(
        &self,
        manifest: Manifest,
        reference: Reference,
        top: bool,
    ) -> BoxFuture<'_, Result<ImageTransfer, Error>> {
        Box::pin(async move {
            let size = manifest.bytes.len() as u64;
            let descriptor =
                Descriptor::new(manifest.media_type.clone(), manifest.digest.clone(), size);
            let kind = manifest.parse()?;
            if let (ManifestKind::Index(index), Some(wanted), true) = (&kind, self.platform, top) {
                let child = index
                    .manifests
                    .iter()
                    .find(|d| platform_matches(wanted, d.platform.as_ref()))
                    .ok_or_else(|| no_platform(wanted, index))?;
                let child = self.get(&child.digest).await?;
                // The chosen image takes the index's place under the reference.
                return self.copy_tree(child, reference, false).await;
            }
            if let Some(wanted) = reference.as_digest()
                && wanted != manifest.digest
            {
                return Err(Error::invalid_input(
                    OP,
                    format!(
                        "the destination reference {wanted} is not the digest of the copied manifest ({})",
                        manifest.digest
                    ),
                ));
            }
            let mut result = ImageTransfer::new(descriptor);
            match kind {
                ManifestKind::Image(image) => {
                    // Largest first: started `parallel` at a time in this order, the big blobs
                    // do not start last and stream alone at the end.
                    let mut blobs = blobs_of(&image);
                    blobs.sort_by_key(|b| std::cmp::Reverse(b.size));
                    let copies = futures_util::stream::iter(
                        blobs
                            .into_iter()
                            .map(|blob| Ok::<_, Error>(async move { self.copy_blob(blob).await })),
                    )
                    .try_buffer_unordered(self.parallel);
                    let done: Vec<BlobCopy> = copies.try_collect().await?;
                    for d in done {
                        match d {
                            BlobCopy::Sent(n) => {
                                result.blobs_transferred += 1;
                                result.blob_bytes += n;
                            }
                            BlobCopy::Mounted => result.blobs_mounted += 1,
                            BlobCopy::Skipped => result.blobs_skipped += 1,
                        }
                    }
                }
                ManifestKind::Index(index) => {
                    for child in &index.manifests {
                        let child = self.get(&child.digest).await?;
                        let child_ref = Reference::from(&child.digest);
                        let copied = self.copy_tree(child, child_ref, false).await?;
                        result.add(&copied);
                    }
                }
                _ => return Err(unsupported(OP, &manifest.media_type)),
            }
            put_manifest(self.destination, self.dst_repository, &reference, &manifest).await?;
            result.manifests += 1;
            if self.referrers {
                let copied = self.copy_referrers(&manifest).await?;
                result.add(&copied);
            }
            Ok(result)
        })
    }

    /// Manifest `digest` of the source repository, verified.
    async fn get(&self, digest: &Digest) -> Result<Manifest, Error> {
        get_manifest(self.source, self.src_repository, &Reference::from(digest)).await
    }

    /// Copies one blob: skipped when the destination holds it, mounted within one registry,
    /// else streamed from the source.
    async fn copy_blob(&self, blob: Descriptor) -> Result<BlobCopy, Error> {
        if !blob.urls.is_empty()
            && wire::blob_exists(self.source, self.src_repository, &blob.digest)
                .await?
                .is_none()
        {
            // A foreign layer (Docker schema 2 with `urls`) the source registry does not
            // hold: fetched from its URLs by whoever pulls the image, not copied.
            return Ok(BlobCopy::Skipped);
        }
        let mut options = UploadOptions::default()
            .digest(blob.digest.clone())
            .size(blob.size)
            .progress(self.progress);
        if self.same_registry && self.src_repository != self.dst_repository {
            options = options.mount_from(self.src_repository.clone());
        }
        let reader = RemoteBlob::new(
            self.source.clone(),
            self.src_repository.clone(),
            blob.digest.clone(),
            blob.size,
        );
        // the download checks its bytes against the digest: the upload does not hash them
        let source = UploadSource::verified(reader, blob.digest.clone());
        let uploaded =
            wire::upload_blob(self.destination, self.dst_repository, source, options).await?;
        Ok(match uploaded.method {
            UploadMethod::Sent => BlobCopy::Sent(uploaded.bytes_sent),
            UploadMethod::Mounted => BlobCopy::Mounted,
            _ => BlobCopy::Skipped,
        })
    }

    /// Copies the referrers of `subject` (each with its tree and its own referrers), and
    /// keeps the destination's referrers tag index up to date when it has no referrers API.
    async fn copy_referrers(&self, subject: &Manifest) -> Result<ImageTransfer, Error> {
        let descriptor = Descriptor::new(
            subject.media_type.clone(),
            subject.digest.clone(),
            subject.bytes.len() as u64,
        );
        let mut result = ImageTransfer::new(descriptor);
        let first_visit = self
            .visited
            .lock()
            .map(|mut v| v.insert(subject.digest.clone()))
            .unwrap_or(false);
        if !first_visit {
            return Ok(result);
        }
        let found = self
            .source
            .referrers(self.src_repository, &subject.digest)
            .await?;
        if found.manifests.is_empty() {
            return Ok(result);
        }
        let mut copied = Vec::new();
        for referrer in &found.manifests {
            let manifest = self.get(&referrer.digest).await?;
            let reference = Reference::from(&manifest.digest);
            let done = self.copy_tree(manifest, reference, false).await?;
            result.add(&done);
            result.referrers += 1;
            copied.push(referrer);
        }
        self.update_referrers_tag(&subject.digest, &copied).await?;
        Ok(result)
    }

    /// On a destination without the referrers API, adds `copied` to the index under the
    /// referrers tag of `subject` (OCI distribution spec v1.1.0, "Pushing Manifests with
    /// Subject": a client must then maintain it).
    async fn update_referrers_tag(
        &self,
        subject: &Digest,
        copied: &[&Descriptor],
    ) -> Result<(), Error> {
        let present = self
            .destination
            .referrers(self.dst_repository, subject)
            .await?;
        if present.source == ReferrersSource::Api {
            return Ok(()); // the registry lists referrers itself
        }
        let mut entries: Vec<Descriptor> = present.manifests;
        let before = entries.len();
        for r in copied {
            if !entries.iter().any(|d| d.digest == r.digest) {
                entries.push((*r).clone());
            }
        }
        if entries.len() == before {
            return Ok(());
        }
        let index = ImageIndex::new(entries);
        let manifest = Manifest {
            media_type: index.media_type().to_owned(),
            digest: Digest::sha256(&index.to_bytes()),
            bytes: index.to_bytes(),
        };
        let tag = Reference::try_from(referrers_tag(subject).as_str())
            .map_err(|e| Error::invalid_input(OP, format!("referrers tag: {e}")))?;
        put_manifest(self.destination, self.dst_repository, &tag, &manifest).await
    }
}

/// The error for a `.platform(..)` the index does not hold.
fn no_platform(wanted: &Platform, index: &ImageIndex) -> Error {
    let show = |p: &Platform| match &p.variant {
        Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
        None => format!("{}/{}", p.os, p.architecture),
    };
    let held: Vec<String> = index
        .manifests
        .iter()
        .filter_map(|d| d.platform.as_ref().map(show))
        .collect();
    Error::invalid_input(
        OP,
        format!(
            "the index holds no image for platform {} (it holds: {})",
            show(wanted),
            if held.is_empty() {
                "none with a platform".to_owned()
            } else {
                held.join(", ")
            }
        ),
    )
}

/// A blob of the source registry as a seekable reader, opened on the first read: the
/// upload of a copy reads from it (so a mount that succeeds never opens it) and seeks on it
/// when it must resend bytes. A seek back reopens the verified download from the start and
/// skips to the position; memory stays at one body frame.
struct RemoteBlob {
    client: Client,
    repository: RepositoryName,
    digest: Digest,
    size: u64,
    /// The position of the next byte the reader gives.
    pos: u64,
    /// Bytes taken from the current download (given or skipped); `<= pos`.
    taken: u64,
    state: RemoteState,
}

enum RemoteState {
    Closed,
    Opening(BoxFuture<'static, Result<BlobStream, Error>>),
    Open(BlobStream, Bytes),
    Done,
}

impl RemoteBlob {
    fn new(client: Client, repository: RepositoryName, digest: Digest, size: u64) -> Self {
        Self {
            client,
            repository,
            digest,
            size,
            pos: 0,
            taken: 0,
            state: RemoteState::Closed,
        }
    }
}

fn io_error(e: Error) -> std::io::Error {
    std::io::Error::other(e)
}

impl tokio::io::AsyncRead for RemoteBlob {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                RemoteState::Done => return Poll::Ready(Ok(())),
                RemoteState::Closed => {
                    let (client, repository, digest) = (
                        this.client.clone(),
                        this.repository.clone(),
                        this.digest.clone(),
                    );
                    this.taken = 0;
                    this.state = RemoteState::Opening(Box::pin(async move {
                        wire::download_blob(&client, &repository, &digest).await
                    }));
                }
                RemoteState::Opening(open) => match open.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(stream)) => this.state = RemoteState::Open(stream, Bytes::new()),
                    Poll::Ready(Err(e)) => {
                        this.state = RemoteState::Closed;
                        return Poll::Ready(Err(io_error(e)));
                    }
                },
                RemoteState::Open(stream, pending) => {
                    if pending.is_empty() {
                        match Pin::new(stream).poll_next(cx) {
                            Poll::Pending => return Poll::Pending,
                            Poll::Ready(Some(Ok(bytes))) => *pending = bytes,
                            Poll::Ready(Some(Err(e))) => {
                                this.state = RemoteState::Closed;
                                return Poll::Ready(Err(io_error(e)));
                            }
                            Poll::Ready(None) => {
                                // The stream ends only after the digest was verified.
                                this.state = RemoteState::Done;
                                if this.taken < this.pos {
                                    return Poll::Ready(Err(std::io::Error::new(
                                        std::io::ErrorKind::UnexpectedEof,
                                        "the source blob ended before the position sought",
                                    )));
                                }
                                return Poll::Ready(Ok(()));
                            }
                        }
                        continue;
                    }
                    if this.taken < this.pos {
                        let n = (this.pos - this.taken).min(pending.len() as u64) as usize;
                        let _ = pending.split_to(n);
                        this.taken += n as u64;
                        continue;
                    }
                    let n = pending.len().min(buf.remaining());
                    if n == 0 {
                        return Poll::Ready(Ok(()));
                    }
                    if this.pos + n as u64 > this.size {
                        this.state = RemoteState::Done;
                        return Poll::Ready(Err(io_error(Error::invalid_response(
                            "get_blob",
                            format!(
                                "blob {} is longer than its descriptor's size of {} bytes",
                                this.digest, this.size
                            ),
                        ))));
                    }
                    buf.put_slice(&pending.split_to(n));
                    this.taken += n as u64;
                    this.pos += n as u64;
                    return Poll::Ready(Ok(()));
                }
            }
        }
    }
}

impl tokio::io::AsyncSeek for RemoteBlob {
    fn start_seek(mut self: Pin<&mut Self>, position: SeekFrom) -> std::io::Result<()> {
        let target = match position {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
        }
        .ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start")
        })?;
        let reusable = matches!(self.state, RemoteState::Open(..)) && target >= self.taken;
        if target != self.pos && !reusable {
            // Back (or forward from a closed download): start over and skip to `target`.
            self.state = RemoteState::Closed;
        }
        self.pos = target;
        Ok(())
    }

    fn poll_complete(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<u64>> {
        Poll::Ready(Ok(self.pos))
    }
}

impl Client {
    /// Copies a whole image, `src_reference` (a tag or digest) of `src_repository`, to
    /// `dst_repository` as `dst_reference` (a tag, or the manifest's digest): its manifest,
    /// or index with every child manifest, with their configs and layers. Tags are kept
    /// as given: pass the source tag as `dst_reference` to keep it.
    ///
    /// Within this client's registry, blobs are mounted from the source repository (no
    /// byte travels); set `.to(&other)` to copy into another registry, blobs streamed
    /// through with memory bounded by a few MiB per blob in flight. Blobs the
    /// destination holds are skipped. `.platform(..)` picks one image of an index,
    /// `.with_referrers(true)` copies signatures and SBOMs too, `.blobs_in_parallel(..)`
    /// bounds the parallel transfers; then `.await` an [`ImageTransfer`]. See
    /// [`CopyImageRequest::send`] for the errors.
    ///
    /// ```no_run
    /// # async fn demo() -> acr::Result<()> {
    /// use acr::{Client, Credential, manifest::Platform};
    /// let source = Client::builder("https://source.azurecr.io")
    ///     .credential(Credential::basic("user", "password"))
    ///     .build()?;
    /// let target = Client::builder("https://target.azurecr.io")
    ///     .credential(Credential::basic("user", "password"))
    ///     .build()?;
    /// // Within one registry: blobs are mounted.
    /// source.copy_image("team/app", "v1", "release/app", "v1").await?;
    /// // To another registry, the arm64 image only, with its signatures.
    /// let copied = source
    ///     .copy_image("team/app", "v1", "mirror/app", "v1")
    ///     .to(&target)
    ///     .platform(Platform::new("linux", "arm64"))
    ///     .with_referrers(true)
    ///     .await?;
    /// println!("{} blobs sent, {} skipped", copied.blobs_transferred, copied.blobs_skipped);
    /// # Ok(()) }
    /// ```
    pub fn copy_image(
        &self,
        src_repository: impl TryInto<RepositoryName, Error: std::fmt::Display>,
        src_reference: impl TryInto<Reference, Error: std::fmt::Display>,
        dst_repository: impl TryInto<RepositoryName, Error: std::fmt::Display>,
        dst_reference: impl TryInto<Reference, Error: std::fmt::Display>,
    ) -> CopyImageRequest {
        CopyImageRequest {
            source: self.clone(),
            destination: None,
            src_repository: src_repository.try_into().map_err(|e| e.to_string()),
            src_reference: src_reference.try_into().map_err(|e| e.to_string()),
            dst_repository: dst_repository.try_into().map_err(|e| e.to_string()),
            dst_reference: dst_reference.try_into().map_err(|e| e.to_string()),
            platform: None,
            referrers: false,
            parallel: DEFAULT_PARALLEL_BLOBS,
            progress: None,
            overall: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_match_on_os_architecture_and_a_named_variant() {
        let arm = Platform::new("linux", "arm64").with_variant("v8");
        assert!(platform_matches(
            &Platform::new("linux", "arm64"),
            Some(&arm)
        ));
        assert!(platform_matches(&arm, Some(&arm)));
        let v7 = Platform::new("linux", "arm64").with_variant("v7");
        assert!(!platform_matches(&v7, Some(&arm)));
        assert!(!platform_matches(
            &Platform::new("linux", "amd64"),
            Some(&arm)
        ));
        assert!(!platform_matches(&Platform::new("linux", "arm64"), None));
    }
}
