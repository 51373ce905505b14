//! Bounded memory: every buffered body is read up to the limit of its kind, enforced in the
//! transport while reading (Content-Length first, then counted). Endless chunked bodies on
//! `GET /v2/`, a catalog listing, a manifest GET and the upload POST fail with
//! `Error::TooLarge` and stop by themselves; the server is not read much past the limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::transfers::{Transfers as _, UploadOptions};
use acr_runtime::blob::UploadSource;
use acr_runtime::{BodyKind, Credential, Error, RepositoryName, Request};
use http::Method;

use crate::wire::{self, answer};
use crate::{builder, client};

const MIB: u64 = 1024 * 1024;

/// The `Accept` list the generated `get_manifest` sends by default.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.cncf.oras.artifact.manifest.v1+json";

/// A server answering every request with `status` and an endless chunked body of
/// `content_type`; `sent` counts what it handed over.
async fn endless_server(
    status: u16,
    content_type: &'static str,
) -> (wire::Scripted, Arc<AtomicU64>) {
    let sent = Arc::new(AtomicU64::new(0));
    let s = sent.clone();
    let server = wire::serve("127.0.0.1", move |r, _| {
        let mut headers = vec![("content-type", content_type)];
        if r.method == Method::POST {
            headers.push(("location", "/v2/a/blobs/uploads/u1?_state=s"));
        }
        answer(status, &headers, wire::endless(s.clone()))
    })
    .await;
    (server, sent)
}

fn assert_too_large(e: Error, limit: u64, sent: &AtomicU64) {
    assert!(
        matches!(e, Error::TooLarge { limit: l, .. } if l == limit),
        "{e:?}"
    );
    assert!(e.to_string().contains("larger than the limit"), "{e}");
    // the client stopped reading: what the server got out is the limit plus socket buffers
    let out = sent.load(Ordering::SeqCst);
    assert!(out < limit + 64 * MIB, "{out} bytes went out");
}

#[tokio::test]
async fn endless_bodies_of_every_kind_stop_at_their_limit() {
    // GET /v2/ (a JSON document)
    let (server, sent) = endless_server(200, "application/json").await;
    let t = client(&server.url, Credential::Anonymous);
    let e = t
        .send(Request::new("check_docker_v2_support", Method::GET, "/v2/"))
        .await
        .unwrap_err();
    assert_too_large(e, 8 * MIB, &sent);

    // a catalog listing
    let (server, sent) = endless_server(200, "application/json; charset=utf-8").await;
    let t = client(&server.url, Credential::Anonymous);
    let e = t
        .send(Request::new("get_repositories", Method::GET, "/acr/v1/_catalog").query("n", "100"))
        .await
        .unwrap_err();
    assert_too_large(e, 8 * MIB, &sent);

    // the generated get_manifest's request: its Accept makes it a manifest (4 MiB)
    let (server, sent) = endless_server(200, "application/octet-stream").await;
    let t = client(&server.url, Credential::Anonymous);
    let e = t
        .send(
            Request::new("get_manifest", Method::GET, "/v2/a/manifests/v1")
                .header("accept", MANIFEST_ACCEPT)
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_too_large(e, 4 * MIB, &sent);

    // the upload POST (answers to writes: 1 MiB), through the runtime's upload
    let (server, sent) = endless_server(202, "text/plain").await;
    let t = client(&server.url, Credential::Anonymous);
    let repo = RepositoryName::new("a").unwrap();
    let e = t
        .upload_blob(
            &repo,
            UploadSource::Bytes(bytes::Bytes::from_static(b"hello")),
            UploadOptions::default(),
        )
        .await
        .unwrap_err();
    let e = match e {
        Error::Upload {
            source: Some(inner),
            ..
        } => *inner,
        e => e,
    };
    assert_too_large(e, MIB, &sent);
}

#[tokio::test]
async fn announced_sizes_over_the_limit_are_refused_before_reading() {
    // a 200 MiB manifest announced by Content-Length, and a raised limit
    let server = wire::serve("127.0.0.1", |_, _| {
        let body = vec![b'{'; (5 * MIB) as usize];
        answer(
            200,
            &[("content-type", "application/vnd.oci.image.manifest.v1+json")],
            body,
        )
    })
    .await;
    let t = client(&server.url, Credential::Anonymous);
    let get = || Request::new("get_manifest", Method::GET, "/v2/a/manifests/v1");
    let e = t.send(get()).await.unwrap_err();
    assert!(
        matches!(e, Error::TooLarge { limit, .. } if limit == 4 * MIB),
        "{e:?}"
    );
    // a caller raises the limit for the client, or for one request
    let raised = builder(&server.url, Credential::Anonymous)
        .response_limit(BodyKind::Manifest, 6 * MIB)
        .build()
        .unwrap();
    assert_eq!(raised.send(get()).await.unwrap().body.len() as u64, 5 * MIB);
    assert_eq!(
        t.send(get().response_limit(6 * MIB))
            .await
            .unwrap()
            .body
            .len() as u64,
        5 * MIB
    );
    let e = t
        .send(get().response_kind(BodyKind::Token))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::TooLarge { limit, .. } if limit == MIB),
        "{e:?}"
    );
}

#[tokio::test]
async fn endless_error_and_token_bodies_are_cut() {
    // an error status with an endless body: the status error, its body cut at 1 MiB
    let (server, sent) = endless_server(404, "text/plain").await;
    let t = client(&server.url, Credential::Anonymous);
    let e = t
        .send(Request::new("get_tags", Method::GET, "/acr/v1/a/_tags"))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(http::StatusCode::NOT_FOUND), "{e:?}");
    assert!(sent.load(Ordering::SeqCst) < 65 * MIB);
    // a token endpoint with an endless answer (ACR mode fetches a token up front)
    let (server, sent) = endless_server(200, "application/json").await;
    let t = client(&server.url, Credential::refresh_token("rt"));
    let e = t.send(crate::get_manifest("a", "v1")).await.unwrap_err();
    assert_too_large(e, MIB, &sent);
}
