//! `Client::copy_image` and in-memory images (`acr::image::Image`) against real registries
//! (Debian's `docker-registry`, two processes for copies between registries) and the ACR
//! emulator (the referrers API):
//!
//! * within one registry every blob is mounted (the report counts the registry's `201`
//!   answers to the mount requests, and no blob byte is sent); a second copy skips every blob;
//! * between two registries, a two-platform index comes over whole (pulled back, its blob files
//!   equal the source layout's), or as the one image of a chosen platform; tags kept;
//! * referrers come along when asked: through the referrers tag schema on `docker-registry`
//!   (which has no referrers API) and through the API on the emulator;
//! * peak memory: an image with a 256 MiB layer copied between two registries in a child
//!   process whose peak RSS (`VmHWM`) stays under a bound, so no layer is ever buffered whole.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use acr::discovery::{ReferrersSource, referrers_tag};
use acr::image::{Image, OciLayout};
use acr::manifest::{Descriptor, ImageIndex, OCI_EMPTY, OCI_INDEX, Platform};
use acr::{Client, Reference, RepositoryName};
use acr_tests::registry::Flavour;
use acr_tests::transfers::{Transfers as _, UploadOptions};
use common::image::pseudo_random;
use common::{emulator_client, registry_client, start_emulator, start_registry};
use futures_util::TryStreamExt as _;

const SBOM: &str = "application/vnd.example.sbom.v1";
const SIGNATURE: &str = "application/vnd.example.signature.v1";

/// An image of layers of `sizes` bytes, all derived from `seed`.
fn image(seed: &str, sizes: &[usize]) -> Image {
    let config = format!(r#"{{"architecture":"amd64","os":"linux","seed":"{seed}"}}"#);
    sizes
        .iter()
        .enumerate()
        .fold(Image::new(config), |image, (i, size)| {
            image.layer(pseudo_random(&format!("{seed}/{i}"), *size))
        })
}

/// Writes `image` (blobs and manifest) into `layout`; returns the manifest's descriptor.
fn write_image(layout: &OciLayout, image: &Image) -> Descriptor {
    for (descriptor, bytes) in image.blobs() {
        layout.write_blob(&descriptor.digest, bytes).unwrap();
    }
    let descriptor = image.descriptor();
    layout
        .write_blob(&descriptor.digest, &image.manifest_bytes())
        .unwrap();
    descriptor
}

/// Every file under `dir/blobs` by `<alg>/<hex>`, with its bytes.
fn blob_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for alg in std::fs::read_dir(dir.join("blobs")).unwrap() {
        let alg = alg.unwrap();
        for file in std::fs::read_dir(alg.path()).unwrap() {
            let file = file.unwrap();
            let name = format!(
                "{}/{}",
                alg.file_name().to_string_lossy(),
                file.file_name().to_string_lossy()
            );
            out.insert(name, std::fs::read(file.path()).unwrap());
        }
    }
    out
}

async fn tags(client: &Client, repository: &str) -> Vec<String> {
    let mut tags: Vec<String> = client
        .list_tags(repository)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    tags.sort();
    tags
}

#[tokio::test]
async fn an_in_memory_image_pushes_and_copies_within_a_registry_by_mount() {
    let Some(registry) = start_registry(Flavour::Open).await else {
        return;
    };
    let client = registry_client(&registry);
    let image = image("copy/mount", &[3000, 70 * 1024, 1]);
    let pushed = client.push_image("copy/src", "v1", &image).await.unwrap();
    assert_eq!(pushed.descriptor.digest, image.digest());
    assert_eq!((pushed.manifests, pushed.blobs_transferred), (1, 4));

    let copied = client
        .copy_image("copy/src", "v1", "copy/dst", "v1")
        .await
        .unwrap();
    assert_eq!(copied.descriptor.digest, image.digest());
    assert_eq!(
        (
            copied.manifests,
            copied.blobs_mounted,
            copied.blobs_transferred,
            copied.blob_bytes
        ),
        (1, 4, 0, 0),
        "every blob mounted, none sent"
    );
    assert_eq!(tags(&client, "copy/dst").await, ["v1"]);

    // The copy is whole: pulled (verified) from the destination repository.
    let dir = tempfile::tempdir().unwrap();
    let pulled = client
        .pull_image("copy/dst", "v1")
        .to_layout(dir.path())
        .await
        .unwrap();
    assert_eq!((pulled.manifests, pulled.blobs_transferred), (1, 4));
    let layout = OciLayout::open(dir.path()).unwrap();
    for (descriptor, bytes) in image.blobs() {
        assert_eq!(layout.read_blob(&descriptor.digest).unwrap(), bytes);
    }

    // Again, under another tag: the destination holds every blob.
    let again = client
        .copy_image("copy/src", "v1", "copy/dst", "v2")
        .await
        .unwrap();
    assert_eq!(
        (
            again.blobs_skipped,
            again.blobs_mounted,
            again.blobs_transferred
        ),
        (4, 0, 0)
    );
    assert_eq!(tags(&client, "copy/dst").await, ["v1", "v2"]);
    // A bad name fails before any request.
    let bad = client
        .copy_image("copy/src", "v1", "Bad/Name", "v1")
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("Bad/Name"), "{bad}");
}

