//! Progress of transfers (issue 8): one observer type ([`acr::progress::OnProgress`]) for blob
//! push and pull and for whole images, each value reported once, the last one the blob's
//! size. Against the emulator.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap (see notes/COMMON.md)

mod common;

use std::sync::{Arc, Mutex};

use acr::blob::{UploadMethod, UploadSource};
use acr::progress::{OnProgress, Progress};
use acr::{Client, Credential, Digest, RepositoryName};
use futures_util::TryStreamExt as _;

/// An observer that records every value, and the values it recorded.
fn recorder() -> (OnProgress, Arc<Mutex<Vec<Progress>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    (OnProgress::new(move |p| s.lock().unwrap().push(p)), seen)
}

/// The values of one blob: no value twice in a row, bytes never above the total.
fn check_once(values: &[Progress], what: &str) {
    assert!(!values.is_empty(), "{what}: no progress");
    for w in values.windows(2) {
        assert_ne!(w[0], w[1], "{what}: a value reported twice: {values:?}");
    }
    for p in values {
        if let Some(t) = p.total {
            assert!(p.bytes <= t, "{what}: {p:?}");
        }
    }
}

fn client(endpoint: &str) -> Client {
    Client::builder(endpoint)
        .credential(Credential::basic(
            common::ADMIN_USER,
            common::ADMIN_PASSWORD,
        ))
        .build()
        .unwrap()
}

#[tokio::test]
async fn blob_push_and_pull_report_each_value_once() {
    let emulator = common::start_emulator().await;
    let client = client(&emulator.endpoint());
    let repo = RepositoryName::new("progress/blob").unwrap();
    let data = common::image::pseudo_random("progress", 3500);
    let digest = Digest::sha256(&data);

    // push in 1000-byte chunks: 1000, 2000, 3000, then the completing PUT with the rest
    let (observer, seen) = recorder();
    let pushed = client
        .push_blob(&repo, UploadSource::Bytes(data.clone()))
        .digest(&digest)
        .chunk_size(1000)
        .progress(observer)
        .await
        .unwrap();
    assert_eq!(pushed.method, UploadMethod::Sent);
    let values = seen.lock().unwrap().clone();
    check_once(&values, "push");
    let bytes: Vec<u64> = values.iter().map(|p| p.bytes).collect();
    assert_eq!(bytes, vec![1000, 2000, 3000, 3500]);
    assert!(
        values
            .iter()
            .all(|p| p.digest.as_ref() == Some(&digest) && p.total == Some(3500)),
        "{values:?}"
    );

    // a blob of whole chunks: the completing PUT sends nothing and reports nothing new (the
    // final value once arrived twice)
    let whole = common::image::pseudo_random("progress-whole", 3000);
    let (observer, seen) = recorder();
    client
        .push_blob(&repo, UploadSource::Bytes(whole))
        .chunk_size(1000)
        .progress(observer)
        .await
        .unwrap();
    let values = seen.lock().unwrap().clone();
    check_once(&values, "push of whole chunks");
    let bytes: Vec<u64> = values.iter().map(|p| p.bytes).collect();
    assert_eq!(bytes, vec![1000, 2000, 3000]);

    // the same blob again: skipped, its size reported once
    let (observer, seen) = recorder();
    let again = client
        .push_blob(&repo, UploadSource::Bytes(data.clone()))
        .digest(&digest)
        .progress(observer)
        .await
        .unwrap();
    assert_eq!(again.method, UploadMethod::Skipped);
    let values = seen.lock().unwrap().clone();
    assert_eq!(values.len(), 1, "{values:?}");
    assert_eq!((values[0].bytes, values[0].total), (3500, Some(3500)));

    // pull: bytes received grow to the size, each value once, the stream verified
    let (observer, seen) = recorder();
    let stream = client
        .pull_blob(&repo, &digest)
        .size(3500)
        .progress(observer)
        .await
        .unwrap();
    let chunks: Vec<_> = stream.try_collect().await.unwrap();
    assert_eq!(chunks.concat(), data.to_vec());
    let values = seen.lock().unwrap().clone();
    check_once(&values, "pull");
    assert_eq!(values.last().map(|p| p.bytes), Some(3500));
    assert!(
        values.windows(2).all(|w| w[0].bytes < w[1].bytes),
        "{values:?}"
    );
}

