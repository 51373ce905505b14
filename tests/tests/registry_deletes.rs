//! A `DELETE` whose answer is lost, on the real `docker-registry` (CNCF distribution 2.8).
//!
//! The registry deletes, the connection breaks before its answer reaches the client, the
//! client resends (DELETE is idempotent, RFC 9110 §9.2.2) and the registry answers `404`:
//! the first attempt did the work. The operations whose success has no body report that as
//! done, with the true status `404`; a `404` to a first attempt stays an error.
//!
//! The cut comes from the TCP fault proxy ([`acr_tests::fault_proxy`]): after one byte of the
//! registry's answer. Skipped with a printed reason when `docker-registry` is not installed
//! (an error under `REQUIRE_REAL_REGISTRY=1`, as in CI).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap (see notes/COMMON.md)

mod common;

use std::time::Duration;

use acr::Client;
use acr_runtime::{Credential, RetryPolicy};
use acr_tests::fault_proxy::{Cut, FaultProxy};
use acr_tests::registry::{Flavour, RealRegistry};

use common::image::TestImage;

/// A fresh client (no pooled connection) to `endpoint` with short retry waits.
fn client(endpoint: &str) -> Client {
    Client::builder(endpoint)
        .credential(Credential::Anonymous)
        .retry(
            RetryPolicy::default()
                .with_backoff(Duration::from_millis(20), Duration::from_millis(200)),
        )
        .build()
        .unwrap()
}

/// A proxy to `registry` that cuts the first connection after one byte of its answer.
async fn cutting_proxy(registry: &RealRegistry) -> FaultProxy {
    FaultProxy::start(registry.host().parse().unwrap(), Cut::downstream_after(1))
        .await
        .unwrap()
}

/// Pushes a small image to `repo` directly (no proxy); returns it.
async fn pushed(registry: &RealRegistry, repo: &str) -> TestImage {
    let image = TestImage::new(repo, &[300, 700]);
    let direct = common::registry_client(registry);
    common::workflow::push_image(&direct, repo, "v1", &image, 1 << 20).await;
    image
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_delete_whose_answer_was_lost_is_done_when_the_resend_finds_it_gone() {
    let Some(registry) = common::start_registry(Flavour::Open).await else {
        return;
    };
    let image = pushed(&registry, "deletes/manifest").await;
    let proxy = cutting_proxy(&registry).await;

    let response = client(&proxy.endpoint())
        .delete_manifest("deletes/manifest", image.manifest_digest())
        .await
        .expect("the resent DELETE finds the manifest gone: done");
    assert_eq!(response.status, 404, "the true status of the resend");
    assert_eq!(proxy.cuts(), 1, "the first answer was cut");
    assert!(proxy.connections() >= 2, "the DELETE was resent");

    // It is really gone, and a first-attempt 404 is an error, not a success.
    let err = common::registry_client(&registry)
        .delete_manifest("deletes/manifest", image.manifest_digest())
        .await
        .expect_err("nothing was lost: a 404 is the answer");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_delete_whose_answer_was_lost_is_done_when_the_resend_finds_it_gone() {
    let Some(registry) = common::start_registry(Flavour::Open).await else {
        return;
    };
    let image = pushed(&registry, "deletes/blob").await;
    let layer = image.layer_digests()[0].clone();
    let proxy = cutting_proxy(&registry).await;

    let response = client(&proxy.endpoint())
        .delete_blob("deletes/blob", layer.as_str())
        .await
        .expect("the resent DELETE finds the blob gone: done");
    assert_eq!(response.status, 404);
    assert_eq!(proxy.cuts(), 1);

    let err = common::registry_client(&registry)
        .delete_blob("deletes/blob", layer.as_str())
        .await
        .expect_err("nothing was lost: a 404 is the answer");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404), "{err}");
}
