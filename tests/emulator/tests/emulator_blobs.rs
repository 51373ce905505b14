//! Blobs against the emulator: GET/HEAD/DELETE, ranged GETs, and the 307 redirect to the storage
//! server (which serves ranges and records whether credentials followed the redirect).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap (see notes/COMMON.md)

#[path = "emulator_support/mod.rs"]
mod support;

use acr_emulator::{Emulator, Server, sha256_digest};
use support::*;

const DATA: &[u8] = b"0123456789abcdefghij";

#[tokio::test]
async fn get_head_and_delete() {
    let emulator = start().await;
    let digest = emulator.put_blob("library/hello", DATA).unwrap();
    let path = format!("/v2/library/hello/blobs/{digest}");
    let get = admin(http().get(url(&emulator, &path)))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
    assert_eq!(header(&get, "docker-content-digest"), digest);
    assert_eq!(header(&get, "content-length"), DATA.len().to_string());
    assert_eq!(get.bytes().await.unwrap(), DATA);

    let head = admin(http().head(url(&emulator, &path)))
        .header("range", "bytes=0-3")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200, "HEAD ignores Range");
    assert_eq!(header(&head, "content-length"), DATA.len().to_string());
    assert_eq!(header(&head, "docker-content-digest"), digest);
    assert!(head.headers().get("content-range").is_none());

    let delete = admin(http().delete(url(&emulator, &path)))
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 202);
    assert_eq!(header(&delete, "docker-content-digest"), digest);
    let gone = admin(http().get(url(&emulator, &path)))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    assert_eq!(json(gone).await["errors"][0]["code"], "BLOB_UNKNOWN");
}

#[tokio::test]
async fn ranged_get_answers_206() {
    let emulator = start().await;
    let digest = emulator.put_blob("a", DATA).unwrap();
    let path = format!("/v2/a/blobs/{digest}");
    let response = admin(http().get(url(&emulator, &path)))
        .header("range", "bytes=4-9")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 206);
    assert_eq!(
        header(&response, "content-range"),
        format!("bytes 4-9/{}", DATA.len())
    );
    assert_eq!(response.bytes().await.unwrap(), &DATA[4..10]);
    let past = admin(http().get(url(&emulator, &path)))
        .header("range", "bytes=100-")
        .send()
        .await
        .unwrap();
    assert_eq!(past.status(), 416);
}

#[tokio::test]
async fn blobs_are_per_repository() {
    let emulator = start().await;
    let digest = emulator.put_blob("a", DATA).unwrap();
    let response = admin(http().get(url(&emulator, &format!("/v2/b/blobs/{digest}"))))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn redirect_to_storage_without_credentials() {
    let emulator = Emulator::builder()
        .admin(ADMIN_USER, ADMIN_PASSWORD)
        .redirect_blobs(true)
        .start()
        .await
        .unwrap();
    let digest = emulator.put_blob("a", DATA).unwrap();
    let token = emulator.access_token_for(&[acr_emulator::Scope::repository("a", &["pull"])]);
    let response = http()
        .get(url(&emulator, &format!("/v2/a/blobs/{digest}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 307);
    let location = header(&response, "location");
    assert!(
        location.starts_with(&format!("{}/blobs/{digest}?", emulator.storage_endpoint())),
        "{location}"
    );

    // HEAD is answered by the registry itself.
    let head = http()
        .head(url(&emulator, &format!("/v2/a/blobs/{digest}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);

    emulator.clear_log();
    let whole = http().get(&location).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.bytes().await.unwrap(), DATA);
    let part = http()
        .get(&location)
        .header("range", "bytes=10-")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        header(&part, "content-range"),
        format!("bytes 10-19/{}", DATA.len())
    );
    assert_eq!(part.bytes().await.unwrap(), &DATA[10..]);

    let leaked = http()
        .get(&location)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        leaked.status(),
        401,
        "storage refuses a forwarded registry token"
    );

    let log = emulator.log();
    let storage: Vec<_> = log.iter().filter(|r| r.server == Server::Storage).collect();
    assert_eq!(storage.len(), 3);
    assert!(!storage[0].has_authorization());
    assert!(!storage[1].has_authorization());
    assert_eq!(storage[1].header("range"), Some("bytes=10-"));
    assert_eq!(storage[2].authorization.as_deref(), Some("Bearer"));
}

#[tokio::test]
async fn storage_urls_are_signed() {
    let emulator = Emulator::builder()
        .admin(ADMIN_USER, ADMIN_PASSWORD)
        .redirect_blobs(true)
        .start()
        .await
        .unwrap();
    let digest = emulator.put_blob("a", DATA).unwrap();
    let response = admin(http().get(url(&emulator, &format!("/v2/a/blobs/{digest}"))))
        .send()
        .await
        .unwrap();
    let location = header(&response, "location");
    let tampered = location.replace(&digest, &sha256_digest(b"other"));
    assert_eq!(http().get(&tampered).send().await.unwrap().status(), 403);
    let unsigned = format!("{}/blobs/{digest}", emulator.storage_endpoint());
    assert_eq!(http().get(&unsigned).send().await.unwrap().status(), 403);

    emulator.set_redirect_blobs(false);
    let direct = admin(http().get(url(&emulator, &format!("/v2/a/blobs/{digest}"))))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), 200);
}
