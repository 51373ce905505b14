//! [`Client::push_image`]: an image or index from an OCI image layout into a repository.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use futures_util::TryStreamExt as _;

use super::{DEFAULT_PARALLEL_BLOBS, ImageSource, ImageTransfer, OciLayout, blobs_of, unsupported};
use crate::blob::{UploadMethod, UploadSource};
use crate::manifest::{Descriptor, ManifestKind};
use crate::progress::OnProgress;
use crate::{Client, Error, Reference, RepositoryName};

const OP: &str = "push_image";

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The request of [`Client::push_image`]: set options, then `.await`.
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until it is awaited"]
pub struct PushImageRequest {
    client: Client,
    repository: Result<RepositoryName, String>,
    reference: Result<Reference, String>,
    source: ImageSource,
    source_tag: Option<String>,
    parallel: usize,
    progress: Option<OnProgress>,
    overall: Option<OnProgress>,
}

impl PushImageRequest {
    /// Observes the [`Progress`](crate::progress::Progress) of every blob pushed from a
    /// layout (each value once, with the blob's digest; blobs the registry holds report their
    /// size once).
    pub fn progress(mut self, observer: impl Into<OnProgress>) -> Self {
        self.progress = Some(observer.into());
        self
    }

    /// Observes the progress of the whole push: values without a digest whose `bytes` are
    /// those of every blob together and whose `total` is the sizes of the blobs started so
    /// far (it grows as blobs start); each value once.
    pub fn overall_progress(mut self, observer: impl Into<OnProgress>) -> Self {
        self.overall = Some(observer.into());
        self
    }

    /// Which entry of the layout's `index.json` to push: the one tagged `tag` (its
    /// `org.opencontainers.image.ref.name`). By default the pushed reference when it is a tag,
    /// else the entry whose digest is the reference, else the only entry. An [`Image`] in
    /// memory has one manifest: this does not apply.
    ///
    /// [`Image`]: super::Image
    pub fn source_tag(mut self, tag: impl Into<String>) -> Self {
        self.source_tag = Some(tag.into());
        self
    }

    /// How many blobs are uploaded at once (at least 1; default
    /// [`DEFAULT_PARALLEL_BLOBS`]).
    pub fn blobs_in_parallel(mut self, n: usize) -> Self {
        self.parallel = n.max(1);
        self
    }

    /// Pushes every blob the registry lacks (`HEAD` first; skipped when present), then each
    /// child manifest by digest, then the top manifest or index as the reference.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a bad repository name or reference, a layout entry that
    /// cannot be found, a manifest that is not an image manifest or index, or a reference
    /// digest that is not the manifest's; the errors of [`OciLayout::read_blob`] (a missing
    /// or corrupt blob in the layout); those of
    /// [`Client::push_blob`] and [`Client::push_manifest`] as they come. Blobs
    /// already uploaded stay in the registry after a failure (a retry skips them).
    pub async fn send(self) -> Result<ImageTransfer, Error> {
        let repository = self.repository.map_err(|e| Error::invalid_input(OP, e))?;
        let reference = self.reference.map_err(|e| Error::invalid_input(OP, e))?;
        let observer = super::observer(self.progress.as_ref(), self.overall.as_ref());
        let result = match &self.source {
            ImageSource::Layout(layout) => {
                let top = find_entry(layout, &reference, self.source_tag.as_deref())?;
                let job = Job {
                    client: &self.client,
                    repository: &repository,
                    layout,
                    parallel: self.parallel,
                    progress: observer.as_ref(),
                };
                job.push_tree(top, &reference).await?
            }
            ImageSource::Memory(image) => {
                let (client, parallel) = (&self.client, self.parallel);
                let progress = observer.as_ref();
                super::memory::push(client, &repository, &reference, image, parallel, progress)
                    .await?
            }
        };
        tracing::info!(
            repository = repository.as_str(),
            reference = reference.as_str(),
            manifests = result.manifests,
            blobs_transferred = result.blobs_transferred,
            blobs_skipped = result.blobs_skipped,
            "image pushed"
        );
        Ok(result)
    }
}

