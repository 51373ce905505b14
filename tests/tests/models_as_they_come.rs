//! Models and manifests as registries really send them (field-faults issue §5):
//!
//! * JSON `null` for a list or map reads as empty: ACR's tag list of a repository whose tags
//!   were all deleted (`"tags": null`, the emulator answers as ACR does), and manifests
//!   `docker-registry` stores and serves with `"layers": null`, `"annotations": null`,
//!   `"manifests": null` (pushed raw to the real registry and read back);
//! * date-times with any number of fraction digits, `z`, an offset or none;
//! * a body that does not fit names the JSON path of the bad value;
//! * digests in the reference's algorithm: `sha512` on a loopback registry that supports it
//!   (`docker-registry` 2.8 does not: it refuses a `sha512` manifest PUT with `DIGEST_INVALID`,
//!   checked here too);
//! * schema 1 signed manifests pushed by `skopeo copy --format v2s1` to `docker-registry` with
//!   schema 1 enabled, read by tag and by digest, verified over the JWS payload.
//!
//! The real-registry tests skip with a printed reason when `docker-registry` (or `skopeo`) is
//! absent, unless `REQUIRE_REAL_REGISTRY=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap (see notes/COMMON.md)

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use acr::Client;
use acr::manifest::{
    DOCKER_MANIFEST, DOCKER_MANIFEST_V1_SIGNED, ImageIndex, ImageManifest, ManifestKind,
    OCI_EMPTY_CONTENT, OCI_INDEX, OCI_MANIFEST, v1_payload,
};
use acr_runtime::blob::UploadSource;
use acr_runtime::http::Method;
use acr_runtime::{Credential, Digest, Error, Reference, RepositoryName, Request};
use acr_tests::registry::{Flavour, REQUIRE_ENV, RealRegistry, StartOptions};
use acr_tests::transfers::{Transfers as _, UploadOptions};
use bytes::Bytes;
use futures_util::TryStreamExt as _;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// null collections

/// ACR answers `"tags": null` for a repository whose tags were all deleted; `get_tags` and
/// `into_stream()` read it as empty. One more of the class: a repository whose only tag is
/// hidden from listings (`listEnabled=false`) answers an empty page the same way.
#[tokio::test]
async fn acr_tag_list_with_null_tags_reads_as_empty() {
    let emulator = common::start_emulator().await;
    emulator
        .put_image("nulls/deleted", "v1", "amd64", "linux")
        .unwrap();
    emulator
        .put_image("nulls/deleted", "v2", "arm64", "linux")
        .unwrap();
    emulator
        .put_image("nulls/hidden", "v1", "amd64", "linux")
        .unwrap();
    let client = common::emulator_client(&emulator);
    for tag in ["v1", "v2"] {
        client.delete_tag("nulls/deleted", tag).await.unwrap();
    }
    client
        .update_tag_attributes("nulls/hidden", "v1")
        .value(acr::models::TagChangeableAttributes {
            list_enabled: Some(false),
            ..Default::default()
        })
        .await
        .unwrap();

    for repo in ["nulls/deleted", "nulls/hidden"] {
        // the wire: `"tags": null`, as ACR sends it
        let raw = client
            .transport()
            .send(
                Request::new("get_tags", Method::GET, format!("/acr/v1/{repo}/_tags"))
                    .scope(format!("repository:{repo}:metadata_read")),
            )
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&raw.body).unwrap();
        assert_eq!(body["tags"], Value::Null, "{repo}: {body}");
        assert_eq!(body["imageName"], repo);

        let page = client.get_tags(repo).await.unwrap();
        assert!(page.body.tags.is_empty(), "{repo}");
        let all: Vec<_> = client
            .get_tags(repo)
            .n(1)
            .into_stream()
            .try_collect()
            .await
            .unwrap();
        assert!(all.is_empty(), "{repo}: {all:?}");
    }
}

