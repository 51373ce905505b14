//! Runtime tests against the ACR emulator (`emu`), a fake registry that misbehaves on purpose
//! (`support`) and hand-written loopback servers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod acr_mode;
mod auth;
mod blobs;
mod emu;
mod limits;
mod manifests;
mod origin;
mod paging;
mod redirects;
mod retry;
mod support;
mod timeouts;
mod wire;

use std::time::Duration;

use acr_runtime::{ClientBuilder, Credential, Request, RetryPolicy, Transport};
use http::Method;

/// A transport on `url` with fast retries.
pub fn client(url: &str, credential: Credential) -> Transport {
    builder(url, credential).build().unwrap()
}

pub fn builder(url: &str, credential: Credential) -> ClientBuilder<Transport> {
    ClientBuilder::new(url).credential(credential).retry(
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
