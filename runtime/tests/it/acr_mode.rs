//! ACR mode: the token endpoint is known up front, so no request sees a 401 until a token
//! goes stale; off, the realm is learned from a challenge. Against the ACR emulator.

use acr_emulator::Emulator;
use acr_runtime::{Credential, Error, Request};
use http::Method;

use crate::emu::{self, challenges, requests, token_requests};
use crate::{builder, get_manifest};

/// The emulator with `hello:v1`.
async fn acr() -> Emulator {
    let emulator = emu::start().await;
    emulator.put_image("hello", "v1", "amd64", "linux").unwrap();
    emulator
}

/// `METHOD path` and the `Authorization` scheme of every registry request, in order.
fn seen(emulator: &Emulator) -> Vec<(String, Option<String>)> {
    requests(emulator, |_| true)
        .into_iter()
        .map(|r| (format!("{} {}", r.method, r.path), r.authorization))
        .collect()
}

#[tokio::test]
async fn anonymous_in_acr_mode_fetches_its_token_up_front() {
    let emulator = acr().await;
    emulator.set_anonymous_pull(true);
    let t = builder(&emulator.endpoint(), Credential::Anonymous)
        .acr(true)
        .build()
        .unwrap();
    for _ in 0..3 {
        assert_eq!(
            t.send(get_manifest("hello", "v1")).await.unwrap().status,
            200
        );
    }
    assert_eq!(challenges(&emulator), 0);
    assert_eq!(token_requests(&emulator), 1);
    // the token request (the anonymous password grant: no Authorization) came before any
    // registry request, and every manifest GET carried the token
    let seen = seen(&emulator);
    assert_eq!(seen[0], ("POST /oauth2/token".into(), None), "{seen:?}");
    for request in &seen[1..] {
        assert_eq!(
            *request,
            (
                "GET /v2/hello/manifests/v1".into(),
                Some("Bearer".to_owned())
            )
        );
    }
}

#[tokio::test]
async fn username_password_in_acr_mode_gets_tokens_with_basic_get_up_front() {
    let emulator = acr().await;
    let t = builder(
        &emulator.endpoint(),
        Credential::basic(emu::ADMIN_USER, emu::ADMIN_PASSWORD),
    )
    .acr(true)
    .build()
    .unwrap();
    for _ in 0..3 {
        t.send(get_manifest("hello", "v1")).await.unwrap();
    }
    assert_eq!(challenges(&emulator), 0);
    let tokens = requests(&emulator, |r| r.path.starts_with("/oauth2/"));
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    assert_eq!(tokens[0].method, "GET", "{tokens:?}");
    assert_eq!(tokens[0].authorization.as_deref(), Some("Basic"));
}

#[tokio::test]
async fn without_acr_mode_the_first_request_learns_the_realm_from_a_401() {
    let emulator = acr().await;
    // anonymous and username/password on a non-ACR host are not ACR mode by default
    emulator.set_anonymous_pull(true);
    let anon = builder(&emulator.endpoint(), Credential::Anonymous)
        .build()
        .unwrap();
    anon.send(get_manifest("hello", "v1")).await.unwrap();
    assert_eq!(challenges(&emulator), 1);
    // a refresh token with ACR mode turned off: one 401, then tokens up front
    let t = builder(
        &emulator.endpoint(),
        Credential::refresh_token(emu::refresh_token(&emulator)),
    )
    .acr(false)
    .build()
    .unwrap();
    for _ in 0..5 {
        t.send(get_manifest("hello", "v1")).await.unwrap();
    }
    assert_eq!(challenges(&emulator), 2);
    assert_eq!(token_requests(&emulator), 2);
}

#[tokio::test]
async fn requests_without_a_scope_go_without_a_token() {
    let emulator = acr().await;
    let t = builder(
        &emulator.endpoint(),
        Credential::refresh_token(emu::refresh_token(&emulator)),
    )
    .build()
    .unwrap();
    let r = t
        .send(Request::new("check_docker_v2_support", Method::GET, "/v2/"))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    // sent bare, challenged, answered: as before ACR mode
    let seen = seen(&emulator);
    assert_eq!(seen[0], ("GET /v2/".into(), None), "{seen:?}");
    assert_eq!(challenges(&emulator), 1);
}

#[tokio::test]
async fn a_stale_up_front_token_is_answered_as_a_challenge() {
    let emulator = acr().await;
    let t = builder(
        &emulator.endpoint(),
        Credential::refresh_token(emu::refresh_token(&emulator)),
    )
    .build()
    .unwrap();
    t.send(get_manifest("hello", "v1")).await.unwrap();
    emulator.expire_access_tokens();
    t.send(get_manifest("hello", "v1")).await.unwrap();
    t.send(get_manifest("hello", "v1")).await.unwrap();
    assert_eq!(challenges(&emulator), 1);
    assert_eq!(token_requests(&emulator), 2);
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
