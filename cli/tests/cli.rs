//! The `acr` binary end to end: against the ACR emulator and the real docker-registry, asserting
//! on `--output json` and the exit codes (0 ok, 2 usage, 3 not found, 4 auth).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use acr_tests::emulator::Emulator;
use acr_tests::registry::{Flavour, RealRegistry};

const USER: &str = "admin";
const PASSWORD: &str = "admin-password";

/// The outcome of one run of the binary.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is one JSON value ({e}): {self:?}"))
    }

    fn error_json(&self) -> serde_json::Value {
        serde_json::from_str(self.stderr.trim())
            .unwrap_or_else(|e| panic!("stderr is one JSON value ({e}): {self:?}"))
    }
}

/// Runs `acr` with `args` (blocking, off the async workers so the emulator keeps serving), with no
/// `ACR_*` variables inherited.
async fn acr(args: Vec<String>) -> Run {
    acr_with(args, Vec::new(), None).await
}

/// [`acr`] with extra environment variables and, if given, `stdin` as standard input.
async fn acr_with(
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
    stdin: Option<String>,
) -> Run {
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        use std::process::Stdio;
        let mut child = Command::new(env!("CARGO_BIN_EXE_acr"))
            .args(&args)
            .env_remove("ACR_REGISTRY")
            .env_remove("ACR_USERNAME")
            .env_remove("ACR_PASSWORD")
            .env_remove("ACR_REFRESH_TOKEN")
            .env_remove("ACR_LOG")
            // No Docker config of the machine's: tests that want one set DOCKER_CONFIG.
            .env("DOCKER_CONFIG", "/nonexistent/acr-cli-tests")
            .envs(env)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs");
        if let Some(text) = stdin {
            let mut pipe = child.stdin.take().expect("stdin is piped");
            pipe.write_all(text.as_bytes()).expect("stdin is written");
        }
        let output = child.wait_with_output().expect("the binary ends");
        Run {
            code: output.status.code().expect("an exit code, not a signal"),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    })
    .await
    .expect("the run finishes")
}

fn args(registry: &str, creds: Option<(&str, &str)>, rest: &[&str]) -> Vec<String> {
    let mut v = vec![
        "--registry".to_owned(),
        registry.to_owned(),
        "--output".into(),
        "json".into(),
    ];
    if let Some((u, p)) = creds {
        v.extend([
            "--username".into(),
            u.to_owned(),
            "--password".into(),
            p.to_owned(),
        ]);
    }
    v.extend(rest.iter().map(|s| (*s).to_owned()));
    v
}

