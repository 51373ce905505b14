//! The `/acr/v1` operations against the emulator: repository, tag and manifest attributes, the
//! locks they set, deletes, and paging with `Link`, `n`, `last`, `orderby` and the digest filter.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap (see notes/COMMON.md)

#[path = "emulator_support/mod.rs"]
mod support;

use acr_emulator::{AttributesUpdate, DISALLOWED_MESSAGE, Emulator, OCI_MANIFEST};
use support::*;

/// The creation order of the 25 tags: a permutation, so time order differs from name order.
fn creation_order() -> Vec<String> {
    (0..25).map(|i| format!("tag{:02}", (i * 7) % 25)).collect()
}

/// 25 tags on one manifest plus 3 other manifests; returns the shared manifest digest.
fn seed_tags(emulator: &Emulator) -> String {
    let manifest = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;
    let mut digest = String::new();
    for tag in creation_order() {
        digest = emulator
            .put_manifest("repo", &tag, OCI_MANIFEST, manifest)
            .unwrap();
    }
    for tag in ["x1", "x2", "x3"] {
        emulator.put_image("other", tag, "amd64", "linux").unwrap();
    }
    digest
}

async fn get(emulator: &Emulator, path: &str) -> reqwest::Response {
    admin(http().get(url(emulator, path))).send().await.unwrap()
}

