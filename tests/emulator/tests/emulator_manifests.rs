//! Manifests against the emulator: PUT/GET/HEAD/DELETE, nested names in both encodings,
//! validation, delete by tag, and the attributes derived from the config blob.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap (see notes/COMMON.md)

#[path = "emulator_support/mod.rs"]
mod support;

use acr_emulator::{DOCKER_MANIFEST, Emulator, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, sha256_digest};
use support::*;

/// Stores a config and a layer in `name`; returns an OCI manifest referencing them.
fn image_manifest(emulator: &Emulator, name: &str, arch: &str) -> String {
    let config = format!(r#"{{"architecture":"{arch}","os":"linux"}}"#);
    let config_digest = emulator.put_blob(name, config.clone()).unwrap();
    let layer_digest = emulator.put_blob(name, format!("layer {arch}")).unwrap();
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"{OCI_CONFIG}","digest":"{config_digest}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer_digest}","size":{}}}]}}"#,
        config.len(),
        format!("layer {arch}").len()
    )
}

async fn put(emulator: &Emulator, path: &str, media_type: &str, body: &str) -> reqwest::Response {
    admin(http().put(url(emulator, path)))
        .header("content-type", media_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn put_then_get_by_tag_and_digest_returns_the_exact_bytes() {
    let emulator = start().await;
    let manifest = image_manifest(&emulator, "library/hello", "amd64");
    let digest = sha256_digest(manifest.as_bytes());
    let response = put(
        &emulator,
        "/v2/library%2Fhello/manifests/v1",
        OCI_MANIFEST,
        &manifest,
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_eq!(header(&response, "docker-content-digest"), digest);
    assert_eq!(
        header(&response, "location"),
        format!("/v2/library/hello/manifests/{digest}")
    );
    assert_eq!(header(&response, "content-length"), "0");

    for path in [
        "/v2/library/hello/manifests/v1".to_owned(),
        "/v2/library%2Fhello/manifests/v1".to_owned(),
        format!("/v2/library/hello/manifests/{digest}"),
    ] {
        let get = admin(http().get(url(&emulator, &path)))
            .header("accept", OCI_MANIFEST)
            .send()
            .await
            .unwrap();
        assert_eq!(get.status(), 200, "{path}");
        assert_eq!(header(&get, "content-type"), OCI_MANIFEST);
        assert_eq!(header(&get, "docker-content-digest"), digest);
        assert_eq!(header(&get, "etag"), format!("\"{digest}\""));
        assert_eq!(get.text().await.unwrap(), manifest);
    }
    let head = admin(http().head(url(&emulator, "/v2/library/hello/manifests/v1")))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(header(&head, "content-length"), manifest.len().to_string());
}

#[tokio::test]
async fn put_by_digest_checks_the_digest() {
    let emulator = start().await;
    let manifest = image_manifest(&emulator, "a", "amd64");
    let right = sha256_digest(manifest.as_bytes());
    let wrong = sha256_digest(b"x");
    let response = put(
        &emulator,
        &format!("/v2/a/manifests/{wrong}"),
        OCI_MANIFEST,
        &manifest,
    )
    .await;
    assert_eq!(response.status(), 400);
    assert_eq!(json(response).await["errors"][0]["code"], "DIGEST_INVALID");
    let response = put(
        &emulator,
        &format!("/v2/a/manifests/{right}"),
        OCI_MANIFEST,
        &manifest,
    )
    .await;
    assert_eq!(response.status(), 201);
    assert!(emulator.tags("a").is_empty());
}

#[tokio::test]
async fn invalid_manifests_are_refused() {
    let emulator = start().await;
    let manifest = image_manifest(&emulator, "a", "amd64");
    // An OCI body (mediaType field = OCI) sent as a Docker manifest.
    let response = put(&emulator, "/v2/a/manifests/v1", DOCKER_MANIFEST, &manifest).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        json(response).await["errors"][0]["code"],
        "MANIFEST_INVALID"
    );
    let response = put(&emulator, "/v2/a/manifests/v1", OCI_MANIFEST, "not json").await;
    assert_eq!(
        json(response).await["errors"][0]["code"],
        "MANIFEST_INVALID"
    );
    // A manifest whose layer is not in the repository.
    let missing = sha256_digest(b"missing layer");
    let body = manifest.replace(&sha256_digest(b"layer amd64"), &missing);
    let response = put(&emulator, "/v2/a/manifests/v1", OCI_MANIFEST, &body).await;
    assert_eq!(response.status(), 400);
    let body = json(response).await;
    assert_eq!(body["errors"][0]["code"], "MANIFEST_BLOB_UNKNOWN");
    assert_eq!(body["errors"][0]["detail"]["digest"], missing);
}

#[tokio::test]
async fn delete_by_tag_is_unsupported_and_by_digest_removes_tags() {
    let emulator = start().await;
    let image = emulator.put_image("a", "v1", "amd64", "linux").unwrap();
    emulator.put_image("a", "other", "arm64", "linux").unwrap();
    let by_tag = admin(http().delete(url(&emulator, "/v2/a/manifests/v1")))
        .send()
        .await
        .unwrap();
    assert_eq!(by_tag.status(), 405);
    assert_eq!(
        json(by_tag).await,
        serde_json::json!({"errors":[{"code":"UNSUPPORTED","message":"A manifest can only be deleted by digest."}]})
    );
    let path = format!("/v2/a/manifests/{}", image.manifest_digest);
    let by_digest = admin(http().delete(url(&emulator, &path)))
        .send()
        .await
        .unwrap();
    assert_eq!(by_digest.status(), 202);
    assert_eq!(emulator.tags("a"), ["other"]);
    let again = admin(http().get(url(&emulator, "/v2/a/manifests/v1")))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    assert_eq!(
        json(again).await,
        serde_json::json!({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest tagged by \"v1\" is not found","detail":{"Tag":"v1"}}]})
    );
}

