//! [`Client::pull_image`]: an image or index from a repository into an OCI image layout.

use std::future::{Future, IntoFuture};
use std::path::PathBuf;
use std::pin::Pin;

use futures_util::TryStreamExt as _;

use super::{DEFAULT_PARALLEL_BLOBS, ImageTransfer, OciLayout, blobs_of, unsupported};
use crate::manifest::{Descriptor, Manifest, ManifestKind};
use crate::progress::OnProgress;
use crate::{Client, Error, Reference, RepositoryName};

const OP: &str = "pull_image";

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An image to pull ([`Client::pull_image`]): say where with [`PullImage::to_layout`].
#[derive(Debug, Clone)]
#[must_use = "say where the image goes with .to_layout(dir), then await"]
pub struct PullImage {
    client: Client,
    repository: Result<RepositoryName, String>,
    reference: Result<Reference, String>,
}

impl PullImage {
    /// Pulls into the OCI image layout at `dir` (created when absent, added to when it
    /// exists). Set options on the returned request, then `.await` it.
    pub fn to_layout(self, dir: impl Into<PathBuf>) -> PullImageToLayout {
        let tag = self
            .reference
            .as_ref()
            .ok()
            .filter(|r| !r.is_digest())
            .map(|r| r.as_str().to_owned());
        PullImageToLayout {
            image: self,
            dir: dir.into(),
            tag,
            parallel: DEFAULT_PARALLEL_BLOBS,
            progress: None,
            overall: None,
        }
    }
}

/// The request of [`PullImage::to_layout`]: set options, then `.await`.
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until it is awaited"]
pub struct PullImageToLayout {
    image: PullImage,
    dir: PathBuf,
    tag: Option<String>,
    parallel: usize,
    progress: Option<OnProgress>,
    overall: Option<OnProgress>,
}

impl PullImageToLayout {
    /// Observes the [`Progress`](crate::progress::Progress) of every blob downloaded (each
    /// value once, with the blob's digest).
    pub fn progress(mut self, observer: impl Into<OnProgress>) -> Self {
        self.progress = Some(observer.into());
        self
    }

    /// Observes the progress of the whole pull: values without a digest whose `bytes` are
    /// those of every blob together and whose `total` is the sizes of the blobs started so
    /// far (it grows as blobs start); each value once.
    pub fn overall_progress(mut self, observer: impl Into<OnProgress>) -> Self {
        self.overall = Some(observer.into());
        self
    }

    /// The name the image gets in the layout's `index.json`
    /// (`org.opencontainers.image.ref.name`, the `TAG` of `oci:DIR:TAG`). By default the
    /// pulled reference when it is a tag; a digest reference is recorded without a name.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self
    }

    /// How many blobs are downloaded at once (at least 1; default
    /// [`DEFAULT_PARALLEL_BLOBS`]).
    pub fn blobs_in_parallel(mut self, n: usize) -> Self {
        self.parallel = n.max(1);
        self
    }

    /// Gets the manifest (verified), then every blob the layout lacks (verified, each into a
    /// temporary file renamed into place), then records the manifest, and for an index each
    /// child the same way before the index itself; finally tags the top entry in
    /// `index.json` (replacing an entry with the same name).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a bad repository name or reference, or a manifest that is
    /// not an image manifest or index (Docker schema 1, unknown types); the errors of
    /// [`OciLayout::create`] and the layout writes ([`Error::Io`]); those of
    /// [`Client::pull_manifest`] and [`Client::pull_blob`] as they come
    /// ([`Error::DigestMismatch`] for bytes that are not their digest's, a size other than
    /// the descriptor's). Blobs already written stay in the layout after a failure (a retry
    /// skips them); no manifest naming a missing blob is written.
    pub async fn send(self) -> Result<ImageTransfer, Error> {
        let Self {
            image,
            dir,
            tag,
            parallel,
            progress,
            overall,
        } = self;
        let progress = super::observer(progress.as_ref(), overall.as_ref());
        let repository = image.repository.map_err(|e| Error::invalid_input(OP, e))?;
        let reference = image.reference.map_err(|e| Error::invalid_input(OP, e))?;
        let layout = OciLayout::create(&dir)?;
        let manifest = image.client.pull_manifest(&repository, &reference).await?;
        let job = Job {
            client: &image.client,
            repository: &repository,
            layout: &layout,
            parallel,
            progress: progress.as_ref(),
        };
        let result = job.pull_tree(manifest).await?;
        match &tag {
            Some(t) => layout.tag(t, result.descriptor.clone())?,
            None => {
                let mut index = layout.index()?;
                if !index
                    .manifests
                    .iter()
                    .any(|d| d.digest == result.descriptor.digest)
                {
                    index.manifests.push(result.descriptor.clone());
                    layout.write_index(&index)?;
                }
            }
        }
        tracing::info!(
            repository = repository.as_str(),
            reference = reference.as_str(),
            manifests = result.manifests,
            blobs_transferred = result.blobs_transferred,
            blobs_skipped = result.blobs_skipped,
            "image pulled"
        );
        Ok(result)
    }
}