#[tokio::test]
async fn an_image_pull_reports_each_blob_once_per_value_to_one_observer() {
    let emulator = common::start_emulator().await;
    let client = client(&emulator.endpoint());
    let repo = RepositoryName::new("progress/image").unwrap();
    let image = common::image::TestImage::new("progress-image", &[3000, 5000]);
    for (_, bytes) in image.blobs() {
        client
            .push_blob(&repo, UploadSource::Bytes(bytes))
            .await
            .unwrap();
    }
    client
        .push_manifest(
            &repo,
            "v1",
            image.manifest.clone(),
            common::image::OCI_MANIFEST,
        )
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (observer, seen) = recorder();
    let pulled = client
        .pull_image(&repo, "v1")
        .to_layout(dir.path().join("layout"))
        .progress(observer)
        .await
        .unwrap();
    assert_eq!(pulled.blobs_transferred, 3);
    let values = seen.lock().unwrap().clone();
    for (digest, bytes) in image.blobs() {
        let digest = Digest::new(digest).unwrap();
        let of_blob: Vec<Progress> = values
            .iter()
            .filter(|p| p.digest.as_ref() == Some(&digest))
            .cloned()
            .collect();
        check_once(&of_blob, digest.as_str());
        assert_eq!(
            of_blob.last().map(|p| (p.bytes, p.total)),
            Some((bytes.len() as u64, Some(bytes.len() as u64))),
            "{of_blob:?}"
        );
    }
    assert!(values.iter().all(|p| p.digest.is_some()), "{values:?}");
}

/// The values `seen` reported for each of `blobs`: once each, the last one its whole size.
fn check_blobs(seen: &Arc<Mutex<Vec<Progress>>>, blobs: &[(Digest, u64)], what: &str) {
    let values = seen.lock().unwrap().clone();
    assert!(
        values.iter().all(|p| p.digest.is_some()),
        "{what}: {values:?}"
    );
    for (digest, size) in blobs {
        let of_blob: Vec<Progress> = values
            .iter()
            .filter(|p| p.digest.as_ref() == Some(digest))
            .cloned()
            .collect();
        check_once(&of_blob, &format!("{what} {digest}"));
        assert_eq!(
            of_blob.last().map(|p| (p.bytes, p.total)),
            Some((*size, Some(*size))),
            "{what}: {of_blob:?}"
        );
    }
}

/// An in-memory image push and `copy_image` (streamed to another repository of a second
/// client, then mounted within the registry) report every blob to one observer, each value
/// once, the last one the blob's size.
#[tokio::test]
async fn an_in_memory_push_and_a_copy_report_every_blob_once_per_value() {
    let emulator = common::start_emulator().await;
    let source = client(&emulator.endpoint());
    let image = acr::image::Image::new(r#"{"architecture":"amd64","os":"linux"}"#)
        .layer(common::image::pseudo_random("copy-progress-1", 4000))
        .layer(common::image::pseudo_random("copy-progress-2", 2500));
    let (observer, seen) = recorder();
    let pushed = source
        .push_image("progress/source", "v1", &image)
        .progress(observer)
        .await
        .unwrap();
    let manifest = source
        .pull_manifest("progress/source", pushed.descriptor.digest.as_str())
        .await
        .unwrap();
    let blobs: Vec<(Digest, u64)> = match manifest.parse().unwrap() {
        acr::manifest::ManifestKind::Image(m) => std::iter::once(&m.config)
            .chain(m.layers.iter())
            .map(|d| (d.digest.clone(), d.size))
            .collect(),
        other => panic!("an image manifest, not {other:?}"),
    };
    assert_eq!(blobs.len(), 3);
    check_blobs(&seen, &blobs, "in-memory push");

    // another client of the same endpoint, to another repository: streamed or mounted, each
    // blob ends at its size once
    let other = client(&emulator.endpoint());
    let (observer, seen) = recorder();
    let copied = source
        .copy_image("progress/source", "v1", "progress/copy", "v1")
        .to(&other)
        .progress(observer)
        .await
        .unwrap();
    assert_eq!(
        copied.blobs_transferred + copied.blobs_mounted,
        3,
        "{copied:?}"
    );
    check_blobs(&seen, &blobs, "copy");
}
