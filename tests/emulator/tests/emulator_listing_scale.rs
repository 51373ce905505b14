//! Listings at scale: 100,000 tags (and 10,000 manifests and repositories) listed in pages of 1,000, every
//! item once and in order. A page is cut from the emulator's ordered maps and time indexes
//! (a range from `last`), so a full walk is not quadratic; no timing is asserted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "emulator_support/mod.rs"]
mod support;

use acr_emulator::{Emulator, OCI_MANIFEST};
use support::*;

const TAGS: usize = 100_000;
const PAGE: usize = 1_000;

fn tag_name(i: usize) -> String {
    format!("t{i:06}")
}

/// Follows `Link` from `first`; returns the `field` items of every page (strings, or the `key`
/// of objects) and how many pages there were.
async fn walk(emulator: &Emulator, first: &str, field: &str, key: &str) -> (Vec<String>, usize) {
    let client = http();
    let mut next = Some(first.to_owned());
    let mut items = Vec::new();
    let mut pages = 0;
    while let Some(path) = next.take() {
        let response = admin(client.get(url(emulator, &path)))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        next = response.headers().get("link").map(|l| {
            let l = l.to_str().unwrap();
            l[l.find('<').unwrap() + 1..l.find('>').unwrap()].to_owned()
        });
        let body = json(response).await;
        let page = body[field].as_array().unwrap();
        assert!(page.len() <= PAGE, "{path}: {} items", page.len());
        items.extend(page.iter().map(|item| {
            item.as_str()
                .or_else(|| item[key].as_str())
                .unwrap()
                .to_owned()
        }));
        pages += 1;
        assert!(pages <= TAGS / PAGE + 1, "the walk does not end");
    }
    (items, pages)
}

#[tokio::test]
async fn one_hundred_thousand_tags_list_once_each_in_order() {
    let emulator = start().await;
    let image = emulator.put_image("big", "seed", "amd64", "linux").unwrap();
    // Created in name order, so `timeasc` is name order too and `timedesc` its reverse.
    for i in 0..TAGS {
        emulator
            .put_manifest("big", &tag_name(i), OCI_MANIFEST, image.manifest.clone())
            .unwrap();
    }
    let mut expected: Vec<String> = (0..TAGS).map(tag_name).collect();
    expected.push("seed".to_owned());
    expected.sort();

    let (v2, pages) = walk(
        &emulator,
        &format!("/v2/big/tags/list?n={PAGE}"),
        "tags",
        "name",
    )
    .await;
    assert_eq!(pages, TAGS / PAGE + 1);
    assert_eq!(v2, expected, "/v2 tags/list");

    let (acr, _) = walk(
        &emulator,
        &format!("/acr/v1/big/_tags?n={PAGE}"),
        "tags",
        "name",
    )
    .await;
    assert_eq!(acr, expected, "/acr/v1 _tags by name");

    // "seed" was created first, then t000000, t000001, ...: the time index, walked backwards.
    let mut by_time: Vec<String> = vec!["seed".to_owned()];
    by_time.extend((0..TAGS).map(tag_name));
    let (desc, _) = walk(
        &emulator,
        &format!("/acr/v1/big/_tags?n={PAGE}&orderby=timedesc"),
        "tags",
        "name",
    )
    .await;
    by_time.reverse();
    assert_eq!(desc, by_time, "/acr/v1 _tags timedesc");
}

#[tokio::test]
async fn ten_thousand_manifests_and_repositories_list_once_each_in_order() {
    const COUNT: usize = 10_000;
    let emulator = start().await;
    let mut digests = Vec::new();
    for i in 0..COUNT {
        let repository = format!("r{i:06}");
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{:064x}","size":2}},"layers":[]}}"#,
            i
        );
        digests.push(
            emulator
                .put_manifest("many", &tag_name(i), OCI_MANIFEST, manifest.clone())
                .unwrap(),
        );
        emulator
            .put_manifest(&repository, "v1", OCI_MANIFEST, manifest)
            .unwrap();
    }
    digests.sort();
    let (digests_found, _) = walk(
        &emulator,
        &format!("/acr/v1/many/_manifests?n={PAGE}"),
        "manifests",
        "digest",
    )
    .await;
    assert_eq!(digests_found, digests, "/acr/v1 _manifests by digest");

    let mut repositories: Vec<String> = (0..COUNT).map(|i| format!("r{i:06}")).collect();
    repositories.push("many".to_owned());
    repositories.sort();
    for (path, field) in [
        (format!("/acr/v1/_catalog?n={PAGE}"), "repositories"),
        (format!("/v2/_catalog?n={PAGE}"), "repositories"),
    ] {
        let (found, _) = walk(&emulator, &path, field, "name").await;
        assert_eq!(found, repositories, "{path}");
    }
}
