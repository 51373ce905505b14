//! Credentials belong to the registry's origin (scheme, host and port): a realm, a redirect
//! target, a `Link` target or an upload `Location` on another origin never receives one
//! unless the caller allowed that origin; a 401 from outside the origin is an error, never a
//! challenge. Each test keeps a second loopback server that records every header it gets.

use std::sync::atomic::Ordering;

use acr_runtime::{Credential, Error, Request};
use bytes::Bytes;
use http::Method;

use crate::support::{self, AuthMode, Fake};
use crate::wire::{self, answer};
use crate::{builder, client, get_manifest};

fn secrets(fake: &Fake) -> [String; 2] {
    [
        fake.state.password.clone(),
        fake.state.refresh_token.clone(),
    ]
}

fn assert_clean(server: &wire::Scripted, fake: &Fake) {
    let secrets = secrets(fake);
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    for r in server.requests() {
        assert!(
            !r.carries_credential(&secrets),
            "{} {} carried a credential: {:?}",
            r.method,
            r.uri,
            r.headers
        );
    }
}

/// A recorder that answers every request 200 `{"token": …}` (a willing token realm).
async fn recorder(host: &str) -> wire::Scripted {
    wire::serve(host, |_, _| {
        answer(
            200,
            &[("content-type", "application/json")],
            r#"{"token":"stolen","access_token":"stolen"}"#,
        )
    })
    .await
}

/// A foreign server answering 401 with a Bearer realm at `realm`.
async fn challenger(host: &str, realm: String) -> wire::Scripted {
    wire::serve(host, move |_, _| {
        answer(
            401,
            &[(
                "www-authenticate",
                &format!(
                    r#"Bearer realm="{realm}",service="registry",scope="repository:hello:pull""#
                ),
            )],
            "",
        )
    })
    .await
}

fn seed(fake: &Fake) {
    fake.state.manifests.lock().unwrap().insert(
        ("hello".into(), "v1".into()),
        (
            "application/vnd.oci.image.manifest.v1+json".into(),
            Bytes::from_static(b"{}"),
        ),
    );
}

#[tokio::test]
async fn a_realm_on_another_port_of_the_registry_host_gets_no_credential() {
    let fake = support::start().await; // 127.0.0.1:P
    seed(&fake);
    let other = recorder("127.0.0.1").await; // 127.0.0.1:Q, same host
    fake.state.set_mode(AuthMode::Docker);
    *fake.state.realm_base.lock().unwrap() = other.url.clone();
    for cred in [
        Credential::basic("admin", fake.state.password.clone()),
        Credential::refresh_token(fake.state.refresh_token.clone()),
    ] {
        let t = builder(&fake.url, cred).acr(false).build().unwrap();
        let e = t.send(get_manifest("hello", "v1")).await.unwrap_err();
        assert!(matches!(e, Error::Insecure { .. }), "{e:?}");
        assert!(e.to_string().contains("allow_token_realm_origin"), "{e}");
        // a second request: the refused realm did not become the auth mode either
        let e = t.send(get_manifest("hello", "v1")).await.unwrap_err();
        assert!(matches!(e, Error::Insecure { .. }), "{e:?}");
    }
    assert!(other.requests().is_empty(), "{:?}", other.requests());
    // allowed explicitly, that origin (and only it) gets the credential
    let t = builder(
        &fake.url,
        Credential::basic("admin", fake.state.password.clone()),
    )
    .acr(false)
    .allow_token_realm_origin(other.url.clone())
    .build()
    .unwrap();
    let _ = t.send(get_manifest("hello", "v1")).await;
    let got = other.requests();
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].headers.contains_key("authorization"));
}

#[tokio::test]
async fn a_redirect_target_answering_401_is_an_error_not_a_challenge() {
    for mode in [AuthMode::Basic, AuthMode::Acr] {
        let fake = support::start().await; // 127.0.0.1:P
        seed(&fake);
        let other_port = recorder("127.0.0.1").await;
        // the foreign host challenges with a realm on the registry host's other port
        let foreign = challenger("localhost", format!("{}/token", other_port.url)).await;
        fake.state.set_mode(mode.clone());
        *fake.state.redirect_to.lock().unwrap() = Some(foreign.url.clone());
        let digest = support::sha256(b"blob");
        fake.state
            .blobs
            .lock()
            .unwrap()
            .insert(digest.clone(), Bytes::from_static(b"blob"));
        let cred = match mode {
            AuthMode::Basic => Credential::basic("admin", fake.state.password.clone()),
            _ => Credential::refresh_token(fake.state.refresh_token.clone()),
        };
        let t = client(&fake.url, cred);
        let get_blob = || {
            Request::new("get_blob", Method::GET, format!("/v2/hello/blobs/{digest}"))
                .scope("repository:hello:pull")
                .repository("hello")
        };
        let e = t.send(get_blob()).await.unwrap_err();
        assert!(matches!(e, Error::Auth { .. }), "{e:?}");
        assert_eq!(e.status(), Some(http::StatusCode::UNAUTHORIZED));
        assert!(e.to_string().contains("not the registry's origin"), "{e}");
        assert_eq!(
            foreign.requests().len(),
            1,
            "answered once, not as a challenge"
        );
        assert_clean(&foreign, &fake);
        assert!(other_port.requests().is_empty());
        // the client's auth mode is still the registry's own
        let before = fake.state.unauthorized.load(Ordering::SeqCst);
        assert_eq!(
            t.send(get_manifest("hello", "v1")).await.unwrap().status,
            200
        );
        assert_eq!(fake.state.unauthorized.load(Ordering::SeqCst), before);
        assert!(other_port.requests().is_empty());
    }
}