async fn emulator() -> Emulator {
    Emulator::builder()
        .admin(USER, PASSWORD)
        .start()
        .await
        .expect("the emulator starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_lists_repositories_and_tags_with_the_acr_api() {
    let emu = emulator().await;
    let image = emu.put_image("team/app", "v1", "amd64", "linux").unwrap();
    let reg = emu.endpoint();
    let admin = Some((USER, PASSWORD));

    let run = acr(args(&reg, admin, &["registry", "check"])).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["ok"], true);

    let run = acr(args(&reg, admin, &["repo", "list", "--all"])).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json(),
        serde_json::json!({"repositories": ["team/app"], "api": "acr"})
    );

    let run = acr(args(
        &reg,
        admin,
        &["tag", "list", "team/app", "--orderby", "timedesc"],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["api"], "acr");
    assert_eq!(json["tags"][0]["name"], "v1");
    assert_eq!(json["tags"][0]["digest"], image.manifest_digest.as_str());

    let run = acr(args(&reg, admin, &["manifest", "get", "team/app", "v1"])).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["digest"], image.manifest_digest.as_str());
    let run = acr(args(
        &reg,
        admin,
        &["tag", "list", "team/app", "--last", "v1"],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json()["tags"],
        serde_json::json!([]),
        "nothing after the last tag"
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_locks_a_tag_and_the_delete_is_refused() {
    let emu = emulator().await;
    emu.put_image("team/app", "v1", "amd64", "linux").unwrap();
    let reg = emu.endpoint();
    let admin = Some((USER, PASSWORD));

    let run = acr(args(
        &reg,
        admin,
        &[
            "tag",
            "update",
            "team/app",
            "v1",
            "--delete-enabled",
            "false",
        ],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json()["tag"]["changeableAttributes"]["deleteEnabled"],
        false
    );

    let run = acr(args(&reg, admin, &["tag", "delete", "team/app", "v1"])).await;
    assert_ne!(run.code, 0, "a locked tag is not deleted: {run:?}");
    assert!(run.error_json()["error"]["status"].is_u64(), "{run:?}");
    assert_eq!(emu.tags("team/app"), vec!["v1".to_owned()]);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_not_found_auth_and_usage() {
    let emu = emulator().await;
    emu.put_image("team/app", "v1", "amd64", "linux").unwrap();
    let reg = emu.endpoint();
    let admin = Some((USER, PASSWORD));

    // Not found: a missing tag (TAG_UNKNOWN) and a missing repository (NAME_UNKNOWN).
    let run = acr(args(&reg, admin, &["tag", "show", "team/app", "nope"])).await;
    assert_eq!(run.code, 3, "{run:?}");
    let error = run.error_json();
    assert_eq!(error["error"]["status"], 404);
    assert_eq!(error["error"]["exitCode"], 3);
    assert!(error["error"]["code"].is_string(), "{error}");
    let run = acr(args(&reg, admin, &["repo", "show", "team/none"])).await;
    assert_eq!(run.code, 3, "{run:?}");

    // Auth: a wrong password, and no credentials at all.
    let run = acr(args(&reg, Some((USER, "wrong")), &["repo", "list"])).await;
    assert_eq!(run.code, 4, "{run:?}");
    assert_eq!(run.error_json()["error"]["exitCode"], 4);
    let run = acr(args(&reg, None, &["tag", "list", "team/app"])).await;
    assert_eq!(run.code, 4, "{run:?}");

    // Usage: an unknown flag, no registry, plain http to a non-loopback host, a bad digest.
    let run = acr(vec!["repo".into(), "list".into(), "--bogus".into()]).await;
    assert_eq!(run.code, 2, "{run:?}");
    let run = acr(vec!["repo".into(), "list".into()]).await;
    assert_eq!(run.code, 2, "{run:?}");
    let run = acr(args("http://registry.example", admin, &["repo", "list"])).await;
    assert_eq!(run.code, 2, "{run:?}");
    let run = acr(args(
        &reg,
        admin,
        &["blob", "exists", "team/app", "sha256:zz"],
    ))
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_blob_push_pull_roundtrip_and_a_failed_pull_leaves_no_file() {
    let emu = emulator().await;
    let reg = emu.endpoint();
    let admin = Some((USER, PASSWORD));
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("blob.bin");
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&src, &data).unwrap();
    let expected = acr_tests::emulator::sha256_digest(&data);

    let run = acr(args(
        &reg,
        admin,
        &[
            "blob",
            "push",
            "team/blobs",
            src.to_str().unwrap(),
            "--chunk-size",
            "64KiB",
        ],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["digest"], expected.as_str());
    assert_eq!(json["size"], 200_000);

    let run = acr(args(
        &reg,
        admin,
        &["blob", "exists", "team/blobs", &expected],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["exists"], true);

    let out = dir.path().join("out.bin");
    let run = acr(args(
        &reg,
        admin,
        &[
            "blob",
            "pull",
            "team/blobs",
            &expected,
            "-o",
            out.to_str().unwrap(),
        ],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(std::fs::read(&out).unwrap(), data);

    let missing = format!("sha256:{}", "a".repeat(64));
    let none = dir.path().join("none.bin");
    let run = acr(args(
        &reg,
        admin,
        &[
            "blob",
            "pull",
            "team/blobs",
            &missing,
            "-o",
            none.to_str().unwrap(),
        ],
    ))
    .await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(!none.exists(), "a failed pull leaves no file");
    let run = acr(args(
        &reg,
        admin,
        &["blob", "exists", "team/blobs", &missing],
    ))
    .await;
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(run.json()["exists"], false);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_registry_lists_with_the_oci_fallback() {
    let Some(registry) = RealRegistry::start(Flavour::Open)
        .await
        .expect("docker-registry starts")
    else {
        return; // the harness printed why (docker-registry not installed)
    };
    let reg = registry.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("config.json");
    std::fs::write(
        &src,
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
    )
    .unwrap();
    let run = acr(args(
        &reg,
        None,
        &["blob", "push", "oci/app", src.to_str().unwrap()],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let config = run.json()["digest"].as_str().unwrap().to_owned();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": std::fs::metadata(&src).unwrap().len()},
        "layers": [],
    });
    let mpath = dir.path().join("manifest.json");
    std::fs::write(&mpath, manifest.to_string()).unwrap();
    let run = acr(args(
        &reg,
        None,
        &["manifest", "put", "oci/app", "v1", mpath.to_str().unwrap()],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");

    let run = acr(args(&reg, None, &["-v", "repo", "list"])).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json(),
        serde_json::json!({"repositories": ["oci/app"], "api": "oci"})
    );
    assert!(
        run.stderr.contains("OCI catalog"),
        "-v says which listing was used: {run:?}"
    );

    let run = acr(args(&reg, None, &["tag", "list", "oci/app"])).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json(),
        serde_json::json!({"repository": "oci/app", "tags": [{"name": "v1"}], "api": "oci"})
    );

    let run = acr(args(&reg, None, &["tag", "list", "oci/none"])).await;
    assert_eq!(run.code, 3, "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_from_stdin_env_refresh_token_and_anonymous() {
    let emu = emulator().await;
    emu.put_image("team/app", "v1", "amd64", "linux").unwrap();
    let reg = emu.endpoint();

    // --password-stdin reads the first line.
    let mut a = args(
        &reg,
        None,
        &["--username", USER, "--password-stdin", "repo", "list"],
    );
    let run = acr_with(
        std::mem::take(&mut a),
        Vec::new(),
        Some(format!("{PASSWORD}\n")),
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["repositories"][0], "team/app");

    // The ACR_* variables.
    let env = vec![
        ("ACR_REGISTRY", reg.clone()),
        ("ACR_USERNAME", USER.to_owned()),
        ("ACR_PASSWORD", PASSWORD.to_owned()),
    ];
    let run = acr_with(
        vec![
            "--output".into(),
            "json".into(),
            "repo".into(),
            "list".into(),
        ],
        env,
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["api"], "acr");

    // A refresh token minted by the registry, and a forged one.
    let token = emu.refresh_token_for("cli-test", acr_tests::emulator::Grants::All);
    let run = acr(args(
        &reg,
        None,
        &["--refresh-token", &token, "tag", "list", "team/app"],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["tags"][0]["name"], "v1");
    let run = acr(args(
        &reg,
        None,
        &["--refresh-token", "not-a-token", "tag", "list", "team/app"],
    ))
    .await;
    assert_eq!(run.code, 4, "{run:?}");

    // --anonymous excludes credentials (usage), and without anonymous pull it is refused (auth).
    let run = acr(args(
        &reg,
        Some((USER, PASSWORD)),
        &["--anonymous", "repo", "list"],
    ))
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    let run = acr(args(&reg, None, &["--anonymous", "repo", "list"])).await;
    assert_eq!(run.code, 4, "{run:?}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_manifest_lifecycle_and_referrers() {
    let emu = emulator().await;
    let image = emu.put_image("team/app", "v1", "amd64", "linux").unwrap();
    let reg = emu.endpoint();
    let admin = Some((USER, PASSWORD));
    let dir = tempfile::tempdir().unwrap();

    // get -o FILE writes the verified bytes; put under another tag gives the same digest.
    let file = dir.path().join("m.json");
    let run = acr(args(
        &reg,
        admin,
        &[
            "manifest",
            "get",
            "team/app",
            "v1",
            "-o",
            file.to_str().unwrap(),
        ],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(std::fs::read(&file).unwrap(), image.manifest.to_vec());
    let run = acr(args(
        &reg,
        admin,
        &["manifest", "put", "team/app", "v2", file.to_str().unwrap()],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["digest"], image.manifest_digest.as_str());

    let d = image.manifest_digest.as_str();
    let run = acr(args(&reg, admin, &["manifest", "list", "team/app"])).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["manifests"][0]["digest"], d);
    let run = acr(args(
        &reg,
        admin,
        &[
            "manifest",
            "update",
            "team/app",
            d,
            "--write-enabled",
            "false",
        ],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let run = acr(args(&reg, admin, &["manifest", "show", "team/app", d])).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json()["manifest"]["changeableAttributes"]["writeEnabled"],
        false
    );

    // A referrer (an artifact whose subject is the image), found by the referrers command.
    let referrer = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.example.sbom",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.empty.v1+json", "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "size": 2}],
        "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d, "size": image.manifest.len()},
    });
    emu.put_blob("team/app", "{}").unwrap();
    let rfile = dir.path().join("referrer.json");
    std::fs::write(&rfile, referrer.to_string()).unwrap();
    let rdigest = acr_tests::emulator::sha256_digest(referrer.to_string().as_bytes());
    let run = acr(args(
        &reg,
        admin,
        &[
            "manifest",
            "put",
            "team/app",
            &rdigest,
            rfile.to_str().unwrap(),
        ],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let run = acr(args(
        &reg,
        admin,
        &[
            "referrers",
            "team/app",
            d,
            "--artifact-type",
            "application/vnd.example.sbom",
        ],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["manifests"][0]["digest"], rdigest.as_str(), "{json}");
    let run = acr(args(
        &reg,
        admin,
        &[
            "referrers",
            "team/app",
            d,
            "--artifact-type",
            "application/other",
        ],
    ))
    .await;
    assert_eq!(run.json()["manifests"], serde_json::json!([]));

    // Delete the referrer by digest; asking again is not found.
    let run = acr(args(
        &reg,
        admin,
        &["manifest", "delete", "team/app", &rdigest],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let run = acr(args(
        &reg,
        admin,
        &["manifest", "get", "team/app", &rdigest],
    ))
    .await;
    assert_eq!(run.code, 3, "{run:?}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_registry_with_htpasswd_blob_pull_referrers_and_bad_credentials() {
    let flavour = Flavour::htpasswd("cli-user", "cli-Passw0rd");
    let Some(registry) = RealRegistry::start(flavour)
        .await
        .expect("docker-registry starts")
    else {
        return; // the harness printed why (docker-registry or htpasswd not installed)
    };
    let reg = registry.endpoint();
    let user = Some(("cli-user", "cli-Passw0rd"));
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("config.json");
    let config =
        br#"{"architecture":"arm64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    std::fs::write(&src, config).unwrap();

    let run = acr(args(
        &reg,
        Some(("cli-user", "wrong")),
        &["blob", "push", "real/app", src.to_str().unwrap()],
    ))
    .await;
    assert_eq!(run.code, 4, "{run:?}");

    let run = acr(args(
        &reg,
        user,
        &["blob", "push", "real/app", src.to_str().unwrap()],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let digest = run.json()["digest"].as_str().unwrap().to_owned();
    let out = dir.path().join("back.json");
    let run = acr(args(
        &reg,
        user,
        &[
            "blob",
            "pull",
            "real/app",
            &digest,
            "-o",
            out.to_str().unwrap(),
        ],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(std::fs::read(&out).unwrap(), config);

    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest, "size": config.len()},
        "layers": [],
    });
    let mpath = dir.path().join("manifest.json");
    std::fs::write(&mpath, manifest.to_string()).unwrap();
    let run = acr(args(
        &reg,
        user,
        &["manifest", "put", "real/app", "v1", mpath.to_str().unwrap()],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let mdigest = run.json()["digest"].as_str().unwrap().to_owned();

    // No referrers yet: the registry has the referrers API or not; either way none are listed.
    let run = acr(args(&reg, user, &["referrers", "real/app", &mdigest])).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["manifests"], serde_json::json!([]));

    let run = acr(args(&reg, user, &["manifest", "get", "real/app", "v2"])).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(run.error_json()["error"]["code"], "MANIFEST_UNKNOWN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_paging_mount_and_repo_delete() {
    let emu = emulator().await;
    for repo in ["a/one", "b/two", "c/three"] {
        emu.put_image(repo, "v1", "amd64", "linux").unwrap();
    }
    let reg = emu.endpoint();
    let admin = Some((USER, PASSWORD));

    let run = acr(args(
        &reg,
        admin,
        &["repo", "list", "--n", "1", "--last", "a/one"],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["repositories"], serde_json::json!(["b/two"]));
    let run = acr(args(&reg, admin, &["repo", "list", "--n", "1", "--all"])).await;
    assert_eq!(
        run.json()["repositories"],
        serde_json::json!(["a/one", "b/two", "c/three"])
    );

    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("shared.bin");
    std::fs::write(&src, b"shared layer bytes").unwrap();
    let run = acr(args(
        &reg,
        admin,
        &["blob", "push", "a/one", src.to_str().unwrap()],
    ))
    .await;
    assert_eq!(run.json()["method"], "sent", "{run:?}");
    let run = acr(args(
        &reg,
        admin,
        &[
            "blob",
            "push",
            "b/two",
            src.to_str().unwrap(),
            "--mount-from",
            "a/one",
        ],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["method"], "mounted", "{run:?}");
    let run = acr(args(
        &reg,
        admin,
        &["blob", "push", "a/one", src.to_str().unwrap()],
    ))
    .await;
    assert_eq!(
        run.json()["method"],
        "skipped",
        "a blob the registry has is not sent: {run:?}"
    );

    let run = acr(args(&reg, admin, &["repo", "delete", "c/three"])).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json(),
        serde_json::json!({"repository": "c/three", "deleted": true})
    );
    assert!(!emu.repositories().contains(&"c/three".to_owned()));
    let run = acr(args(&reg, admin, &["repo", "show", "c/three"])).await;
    assert_eq!(run.code, 3, "{run:?}");

    // -q keeps stderr quiet on success; the result still goes to stdout.
    let run = acr(args(&reg, admin, &["-q", "-v", "repo", "list"])).await;
    assert_eq!(run.code, 2, "-q and -v conflict: {run:?}");
    let run = acr(args(&reg, admin, &["-q", "repo", "list"])).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.is_empty(), "{run:?}");
    emu.shutdown().await;
}

/// Writes an OCI image layout at `dir` holding one image tagged `tag`: a config and layers of
/// the given sizes (deterministic bytes). Returns the manifest's digest.
fn write_layout(dir: &std::path::Path, tag: &str, layers: &[usize]) -> String {
    use acr::image::OciLayout;
    use acr::manifest::{Descriptor, ImageManifest};
    let layout = OciLayout::create(dir).unwrap();
    let config = layout
        .add_blob(
            "application/vnd.oci.image.config.v1+json",
            format!(r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":[]}},"tag":"{tag}"}}"#)
                .as_bytes(),
        )
        .unwrap();
    let layers: Vec<Descriptor> = layers
        .iter()
        .enumerate()
        .map(|(n, size)| {
            let bytes: Vec<u8> = (0..*size).map(|i| ((i * 31 + n * 7) % 251) as u8).collect();
            layout
                .add_blob("application/vnd.oci.image.layer.v1.tar", &bytes)
                .unwrap()
        })
        .collect();
    let manifest = ImageManifest::new(config, layers);
    let bytes = manifest.to_bytes();
    let descriptor = layout.add_blob(manifest.media_type(), &bytes).unwrap();
    let digest = descriptor.digest.as_str().to_owned();
    layout.tag(tag, descriptor).unwrap();
    digest
}

/// Every file under `dir` (relative path, bytes), sorted.
fn files_under(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().display().to_string();
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_image_push_then_pull_gives_the_same_layout() {
    let emu = emulator().await;
    let reg = emu.endpoint();
    let admin = Some((USER, PASSWORD));
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    let digest = write_layout(&src, "v1", &[300_000, 1_000]);

    let run = acr(args(
        &reg,
        admin,
        &["image", "push", src.to_str().unwrap(), "team/img:v1"],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["digest"], digest.as_str(), "{json}");
    assert_eq!(json["manifests"], 1);
    assert_eq!(json["blobsTransferred"], 3);
    assert_eq!(json["blobsSkipped"], 0);
    assert!(
        run.stderr.is_empty(),
        "no progress bar into a pipe: {run:?}"
    );
    assert_eq!(emu.tags("team/img"), vec!["v1".to_owned()]);

    // Again: every blob is there already.
    let run = acr(args(
        &reg,
        admin,
        &["image", "push", src.to_str().unwrap(), "team/img:v2"],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["blobsSkipped"], 3);
    assert_eq!(run.json()["blobsTransferred"], 0);

    // Pull into a new folder, under the same tag: the same files, byte for byte.
    let dst = work.path().join("dst");
    let run = acr(args(
        &reg,
        admin,
        &["image", "pull", "team/img:v1", dst.to_str().unwrap()],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["digest"], digest.as_str());
    assert_eq!(json["blobsTransferred"], 3);
    assert_eq!(json["tag"], "v1");
    assert_eq!(files_under(&src), files_under(&dst));

    // Pulling into the existing layout again downloads nothing.
    let run = acr(args(
        &reg,
        admin,
        &["image", "pull", "team/img:v2", dst.to_str().unwrap()],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["blobsTransferred"], 0);

    // A pull that fails leaves no folder and no temporary folder beside it.
    let missing = work.path().join("missing");
    let run = acr(args(
        &reg,
        admin,
        &["image", "pull", "team/img:nope", missing.to_str().unwrap()],
    ))
    .await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(!missing.exists());
    let leftovers: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".acr-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A missing repository is not found either.
    let run = acr(args(
        &reg,
        admin,
        &["image", "pull", "team/none:v1", missing.to_str().unwrap()],
    ))
    .await;
    assert_eq!(run.code, 3, "{run:?}");

    // Usage: not a layout, a layout without the tag, a destination that is some other folder.
    let run = acr(args(
        &reg,
        admin,
        &[
            "image",
            "push",
            work.path().to_str().unwrap(),
            "team/img:v1",
        ],
    ))
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    let run = acr(args(
        &reg,
        admin,
        &[
            "image",
            "push",
            src.to_str().unwrap(),
            "team/img:v3",
            "--source-tag",
            "nope",
        ],
    ))
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.error_json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("v1")
    );
    let run = acr(args(
        &reg,
        admin,
        &[
            "image",
            "pull",
            "team/img:v1",
            work.path().to_str().unwrap(),
        ],
    ))
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_registry_image_push_of_a_skopeo_layout_then_pull_gives_the_same_bytes() {
    let Some(registry) = RealRegistry::start(Flavour::Open)
        .await
        .expect("docker-registry starts")
    else {
        return; // the harness printed why (docker-registry not installed)
    };
    if Command::new("skopeo").arg("--version").output().is_err() {
        acr_tests::skip::skip("skopeo is not installed");
        return;
    }
    let reg = registry.endpoint();
    let work = tempfile::tempdir().unwrap();
    let ours = work.path().join("ours");
    write_layout(&ours, "v1", &[200_000, 3_000]);
    // skopeo writes the layout the CLI pushes.
    let skopeo_dir = work.path().join("skopeo");
    let status = Command::new("skopeo")
        .args(["copy", "--quiet"])
        .arg(format!("oci:{}:v1", ours.display()))
        .arg(format!("oci:{}:app", skopeo_dir.display()))
        .status()
        .unwrap();
    assert!(status.success(), "skopeo copy oci to oci");

    let run = acr(args(
        &reg,
        None,
        &["image", "push", skopeo_dir.to_str().unwrap(), "real/img:v1"],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let digest = run.json()["digest"].as_str().unwrap().to_owned();

    let back = work.path().join("back");
    let run = acr(args(
        &reg,
        None,
        &[
            "image",
            "pull",
            "real/img:v1",
            back.to_str().unwrap(),
            "--tag",
            "app",
        ],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["digest"], digest.as_str());
    // The same blobs (manifest, config, layers) byte for byte; index.json names the same image.
    let blobs = |dir: &std::path::Path| files_under(&dir.join("blobs"));
    assert_eq!(blobs(&skopeo_dir), blobs(&back));
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(back.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], digest.as_str());

    // And skopeo reads what the CLI pushed: the same manifest digest.
    let out = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{}/real/img:v1", registry.host()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        acr_tests::emulator::sha256_digest(&out.stdout),
        digest,
        "skopeo sees the pushed manifest"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_stores_credentials_in_the_docker_config_and_logout_removes_them() {
    use std::os::unix::fs::PermissionsExt as _;
    let emu = emulator().await;
    emu.put_image("team/app", "v1", "amd64", "linux").unwrap();
    let reg = emu.endpoint();
    let home = tempfile::tempdir().unwrap();
    let config_dir = home.path().join("docker");
    std::fs::create_dir_all(&config_dir).unwrap();
    let config = config_dir.join("config.json");
    let other = r#"{"auths":{"other.example":{"auth":"dTpw"}},"credsStore":"","psFormat":"x"}"#;
    std::fs::write(&config, other).unwrap();
    let env = || vec![("DOCKER_CONFIG", config_dir.display().to_string())];

    // A wrong password: nothing is written.
    let run = acr_with(args(&reg, Some((USER, "wrong")), &["login"]), env(), None).await;
    assert_eq!(run.code, 4, "{run:?}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), other);
    // No credential given is a usage error.
    let run = acr_with(args(&reg, None, &["login"]), env(), None).await;
    assert_eq!(run.code, 2, "{run:?}");

    let run = acr_with(
        args(
            &reg,
            None,
            &["--username", USER, "--password-stdin", "login"],
        ),
        env(),
        Some(format!("{PASSWORD}\n")),
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["registry"], emu.host());
    assert!(!run.stdout.contains(PASSWORD) && !run.stderr.contains(PASSWORD));
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    assert_eq!(written["auths"][emu.host()]["auth"], auth.as_str());
    assert_eq!(
        written["auths"]["other.example"]["auth"], "dTpw",
        "other entries kept"
    );
    assert_eq!(written["psFormat"], "x", "other fields kept");
    let mode = std::fs::metadata(&config).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    // Commands given no credential use the stored one.
    let run = acr_with(args(&reg, None, &["tag", "list", "team/app"]), env(), None).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["tags"][0]["name"], "v1");

    let run = acr_with(args(&reg, None, &["logout"]), env(), None).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["removed"], true);
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    assert!(written["auths"].get(emu.host()).is_none(), "{written}");
    assert_eq!(written["auths"]["other.example"]["auth"], "dTpw");
    let run = acr_with(args(&reg, None, &["logout"]), env(), None).await;
    assert_eq!(run.json()["removed"], false);
    let run = acr_with(args(&reg, None, &["tag", "list", "team/app"]), env(), None).await;
    assert_eq!(run.code, 4, "logged out: {run:?}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_purge_dry_run_then_purge_keeps_locked_recent_and_referenced() {
    let emu = emulator().await;
    let mut digests = std::collections::BTreeMap::new();
    for tag in ["v1", "v2", "v3", "v4", "latest"] {
        let image = emu.put_image("team/app", tag, "amd64", "linux").unwrap();
        digests.insert(tag, image.manifest_digest);
    }
    emu.put_image("other/app", "v1", "amd64", "linux").unwrap();
    // v2 is locked; an untagged manifest that is locked; a referrer (untagged) of v4.
    emu.set_tag_attributes(
        "team/app",
        "v2",
        acr_tests::emulator::AttributesUpdate {
            delete_enabled: Some(false),
            ..Default::default()
        },
    )
    .unwrap();
    let tmp = emu.put_image("team/app", "tmp", "arm64", "linux").unwrap();
    let reg = emu.endpoint();
    let admin = Some((USER, PASSWORD));
    let run = acr(args(&reg, admin, &["tag", "delete", "team/app", "tmp"])).await;
    assert_eq!(run.code, 0, "{run:?}");
    emu.set_manifest_attributes(
        "team/app",
        &tmp.manifest_digest,
        acr_tests::emulator::AttributesUpdate::locked(),
    )
    .unwrap();
    let v4 = emu.manifest("team/app", "v4").unwrap().1;
    let referrer = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.example.sig",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "size": 2},
        "layers": [],
        "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digests["v4"], "size": v4.len()},
    })
    .to_string();
    let referrer_digest = acr_tests::emulator::sha256_digest(referrer.as_bytes());
    emu.put_manifest(
        "team/app",
        &referrer_digest,
        "application/vnd.oci.image.manifest.v1+json",
        referrer,
    )
    .unwrap();
    let filter = ["--filter", "team/.*:v.*"];

    // Nothing is a day old.
    let mut rest = vec!["purge", "--ago", "1d", "--untagged"];
    rest.extend(filter);
    let run = acr(args(&reg, admin, &rest)).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["summary"]["tagsDeleted"], 0, "{}", run.stdout);
    assert_eq!(run.json()["summary"]["manifestsDeleted"], 0);

    // Dry run with --ago 0 --keep 1: v4 (most recent) kept, v2 locked, v3 and v1 would go,
    // with their manifests; the locked untagged manifest and v4's referrer stay.
    let mut rest = vec![
        "purge",
        "--ago",
        "0",
        "--keep",
        "1",
        "--untagged",
        "--dry-run",
    ];
    rest.extend(filter);
    let run = acr(args(&reg, admin, &rest)).await;
    assert_eq!(run.code, 0, "{run:?}");
    let json = run.json();
    let names = |v: &serde_json::Value, field: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e[field].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(json["dryRun"], true);
    assert_eq!(names(&json["tags"], "tag"), ["v3", "v1"], "{json}");
    let mut expected = vec![digests["v1"].clone(), digests["v3"].clone()];
    expected.sort();
    let mut manifests = names(&json["manifests"], "digest");
    manifests.sort();
    assert_eq!(manifests, expected, "{json}");
    let skipped = json["skipped"].as_array().unwrap();
    let reason_of = |key: &str, value: &str| {
        skipped
            .iter()
            .find(|s| s[key] == value)
            .map(|s| s["reason"].as_str().unwrap().to_owned())
    };
    assert_eq!(reason_of("tag", "v2").as_deref(), Some("locked"));
    assert_eq!(
        reason_of("digest", &tmp.manifest_digest).as_deref(),
        Some("locked")
    );
    assert_eq!(
        reason_of("digest", &referrer_digest).as_deref(),
        Some("refers to a kept manifest")
    );
    assert_eq!(emu.tags("team/app").len(), 5, "a dry run deletes nothing");

    // The real run does what the dry run said.
    let mut rest = vec!["purge", "--ago", "0", "--keep", "1", "--untagged"];
    rest.extend(filter);
    let run = acr(args(&reg, admin, &rest)).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["summary"]["tagsDeleted"], 2);
    assert_eq!(run.json()["summary"]["manifestsDeleted"], 2);
    assert_eq!(emu.tags("team/app"), ["latest", "v2", "v4"]);
    assert!(emu.manifest("team/app", &digests["v1"]).is_none());
    assert!(emu.manifest("team/app", &digests["v3"]).is_none());
    assert!(emu.manifest("team/app", &referrer_digest).is_some());
    assert!(emu.manifest("team/app", &tmp.manifest_digest).is_some());
    assert_eq!(emu.tags("other/app"), ["v1"], "not matched by the filter");

    // Usage errors: a filter without ':', a bad expression, a bad duration, no --ago.
    for bad in [
        vec!["purge", "--ago", "1d", "--filter", "team"],
        vec!["purge", "--ago", "1d", "--filter", "team:("],
        vec!["purge", "--ago", "1w", "--filter", "team:.*"],
        vec!["purge", "--filter", "team:.*"],
    ] {
        let run = acr(args(&reg, admin, &bad)).await;
        assert_eq!(run.code, 2, "{bad:?}: {run:?}");
    }
    emu.shutdown().await;
}

/// start, chunk, status, chunk, complete, then the blob is there with the file's bytes; and a
/// cancelled session is gone. `creds` for the registry at `reg`.
async fn upload_steps(reg: &str, creds: Option<(&str, &str)>, repo: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("blob.bin");
    let data: Vec<u8> = (0..150_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&file, &data).unwrap();
    let f = file.to_str().unwrap();

    let run = acr(args(reg, creds, &["upload", "start", repo])).await;
    assert_eq!(run.code, 0, "{run:?}");
    let loc = run.json()["location"].as_str().unwrap().to_owned();
    let run = acr(args(
        reg,
        creds,
        &[
            "upload", "chunk", &loc, f, "--offset", "0", "--length", "100000",
        ],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["sent"], 100_000);
    assert_eq!(run.json()["range"], "0-99999");
    let loc = run.json()["location"].as_str().unwrap().to_owned();
    let run = acr(args(reg, creds, &["upload", "status", &loc])).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["range"], "0-99999");
    let run = acr(args(
        reg,
        creds,
        &["upload", "chunk", &loc, f, "--offset", "100000"],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["sent"], 50_000);
    let loc = run.json()["location"].as_str().unwrap().to_owned();
    let run = acr(args(reg, creds, &["upload", "complete", &loc, "--file", f])).await;
    assert_eq!(run.code, 0, "{run:?}");
    let digest = run.json()["digest"].as_str().unwrap().to_owned();
    assert_eq!(digest, acr_tests::emulator::sha256_digest(&data));
    let out = dir.path().join("back.bin");
    let run = acr(args(
        reg,
        creds,
        &["blob", "pull", repo, &digest, "-o", out.to_str().unwrap()],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(std::fs::read(&out).unwrap(), data);

    // A cancelled session is unknown afterwards (exit 3).
    let run = acr(args(reg, creds, &["upload", "start", repo])).await;
    let loc = run.json()["location"].as_str().unwrap().to_owned();
    let run = acr(args(reg, creds, &["upload", "cancel", &loc])).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["cancelled"], true);
    let run = acr(args(reg, creds, &["upload", "status", &loc])).await;
    assert_eq!(run.code, 3, "{run:?}");
    // Bad input: an offset past the end, a location that is not one.
    let run = acr(args(
        reg,
        creds,
        &[
            "upload",
            "chunk",
            "/v2/x/blobs/uploads/u",
            f,
            "--offset",
            "999999",
        ],
    ))
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    let run = acr(args(reg, creds, &["upload", "status", "not a location"])).await;
    assert_eq!(run.code, 2, "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_upload_session_step_by_step() {
    let emu = emulator().await;
    upload_steps(&emu.endpoint(), Some((USER, PASSWORD)), "team/steps").await;
    assert_eq!(emu.upload_sessions(), 0, "no session left open");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_registry_upload_session_step_by_step() {
    let Some(registry) = RealRegistry::start(Flavour::Open)
        .await
        .expect("docker-registry starts")
    else {
        return; // the harness printed why (docker-registry not installed)
    };
    upload_steps(&registry.endpoint(), None, "real/steps").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_token_refresh_access_and_login_redact_unless_asked() {
    let emu = Emulator::builder()
        .admin(USER, PASSWORD)
        .aad_token("aad-token-for-cli-tests")
        .start()
        .await
        .unwrap();
    emu.put_image("team/app", "v1", "amd64", "linux").unwrap();
    let reg = emu.endpoint();
    let admin = Some((USER, PASSWORD));
    let scope = ["--scope", "repository:team/app:pull"];

    // login: user and password for an access token; redacted unless --show-secret.
    let mut rest = vec!["token", "login"];
    rest.extend(scope);
    let run = acr(args(&reg, admin, &rest)).await;
    assert_eq!(run.code, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["accessToken"], "<redacted>");
    assert_eq!(json["redacted"], true);
    assert!(json["expiresOn"].is_string(), "{json}");
    assert_eq!(json["access"][0]["name"], "team/app", "{json}");
    rest.push("--show-secret");
    let run = acr(args(&reg, admin, &rest)).await;
    let token = run.json()["accessToken"].as_str().unwrap().to_owned();
    let claims = acr_tests::emulator::decode_claims(&token).expect("a JWT");
    assert_eq!(claims["access"][0]["actions"][0], "pull", "{claims}");
    let run = acr(args(&reg, Some((USER, "wrong")), &rest)).await;
    assert_eq!(run.code, 4, "{run:?}");

    // refresh: an AAD token for a refresh token, then access with it.
    let run = acr(args(
        &reg,
        None,
        &[
            "token",
            "refresh",
            "--aad-access-token",
            "aad-token-for-cli-tests",
            "--show-secret",
        ],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let refresh = run.json()["refreshToken"].as_str().unwrap().to_owned();
    let mut rest = vec!["--refresh-token", refresh.as_str(), "token", "access"];
    rest.extend(scope);
    let run = acr(args(&reg, None, &rest)).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["accessToken"], "<redacted>");
    assert!(!run.stdout.contains(&refresh) && !run.stderr.contains(&refresh));
    // In table form the redacted output names what the token grants.
    let mut table = vec![
        "--registry".to_owned(),
        reg.clone(),
        "--refresh-token".into(),
        refresh.clone(),
        "token".into(),
        "access".into(),
    ];
    table.extend(scope.iter().map(|s| (*s).to_owned()));
    let run = acr(table).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("<redacted>"), "{run:?}");
    assert!(run.stdout.contains("repository:team/app:pull"), "{run:?}");

    // Bad tokens are refused (exit 4); a credential of the wrong kind is a usage error.
    let run = acr(args(
        &reg,
        None,
        &["token", "refresh", "--aad-access-token", "forged"],
    ))
    .await;
    assert_eq!(run.code, 4, "{run:?}");
    let mut rest = vec!["--refresh-token", "forged", "token", "access"];
    rest.extend(scope);
    let run = acr(args(&reg, None, &rest)).await;
    assert_eq!(run.code, 4, "{run:?}");
    let mut rest = vec!["token", "access"];
    rest.extend(scope);
    let run = acr(args(&reg, admin, &rest)).await;
    assert_eq!(run.code, 2, "{run:?}");
    emu.shutdown().await;
}

/// Starts `acr` with `args` in the background (stdout and stderr piped).
fn spawn_acr(args: Vec<String>) -> std::process::Child {
    use std::process::Stdio;
    Command::new(env!("CARGO_BIN_EXE_acr"))
        .args(&args)
        .env_remove("ACR_LOG")
        .env("DOCKER_CONFIG", "/nonexistent/acr-cli-tests")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs")
}

/// Waits (bounded) until the emulator has logged a request for which `seen` holds, then sends
/// SIGINT to `child` and returns its outcome.
async fn interrupt_when(
    emu: &Emulator,
    child: std::process::Child,
    seen: impl Fn(&acr_tests::emulator::LoggedRequest) -> bool,
) -> Run {
    let mut reached = false;
    for _ in 0..600 {
        if emu.log().iter().any(&seen) {
            reached = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(reached, "the transfer started: {:?}", emu.log());
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    Run {
        code: output
            .status
            .code()
            .expect("an exit code: the signal was handled"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_cancels_the_upload_session_and_leaves_no_partial_pull() {
    use acr_tests::emulator::Fault;
    let emu = emulator().await;
    let reg = emu.endpoint();
    let admin = Some((USER, PASSWORD));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.bin");
    let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 241) as u8).collect();
    std::fs::write(&file, &data).unwrap();
    // Every chunk is slow, so the upload is still running when Ctrl-C comes.
    emu.inject(
        Fault::on("PATCH", "/v2/*/blobs/uploads/*")
            .always()
            .delay(std::time::Duration::from_millis(100)),
    );
    let child = spawn_acr(args(
        &reg,
        admin,
        &[
            "blob",
            "push",
            "team/big",
            file.to_str().unwrap(),
            "--chunk-size",
            "16KiB",
        ],
    ));
    let run = interrupt_when(&emu, child, |r| r.method == "PATCH").await;
    assert_eq!(run.code, 130, "{run:?}");
    assert!(
        run.stderr.contains("the upload session was cancelled"),
        "{run:?}"
    );
    assert!(
        emu.log()
            .iter()
            .any(|r| r.method == "DELETE" && r.path.contains("/blobs/uploads/")),
        "the session was cancelled with DELETE"
    );
    assert_eq!(emu.upload_sessions(), 0);
    let digest = acr_tests::emulator::sha256_digest(&data);
    assert!(emu.blob("team/big", &digest).is_none());
    emu.clear_faults();

    // An interrupted image push: every parallel upload stops and cancels its session.
    let many = dir.path().join("many");
    write_layout(&many, "v1", &[400_000, 400_000, 400_000, 400_000]);
    emu.clear_log();
    emu.inject(
        Fault::on("PATCH", "/v2/*/blobs/uploads/*")
            .always()
            .delay(std::time::Duration::from_millis(100)),
    );
    let child = spawn_acr(args(
        &reg,
        admin,
        &[
            "image",
            "push",
            many.to_str().unwrap(),
            "team/many:v1",
            "--chunk-size",
            "32KiB",
        ],
    ));
    let run = interrupt_when(&emu, child, |r| r.method == "PATCH").await;
    assert_eq!(run.code, 130, "{run:?}");
    assert_eq!(emu.upload_sessions(), 0, "every session was cancelled");
    assert!(emu.tags("team/many").is_empty());
    emu.clear_faults();

    // An interrupted image pull leaves no destination and no temporary folder.
    let src = dir.path().join("layout");
    write_layout(&src, "v1", &[1_000_000]);
    let run = acr(args(
        &reg,
        admin,
        &["image", "push", src.to_str().unwrap(), "team/big:v1"],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    emu.clear_log();
    emu.inject(
        Fault::on("GET", "/v2/*/blobs/*")
            .always()
            .delay(std::time::Duration::from_secs(30)),
    );
    let dest = dir.path().join("pulled");
    let child = spawn_acr(args(
        &reg,
        admin,
        &["image", "pull", "team/big:v1", dest.to_str().unwrap()],
    ));
    // The blob GETs are held by the fault (and logged only when answered): interrupt once the
    // manifest is in.
    let run = interrupt_when(&emu, child, |r| {
        r.method == "GET" && r.path.contains("/manifests/") && r.status == 200
    })
    .await;
    assert_eq!(run.code, 130, "{run:?}");
    assert!(!dest.exists(), "no partial destination");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".acr-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_bars_on_a_terminal_only() {
    if Command::new("script").arg("--version").output().is_err() {
        acr_tests::skip::skip("script (util-linux) is not installed: no pseudo-terminal");
        return;
    }
    let emu = emulator().await;
    let reg = emu.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("blob.bin");
    std::fs::write(&file, vec![7u8; 2_000_000]).unwrap();
    // Under `script`, stdout and stderr are a pseudo-terminal.
    let on_tty = |output: &str, repo: &str| {
        let line = format!(
            "{} --registry {reg} -u {USER} -p {PASSWORD} --output {output} blob push {repo} {} --chunk-size 64KiB",
            env!("CARGO_BIN_EXE_acr"),
            file.display()
        );
        let out = Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .env("DOCKER_CONFIG", "/nonexistent/acr-cli-tests")
            .env_remove("ACR_LOG")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let table = on_tty("table", "team/tty");
    assert!(table.contains("\u{1b}["), "a bar is drawn: {table:?}");
    assert!(table.contains("MiB"), "{table:?}");
    let json = on_tty("json", "team/tty2");
    assert!(
        !json.contains('\u{1b}'),
        "no escape codes with --output json: {json:?}"
    );
    assert!(json.trim().starts_with('{'), "{json:?}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_image_push_and_pull_of_a_multi_platform_index() {
    let emu = emulator().await;
    let reg = emu.endpoint();
    let admin = Some((USER, PASSWORD));
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("multi");
    let top_digest = multi_platform_layout(&src);

    let run = acr(args(
        &reg,
        admin,
        &["image", "push", src.to_str().unwrap(), "team/multi:v1"],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["digest"], top_digest.as_str());
    assert_eq!(json["manifests"], 3, "the index and its two images");
    assert_eq!(json["blobsTransferred"], 4);

    let dst = work.path().join("back");
    let run = acr(args(
        &reg,
        admin,
        &[
            "image",
            "pull",
            "team/multi:v1",
            dst.to_str().unwrap(),
            "--tag",
            "multi",
        ],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["manifests"], 3);
    assert_eq!(run.json()["blobsTransferred"], 4);
    assert_eq!(files_under(&src), files_under(&dst));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_registry_with_htpasswd_login_then_commands_without_credentials() {
    let flavour = Flavour::htpasswd("cli-user", "cli-Passw0rd");
    let Some(registry) = RealRegistry::start(flavour)
        .await
        .expect("docker-registry starts")
    else {
        return; // the harness printed why (docker-registry or htpasswd not installed)
    };
    let reg = registry.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let env = || vec![("DOCKER_CONFIG", dir.path().display().to_string())];
    let run = acr_with(
        args(&reg, Some(("cli-user", "nope")), &["login"]),
        env(),
        None,
    )
    .await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(!dir.path().join("config.json").exists(), "nothing written");
    let run = acr_with(
        args(&reg, Some(("cli-user", "cli-Passw0rd")), &["login"]),
        env(),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let layout = dir.path().join("layout");
    let digest = write_layout(&layout, "v1", &[5_000]);
    let run = acr_with(
        args(
            &reg,
            None,
            &["image", "push", layout.to_str().unwrap(), "real/app:v1"],
        ),
        env(),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["digest"], digest.as_str());
    let run = acr_with(args(&reg, None, &["logout"]), env(), None).await;
    assert_eq!(run.code, 0, "{run:?}");
    let run = acr_with(args(&reg, None, &["tag", "list", "real/app"]), env(), None).await;
    assert_eq!(run.code, 4, "{run:?}");
}

/// An OCI layout at `dir` holding an index of two platforms (linux/amd64, linux/arm64), each an
/// image of a config and one layer, tagged `multi`; returns the index's digest.
fn multi_platform_layout(dir: &std::path::Path) -> String {
    use acr::image::OciLayout;
    use acr::manifest::{ImageIndex, ImageManifest, Platform};
    let layout = OciLayout::create(dir).unwrap();
    let mut children = Vec::new();
    for (os, arch) in [("linux", "amd64"), ("linux", "arm64")] {
        let config = layout
            .add_blob(
                "application/vnd.oci.image.config.v1+json",
                format!(r#"{{"architecture":"{arch}","os":"{os}","rootfs":{{"type":"layers","diff_ids":[]}}}}"#).as_bytes(),
            )
            .unwrap();
        let layer = layout
            .add_blob(
                "application/vnd.oci.image.layer.v1.tar",
                format!("layer for {arch}").repeat(5000).as_bytes(),
            )
            .unwrap();
        let manifest = ImageManifest::new(config, vec![layer]);
        let d = layout
            .add_blob(manifest.media_type(), &manifest.to_bytes())
            .unwrap();
        children.push(d.with_platform(Platform::new(os, arch)));
    }
    let index = ImageIndex::new(children);
    let top = layout
        .add_blob(index.media_type(), &index.to_bytes())
        .unwrap();
    let digest = top.digest.as_str().to_owned();
    layout.tag("multi", top).unwrap();
    digest
}

/// `image copy`: within one registry by mount, to another registry named in the reference
/// (a second docker-registry process), one platform of an index, and bad platforms refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_registries_image_copy_within_by_mount_between_and_one_platform() {
    let Some(a) = RealRegistry::start(Flavour::Open)
        .await
        .expect("docker-registry starts")
    else {
        return; // the harness printed why (docker-registry not installed)
    };
    let Some(b) = RealRegistry::start(Flavour::Open)
        .await
        .expect("a second docker-registry starts")
    else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("multi");
    let top_digest = multi_platform_layout(&src);
    let reg = a.endpoint();
    let run = acr(args(
        &reg,
        None,
        &["image", "push", src.to_str().unwrap(), "team/multi:v1"],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");

    // within a registry: every blob mounted, none sent
    let run = acr(args(
        &reg,
        None,
        &["image", "copy", "team/multi:v1", "team/copy:v1"],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["digest"], top_digest.as_str());
    assert_eq!(json["manifests"], 3);
    assert_eq!(json["blobsMounted"], 4, "{json}");
    assert_eq!(json["blobsTransferred"], 0, "{json}");

    // to another registry, named in the destination reference
    let other = format!("{}/other/multi:v2", b.host());
    let run = acr(args(
        &reg,
        None,
        &["image", "copy", "team/multi:v1", &other],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["digest"], top_digest.as_str());
    assert_eq!(json["blobsTransferred"], 4, "{json}");
    assert_eq!(json["destination"]["registry"], b.endpoint().as_str());
    let back = work.path().join("back");
    let run = acr(args(
        &b.endpoint(),
        None,
        &[
            "image",
            "pull",
            "other/multi:v2",
            back.to_str().unwrap(),
            "--tag",
            "multi",
        ],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        files_under(&src),
        files_under(&back),
        "the copy is byte-identical"
    );

    // one platform of the index
    let arm = format!("{}/other/arm:v1", b.host());
    let run = acr(args(
        &reg,
        None,
        &[
            "image",
            "copy",
            "team/multi:v1",
            &arm,
            "--platform",
            "linux/arm64",
        ],
    ))
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["manifests"], 1, "{json}");
    assert_ne!(
        json["digest"],
        top_digest.as_str(),
        "the arm64 image, not the index"
    );

    let run = acr(args(
        &reg,
        None,
        &[
            "image",
            "copy",
            "team/multi:v1",
            "team/x:v1",
            "--platform",
            "linux",
        ],
    ))
    .await;
    assert_eq!(
        run.code, 2,
        "a platform without an architecture is a usage error: {run:?}"
    );
    let run = acr(args(
        &reg,
        None,
        &[
            "image",
            "copy",
            "team/multi:v1",
            "team/x:v1",
            "--platform",
            "windows/amd64",
        ],
    ))
    .await;
    assert_ne!(run.code, 0, "no such platform in the index: {run:?}");
}

/// `blob push` of a file over 32 MiB starts uploading at once and hashes the file beside it;
/// when the digest shows the registry has the blob, the upload stops after the chunk in
/// flight, its session is cancelled, and the push reports `skipped`. The registry's answers
/// to each chunk are slowed so the digest pass surely ends first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_blob_push_hashes_beside_the_upload_and_stops_it_when_the_registry_has_the_blob() {
    use acr_tests::emulator::Fault;
    let emu = emulator().await;
    let reg = emu.endpoint();
    let admin = Some((USER, PASSWORD));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("large.bin");
    let data: Vec<u8> = (0..40u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&file, &data).unwrap();
    let digest = acr_tests::emulator::sha256_digest(&data);
    let push = || {
        acr(args(
            &reg,
            admin,
            &["blob", "push", "team/large", file.to_str().unwrap()],
        ))
    };
    // first push: sent, whole (the digest pass ends before or after: either way it is sent)
    let run = push().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["method"], "sent", "{run:?}");
    assert_eq!(run.json()["digest"], digest.as_str(), "{run:?}");
    assert!(emu.blob("team/large", &digest).is_some());
    // second push, each chunk answered after 2 s: the digest pass wins, the upload stops
    emu.inject(
        Fault::on("PATCH", "/v2/*/blobs/uploads/*")
            .always()
            .delay(std::time::Duration::from_secs(2)),
    );
    let run = push().await;
    emu.clear_faults();
    let log = emu.log();
    let trace: Vec<String> = log
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["method"], "skipped", "{run:?} {trace:#?}");
    assert_eq!(run.json()["digest"], digest.as_str(), "{run:?}");
    assert_eq!(run.json()["size"], 40u64 << 20, "{run:?}");
    let patches = log.iter().filter(|r| r.method == "PATCH").count();
    assert!(
        patches < 3 + 3,
        "the second upload stopped before its third chunk ({patches} PATCHes in all)"
    );
    assert!(
        log.iter()
            .any(|r| r.method == "DELETE" && r.path.contains("/blobs/uploads/")),
        "the stopped upload's session was cancelled"
    );
    assert_eq!(emu.upload_sessions(), 0);
}

/// `blob push --digest D`: the file is not hashed first; the upload checks its bytes against
/// `D`, so a wrong digest fails the push and stores nothing, and a right one pushes (and is
/// skipped the next time).
#[tokio::test]
async fn blob_push_with_a_given_digest_checks_the_bytes_against_it() {
    let emu = emulator().await;
    let reg = emu.endpoint();
    let admin = Some((USER, PASSWORD));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("given.bin");
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &data).unwrap();
    let right = acr_tests::emulator::sha256_digest(&data);
    let wrong = acr_tests::emulator::sha256_digest(b"something else");
    let push = |d: &str| {
        acr(args(
            &reg,
            admin,
            &[
                "blob",
                "push",
                "team/given",
                file.to_str().unwrap(),
                "--digest",
                d,
            ],
        ))
    };
    let run = push(wrong.as_str()).await;
    assert_ne!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("digest") || run.stderr.contains("digest"),
        "{run:?}"
    );
    assert!(emu.blob("team/given", &wrong).is_none());
    assert!(emu.blob("team/given", &right).is_none());
    assert_eq!(
        emu.upload_sessions(),
        0,
        "the failed upload's session was cancelled"
    );
    let run = push(right.as_str()).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["method"], "sent", "{run:?}");
    assert_eq!(run.json()["digest"], right.as_str(), "{run:?}");
    assert!(emu.blob("team/given", &right).is_some());
    let run = push(right.as_str()).await;
    assert_eq!(run.json()["method"], "skipped", "{run:?}");
    let run = push("sha256:nothex").await;
    assert_eq!(run.code, 2, "a malformed digest is a usage error: {run:?}");
}
