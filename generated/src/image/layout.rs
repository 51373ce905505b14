//! OCI image layout folders (OCI image spec v1.1.0, "OCI Image Layout Specification", layout
//! version 1.0.0), the format `skopeo copy … oci:DIR:TAG` reads and writes:
//!
//! ```text
//! DIR/oci-layout          {"imageLayoutVersion": "1.0.0"}
//! DIR/index.json          an image index; a tag is the descriptor's
//!                         `org.opencontainers.image.ref.name` annotation
//! DIR/blobs/<alg>/<hex>   every blob and manifest, named by its digest
//! ```
//!
//! Every write lands through a temporary file in the same folder that is renamed into place
//! after its digest was checked, so a reader never sees a half-written blob or `index.json`,
//! and a failed write leaves nothing behind. The methods are blocking file-system calls on
//! small files (manifests, `index.json`); the image workflows ([`Client::push_image`],
//! [`Client::pull_image`]) stream layers without reading them into memory.
//!
//! [`Client::push_image`]: crate::Client::push_image
//! [`Client::pull_image`]: crate::Client::pull_image

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use acr_runtime::bytes::Bytes;

use crate::manifest::{Descriptor, ImageIndex};
use crate::{Digest, Error, Reference};

/// The annotation that names a manifest of a layout's `index.json` (OCI image spec v1.1.0,
/// "Pre-Defined Annotation Keys"): the tag in `oci:DIR:TAG`.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// The layout version this library reads and writes (OCI image spec v1.1.0, "oci-layout file").
pub const LAYOUT_VERSION: &str = "1.0.0";

const OP: &str = "oci_layout";

/// An OCI image layout folder on disk. Cheap to clone (a path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciLayout {
    root: PathBuf,
}

