//! Secrets never show: every public type that can hold a password, refresh token, access token
//! or AAD token is filled with a marker value (or with the tokens the ACR emulator really
//! issues) and printed with `{:?}`, `{:#?}` and `{}` where it has them; failed calls are
//! printed too; and the whole `tracing` output at TRACE level, reqwest's, hyper's and h2's own
//! records included (`log` records bridged into `tracing`), is captured. No secret appears in
//! any of it.
//!
//! In its own test binary: the subscriber is process-global (reqwest's connection tasks run on
//! other threads), so nothing else may run beside it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Debug;
use std::io::Write;
use std::sync::{Arc, Mutex};

use acr::Client;
use acr::models::{AadGrantType, AccessToken, RefreshToken, TokenGrantType};
use acr_runtime::{
    AadToken, AadTokenSource, Body, Credential, FormValue, Request, Secret, auth::AadTokenFuture,
};
use acr_tests::emulator::Emulator;
use base64::Engine as _;

const USER: &str = "admin";
const PASSWORD: &str = "pw-MARKER-5e1f";
const WRONG_PASSWORD: &str = "wrong-pw-MARKER-0a9b";
const AAD: &str = "aad-MARKER-77c3";
const WRONG_AAD: &str = "wrong-aad-MARKER-31d0";
const WRONG_REFRESH: &str = "wrong-rt-MARKER-9b24";
const MODEL_ACCESS: &str = "model-at-MARKER-c5aa";
const MODEL_REFRESH: &str = "model-rt-MARKER-e81d";

/// Everything written by the subscriber.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything the test prints of the values it holds.
#[derive(Default)]
struct Shown(String);

impl Shown {
    fn debug(&mut self, what: &str, value: &impl Debug) {
        self.0
            .push_str(&format!("\n{what}: {value:?}\n{what}: {value:#?}"));
        // a user's own log line
        tracing::debug!(?value, "{what}");
    }
    fn both(&mut self, what: &str, value: &(impl Debug + std::fmt::Display)) {
        self.debug(what, value);
        self.0.push_str(&format!("\n{what}: {value}"));
        tracing::info!(%value, "{what}");
    }
    fn result<T: Debug>(&mut self, what: &str, result: &Result<T, acr::Error>) {
        match result {
            Ok(value) => self.debug(what, value),
            Err(error) => self.both(what, error),
        }
    }
}