impl IntoFuture for PullImageToLayout {
    type Output = Result<ImageTransfer, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// One pull in progress.
struct Job<'a> {
    client: &'a Client,
    repository: &'a RepositoryName,
    layout: &'a OciLayout,
    parallel: usize,
    progress: Option<&'a OnProgress>,
}

impl Job<'_> {
    /// Stores `manifest` and everything it names in the layout, the manifest last.
    fn pull_tree(&self, manifest: Manifest) -> BoxFuture<'_, Result<ImageTransfer, Error>> {
        Box::pin(async move {
            let size = manifest.bytes.len() as u64;
            let descriptor =
                Descriptor::new(manifest.media_type.clone(), manifest.digest.clone(), size);
            let mut result = ImageTransfer::new(descriptor);
            let kind = manifest.parse()?;
            match kind {
                ManifestKind::Image(image) => {
                    let downloads =
                        futures_util::stream::iter(blobs_of(&image).into_iter().map(|blob| {
                            Ok::<_, Error>(async move {
                                if self.layout.has_blob(&blob.digest) {
                                    return Ok(None);
                                }
                                self.layout.ensure_blob_dir(&blob.digest)?;
                                let mut pull = self
                                    .client
                                    .pull_blob(self.repository, &blob.digest)
                                    .size(blob.size);
                                if let Some(p) = self.progress {
                                    pull = pull.progress(p.clone());
                                }
                                pull.to_file(self.layout.blob_path(&blob.digest))
                                    .await
                                    .map(Some)
                            })
                        }))
                        .try_buffer_unordered(self.parallel);
                    let done: Vec<Option<u64>> = downloads.try_collect().await?;
                    for d in done {
                        match d {
                            Some(n) => {
                                result.blobs_transferred += 1;
                                result.blob_bytes += n;
                            }
                            None => result.blobs_skipped += 1,
                        }
                    }
                }
                ManifestKind::Index(index) => {
                    for child in &index.manifests {
                        let child_manifest = self
                            .client
                            .pull_manifest(self.repository, &child.digest)
                            .await?;
                        let pulled = self.pull_tree(child_manifest).await?;
                        result.add(&pulled);
                    }
                }
                _ => return Err(unsupported(OP, &manifest.media_type)),
            }
            self.layout.write_blob(&manifest.digest, &manifest.bytes)?;
            result.manifests += 1;
            Ok(result)
        })
    }
}

impl Client {
    /// Pulls a whole image, `reference` (a tag or digest) of `repository`: its manifest, or
    /// index with every child manifest, with their configs and layers, all verified
    /// ([`Client::pull_manifest`], [`Client::pull_blob`]), a few blobs at a time.
    ///
    /// Say where with `.to_layout(dir)` (an OCI image layout folder), set options, then
    /// `.await` an [`ImageTransfer`]. See [`PullImageToLayout::send`] for the errors.
    pub fn pull_image(
        &self,
        repository: impl TryInto<RepositoryName, Error: std::fmt::Display>,
        reference: impl TryInto<Reference, Error: std::fmt::Display>,
    ) -> PullImage {
        PullImage {
            client: self.clone(),
            repository: repository.try_into().map_err(|e| e.to_string()),
            reference: reference.try_into().map_err(|e| e.to_string()),
        }
    }
}