#[tokio::test]
async fn a_refused_mount_falls_back_to_streaming_the_blob() {
    use acr_tests::emulator::Fault;
    let emulator = start_emulator().await;
    let client = emulator_client(&emulator);
    let image = image("copy/refused", &[5000, 60 * 1024]);
    client.push_image("copy/src", "v1", &image).await.unwrap();
    // Every mount request into copy/dst is refused (the mount and the plain upload session
    // alternate, one blob at a time).
    emulator.inject(
        Fault::on("POST", "/v2/copy/dst/blobs/uploads/*")
            .every(2)
            .times(3)
            .fail_with(403),
    );
    let copied = client
        .copy_image("copy/src", "v1", "copy/dst", "v1")
        .blobs_in_parallel(1)
        .await
        .unwrap();
    assert_eq!(
        (copied.blobs_mounted, copied.blobs_transferred),
        (0, 3),
        "each refused mount became a streamed upload"
    );
    let log = emulator.log();
    let mounts: Vec<u16> = log
        .iter()
        .filter(|r| r.method == "POST" && r.query.as_deref().is_some_and(|q| q.contains("mount=")))
        .map(|r| r.status)
        .collect();
    assert_eq!(mounts, [403, 403, 403], "three mounts tried, all refused");
    for (descriptor, bytes) in image.blobs() {
        assert_eq!(
            emulator
                .blob("copy/dst", descriptor.digest.as_str())
                .as_ref(),
            Some(bytes)
        );
    }
}

/// Two registries, a two-platform index tagged `multi` in the first's `copy/multi`, written
/// from `source` (a layout); returns the clients and the children's descriptors.
async fn two_registries_with_an_index(
    source: &OciLayout,
) -> Option<(
    acr_tests::registry::RealRegistry,
    acr_tests::registry::RealRegistry,
    Client,
    Client,
    Vec<Descriptor>,
)> {
    let a = start_registry(Flavour::Open).await?;
    let b = start_registry(common::htpasswd()).await?;
    let (ca, cb) = (registry_client(&a), registry_client(&b));
    let amd64 = image("copy/amd64", &[4096, 20 * 1024]);
    let arm64 = image("copy/arm64", &[90 * 1024]);
    let children = vec![
        write_image(source, &amd64).with_platform(Platform::new("linux", "amd64")),
        write_image(source, &arm64)
            .with_platform(Platform::new("linux", "arm64").with_variant("v8")),
    ];
    let index = ImageIndex::new(children.clone()).to_bytes();
    let descriptor = source.add_blob(OCI_INDEX, &index).unwrap();
    source.tag("multi", descriptor).unwrap();
    let pushed = ca.push_image("copy/multi", "multi", source).await.unwrap();
    assert_eq!((pushed.manifests, pushed.blobs_transferred), (3, 5));
    Some((a, b, ca, cb, children))
}

