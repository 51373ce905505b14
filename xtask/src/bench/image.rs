//! Whole images against two real `docker-registry` instances (A and B), ours (the `acr` CLI,
//! default options) side by side with the peers in the same run, pair by pair:
//!
//! - push of a 10-layer image (layers of random bytes, 1 to 50 MiB, an OCI image layout
//!   folder): `acr image push DIR REPO:TAG` against `skopeo copy --preserve-digests oci:DIR
//!   docker://A/..` (its blob-info cache cleared each run) and the `oci-client` peer's
//!   `Client::push`; each run pushes into a new repository;
//! - pull of it into a fresh layout folder: `acr image pull REPO:TAG DIR` against `skopeo copy
//!   docker://A/.. oci:DIR` and the `oci-client` peer;
//! - copy from A to B: `acr image copy REPO:TAG B/REPO:TAG` against ours pulling then pushing
//!   (two commands through a folder), `skopeo copy docker://A/.. docker://B/..`, and our push
//!   alone of the same image to B (the goal: a copy costs at most 1.20× the push alone);
//! - in the full run, the copy of a one-layer 1 GiB image (peak RSS), beside our push alone.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::Digest as _;

use super::blob::{have, random_file, skopeo};
use super::measure::{self, Sample};
use super::{Row, Setup};
use crate::registry::Registry;

const MIB: u64 = 1 << 20;

/// The sizes of the 10 layers, MiB: spread evenly from 1 to 50 (255 MiB in all).
pub const LAYERS_MIB: [u64; 10] = [1, 6, 12, 17, 23, 28, 34, 39, 45, 50];

/// An OCI image layout at `dir` with one image tagged `latest`: the `layers` (file, digest,
/// size; hard-linked into `blobs/`, or copied), a config naming them, a manifest and the index.
/// Returns the digests of the config and the layers.
pub fn layout(dir: &Path, layers: &[(PathBuf, String, u64)]) -> Result<Vec<String>, String> {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).map_err(|e| format!("{}: {e}", blobs.display()))?;
    let hex_of = |d: &str| d.trim_start_matches("sha256:").to_owned();
    let put = |bytes: &[u8]| -> Result<(String, u64), String> {
        let d = format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)));
        std::fs::write(blobs.join(hex_of(&d)), bytes).map_err(|e| e.to_string())?;
        Ok((d, bytes.len() as u64))
    };
    for (file, digest, _) in layers {
        let to = blobs.join(hex_of(digest));
        if to.exists() {
            continue;
        }
        if std::fs::hard_link(file, &to).is_err() {
            std::fs::copy(file, &to).map_err(|e| format!("{}: {e}", file.display()))?;
        }
    }
    let diff_ids: Vec<String> = layers.iter().map(|(_, d, _)| format!("\"{d}\"")).collect();
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":[{}]}}}}"#,
        diff_ids.join(",")
    );
    let (config_digest, config_size) = put(config.as_bytes())?;
    let descriptors: Vec<String> = layers
        .iter()
        .map(|(_, digest, size)| {
            format!(
                r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{digest}","size":{size}}}"#
            )
        })
        .collect();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{config_size}}},"layers":[{}]}}"#,
        descriptors.join(",")
    );
    let (manifest_digest, manifest_size) = put(manifest.as_bytes())?;
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{manifest_digest}","size":{manifest_size},"annotations":{{"org.opencontainers.image.ref.name":"latest"}}}}]}}"#
    );
    std::fs::write(dir.join("index.json"), index).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)
        .map_err(|e| e.to_string())?;
    Ok(std::iter::once(config_digest)
        .chain(layers.iter().map(|(_, d, _)| d.clone()))
        .collect())
}

/// Writes an image of layers of `sizes` (bytes; random, distinct per size) as a layout at
/// `dir`; returns the digests of its config and layers.
fn make_image(dir: &Path, sizes: &[u64]) -> Result<Vec<String>, String> {
    let staging = dir.with_extension("layers");
    std::fs::create_dir_all(&staging).map_err(|e| e.to_string())?;
    let mut layers = Vec::new();
    for (i, size) in sizes.iter().enumerate() {
        let file = staging.join(format!("layer-{i}"));
        let digest = random_file(&file, *size)?;
        layers.push((file, digest, *size));
    }
    let done = layout(dir, &layers);
    let _ = std::fs::remove_dir_all(&staging);
    done
}

/// The runs of one row, ours then the peer's.
type Pairs = Vec<(Sample, Sample)>;

