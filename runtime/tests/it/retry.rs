use std::sync::atomic::Ordering;
use std::time::Duration;

use acr_runtime::{ClientBuilder, Credential, Error, Request, RetryPolicy, Transport};
use bytes::Bytes;
use http::Method;

use acr_emulator::{Fault, Server, sha256_digest};

use crate::support::{self, AuthMode, Inject};
use crate::{client, emu};

fn ping() -> Request {
    Request::new("check_docker_v2_support", Method::GET, "/v2/")
}

fn inject(fake: &support::Fake, statuses: &[u16], retry_after: Option<&str>) {
    let mut q = fake.state.inject.lock().unwrap();
    for s in statuses {
        q.push_back(Inject {
            status: *s,
            retry_after: retry_after.map(str::to_owned),
        });
    }
}

#[tokio::test]
async fn idempotent_requests_are_retried_on_retryable_statuses() {
    let fake = support::start().await;
    inject(&fake, &[503, 429, 502], None);
    let t = client(&fake.url, Credential::Anonymous);
    assert_eq!(t.send(ping()).await.unwrap().status, 200);
    assert_eq!(fake.state.v2_requests.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn errors_say_how_many_attempts_were_made() {
    let fake = support::start().await;
    inject(&fake, &[500; 10], None);
    let t = client(&fake.url, Credential::Anonymous);
    let e = t.send(ping()).await.unwrap_err();
    assert_eq!(e.attempts(), Some(4));
    assert!(e.to_string().contains("after 4 attempts"), "{e}");
    assert!(e.is_retryable());
    assert_eq!(fake.state.v2_requests.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn the_first_attempt_goes_on_alike_with_or_without_a_deadline() {
    // Without a deadline (or a span) the transport makes a request's first attempt outside
    // its retry loop and hands anything but a success on to it; with a deadline the loop
    // makes every attempt. Both retry, count and give up alike.
    for deadline in [None, Some(Duration::from_secs(60))] {
        let build = |url: &str| {
            let b = crate::builder(url, Credential::Anonymous);
            match deadline {
                Some(d) => b.request_timeout(d).build().unwrap(),
                None => b.build().unwrap(),
            }
        };
        let fake = support::start().await;
        inject(&fake, &[503, 429, 502], None);
        assert_eq!(build(&fake.url).send(ping()).await.unwrap().status, 200);
        assert_eq!(
            fake.state.v2_requests.load(Ordering::SeqCst),
            4,
            "deadline {deadline:?}"
        );

        let fake = support::start().await;
        inject(&fake, &[500; 10], None);
        let e = build(&fake.url).send(ping()).await.unwrap_err();
        assert_eq!(e.attempts(), Some(4), "deadline {deadline:?}: {e}");
        assert_eq!(fake.state.v2_requests.load(Ordering::SeqCst), 4);
    }
}

fn start_upload() -> Request {
    Request::new("start_upload", Method::POST, "/v2/hello/blobs/uploads/")
}

fn patch_metadata() -> Request {
    // a metadata PATCH (update_tag_attributes) carries JSON
    Request::new(
        "update_tag_attributes",
        Method::PATCH,
        "/v2/hello/blobs/uploads/x",
    )
    .body(acr_runtime::Body::Json(Bytes::from_static(
        b"{\"writeEnabled\":false}",
    )))
}

#[tokio::test]
async fn post_and_patch_answered_429_or_503_are_sent_again() {
    // RFC 6585 §4, RFC 9110 §15.6.4: the server did nothing with the request
    let fake = support::start().await;
    let t = client(&fake.url, Credential::Anonymous);
    inject(&fake, &[503], None);
    assert_eq!(t.send(start_upload()).await.unwrap().status, 202);
    assert_eq!(fake.state.v2_requests.load(Ordering::SeqCst), 2);
    inject(&fake, &[429, 503], Some("0"));
    // the fake answers its PATCH with 404 (no such session) once through: not a 429/503
    let e = t.send(patch_metadata()).await.unwrap_err();
    assert_eq!(e.status(), Some(http::StatusCode::NOT_FOUND), "{e}");
    assert_eq!(e.attempts(), Some(3));
    assert_eq!(fake.state.v2_requests.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn post_and_patch_are_not_resent_on_other_failures() {
    let fake = support::start().await;
    inject(&fake, &[500, 502], None);
    let t = client(&fake.url, Credential::Anonymous);
    let e = t.send(start_upload()).await.unwrap_err();
    assert_eq!(e.attempts(), Some(1));
    assert_eq!(e.status(), Some(http::StatusCode::INTERNAL_SERVER_ERROR));
    let e = t.send(patch_metadata()).await.unwrap_err();
    assert_eq!(e.attempts(), Some(1));
    assert_eq!(e.status(), Some(http::StatusCode::BAD_GATEWAY));
    assert_eq!(fake.state.v2_requests.load(Ordering::SeqCst), 2);
}

/// Opening an upload session is harmless to repeat (the registry expires an unused session),
/// so a request marked `repeatable` is retried like an idempotent one, where a plain POST is
/// not (above).
#[tokio::test]
async fn a_repeatable_post_is_resent_after_a_failure() {
    let fake = support::start().await;
    inject(&fake, &[500, 502], None);
    let t = client(&fake.url, Credential::Anonymous);
    let r = t.send(start_upload().repeatable()).await.unwrap();
    assert_eq!(r.status, http::StatusCode::ACCEPTED);
    assert_eq!(fake.state.v2_requests.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn non_retryable_statuses_are_not_retried() {
    let fake = support::start().await;
    inject(&fake, &[400, 200], None);
    let t = client(&fake.url, Credential::Anonymous);
    assert_eq!(
        t.send(ping()).await.unwrap_err().status(),
        Some(http::StatusCode::BAD_REQUEST)
    );
    assert_eq!(fake.state.v2_requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn retry_after_is_honoured_within_the_time_budget() {
    let fake = support::start().await;
    // a wait of an hour does not fit the 120 s default budget: give up at once
    inject(&fake, &[429], Some("3600"));
    let t = client(&fake.url, Credential::Anonymous);
    let e = t.send(ping()).await.unwrap_err();
    assert_eq!(e.status(), Some(http::StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(e.attempts(), Some(1));
    // Retry-After replaces the backoff: with an hour of backoff and a 30 s budget, only an
    // honoured "0" (or a past HTTP date) lets the retries happen
    let slow: Transport = ClientBuilder::new(&fake.url)
        .retry(
            RetryPolicy::default()
                .with_backoff(Duration::from_secs(3600), Duration::from_secs(3600))
                .with_max_elapsed(Duration::from_secs(30)),
        )
        .build()
        .unwrap();
    inject(&fake, &[503], Some("0"));
    inject(&fake, &[503], Some("Sun, 06 Nov 1994 08:49:37 GMT"));
    assert_eq!(slow.send(ping()).await.unwrap().status, 200);
    assert_eq!(fake.state.v2_requests.load(Ordering::SeqCst), 4);
}

/// A client whose own backoff (an hour) never fits its 30 s budget: only an honoured
/// `Retry-After` lets it retry.
fn only_retry_after(url: &str, credential: Credential) -> Transport {
    ClientBuilder::new(url)
        .credential(credential)
        .retry(
            RetryPolicy::default()
                .with_backoff(Duration::from_secs(3600), Duration::from_secs(3600))
                .with_max_elapsed(Duration::from_secs(30)),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn retry_after_in_every_http_date_form_is_honoured() {
    // RFC 9110 §10.2.3 + §5.6.7: IMF-fixdate, RFC 850 and asctime, all in the past here
    let fake = support::start().await;
    let slow = only_retry_after(&fake.url, Credential::Anonymous);
    inject(&fake, &[503], Some("Sunday, 06-Nov-94 08:49:37 GMT"));
    inject(&fake, &[429], Some("Sun Nov  6 08:49:37 1994"));
    inject(&fake, &[503], Some("Sun, 06 Nov 1994 08:49:37 GMT"));
    assert_eq!(slow.send(ping()).await.unwrap().status, 200);
    assert_eq!(fake.state.v2_requests.load(Ordering::SeqCst), 4);
    // and on a POST answered 429 (a two-digit asctime day)
    inject(&fake, &[429], Some("Thu Jan 15 10:00:00 2009"));
    let post = Request::new("start_upload", Method::POST, "/v2/hello/blobs/uploads/");
    assert_eq!(slow.send(post).await.unwrap().status, 202);
}

#[tokio::test]
async fn the_token_endpoint_honours_retry_after() {
    let emulator = emu::start().await;
    emulator.put_image("hello", "v1", "amd64", "linux").unwrap();
    let cred = Credential::refresh_token(emu::refresh_token(&emulator));
    let token = |status: u16, nth: u32, retry_after: &str| {
        Fault::on("POST", "/oauth2/token")
            .nth(nth)
            .throttle(status, retry_after)
    };
    for retry_after in [
        "0",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
    ] {
        emulator.clear_faults();
        emulator.clear_log();
        emulator.inject(token(429, 1, retry_after));
        emulator.inject(token(503, 2, retry_after));
        let slow = only_retry_after(&emulator.endpoint(), cred.clone());
        assert_eq!(
            slow.send(crate::get_manifest("hello", "v1"))
                .await
                .unwrap()
                .status,
            200,
            "{retry_after}"
        );
        assert_eq!(emu::token_requests(&emulator), 3, "{retry_after}");
    }
    // a Retry-After past the budget ends the retries at once
    emulator.clear_faults();
    emulator.clear_log();
    emulator.inject(token(503, 1, "3600"));
    emulator.inject(token(503, 2, "3600"));
    let slow = only_retry_after(&emulator.endpoint(), cred);
    let e = slow
        .send(crate::get_manifest("hello", "v1"))
        .await
        .unwrap_err();
    assert_eq!(
        e.status(),
        Some(http::StatusCode::SERVICE_UNAVAILABLE),
        "{e}"
    );
    assert_eq!(emu::token_requests(&emulator), 1);
}

#[tokio::test]
async fn a_body_cut_of_an_idempotent_buffered_request_is_retried() {
    // the generated get_blob reads the body whole: a cut body is sent again
    let emulator = emu::start().await;
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let digest = emulator.put_blob("hello", data.clone()).unwrap();
    let t = client(
        &emulator.endpoint(),
        Credential::refresh_token(emu::refresh_token(&emulator)),
    );
    let get_blob = || {
        Request::new("get_blob", Method::GET, format!("/v2/hello/blobs/{digest}"))
            .scope("repository:hello:pull")
    };
    let blob_gets = |emulator: &acr_emulator::Emulator| {
        emu::requests(emulator, |r| {
            r.method == "GET" && r.path.contains("/blobs/")
        })
    };
    // cut once after 1000 bytes, then twice after 10 bytes
    emulator.inject(Fault::on("GET", "/v2/*/blobs/*").drop_after(1000));
    let r = t.send(get_blob()).await.unwrap();
    assert_eq!(r.body.len(), data.len());
    assert_eq!(sha256_digest(&r.body), digest);
    assert_eq!(blob_gets(&emulator).len(), 2);
    emulator.clear_faults();
    emulator.inject(Fault::on("GET", "/v2/*/blobs/*").times(2).drop_after(10));
    assert_eq!(t.send(get_blob()).await.unwrap().body.len(), data.len());
    assert_eq!(blob_gets(&emulator).len(), 5);
    // the same behind a redirect to the storage server
    emulator.clear_faults();
    emulator.set_redirect_blobs(true);
    emulator.inject(Fault::on("GET", "*").on_storage().drop_after(5000));
    let r = t.send(get_blob()).await.unwrap();
    assert_eq!(sha256_digest(&r.body), digest);
    // the first storage answer was cut (its headers had gone out with 200), the second whole
    let storage: Vec<bool> = emulator
        .log()
        .iter()
        .filter(|r| r.server == Server::Storage)
        .map(|r| r.fault.is_some())
        .collect();
    assert_eq!(storage, [true, false]);
}

#[tokio::test]
async fn connection_errors_are_retried_then_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let t: Transport = ClientBuilder::new(&url)
        .retry(
            RetryPolicy::default()
                .with_max_attempts(3)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(2)),
        )
        .build()
        .unwrap();
    let e = t.send(ping()).await.unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e:?}");
    assert_eq!(e.attempts(), Some(3));
    assert!(e.is_retryable());
    assert!(e.to_string().contains("could not connect"), "{e}");
}

#[tokio::test]
async fn redirect_to_another_host_drops_authorization() {
    let registry = support::start().await; // 127.0.0.1
    let storage = support::start_on("localhost").await;
    registry.state.set_mode(AuthMode::Basic);
    let digest = support::sha256(b"blob");
    registry
        .state
        .blobs
        .lock()
        .unwrap()
        .insert(digest.clone(), Bytes::from_static(b"blob"));
    storage
        .state
        .blobs
        .lock()
        .unwrap()
        .insert(digest.clone(), Bytes::from_static(b"blob"));
    *registry.state.redirect_to.lock().unwrap() = Some(storage.url.clone());
    let t = client(&registry.url, Credential::basic("admin", "s3cr3t-pa55"));
    let r = t
        .send(
            Request::new("get_blob", Method::GET, format!("/v2/hello/blobs/{digest}"))
                .scope("repository:hello:pull"),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(&r.body[..], b"blob");
    let reg_log = registry.state.log.lock().unwrap().clone();
    assert!(
        reg_log.last().unwrap().1,
        "the registry got the credential: {reg_log:?}"
    );
    let sto_log = storage.state.log.lock().unwrap().clone();
    assert_eq!(sto_log.len(), 1);
    assert!(
        !sto_log[0].1,
        "storage must not get Authorization: {sto_log:?}"
    );
    assert_eq!(registry.state.unauthorized.load(Ordering::SeqCst), 1);
    let _ = AuthMode::Open;
}
