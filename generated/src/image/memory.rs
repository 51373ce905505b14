//! An image held in memory ([`Image`]): a config and layers as bytes, with the OCI image
//! manifest that names them, pushed with [`Client::push_image`] like an OCI image layout.
//!
//! [`Client::push_image`]: crate::Client::push_image

use acr_runtime::bytes::Bytes;
use futures_util::TryStreamExt as _;

use super::wire::UploadOptions;
use super::{ImageTransfer, OciLayout};
use crate::blob::{UploadMethod, UploadSource};
use crate::manifest::{Descriptor, ImageManifest, OCI_CONFIG, OCI_LAYER_TAR};
use crate::{Client, Digest, Error, Reference, RepositoryName};

const OP: &str = "push_image";

/// An image in memory: a config blob, layer blobs (base first) and the OCI image manifest
/// naming them (OCI image spec v1.1.0, "Image Manifest"). Build it with [`Image::new`] and
/// the `layer`/`annotation` methods; push it with [`Client::push_image`].
///
/// ```
/// use acr::image::Image;
/// let image = Image::new(r#"{"architecture":"amd64","os":"linux"}"#)
///     .layer("the base layer's bytes")
///     .layer_of(acr::manifest::OCI_LAYER_GZIP, vec![0x1f, 0x8b, 0x08])
///     .annotation("org.opencontainers.image.title", "demo");
/// assert_eq!(image.manifest().layers.len(), 2);
/// assert_eq!(image.digest().algorithm(), "sha256");
/// ```
///
/// [`Client::push_image`]: crate::Client::push_image
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    config: (Descriptor, Bytes),
    layers: Vec<(Descriptor, Bytes)>,
    manifest: ImageManifest,
}

impl Image {
    /// An image with `config` (the JSON of an OCI image config,
    /// `application/vnd.oci.image.config.v1+json`) and no layers yet.
    pub fn new(config: impl Into<Bytes>) -> Self {
        Self::with_config(OCI_CONFIG, config)
    }

    /// An image whose config blob has `media_type` (an artifact's own config type, or
    /// [`OCI_EMPTY`](crate::manifest::OCI_EMPTY) with `{}`).
    pub fn with_config(media_type: impl Into<String>, config: impl Into<Bytes>) -> Self {
        let bytes = config.into();
        let descriptor = Descriptor::of(media_type, &bytes);
        Self {
            manifest: ImageManifest::new(descriptor.clone(), Vec::new()),
            config: (descriptor, bytes),
            layers: Vec::new(),
        }
    }

    /// With one more layer of `bytes`, typed as an uncompressed tar layer
    /// (`application/vnd.oci.image.layer.v1.tar`).
    pub fn layer(self, bytes: impl Into<Bytes>) -> Self {
        self.layer_of(OCI_LAYER_TAR, bytes)
    }

    /// With one more layer of `bytes` and `media_type` (the `OCI_LAYER_*` constants of
    /// [`manifest`](crate::manifest), or an artifact's blob type).
    pub fn layer_of(mut self, media_type: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        let descriptor = Descriptor::of(media_type, &bytes);
        self.manifest.layers.push(descriptor.clone());
        self.layers.push((descriptor, bytes));
        self
    }

    /// With manifest annotation `key` = `value`.
    pub fn annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.manifest = self.manifest.with_annotation(key, value);
        self
    }

    /// With `subject`: the image refers to that manifest (a signature, an SBOM: OCI image
    /// spec v1.1.0, "subject"), and is listed among its referrers.
    pub fn subject(mut self, subject: Descriptor) -> Self {
        self.manifest = self.manifest.with_subject(subject);
        self
    }

    /// With `artifactType` (OCI image spec v1.1.0): what kind of artifact this is, when
    /// the config's media type does not say it.
    pub fn artifact_type(mut self, artifact_type: impl Into<String>) -> Self {
        self.manifest = self.manifest.with_artifact_type(artifact_type);
        self
    }

    /// The manifest as pushed.
    pub fn manifest(&self) -> &ImageManifest {
        &self.manifest
    }

    /// The manifest's exact bytes.
    pub fn manifest_bytes(&self) -> Bytes {
        self.manifest.to_bytes()
    }

    /// The manifest's digest (`sha256`): what a pull by digest names.
    pub fn digest(&self) -> Digest {
        Digest::sha256(&self.manifest_bytes())
    }

    /// The manifest's descriptor (media type, digest, size): what an index entry or a
    /// referrer's `subject` holds.
    pub fn descriptor(&self) -> Descriptor {
        Descriptor::of(
            self.manifest.media_type().to_owned(),
            &self.manifest_bytes(),
        )
    }

    /// The config and layers, config first, each with its descriptor.
    pub fn blobs(&self) -> impl Iterator<Item = &(Descriptor, Bytes)> {
        std::iter::once(&self.config).chain(self.layers.iter())
    }
}