/// A shell script that pushes every blob of `blobs` from the layout `image` to `repo` on
/// `host` with curl, all at once, each a POST and one streamed PUT with its digest (no
/// manifest): the wire's and the registry's limit for the image's bytes.
fn curl_push_all(host: &str, repo: &str, image: &Path, blobs: &[String]) -> String {
    let mut script = String::new();
    for (i, digest) in blobs.iter().enumerate() {
        let file = image
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"));
        script.push_str(&format!(
            "( loc=$(curl -sSf -X POST -D - -o /dev/null 'http://{host}/v2/{repo}/blobs/uploads/' | tr -d '\\r' | sed -n 's/^[Ll]ocation: //p'); \
             case \"$loc\" in http*) ;; *) loc=\"http://{host}$loc\";; esac; \
             case \"$loc\" in *\\?*) sep='&';; *) sep='?';; esac; \
             curl -sSf -T '{}' -H 'Expect:' -H 'Content-Type: application/octet-stream' \"$loc${{sep}}digest={digest}\" -o /dev/null ) & p{i}=$!; ",
            file.display()
        ));
    }
    script + &wait_all(blobs.len())
}

/// A shell script that fetches every blob of `blobs` from `repo` on `host` into files in
/// `out` with `curl -o`, all at once (no verification, no manifest).
fn curl_pull_all(host: &str, repo: &str, out: &Path, blobs: &[String]) -> String {
    let mut script = format!("mkdir -p '{}' || exit 1; ", out.display());
    for (i, digest) in blobs.iter().enumerate() {
        script.push_str(&format!(
            "curl -sSf -o '{}' 'http://{host}/v2/{repo}/blobs/{digest}' & p{i}=$!; ",
            out.join(digest.trim_start_matches("sha256:")).display()
        ));
    }
    script + &wait_all(blobs.len())
}

/// `wait` for the background jobs `$p0` to `$p{n-1}`, failing when one failed.
fn wait_all(n: usize) -> String {
    (0..n)
        .map(|i| format!("wait $p{i} || exit 1"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The commands of one image case.
struct Tools<'a> {
    setup: &'a Setup,
    a: String,
    b: String,
    docker_config: PathBuf,
    skopeo_home: PathBuf,
}

impl Tools<'_> {
    /// `acr` on registry A, anonymous, with an empty Docker config (so B is anonymous too).
    fn ours(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.setup.acr);
        c.env("DOCKER_CONFIG", &self.docker_config)
            .args([
                "--registry",
                &format!("http://{}", self.a),
                "--anonymous",
                "--output",
                "json",
                "--quiet",
            ])
            .args(args);
        c
    }

    /// `acr` on registry B.
    fn ours_on_b(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.setup.acr);
        c.env("DOCKER_CONFIG", &self.docker_config)
            .args([
                "--registry",
                &format!("http://{}", self.b),
                "--anonymous",
                "--output",
                "json",
                "--quiet",
            ])
            .args(args);
        c
    }

    fn skopeo(&self) -> Command {
        skopeo(&self.skopeo_home)
    }

    fn oci_client(&self, args: &[&str]) -> Option<Command> {
        let bin = self.setup.oci_client.as_ref()?;
        let mut c = Command::new(bin);
        c.args(args);
        Some(c)
    }
}

fn fresh(dir: &Path) -> String {
    let _ = std::fs::remove_dir_all(dir);
    dir.to_string_lossy().into_owned()
}

/// Runs ours then the peer (when there is one); keeps the pair when both succeed, else the
/// first error.
fn pair(
    pairs: &mut Pairs,
    errors: &mut Vec<String>,
    ours: &mut Command,
    peer: Option<&mut Command>,
    between: impl Fn(),
) {
    let Some(peer) = peer else { return };
    let a = measure::run(ours);
    between();
    let b = measure::run(peer);
    between();
    match (a, b) {
        (Ok(a), Ok(b)) => pairs.push((a, b)),
        (Err(e), _) | (_, Err(e)) => errors.push(e),
    }
}

