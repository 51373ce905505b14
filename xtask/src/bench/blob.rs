//! Blob push and pull against a real `docker-registry`, ours (the `acr` CLI, default options)
//! side by side with the peers in the same run, pair by pair:
//!
//! - push: `curl` (POST, then one streamed PUT of the whole file with the digest known in
//!   advance and `Expect:` disabled, `curl -T` streaming the file: the wire's limit), and `skopeo copy --preserve-digests`
//!   of a one-layer OCI layout (with a fresh blob-info cache each run, so it pushes instead of
//!   mounting);
//!   Also the `oci-client` peer (`xtask/peers/oci-client-peer`): `push_blob_stream_chunked`
//!   from the file, its default 4 MiB chunks, the digest computed on the way;
//! - pull into a file, digest verified by us: `curl -o FILE` (no verification: the limit),
//!   `skopeo copy` to a `dir:` folder, and the `oci-client` peer (`pull_blob` into the file,
//!   digest verified, no fsync).
//!
//! Each run pushes into a new repository.

use std::io::Write as _;
use std::path::Path;
use std::process::Command;

use sha2::Digest as _;

use super::measure::{self, Sample};
use super::{Row, Setup};
use crate::registry::Registry;

const MIB: u64 = 1 << 20;

/// Writes `len` pseudo-random bytes (splitmix64) to `path`; returns their `sha256:` digest.
pub(crate) fn random_file(path: &Path, len: u64) -> Result<String, String> {
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = std::io::BufWriter::with_capacity(MIB as usize, file);
    let mut hash = sha2::Sha256::new();
    let mut state: u64 = len;
    let mut buf = vec![0u8; MIB as usize];
    let mut left = len;
    while left > 0 {
        for word in buf.chunks_exact_mut(8) {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            word.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
        }
        let n = left.min(MIB) as usize;
        hash.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|e| e.to_string())?;
        left -= n as u64;
    }
    out.flush().map_err(|e| e.to_string())?;
    Ok(format!("sha256:{}", hex::encode(hash.finalize())))
}

/// A one-layer OCI image layout around `blob` (hard-linked, or copied): what skopeo pushes.
fn layout(dir: &Path, blob: &Path, digest: &str, size: u64) -> Result<(), String> {
    super::image::layout(dir, &[(blob.to_owned(), digest.to_owned(), size)]).map(|_| ())
}

pub(crate) fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// skopeo with no blob-info cache from an earlier run (with one it mounts or skips instead of
/// pushing): an empty home of its own, and the cache of a root run
/// (`/var/lib/containers/cache/blob-info-cache-v1.*`, where containers/image keeps it for
/// root) removed; no policy file needed.
pub(crate) fn skopeo(home: &Path) -> Command {
    let _ = std::fs::remove_dir_all(home);
    let _ = std::fs::create_dir_all(home);
    for name in ["blob-info-cache-v1.boltdb", "blob-info-cache-v1.sqlite"] {
        let _ = std::fs::remove_file(Path::new("/var/lib/containers/cache").join(name));
    }
    let mut c = Command::new("skopeo");
    c.env("HOME", home)
        .env_remove("XDG_DATA_HOME")
        .arg("--insecure-policy");
    c
}