/// Uploads `bytes` as a blob of `repo`.
async fn push_blob(client: &Client, repo: &RepositoryName, bytes: Bytes) -> Digest {
    client
        .transport()
        .upload_blob(repo, UploadSource::Bytes(bytes), UploadOptions::default())
        .await
        .unwrap()
        .digest
}

/// Manifests `docker-registry` accepts, stores and serves byte for byte with `null` lists and
/// maps (Go's nil): an OCI manifest, a Docker schema 2 manifest and an OCI index.
#[tokio::test]
async fn docker_registry_manifests_with_null_collections_parse() {
    let Some(registry) = common::start_registry(Flavour::Open).await else {
        return;
    };
    let client = common::registry_client(&registry);
    let repo = RepositoryName::new("nulls/manifests").unwrap();
    let config = push_blob(&client, &repo, Bytes::from_static(OCI_EMPTY_CONTENT)).await;
    let docs = [
        (
            "oci",
            OCI_MANIFEST,
            json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
                "layers": null, "annotations": null}),
        ),
        (
            "docker",
            DOCKER_MANIFEST,
            json!({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": config, "size": 2, "urls": null, "annotations": null},
                "layers": null}),
        ),
        (
            "index",
            OCI_INDEX,
            json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": null, "annotations": null}),
        ),
    ];
    for (tag, media_type, doc) in docs {
        let bytes = Bytes::from(serde_json::to_vec(&doc).unwrap());
        let reference = Reference::new(tag).unwrap();
        let digest = client
            .transport()
            .put_manifest(&repo, &reference, bytes.clone(), media_type)
            .await
            .unwrap();
        for r in [reference, Reference::from(digest.clone())] {
            let got = client.transport().get_manifest(&repo, &r).await.unwrap();
            assert_eq!(got.bytes, bytes, "{tag}: served as stored, nulls and all");
            assert_eq!(got.digest, digest);
            match got.parse().unwrap() {
                ManifestKind::Image(m) => {
                    assert!(m.layers.is_empty() && m.annotations.is_empty(), "{tag}");
                    assert!(m.config.urls.is_empty() && m.config.annotations.is_empty());
                    assert_eq!(m.config.digest, config);
                }
                ManifestKind::Index(i) => {
                    assert!(i.manifests.is_empty() && i.annotations.is_empty(), "{tag}");
                }
                other => panic!("{tag}: {other:?}"),
            }
        }
    }
    // The typed views write the same documents back with the nulls as empty lists or left out.
    let m = ImageManifest::docker(
        acr::manifest::Descriptor::new(acr::manifest::DOCKER_CONFIG, config, 2),
        Vec::new(),
    );
    let written = m.to_bytes();
    let digest = client
        .transport()
        .put_manifest(
            &repo,
            &Reference::new("typed").unwrap(),
            written.clone(),
            m.media_type(),
        )
        .await
        .unwrap();
    assert_eq!(digest.as_str(), common::sha256(&written));
    let _ = ImageIndex::new(Vec::new());
}

// ---------------------------------------------------------------------------------------------
// date-times and JSON paths, on a loopback server that answers one fixed body

