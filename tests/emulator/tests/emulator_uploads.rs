//! Blob upload sessions against the emulator: chunked PATCH with ACR's `Content-Range`, the
//! `Range` answers, a new `Location` each time, status, completion with digest check, cancel,
//! stale `_state`, mount and monolithic upload.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap (see notes/COMMON.md)

#[path = "emulator_support/mod.rs"]
mod support;

use acr_emulator::{Emulator, sha256_digest};
use support::*;

/// POST a new session; returns the relative Location.
async fn start_session(emulator: &Emulator, name: &str) -> String {
    let response = admin(http().post(url(emulator, &format!("/v2/{name}/blobs/uploads/"))))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert_eq!(header(&response, "range"), "0-0");
    assert_eq!(header(&response, "content-length"), "0");
    let location = header(&response, "location");
    let uuid = header(&response, "docker-upload-uuid");
    assert!(
        location.starts_with(&format!(
            "/v2/{name}/blobs/uploads/{uuid}?_nouploadcache=false&_state="
        )),
        "{location}"
    );
    location
}

async fn patch(
    emulator: &Emulator,
    location: &str,
    chunk: &[u8],
    range: Option<&str>,
) -> reqwest::Response {
    let mut request = admin(http().patch(absolute(emulator, location)))
        .header("content-type", "application/octet-stream")
        .body(chunk.to_vec());
    if let Some(range) = range {
        request = request.header("content-range", range);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn chunked_upload_with_content_range_and_fresh_locations() {
    let emulator = start().await;
    let data: Vec<u8> = (0..2479u32).map(|i| (i % 251) as u8).collect();
    let digest = sha256_digest(&data);
    let location0 = start_session(&emulator, "library/hello").await;

    let first = patch(&emulator, &location0, &data[..1239], Some("0-1238")).await;
    assert_eq!(first.status(), 202);
    assert_eq!(header(&first, "range"), "0-1238");
    let location1 = header(&first, "location");
    assert_ne!(location1, location0, "every PATCH answers a new Location");

    let second = patch(&emulator, &location1, &data[1239..], Some("1239-2478")).await;
    assert_eq!(second.status(), 202);
    assert_eq!(header(&second, "range"), "0-2478");
    let location2 = header(&second, "location");
    assert_ne!(location2, location1);

    let status = admin(http().get(absolute(&emulator, &location2)))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 204);
    assert_eq!(header(&status, "range"), "0-2478");

    let put = admin(http().put(format!(
        "{}&digest={}",
        absolute(&emulator, &location2),
        digest
    )))
    .send()
    .await
    .unwrap();
    assert_eq!(put.status(), 201);
    assert_eq!(header(&put, "docker-content-digest"), digest);
    assert_eq!(
        header(&put, "location"),
        format!("/v2/library/hello/blobs/{digest}")
    );
    assert_eq!(header(&put, "content-length"), "0");
    assert_eq!(emulator.blob("library/hello", &digest).unwrap(), data);
    assert_eq!(emulator.upload_sessions(), 0);
}

#[tokio::test]
async fn patch_without_content_range_and_a_final_chunk_on_put() {
    let emulator = start().await;
    let location = start_session(&emulator, "a").await;
    let response = patch(&emulator, &location, b"hello ", None).await;
    assert_eq!(response.status(), 202);
    assert_eq!(header(&response, "range"), "0-5");
    let location = header(&response, "location");
    let digest = sha256_digest(b"hello world");
    let put = admin(http().put(format!(
        "{}&digest={digest}",
        absolute(&emulator, &location)
    )))
    .header("content-type", "application/octet-stream")
    .body("world")
    .send()
    .await
    .unwrap();
    assert_eq!(put.status(), 201);
    assert_eq!(emulator.blob("a", &digest).unwrap(), "hello world");
}

#[tokio::test]
async fn wrong_digest_is_digest_invalid_and_ends_the_session() {
    let emulator = start().await;
    let location = start_session(&emulator, "a").await;
    let location = header(
        &patch(&emulator, &location, b"data", None).await,
        "location",
    );
    let wrong = sha256_digest(b"other");
    let put = admin(http().put(format!("{}&digest={wrong}", absolute(&emulator, &location))))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 400);
    assert_eq!(
        json(put).await,
        serde_json::json!({"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content","detail":"digest parsing failed"}]})
    );
    assert_eq!(emulator.upload_sessions(), 0);
    let status = admin(http().get(absolute(&emulator, &location)))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 404);
    assert_eq!(
        json(status).await["errors"][0]["code"],
        "BLOB_UPLOAD_UNKNOWN"
    );
}

#[tokio::test]
async fn out_of_order_content_range_is_416_and_the_session_survives() {
    let emulator = start().await;
    let location = start_session(&emulator, "a").await;
    let location = header(
        &patch(&emulator, &location, b"0123456789", Some("0-9")).await,
        "location",
    );
    let bad = patch(&emulator, &location, b"abc", Some("5-7")).await;
    assert_eq!(bad.status(), 416);
    assert_eq!(header(&bad, "range"), "0-9");
    let still = header(&bad, "location");
    let mismatch = patch(&emulator, &still, b"abc", Some("10-19")).await;
    assert_eq!(
        mismatch.status(),
        416,
        "a Content-Range longer than the body"
    );
    let good = patch(&emulator, &still, b"abc", Some("10-12")).await;
    assert_eq!(good.status(), 202);
    assert_eq!(header(&good, "range"), "0-12");
}