#[tokio::test]
async fn a_multi_arch_index_copies_between_two_registries_whole_or_one_platform() {
    let source_dir = tempfile::tempdir().unwrap();
    let source = OciLayout::create(source_dir.path()).unwrap();
    let Some((_a, _b, ca, cb, children)) = two_registries_with_an_index(&source).await else {
        return;
    };
    let index_digest = source.resolve("multi").unwrap().unwrap().digest;

    let all = ca
        .copy_image("copy/multi", "multi", "mirror/multi", "multi")
        .to(&cb)
        .blobs_in_parallel(2)
        .await
        .unwrap();
    assert_eq!(all.descriptor.digest, index_digest);
    assert_eq!(
        (all.manifests, all.blobs_transferred, all.blobs_mounted),
        (3, 5, 0),
        "the index, both images and their five blobs, streamed"
    );
    let layer_bytes: u64 = blob_files(source_dir.path())
        .iter()
        .filter(|(name, _)| {
            children.iter().all(|c| !name.ends_with(c.digest.encoded()))
                && !name.ends_with(index_digest.encoded())
        })
        .map(|(_, bytes)| bytes.len() as u64)
        .sum();
    assert_eq!(all.blob_bytes, layer_bytes, "each blob sent once");
    assert_eq!(
        tags(&cb, "mirror/multi").await,
        ["multi"],
        "the tag is kept"
    );

    // Pulled back from the second registry: the source layout's files, byte for byte.
    let out = tempfile::tempdir().unwrap();
    cb.pull_image("mirror/multi", "multi")
        .to_layout(out.path())
        .await
        .unwrap();
    assert_eq!(blob_files(out.path()), blob_files(source_dir.path()));

    // Again: nothing to send.
    let again = ca
        .copy_image("copy/multi", "multi", "mirror/multi", "multi")
        .to(&cb)
        .await
        .unwrap();
    assert_eq!((again.blobs_transferred, again.blobs_skipped), (0, 5));

    // One platform: the arm64 image alone, tagged in the index's place.
    let one = ca
        .copy_image("copy/multi", "multi", "mirror/arm64", "latest")
        .to(&cb)
        .platform(Platform::new("linux", "arm64"))
        .await
        .unwrap();
    assert_eq!(one.descriptor.digest, children[1].digest);
    assert_eq!((one.manifests, one.blobs_transferred), (1, 2));
    let repo = RepositoryName::new("mirror/arm64").unwrap();
    let there = cb
        .transport()
        .get_manifest(&repo, &Reference::new("latest").unwrap())
        .await
        .unwrap();
    assert_eq!(there.digest, children[1].digest);
    let missing = cb
        .transport()
        .get_manifest(&repo, &Reference::from(&children[0].digest))
        .await
        .unwrap_err();
    assert!(missing.is_not_found(), "{missing}");

    // By digest: the chosen image's digest names it; another digest is refused before any
    // manifest is put.
    let by_digest = ca
        .copy_image("copy/multi", "multi", "mirror/digest", &children[0].digest)
        .to(&cb)
        .platform(Platform::new("linux", "amd64"))
        .await
        .unwrap();
    assert_eq!(by_digest.descriptor.digest, children[0].digest);
    let wrong = ca
        .copy_image("copy/multi", "multi", "mirror/digest", &children[1].digest)
        .to(&cb)
        .platform(Platform::new("linux", "amd64"))
        .await
        .unwrap_err();
    assert!(wrong.to_string().contains("not the digest"), "{wrong}");

    // A platform the index lacks: a clear error naming what it holds.
    let err = ca
        .copy_image("copy/multi", "multi", "mirror/s390x", "latest")
        .to(&cb)
        .platform(Platform::new("linux", "s390x"))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("linux/s390x") && text.contains("linux/amd64, linux/arm64/v8"),
        "{text}"
    );
}

/// Pushes an image and two artifacts referring to it (an SBOM and a signature) to
/// `repository`; returns the subject and the artifacts.
async fn image_with_referrers(client: &Client, repository: &str) -> (Image, Vec<Image>) {
    let subject = image(&format!("{repository}/subject"), &[500, 300]);
    client.push_image(repository, "v1", &subject).await.unwrap();
    let mut artifacts = Vec::new();
    for (kind, body) in [(SBOM, "an sbom"), (SIGNATURE, "a signature")] {
        let artifact = Image::with_config(OCI_EMPTY, "{}")
            .layer_of(kind, body)
            .artifact_type(kind)
            .subject(subject.descriptor());
        client
            .push_image(repository, &artifact.digest(), &artifact)
            .await
            .unwrap();
        artifacts.push(artifact);
    }
    (subject, artifacts)
}

