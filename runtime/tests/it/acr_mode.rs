//! ACR mode: the token endpoint is known up front, so no request sees a 401 until a token
//! goes stale; off, the realm is learned from a challenge.

use std::sync::atomic::Ordering;

use acr_runtime::{Credential, Error, Request};
use bytes::Bytes;
use http::Method;

use crate::support::{self, AuthMode, Fake};
use crate::{builder, get_manifest};

async fn acr_fake() -> Fake {
    let fake = support::start().await;
    fake.state.set_mode(AuthMode::Acr);
    fake.state.manifests.lock().unwrap().insert(
        ("hello".into(), "v1".into()),
        (
            "application/vnd.oci.image.manifest.v1+json".into(),
            Bytes::from_static(b"{}"),
        ),
    );
    fake
}

#[tokio::test]
async fn anonymous_in_acr_mode_fetches_its_token_up_front() {
    let fake = acr_fake().await;
    *fake.state.anonymous_pull.lock().unwrap() = true;
    let t = builder(&fake.url, Credential::Anonymous)
        .acr(true)
        .build()
        .unwrap();
    for _ in 0..3 {
        assert_eq!(
            t.send(get_manifest("hello", "v1")).await.unwrap().status,
            200
        );
    }
    assert_eq!(fake.state.unauthorized.load(Ordering::SeqCst), 0);
    assert_eq!(fake.state.token_requests.load(Ordering::SeqCst), 1);
    let log = fake.state.token_log.lock().unwrap().clone();
    assert!(
        log[0].starts_with("POST /oauth2/token grant=Some(\"password\")"),
        "{log:?}"
    );
    // the token request came before any registry request
    let requests = fake.state.log.lock().unwrap().clone();
    assert_eq!(requests[0].0, "POST /oauth2/token", "{requests:?}");
    assert_eq!(requests[1], ("GET /v2/hello/manifests/v1".into(), true));
}

#[tokio::test]
async fn username_password_in_acr_mode_gets_tokens_with_basic_get_up_front() {
    let fake = acr_fake().await;
    let t = builder(&fake.url, Credential::basic("admin", "s3cr3t-pa55"))
        .acr(true)
        .build()
        .unwrap();
    for _ in 0..3 {
        t.send(get_manifest("hello", "v1")).await.unwrap();
    }
    assert_eq!(fake.state.unauthorized.load(Ordering::SeqCst), 0);
    let log = fake.state.token_log.lock().unwrap().clone();
    assert_eq!(log.len(), 1, "{log:?}");
    assert!(
        log[0].starts_with("GET /oauth2/token") && log[0].ends_with("basic=true"),
        "{log:?}"
    );
}

#[tokio::test]
async fn without_acr_mode_the_first_request_learns_the_realm_from_a_401() {
    let fake = acr_fake().await;
    // anonymous and username/password on a non-ACR host are not ACR mode by default
    *fake.state.anonymous_pull.lock().unwrap() = true;
    let anon = builder(&fake.url, Credential::Anonymous).build().unwrap();
    anon.send(get_manifest("hello", "v1")).await.unwrap();
    assert_eq!(fake.state.unauthorized.load(Ordering::SeqCst), 1);
    // a refresh token with ACR mode turned off: one 401, then tokens up front
    let t = builder(
        &fake.url,
        Credential::refresh_token(fake.state.refresh_token.clone()),
    )
    .acr(false)
    .build()
    .unwrap();
    for _ in 0..5 {
        t.send(get_manifest("hello", "v1")).await.unwrap();
    }
    assert_eq!(fake.state.unauthorized.load(Ordering::SeqCst), 2);
    assert_eq!(fake.state.token_requests.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn requests_without_a_scope_go_without_a_token() {
    let fake = acr_fake().await;
    let t = builder(
        &fake.url,
        Credential::refresh_token(fake.state.refresh_token.clone()),
    )
    .build()
    .unwrap();
    let r = t
        .send(Request::new("check_docker_v2_support", Method::GET, "/v2/"))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let requests = fake.state.log.lock().unwrap().clone();
    // sent bare, challenged, answered: as before ACR mode
    assert_eq!(requests[0], ("GET /v2/".into(), false), "{requests:?}");
    assert_eq!(fake.state.unauthorized.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_stale_up_front_token_is_answered_as_a_challenge() {
    let fake = acr_fake().await;
    let t = builder(
        &fake.url,
        Credential::refresh_token(fake.state.refresh_token.clone()),
    )
    .build()
    .unwrap();
    t.send(get_manifest("hello", "v1")).await.unwrap();
    fake.state.revoke_tokens();
    t.send(get_manifest("hello", "v1")).await.unwrap();
    t.send(get_manifest("hello", "v1")).await.unwrap();
    assert_eq!(fake.state.unauthorized.load(Ordering::SeqCst), 1);
    assert_eq!(fake.state.token_requests.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_registry_without_an_acr_token_endpoint_says_how_to_turn_acr_mode_off() {
    let app = axum::Router::new().fallback(|| async { http::StatusCode::NOT_FOUND });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let t = builder(&url, Credential::refresh_token("rt"))
        .build()
        .unwrap();
    let e = t.send(get_manifest("hello", "v1")).await.unwrap_err();
    assert!(matches!(e, Error::Auth { .. }), "{e:?}");
    assert!(e.to_string().contains("acr(false)"), "{e}");
    let t = builder(&url, Credential::refresh_token("rt"))
        .acr(false)
        .build()
        .unwrap();
    let e = t.send(get_manifest("hello", "v1")).await.unwrap_err();
    assert_eq!(e.status(), Some(http::StatusCode::NOT_FOUND), "{e:?}");
    assert!(!matches!(e, Error::Auth { .. }), "{e:?}");
}