/// Follows `Link` headers from `first`; returns the pages' tag names and the links seen.
async fn walk_tags(emulator: &Emulator, first: &str) -> (Vec<Vec<String>>, Vec<String>) {
    let mut pages = Vec::new();
    let mut links = Vec::new();
    let mut next = Some(first.to_owned());
    while let Some(path) = next.take() {
        let response = get(emulator, &path).await;
        assert_eq!(response.status(), 200, "{path}");
        if let Some(link) = response.headers().get("link") {
            let link = link.to_str().unwrap().to_owned();
            let target = link[1..link.find('>').unwrap()].to_owned();
            assert!(link.ends_with(">; rel=\"next\""), "{link}");
            links.push(link);
            next = Some(target);
        }
        let body = json(response).await;
        let names = body["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect();
        pages.push(names);
    }
    (pages, links)
}

#[tokio::test]
async fn tags_page_by_name_with_link_headers() {
    let emulator = start().await;
    seed_tags(&emulator);
    let (pages, links) = walk_tags(&emulator, "/acr/v1/repo/_tags?n=10").await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
    let all: Vec<String> = pages.concat();
    let mut sorted = creation_order();
    sorted.sort();
    assert_eq!(all, sorted);
    assert_eq!(
        links,
        [
            "</acr/v1/repo/_tags?last=tag09&n=10&orderby=>; rel=\"next\"",
            "</acr/v1/repo/_tags?last=tag19&n=10&orderby=>; rel=\"next\"",
        ]
    );
}

#[tokio::test]
async fn tags_order_by_time_both_ways() {
    let emulator = start().await;
    seed_tags(&emulator);
    let (pages, links) = walk_tags(&emulator, "/acr/v1/repo/_tags?n=10&orderby=timeasc").await;
    assert_eq!(pages.concat(), creation_order());
    assert!(links[0].contains("&orderby=timeasc>"), "{}", links[0]);
    let (pages, _) = walk_tags(&emulator, "/acr/v1/repo/_tags?n=10&orderby=timedesc").await;
    let mut newest_first = creation_order();
    newest_first.reverse();
    assert_eq!(pages.concat(), newest_first);
}

#[tokio::test]
async fn tag_list_body_and_digest_filter() {
    let emulator = start().await;
    let digest = seed_tags(&emulator);
    let other = emulator
        .put_image("repo", "different", "arm64", "linux")
        .unwrap();
    let body = json(
        get(
            &emulator,
            &format!("/acr/v1/repo/_tags?digest={}", other.manifest_digest),
        )
        .await,
    )
    .await;
    assert_eq!(body["registry"], emulator.host());
    assert_eq!(body["imageName"], "repo");
    let tags = body["tags"].as_array().unwrap();
    assert_eq!(tags.len(), 1);
    let tag = &tags[0];
    assert_eq!(tag["name"], "different");
    assert_eq!(tag["digest"], other.manifest_digest);
    assert_eq!(tag["signed"], false);
    assert_eq!(
        tag["changeableAttributes"],
        serde_json::json!({"deleteEnabled":true,"writeEnabled":true,"readEnabled":true,"listEnabled":true})
    );
    let filtered = get(
        &emulator,
        &format!("/acr/v1/repo/_tags?digest={digest}&n=20"),
    )
    .await;
    let link = header(&filtered, "link");
    assert!(
        link.contains(&format!("&digest={}", digest.replace(':', "%3A"))),
        "{link}"
    );
    assert_eq!(json(filtered).await["tags"].as_array().unwrap().len(), 20);
}

#[tokio::test]
async fn catalog_pages_and_hides_unlisted_repositories() {
    let emulator = start().await;
    for name in [
        "library/alpine",
        "library/busybox",
        "library/hello-world",
        "zeta",
    ] {
        emulator.put_image(name, "v1", "amd64", "linux").unwrap();
    }
    let first = get(&emulator, "/acr/v1/_catalog?n=2").await;
    assert_eq!(
        header(&first, "link"),
        "</acr/v1/_catalog?last=library%2Fbusybox&n=2&orderby=>; rel=\"next\""
    );
    assert_eq!(
        json(first).await,
        serde_json::json!({"repositories":["library/alpine","library/busybox"]})
    );
    let last = get(
        &emulator,
        "/acr/v1/_catalog?last=library%2Fbusybox&n=2&orderby=",
    )
    .await;
    assert!(last.headers().get("link").is_none());
    assert_eq!(
        json(last).await["repositories"],
        serde_json::json!(["library/hello-world", "zeta"])
    );

    emulator
        .set_repository_attributes(
            "zeta",
            AttributesUpdate {
                list_enabled: Some(false),
                ..Default::default()
            },
        )
        .unwrap();
    let all = json(get(&emulator, "/acr/v1/_catalog").await).await;
    assert_eq!(all["repositories"].as_array().unwrap().len(), 3);
    let bad = get(&emulator, "/acr/v1/_catalog?n=0").await;
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn repository_attributes_get_patch_and_delete() {
    let emulator = start().await;
    let image = emulator
        .put_image("library/hello", "v1", "amd64", "linux")
        .unwrap();
    emulator
        .put_image("library/hello", "v2", "arm64", "linux")
        .unwrap();
    let body = json(get(&emulator, "/acr/v1/library%2Fhello").await).await;
    assert_eq!(body["imageName"], "library/hello");
    assert_eq!(body["manifestCount"], 2);
    assert_eq!(body["tagCount"], 2);
    assert_eq!(body["changeableAttributes"]["teleportEnabled"], false);

    let patched = admin(http().patch(url(&emulator, "/acr/v1/library%2Fhello")))
        .header("content-type", "application/json")
        .body(r#"{"deleteEnabled":false}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let attrs = &json(patched).await["changeableAttributes"];
    assert_eq!(attrs["deleteEnabled"], false);
    assert_eq!(attrs["writeEnabled"], true, "only sent fields change");

    let refused = admin(http().delete(url(&emulator, "/acr/v1/library/hello")))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 405);
    let body = json(refused).await;
    assert_eq!(body["errors"][0]["code"], "REGISTRY_DISALLOWED_OPERATION");
    assert_eq!(body["errors"][0]["message"], DISALLOWED_MESSAGE);

    emulator
        .set_repository_attributes(
            "library/hello",
            AttributesUpdate {
                delete_enabled: Some(true),
                ..Default::default()
            },
        )
        .unwrap();
    let deleted = admin(http().delete(url(&emulator, "/acr/v1/library/hello")))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 202);
    let body = json(deleted).await;
    assert_eq!(body["tagsDeleted"], serde_json::json!(["v1", "v2"]));
    assert!(
        body["manifestsDeleted"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| *d == image.manifest_digest)
    );
    let again = admin(http().delete(url(&emulator, "/acr/v1/library/hello")))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    assert_eq!(
        json(again).await,
        serde_json::json!({"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry","detail":{"name":"library/hello"}}]})
    );
}

