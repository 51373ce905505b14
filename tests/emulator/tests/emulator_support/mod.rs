//! Helpers shared by the `emulator_*` tests (raw reqwest against the emulator).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use acr_emulator::Emulator;

pub const ADMIN_USER: &str = "admin";
pub const ADMIN_PASSWORD: &str = "admin-password";
pub const AAD_TOKEN: &str = "fake-aad-token";

/// A client that does not follow redirects.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// An emulator with the admin user and one AAD token.
pub async fn start() -> Emulator {
    Emulator::builder()
        .admin(ADMIN_USER, ADMIN_PASSWORD)
        .aad_token(AAD_TOKEN)
        .start()
        .await
        .unwrap()
}

/// `endpoint + path`.
pub fn url(emulator: &Emulator, path: &str) -> String {
    format!("{}{path}", emulator.endpoint())
}

/// The parameters of a `WWW-Authenticate: Bearer k="v",...` header.
pub fn challenge(response: &reqwest::Response) -> BTreeMap<String, String> {
    let value = response.headers()["www-authenticate"].to_str().unwrap();
    let rest = value.strip_prefix("Bearer ").expect("a Bearer challenge");
    rest.split("\",")
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap();
            (k.to_owned(), v.trim_matches('"').to_owned())
        })
        .collect()
}

/// The JSON body.
pub async fn json(response: reqwest::Response) -> serde_json::Value {
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

/// The AAD → refresh token exchange.
pub async fn refresh_token(emulator: &Emulator) -> String {
    let response = http()
        .post(url(emulator, "/oauth2/exchange"))
        .form(&[
            ("grant_type", "access_token"),
            ("service", &emulator.host()),
            ("access_token", AAD_TOKEN),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    json(response).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An access token for `scope` through exchange + refresh grant.
pub async fn access_token(emulator: &Emulator, scope: &str) -> String {
    let refresh = refresh_token(emulator).await;
    access_token_from_refresh(emulator, &refresh, scope).await
}

/// `POST /oauth2/token` with `grant_type=refresh_token`.
pub async fn access_token_from_refresh(emulator: &Emulator, refresh: &str, scope: &str) -> String {
    let response = http()
        .post(url(emulator, "/oauth2/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("service", &emulator.host()),
            ("scope", scope),
            ("refresh_token", refresh),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    json(response).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A request builder with the admin user's Basic credentials.
pub fn admin(builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    builder.basic_auth(ADMIN_USER, Some(ADMIN_PASSWORD))
}

/// Joins a relative Location to the endpoint.
pub fn absolute(emulator: &Emulator, location: &str) -> String {
    if location.starts_with("http") {
        location.to_owned()
    } else {
        url(emulator, location)
    }
}

/// A header as text.
pub fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers()[name].to_str().unwrap().to_owned()
}