/// Push, pull and copy of the 10-layer image; one row per peer and operation.
fn ten_layers(setup: &Setup, tools: &Tools<'_>) -> Vec<Row> {
    let dir = setup.work.join("image-10");
    let _ = std::fs::remove_dir_all(&dir);
    let image = dir.join("layout");
    let sizes: Vec<u64> = LAYERS_MIB.iter().map(|m| m * MIB).collect();
    let blobs = match make_image(&image, &sizes) {
        Ok(b) => b,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            return vec![Row::failed("image, 10 layers".into(), e)];
        }
    };
    let image_s = image.to_string_lossy().into_owned();
    let with_skopeo = have("skopeo");
    let out = dir.join("out");
    let (a, b) = (&tools.a, &tools.b);
    let none = || {};
    let clear_out = || {
        let _ = std::fs::remove_dir_all(&out);
    };
    let (push, pull, copy) = (
        "image push, 10 layers (255 MiB)",
        "image pull, 10 layers (255 MiB)",
        "image copy A to B, 10 layers (255 MiB)",
    );
    // The rows, in the order of their indexes below.
    let mut rows: Vec<(&str, &str, Pairs)> = [
        (push, "skopeo copy oci: to docker://"),
        (push, "oci-client Client::push"),
        (
            push,
            "curl, every blob at once: POST + one PUT (digest known), no manifest (the limit)",
        ),
        (pull, "skopeo copy docker:// to oci:"),
        (pull, "oci-client pull_blob of each blob to files"),
        (
            pull,
            "curl -o of every blob at once, no manifest, no verification (the limit)",
        ),
        (copy, "ours: image pull, then image push"),
        (copy, "skopeo copy docker:// to docker://"),
        (copy, "ours: image push alone (goal ≤ 1.20)"),
    ]
    .into_iter()
    .map(|(case, peer)| (case, peer, Vec::new()))
    .collect();
    let mut errors = Vec::new();
    let out_s = out.to_string_lossy().into_owned();
    for run in 0..setup.runs {
        let ours_ref = format!("bench/img-ours-{run}:v1");
        // push
        let mut skopeo_push = with_skopeo.then(|| {
            let mut c = tools.skopeo();
            c.args([
                "copy",
                "--preserve-digests",
                "--dest-tls-verify=false",
                &format!("oci:{image_s}:latest"),
                &format!("docker://{a}/bench/img-skopeo-{run}:v1"),
            ]);
            c
        });
        pair(
            &mut rows[0].2,
            &mut errors,
            &mut tools.ours(&["image", "push", &image_s, &ours_ref]),
            skopeo_push.as_mut(),
            none,
        );
        let mut oc_push = tools.oci_client(&[
            "image-push",
            a,
            &image_s,
            &format!("bench/img-oci-client-{run}:v1"),
        ]);
        pair(
            &mut rows[1].2,
            &mut errors,
            &mut tools.ours(&[
                "image",
                "push",
                &image_s,
                &format!("bench/img-ours-{run}-b:v1"),
            ]),
            oc_push.as_mut(),
            none,
        );
        let mut curl_push = Command::new("sh");
        curl_push.args([
            "-c",
            &curl_push_all(a, &format!("bench/img-curl-{run}"), &image, &blobs),
        ]);
        pair(
            &mut rows[2].2,
            &mut errors,
            &mut tools.ours(&[
                "image",
                "push",
                &image_s,
                &format!("bench/img-ours-{run}-c:v1"),
            ]),
            Some(&mut curl_push),
            none,
        );
        // pull (what ours pushed), into a fresh folder each time
        clear_out();
        let mut skopeo_pull = with_skopeo.then(|| {
            let mut c = tools.skopeo();
            c.args([
                "copy",
                "--src-tls-verify=false",
                &format!("docker://{a}/{ours_ref}"),
                &format!("oci:{out_s}:latest"),
            ]);
            c
        });
        pair(
            &mut rows[3].2,
            &mut errors,
            &mut tools.ours(&["image", "pull", &ours_ref, &out_s]),
            skopeo_pull.as_mut(),
            clear_out,
        );
        let mut oc_pull = tools.oci_client(&["image-pull", a, &ours_ref, &out_s]);
        pair(
            &mut rows[4].2,
            &mut errors,
            &mut tools.ours(&["image", "pull", &ours_ref, &out_s]),
            oc_pull.as_mut(),
            clear_out,
        );
        let mut curl_pull = Command::new("sh");
        curl_pull.args([
            "-c",
            &curl_pull_all(a, &format!("bench/img-ours-{run}"), &out, &blobs),
        ]);
        pair(
            &mut rows[5].2,
            &mut errors,
            &mut tools.ours(&["image", "pull", &ours_ref, &out_s]),
            Some(&mut curl_pull),
            clear_out,
        );
        // copy A to B
        let copy_to = |what: &str| format!("{b}/bench/copy-{what}-{run}:v1");
        let via = dir.join("via");
        let via_s = fresh(&via);
        let acr = setup.acr.to_string_lossy().into_owned();
        let script = format!(
            "'{acr}' --registry http://{a} --anonymous --quiet image pull {ours_ref} '{via_s}' && \
             '{acr}' --registry http://{b} --anonymous --quiet image push '{via_s}' bench/copy-via-{run}:v1"
        );
        let mut pull_push = Command::new("sh");
        pull_push
            .env("DOCKER_CONFIG", &tools.docker_config)
            .args(["-c", &script]);
        pair(
            &mut rows[6].2,
            &mut errors,
            &mut tools.ours(&["image", "copy", &ours_ref, &copy_to("ours")]),
            Some(&mut pull_push),
            || {
                let _ = std::fs::remove_dir_all(&via);
            },
        );
        let mut skopeo_copy = with_skopeo.then(|| {
            let mut c = tools.skopeo();
            c.args([
                "copy",
                "--preserve-digests",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                &format!("docker://{a}/{ours_ref}"),
                &format!("docker://{}", copy_to("skopeo")),
            ]);
            c
        });
        pair(
            &mut rows[7].2,
            &mut errors,
            &mut tools.ours(&["image", "copy", &ours_ref, &copy_to("ours2")]),
            skopeo_copy.as_mut(),
            none,
        );
        let mut push_alone = tools.ours_on_b(&[
            "image",
            "push",
            &image_s,
            &format!("bench/push-alone-{run}:v1"),
        ]);
        pair(
            &mut rows[8].2,
            &mut errors,
            &mut tools.ours(&["image", "copy", &ours_ref, &copy_to("ours3")]),
            Some(&mut push_alone),
            none,
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    let mut table = Vec::new();
    for (case, peer, pairs) in rows {
        if pairs.is_empty() {
            let why = errors
                .first()
                .cloned()
                .unwrap_or_else(|| "the peer is not installed or was not built".into());
            table.push(Row::failed(format!("{case} vs {peer}"), why));
        } else {
            table.push(Row::paired(case.to_owned(), peer, &pairs));
        }
    }
    if let Some(e) = errors.first() {
        eprintln!("bench image: {} failed runs; the first: {e}", errors.len());
    }
    table
}

/// The copy of a one-layer 1 GiB image from A to B (its peak RSS), beside our push alone.
fn one_gib_copy(setup: &Setup, tools: &Tools<'_>) -> Vec<Row> {
    let case = "image copy A to B, one 1 GiB layer".to_owned();
    let dir = setup.work.join("image-1g");
    let _ = std::fs::remove_dir_all(&dir);
    let image = dir.join("layout");
    if let Err(e) = make_image(&image, &[1024 * MIB]) {
        let _ = std::fs::remove_dir_all(&dir);
        return vec![Row::failed(case, e)];
    }
    let image_s = image.to_string_lossy().into_owned();
    let source = "bench/img-1g:v1";
    if let Err(e) = measure::run(&mut tools.ours(&["image", "push", &image_s, source])) {
        let _ = std::fs::remove_dir_all(&dir);
        return vec![Row::failed(case, e)];
    }
    let mut pairs = Vec::new();
    let mut errors = Vec::new();
    for run in 0..setup.runs {
        let mut push_alone = tools.ours_on_b(&[
            "image",
            "push",
            &image_s,
            &format!("bench/push-1g-{run}:v1"),
        ]);
        pair(
            &mut pairs,
            &mut errors,
            &mut tools.ours(&[
                "image",
                "copy",
                source,
                &format!("{}/bench/copy-1g-{run}:v1", tools.b),
            ]),
            Some(&mut push_alone),
            || {},
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    match errors.first() {
        _ if !pairs.is_empty() => vec![Row::paired(
            case,
            "ours: image push alone (goal ≤ 1.20)",
            &pairs,
        )],
        Some(e) => vec![Row::failed(case, e.clone())],
        None => vec![],
    }
}

/// Starts two registries and measures the 10-layer image (and the 1 GiB copy unless quick).
pub fn run(setup: &Setup) -> Vec<Row> {
    let (a, b) = match (Registry::start(), Registry::start()) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return vec![Row::failed("image push, pull, copy".into(), e)],
    };
    let docker_config = setup.work.join("docker-config");
    let _ = std::fs::create_dir_all(&docker_config);
    let tools = Tools {
        setup,
        a: a.host(),
        b: b.host(),
        docker_config,
        skopeo_home: setup.work.join("image-skopeo-home"),
    };
    let mut rows = ten_layers(setup, &tools);
    if !setup.quick {
        rows.extend(one_gib_copy(setup, &tools));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_curl_scripts_name_every_blob_and_parse() {
        let blobs = vec!["sha256:aa".to_owned(), "sha256:bb".to_owned()];
        let push = curl_push_all("127.0.0.1:5000", "r", Path::new("/l"), &blobs);
        let pull = curl_pull_all("127.0.0.1:5000", "r", Path::new("/o"), &blobs);
        for script in [&push, &pull] {
            assert_eq!(script.matches(" & ").count(), 2, "{script}");
            assert!(
                script.ends_with("wait $p0 || exit 1; wait $p1 || exit 1"),
                "{script}"
            );
            let parsed = Command::new("sh")
                .args(["-n", "-c", script])
                .status()
                .unwrap();
            assert!(parsed.success(), "{script}");
        }
        assert!(push.contains("'/l/blobs/sha256/bb'"), "{push}");
        assert!(push.contains("digest=sha256:aa"), "{push}");
        assert!(
            pull.contains("-o '/o/aa' 'http://127.0.0.1:5000/v2/r/blobs/sha256:aa'"),
            "{pull}"
        );
    }
}