#[tokio::test]
async fn tag_attributes_and_delete() {
    let emulator = start().await;
    let image = emulator.put_image("a", "v1", "amd64", "linux").unwrap();
    let body = json(get(&emulator, "/acr/v1/a/_tags/v1").await).await;
    assert_eq!(body["tag"]["digest"], image.manifest_digest);
    let created = body["tag"]["createdTime"].clone();

    let patched = admin(http().patch(url(&emulator, "/acr/v1/a/_tags/v1")))
        .body(r#"{"writeEnabled":false,"deleteEnabled":false}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let body = json(patched).await;
    assert_eq!(body["tag"]["changeableAttributes"]["writeEnabled"], false);
    assert_eq!(body["tag"]["createdTime"], created);

    let refused = admin(http().delete(url(&emulator, "/acr/v1/a/_tags/v1")))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 405);
    emulator
        .set_tag_attributes(
            "a",
            "v1",
            AttributesUpdate {
                write_enabled: Some(true),
                delete_enabled: Some(true),
                ..Default::default()
            },
        )
        .unwrap();
    let deleted = admin(http().delete(url(&emulator, "/acr/v1/a/_tags/v1")))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 202);
    assert!(
        emulator.manifest("a", &image.manifest_digest).is_some(),
        "the manifest stays"
    );
    let unknown = get(&emulator, "/acr/v1/a/_tags/v1").await;
    assert_eq!(unknown.status(), 404);
    assert_eq!(json(unknown).await["errors"][0]["code"], "TAG_UNKNOWN");
}

#[tokio::test]
async fn write_locked_tag_refuses_overwrite_but_not_the_same_digest() {
    let emulator = start().await;
    let image = emulator.put_image("a", "v1", "amd64", "linux").unwrap();
    emulator
        .set_tag_attributes(
            "a",
            "v1",
            AttributesUpdate {
                write_enabled: Some(false),
                ..Default::default()
            },
        )
        .unwrap();
    let same = admin(http().put(url(&emulator, "/v2/a/manifests/v1")))
        .header("content-type", OCI_MANIFEST)
        .body(image.manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), 201);
    let other = emulator.put_image("a", "v2", "arm64", "linux").unwrap();
    let overwrite = admin(http().put(url(&emulator, "/v2/a/manifests/v1")))
        .header("content-type", OCI_MANIFEST)
        .body(other.manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(overwrite.status(), 405);
    assert_eq!(
        json(overwrite).await["errors"][0]["code"],
        "REGISTRY_DISALLOWED_OPERATION"
    );
    // Deleting the manifest under a locked tag is refused too.
    let delete = admin(http().delete(url(
        &emulator,
        &format!("/v2/a/manifests/{}", image.manifest_digest),
    )))
    .send()
    .await
    .unwrap();
    assert_eq!(delete.status(), 405);
}

#[tokio::test]
async fn delete_locked_manifest_and_read_locked_pulls() {
    let emulator = start().await;
    let image = emulator.put_image("a", "v1", "amd64", "linux").unwrap();
    let path = format!("/acr/v1/a/_manifests/{}", image.manifest_digest);
    let patched = admin(http().patch(url(&emulator, &path)))
        .body(r#"{"deleteEnabled":false,"readEnabled":false}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    assert_eq!(
        json(patched).await["manifest"]["changeableAttributes"]["readEnabled"],
        false
    );
    let delete = admin(http().delete(url(
        &emulator,
        &format!("/v2/a/manifests/{}", image.manifest_digest),
    )))
    .send()
    .await
    .unwrap();
    assert_eq!(delete.status(), 405);
    let pull = get(&emulator, "/v2/a/manifests/v1").await;
    assert_eq!(pull.status(), 405);
    assert_eq!(
        json(pull).await["errors"][0]["code"],
        "REGISTRY_DISALLOWED_OPERATION"
    );
    // Metadata stays readable.
    assert_eq!(get(&emulator, &path).await.status(), 200);
}