/// What [`Client::push_image`] pushes: an OCI image layout folder or an [`Image`] in
/// memory. Made from `&OciLayout`, `OciLayout`, `&Image` or `Image`.
///
/// [`Client::push_image`]: crate::Client::push_image
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ImageSource {
    /// An OCI image layout folder.
    Layout(OciLayout),
    /// An image in memory.
    Memory(Box<Image>),
}

impl From<&OciLayout> for ImageSource {
    fn from(layout: &OciLayout) -> Self {
        Self::Layout(layout.clone())
    }
}

impl From<OciLayout> for ImageSource {
    fn from(layout: OciLayout) -> Self {
        Self::Layout(layout)
    }
}

impl From<&Image> for ImageSource {
    fn from(image: &Image) -> Self {
        Self::Memory(Box::new(image.clone()))
    }
}

impl From<Image> for ImageSource {
    fn from(image: Image) -> Self {
        Self::Memory(Box::new(image))
    }
}

/// Pushes `image` to `repository` as `reference`: every blob the registry lacks, `parallel`
/// at a time, then the manifest.
pub(super) async fn push(
    client: &Client,
    repository: &RepositoryName,
    reference: &Reference,
    image: &Image,
    parallel: usize,
    progress: Option<&crate::progress::OnProgress>,
) -> Result<ImageTransfer, Error> {
    let bytes = image.manifest_bytes();
    if let Some(wanted) = reference.as_digest()
        && wanted.recompute(&bytes).as_ref() != Some(&wanted)
    {
        return Err(Error::invalid_input(
            OP,
            format!(
                "the reference {wanted} is not the image's digest ({})",
                image.digest()
            ),
        ));
    }
    let media_type = image.manifest.media_type().to_owned();
    let descriptor = Descriptor::of(media_type.clone(), &bytes);
    let mut result = ImageTransfer::new(descriptor);
    let mut seen = std::collections::BTreeSet::new();
    let unique: Vec<(Descriptor, Bytes)> = image
        .blobs()
        .filter(|(d, _)| seen.insert(d.digest.clone()))
        .cloned()
        .collect();
    let uploads = futures_util::stream::iter(unique.into_iter().map(|(descriptor, blob)| {
        Ok::<_, Error>(async move {
            let options = UploadOptions::default()
                .digest(descriptor.digest.clone())
                .size(descriptor.size)
                .progress(progress);
            super::wire::upload_blob(client, repository, UploadSource::Bytes(blob), options).await
        })
    }))
    .try_buffer_unordered(parallel);
    let uploaded: Vec<_> = uploads.try_collect().await?;
    for u in uploaded {
        match u.method {
            UploadMethod::Sent => result.blobs_transferred += 1,
            _ => result.blobs_skipped += 1,
        }
        result.blob_bytes += u.bytes_sent;
    }
    super::wire::put_manifest(client, repository, reference, bytes, &media_type).await?;
    result.manifests = 1;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_names_each_blob_once_in_order() {
        let image = Image::new("{}").layer("a").layer("b");
        let m = image.manifest();
        assert_eq!(m.config.digest, Digest::sha256(b"{}"));
        let layers: Vec<_> = m.layers.iter().map(|d| d.digest.clone()).collect();
        assert_eq!(layers, [Digest::sha256(b"a"), Digest::sha256(b"b")]);
        assert_eq!(image.blobs().count(), 3);
        assert_eq!(image.digest(), Digest::sha256(&image.manifest_bytes()));
    }
}
