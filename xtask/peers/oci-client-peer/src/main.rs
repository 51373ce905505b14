//! A peer for `cargo xtask bench`: the `oci-client` crate moving blobs and images against a
//! registry on plain http, anonymous, the way its documentation shows, with its defaults
//! (chunked pushes of 4 MiB, 16 blobs at once).
//!
//! ```text
//! oci-client-peer blob-push  HOST:PORT FILE REPO          # prints the digest
//! oci-client-peer blob-pull  HOST:PORT REPO DIGEST FILE   # digest verified by oci-client
//! oci-client-peer image-push HOST:PORT DIR REPO:TAG       # DIR: an OCI image layout
//! oci-client-peer image-pull HOST:PORT REPO:TAG DIR       # into an OCI image layout
//! ```
//!
//! - `blob-push` streams the file through `push_blob_stream_chunked` (the digest computed on
//!   the way, as ours does), in 4 MiB pieces read from the file;
//! - `blob-pull` is `pull_blob` into a file (it verifies the digest; no fsync);
//! - `image-push` is `Client::push` with the layout's manifest (its layers read into memory:
//!   that API takes them as bytes), 16 blobs at once;
//! - `image-pull` pulls the manifest, then the config and layers with `pull_blob` into the
//!   layout's files, 16 at once, as `Client::pull` does (which keeps them in memory instead).

use std::error::Error;
use std::path::{Path, PathBuf};

use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::manifest::{OCI_IMAGE_MEDIA_TYPE, OciDescriptor, OciImageManifest};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use sha2::Digest as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

/// oci-client's push chunk (its `PUSH_CHUNK_MAX_SIZE`).
const CHUNK: usize = 4 << 20;

fn client() -> Client {
    Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..ClientConfig::default()
    })
}

fn reference(host: &str, repo: &str) -> Result<Reference> {
    let text = if repo.contains(':') || repo.contains('@') {
        format!("{host}/{repo}")
    } else {
        format!("{host}/{repo}:latest")
    };
    Ok(text.parse()?)
}

fn blob_path(dir: &Path, digest: &str) -> PathBuf {
    let (alg, hex) = digest.split_once(':').unwrap_or(("sha256", digest));
    dir.join("blobs").join(alg).join(hex)
}

async fn blob_push(host: &str, file: &str, repo: &str) -> Result<()> {
    let client = client();
    let image = reference(host, repo)?;
    client
        .store_auth_if_needed(image.resolve_registry(), &RegistryAuth::Anonymous)
        .await;
    let file = tokio::fs::File::open(file).await?;
    // Whole 4 MiB pieces: push_blob_stream_chunked sends each stream item as its own PATCH.
    let pieces = stream::try_unfold(file, |mut file| async move {
        let mut buf = vec![0u8; CHUNK];
        let mut filled = 0;
        while filled < CHUNK {
            let n = file.read(&mut buf[filled..]).await?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            return Ok::<_, oci_client::errors::OciDistributionError>(None);
        }
        buf.truncate(filled);
        Ok(Some((bytes::Bytes::from(buf), file)))
    });
    let pushed = client.push_blob_stream_chunked(&image, pieces).await?;
    println!("{}", pushed.blob_digest);
    Ok(())
}

async fn blob_pull(host: &str, repo: &str, digest: &str, file: &str) -> Result<()> {
    let client = client();
    let image = reference(host, repo)?;
    client
        .store_auth_if_needed(image.resolve_registry(), &RegistryAuth::Anonymous)
        .await;
    let out = tokio::fs::File::create(file).await?;
    let descriptor = OciDescriptor {
        digest: digest.to_owned(),
        ..OciDescriptor::default()
    };
    client.pull_blob(&image, &descriptor, out).await?;
    Ok(())
}

/// The manifest the layout's index.json names first: (its bytes, parsed).
fn layout_manifest(dir: &Path) -> Result<(Vec<u8>, OciImageManifest)> {
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("index.json"))?)?;
    let digest = index["manifests"][0]["digest"]
        .as_str()
        .ok_or("index.json names no manifest")?;
    let bytes = std::fs::read(blob_path(dir, digest))?;
    let manifest = serde_json::from_slice(&bytes)?;
    Ok((bytes, manifest))
}

async fn image_push(host: &str, dir: &str, target: &str) -> Result<()> {
    let dir = Path::new(dir);
    let (_, manifest) = layout_manifest(dir)?;
    let mut layers = Vec::new();
    for layer in &manifest.layers {
        let data = tokio::fs::read(blob_path(dir, &layer.digest)).await?;
        layers.push(ImageLayer::new(
            data,
            layer.media_type.clone(),
            layer.annotations.clone(),
        ));
    }
    let config = Config::new(
        tokio::fs::read(blob_path(dir, &manifest.config.digest)).await?,
        manifest.config.media_type.clone(),
        None,
    );
    let image = reference(host, target)?;
    client()
        .push(
            &image,
            &layers,
            config,
            &RegistryAuth::Anonymous,
            Some(manifest),
        )
        .await?;
    Ok(())
}

async fn image_pull(host: &str, source: &str, dir: &str) -> Result<()> {
    let client = client();
    let image = reference(host, source)?;
    let (bytes, digest) = client
        .pull_manifest_raw(&image, &RegistryAuth::Anonymous, &[OCI_IMAGE_MEDIA_TYPE])
        .await?;
    let manifest: OciImageManifest = serde_json::from_slice(&bytes)?;
    let dir = Path::new(dir);
    tokio::fs::create_dir_all(dir.join("blobs/sha256")).await?;
    let blobs: Vec<&OciDescriptor> = std::iter::once(&manifest.config)
        .chain(manifest.layers.iter())
        .collect();
    stream::iter(blobs)
        .map(|blob| {
            let client = &client;
            let image = &image;
            async move {
                let out = tokio::fs::File::create(blob_path(dir, &blob.digest)).await?;
                client.pull_blob(image, blob, out).await?;
                Ok::<_, Box<dyn Error + Send + Sync>>(())
            }
        })
        .buffer_unordered(oci_client::client::DEFAULT_MAX_CONCURRENT_DOWNLOAD)
        .try_collect::<Vec<()>>()
        .await?;
    let check = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&bytes)));
    if check != digest {
        return Err(format!("manifest digest {check}, registry said {digest}").into());
    }
    tokio::fs::write(blob_path(dir, &digest), &bytes).await?;
    let tag = image.tag().unwrap_or("latest");
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": OCI_IMAGE_MEDIA_TYPE,
            "digest": digest,
            "size": bytes.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }],
    });
    let mut f = tokio::fs::File::create(dir.join("index.json")).await?;
    f.write_all(index.to_string().as_bytes()).await?;
    f.flush().await?;
    tokio::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let done = match args.as_slice() {
        ["blob-push", host, file, repo] => blob_push(host, file, repo).await,
        ["blob-pull", host, repo, digest, file] => blob_pull(host, repo, digest, file).await,
        ["image-push", host, dir, target] => image_push(host, dir, target).await,
        ["image-pull", host, source, dir] => image_pull(host, source, dir).await,
        _ => Err("usage: oci-client-peer blob-push HOST FILE REPO | blob-pull HOST REPO DIGEST FILE | image-push HOST DIR REPO:TAG | image-pull HOST REPO:TAG DIR".into()),
    };
    match done {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("oci-client-peer: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