#[tokio::test]
async fn link_targets_and_upload_locations_on_another_origin_get_no_credential() {
    let fake = support::start().await;
    seed(&fake);
    fake.state.set_mode(AuthMode::Basic);
    let other_port = recorder("127.0.0.1").await;
    let foreign = challenger("localhost", format!("{}/token", other_port.url)).await;
    let t = client(
        &fake.url,
        Credential::basic("admin", fake.state.password.clone()),
    );
    // warm: the client sends Basic up front to the registry from now on
    t.send(get_manifest("hello", "v1")).await.unwrap();
    // a Link target and an upload Location are absolute URLs on the foreign origin
    let link = Request::new(
        "get_repositories",
        Method::GET,
        format!("{}/acr/v1/_catalog?last=a&n=1", foreign.url),
    )
    .scope("registry:catalog:*");
    let location = Request::new(
        "upload_chunk",
        Method::PATCH,
        format!("{}/v2/hello/blobs/uploads/u1?_state=x", foreign.url),
    )
    .scope("repository:hello:pull,push")
    .body(acr_runtime::Body::Bytes {
        content_type: "application/octet-stream".into(),
        data: Bytes::from_static(b"chunk"),
    });
    for req in [link, location] {
        let e = t.send(req).await.unwrap_err();
        assert!(matches!(e, Error::Auth { .. }), "{e:?}");
        assert_eq!(e.status(), Some(http::StatusCode::UNAUTHORIZED));
    }
    assert_eq!(foreign.requests().len(), 2);
    assert_clean(&foreign, &fake);
    assert!(other_port.requests().is_empty());
    // the registry still gets its credential
    assert_eq!(
        t.send(get_manifest("hello", "v1")).await.unwrap().status,
        200
    );
    assert!(fake.state.log.lock().unwrap().last().unwrap().1);
}

/// A request that sets `Authorization` itself (a spec's own header parameter) and a client
/// with a credential of the same header: the request's value wins, sent once.
#[tokio::test]
async fn a_request_s_own_authorization_wins_over_the_credential_and_goes_once() {
    let api = wire::serve("127.0.0.1", |_, _| answer(200, &[], "ok")).await;
    let credentials = [
        Credential::Generic(acr_runtime::GenericCredential::bearer("from-credential")),
        Credential::Generic(acr_runtime::GenericCredential::basic(
            "user",
            "from-credential",
        )),
    ];
    for credential in credentials {
        let t = client(&api.url, credential);
        let own = Request::new("op", Method::GET, "/things")
            .header("authorization", "Bearer from-the-request")
            .unwrap();
        assert_eq!(t.send(own).await.unwrap().status, 200);
        let plain = Request::new("op", Method::GET, "/things");
        assert_eq!(t.send(plain).await.unwrap().status, 200);
    }
    let seen: Vec<Vec<String>> = api
        .requests()
        .iter()
        .map(|r| {
            r.headers
                .get_all(http::header::AUTHORIZATION)
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect()
        })
        .collect();
    assert_eq!(seen.len(), 4);
    for (i, values) in seen.iter().enumerate() {
        assert_eq!(
            values.len(),
            1,
            "request {i}: one Authorization field: {values:?}"
        );
    }
    assert_eq!(seen[0], ["Bearer from-the-request"]);
    assert_eq!(seen[1], ["Bearer from-credential"]);
    assert_eq!(seen[2], ["Bearer from-the-request"]);
    assert!(seen[3][0].starts_with("Basic "), "{:?}", seen[3]);
}

/// The request's own credential headers are bound to the registry's origin too: a redirect
/// to another origin (another port of the same host, another host name) drops them.
#[tokio::test]
async fn a_request_s_own_authorization_does_not_follow_a_redirect_to_another_origin() {
    for host in ["127.0.0.1", "localhost"] {
        let target = recorder(host).await;
        let to = format!("{}/elsewhere", target.url);
        let api = wire::serve("127.0.0.1", move |_, _| {
            answer(307, &[("location", to.as_str())], "")
        })
        .await;
        let t = client(&api.url, Credential::Anonymous);
        let own = Request::new("op", Method::GET, "/things")
            .header("authorization", "Bearer from-the-request")
            .unwrap()
            .header("cookie", "session=from-the-request")
            .unwrap();
        assert_eq!(t.send(own).await.unwrap().status, 200);
        assert_eq!(
            api.requests()[0].headers[http::header::AUTHORIZATION],
            "Bearer from-the-request"
        );
        let hops = target.requests();
        assert_eq!(hops.len(), 1, "the redirect was followed to {host}");
        assert!(
            !hops[0].headers.contains_key(http::header::AUTHORIZATION)
                && !hops[0].headers.contains_key(http::header::COOKIE),
            "{host}: {:?}",
            hops[0].headers
        );
    }
}