struct Aad(&'static str);

impl AadTokenSource for Aad {
    fn aad_token<'a>(&'a self, _scope: &'a str) -> AadTokenFuture<'a> {
        Box::pin(async move {
            Ok(AadToken {
                token: Secret::new(self.0),
                expires_at: None,
            })
        })
    }
}

fn client(emulator: &Emulator, credential: Credential) -> Client {
    Client::builder(emulator.endpoint())
        .credential(credential)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_public_type_shows_a_secret_in_debug_display_errors_or_trace_logs() {
    let capture = Capture::default();
    let sink = capture.clone();
    // `try_init` also bridges `log` records (reqwest's) into this subscriber.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .try_init()
        .expect("the only subscriber of this binary");

    let emulator = Emulator::builder()
        .admin(USER, PASSWORD)
        .aad_token(AAD)
        .start()
        .await
        .unwrap();
    emulator
        .put_image("trust/secrets", "v1", "amd64", "linux")
        .unwrap();
    let service = emulator.host();
    let scopes = ["repository:trust/secrets:pull"];
    let mut shown = Shown::default();
    // the secrets the emulator issues join the markers as they are learnt
    let mut secrets: Vec<String> = [
        PASSWORD,
        WRONG_PASSWORD,
        AAD,
        WRONG_AAD,
        WRONG_REFRESH,
        MODEL_ACCESS,
        MODEL_REFRESH,
    ]
    .map(str::to_owned)
    .to_vec();
    for password in [PASSWORD, WRONG_PASSWORD] {
        secrets
            .push(base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{password}")));
    }

    // Credentials, and the clients holding them.
    let basic = Credential::basic(USER, PASSWORD);
    let aad = Credential::aad(Arc::new(Aad(AAD)));
    shown.debug("basic credential", &basic);
    shown.debug("aad credential", &aad);
    shown.debug(
        "aad token",
        &AadToken {
            token: Secret::new(AAD),
            expires_at: None,
        },
    );
    shown.both("secret", &Secret::new(PASSWORD));
    let admin = client(&emulator, basic);
    let anonymous = client(&emulator, Credential::Anonymous);
    shown.debug("admin client", &admin);

    // The admin pulls: Basic on `GET /oauth2/token`, then Bearer access tokens.
    let pulled = admin.get_manifest("trust/secrets", "v1").await;
    assert!(pulled.is_ok(), "{pulled:?}");
    shown.result("get_manifest", &pulled);

    // exchange_aad_access_token_for_acr_refresh_token: builder, response, model.
    let builder = anonymous
        .exchange_aad_access_token_for_acr_refresh_token(AadGrantType::AccessToken, &service)
        .access_token(AAD)
        .refresh_token(AAD);
    shown.debug("aad exchange builder", &builder);
    let exchanged = anonymous
        .exchange_aad_access_token_for_acr_refresh_token(AadGrantType::AccessToken, &service)
        .access_token(AAD)
        .await
        .unwrap();
    let refresh: Secret = exchanged.body.refresh_token.clone();
    assert!(!refresh.is_empty());
    secrets.push(refresh.expose().to_owned());
    shown.debug("aad exchange response", &exchanged);
    shown.debug("refresh token model", &exchanged.body);
    shown.both("refresh token", &exchanged.body.refresh_token);
    let refused = anonymous
        .exchange_aad_access_token_for_acr_refresh_token(AadGrantType::AccessToken, &service)
        .access_token(WRONG_AAD)
        .await;
    assert!(refused.is_err(), "{refused:?}");
    shown.result("aad exchange refused", &refused);

    // exchange_acr_refresh_token_for_acr_access_token: builder, response, model.
    let builder = anonymous.exchange_acr_refresh_token_for_acr_access_token(
        TokenGrantType::RefreshToken,
        &service,
        scopes,
        &refresh,
    );
    shown.debug("refresh exchange builder", &builder);
    let access = builder.await.unwrap();
    secrets.push(access.body.access_token.expose().to_owned());
    shown.debug("refresh exchange response", &access);
    shown.both("access token", &access.body.access_token);
    let refused = anonymous
        .exchange_acr_refresh_token_for_acr_access_token(
            TokenGrantType::RefreshToken,
            &service,
            scopes,
            WRONG_REFRESH,
        )
        .await;
    assert!(refused.is_err(), "{refused:?}");
    shown.result("refresh exchange refused", &refused);

    // get_acr_access_token_from_login (Basic up front); its answer or its error is shown.
    let login = admin
        .get_acr_access_token_from_login(&service, scopes)
        .await;
    if let Ok(login) = &login {
        secrets.push(login.body.access_token.expose().to_owned());
    }
    shown.result("login", &login);

    // Clients that fetch their tokens themselves: a refresh token, an AAD identity; and a
    // wrong password, whose error is shown.
    let with_refresh = client(&emulator, Credential::refresh_token(refresh.clone()));
    let pulled = with_refresh.get_manifest("trust/secrets", "v1").await;
    assert!(pulled.is_ok(), "{pulled:?}");
    shown.debug("refresh-token client", &with_refresh);
    let with_aad = client(&emulator, aad);
    let pulled = with_aad.get_manifest("trust/secrets", "v1").await;
    assert!(pulled.is_ok(), "{pulled:?}");
    shown.debug("aad client", &with_aad);
    let wrong = client(&emulator, Credential::basic(USER, WRONG_PASSWORD));
    let refused = wrong.get_manifest("trust/secrets", "v1").await;
    assert!(refused.is_err(), "{refused:?}");
    shown.result("wrong password", &refused);

    // Models built by hand, and a runtime request with a form body.
    shown.debug(
        "access token model",
        &AccessToken {
            access_token: Secret::new(MODEL_ACCESS),
        },
    );
    shown.debug(
        "refresh token model",
        &RefreshToken {
            refresh_token: Secret::new(MODEL_REFRESH),
        },
    );
    let form = vec![
        ("grant_type".to_owned(), FormValue::from("refresh_token")),
        (
            "refresh_token".to_owned(),
            FormValue::from(Secret::new(MODEL_REFRESH)),
        ),
        (
            "access_token".to_owned(),
            FormValue::from(Secret::new(MODEL_ACCESS)),
        ),
    ];
    shown.debug(
        "runtime request",
        &Request::new("exchange", acr_runtime::http::Method::POST, "/oauth2/token")
            .body(Body::Form(form)),
    );

    // Serde still writes the secret (it goes on the wire that way).
    let json = serde_json::to_string(&AccessToken {
        access_token: Secret::new(MODEL_ACCESS),
    })
    .unwrap();
    assert_eq!(json, format!(r#"{{"access_token":"{MODEL_ACCESS}"}}"#));

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    // The capture holds the client's spans and the HTTP stack's own records.
    assert!(logs.contains("acr.request"), "{logs}");
    assert!(logs.contains("exchange_acr_refresh_token_for_acr_access_token"));
    assert!(
        logs.contains("reqwest::") || logs.contains("hyper") || logs.contains("h2::"),
        "reqwest's and hyper's records are captured:\n{logs}"
    );
    assert!(shown.0.contains("<redacted>"), "{}", shown.0);
    assert!(secrets.len() >= 11, "{secrets:?}");
    for secret in &secrets {
        assert!(
            !shown.0.contains(secret.as_str()),
            "{secret} shown:\n{}",
            shown.0
        );
        assert!(!logs.contains(secret.as_str()), "{secret} logged:\n{logs}");
    }
}