/// Serves `body` as JSON for every request.
async fn serve_json(body: Value) -> (String, tokio::task::JoinHandle<()>) {
    let app = axum::Router::new().fallback(move || {
        let body = body.clone();
        async move { axum::Json(body) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, task)
}

fn tag(name: &str, digest: &str, created: &str) -> Value {
    json!({"name": name, "digest": digest, "createdTime": created,
        "lastUpdateTime": "2022-12-13T09:17:12Z",
        "changeableAttributes": {"deleteEnabled": true}})
}

/// Date-times as services send them all read; the instant is the same.
#[tokio::test]
async fn date_times_with_any_fraction_offset_or_none_read() {
    let d = format!("sha256:{}", "a".repeat(64));
    let forms = [
        "2022-12-13T09:17:12.6157503Z",
        "2022-12-13T09:17:12.6157503z",
        "2022-12-13T09:17:12.6157503",
        "2022-12-13T10:47:12.6157503+01:30",
        "2022-12-13T09:17:12.615750300000Z",
    ];
    let tags: Vec<Value> = forms
        .iter()
        .enumerate()
        .map(|(i, f)| tag(&format!("t{i}"), &d, f))
        .collect();
    let (url, task) = serve_json(json!({"imageName": "r", "tags": tags})).await;
    let client = Client::builder(&url)
        .credential(Credential::Anonymous)
        .build()
        .unwrap();
    let page = client.get_tags("r").await.unwrap();
    let want: jiff::Timestamp = "2022-12-13T09:17:12.6157503Z".parse().unwrap();
    assert_eq!(page.body.tags.len(), forms.len());
    for (t, form) in page.body.tags.iter().zip(forms) {
        assert_eq!(t.created_time, want, "{form}");
    }
    task.abort();
}

/// A tag list whose fourth tag has a bad digest fails naming `tags[3].digest`; one more of
/// the class: a bad date-time in a nested model names its path too.
#[tokio::test]
async fn a_bad_value_names_its_json_path() {
    let d = format!("sha256:{}", "a".repeat(64));
    let mut tags: Vec<Value> = (0..3)
        .map(|i| tag(&format!("t{i}"), &d, "2022-12-13T09:17:12Z"))
        .collect();
    tags.push(tag("t3", "sha256:not-hex", "2022-12-13T09:17:12Z"));
    let (url, task) = serve_json(json!({"imageName": "r", "tags": tags})).await;
    let client = Client::builder(&url)
        .credential(Credential::Anonymous)
        .build()
        .unwrap();
    let e = client.get_tags("r").await.unwrap_err();
    let text = e.to_string();
    assert!(text.contains("`tags[3].digest`"), "{text}");
    assert!(
        text.contains("invalid digest"),
        "serde's message is kept: {text}"
    );
    task.abort();

    let (url, task) = serve_json(json!({"imageName": "r", "tag": tag("t", &d, "yesterday")})).await;
    let client = Client::builder(&url)
        .credential(Credential::Anonymous)
        .build()
        .unwrap();
    let e = client.get_tag_properties("r", "t").await.unwrap_err();
    assert!(e.to_string().contains("`tag.createdTime`"), "{e}");
    task.abort();
}

// ---------------------------------------------------------------------------------------------
// sha512

/// A registry that keys manifests by the digest in the algorithm of the reference it was put
/// by (the OCI distribution spec lets a registry support `sha512`), and reports that digest.
#[derive(Clone, Default)]
struct Sha512Registry {
    manifests: Arc<Mutex<HashMap<String, (String, Bytes)>>>,
    /// Serve this body instead of the stored one.
    tamper: Arc<Mutex<Option<Bytes>>>,
}

async fn start_sha512_registry() -> (String, Sha512Registry, tokio::task::JoinHandle<()>) {
    use axum::body::Body;
    use axum::extract::{Path, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};

    async fn put(
        State(st): State<Sha512Registry>,
        Path((name, reference)): Path<(String, String)>,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        let algorithm = reference.split_once(':').map_or("sha256", |(a, _)| a);
        let digest = Digest::compute(algorithm, &body).unwrap();
        if reference.contains(':') && reference != digest.as_str() {
            return (StatusCode::BAD_REQUEST, "DIGEST_INVALID").into_response();
        }
        let ct = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let mut m = st.manifests.lock().unwrap();
        for key in [reference.clone(), digest.to_string()] {
            m.insert(format!("{name}@{key}"), (ct.clone(), body.clone()));
        }
        Response::builder()
            .status(201)
            .header("docker-content-digest", digest.as_str())
            .body(Body::empty())
            .unwrap()
    }
    async fn get(
        State(st): State<Sha512Registry>,
        Path((name, reference)): Path<(String, String)>,
    ) -> Response {
        let Some((ct, body)) = st
            .manifests
            .lock()
            .unwrap()
            .get(&format!("{name}@{reference}"))
            .cloned()
        else {
            return StatusCode::NOT_FOUND.into_response();
        };
        let algorithm = reference.split_once(':').map_or("sha256", |(a, _)| a);
        let digest = Digest::compute(algorithm, &body).unwrap();
        let body = st.tamper.lock().unwrap().clone().unwrap_or(body);
        Response::builder()
            .status(200)
            .header("content-type", ct)
            .header("docker-content-digest", digest.as_str())
            .body(Body::from(body))
            .unwrap()
    }
    let st = Sha512Registry::default();
    let app = axum::Router::new()
        .route("/v2/", axum::routing::get(|| async { "{}" }))
        .route(
            "/v2/{name}/manifests/{reference}",
            axum::routing::put(put).get(get),
        )
        .with_state(st.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, st, task)
}

/// Put and get by a `sha512:` reference verify with sha512, and `Manifest.digest` is in that
/// algorithm; a body that does not match is refused as a sha512 mismatch.
#[tokio::test]
async fn sha512_references_verify_with_sha512() {
    let (url, st, task) = start_sha512_registry().await;
    let client = Client::builder(&url)
        .credential(Credential::Anonymous)
        .build()
        .unwrap();
    let repo = RepositoryName::new("r").unwrap();
    let bytes = ImageManifest::new(acr::manifest::Descriptor::empty(), Vec::new()).to_bytes();
    let d512 = Digest::sha512(&bytes);
    let put = client
        .transport()
        .put_manifest(
            &repo,
            &Reference::from(d512.clone()),
            bytes.clone(),
            OCI_MANIFEST,
        )
        .await
        .unwrap();
    assert_eq!(put, d512);
    let got = client
        .transport()
        .get_manifest(&repo, &Reference::from(d512.clone()))
        .await
        .unwrap();
    assert_eq!(got.digest, d512);
    assert_eq!(got.bytes, bytes);
    // by tag the registry reports sha256 for what was stored by sha512: also checked
    client
        .transport()
        .put_manifest(
            &repo,
            &Reference::new("t").unwrap(),
            bytes.clone(),
            OCI_MANIFEST,
        )
        .await
        .unwrap();
    let by_tag = client
        .transport()
        .get_manifest(&repo, &Reference::new("t").unwrap())
        .await
        .unwrap();
    assert_eq!(by_tag.digest, Digest::sha256(&bytes));

    *st.tamper.lock().unwrap() = Some(Bytes::from_static(b"{\"schemaVersion\":2}"));
    let e = client
        .transport()
        .get_manifest(&repo, &Reference::from(d512.clone()))
        .await
        .unwrap_err();
    match e {
        Error::DigestMismatch {
            expected, actual, ..
        } => {
            assert_eq!(expected, d512.as_str());
            assert!(actual.starts_with("sha512:"), "{actual}");
        }
        other => panic!("{other:?}"),
    }
    // a sha512 reference that does not match the bytes is refused before sending
    let wrong = Digest::sha512(b"other");
    let e = client
        .transport()
        .put_manifest(&repo, &Reference::from(wrong), bytes, OCI_MANIFEST)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::DigestMismatch { .. }), "{e:?}");
    task.abort();
}

