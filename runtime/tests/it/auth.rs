use std::sync::Arc;
use std::sync::atomic::Ordering;

use acr_runtime::auth::{AadToken, AadTokenFuture, AadTokenSource};
use acr_runtime::{Credential, Error, Secret};
use bytes::Bytes;

use acr_emulator::{Emulator, Fault, LoggedRequest};

use crate::support::{self, AuthMode, Fake};
use crate::{builder, client, emu, get_manifest};

fn seed_manifests(fake: &Fake, repos: &[&str]) {
    let mut m = fake.state.manifests.lock().unwrap();
    for r in repos {
        m.insert(
            (r.to_string(), "v1".into()),
            (
                "application/vnd.oci.image.manifest.v1+json".into(),
                Bytes::from_static(b"{}"),
            ),
        );
    }
}

/// An emulator holding `v1` in each of `repos`.
async fn acr(repos: &[&str]) -> Emulator {
    let emulator = emu::start().await;
    for repo in repos {
        emulator.put_image(repo, "v1", "amd64", "linux").unwrap();
    }
    emulator
}

/// The `POST /oauth2/token` requests.
fn token_posts(emulator: &Emulator) -> Vec<LoggedRequest> {
    emu::requests(emulator, |r| {
        r.method == "POST" && r.path == "/oauth2/token"
    })
}

#[tokio::test]
async fn warm_client_sends_tokens_up_front_one_fetch_per_scope() {
    let repos = ["alpha", "team/beta", "gamma"];
    let emulator = acr(&repos).await;
    let t = client(
        &emulator.endpoint(),
        Credential::refresh_token(emu::refresh_token(&emulator)),
    );
    for i in 0..100 {
        let r = t.send(get_manifest(repos[i % 3], "v1")).await.unwrap();
        assert_eq!(r.status, 200);
    }
    assert_eq!(emu::token_requests(&emulator), 3);
    // a refresh token means ACR: the realm is known, even the first request carries a token
    assert_eq!(emu::challenges(&emulator), 0);
    let posts = token_posts(&emulator);
    assert_eq!(
        posts[0].form_values("grant_type"),
        ["refresh_token"],
        "{posts:?}"
    );
    let mut scopes: Vec<&str> = posts.iter().flat_map(|p| p.form_values("scope")).collect();
    scopes.sort();
    assert_eq!(
        scopes,
        [
            "repository:alpha:pull",
            "repository:gamma:pull",
            "repository:team/beta:pull"
        ]
    );
}

#[tokio::test]
async fn concurrent_first_calls_share_one_token_fetch() {
    let emulator = acr(&["hello"]).await;
    let t = client(
        &emulator.endpoint(),
        Credential::refresh_token(emu::refresh_token(&emulator)),
    );
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            t.send(get_manifest("hello", "v1")).await
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().status, 200);
    }
    assert_eq!(emu::token_requests(&emulator), 1);
}

#[tokio::test]
async fn revoked_or_insufficient_token_is_refreshed_once() {
    let emulator = acr(&["hello"]).await;
    let t = client(
        &emulator.endpoint(),
        Credential::refresh_token(emu::refresh_token(&emulator)),
    );
    t.send(get_manifest("hello", "v1")).await.unwrap();
    assert_eq!(emu::token_requests(&emulator), 1);
    emulator.expire_access_tokens();
    t.send(get_manifest("hello", "v1")).await.unwrap();
    assert_eq!(emu::token_requests(&emulator), 2);
    // only the request that carried the revoked token got a 401
    assert_eq!(emu::challenges(&emulator), 1);
    // a request whose declared scope is too narrow gets the challenged scope added
    let narrow = acr_runtime::Request::new(
        "delete_manifest",
        http::Method::DELETE,
        "/v2/hello/manifests/v1",
    )
    .scope("repository:hello:pull");
    let e = t.send(narrow).await.unwrap_err();
    // ACR refuses a delete by tag (405 UNSUPPORTED) once the token is right: auth went through
    assert_eq!(
        e.status(),
        Some(http::StatusCode::METHOD_NOT_ALLOWED),
        "{e}"
    );
    let posts = token_posts(&emulator);
    assert!(
        posts
            .last()
            .unwrap()
            .form_values("scope")
            .contains(&"repository:hello:delete"),
        "{posts:?}"
    );
}

#[tokio::test]
async fn anonymous_acr_pull_uses_password_grant_with_empty_refresh_token() {
    let emulator = acr(&["hello"]).await;
    emulator.set_anonymous_pull(true);
    let t = client(&emulator.endpoint(), Credential::Anonymous);
    assert_eq!(
        t.send(get_manifest("hello", "v1")).await.unwrap().status,
        200
    );
    let posts = token_posts(&emulator);
    assert_eq!(
        posts[0].form_values("grant_type"),
        ["password"],
        "{posts:?}"
    );
    assert_eq!(posts[0].form_values("refresh_token"), [""], "{posts:?}");
    assert_eq!(posts[0].authorization, None, "{posts:?}");
}

