//! A real second client: Debian's `skopeo` against the real registry (`docker-registry`).
//!
//! * what we push (config + layers + OCI manifest, with `acr::Client`), `skopeo copy` copies out
//!   to an OCI layout whose blobs and manifest are byte-identical to ours;
//! * what `skopeo copy` pushes from an OCI layout we write on disk, we pull and verify (the digest
//!   of every blob and of the manifest);
//! * `skopeo inspect --raw` and `skopeo inspect` agree with our manifest digest.
//! * whole images (`acr::image`): an OCI layout written by our writer and pushed with
//!   `Client::push_image` comes out of `skopeo copy` with the same blob files, byte for byte; an
//!   image and a two-platform index that skopeo pushes, pulled with `Client::pull_image` into a
//!   layout, equal skopeo's own `oci:` copy (same blob files, same `index.json` entries).
//! * `Client::copy_image` of an index skopeo pushed, into a second registry: skopeo copies it out
//!   of there with the source layout's files, byte for byte.
//!
//! skopeo runs with `--policy` pointing at a temporary `insecureAcceptAnything` policy, and with
//! `--src-creds`/`--dest-creds`/`--creds` for the htpasswd flavour. Skips with a printed reason
//! when skopeo (or docker-registry) is absent, unless `REQUIRE_REAL_REGISTRY=1`: then it fails.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap (see notes/COMMON.md)

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use acr_tests::registry::{Flavour, REQUIRE_ENV, RealRegistry};
use common::image::{OCI_MANIFEST, TestImage};
use common::sha256;
use common::workflow::{assert_same_image, pull_image, push_image};
use serde_json::{Value, json};

/// skopeo and what it needs: its binary and a policy file.
struct Skopeo {
    bin: PathBuf,
    dir: tempfile::TempDir,
}

impl Skopeo {
    /// skopeo from `PATH`, or `None` after printing why (a failure under `REQUIRE_REAL_REGISTRY=1`).
    fn find() -> Option<Skopeo> {
        let bin = std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("skopeo"))
                .find(|candidate| candidate.is_file())
        });
        let Some(bin) = bin else {
            assert!(
                std::env::var(REQUIRE_ENV).map_or(true, |v| v != "1"),
                "{REQUIRE_ENV}=1 but skopeo is not installed (Debian: apt-get install skopeo)"
            );
            acr_tests::skip("skopeo not installed (Debian: apt-get install skopeo)");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("policy.json"),
            r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
        )
        .unwrap();
        Some(Skopeo { bin, dir })
    }

    /// Runs `skopeo --policy <ours> <args>` and returns its stdout; fails the test with its
    /// stderr when it fails.
    async fn run(&self, args: Vec<String>) -> Vec<u8> {
        let mut command = Command::new(&self.bin);
        command
            .arg("--policy")
            .arg(self.dir.path().join("policy.json"))
            .arg("--tmpdir")
            .arg(self.dir.path())
            .args(&args)
            // No user configuration (auth.json, registries.conf in $HOME) leaks in.
            .env("HOME", self.dir.path());
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .unwrap()
            .expect("skopeo runs");
        assert!(
            output.status.success(),
            "skopeo {args:?} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }
}

/// `--src-creds user:password` style arguments for `registry`, when it has credentials.
fn creds(flag: &str, registry: &RealRegistry) -> Vec<String> {
    registry
        .credentials()
        .map(|(user, password)| vec![flag.to_owned(), format!("{user}:{password}")])
        .unwrap_or_default()
}

/// `docker://127.0.0.1:PORT/<repo>:<tag>`.
fn docker_ref(registry: &RealRegistry, repo: &str, tag: &str) -> String {
    format!("docker://{}/{repo}:{tag}", registry.host())
}

/// The path of blob `digest` in the OCI layout at `dir`.
fn layout_blob(dir: &Path, digest: &str) -> PathBuf {
    let (algorithm, hex) = digest.split_once(':').unwrap();
    dir.join("blobs").join(algorithm).join(hex)
}

/// Writes `image` as an OCI image layout at `dir`, tagged `tag`.
fn write_layout(dir: &Path, image: &TestImage, tag: &str) {
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    std::fs::write(
        dir.join("oci-layout"),
        json!({"imageLayoutVersion": "1.0.0"}).to_string(),
    )
    .unwrap();
    for (digest, bytes) in image.blobs() {
        std::fs::write(layout_blob(dir, &digest), &bytes).unwrap();
    }
    std::fs::write(layout_blob(dir, &image.manifest_digest()), &image.manifest).unwrap();
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": OCI_MANIFEST,
            "digest": image.manifest_digest(),
            "size": image.manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }],
    });
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
}

