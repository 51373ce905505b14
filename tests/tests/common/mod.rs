//! Helpers shared by the end-to-end tests (`e2e_*`, `replay`, `skopeo`): servers, clients,
//! test images and assertions.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // each test binary uses a part

pub mod image;
pub mod replay;
pub mod workflow;

use acr::Client;
use acr_runtime::Credential;
use acr_tests::emulator::{Emulator, LoggedRequest};
use acr_tests::registry::{Flavour, RealRegistry};

/// The emulator's admin user.
pub const ADMIN_USER: &str = "admin";
/// The emulator admin's password.
pub const ADMIN_PASSWORD: &str = "admin-password";
/// The fake AAD token the emulator's `/oauth2/exchange` accepts.
pub const AAD_TOKEN: &str = "fake-aad-token";
/// The user of the htpasswd flavour of the real registry.
pub const HTPASSWD_USER: &str = "e2e-user";
/// That user's password.
pub const HTPASSWD_PASSWORD: &str = "e2e-Passw0rd";

/// `sha256:<hex>` of `data`.
pub fn sha256(data: &[u8]) -> String {
    acr_tests::emulator::sha256_digest(data)
}

/// An emulator with the admin user and one AAD token.
pub async fn start_emulator() -> Emulator {
    Emulator::builder()
        .admin(ADMIN_USER, ADMIN_PASSWORD)
        .aad_token(AAD_TOKEN)
        .start()
        .await
        .expect("the emulator starts")
}

/// A client of the emulator that logs in as the admin user (Basic on `GET /oauth2/token`, then
/// Bearer tokens per scope).
pub fn emulator_client(emulator: &Emulator) -> Client {
    Client::builder(emulator.endpoint())
        .credential(Credential::basic(ADMIN_USER, ADMIN_PASSWORD))
        .build()
        .expect("the client builds")
}

/// A client of the emulator with another credential.
pub fn emulator_client_with(emulator: &Emulator, credential: Credential) -> Client {
    Client::builder(emulator.endpoint())
        .credential(credential)
        .build()
        .expect("the client builds")
}

/// Starts the real registry in `flavour`; `None` (the harness printed why) when it is not
/// installed. Fails the test on any other start problem (and when `REQUIRE_REAL_REGISTRY=1`).
pub async fn start_registry(flavour: Flavour) -> Option<RealRegistry> {
    RealRegistry::start(flavour)
        .await
        .expect("docker-registry starts")
}

/// The htpasswd flavour with the shared test user.
pub fn htpasswd() -> Flavour {
    Flavour::htpasswd(HTPASSWD_USER, HTPASSWD_PASSWORD)
}

/// A client of the real registry: anonymous for the open flavour, Basic for htpasswd.
pub fn registry_client(registry: &RealRegistry) -> Client {
    let credential = match registry.credentials() {
        Some((user, password)) => Credential::basic(user, password),
        None => Credential::Anonymous,
    };
    Client::builder(registry.endpoint())
        .credential(credential)
        .build()
        .expect("the client builds")
}

/// The requests of the emulator's log that went to a path containing `needle`, as
/// `METHOD path?query` lines.
pub fn logged(emulator: &Emulator, needle: &str) -> Vec<String> {
    emulator
        .log()
        .iter()
        .filter(|r| r.path.contains(needle))
        .map(|r| format!("{} {}", r.method, r.path_and_query()))
        .collect()
}

/// The emulator's log entries that match `method` and whose path contains `needle`.
pub fn requests<'a>(
    log: &'a [LoggedRequest],
    method: &'a str,
    needle: &'a str,
) -> impl Iterator<Item = &'a LoggedRequest> + 'a {
    log.iter()
        .filter(move |r| r.method == method && r.path.contains(needle))
}

/// The status and ACR/OCI error code of a failed call, for asserts.
pub fn status_and_code<T: std::fmt::Debug>(result: Result<T, acr::Error>) -> (u16, String) {
    let error = result.expect_err("the call fails");
    let status = error
        .status()
        .unwrap_or_else(|| panic!("an error with a status, got {error:?}"))
        .as_u16();
    (
        status,
        error.code().map(|c| c.to_string()).unwrap_or_default(),
    )
}
