//! Runtime tests against the ACR emulator (`emu`), a fake registry that misbehaves on purpose
//! (`support`) and hand-written loopback servers. (The blob and manifest workflows' own tests
//! moved with them to the `acr` crate: `generated/tests/transfers`, sharing `support` and `emu`.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod acr_mode;
mod auth;
// shared with the acr crate's workflow tests, which use the rest
#[allow(dead_code)]
mod emu;
mod limits;
mod origin;
mod paging;
mod redirects;
mod retry;
// shared with the acr crate's workflow tests (generated/tests/transfers), which use the rest
#[allow(dead_code)]
mod support;
mod timeouts;
#[path = "../../../tests/src/transfers.rs"]
mod transfers;
mod wire;

use std::time::Duration;

use acr_runtime::{ClientBuilder, Credential, Request, RetryPolicy, TokenService, Transport};

/// ACR's token service, as its spec states it (the generated `Client` carries it; a bare
/// transport is told).
pub const ACR_TOKENS: TokenService = TokenService {
    access_token: "/oauth2/token",
    refresh_token: Some("/oauth2/exchange"),
};
use http::Method;

/// A transport on `url` with fast retries.
pub fn client(url: &str, credential: Credential) -> Transport {
    builder(url, credential).build().unwrap()
}

pub fn builder(url: &str, credential: Credential) -> ClientBuilder<Transport> {
    ClientBuilder::new(url)
        .credential(credential)
        .token_service(ACR_TOKENS)
        .retry(
            RetryPolicy::default()
                .with_max_attempts(4)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
        )
}

/// A manifest GET with its scope.
pub fn get_manifest(repo: &str, reference: &str) -> Request {
    Request::new(
        "get_manifest",
        Method::GET,
        format!("/v2/{repo}/manifests/{reference}"),
    )
    .scope(format!("repository:{repo}:pull"))
    .repository(repo)
}