#[tokio::test]
async fn username_password_gets_tokens_with_basic_get() {
    let emulator = acr(&["hello"]).await;
    let t = client(
        &emulator.endpoint(),
        Credential::basic(emu::ADMIN_USER, emu::ADMIN_PASSWORD),
    );
    assert_eq!(
        t.send(get_manifest("hello", "v1")).await.unwrap().status,
        200
    );
    let tokens = emu::requests(&emulator, |r| r.path.starts_with("/oauth2/"));
    assert_eq!(
        (
            tokens[0].method.as_str(),
            tokens[0].authorization.as_deref()
        ),
        ("GET", Some("Basic")),
        "{tokens:?}"
    );

    let bad = client(&emulator.endpoint(), Credential::basic("admin", "wrong"));
    let e = bad.send(get_manifest("hello", "v1")).await.unwrap_err();
    assert!(matches!(e, Error::Auth { .. }), "{e:?}");
    assert_eq!(e.status(), Some(http::StatusCode::UNAUTHORIZED));
    assert!(e.to_string().contains("refused the credential"), "{e}");
}

#[tokio::test]
async fn generic_docker_token_realm() {
    let fake = support::start().await;
    fake.state.set_mode(AuthMode::Docker);
    seed_manifests(&fake, &["hello"]);
    let t = client(&fake.url, Credential::basic("admin", "s3cr3t-pa55"));
    assert_eq!(
        t.send(get_manifest("hello", "v1")).await.unwrap().status,
        200
    );
    // anonymous against a docker realm is a plain GET without credentials
    *fake.state.anonymous_pull.lock().unwrap() = true;
    let anon = client(&fake.url, Credential::Anonymous);
    assert_eq!(
        anon.send(get_manifest("hello", "v1")).await.unwrap().status,
        200
    );
    let log = fake.state.token_log.lock().unwrap().clone();
    assert!(
        log[0].starts_with("GET /token") && log[0].ends_with("basic=true"),
        "{log:?}"
    );
    assert!(
        log[1].starts_with("GET /token") && log[1].ends_with("basic=false"),
        "{log:?}"
    );
}

#[tokio::test]
async fn basic_challenge_then_basic_up_front() {
    let fake = support::start().await;
    fake.state.set_mode(AuthMode::Basic);
    seed_manifests(&fake, &["hello"]);
    let t = client(&fake.url, Credential::basic("admin", "s3cr3t-pa55"));
    for _ in 0..5 {
        assert_eq!(
            t.send(get_manifest("hello", "v1")).await.unwrap().status,
            200
        );
    }
    assert_eq!(fake.state.unauthorized.load(Ordering::SeqCst), 1);
    assert_eq!(fake.state.token_requests.load(Ordering::SeqCst), 0);
    // without a credential the 401 is the caller's error
    let anon = client(&fake.url, Credential::Anonymous);
    let e = anon.send(get_manifest("hello", "v1")).await.unwrap_err();
    assert_eq!(e.status(), Some(http::StatusCode::UNAUTHORIZED));
}

#[tokio::test]
async fn foreign_token_realm_is_refused_unless_allowed() {
    let fake = support::start().await; // on 127.0.0.1
    fake.state.set_mode(AuthMode::Acr);
    seed_manifests(&fake, &["hello"]);
    let port = fake.url.rsplit(':').next().unwrap().to_owned();
    *fake.state.realm_base.lock().unwrap() = format!("http://localhost:{port}");
    let cred = Credential::refresh_token(fake.state.refresh_token.clone());
    // (in ACR mode the realm is the registry's own and the challenge is never read)
    let t = builder(&fake.url, cred.clone()).acr(false).build().unwrap();
    let e = t.send(get_manifest("hello", "v1")).await.unwrap_err();
    assert!(matches!(e, Error::Insecure { .. }), "{e:?}");
    assert!(e.to_string().contains("allow_token_realm_origin"), "{e}");
    assert_eq!(fake.state.token_requests.load(Ordering::SeqCst), 0);
    let t = builder(&fake.url, cred)
        .acr(false)
        .allow_token_realm_host("localhost")
        .build()
        .unwrap();
    assert_eq!(
        t.send(get_manifest("hello", "v1")).await.unwrap().status,
        200
    );
}

#[test]
fn credentials_never_go_over_plain_http_to_remote_hosts() {
    let e = builder("http://registry.example.com", Credential::basic("u", "p"))
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("plain http"), "{e}");
    assert!(
        builder("http://registry.example.com", Credential::Anonymous)
            .build()
            .is_ok()
    );
    assert!(
        builder("http://registry.example.com", Credential::basic("u", "p"))
            .allow_insecure_http(true)
            .build()
            .is_ok()
    );
    assert!(
        builder("http://[::1]:5000", Credential::basic("u", "p"))
            .build()
            .is_ok()
    );
    assert!(builder("ftp://x", Credential::Anonymous).build().is_err());
}