/// Starts skopeo's and the registry's part of a test, or says why not.
async fn setup(flavour: Flavour) -> Option<(Skopeo, RealRegistry)> {
    let skopeo = Skopeo::find()?;
    let registry = common::start_registry(flavour).await?;
    Some((skopeo, registry))
}

#[tokio::test]
async fn skopeo_copies_out_what_we_push_byte_identical() {
    let Some((skopeo, registry)) = setup(Flavour::Open).await else {
        return;
    };
    let client = common::registry_client(&registry);
    let image = TestImage::new("skopeo/out", &[70 * 1024, 512]);
    let digest = push_image(&client, "e2e/skopeo-out", "v1", &image, 64 * 1024).await;

    let layout = tempfile::tempdir().unwrap();
    let target = format!("oci:{}:v1", layout.path().display());
    let mut args = vec![
        "copy".to_owned(),
        "--quiet".to_owned(),
        "--preserve-digests".to_owned(),
        "--src-tls-verify=false".to_owned(),
    ];
    args.extend(creds("--src-creds", &registry));
    args.push(docker_ref(&registry, "e2e/skopeo-out", "v1"));
    args.push(target);
    skopeo.run(args).await;

    // The layout's index names our manifest, whose bytes are ours; so are every blob's.
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.path().join("index.json")).unwrap()).unwrap();
    let entry = &index["manifests"][0];
    assert_eq!(entry["digest"], digest.as_str());
    assert_eq!(entry["mediaType"], OCI_MANIFEST);
    assert_eq!(
        entry["annotations"]["org.opencontainers.image.ref.name"],
        "v1"
    );
    let manifest = std::fs::read(layout_blob(layout.path(), digest.as_str())).unwrap();
    assert_eq!(manifest, image.manifest, "the manifest is byte-identical");
    for (blob_digest, bytes) in image.blobs() {
        let copied = std::fs::read(layout_blob(layout.path(), &blob_digest)).unwrap();
        assert_eq!(copied, bytes, "blob {blob_digest} is byte-identical");
    }
}

#[tokio::test]
async fn we_pull_and_verify_what_skopeo_pushes() {
    let Some((skopeo, registry)) = setup(common::htpasswd()).await else {
        return;
    };
    let image = TestImage::new("skopeo/in", &[3000, 100 * 1024]);
    let layout = tempfile::tempdir().unwrap();
    write_layout(layout.path(), &image, "v1");

    let mut args = vec![
        "copy".to_owned(),
        "--quiet".to_owned(),
        "--preserve-digests".to_owned(),
        "--dest-tls-verify=false".to_owned(),
    ];
    args.extend(creds("--dest-creds", &registry));
    args.push(format!("oci:{}:v1", layout.path().display()));
    args.push(docker_ref(&registry, "e2e/skopeo-in", "v1"));
    skopeo.run(args).await;

    // Our client (Basic credential) pulls it: every digest verified on the way, and every byte
    // is what skopeo read from our layout.
    let client = common::registry_client(&registry);
    let by_tag = pull_image(&client, "e2e/skopeo-in", "v1").await;
    assert_eq!(by_tag.manifest.digest.as_str(), image.manifest_digest());
    for (digest, bytes) in &by_tag.blobs {
        assert_eq!(&sha256(bytes), digest);
    }
    assert_same_image(&by_tag, &image);
    let by_digest = pull_image(&client, "e2e/skopeo-in", &image.manifest_digest()).await;
    assert_same_image(&by_digest, &image);
    // And the raw operation agrees on the digest header.
    let raw = client
        .get_manifest("e2e/skopeo-in", "v1")
        .accept(OCI_MANIFEST)
        .await
        .unwrap();
    assert_eq!(
        raw.docker_content_digest.map(|d| d.to_string()),
        Some(image.manifest_digest())
    );
}