impl IntoFuture for PushImageRequest {
    type Output = Result<ImageTransfer, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// The descriptor of the layout to push ([`OciLayout::entry`]), or the error that names it.
fn find_entry(
    layout: &OciLayout,
    reference: &Reference,
    source_tag: Option<&str>,
) -> Result<Descriptor, Error> {
    layout.entry(reference, source_tag)?.ok_or_else(|| {
        Error::invalid_input(
            OP,
            format!(
                "{} has no manifest for {:?} in its index.json",
                layout.path().display(),
                source_tag.unwrap_or(reference.as_str())
            ),
        )
    })
}

/// One push in progress.
struct Job<'a> {
    client: &'a Client,
    repository: &'a RepositoryName,
    layout: &'a OciLayout,
    parallel: usize,
    progress: Option<&'a OnProgress>,
}

impl Job<'_> {
    /// Pushes the manifest `descriptor` names, with everything it names, as `reference`.
    fn push_tree<'b>(
        &'b self,
        descriptor: Descriptor,
        reference: &'b Reference,
    ) -> BoxFuture<'b, Result<ImageTransfer, Error>> {
        Box::pin(async move {
            let bytes = self.layout.read_blob(&descriptor.digest)?;
            let media_type = if descriptor.media_type.is_empty() {
                serde_json::from_slice::<serde_json::Value>(&bytes)
                    .ok()
                    .and_then(|v| v.get("mediaType")?.as_str().map(str::to_owned))
                    .unwrap_or_default()
            } else {
                descriptor.media_type.clone()
            };
            let kind = ManifestKind::parse(&media_type, &bytes).map_err(|e| {
                Error::invalid_input(OP, format!("manifest {}: {e}", descriptor.digest))
            })?;
            let mut result = ImageTransfer::new(descriptor.clone());
            match kind {
                ManifestKind::Image(manifest) => {
                    let blobs = blobs_of(&manifest);
                    let uploads = futures_util::stream::iter(blobs.into_iter().map(|blob| {
                        Ok::<_, Error>(async move {
                            let path = self.layout.blob_path(&blob.digest);
                            if !blob.urls.is_empty() && !path.is_file() {
                                // A foreign layer (Docker schema 2 with `urls`): the layout
                                // need not hold it, nor the registry.
                                return Ok(None);
                            }
                            let mut push = self
                                .client
                                .push_blob(self.repository, UploadSource::Path(path))
                                .digest(&blob.digest)
                                .size(blob.size);
                            if let Some(p) = self.progress {
                                push = push.progress(p.clone());
                            }
                            push.await.map(Some)
                        })
                    }))
                    .try_buffer_unordered(self.parallel);
                    let uploaded: Vec<_> = uploads.try_collect().await?;
                    for u in uploaded.into_iter().flatten() {
                        match u.method {
                            UploadMethod::Sent => result.blobs_transferred += 1,
                            _ => result.blobs_skipped += 1,
                        }
                        result.blob_bytes += u.bytes_sent;
                    }
                }
                ManifestKind::Index(index) => {
                    for child in &index.manifests {
                        let child_ref = Reference::from(&child.digest);
                        let pushed = self.push_tree(child.clone(), &child_ref).await?;
                        result.add(&pushed);
                    }
                }
                _ => return Err(unsupported(OP, &media_type)),
            }
            self.client
                .push_manifest(self.repository, reference, bytes, media_type)
                .await?;
            result.manifests += 1;
            Ok(result)
        })
    }
}

impl Client {
    /// Pushes a whole image from `source`, an OCI image layout (`&OciLayout`) or an
    /// [`Image`](super::Image) in memory, to `repository` as `reference` (a tag, or the
    /// manifest's digest): the manifest's config and layers (or an index's child manifests
    /// with theirs), then the manifest. Blobs the registry holds are
    /// skipped; the others are uploaded with the verified, resumable
    /// [`Client::push_blob`], a few at a time.
    ///
    /// Set `.source_tag(..)` to choose the layout entry and `.blobs_in_parallel(..)`, then
    /// `.await` an [`ImageTransfer`]. See [`PushImageRequest::send`] for the errors.
    pub fn push_image(
        &self,
        repository: impl TryInto<RepositoryName, Error: std::fmt::Display>,
        reference: impl TryInto<Reference, Error: std::fmt::Display>,
        source: impl Into<ImageSource>,
    ) -> PushImageRequest {
        PushImageRequest {
            client: self.clone(),
            repository: repository.try_into().map_err(|e| e.to_string()),
            reference: reference.try_into().map_err(|e| e.to_string()),
            source: source.into(),
            source_tag: None,
            parallel: DEFAULT_PARALLEL_BLOBS,
            progress: None,
            overall: None,
        }
    }
}