#[tokio::test]
async fn token_answers_over_one_mib_are_refused() {
    let fake = support::start().await;
    fake.state.set_mode(AuthMode::Acr);
    *fake.state.huge_token.lock().unwrap() = true;
    let t = client(
        &fake.url,
        Credential::refresh_token(fake.state.refresh_token.clone()),
    );
    let e = t.send(get_manifest("hello", "v1")).await.unwrap_err();
    assert!(matches!(e, Error::TooLarge { limit: 1048576, .. }), "{e:?}");
}

struct FakeAad;

impl AadTokenSource for FakeAad {
    fn aad_token<'a>(&'a self, scope: &'a str) -> AadTokenFuture<'a> {
        Box::pin(async move {
            assert_eq!(scope, "https://management.usgovcloudapi.net/.default");
            Ok(AadToken {
                token: Secret::new("aad-SECRET"),
                expires_at: None,
            })
        })
    }
}

#[tokio::test]
async fn aad_token_is_exchanged_once_for_a_refresh_token() {
    let emulator = Emulator::builder()
        .aad_token("aad-SECRET")
        .start()
        .await
        .unwrap();
    emulator.put_image("a", "v1", "amd64", "linux").unwrap();
    emulator.put_image("b", "v1", "amd64", "linux").unwrap();
    let cred = Credential::aad_with(
        Arc::new(FakeAad),
        "https://management.usgovcloudapi.net/",
        Some("tenant-1".into()),
    );
    let t = client(&emulator.endpoint(), cred);
    t.send(get_manifest("a", "v1")).await.unwrap();
    t.send(get_manifest("b", "v1")).await.unwrap();
    let exchanges = emu::requests(&emulator, |r| r.path == "/oauth2/exchange");
    assert_eq!(exchanges.len(), 1, "{exchanges:?}");
    assert_eq!(exchanges[0].status, 200, "{exchanges:?}");
    assert_eq!(exchanges[0].form_values("grant_type"), ["access_token"]);
    assert_eq!(exchanges[0].form_values("tenant"), ["tenant-1"]);
    assert_eq!(emu::token_requests(&emulator), 2);
}

#[tokio::test]
async fn token_requests_are_retried_on_server_errors() {
    let emulator = acr(&["hello"]).await;
    emulator.inject(Fault::on("POST", "/oauth2/token").fail_with(503));
    emulator.inject(Fault::on("POST", "/oauth2/token").nth(2).fail_with(500));
    let t = client(
        &emulator.endpoint(),
        Credential::refresh_token(emu::refresh_token(&emulator)),
    );
    assert_eq!(
        t.send(get_manifest("hello", "v1")).await.unwrap().status,
        200
    );
    let posts = token_posts(&emulator);
    let statuses: Vec<u16> = posts.iter().map(|p| p.status).collect();
    assert_eq!(statuses, [503, 500, 200], "{posts:?}");
    // a refused credential is not retried
    emulator.clear_faults();
    emulator.clear_log();
    emulator.inject(Fault::on("POST", "/oauth2/token").fail_with(401));
    let t = client(
        &emulator.endpoint(),
        Credential::refresh_token(emu::refresh_token(&emulator)),
    );
    let e = t.send(get_manifest("hello", "v1")).await.unwrap_err();
    assert!(matches!(e, Error::Auth { .. }), "{e:?}");
    assert_eq!(emu::token_requests(&emulator), 1);
}

#[tokio::test]
async fn a_challenge_s_answer_is_let_go_before_the_token_request() {
    // The 401 is read (its body, up to the error limit) and let go before the token is asked
    // for, so a registry that serves one connection per client answers the token request
    // (on the same connection when the body was read to its end, else on a new one). The
    // body here is 1 MiB, more than the client's buffers take in unasked.
    let (url, most) = crate::wire::one_connection_at_a_time(|head| {
        let line = head.lines().next().unwrap_or_default();
        let host = head
            .lines()
            .find_map(|l| l.strip_prefix("host: "))
            .unwrap_or_default();
        let (status, headers, body) = if line.starts_with("GET /token?") {
            ("200 OK", String::new(), r#"{"token":"t1"}"#.to_owned())
        } else if head.contains("authorization: Bearer t1") {
            ("200 OK", String::new(), "{}".to_owned())
        } else {
            (
                "401 Unauthorized",
                format!(
                    "www-authenticate: Bearer realm=\"http://{host}/token\",service=\"reg\",scope=\"repository:hello:pull\"\r\n"
                ),
                format!(r#"{{"errors":[{{"code":"UNAUTHORIZED","message":"{}"}}]}}"#, "x".repeat(1 << 20)),
            )
        };
        format!(
            "HTTP/1.1 {status}\r\n{headers}content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    })
    .await;
    let t = crate::wire::one_connection_client(&url);
    let r = t.send(get_manifest("hello", "v1")).await;
    assert_eq!(
        r.map(|r| r.status).map_err(|e| e.to_string()),
        Ok(http::StatusCode::OK)
    );
    assert_eq!(most.load(Ordering::SeqCst), 1);
}