#[tokio::test]
async fn referrers_come_along_through_the_tag_schema_between_two_registries() {
    let Some(a) = start_registry(Flavour::Open).await else {
        return;
    };
    let Some(b) = start_registry(Flavour::Open).await else {
        return;
    };
    let (ca, cb) = (registry_client(&a), registry_client(&b));
    let (subject, artifacts) = image_with_referrers(&ca, "copy/signed").await;
    // distribution 2.8 has no referrers API: the pushing client keeps the tag schema index.
    let index = ImageIndex::new(
        artifacts
            .iter()
            .map(|a| {
                let kind = a.manifest().artifact_type.clone().unwrap();
                a.descriptor().with_artifact_type(kind)
            })
            .collect(),
    );
    ca.create_manifest(
        "copy/signed",
        referrers_tag(&subject.digest()).as_str(),
        index.to_bytes(),
        OCI_INDEX,
    )
    .await
    .unwrap();

    // Without referrers: none arrive.
    let plain = ca
        .copy_image("copy/signed", "v1", "plain/signed", "v1")
        .to(&cb)
        .await
        .unwrap();
    assert_eq!((plain.referrers, plain.manifests), (0, 1));
    let none = cb
        .referrers("plain/signed", &subject.digest())
        .await
        .unwrap();
    assert_eq!(
        (none.source, none.manifests.len()),
        (ReferrersSource::None, 0)
    );

    let copied = ca
        .copy_image("copy/signed", "v1", "mirror/signed", "v1")
        .to(&cb)
        .with_referrers(true)
        .await
        .unwrap();
    assert_eq!(copied.referrers, 2);
    assert_eq!(copied.manifests, 3, "the image and both artifacts");
    let found = cb
        .referrers("mirror/signed", &subject.digest())
        .await
        .unwrap();
    assert_eq!(found.source, ReferrersSource::TagSchema);
    let mut digests: Vec<_> = found.manifests.iter().map(|d| d.digest.clone()).collect();
    let mut wanted: Vec<_> = artifacts.iter().map(Image::digest).collect();
    digests.sort();
    wanted.sort();
    assert_eq!(digests, wanted);
    let sboms = cb
        .referrers("mirror/signed", &subject.digest())
        .artifact_type(SBOM)
        .await
        .unwrap();
    assert_eq!(sboms.manifests.len(), 1);
    // Copied again: the tag index is not duplicated.
    ca.copy_image("copy/signed", "v1", "mirror/signed", "v1")
        .to(&cb)
        .with_referrers(true)
        .await
        .unwrap();
    let found = cb
        .referrers("mirror/signed", &subject.digest())
        .await
        .unwrap();
    assert_eq!(found.manifests.len(), 2);
}

#[tokio::test]
async fn referrers_come_along_through_the_api_on_the_emulator() {
    let emulator = start_emulator().await;
    let client = emulator_client(&emulator);
    let (subject, artifacts) = image_with_referrers(&client, "copy/signed").await;
    let copied = client
        .copy_image("copy/signed", "v1", "copy/mirror", "v1")
        .with_referrers(true)
        .await
        .unwrap();
    assert_eq!((copied.referrers, copied.manifests), (2, 3));
    assert_eq!(copied.blobs_transferred, 0, "within one registry: mounted");
    // The image's 3 blobs and each artifact's layer are mounted; the artifacts share the
    // empty config, mounted once and then found there.
    assert_eq!((copied.blobs_mounted, copied.blobs_skipped), (6, 1));
    let found = client
        .referrers("copy/mirror", &subject.digest())
        .await
        .unwrap();
    assert_eq!(found.source, ReferrersSource::Api);
    assert_eq!(found.manifests.len(), artifacts.len());
    let tag = referrers_tag(&subject.digest());
    assert!(
        !tags(&client, "copy/mirror").await.contains(&tag),
        "a registry with the API gets no referrers tag"
    );
}