#[tokio::test]
async fn stale_state_cancels_the_session_like_distribution_unless_lenient() {
    // distribution's blobUploadDispatcher: "upload resumed at wrong offset" answers 404
    // BLOB_UPLOAD_INVALID and cancels the upload
    let emulator = start().await;
    let location0 = start_session(&emulator, "a").await;
    let location1 = header(
        &patch(&emulator, &location0, b"0123", None).await,
        "location",
    );
    let stale = patch(&emulator, &location0, b"4567", None).await;
    assert_eq!(stale.status(), 404);
    assert_eq!(
        json(stale).await["errors"][0]["code"],
        "BLOB_UPLOAD_INVALID"
    );
    assert_eq!(emulator.upload_sessions(), 0, "the session is cancelled");
    // Even the current Location is gone now.
    let status = admin(http().get(absolute(&emulator, &location1)))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 404);
    assert_eq!(
        json(status).await["errors"][0]["code"],
        "BLOB_UPLOAD_UNKNOWN"
    );

    // A status request with a stale Location ends the session too (GET is no exception).
    let location0 = start_session(&emulator, "a").await;
    patch(&emulator, &location0, b"0123", None).await;
    let status = admin(http().get(absolute(&emulator, &location0)))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 404);
    assert_eq!(emulator.upload_sessions(), 0);

    let lenient = Emulator::builder()
        .admin(ADMIN_USER, ADMIN_PASSWORD)
        .strict_upload_state(false)
        .start()
        .await
        .unwrap();
    let location0 = start_session(&lenient, "a").await;
    patch(&lenient, &location0, b"0123", None).await;
    let again = patch(&lenient, &location0, b"4567", None).await;
    assert_eq!(again.status(), 202);
    assert_eq!(header(&again, "range"), "0-7");
}

#[tokio::test]
async fn a_missing_state_is_refused_but_leaves_the_session() {
    let emulator = start().await;
    let location = start_session(&emulator, "a").await;
    let bare = location.split('?').next().unwrap();
    let response = admin(http().get(url(&emulator, bare)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        json(response).await["errors"][0]["code"],
        "BLOB_UPLOAD_INVALID"
    );
    assert_eq!(emulator.upload_sessions(), 1);
    let ok = patch(&emulator, &location, b"x", None).await;
    assert_eq!(ok.status(), 202);
}

#[tokio::test]
async fn forged_state_and_unknown_sessions_are_refused() {
    let emulator = start().await;
    let location = start_session(&emulator, "a").await;
    let (path, _) = location.split_once('?').unwrap();
    let forged = format!("{path}?_nouploadcache=false&_state=AAAA{}", "B".repeat(60));
    let response = patch(&emulator, &forged, b"x", None).await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        json(response).await["errors"][0]["code"],
        "BLOB_UPLOAD_INVALID"
    );
    let unknown = admin(http().get(url(&emulator, "/v2/a/blobs/uploads/no-such-session")))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        json(unknown).await["errors"][0]["code"],
        "BLOB_UPLOAD_UNKNOWN"
    );
    // The session belongs to `a`, not `b`.
    let other = admin(http().get(url(&emulator, &path.replace("/v2/a/", "/v2/b/"))))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
}

#[tokio::test]
async fn delete_cancels_the_session() {
    let emulator = start().await;
    let location = start_session(&emulator, "a").await;
    assert_eq!(emulator.upload_sessions(), 1);
    let response = admin(http().delete(absolute(&emulator, &location)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(emulator.upload_sessions(), 0);
}

#[tokio::test]
async fn mount_links_a_blob_from_another_repository() {
    let emulator = start().await;
    let digest = emulator.put_blob("source/repo", "shared layer").unwrap();
    let response = admin(http().post(url(&emulator, "/v2/target/blobs/uploads/")))
        .query(&[("from", "source/repo"), ("mount", digest.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(
        header(&response, "location"),
        format!("/v2/target/blobs/{digest}")
    );
    assert_eq!(header(&response, "docker-content-digest"), digest);
    assert_eq!(emulator.blob("target", &digest).unwrap(), "shared layer");
}

#[tokio::test]
async fn mount_falls_back_to_a_session_without_pull_on_the_source() {
    let emulator = start().await;
    let digest = emulator.put_blob("source", "layer").unwrap();
    let missing = admin(http().post(url(&emulator, "/v2/target/blobs/uploads/")))
        .query(&[
            ("from", "source"),
            ("mount", sha256_digest(b"absent").as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 202, "source lacks the blob");

    let token = access_token(&emulator, "repository:target:pull,push").await;
    let response = http()
        .post(url(&emulator, "/v2/target/blobs/uploads/"))
        .bearer_auth(&token)
        .query(&[("from", "source"), ("mount", digest.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "no pull on the source");
    assert!(header(&response, "location").contains("/blobs/uploads/"));
    assert!(emulator.blob("target", &digest).is_none());

    let refresh = refresh_token(&emulator).await;
    let both = access_token_from_refresh(
        &emulator,
        &refresh,
        "repository:target:pull,push repository:source:pull",
    )
    .await;
    let response = http()
        .post(url(&emulator, "/v2/target/blobs/uploads/"))
        .bearer_auth(&both)
        .query(&[("from", "source"), ("mount", digest.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn monolithic_post_with_digest() {
    let emulator = start().await;
    let digest = sha256_digest(b"whole");
    let response = admin(http().post(url(&emulator, "/v2/a/blobs/uploads/")))
        .query(&[("digest", digest.as_str())])
        .body("whole")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(emulator.blob("a", &digest).unwrap(), "whole");
}

#[tokio::test]
async fn upload_operations_need_push_and_pull() {
    let emulator = start().await;
    let location = start_session(&emulator, "a").await;
    let pull_only = access_token(&emulator, "repository:a:pull").await;
    let response = http()
        .patch(absolute(&emulator, &location))
        .bearer_auth(&pull_only)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let params = challenge(&response);
    assert_eq!(params["scope"], "repository:a:pull,push");
    assert_eq!(params["error"], "insufficient_scope");
}