/// `docker-registry` 2.8 computes manifest digests in sha256 only: a PUT by a correct
/// `sha512:` reference leaves our client (no local refusal) and is refused by the registry with
/// `DIGEST_INVALID`. This pins the fact the sha512 test above relies on a loopback registry for.
#[tokio::test]
async fn docker_registry_refuses_sha512_manifest_references() {
    let Some(registry) = common::start_registry(Flavour::Open).await else {
        return;
    };
    let client = common::registry_client(&registry);
    let repo = RepositoryName::new("sha512/refused").unwrap();
    let config = push_blob(&client, &repo, Bytes::from_static(OCI_EMPTY_CONTENT)).await;
    let bytes = ImageManifest::new(
        acr::manifest::Descriptor::new(acr::manifest::OCI_EMPTY, config, 2),
        Vec::new(),
    )
    .to_bytes();
    let e = client
        .transport()
        .put_manifest(
            &repo,
            &Reference::from(Digest::sha512(&bytes)),
            bytes,
            OCI_MANIFEST,
        )
        .await
        .unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(400), "{e:?}");
    assert_eq!(
        e.code().map(|c| c.as_str()),
        Some("DIGEST_INVALID"),
        "{e:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// schema 1

/// skopeo from `PATH`, or `None` after printing why (a failure under `REQUIRE_REAL_REGISTRY=1`).
fn skopeo() -> Option<PathBuf> {
    let bin = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("skopeo"))
            .find(|candidate| candidate.is_file())
    });
    if bin.is_none() {
        assert!(
            std::env::var(REQUIRE_ENV).map_or(true, |v| v != "1"),
            "{REQUIRE_ENV}=1 but skopeo is not installed (Debian: apt-get install skopeo)"
        );
        println!("skipping: skopeo not installed");
    }
    bin
}