#[tokio::test]
async fn skopeo_inspect_agrees_with_our_manifest_digest() {
    let Some((skopeo, registry)) = setup(common::htpasswd()).await else {
        return;
    };
    let client = common::registry_client(&registry);
    let image = TestImage::new("skopeo/inspect", &[1234, 4321]);
    let digest = push_image(&client, "e2e/skopeo-inspect", "v2", &image, 64 * 1024).await;
    let reference = docker_ref(&registry, "e2e/skopeo-inspect", "v2");

    let mut raw_args = vec![
        "inspect".to_owned(),
        "--raw".to_owned(),
        "--tls-verify=false".to_owned(),
    ];
    raw_args.extend(creds("--creds", &registry));
    raw_args.push(reference.clone());
    let raw = skopeo.run(raw_args).await;
    assert_eq!(
        sha256(&raw),
        digest.as_str(),
        "skopeo's raw manifest has our digest"
    );
    assert_eq!(raw, image.manifest);

    let mut args = vec!["inspect".to_owned(), "--tls-verify=false".to_owned()];
    args.extend(creds("--creds", &registry));
    args.push(reference);
    let inspected: Value = serde_json::from_slice(&skopeo.run(args).await).unwrap();
    assert_eq!(inspected["Digest"], digest.as_str());
    assert_eq!(inspected["Architecture"], "amd64");
    assert_eq!(inspected["Os"], "linux");
    let layers: Vec<&str> = inspected["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(layers, image.layer_digests());
    assert_eq!(inspected["Labels"]["e2e.seed"], "skopeo/inspect");
}

// ---- whole images: `acr::image` (OCI layout folders, `Client::push_image`, `pull_image`) ----

use acr::image::OciLayout;
use acr::manifest::{Descriptor, ImageIndex, Platform};
use std::collections::BTreeMap;

/// Writes `image` into `layout` with our own writer and tags its manifest `tag`; returns the
/// manifest's descriptor.
fn write_with_ours(layout: &OciLayout, image: &TestImage, tag: Option<&str>) -> Descriptor {
    for (_, bytes) in image.blobs() {
        layout.add_blob("application/octet-stream", &bytes).unwrap();
    }
    let descriptor = layout.add_blob(OCI_MANIFEST, &image.manifest).unwrap();
    if let Some(tag) = tag {
        layout.tag(tag, descriptor.clone()).unwrap();
    }
    descriptor
}

/// Every file under `dir/blobs`, by `<alg>/<hex>`, with its bytes (a leftover temporary file
/// shows up here too).
fn blob_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for alg in std::fs::read_dir(dir.join("blobs")).unwrap() {
        let alg = alg.unwrap();
        for file in std::fs::read_dir(alg.path()).unwrap() {
            let file = file.unwrap();
            out.insert(
                format!(
                    "{}/{}",
                    alg.file_name().to_string_lossy(),
                    file.file_name().to_string_lossy()
                ),
                std::fs::read(file.path()).unwrap(),
            );
        }
    }
    out
}

/// `skopeo copy [--all] <from> <to>` against `registry` (TLS off, its credentials both ways).
async fn skopeo_copy(
    skopeo: &Skopeo,
    registry: &RealRegistry,
    from: String,
    to: String,
    all: bool,
) {
    let mut args = vec![
        "copy".to_owned(),
        "--quiet".to_owned(),
        "--preserve-digests".to_owned(),
        "--src-tls-verify=false".to_owned(),
        "--dest-tls-verify=false".to_owned(),
    ];
    if all {
        args.push("--all".to_owned());
    }
    if from.starts_with("docker://") {
        args.extend(creds("--src-creds", registry));
    }
    if to.starts_with("docker://") {
        args.extend(creds("--dest-creds", registry));
    }
    args.push(from);
    args.push(to);
    skopeo.run(args).await;
}