#[tokio::test]
async fn unknown_repository_is_name_unknown() {
    let emulator = start().await;
    let response = admin(http().get(url(&emulator, "/v2/nope/manifests/v1")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        json(response).await,
        serde_json::json!({"errors":[{"code":"NAME_UNKNOWN","message":"repository \"nope\" is not found"}]})
    );
}

#[tokio::test]
async fn manifest_attributes_come_from_the_config_blob() {
    let emulator = start().await;
    let manifest = image_manifest(&emulator, "a", "arm64");
    let digest = sha256_digest(manifest.as_bytes());
    assert_eq!(
        put(&emulator, "/v2/a/manifests/v1", OCI_MANIFEST, &manifest)
            .await
            .status(),
        201
    );
    let response = admin(http().get(url(
        &emulator,
        &format!("/acr/v1/a/_manifests/{}", digest.replace(':', "%3A")),
    )))
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let body = json(response).await;
    assert_eq!(body["registry"], emulator.host());
    assert_eq!(body["imageName"], "a");
    let m = &body["manifest"];
    assert_eq!(m["digest"], digest);
    assert_eq!(m["architecture"], "arm64");
    assert_eq!(m["os"], "linux");
    assert_eq!(m["mediaType"], OCI_MANIFEST);
    assert_eq!(m["configMediaType"], OCI_CONFIG);
    assert_eq!(m["tags"], serde_json::json!(["v1"]));
    assert_eq!(m["imageSize"], "layer arm64".len());
    let created = m["createdTime"].as_str().unwrap();
    // RFC 3339 with 7 fractional digits: 2022-12-13T09:17:12.6157503Z
    assert_eq!(created.len(), 28, "{created}");
    assert!(created.ends_with('Z') && created.as_bytes()[19] == b'.');
}

#[tokio::test]
async fn index_manifests_reference_their_children() {
    let emulator = start().await;
    let amd = emulator
        .put_image("multi", "amd", "amd64", "linux")
        .unwrap();
    let arm = emulator
        .put_image("multi", "arm", "arm64", "linux")
        .unwrap();
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":{},"platform":{{"architecture":"amd64","os":"linux"}}}},{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":{},"platform":{{"architecture":"arm64","os":"linux"}}}}]}}"#,
        amd.manifest_digest,
        amd.manifest.len(),
        arm.manifest_digest,
        arm.manifest.len()
    );
    assert_eq!(
        put(&emulator, "/v2/multi/manifests/latest", OCI_INDEX, &index)
            .await
            .status(),
        201
    );
    let digest = sha256_digest(index.as_bytes());
    let body = json(
        admin(http().get(url(
            &emulator,
            &format!("/acr/v1/multi/_manifests/{digest}"),
        )))
        .send()
        .await
        .unwrap(),
    )
    .await;
    let refs = body["manifest"]["references"].as_array().unwrap();
    assert_eq!(refs.len(), 2);
    assert_eq!(refs[1]["architecture"], "arm64");

    let dangling = index.replace(&amd.manifest_digest, &sha256_digest(b"nothing"));
    let response = put(
        &emulator,
        "/v2/multi/manifests/broken",
        OCI_INDEX,
        &dangling,
    )
    .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        json(response).await["errors"][0]["code"],
        "MANIFEST_BLOB_UNKNOWN"
    );
}
