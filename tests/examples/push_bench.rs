//! Push benchmark, side by side with a peer in the same run: one image with one layer of
//! `SIZE` MiB pushed to a fresh Debian `docker-registry` (CNCF distribution) on loopback, first
//! by our client (`upload_blob` from a file, then the manifest), then by `skopeo copy` from an
//! OCI layout holding the same bytes. Prints MB/s for each and the peak memory (max RSS) of
//! each process.
//!
//! ```sh
//! cargo run --release -p acr-tests --example push_bench -- 256 16
//! ```
//! (SIZE in MiB, default 256; our chunk size in MiB, default the runtime's.)

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use acr::{Client, Digest, Reference, RepositoryName};
use acr_runtime::blob::UploadSource;
use acr_tests::registry::{Flavour, RealRegistry};
use sha2::{Digest as _, Sha256};

const LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let size_mib: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(256);
    let chunk_mib: Option<usize> = args.next().map(|a| a.parse()).transpose()?;
    let Some(registry) = RealRegistry::start(Flavour::Open).await? else {
        return Ok(()); // the harness printed why
    };
    let work = tempfile::tempdir()?;

    // The layer: pseudo-random bytes written to a file once, hashed on the way.
    let layer_path = work.path().join("layer");
    let layer_digest = write_layer(&layer_path, size_mib * 1024 * 1024)?;
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#
            .to_vec();
    let config_digest = sha256(&config);
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{MANIFEST}","config":{{"mediaType":"{CONFIG}","digest":"{config_digest}","size":{}}},"layers":[{{"mediaType":"{LAYER}","digest":"{layer_digest}","size":{}}}]}}"#,
        config.len(),
        size_mib * 1024 * 1024
    );
    let bytes = (size_mib * 1024 * 1024) as f64;

    // Ours.
    let mut builder = Client::builder(registry.endpoint());
    if let Some(c) = chunk_mib {
        builder = builder.chunk_size(c * 1024 * 1024);
    }
    let client = builder.build()?;
    let repo = RepositoryName::new("bench/ours")?;
    let rss_before = max_rss_kib();
    let start = Instant::now();
    client
        .push_blob(&repo, UploadSource::path(&layer_path))
        .await?;
    client
        .push_blob(&repo, UploadSource::Bytes(config.clone().into()))
        .await?;
    let pushed = client
        .push_manifest(&repo, &Reference::new("v1")?, manifest.clone(), MANIFEST)
        .await?;
    let ours = start.elapsed().as_secs_f64();
    assert_eq!(pushed, Digest::new(sha256(manifest.as_bytes()))?);
    let rss_after = max_rss_kib();

    // The peer: skopeo copy from an OCI layout with the same blobs.
    let layout = work.path().join("layout");
    write_layout(
        &layout,
        &layer_path,
        &layer_digest,
        &config,
        &config_digest,
        &manifest,
    )?;
    let policy = work.path().join("policy.json");
    std::fs::write(
        &policy,
        r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
    )?;
    let dest = format!("docker://{}/bench/skopeo:v1", registry.host());
    let start = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg("skopeo")
        .arg("--policy")
        .arg(&policy)
        .args(["copy", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:v1", layout.display()))
        .arg(&dest)
        .output();
    let peer = start.elapsed().as_secs_f64();

    println!(
        "push of one {size_mib} MiB layer + config + manifest to docker-registry on loopback:"
    );
    println!(
        "  ours  (acr-runtime, chunk {} MiB): {:>7.1} MB/s, {:>6.2} s, max RSS {} KiB (process, before push {} KiB)",
        client.transport().chunk_size() / (1024 * 1024),
        bytes / ours / 1e6,
        ours,
        rss_after,
        rss_before
    );
    match out {
        Ok(o) if o.status.success() => {
            let rss = String::from_utf8_lossy(&o.stderr)
                .trim()
                .lines()
                .last()
                .unwrap_or("?")
                .to_owned();
            println!(
                "  peer  (skopeo copy):               {:>7.1} MB/s, {:>6.2} s, max RSS {rss} KiB",
                bytes / peer / 1e6,
                peer
            );
        }
        Ok(o) => println!(
            "  peer  (skopeo copy): failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => println!("  peer  (skopeo copy): not run: {e} (apt-get install skopeo time)"),
    }
    Ok(())
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn write_layer(path: &Path, len: u64) -> std::io::Result<String> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut hash = Sha256::new();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        for b in buf.iter_mut() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *b = state as u8;
        }
        let n = left.min(buf.len() as u64) as usize;
        file.write_all(&buf[..n])?;
        hash.update(&buf[..n]);
        left -= n as u64;
    }
    file.flush()?;
    Ok(format!("sha256:{}", hex::encode(hash.finalize())))
}

fn write_layout(
    dir: &Path,
    layer: &Path,
    layer_digest: &str,
    config: &[u8],
    config_digest: &str,
    manifest: &str,
) -> std::io::Result<()> {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs)?;
    let hex = |d: &str| d.trim_start_matches("sha256:").to_owned();
    std::fs::hard_link(layer, blobs.join(hex(layer_digest)))
        .or_else(|_| std::fs::copy(layer, blobs.join(hex(layer_digest))).map(|_| ()))?;
    std::fs::write(blobs.join(hex(config_digest)), config)?;
    let manifest_digest = sha256(manifest.as_bytes());
    std::fs::write(blobs.join(hex(&manifest_digest)), manifest)?;
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)?;
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{MANIFEST}","digest":"{manifest_digest}","size":{},"annotations":{{"org.opencontainers.image.ref.name":"v1"}}}}]}}"#,
        manifest.len()
    );
    std::fs::write(dir.join("index.json"), index)
}

/// This process's peak resident set size (`VmHWM`), in KiB.
fn max_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