#[tokio::test]
async fn push_image_from_our_layout_and_skopeo_copies_it_out_byte_identical() {
    let Some((skopeo, registry)) = setup(common::htpasswd()).await else {
        return;
    };
    let client = common::registry_client(&registry);
    let image = TestImage::new("image/push", &[200 * 1024, 3000, 17]);
    let source_dir = tempfile::tempdir().unwrap();
    let source = OciLayout::create(source_dir.path()).unwrap();
    write_with_ours(&source, &image, Some("v1"));

    let pushed = client
        .push_image("e2e/image-push", "v1", &source)
        .blobs_in_parallel(2)
        .await
        .unwrap();
    assert_eq!(pushed.descriptor.digest.as_str(), image.manifest_digest());
    assert_eq!((pushed.manifests, pushed.blobs_transferred), (1, 4));
    assert_eq!(
        pushed.blob_bytes,
        image
            .blobs()
            .iter()
            .map(|(_, b)| b.len() as u64)
            .sum::<u64>()
    );
    // Again: every blob is already there, so none is sent.
    let again = client
        .push_image("e2e/image-push", "v1", &source)
        .await
        .unwrap();
    assert_eq!(
        (
            again.blobs_transferred,
            again.blobs_skipped,
            again.blob_bytes
        ),
        (0, 4, 0)
    );

    let out = tempfile::tempdir().unwrap();
    skopeo_copy(
        &skopeo,
        &registry,
        docker_ref(&registry, "e2e/image-push", "v1"),
        format!("oci:{}:v1", out.path().display()),
        false,
    )
    .await;
    assert_eq!(
        blob_files(out.path()),
        blob_files(source_dir.path()),
        "skopeo's copy holds exactly our blobs and manifest, byte for byte"
    );
    let theirs = OciLayout::open(out.path())
        .unwrap()
        .resolve("v1")
        .unwrap()
        .unwrap();
    assert_eq!(theirs.digest.as_str(), image.manifest_digest());
}

#[tokio::test]
async fn pull_image_lands_what_skopeo_copies_in_the_same_layout() {
    let Some((skopeo, registry)) = setup(Flavour::Open).await else {
        return;
    };
    let client = common::registry_client(&registry);
    // The source: one image tagged v1, and a two-platform index tagged multi, written by us.
    let single = TestImage::new("image/pull/single", &[5000, 90 * 1024]);
    let amd64 = TestImage::new("image/pull/amd64", &[4096, 1]);
    let arm64 = TestImage::new("image/pull/arm64", &[70 * 1024]);
    let source_dir = tempfile::tempdir().unwrap();
    let source = OciLayout::create(source_dir.path()).unwrap();
    write_with_ours(&source, &single, Some("v1"));
    let index = ImageIndex::new(vec![
        write_with_ours(&source, &amd64, None).with_platform(Platform::new("linux", "amd64")),
        write_with_ours(&source, &arm64, None).with_platform(Platform::new("linux", "arm64")),
    ]);
    let index_bytes = index.to_bytes();
    let index_descriptor = source
        .add_blob(acr::manifest::OCI_INDEX, &index_bytes)
        .unwrap();
    source.tag("multi", index_descriptor.clone()).unwrap();
    for (tag, all) in [("v1", false), ("multi", true)] {
        skopeo_copy(
            &skopeo,
            &registry,
            format!("oci:{}:{tag}", source_dir.path().display()),
            docker_ref(&registry, "e2e/image-pull", tag),
            all,
        )
        .await;
    }

    let ours = tempfile::tempdir().unwrap();
    let theirs = tempfile::tempdir().unwrap();
    let one = client
        .pull_image("e2e/image-pull", "v1")
        .to_layout(ours.path())
        .await
        .unwrap();
    assert_eq!((one.manifests, one.blobs_transferred), (1, 3));
    let multi = client
        .pull_image("e2e/image-pull", "multi")
        .to_layout(ours.path())
        .blobs_in_parallel(1)
        .await
        .unwrap();
    assert_eq!(multi.descriptor.digest, index_descriptor.digest);
    assert_eq!((multi.manifests, multi.blobs_transferred), (3, 5));
    // Pulled again into the same layout: nothing to download.
    let again = client
        .pull_image("e2e/image-pull", "multi")
        .to_layout(ours.path())
        .await
        .unwrap();
    assert_eq!((again.blobs_transferred, again.blobs_skipped), (0, 5));
    for (tag, all) in [("v1", false), ("multi", true)] {
        skopeo_copy(
            &skopeo,
            &registry,
            docker_ref(&registry, "e2e/image-pull", tag),
            format!("oci:{}:{tag}", theirs.path().display()),
            all,
        )
        .await;
    }

    let ours_blobs = blob_files(ours.path());
    assert_eq!(
        ours_blobs,
        blob_files(theirs.path()),
        "same blobs and manifest bytes"
    );
    assert_eq!(
        ours_blobs,
        blob_files(source_dir.path()),
        "and they are the source's"
    );
    let (ours, theirs) = (
        OciLayout::open(ours.path()).unwrap(),
        OciLayout::open(theirs.path()).unwrap(),
    );
    for tag in ["v1", "multi"] {
        let a = ours.resolve(tag).unwrap().unwrap();
        let b = theirs.resolve(tag).unwrap().unwrap();
        assert_eq!(
            (&a.media_type, &a.digest, a.size),
            (&b.media_type, &b.digest, b.size),
            "{tag}"
        );
    }
    // And push_image reads a layout skopeo wrote: the index and both children, to a new
    // repository, where every blob is sent again.
    let repushed = client
        .push_image("e2e/image-repush", "multi", &theirs)
        .await
        .unwrap();
    assert_eq!(repushed.descriptor.digest, index_descriptor.digest);
    assert_eq!((repushed.manifests, repushed.blobs_transferred), (3, 5));
}

