//! The real-registry harness: both flavours start, answer `/v2/` as configured, and hold a blob.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap (see notes/COMMON.md)

use acr_tests::registry::{Flavour, RealRegistry};
use sha2::{Digest as _, Sha256};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn open_registry_answers_v2_with_200() {
    let Some(registry) = RealRegistry::start(Flavour::Open).await.unwrap() else {
        return;
    };
    assert!(registry.endpoint().starts_with("http://127.0.0.1:"));
    assert_eq!(registry.credentials(), None);
    let resp = client()
        .get(format!("{}/v2/", registry.endpoint()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["docker-distribution-api-version"],
        "registry/2.0"
    );
}

#[tokio::test]
async fn htpasswd_registry_challenges_basic_and_accepts_the_user() {
    let flavour = Flavour::htpasswd("tester", "s3cret-pass");
    let Some(registry) = RealRegistry::start(flavour).await.unwrap() else {
        return;
    };
    let url = format!("{}/v2/", registry.endpoint());

    let anonymous = client().get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let challenge = anonymous.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Basic "), "challenge: {challenge}");

    let wrong = client()
        .get(&url)
        .basic_auth("tester", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let (user, password) = registry.credentials().unwrap();
    let right = client()
        .get(&url)
        .basic_auth(user, Some(password))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
}

#[tokio::test]
async fn open_registry_stores_and_serves_a_blob() {
    let Some(registry) = RealRegistry::start(Flavour::Open).await.unwrap() else {
        return;
    };
    let base = registry.endpoint();
    let http = client();
    let data = b"hello from the acr-tests harness".to_vec();
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(&data)));

    let start = http
        .post(format!("{base}/v2/library/harness/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 202);
    let location = start.headers()["location"].to_str().unwrap().to_owned();
    // distribution answers with an absolute or relative Location; join either way.
    let location = if location.starts_with("http") {
        location
    } else {
        format!("{base}{location}")
    };
    let separator = if location.contains('?') { '&' } else { '?' };
    let put = http
        .put(format!("{location}{separator}digest={digest}"))
        .header("content-type", "application/octet-stream")
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201);
    assert_eq!(put.headers()["docker-content-digest"], digest.as_str());

    let get = http
        .get(format!("{base}/v2/library/harness/blobs/{digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
    assert_eq!(get.bytes().await.unwrap().as_ref(), data.as_slice());

    // The storage folder is the harness's own temporary folder.
    assert!(registry.storage_dir().join("docker").is_dir());
}

#[tokio::test]
async fn registry_is_stopped_when_dropped() {
    let Some(registry) = RealRegistry::start(Flavour::Open).await.unwrap() else {
        return;
    };
    let url = format!("{}/v2/", registry.endpoint());
    let storage = registry.storage_dir();
    drop(registry);
    assert!(client().get(&url).send().await.is_err());
    assert!(!storage.exists());
}

#[tokio::test]
async fn missing_binary_skips_or_fails_when_required() {
    use acr_tests::registry::{HarnessError, StartOptions};
    let mut options = StartOptions {
        registry_bin: Some("/nonexistent/docker-registry".into()),
        require: false,
        schema1: false,
    };
    let skipped = RealRegistry::start_with(Flavour::Open, &options)
        .await
        .unwrap();
    assert!(skipped.is_none());

    options.require = true;
    let err = RealRegistry::start_with(Flavour::Open, &options)
        .await
        .unwrap_err();
    assert!(matches!(err, HarnessError::Required { .. }), "{err:?}");
    assert!(err.to_string().contains("REQUIRE_REAL_REGISTRY=1"), "{err}");
}
