//! Fault injection and the request log: fail the Nth request, 429 with Retry-After, delay, drop
//! the connection part-way through a blob GET or an upload PATCH, and what the log records.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap (see notes/COMMON.md)

#[path = "emulator_support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use acr_emulator::{DROPPED, Emulator, Fault, SECRET_LOGGED_AS, Server};
use support::*;

#[tokio::test]
async fn fail_the_nth_matching_request() {
    let emulator = start().await;
    emulator.put_image("a", "v1", "amd64", "linux").unwrap();
    emulator.inject(Fault::on("GET", "/v2/*/manifests/*").nth(2).fail_with(503));
    let statuses: Vec<u16> = {
        let mut out = Vec::new();
        for _ in 0..3 {
            let r = admin(http().get(url(&emulator, "/v2/a/manifests/v1")))
                .send()
                .await
                .unwrap();
            out.push(r.status().as_u16());
        }
        out
    };
    assert_eq!(statuses, [200, 503, 200]);
    // Other methods and paths did not count.
    let log = emulator.log();
    assert_eq!(log.len(), 3);
    assert!(log[1].fault.as_deref().unwrap().contains("Status(503)"));
    assert_eq!(log[0].fault, None);
}

#[tokio::test]
async fn failures_carry_an_acr_error_body_and_can_repeat() {
    let emulator = start().await;
    emulator.inject(Fault::on("*", "/acr/v1/*").times(2).fail_with(500));
    for _ in 0..2 {
        let r = admin(http().get(url(&emulator, "/acr/v1/_catalog")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 500);
        assert_eq!(json(r).await["errors"][0]["code"], "UNKNOWN");
    }
    let r = admin(http().get(url(&emulator, "/acr/v1/_catalog")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    emulator.inject(Fault::on("GET", "/acr/v1/_catalog").always().fail_with(502));
    for _ in 0..3 {
        let r = admin(http().get(url(&emulator, "/acr/v1/_catalog")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 502);
    }
    emulator.clear_faults();
    let r = admin(http().get(url(&emulator, "/acr/v1/_catalog")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn too_many_requests_with_retry_after() {
    let emulator = start().await;
    emulator.inject(Fault::on("POST", "/oauth2/token").too_many_requests(Duration::from_secs(3)));
    let r = http()
        .post(url(&emulator, "/oauth2/token"))
        .form(&[
            ("grant_type", "password"),
            ("service", emulator.host().as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(header(&r, "retry-after"), "3");
    assert_eq!(json(r).await["errors"][0]["code"], "TOOMANYREQUESTS");
}

#[tokio::test]
async fn delay_then_answer_normally() {
    let emulator = start().await;
    emulator.inject(Fault::on("GET", "/v2/").delay(Duration::from_millis(50)));
    let started = Instant::now();
    let r = admin(http().get(url(&emulator, "/v2/")))
        .send()
        .await
        .unwrap();
    // A sleep lasts at least its duration, so this lower bound cannot flake.
    assert!(started.elapsed() >= Duration::from_millis(50));
    assert_eq!(r.status(), 200);
    assert!(
        emulator.log()[0]
            .fault
            .as_deref()
            .unwrap()
            .contains("Delay")
    );
}

#[tokio::test]
async fn blob_get_drops_after_k_bytes() {
    let emulator = start().await;
    let data = vec![7u8; 10_000];
    let digest = emulator.put_blob("a", data.clone()).unwrap();
    emulator.inject(Fault::on("GET", "/v2/*/blobs/*").drop_after(1000));
    let response = admin(http().get(url(&emulator, &format!("/v2/a/blobs/{digest}"))))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-length"), "10000");
    let mut response = response;
    let mut received = 0;
    let error = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => received += chunk.len(),
            Ok(None) => panic!("the body must end early with an error"),
            Err(err) => break err,
        }
    };
    assert_eq!(
        received, 1000,
        "exactly K bytes arrive before the drop ({error})"
    );
    // The next GET (fault spent) resumes with a Range and gets the rest.
    let rest = admin(http().get(url(&emulator, &format!("/v2/a/blobs/{digest}"))))
        .header("range", "bytes=1000-")
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), 206);
    assert_eq!(rest.bytes().await.unwrap().len(), 9000);
}

#[tokio::test]
async fn storage_get_can_drop_too() {
    let emulator = Emulator::builder()
        .admin(ADMIN_USER, ADMIN_PASSWORD)
        .redirect_blobs(true)
        .start()
        .await
        .unwrap();
    let digest = emulator.put_blob("a", vec![1u8; 5000]).unwrap();
    emulator.inject(Fault::on("GET", "/blobs/*").on_storage().drop_after(100));
    let redirect = admin(http().get(url(&emulator, &format!("/v2/a/blobs/{digest}"))))
        .send()
        .await
        .unwrap();
    let location = header(&redirect, "location");
    let response = http().get(&location).send().await.unwrap();
    assert!(response.bytes().await.is_err());
    let again = http().get(&location).send().await.unwrap();
    assert_eq!(again.bytes().await.unwrap().len(), 5000);
    let storage: Vec<_> = emulator
        .log()
        .into_iter()
        .filter(|r| r.server == Server::Storage)
        .collect();
    assert!(storage[0].fault.is_some());
    assert!(storage[1].fault.is_none());
}

async fn start_session(emulator: &Emulator) -> String {
    let r = admin(http().post(url(emulator, "/v2/a/blobs/uploads/")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    header(&r, "location")
}

#[tokio::test]
async fn patch_dropped_after_k_bytes_leaves_the_session_unchanged() {
    let emulator = start().await;
    let location = start_session(&emulator).await;
    emulator.inject(Fault::on("PATCH", "/v2/*/blobs/uploads/*").drop_after(100));
    let result = admin(http().patch(absolute(&emulator, &location)))
        .header("content-type", "application/octet-stream")
        .body(vec![5u8; 4096])
        .send()
        .await;
    assert!(result.is_err(), "the connection must drop: {result:?}");
    let dropped = emulator
        .log()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .unwrap();
    assert_eq!(dropped.status, DROPPED);
    // The old Location is still current: nothing was kept.
    let status = admin(http().get(absolute(&emulator, &location)))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 204);
    assert_eq!(header(&status, "range"), "0-0");
    let retry = admin(http().patch(absolute(&emulator, &location)))
        .body(vec![5u8; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), 202);
    assert_eq!(header(&retry, "range"), "0-4095");
}

#[tokio::test]
async fn patch_dropped_keeping_partial_bytes_makes_the_old_location_stale() {
    let emulator = start().await;
    let location = start_session(&emulator).await;
    let uuid = location
        .split('/')
        .nth(5)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    emulator.inject(Fault::on("PATCH", "/v2/*/blobs/uploads/*").drop_after_keeping_partial(100));
    let result = admin(http().patch(absolute(&emulator, &location)))
        .body(vec![5u8; 4096])
        .send()
        .await;
    assert!(result.is_err());
    assert_eq!(emulator.upload_size(&uuid), Some(100));
    // distribution-like: the old _state no longer matches the session, which is cancelled.
    let status = admin(http().get(absolute(&emulator, &location)))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 404);
    assert_eq!(
        json(status).await["errors"][0]["code"],
        "BLOB_UPLOAD_INVALID"
    );
    assert_eq!(emulator.upload_size(&uuid), None, "the session is gone");
}

#[tokio::test]
async fn other_requests_drop_after_reading_k_bytes() {
    let emulator = start().await;
    emulator.inject(Fault::on("PUT", "/v2/*/manifests/*").drop_after(10));
    let result = admin(http().put(url(&emulator, "/v2/a/manifests/v1")))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body("{\"schemaVersion\":2}")
        .send()
        .await;
    assert!(result.is_err());
    assert!(emulator.tags("a").is_empty());
}

#[tokio::test]
async fn the_log_records_requests_without_secrets() {
    let emulator = start().await;
    emulator.put_image("a", "v1", "amd64", "linux").unwrap();
    let token = access_token(&emulator, "repository:a:pull").await;
    emulator.clear_log();
    http()
        .get(url(&emulator, "/v2/a/manifests/v1?x=1"))
        .header("accept", "application/vnd.oci.image.manifest.v1+json")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    http()
        .get(url(&emulator, "/v2/a/manifests/v1"))
        .send()
        .await
        .unwrap();
    admin(http().head(url(&emulator, "/v2/a/manifests/v1")))
        .send()
        .await
        .unwrap();
    let log = emulator.log();
    assert_eq!(log.len(), 3);
    let first = &log[0];
    assert_eq!(first.server, Server::Registry);
    assert_eq!(first.method, "GET");
    assert_eq!(first.path, "/v2/a/manifests/v1");
    assert_eq!(first.query.as_deref(), Some("x=1"));
    assert_eq!(first.path_and_query(), "/v2/a/manifests/v1?x=1");
    assert_eq!(
        first.header("accept"),
        Some("application/vnd.oci.image.manifest.v1+json")
    );
    assert_eq!(first.authorization.as_deref(), Some("Bearer"));
    assert_eq!(first.status, 200);
    assert!(
        !format!("{log:?}").contains(&token),
        "the token must not be logged"
    );
    assert!(!log[1].has_authorization());
    assert_eq!(log[1].status, 401);
    assert_eq!(log[2].authorization.as_deref(), Some("Basic"));
    assert!(!format!("{log:?}").contains(ADMIN_PASSWORD));
    emulator.clear_log();
    assert!(emulator.log().is_empty());
}

#[tokio::test]
async fn the_log_shows_token_forms_with_their_secrets_replaced() {
    let emulator = start().await;
    emulator.set_anonymous_pull(true);
    let refresh = refresh_token(&emulator).await;
    access_token_from_refresh(&emulator, &refresh, "repository:a:pull").await;
    let anonymous = http()
        .post(url(&emulator, "/oauth2/token"))
        .form(&[
            ("grant_type", "password"),
            ("service", &emulator.host()),
            ("scope", "repository:a:pull"),
            ("scope", "registry:catalog:*"),
            ("refresh_token", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 200);
    let log = emulator.log();
    let text = format!("{log:?}");
    assert!(
        !text.contains(AAD_TOKEN) && !text.contains(&refresh),
        "{text}"
    );
    let [exchange, token, anonymous] = &log[..] else {
        panic!("{log:?}");
    };
    assert_eq!(exchange.form_values("grant_type"), ["access_token"]);
    assert_eq!(exchange.form_values("access_token"), [SECRET_LOGGED_AS]);
    assert_eq!(token.form_values("refresh_token"), [SECRET_LOGGED_AS]);
    assert_eq!(token.form_values("scope"), ["repository:a:pull"]);
    assert_eq!(anonymous.form_values("grant_type"), ["password"]);
    assert_eq!(anonymous.form_values("refresh_token"), [""]);
    assert_eq!(
        anonymous.form_values("scope"),
        ["repository:a:pull", "registry:catalog:*"]
    );
    // other requests carry no form, even with a form body
    http()
        .post(url(&emulator, "/v2/a/blobs/uploads/"))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    let last = emulator.log().pop().unwrap();
    assert_eq!(last.path, "/v2/a/blobs/uploads/");
    assert!(last.form.is_empty(), "{last:?}");
}

#[tokio::test]
async fn shutdown_stops_the_servers() {
    let emulator = start().await;
    let endpoint = emulator.endpoint();
    assert_eq!(
        http()
            .get(format!("{endpoint}/v2/"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    emulator.shutdown().await;
    // A fresh client has no pooled connection to the stopped server.
    assert!(http().get(format!("{endpoint}/v2/")).send().await.is_err());
}