/// Writes a one-layer image as an OCI layout at `dir`, tagged `v1`. Its config has a
/// `history`, which skopeo needs to convert it to schema 1.
fn write_layout(dir: &Path) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let digest = common::sha256(bytes);
        std::fs::write(blobs.join(&digest[7..]), bytes).unwrap();
        digest
    };
    let layer = common::image::pseudo_random("schema1/layer", 3000);
    let layer_digest = put(&layer);
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        "history": [{"created_by": "acr-rs test"}],
    }))
    .unwrap();
    let config_digest = put(&config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer.len()}],
    }))
    .unwrap();
    let manifest_digest = put(&manifest);
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": [{
            "mediaType": OCI_MANIFEST, "digest": manifest_digest, "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": "v1"}}]}))
        .unwrap(),
    )
    .unwrap();
}

/// An image pushed by `skopeo copy --format v2s1` to docker-registry with schema 1 enabled is
/// read by tag and by digest, verified over its JWS payload: the registry re-signs on every
/// GET, so the bytes differ between two reads while the digest does not.
#[tokio::test]
async fn schema1_signed_manifest_verifies_by_tag_and_digest() {
    let Some(bin) = skopeo() else {
        return;
    };
    let options = StartOptions {
        schema1: true,
        ..StartOptions::from_env()
    };
    let Some(registry) = RealRegistry::start_with(Flavour::Open, &options)
        .await
        .expect("docker-registry starts")
    else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    write_layout(&layout);
    let policy = work.path().join("policy.json");
    std::fs::write(
        &policy,
        r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
    )
    .unwrap();
    // skopeo is a separate process: blocking this test's thread while it runs is harmless.
    let out = std::process::Command::new(&bin)
        .arg("--policy")
        .arg(&policy)
        .args(["copy", "--format", "v2s1", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:v1", layout.display()))
        .arg(format!("docker://{}/schema1/img:v1", registry.host()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo copy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let client = common::registry_client(&registry);
    let repo = RepositoryName::new("schema1/img").unwrap();
    let by_tag = client
        .transport()
        .get_manifest(&repo, &Reference::new("v1").unwrap())
        .await
        .unwrap();
    assert_eq!(by_tag.media_type, DOCKER_MANIFEST_V1_SIGNED);
    let payload = v1_payload(&by_tag.bytes).expect("a signed schema 1 manifest");
    assert_eq!(by_tag.digest, Digest::sha256(&payload));
    assert_ne!(
        by_tag.digest,
        Digest::sha256(&by_tag.bytes),
        "the digest is over the payload, not the signed bytes"
    );
    let by_digest = client
        .transport()
        .get_manifest(&repo, &Reference::from(by_tag.digest.clone()))
        .await
        .unwrap();
    assert_eq!(by_digest.digest, by_tag.digest);
    assert_eq!(v1_payload(&by_digest.bytes).unwrap(), payload);
    match by_digest.parse().unwrap() {
        ManifestKind::V1(m) => {
            assert_eq!(m.name, "schema1/img");
            assert_eq!(m.fs_layers.len(), 1);
            assert!(!m.signatures.is_empty());
        }
        other => panic!("{other:?}"),
    }
}
