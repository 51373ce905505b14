//! Whole images (hand-written, over the verified, resumable blob and manifest transfers): an image's
//! manifest, or image index with all its child manifests, with their configs and layers,
//! pushed from an OCI image layout folder or from memory ([`Image`]) with
//! [`Client::push_image`], pulled into a layout folder ([`Client::pull_image`]), or copied
//! from repository to repository, within a registry or between two
//! ([`Client::copy_image`]).
//!
//! [`Client::push_image`]: crate::Client::push_image
//! [`Client::pull_image`]: crate::Client::pull_image
//! [`Client::copy_image`]: crate::Client::copy_image
//!
//! The order follows the OCI distribution spec v1.1.0 ("Pushing Manifests": a registry may
//! refuse a manifest whose blobs or children it does not hold): blobs before the manifest that
//! names them, child manifests before their index. Pulling writes a manifest into the layout
//! only after everything it names is there, so a manifest present in a layout means its
//! content is present too. Blobs go `blobs_in_parallel` at a time (default
//! [`DEFAULT_PARALLEL_BLOBS`]); a blob the registry (push) or the layout (pull) already holds
//! is skipped.
//!
//! Progress is reported per blob (`.progress(..)` of push, pull and copy) and for the whole
//! image (`.overall_progress(..)`: the bytes of every blob together), with the one observer
//! type of [`crate::progress`].

mod copy;
pub mod layout;
mod memory;
mod pull;
mod push;
mod wire;

pub use copy::CopyImageRequest;
pub use layout::OciLayout;
pub use memory::{Image, ImageSource};
pub use pull::{PullImage, PullImageToLayout};
pub use push::PushImageRequest;

use crate::manifest::Descriptor;
use crate::progress::{OnProgress, Progress};
use crate::{Digest, Error};

/// How many blobs an image workflow transfers at once unless told otherwise.
pub const DEFAULT_PARALLEL_BLOBS: usize = 4;

/// What a whole-image transfer did: the outcome of [`Client::push_image`],
/// [`Client::pull_image`] and [`Client::copy_image`].
///
/// [`Client::push_image`]: crate::Client::push_image
/// [`Client::pull_image`]: crate::Client::pull_image
/// [`Client::copy_image`]: crate::Client::copy_image
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ImageTransfer {
    /// The descriptor of the top manifest or index (media type, digest, size in bytes).
    pub descriptor: Descriptor,
    /// How many manifests were transferred: 1 for an image, 1 + its children for an index.
    pub manifests: usize,
    /// Blobs (configs and layers) transferred.
    pub blobs_transferred: usize,
    /// Blobs skipped because the destination already held them.
    pub blobs_skipped: usize,
    /// Blobs the registry mounted from the source repository (a copy within one registry):
    /// no byte of them travelled.
    pub blobs_mounted: usize,
    /// Referrers copied with the image ([`CopyImageRequest::with_referrers`]): manifests whose
    /// `subject` is one of the copied manifests. Their own manifests and blobs are counted in
    /// the other fields too.
    pub referrers: usize,
    /// Bytes of blobs sent or received over the wire (manifests not counted).
    pub blob_bytes: u64,
}

impl ImageTransfer {
    fn new(descriptor: Descriptor) -> Self {
        Self {
            descriptor,
            manifests: 0,
            blobs_transferred: 0,
            blobs_skipped: 0,
            blobs_mounted: 0,
            referrers: 0,
            blob_bytes: 0,
        }
    }

    fn add(&mut self, other: &ImageTransfer) {
        self.manifests += other.manifests;
        self.blobs_transferred += other.blobs_transferred;
        self.blobs_skipped += other.blobs_skipped;
        self.blobs_mounted += other.blobs_mounted;
        self.referrers += other.referrers;
        self.blob_bytes += other.blob_bytes;
    }
}

/// The blobs of an image manifest, config first, each once.
fn blobs_of(manifest: &crate::manifest::ImageManifest) -> Vec<Descriptor> {
    let mut seen = std::collections::BTreeSet::<Digest>::new();
    std::iter::once(&manifest.config)
        .chain(manifest.layers.iter())
        .filter(|d| seen.insert(d.digest.clone()))
        .cloned()
        .collect()
}

/// The error for a manifest this module cannot move (schema 1, unknown types).
fn unsupported(operation: &'static str, media_type: &str) -> Error {
    Error::invalid_input(
        operation,
        format!(
            "a manifest of type {media_type:?} cannot be stored in an OCI image layout (image manifests and indexes, OCI or Docker schema 2, can)"
        ),
    )
}

/// Each blob's (bytes, size), and the last sum reported.
type Sums = (std::collections::BTreeMap<Digest, (u64, u64)>, (u64, u64));

/// The observer an image workflow hands to its blob transfers: each blob's value goes to
/// `per_blob`, and the image-wide sum to `overall` as a value without a digest (`bytes` of all
/// blobs so far, `total` the sizes of the blobs started so far: it grows as blobs start), each
/// sum once. `None` when neither is set.
pub(crate) fn observer(
    per_blob: Option<&OnProgress>,
    overall: Option<&OnProgress>,
) -> Option<OnProgress> {
    let Some(overall) = overall.cloned() else {
        return per_blob.cloned();
    };
    let per_blob = per_blob.cloned();
    let blobs: std::sync::Mutex<Sums> = std::sync::Mutex::default();
    Some(OnProgress::new(move |value: Progress| {
        if let Some(p) = &per_blob {
            p.report(value.clone());
        }
        let (Some(digest), Ok(mut state)) = (value.digest.clone(), blobs.lock()) else {
            return;
        };
        let size = value.total.unwrap_or(value.bytes).max(value.bytes);
        state.0.insert(digest, (value.bytes, size));
        let sum = state
            .0
            .values()
            .fold((0, 0), |(b, t), (bytes, size)| (b + bytes, t + size));
        if sum != state.1 {
            state.1 = sum;
            // under the lock: sums reach the observer in the order they were made
            overall.report(Progress::new(None, sum.0, Some(sum.1)));
        }
    }))
}