#[tokio::test]
async fn a_copy_between_registries_survives_cut_connections_on_both_sides() {
    use acr_tests::fault_proxy::{Cut, FaultProxy};
    let Some(a) = start_registry(Flavour::Open).await else {
        return;
    };
    let Some(b) = start_registry(Flavour::Open).await else {
        return;
    };
    let image = image("copy/faults", &[3 << 20]);
    registry_client(&a)
        .push_image("copy/faults", "v1", &image)
        .await
        .unwrap();
    let addr = |endpoint: String| -> std::net::SocketAddr {
        endpoint.trim_start_matches("http://").parse().unwrap()
    };
    // The source's answers are cut once after 1 MiB (the download resumes with `Range`); the
    // destination's requests once after 1.5 MiB, inside the second 1 MiB chunk (the upload
    // recovers, and the source blob is read again from where the registry needs it).
    let down = FaultProxy::start(addr(a.endpoint()), Cut::downstream_after(1 << 20))
        .await
        .unwrap();
    let up = FaultProxy::start(addr(b.endpoint()), Cut::upstream_after(3 << 19))
        .await
        .unwrap();
    let source = Client::builder(down.endpoint()).build().unwrap();
    let target = Client::builder(up.endpoint())
        .chunk_size(1 << 20)
        .build()
        .unwrap();
    let copied = source
        .copy_image("copy/faults", "v1", "copy/faults", "v1")
        .to(&target)
        .blobs_in_parallel(1)
        .await
        .unwrap();
    assert_eq!((down.cuts(), up.cuts()), (1, 1), "both faults happened");
    assert!(
        down.bytes_downstream() > (3 << 20) + (1 << 20),
        "the source blob was read again after the upload lost its session: {} bytes down",
        down.bytes_downstream()
    );
    assert_eq!(copied.blobs_transferred, 2);
    let sizes: u64 = image.blobs().map(|(d, _)| d.size).sum();
    assert!(
        copied.blob_bytes > sizes,
        "the cut chunk was sent again: {} bytes for {sizes}",
        copied.blob_bytes
    );
    // What arrived is the image, verified on the way out.
    let dir = tempfile::tempdir().unwrap();
    registry_client(&b)
        .pull_image("copy/faults", "v1")
        .to_layout(dir.path())
        .await
        .unwrap();
    let layout = OciLayout::open(dir.path()).unwrap();
    for (descriptor, bytes) in image.blobs() {
        assert_eq!(layout.read_blob(&descriptor.digest).unwrap(), bytes);
    }
}

/// Flips one byte in the middle of blob `digest`'s file in `registry`'s storage
/// (`docker-registry`'s filesystem layout), so that it serves bytes that do not match it.
fn corrupt_stored_blob(registry: &acr_tests::registry::RealRegistry, digest: &acr::Digest) {
    let data = registry.stored_blob(digest.as_ref());
    let mut bytes = std::fs::read(&data).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&data, bytes).unwrap();
}

#[tokio::test]
async fn a_source_blob_that_does_not_match_its_digest_is_never_completed_at_the_destination() {
    let Some(a) = start_registry(Flavour::Open).await else {
        return;
    };
    let Some(b) = start_registry(Flavour::Open).await else {
        return;
    };
    let source = registry_client(&a);
    // Both ways a streamed upload goes: a 3 MiB layer in one request, a 9 MiB layer in
    // three 4 MiB chunks; neither is hashed by the upload (the download checks it).
    let target = Client::builder(b.endpoint())
        .chunk_size(4 << 20)
        .build()
        .unwrap();
    for (repository, size) in [
        ("copy/corrupt-one", 3 << 20),
        ("copy/corrupt-chunks", 9 << 20),
    ] {
        let image = image(repository, &[size]);
        source.push_image(repository, "v1", &image).await.unwrap();
        let layer = image
            .blobs()
            .map(|(d, _)| d.clone())
            .find(|d| d.size == size as u64)
            .unwrap();
        corrupt_stored_blob(&a, &layer.digest);
        let err = source
            .copy_image(repository, "v1", repository, "v1")
            .to(&target)
            .await
            .expect_err("a copy of a blob that does not match its digest");
        let mut message = err.to_string();
        let mut cause = std::error::Error::source(&err);
        while let Some(c) = cause {
            message.push_str(&format!(": {c}"));
            cause = c.source();
        }
        let message = message.to_lowercase();
        // the download's own check stopped it, before the registry saw the last byte
        assert!(
            message.contains("pull_blob: digest mismatch"),
            "{repository}: {message}"
        );
        let repo = RepositoryName::new(repository).unwrap();
        let held = target.check_blob_exists(&repo, &layer.digest).await;
        assert!(
            held.as_ref().is_err_and(|e| e.is_not_found()),
            "{repository}: the destination must not hold the blob: {held:?}"
        );
        let listed: Result<Vec<String>, _> = target
            .list_tags(repository)
            .into_stream()
            .try_collect()
            .await;
        assert!(
            listed.as_ref().is_ok_and(Vec::is_empty)
                || listed.as_ref().is_err_and(|e| e.is_not_found()),
            "{repository}: no manifest is pushed after a failed blob: {listed:?}"
        );
    }
}

// ---- peak memory: a 256 MiB layer between two registries, in a child process ----

