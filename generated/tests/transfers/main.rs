//! The blob and manifest workflows (`Client::push_blob`, `pull_blob`, `push_manifest`,
//! `pull_manifest`) against the runtime's tiny in-test registry (`support`, shared with the
//! runtime's tests) and hand-written loopback servers. They moved here from the runtime with
//! the code they test; their calls go through the test shim `tests/src/transfers.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod blobs;
// shared with the runtime's tests: the ACR emulator, for the tests that need a registry which
// behaves
#[allow(dead_code)]
#[path = "../../../runtime/tests/it/emu.rs"]
mod emu;
mod manifests;
// shared with the runtime's tests, of which this binary uses a part
#[allow(dead_code)]
#[path = "../../../runtime/tests/it/support.rs"]
mod support;
#[path = "../../../tests/src/transfers.rs"]
mod transfers;

use std::time::Duration;

use acr_runtime::{ClientBuilder, Credential, RetryPolicy, TokenService, Transport};

/// ACR's token service, as its spec states it (the generated `Client` carries it; a bare
/// transport is told).
pub const ACR_TOKENS: TokenService = TokenService {
    access_token: "/oauth2/token",
    refresh_token: Some("/oauth2/exchange"),
};

/// A transport on `url` with fast retries.
pub fn client(url: &str, credential: Credential) -> Transport {
    ClientBuilder::new(url)
        .credential(credential)
        .token_service(ACR_TOKENS)
        .retry(
            RetryPolicy::default()
                .with_max_attempts(4)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
        )
        .build()
        .unwrap()
}
