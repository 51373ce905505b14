//! Every `/acr/v1` and `/oauth2` operation of the generated client, called through
//! `acr::Client` against the ACR emulator (no open-source registry implements them).
//!
//! Data is seeded with the emulator's seeding helpers; the calls go over HTTP with the admin
//! user's Basic credential answered to the emulator's `Bearer` challenge (per-scope tokens),
//! except the token operations, which a client without credential calls directly.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap (see notes/COMMON.md)

mod common;

use acr::models::{
    AadGrantType, ArtifactArchitecture, ArtifactOperatingSystem, ManifestChangeableAttributes,
    ManifestOrderBy, RepositoryChangeableAttributes, TagChangeableAttributes, TagOrderBy,
    TokenGrantType,
};
use acr_runtime::Credential;
use acr_tests::emulator::{OCI_MANIFEST, decode_claims};
use common::{AAD_TOKEN, status_and_code};
use futures_util::TryStreamExt as _;

#[tokio::test]
async fn repository_operations() {
    let emulator = common::start_emulator().await;
    for name in ["e2e/alpha", "e2e/beta", "e2e/gamma"] {
        emulator.put_image(name, "v1", "amd64", "linux").unwrap();
    }
    let gamma = emulator
        .put_image("e2e/gamma", "v2", "arm64", "linux")
        .unwrap();
    let client = common::emulator_client(&emulator);

    // get_repositories: a page of two with a Link to the rest, then the last page.
    let page = client.get_repositories().n(2).await.unwrap();
    assert_eq!(page.status, 200);
    assert_eq!(
        page.body.repositories.as_deref(),
        Some(&["e2e/alpha".to_owned(), "e2e/beta".to_owned()][..])
    );
    let link = page.link.expect("a Link to the next page");
    assert!(
        link.next()
            .is_some_and(|n| n.starts_with("/acr/v1/_catalog?") && n.contains("last=e2e%2Fbeta")),
        "{link:?}"
    );
    let rest = client
        .get_repositories()
        .last("e2e/beta")
        .n(2)
        .await
        .unwrap();
    assert_eq!(
        rest.body.repositories.as_deref(),
        Some(&["e2e/gamma".to_owned()][..])
    );
    assert!(rest.link.is_none(), "the last page has no Link");
    let all: Vec<String> = client
        .get_repositories()
        .n(1)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all, ["e2e/alpha", "e2e/beta", "e2e/gamma"]);

    // get_properties
    let props = client.get_properties("e2e/gamma").await.unwrap();
    assert_eq!(props.status, 200);
    let body = &props.body;
    assert_eq!(body.image_name, "e2e/gamma");
    assert_eq!(body.registry.as_deref(), Some(emulator.host().as_str()));
    assert_eq!((body.manifest_count, body.tag_count), (2, 2));
    assert!(body.created_time <= body.last_update_time);
    assert_eq!(body.changeable_attributes.write_enabled, Some(true));
    assert_eq!(body.changeable_attributes.list_enabled, Some(true));

    // set_properties: hide alpha from the catalog; the answer carries the new attributes.
    let hidden = client
        .set_properties("e2e/alpha")
        .value(RepositoryChangeableAttributes {
            list_enabled: Some(false),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(hidden.status, 200);
    assert_eq!(hidden.body.changeable_attributes.list_enabled, Some(false));
    assert_eq!(
        hidden.body.changeable_attributes.delete_enabled,
        Some(true),
        "fields not sent stay as they were"
    );
    let listed = client.get_repositories().await.unwrap();
    assert_eq!(
        listed.body.repositories.as_deref(),
        Some(&["e2e/beta".to_owned(), "e2e/gamma".to_owned()][..])
    );
    let patch = emulator
        .log()
        .into_iter()
        .find(|r| r.method == "PATCH" && r.path == "/acr/v1/e2e/alpha")
        .expect("the PATCH was logged");
    assert_eq!(patch.header("content-type"), Some("application/json"));

    // delete_repository: the answer names what went with it.
    let deleted = client.delete_repository("e2e/gamma").await.unwrap();
    assert_eq!(deleted.status, 202);
    let mut manifests = deleted.body.manifests_deleted.clone().unwrap_or_default();
    manifests.sort();
    assert_eq!(manifests.len(), 2, "{:?}", deleted.body);
    assert!(manifests.contains(&gamma.manifest_digest));
    let mut tags = deleted.body.tags_deleted.clone().unwrap_or_default();
    tags.sort();
    assert_eq!(tags, ["v1", "v2"]);
    assert!(emulator.manifest("e2e/gamma", "v1").is_none());
    let (status, code) = status_and_code(client.get_properties("e2e/gamma").await);
    assert_eq!((status, code.as_str()), (404, "NAME_UNKNOWN"));
}

#[tokio::test]
async fn tag_operations() {
    let emulator = common::start_emulator().await;
    let repo = "e2e/tags";
    let first = emulator.put_image(repo, "v1", "amd64", "linux").unwrap();
    emulator
        .put_manifest(repo, "stable", OCI_MANIFEST, first.manifest.clone())
        .unwrap();
    let second = emulator.put_image(repo, "v2", "amd64", "linux").unwrap();
    let client = common::emulator_client(&emulator);

    // get_tags: every tag, by name
    let list = client.get_tags(repo).await.unwrap();
    assert_eq!(list.status, 200);
    assert_eq!(list.body.image_name, repo);
    assert_eq!(
        list.body.registry.as_deref(),
        Some(emulator.host().as_str())
    );
    let names: Vec<&str> = list.body.tags.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["stable", "v1", "v2"]);
    let v2 = list.body.tags.iter().find(|t| t.name == "v2").unwrap();
    assert_eq!(v2.digest.as_str(), second.manifest_digest);
    assert!(v2.created_time <= v2.last_update_time);

    // get_tags with the digest filter and with an order
    let of_first = client
        .get_tags(repo)
        .digest(first.manifest_digest.as_str())
        .await
        .unwrap();
    let names: Vec<&str> = of_first.body.tags.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["stable", "v1"]);
    let newest_first = client
        .get_tags(repo)
        .orderby(TagOrderBy::Timedesc)
        .await
        .unwrap();
    assert_eq!(newest_first.body.tags[0].name, "v2", "v2 was tagged last");
    let sent = emulator
        .log()
        .into_iter()
        .filter(|r| r.path == format!("/acr/v1/{repo}/_tags"))
        .filter_map(|r| r.query)
        .collect::<Vec<_>>();
    assert!(sent.iter().any(|q| q == "orderby=timedesc"), "{sent:?}");
    assert!(
        sent.iter()
            .any(|q| *q == format!("digest={}", first.manifest_digest.replace(':', "%3A"))),
        "{sent:?}"
    );

    // get_tag_properties
    let tag = client.get_tag_properties(repo, "v1").await.unwrap();
    assert_eq!(tag.status, 200);
    assert_eq!(tag.body.image_name, repo);
    assert_eq!(tag.body.tag.name, "v1");
    assert_eq!(tag.body.tag.digest.as_str(), first.manifest_digest);
    assert_eq!(tag.body.tag.signed, Some(false));
    assert_eq!(
        tag.body.tag.changeable_attributes.delete_enabled,
        Some(true)
    );

    // update_tag_attributes: lock delete, see delete_tag refused, unlock, delete.
    let locked = client
        .update_tag_attributes(repo, "v1")
        .value(TagChangeableAttributes {
            delete_enabled: Some(false),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(locked.status, 200);
    assert_eq!(
        locked.body.tag.changeable_attributes.delete_enabled,
        Some(false)
    );
    assert_eq!(
        locked.body.tag.changeable_attributes.write_enabled,
        Some(true)
    );
    assert!(!emulator.tag_attributes(repo, "v1").unwrap().delete_enabled);
    let (status, code) = status_and_code(client.delete_tag(repo, "v1").await);
    assert_eq!(
        (status, code.as_str()),
        (405, "REGISTRY_DISALLOWED_OPERATION")
    );
    client
        .update_tag_attributes(repo, "v1")
        .value(TagChangeableAttributes {
            delete_enabled: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();

    // delete_tag: the tag goes, the manifest stays (still tagged `stable`).
    let deleted = client.delete_tag(repo, "v1").await.unwrap();
    assert_eq!(deleted.status, 202);
    assert_eq!(emulator.tags(repo), ["stable", "v2"]);
    assert!(emulator.manifest(repo, &first.manifest_digest).is_some());
    let (status, code) = status_and_code(client.get_tag_properties(repo, "v1").await);
    assert_eq!((status, code.as_str()), (404, "TAG_UNKNOWN"));
}

#[tokio::test]
async fn manifest_operations() {
    let emulator = common::start_emulator().await;
    let repo = "e2e/manifests";
    let amd = emulator.put_image(repo, "amd", "amd64", "linux").unwrap();
    let arm = emulator.put_image(repo, "arm", "arm64", "windows").unwrap();
    let client = common::emulator_client(&emulator);

    // get_manifests: sorted by digest, with their typed attributes.
    let list = client.get_manifests(repo).await.unwrap();
    assert_eq!(list.status, 200);
    assert_eq!(list.body.image_name.as_deref(), Some(repo));
    let manifests = list.body.manifests.clone().unwrap();
    let mut digests = vec![amd.manifest_digest.clone(), arm.manifest_digest.clone()];
    digests.sort();
    let got: Vec<&str> = manifests.iter().map(|m| m.digest.as_str()).collect();
    assert_eq!(got, digests);
    let arm_entry = manifests
        .iter()
        .find(|m| m.digest.as_str() == arm.manifest_digest)
        .unwrap();
    assert_eq!(arm_entry.architecture, Some(ArtifactArchitecture::Arm64));
    assert_eq!(arm_entry.os, Some(ArtifactOperatingSystem::Windows));
    assert_eq!(arm_entry.media_type.as_deref(), Some(OCI_MANIFEST));
    assert_eq!(
        arm_entry.config_media_type.as_deref(),
        Some("application/vnd.oci.image.config.v1+json")
    );
    assert_eq!(arm_entry.tags.as_deref(), Some(&["arm".to_owned()][..]));
    assert_eq!(arm_entry.image_size, Some(arm.layer.len() as i64));

    // get_manifests in pages of one, oldest first: follows the Link.
    let page = client
        .get_manifests(repo)
        .n(1)
        .orderby(ManifestOrderBy::Timeasc)
        .await
        .unwrap();
    let only = page.body.manifests.unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].digest.as_str(), amd.manifest_digest, "oldest first");
    let link = page.link.expect("a next page");
    assert!(
        link.next().is_some_and(|n| n.contains("orderby=timeasc")),
        "{link:?}"
    );
    let streamed: Vec<String> = client
        .get_manifests(repo)
        .n(1)
        .orderby(ManifestOrderBy::Timeasc)
        .into_stream()
        .map_ok(|m| m.digest.as_str().to_owned())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        streamed,
        [amd.manifest_digest.clone(), arm.manifest_digest.clone()]
    );

    // get_manifest_properties
    let props = client
        .get_manifest_properties(repo, amd.manifest_digest.as_str())
        .await
        .unwrap();
    assert_eq!(props.status, 200);
    assert_eq!(props.body.image_name, repo);
    assert_eq!(
        props.body.registry.as_deref(),
        Some(emulator.host().as_str())
    );
    assert_eq!(props.body.manifest.digest.as_str(), amd.manifest_digest);
    assert_eq!(
        props.body.manifest.architecture,
        Some(ArtifactArchitecture::Amd64)
    );
    assert!(props.body.manifest.created_time.is_some());

    // update_manifest_properties: readEnabled=false makes the manifest unreadable.
    let updated = client
        .update_manifest_properties(repo, amd.manifest_digest.as_str())
        .value(ManifestChangeableAttributes {
            read_enabled: Some(false),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(updated.status, 200);
    let attrs = updated.body.manifest.changeable_attributes.unwrap();
    assert_eq!(attrs.read_enabled, Some(false));
    assert_eq!(attrs.write_enabled, Some(true));
    let (status, code) = status_and_code(client.get_manifest(repo, "amd").await);
    assert_eq!(
        (status, code.as_str()),
        (405, "REGISTRY_DISALLOWED_OPERATION")
    );
    let readable = client.get_manifest(repo, "arm").await.unwrap();
    assert_eq!(readable.body, arm.manifest);
}

#[tokio::test]
async fn token_operations() {
    let emulator = common::start_emulator().await;
    emulator
        .put_image("e2e/tokens", "v1", "amd64", "linux")
        .unwrap();
    let service = emulator.host();
    let anonymous = common::emulator_client_with(&emulator, Credential::Anonymous);

    // exchange_aad_access_token_for_acr_refresh_token
    let exchanged = anonymous
        .exchange_aad_access_token_for_acr_refresh_token(AadGrantType::AccessToken, &service)
        .access_token(AAD_TOKEN)
        .await
        .unwrap();
    assert_eq!(exchanged.status, 200);
    let refresh = exchanged.body.refresh_token;
    let claims = decode_claims(refresh.expose()).expect("a JWT");
    assert_eq!(claims["grant_type"], "refresh_token");
    assert_eq!(claims["aud"], service.as_str());
    let (status, code) = status_and_code(
        anonymous
            .exchange_aad_access_token_for_acr_refresh_token(AadGrantType::AccessToken, &service)
            .access_token("not-an-aad-token")
            .await,
    );
    assert_eq!((status, code.as_str()), (401, "UNAUTHORIZED"));
    let form = emulator
        .log()
        .into_iter()
        .find(|r| r.path == "/oauth2/exchange")
        .unwrap();
    assert_eq!(
        form.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );

    // exchange_acr_refresh_token_for_acr_access_token, two scopes in one token
    let scopes = [
        "repository:e2e/tokens:pull",
        "repository:e2e/tokens:metadata_read",
    ];
    let access = anonymous
        .exchange_acr_refresh_token_for_acr_access_token(
            TokenGrantType::RefreshToken,
            &service,
            scopes,
            &refresh,
        )
        .await
        .unwrap();
    assert_eq!(access.status, 200);
    let claims = decode_claims(access.body.access_token.expose()).expect("a JWT");
    assert_eq!(claims["grant_type"], "access_token");
    let granted: Vec<(String, Vec<String>)> = claims["access"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_owned(),
                a["actions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect();
    let actions: Vec<&str> = granted
        .iter()
        .filter(|(name, _)| name == "e2e/tokens")
        .flat_map(|(_, actions)| actions.iter().map(String::as_str))
        .collect();
    assert!(
        actions.contains(&"pull") && actions.contains(&"metadata_read"),
        "{granted:?}"
    );

    // The refresh token works as a credential of its own.
    let with_refresh = common::emulator_client_with(&emulator, Credential::refresh_token(refresh));
    let props = with_refresh.get_properties("e2e/tokens").await.unwrap();
    assert_eq!(props.body.image_name, "e2e/tokens");

    // get_acr_access_token_from_login without a Basic credential: refused.
    let (status, code) = status_and_code(
        anonymous
            .get_acr_access_token_from_login(&service, ["repository:e2e/tokens:pull"])
            .await,
    );
    assert_eq!(
        (status, code.as_str()),
        (401, "UNAUTHORIZED"),
        "no Basic, no token"
    );
    let login = emulator
        .log()
        .into_iter()
        .find(|r| r.method == "GET" && r.path == "/oauth2/token")
        .unwrap();
    assert_eq!(
        login.query.as_deref(),
        Some(
            format!(
                "service={}&scope=repository%3Ae2e%2Ftokens%3Apull",
                service.replace(':', "%3A")
            )
            .as_str()
        )
    );
}

/// `get_acr_access_token_from_login` with the admin's Basic credential.
///
/// Ignored: the client sends no `Authorization` on `GET /oauth2/token` (the runtime adds Basic
/// only after a `Basic` challenge, and this operation carries no scope, so no Bearer either);
/// the emulator's 401 there has no challenge, so the call fails with 401 "basic credentials
/// required". Reported to the runtime/codegen owners; run with `--ignored` to check a fix.
#[tokio::test]
async fn login_token_operation_with_basic() {
    let emulator = common::start_emulator().await;
    let service = emulator.host();
    let admin = common::emulator_client(&emulator);
    let login = admin
        .get_acr_access_token_from_login(&service, ["repository:e2e/tokens:pull"])
        .await
        .unwrap();
    assert_eq!(login.status, 200);
    let claims = decode_claims(login.body.access_token.expose()).expect("a JWT");
    assert_eq!(claims["access"][0]["name"], "e2e/tokens");
    assert_eq!(claims["access"][0]["actions"][0], "pull");
}
