//! The emulator's authentication: challenge format, the three token grants, scope enforcement,
//! Basic admin access, anonymous pull and token expiry.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap (see notes/COMMON.md)

#[path = "emulator_support/mod.rs"]
mod support;

use std::time::Duration;

use acr_emulator::{Emulator, Grants, Scope, TOKEN_USER, decode_claims};
use support::*;

#[tokio::test]
async fn v2_root_challenges_with_realm_and_service_only() {
    let emulator = start().await;
    let response = http().get(url(&emulator, "/v2/")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        header(&response, "www-authenticate"),
        format!(
            "Bearer realm=\"{}/oauth2/token\",service=\"{}\"",
            emulator.endpoint(),
            emulator.host()
        )
    );
    assert_eq!(
        header(&response, "docker-distribution-api-version"),
        "registry/2.0"
    );
}

#[tokio::test]
async fn scoped_operation_challenge_and_body_match_acr() {
    let emulator = start().await;
    let response = http()
        .post(url(&emulator, "/v2/library%2Fhello/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let params = challenge(&response);
    assert_eq!(
        params["realm"],
        format!("{}/oauth2/token", emulator.endpoint())
    );
    assert_eq!(params["service"], emulator.host());
    assert_eq!(params["scope"], "repository:library/hello:pull,push");
    assert!(!params.contains_key("error"));
    assert_eq!(
        header(&response, "content-type"),
        "application/json; charset=utf-8"
    );
    let body = json(response).await;
    assert_eq!(
        body,
        serde_json::json!({"errors":[{"code":"UNAUTHORIZED","message":"authentication required, visit https://aka.ms/acr/authorization for more information.","detail":[
            {"Type":"repository","Name":"library/hello","Action":"pull"},
            {"Type":"repository","Name":"library/hello","Action":"push"}]}]})
    );

    let catalog = http()
        .get(url(&emulator, "/acr/v1/_catalog"))
        .send()
        .await
        .unwrap();
    assert_eq!(challenge(&catalog)["scope"], "registry:catalog:*");
    let delete = http()
        .delete(url(&emulator, "/acr/v1/hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(challenge(&delete)["scope"], "repository:hello:delete");
    let patch = http()
        .patch(url(&emulator, "/acr/v1/hello/_tags/v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        challenge(&patch)["scope"],
        "repository:hello:metadata_write"
    );
}

#[tokio::test]
async fn aad_exchange_then_refresh_grant_gives_a_scoped_jwt() {
    let emulator = start().await;
    let refresh = refresh_token(&emulator).await;
    let refresh_claims = decode_claims(&refresh).unwrap();
    assert_eq!(refresh_claims["grant_type"], "refresh_token");
    assert_eq!(refresh_claims["aud"], emulator.host());

    let access =
        access_token_from_refresh(&emulator, &refresh, "repository:library/hello:pull").await;
    let claims = decode_claims(&access).unwrap();
    assert_eq!(claims["grant_type"], "access_token");
    assert_eq!(
        claims["access"],
        serde_json::json!([{"type":"repository","name":"library/hello","actions":["pull"]}])
    );
    let exp = claims["exp"].as_u64().unwrap();
    let iat = claims["iat"].as_u64().unwrap();
    assert_eq!(exp - iat, 75 * 60);

    let response = http()
        .get(url(&emulator, "/v2/"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn wrong_aad_token_and_wrong_service_are_refused() {
    let emulator = start().await;
    let response = http()
        .post(url(&emulator, "/oauth2/exchange"))
        .form(&[
            ("grant_type", "access_token"),
            ("service", &emulator.host()),
            ("access_token", "not-the-token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body = json(response).await;
    assert_eq!(
        body["errors"][0]["message"],
        "retrieving permissions failed"
    );

    let response = http()
        .post(url(&emulator, "/oauth2/exchange"))
        .form(&[
            ("grant_type", "access_token"),
            ("service", "other.azurecr.io"),
            ("access_token", AAD_TOKEN),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    let response = http()
        .post(url(&emulator, "/oauth2/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("service", emulator.host().as_str()),
            ("scope", "repository:x:pull"),
            ("refresh_token", "forged.token.value"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn anonymous_password_grant_gives_pull_only() {
    let emulator = Emulator::builder()
        .anonymous_pull(true)
        .start()
        .await
        .unwrap();
    emulator
        .put_image("library/hello", "v1", "amd64", "linux")
        .unwrap();
    let response = http()
        .post(url(&emulator, "/oauth2/token"))
        .form(&[
            ("grant_type", "password"),
            ("refresh_token", ""),
            ("service", emulator.host().as_str()),
            ("scope", "repository:library/hello:pull,push,delete"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().get("content-length").is_none(),
        "token responses are chunked"
    );
    let token = json(response).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let claims = decode_claims(&token).unwrap();
    assert_eq!(claims["access"][0]["actions"], serde_json::json!(["pull"]));

    let pull = http()
        .get(url(&emulator, "/v2/library/hello/manifests/v1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(pull.status(), 200);
    let delete = http()
        .delete(url(&emulator, "/acr/v1/library%2Fhello"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 401);
    let params = challenge(&delete);
    assert_eq!(params["error"], "insufficient_scope");
    assert_eq!(params["scope"], "repository:library/hello:delete");
}

#[tokio::test]
async fn anonymous_grant_is_refused_when_anonymous_pull_is_off() {
    let emulator = start().await;
    let response = http()
        .post(url(&emulator, "/oauth2/token"))
        .form(&[
            ("grant_type", "password"),
            ("refresh_token", ""),
            ("service", emulator.host().as_str()),
            ("scope", "repository:x:pull"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    emulator.set_anonymous_pull(true);
    let response = http()
        .post(url(&emulator, "/oauth2/token"))
        .form(&[
            ("grant_type", "password"),
            ("refresh_token", ""),
            ("service", emulator.host().as_str()),
            ("scope", "repository:x:pull"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn get_token_with_basic_admin() {
    let emulator = start().await;
    let response = admin(http().get(url(&emulator, "/oauth2/token")))
        .query(&[
            ("service", emulator.host().as_str()),
            ("scope", "repository:a:pull,push"),
            ("scope", "registry:catalog:*"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let token = json(response).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let access = &decode_claims(&token).unwrap()["access"];
    assert_eq!(access[0]["actions"], serde_json::json!(["pull", "push"]));
    assert_eq!(access[1]["name"], "catalog");

    let wrong = http()
        .get(url(&emulator, "/oauth2/token"))
        .basic_auth(ADMIN_USER, Some("wrong"))
        .query(&[
            ("service", emulator.host().as_str()),
            ("scope", "repository:a:pull"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let missing = http()
        .get(url(&emulator, "/oauth2/token"))
        .query(&[
            ("service", emulator.host().as_str()),
            ("scope", "repository:a:pull"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 401);
}

#[tokio::test]
async fn admin_basic_is_accepted_directly_on_data_plane_calls() {
    let emulator = start().await;
    emulator.put_image("hello", "v1", "amd64", "linux").unwrap();
    let ok = admin(http().get(url(&emulator, "/acr/v1/hello/_tags/v1")))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let wrong = http()
        .get(url(&emulator, "/acr/v1/hello/_tags/v1"))
        .basic_auth(ADMIN_USER, Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(challenge(&wrong)["scope"], "repository:hello:metadata_read");
}

#[tokio::test]
async fn token_user_with_a_refresh_token_works_as_basic() {
    let emulator = start().await;
    emulator.put_image("hello", "v1", "amd64", "linux").unwrap();
    let refresh = emulator.refresh_token_for("ci", Grants::pull_only());
    let pull = http()
        .get(url(&emulator, "/v2/hello/manifests/v1"))
        .basic_auth(TOKEN_USER, Some(&refresh))
        .send()
        .await
        .unwrap();
    assert_eq!(pull.status(), 200);
    let push = http()
        .post(url(&emulator, "/v2/hello/blobs/uploads/"))
        .basic_auth(TOKEN_USER, Some(&refresh))
        .send()
        .await
        .unwrap();
    assert_eq!(push.status(), 401);
    assert_eq!(challenge(&push)["error"], "insufficient_scope");
}

#[tokio::test]
async fn a_token_for_one_scope_does_not_open_another() {
    let emulator = start().await;
    emulator.put_image("a", "v1", "amd64", "linux").unwrap();
    emulator.put_image("b", "v1", "amd64", "linux").unwrap();
    let token = access_token(&emulator, "repository:a:pull").await;
    let own = http()
        .get(url(&emulator, "/v2/a/manifests/v1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    for (method, path, scope) in [
        (
            reqwest::Method::GET,
            "/v2/b/manifests/v1",
            "repository:b:pull",
        ),
        (
            reqwest::Method::DELETE,
            "/v2/a/manifests/v1",
            "repository:a:delete",
        ),
        (
            reqwest::Method::GET,
            "/acr/v1/a",
            "repository:a:metadata_read",
        ),
        (
            reqwest::Method::GET,
            "/acr/v1/_catalog",
            "registry:catalog:*",
        ),
    ] {
        let response = http()
            .request(method, url(&emulator, path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path}");
        let params = challenge(&response);
        assert_eq!(params["error"], "insufficient_scope", "{path}");
        assert_eq!(params["scope"], scope, "{path}");
    }
}

#[tokio::test]
async fn restricted_refresh_tokens_get_only_their_grants() {
    let emulator = start().await;
    let refresh = emulator.refresh_token_for(
        "reader",
        Grants::Only(vec![Scope::repository("a", &["pull", "metadata_read"])]),
    );
    let token =
        access_token_from_refresh(&emulator, &refresh, "repository:a:pull,push,metadata_read")
            .await;
    let access = &decode_claims(&token).unwrap()["access"];
    assert_eq!(
        access[0]["actions"],
        serde_json::json!(["pull", "metadata_read"])
    );
    let none = access_token_from_refresh(&emulator, &refresh, "repository:b:pull").await;
    assert_eq!(
        decode_claims(&none).unwrap()["access"],
        serde_json::json!([])
    );
}

#[tokio::test]
async fn forged_and_expired_tokens_get_invalid_token() {
    let emulator = start().await;
    emulator.put_image("a", "v1", "amd64", "linux").unwrap();
    let forged = http()
        .get(url(&emulator, "/v2/a/manifests/v1"))
        .bearer_auth("eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2ln")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    assert_eq!(challenge(&forged)["error"], "invalid_token");

    let refresh = refresh_token(&emulator).await;
    let token = access_token_from_refresh(&emulator, &refresh, "repository:a:pull").await;
    emulator.expire_access_tokens();
    let expired = http()
        .get(url(&emulator, "/v2/a/manifests/v1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), 401);
    assert_eq!(challenge(&expired)["error"], "invalid_token");
    // The refresh token still works after only the access tokens expired...
    let fresh = access_token_from_refresh(&emulator, &refresh, "repository:a:pull").await;
    let again = http()
        .get(url(&emulator, "/v2/a/manifests/v1"))
        .bearer_auth(&fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    // ...but not after all tokens expired.
    emulator.expire_tokens();
    let response = http()
        .post(url(&emulator, "/oauth2/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("service", emulator.host().as_str()),
            ("scope", "repository:a:pull"),
            ("refresh_token", refresh.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn token_lifetimes_are_configurable() {
    let emulator = Emulator::builder()
        .aad_token(AAD_TOKEN)
        .token_lifetime(Duration::from_secs(90))
        .refresh_token_lifetime(Duration::from_secs(600))
        .start()
        .await
        .unwrap();
    let refresh = refresh_token(&emulator).await;
    let claims = decode_claims(&refresh).unwrap();
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        600
    );
    let access = access_token_from_refresh(&emulator, &refresh, "repository:a:pull").await;
    let claims = decode_claims(&access).unwrap();
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        90
    );
}

#[tokio::test]
async fn unrouted_paths_get_plain_404_before_any_challenge() {
    let emulator = start().await;
    for path in [
        "/acr/v1/x/_manifests/not-a-digest",
        "/acr/v1/Nonexistent/_tags/Nonexistent",
        "/nothing",
    ] {
        let response = http().get(url(&emulator, path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        assert!(response.headers().get("www-authenticate").is_none());
        assert_eq!(response.text().await.unwrap(), "404 page not found\n");
    }
}