impl OciLayout {
    /// Opens an existing layout at `dir`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when `dir/oci-layout` cannot be read; [`Error::InvalidInput`] when it is
    /// not JSON or its `imageLayoutVersion` is not `1.0.0`.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, Error> {
        let root = dir.as_ref().to_owned();
        let path = root.join("oci-layout");
        let text = std::fs::read(&path)
            .map_err(|e| Error::io(OP, format!("cannot read {}", path.display()), e))?;
        let value: serde_json::Value = serde_json::from_slice(&text).map_err(|e| {
            Error::invalid_input(OP, format!("{} is not JSON: {e}", path.display()))
        })?;
        match value.get("imageLayoutVersion").and_then(|v| v.as_str()) {
            Some(LAYOUT_VERSION) => Ok(Self { root }),
            other => Err(Error::invalid_input(
                OP,
                format!(
                    "{}: imageLayoutVersion {other:?}, only {LAYOUT_VERSION} is supported",
                    path.display()
                ),
            )),
        }
    }

    /// Opens the layout at `dir`, or creates it (the folder, `oci-layout`, an empty
    /// `index.json` and `blobs/`) when `dir` holds no `oci-layout` file.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the folder or its files cannot be created; the errors of
    /// [`OciLayout::open`] for an existing layout.
    pub fn create(dir: impl AsRef<Path>) -> Result<Self, Error> {
        let root = dir.as_ref().to_owned();
        if root.join("oci-layout").exists() {
            return Self::open(root);
        }
        std::fs::create_dir_all(root.join("blobs"))
            .map_err(|e| Error::io(OP, format!("cannot create {}", root.display()), e))?;
        let layout = Self { root };
        if !layout.root.join("index.json").exists() {
            layout.write_index(&ImageIndex::new(Vec::new()))?;
        }
        let version = serde_json::json!({ "imageLayoutVersion": LAYOUT_VERSION }).to_string();
        atomic_write(&layout.root.join("oci-layout"), version.as_bytes())?;
        Ok(layout)
    }

    /// The layout's folder.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Where blob `digest` lives: `blobs/<algorithm>/<encoded>`.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm())
            .join(digest.encoded())
    }

    /// Whether blob `digest` is present (by name; [`OciLayout::read_blob`] checks its bytes).
    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    /// The bytes of blob `digest`, checked against it. Meant for manifests and configs: the
    /// whole blob is read into memory.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when it cannot be read (absent included); [`Error::DigestMismatch`] when
    /// its bytes are not `digest`'s; [`Error::InvalidInput`] for an algorithm other than
    /// `sha256`/`sha512`.
    pub fn read_blob(&self, digest: &Digest) -> Result<Bytes, Error> {
        let path = self.blob_path(digest);
        let bytes = std::fs::read(&path)
            .map_err(|e| Error::io(OP, format!("cannot read {}", path.display()), e))?;
        check(digest, &bytes)?;
        Ok(Bytes::from(bytes))
    }

    /// Writes `bytes` as blob `digest`, after checking they are `digest`'s, through a
    /// temporary file renamed into place. A blob already present is left as it is.
    ///
    /// # Errors
    ///
    /// [`Error::DigestMismatch`] when `bytes` are not `digest`'s (nothing is written);
    /// [`Error::InvalidInput`] for an algorithm other than `sha256`/`sha512`; [`Error::Io`]
    /// for the file system (the temporary file is removed).
    pub fn write_blob(&self, digest: &Digest, bytes: &[u8]) -> Result<(), Error> {
        check(digest, bytes)?;
        let path = self.blob_path(digest);
        if path.is_file() {
            return Ok(());
        }
        self.ensure_blob_dir(digest)?;
        atomic_write(&path, bytes)
    }

    /// Writes `bytes` as a blob of `media_type` (sha256) and returns its descriptor.
    ///
    /// # Errors
    ///
    /// Those of [`OciLayout::write_blob`].
    pub fn add_blob(&self, media_type: &str, bytes: &[u8]) -> Result<Descriptor, Error> {
        let descriptor = Descriptor::of(media_type, bytes);
        self.write_blob(&descriptor.digest, bytes)?;
        Ok(descriptor)
    }

    /// Creates `blobs/<algorithm>/` for `digest` (the image workflows download into it).
    pub(crate) fn ensure_blob_dir(&self, digest: &Digest) -> Result<(), Error> {
        let dir = self.root.join("blobs").join(digest.algorithm());
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(OP, format!("cannot create {}", dir.display()), e))
    }

    /// The layout's `index.json`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when it cannot be read; [`Error::InvalidInput`] when it is not an image
    /// index.
    pub fn index(&self) -> Result<ImageIndex, Error> {
        let path = self.root.join("index.json");
        let bytes = std::fs::read(&path)
            .map_err(|e| Error::io(OP, format!("cannot read {}", path.display()), e))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::invalid_input(OP, format!("{} is not an image index: {e}", path.display()))
        })
    }

    /// Replaces `index.json` with `index` (atomically).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] for the file system.
    pub fn write_index(&self, index: &ImageIndex) -> Result<(), Error> {
        atomic_write(&self.root.join("index.json"), &index.to_bytes())
    }

    /// The descriptor tagged `tag` in `index.json` (its [`REF_NAME`] annotation), if any.
    ///
    /// # Errors
    ///
    /// Those of [`OciLayout::index`].
    pub fn resolve(&self, tag: &str) -> Result<Option<Descriptor>, Error> {
        Ok(self
            .index()?
            .manifests
            .into_iter()
            .find(|d| d.annotations.get(REF_NAME).map(String::as_str) == Some(tag)))
    }

    /// The entry of `index.json` that pushing it as `reference` means (what
    /// [`Client::push_image`](crate::Client::push_image) takes from a layout): the one tagged
    /// `source_tag` when given; else, for a digest reference, the entry of that digest; else
    /// the one tagged with the reference's tag, or the layout's only entry. `None` when there
    /// is no such entry.
    ///
    /// # Errors
    ///
    /// Those of [`OciLayout::index`].
    pub fn entry(
        &self,
        reference: &Reference,
        source_tag: Option<&str>,
    ) -> Result<Option<Descriptor>, Error> {
        let index = self.index()?;
        let by_tag = |tag: &str| {
            index
                .manifests
                .iter()
                .find(|d| d.annotations.get(REF_NAME).map(String::as_str) == Some(tag))
                .cloned()
        };
        Ok(match (source_tag, reference.as_digest()) {
            (Some(tag), _) => by_tag(tag),
            (None, Some(digest)) => index.manifests.iter().find(|d| d.digest == digest).cloned(),
            (None, None) => {
                by_tag(reference.as_str()).or_else(|| match index.manifests.as_slice() {
                    [only] => Some(only.clone()),
                    _ => None,
                })
            }
        })
    }

    /// Tags `descriptor` as `tag` in `index.json`: sets its [`REF_NAME`] annotation and
    /// replaces any entry already tagged `tag` (as `skopeo copy … oci:DIR:TAG` does). The
    /// manifest itself must already be a blob of the layout.
    ///
    /// # Errors
    ///
    /// Those of [`OciLayout::index`] and [`OciLayout::write_index`].
    pub fn tag(&self, tag: &str, descriptor: Descriptor) -> Result<(), Error> {
        let mut index = self.index()?;
        index
            .manifests
            .retain(|d| d.annotations.get(REF_NAME).map(String::as_str) != Some(tag));
        index
            .manifests
            .push(descriptor.with_annotation(REF_NAME, tag));
        self.write_index(&index)
    }
}