#[tokio::test]
async fn list_locked_items_are_hidden_from_lists() {
    let emulator = start().await;
    let one = emulator.put_image("a", "one", "amd64", "linux").unwrap();
    emulator.put_image("a", "two", "arm64", "linux").unwrap();
    emulator
        .set_tag_attributes(
            "a",
            "one",
            AttributesUpdate {
                list_enabled: Some(false),
                ..Default::default()
            },
        )
        .unwrap();
    emulator
        .set_manifest_attributes(
            "a",
            &one.manifest_digest,
            AttributesUpdate {
                list_enabled: Some(false),
                ..Default::default()
            },
        )
        .unwrap();
    let tags = json(get(&emulator, "/acr/v1/a/_tags").await).await;
    assert_eq!(tags["tags"].as_array().unwrap().len(), 1);
    assert_eq!(tags["tags"][0]["name"], "two");
    let manifests = json(get(&emulator, "/acr/v1/a/_manifests").await).await;
    let list = manifests["manifests"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_ne!(list[0]["digest"], one.manifest_digest);
    // Still readable directly.
    assert_eq!(get(&emulator, "/acr/v1/a/_tags/one").await.status(), 200);
}

#[tokio::test]
async fn manifests_list_pages_by_digest_and_by_time() {
    let emulator = start().await;
    let digests: Vec<String> = (0..5)
        .map(|i| {
            emulator
                .put_image("m", &format!("t{i}"), "amd64", &format!("os{i}"))
                .unwrap()
                .manifest_digest
        })
        .collect();
    let first = get(&emulator, "/acr/v1/m/_manifests?n=2").await;
    let link = header(&first, "link");
    let body = json(first).await;
    let page: Vec<&str> = body["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap())
        .collect();
    let mut sorted = digests.clone();
    sorted.sort();
    assert_eq!(page, [sorted[0].as_str(), sorted[1].as_str()]);
    assert_eq!(
        link,
        format!(
            "</acr/v1/m/_manifests?last={}&n=2&orderby=>; rel=\"next\"",
            sorted[1].replace(':', "%3A")
        )
    );
    let newest = json(get(&emulator, "/acr/v1/m/_manifests?n=1&orderby=timedesc").await).await;
    assert_eq!(newest["manifests"][0]["digest"], digests[4]);
    assert_eq!(newest["manifests"][0]["tags"], serde_json::json!(["t4"]));
}

#[tokio::test]
async fn unknown_repository_in_acr_reads() {
    let emulator = start().await;
    for path in [
        "/acr/v1/nope",
        "/acr/v1/nope/_tags",
        "/acr/v1/nope/_manifests",
    ] {
        let response = get(&emulator, path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(json(response).await["errors"][0]["code"], "NAME_UNKNOWN");
    }
}

#[tokio::test]
async fn docker_style_catalog_and_tags_list() {
    let emulator = start().await;
    for tag in ["b", "a", "c"] {
        emulator
            .put_image("library/hello", tag, "amd64", "linux")
            .unwrap();
    }
    emulator.put_image("zeta", "v1", "amd64", "linux").unwrap();
    let catalog = get(&emulator, "/v2/_catalog?n=1").await;
    assert_eq!(
        header(&catalog, "link"),
        "</v2/_catalog?last=library%2Fhello&n=1>; rel=\"next\""
    );
    assert_eq!(
        json(catalog).await["repositories"],
        serde_json::json!(["library/hello"])
    );
    let tags = get(&emulator, "/v2/library/hello/tags/list").await;
    assert!(tags.headers().get("link").is_none());
    assert_eq!(
        json(tags).await,
        serde_json::json!({"name": "library/hello", "tags": ["a", "b", "c"]})
    );
}