#[tokio::test]
async fn skopeo_copies_out_what_copy_image_brought_to_a_second_registry() {
    let Some(skopeo) = Skopeo::find() else {
        return;
    };
    let Some(a) = common::start_registry(Flavour::Open).await else {
        return;
    };
    let Some(b) = common::start_registry(common::htpasswd()).await else {
        return;
    };
    // A two-platform index written by us, pushed to the first registry by skopeo.
    let amd64 = TestImage::new("image/copy/amd64", &[3000, 40 * 1024]);
    let arm64 = TestImage::new("image/copy/arm64", &[80 * 1024]);
    let source_dir = tempfile::tempdir().unwrap();
    let source = OciLayout::create(source_dir.path()).unwrap();
    let index = ImageIndex::new(vec![
        write_with_ours(&source, &amd64, None).with_platform(Platform::new("linux", "amd64")),
        write_with_ours(&source, &arm64, None).with_platform(Platform::new("linux", "arm64")),
    ]);
    let index_descriptor = source
        .add_blob(acr::manifest::OCI_INDEX, &index.to_bytes())
        .unwrap();
    source.tag("multi", index_descriptor.clone()).unwrap();
    skopeo_copy(
        &skopeo,
        &a,
        format!("oci:{}:multi", source_dir.path().display()),
        docker_ref(&a, "e2e/copy", "multi"),
        true,
    )
    .await;

    // Copied by us into the second registry (which wants a password)...
    let copied = common::registry_client(&a)
        .copy_image("e2e/copy", "multi", "e2e/copied", "multi")
        .to(&common::registry_client(&b))
        .await
        .unwrap();
    assert_eq!(copied.descriptor.digest, index_descriptor.digest);
    assert_eq!((copied.manifests, copied.blobs_transferred), (3, 5));

    // ...and copied out of it by skopeo: the source's files, byte for byte, under the same tag.
    let out = tempfile::tempdir().unwrap();
    skopeo_copy(
        &skopeo,
        &b,
        docker_ref(&b, "e2e/copied", "multi"),
        format!("oci:{}:multi", out.path().display()),
        true,
    )
    .await;
    assert_eq!(blob_files(out.path()), blob_files(source_dir.path()));
    let theirs = OciLayout::open(out.path())
        .unwrap()
        .resolve("multi")
        .unwrap()
        .unwrap();
    assert_eq!(theirs.digest, index_descriptor.digest);
}