/// Checks `bytes` against `digest` in its algorithm.
fn check(digest: &Digest, bytes: &[u8]) -> Result<(), Error> {
    let actual = digest.recompute(bytes).ok_or_else(|| {
        Error::invalid_input(
            OP,
            format!("unsupported digest algorithm {}", digest.algorithm()),
        )
    })?;
    if &actual != digest {
        return Err(Error::DigestMismatch {
            operation: OP,
            expected: digest.to_string(),
            actual: actual.to_string(),
        });
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file in the same folder, synced and renamed
/// into place; the temporary file is removed on any error.
fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".acr-tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(OP, format!("cannot write {}", path.display()), e)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("acr-layout-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_written_layout_reads_back_and_tags_replace() {
        let dir = temp_dir("roundtrip");
        let layout = OciLayout::create(&dir).unwrap();
        let config = layout.add_blob(crate::manifest::OCI_CONFIG, b"{}").unwrap();
        let manifest = crate::manifest::ImageManifest::new(config.clone(), Vec::new());
        let bytes = manifest.to_bytes();
        let desc = layout
            .add_blob(crate::manifest::OCI_MANIFEST, &bytes)
            .unwrap();
        layout.tag("v1", desc.clone()).unwrap();
        layout.tag("v1", desc.clone()).unwrap();
        let again = OciLayout::open(&dir).unwrap();
        assert_eq!(again.index().unwrap().manifests.len(), 1);
        assert_eq!(again.resolve("v1").unwrap().unwrap().digest, desc.digest);
        assert_eq!(again.read_blob(&desc.digest).unwrap(), bytes);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_wrong_digest_writes_nothing() {
        let dir = temp_dir("mismatch");
        let layout = OciLayout::create(&dir).unwrap();
        let digest = Digest::sha256(b"other");
        let err = layout.write_blob(&digest, b"bytes").unwrap_err();
        assert!(matches!(err, Error::DigestMismatch { .. }), "{err:?}");
        assert!(!layout.has_blob(&digest));
        let leftovers = std::fs::read_dir(dir.join("blobs")).unwrap().count();
        assert_eq!(leftovers, 0, "no sha256 folder or temp file left");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_foreign_layout_version_is_refused() {
        let dir = temp_dir("version");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"2.0.0"}"#).unwrap();
        let err = OciLayout::open(&dir).unwrap_err();
        assert!(err.to_string().contains("2.0.0"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