/// The environment variables that carry the registries to the child.
const CHILD_SOURCE: &str = "ACR_COPY_CHILD_SOURCE";
const CHILD_TARGET: &str = "ACR_COPY_CHILD_TARGET";
/// The layer size.
const BIG: u64 = 256 * 1024 * 1024;
/// The bound on the child's peak RSS, in KiB: twice the measured peak (31 MiB in a debug
/// build, the test binary included, with the default 16 MiB upload chunk), a sixth of the
/// layer. A copy that buffered the layer would need more than 256 MiB.
const PEAK_RSS_BOUND_KIB: u64 = 64 * 1024;

/// The child: copies `big/image:v1` from the source registry to the target and prints its
/// peak RSS. Run only by [`a_256_mib_layer_copies_between_registries_in_bounded_memory`].
#[tokio::test]
#[ignore = "the child process of a_256_mib_layer_copies_between_registries_in_bounded_memory"]
async fn copy_child_process() {
    let (Ok(source), Ok(target)) = (std::env::var(CHILD_SOURCE), std::env::var(CHILD_TARGET))
    else {
        panic!("run by the peak-memory test, with {CHILD_SOURCE} and {CHILD_TARGET} set");
    };
    let source = Client::builder(source).build().unwrap();
    let target = Client::builder(target).build().unwrap();
    let copied = source
        .copy_image("big/image", "v1", "big/copy", "v1")
        .to(&target)
        .await
        .unwrap();
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let peak = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .expect("VmHWM in /proc/self/status");
    println!(
        "copied blob_bytes={} peak_rss_kib={}",
        copied.blob_bytes,
        peak.trim().trim_end_matches("kB").trim()
    );
}

#[tokio::test]
async fn a_256_mib_layer_copies_between_registries_in_bounded_memory() {
    if !Path::new("/proc/self/status").exists() {
        acr_tests::skip("no /proc/self/status (peak RSS is read from VmHWM)");
        return;
    }
    let Some(a) = start_registry(Flavour::Open).await else {
        return;
    };
    let Some(b) = start_registry(Flavour::Open).await else {
        return;
    };
    let source = registry_client(&a);
    // The layer goes up from a file, so this process never holds it either.
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("layer");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut written = 0;
    while written < BIG {
        let piece = pseudo_random(&format!("big/{written}"), 1 << 20);
        file.write_all(&piece).unwrap();
        written += piece.len() as u64;
    }
    file.flush().unwrap();
    drop(file);
    let repo = RepositoryName::new("big/image").unwrap();
    let layer = source
        .transport()
        .upload_blob(
            &repo,
            acr::blob::UploadSource::path(&path),
            UploadOptions::default(),
        )
        .await
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    source
        .push_image("big/image", "config", &Image::new(&config[..]))
        .await
        .unwrap();
    let manifest = acr::manifest::ImageManifest::new(
        Descriptor::of(acr::manifest::OCI_CONFIG, config),
        vec![Descriptor::new(
            acr::manifest::OCI_LAYER_TAR,
            layer.digest.clone(),
            BIG,
        )],
    );
    source
        .transport()
        .put_manifest(
            &repo,
            &Reference::new("v1").unwrap(),
            manifest.to_bytes(),
            manifest.media_type(),
        )
        .await
        .unwrap();

    let exe = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new(exe);
    child
        .args([
            "--exact",
            "copy_child_process",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_SOURCE, a.endpoint())
        .env(CHILD_TARGET, b.endpoint());
    let output = tokio::task::spawn_blocking(move || child.output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let field = |name: &str| -> u64 {
        stdout
            .split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .unwrap_or_else(|| panic!("{name} in the child's output: {stdout}"))
            .parse()
            .unwrap()
    };
    let peak = field("peak_rss_kib=");
    assert_eq!(field("blob_bytes="), BIG + config.len() as u64);
    eprintln!("copy_image of a 256 MiB layer: child peak RSS {peak} KiB");
    assert!(
        peak < PEAK_RSS_BOUND_KIB,
        "peak RSS {peak} KiB, bound {PEAK_RSS_BOUND_KIB} KiB"
    );
    // The layer is in the second registry, whole.
    let info = registry_client(&b)
        .transport()
        .blob_exists(&RepositoryName::new("big/copy").unwrap(), &layer.digest)
        .await
        .unwrap()
        .expect("the layer was copied");
    assert_eq!(info.size, Some(BIG));
}