/// Measures push and pull of a `size`-byte blob; one row per peer and direction.
fn case(setup: &Setup, registry: &Registry, size: u64) -> Vec<Row> {
    let label = if size >= 1024 * MIB {
        format!("{} GiB", size / (1024 * MIB))
    } else {
        format!("{} MiB", size / MIB)
    };
    let dir = setup.work.join(format!("blob-{size}"));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join("blob");
    let digest = match random_file(&file, size) {
        Ok(d) => d,
        Err(e) => return vec![Row::failed(format!("blob {label}"), e)],
    };
    let host = registry.host();
    let base = format!("http://{host}");
    let ours = |args: &[&str]| {
        let mut c = Command::new(&setup.acr);
        c.args(["--registry", &base, "--anonymous", "--output", "json"])
            .args(args);
        c
    };
    let with_skopeo = have("skopeo");
    let layout_dir = dir.join("layout");
    let with_skopeo = with_skopeo && layout(&layout_dir, &file, &digest, size).is_ok();
    let file_s = file.to_string_lossy().into_owned();
    let mut push: Vec<(&str, Vec<(Sample, Sample)>)> =
        vec![("curl", vec![]), ("skopeo", vec![]), ("oci-client", vec![])];
    let mut pull = push.clone();
    // ours with the digest given (as curl has it), and in one request (a chunk larger than
    // the blob: streamed from the file), each against curl again
    push.push(("curl-digest", vec![]));
    push.push(("curl-one", vec![]));
    let out = dir.join("out");
    let out_s = out.to_string_lossy().into_owned();
    // ours pushing the file into `repo`, with `extra` options
    let ours_push = |repo: &str, extra: &[&str]| {
        measure::run(
            ours(&["blob", "push", repo, &file_s])
                .args(extra)
                .arg("--quiet"),
        )
    };
    // ours pulling `repo`'s blob into `out`, removed after
    let ours_pull = |repo: &str| {
        let sample = measure::run(&mut ours(&["blob", "pull", repo, &digest, "-o", &out_s]));
        let _ = std::fs::remove_file(&out);
        sample
    };
    let home = dir.join("skopeo-home");
    let mut error = None;
    for run in 0..setup.runs {
        let repo = format!("bench/ours-{size}-{run}");
        let ours_first = ours_push(&repo, &[]);
        let curl_repo = format!("bench/curl-{size}-{run}");
        let script = format!(
            "loc=$(curl -sSf -X POST -D - -o /dev/null '{base}/v2/{curl_repo}/blobs/uploads/' | tr -d '\\r' | sed -n 's/^[Ll]ocation: //p'); \
             case \"$loc\" in http*) ;; *) loc=\"{base}$loc\";; esac; \
             case \"$loc\" in *\\?*) sep='&';; *) sep='?';; esac; \
             curl -sSf -T '{file_s}' -H 'Expect:' -H 'Content-Type: application/octet-stream' \"$loc${{sep}}digest={digest}\" -o /dev/null"
        );
        let curl_push = measure::run(Command::new("sh").args(["-c", &script]));
        match (ours_first, curl_push) {
            (Ok(a), Ok(b)) => push[0].1.push((a, b)),
            (Err(e), _) | (_, Err(e)) => {
                error = Some(e);
                break;
            }
        }
        for (slot, extra) in [
            (3, ["--digest", digest.as_str()]),
            (4, ["--chunk-size", "2GiB"]),
        ] {
            let variant = ours_push(&format!("{repo}-v{slot}"), &extra);
            let curl_again = measure::run(Command::new("sh").args([
                "-c",
                &script.replace(&curl_repo, &format!("{curl_repo}-v{slot}")),
            ]));
            if let (Ok(a), Ok(b)) = (variant, curl_again) {
                push[slot].1.push((a, b));
            }
        }
        if with_skopeo {
            let again = ours_push(&format!("{repo}-s"), &[]);
            let sk = measure::run(skopeo(&home).args([
                "copy",
                "--preserve-digests",
                "--dest-tls-verify=false",
                &format!("oci:{}:latest", layout_dir.display()),
                &format!("docker://{host}/bench/skopeo-{size}-{run}:latest"),
            ]));
            if let (Ok(a), Ok(b)) = (again, sk) {
                push[1].1.push((a, b));
            }
        }
        if let Some(peer) = &setup.oci_client {
            let again = ours_push(&format!("{repo}-o"), &[]);
            let oc = measure::run(Command::new(peer).args([
                "blob-push",
                &host,
                &file_s,
                &format!("bench/oci-client-{size}-{run}"),
            ]));
            if let (Ok(a), Ok(b)) = (again, oc) {
                push[2].1.push((a, b));
            }
        }
        // pull what ours pushed in this run
        let _ = std::fs::remove_file(&out);
        let ours_first = ours_pull(&repo);
        let curl_pull = measure::run(Command::new("curl").args([
            "-sSfL",
            "-o",
            &out.to_string_lossy(),
            &format!("{base}/v2/{repo}/blobs/{digest}"),
        ]));
        let _ = std::fs::remove_file(&out);
        match (ours_first, curl_pull) {
            (Ok(a), Ok(b)) => pull[0].1.push((a, b)),
            (Err(e), _) | (_, Err(e)) => {
                error = Some(e);
                break;
            }
        }
        if with_skopeo {
            let ours_again = ours_pull(&repo);
            let target = dir.join("skopeo-out");
            let _ = std::fs::remove_dir_all(&target);
            let sk = measure::run(skopeo(&home).args([
                "copy",
                "--src-tls-verify=false",
                &format!("docker://{host}/bench/skopeo-{size}-{run}:latest"),
                &format!("dir:{}", target.display()),
            ]));
            let _ = std::fs::remove_dir_all(&target);
            if let (Ok(a), Ok(b)) = (ours_again, sk) {
                pull[1].1.push((a, b));
            }
        }
        if let Some(peer) = &setup.oci_client {
            let ours_again = ours_pull(&repo);
            let oc = measure::run(Command::new(peer).args([
                "blob-pull",
                &host,
                &repo,
                &digest,
                &out.to_string_lossy(),
            ]));
            let _ = std::fs::remove_file(&out);
            if let (Ok(a), Ok(b)) = (ours_again, oc) {
                pull[2].1.push((a, b));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(e) = error {
        return vec![Row::failed(format!("blob {label}"), e)];
    }
    let mut rows = Vec::new();
    for (what, peers) in [("push", push), ("pull to a file", pull)] {
        for (peer, pairs) in peers {
            let name = match peer {
                "curl-digest" => format!("{what}, {label} blob, digest given (--digest)"),
                "curl-one" => format!("{what}, {label} blob, one request (--chunk-size 2GiB)"),
                _ => format!("{what}, {label} blob"),
            };
            let peer_name = match (what, peer) {
                ("push", "curl" | "curl-digest" | "curl-one") => {
                    "curl POST + one PUT (digest known)"
                }
                ("push", "skopeo") => "skopeo copy (one-layer OCI layout)",
                ("push", _) => "oci-client push_blob_stream_chunked (4 MiB chunks)",
                (_, "curl") => "curl -o FILE (no verification)",
                (_, "skopeo") => "skopeo copy to dir:",
                _ => "oci-client pull_blob to a file (verified, no fsync)",
            };
            if pairs.is_empty() {
                if !peer.starts_with("curl") {
                    rows.push(Row::failed(
                        format!("{name} vs {peer_name}"),
                        format!("{peer} not installed, not built, or failed"),
                    ));
                }
                continue;
            }
            rows.push(Row::paired(name, peer_name, &pairs));
        }
    }
    rows
}

/// Starts a registry and measures 256 MiB (and 1 GiB unless quick).
pub fn run(setup: &Setup) -> Vec<Row> {
    let registry = match Registry::start() {
        Ok(r) => r,
        Err(e) => return vec![Row::failed("blob push and pull".into(), e)],
    };
    let mut rows = case(setup, &registry, 256 * MIB);
    if !setup.quick {
        rows.extend(case(setup, &registry, 1024 * MIB));
    }
    rows
}
