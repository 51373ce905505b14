//! Log redaction, in its own test binary: `tracing` caches callsite interest globally, so a
//! thread-local capture shares no process with other tests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use acr_runtime::{Credential, Request};
use base64::Engine as _;
use bytes::Bytes;
use http::Method;

use support::AuthMode;

#[path = "it/support.rs"]
#[allow(dead_code)]
mod support;

fn client(url: &str, credential: Credential) -> acr_runtime::Transport {
    acr_runtime::ClientBuilder::new(url)
        .credential(credential)
        .build()
        .unwrap()
}

fn get_manifest(repo: &str, reference: &str) -> Request {
    Request::new(
        "get_manifest",
        Method::GET,
        format!("/v2/{repo}/manifests/{reference}"),
    )
    .scope(format!("repository:{repo}:pull"))
    .repository(repo)
}

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

#[tokio::test]
async fn logs_debug_and_errors_never_show_secrets() {
    let capture = Capture::default();
    let sink = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let registry = support::start().await;
    let storage = support::start_on("localhost").await;
    registry.state.set_mode(AuthMode::Acr);
    registry.state.manifests.lock().unwrap().insert(
        ("hello".into(), "v1".into()),
        ("application/json".into(), Bytes::from_static(b"{}")),
    );
    let digest = support::sha256(b"blob");
    storage
        .state
        .blobs
        .lock()
        .unwrap()
        .insert(digest.clone(), Bytes::from_static(b"blob"));
    registry
        .state
        .blobs
        .lock()
        .unwrap()
        .insert(digest.clone(), Bytes::from_static(b"blob"));
    *registry.state.redirect_to.lock().unwrap() = Some(storage.url.clone());

    let t = client(&registry.url, Credential::basic("admin", "s3cr3t-pa55"));
    t.send(get_manifest("hello", "v1")).await.unwrap();
    t.send(
        Request::new("get_blob", Method::GET, format!("/v2/hello/blobs/{digest}"))
            .scope("repository:hello:pull"),
    )
    .await
    .unwrap();
    let bad = client(&registry.url, Credential::basic("admin", "wrong-SECRET"));
    let e1 = bad.send(get_manifest("hello", "v1")).await.unwrap_err();
    let rt = client(
        &registry.url,
        Credential::refresh_token(registry.state.refresh_token.clone()),
    );
    let e2 = rt.send(get_manifest("hello", "nope")).await.unwrap_err();

    let mut text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    text.push_str(&format!("{e1} {e1:?} {e2} {e2:?} {t:?} {rt:?}"));
    assert!(text.contains("acr.request"), "capture works");
    assert!(text.contains("get_manifest"), "capture works");
    // the span carries the operation, repository, status and attempt
    assert!(text.contains("repository=\"hello\""), "{text}");
    assert!(text.contains("attempt=1"), "{text}");
    assert!(text.contains("status=404"), "{text}");
    let basic = base64::engine::general_purpose::STANDARD.encode("admin:s3cr3t-pa55");
    for secret in [
        "s3cr3t-pa55",
        "wrong-SECRET",
        "access-SECRET",
        "refresh-SECRET",
        "SAS-SECRET",
        basic.as_str(),
    ] {
        assert!(!text.contains(secret), "{secret} leaked:\n{text}");
    }
}
