//! `upload_blob` against the emulator, which enforces distribution's upload session rule (a
//! stale `_state` offset cancels the session): resume where the status request answers
//! consistently, start over where the session is gone, fail clearly with a one-pass stream;
//! and mounts that the registry does not do (any non-201 answer) fall back to a plain upload.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap (see notes/COMMON.md)

mod common;

use std::time::Duration;

use acr::Client;
use acr_runtime::blob::{UploadMethod, UploadSource};
use acr_runtime::{Credential, Digest, Error, RepositoryName, RetryPolicy};
use acr_tests::emulator::{Emulator, Fault};
use acr_tests::transfers::{Transfers as _, UploadOptions};
use bytes::Bytes;

const CHUNK: usize = 100_000;
const TIMEOUT: Duration = Duration::from_secs(120);

fn data(n: usize) -> Bytes {
    common::image::pseudo_random("upload-recovery", n)
}

fn repo(name: &str) -> RepositoryName {
    RepositoryName::new(name).unwrap()
}

/// An admin client of `endpoint` with short retry waits.
fn client(endpoint: &str) -> Client {
    Client::builder(endpoint)
        .credential(Credential::basic(
            common::ADMIN_USER,
            common::ADMIN_PASSWORD,
        ))
        .retry(
            RetryPolicy::default()
                .with_backoff(Duration::from_millis(20), Duration::from_millis(200)),
        )
        .build()
        .unwrap()
}

fn one_pass(b: &Bytes) -> UploadSource {
    UploadSource::reader(std::io::Cursor::new(b.to_vec()))
}

/// Uploads 250,000 bytes in 100,000-byte chunks to `emulator` after injecting `fault`.
async fn upload_after(
    emulator: &Emulator,
    fault: Fault,
    source: fn(&Bytes) -> UploadSource,
) -> (Result<acr_runtime::blob::Uploaded, Error>, Bytes) {
    let b = data(250_000);
    emulator.inject(fault);
    let client = client(&emulator.endpoint());
    let r = tokio::time::timeout(
        TIMEOUT,
        client.transport().upload_blob(
            &repo("recovery/blob"),
            source(&b),
            UploadOptions::default().chunk_size(CHUNK),
        ),
    )
    .await
    .expect("the upload ends in time");
    (r, b)
}

fn patches(emulator: &Emulator) -> Vec<String> {
    common::logged(emulator, "/blobs/uploads/")
        .into_iter()
        .filter(|l| l.starts_with("PATCH"))
        .collect()
}

#[tokio::test]
async fn a_chunk_refused_with_500_resumes_at_the_consistent_range_in_the_same_session() {
    for source in [one_pass as fn(&Bytes) -> UploadSource, |b: &Bytes| {
        UploadSource::Bytes(b.clone())
    }] {
        let emulator = common::start_emulator().await;
        let fault = Fault::on("PATCH", "/v2/*/blobs/uploads/*")
            .nth(2)
            .fail_with(500);
        let (r, b) = upload_after(&emulator, fault, source).await;
        let up = r.unwrap();
        assert_eq!(up.digest, Digest::sha256(&b));
        assert_eq!((up.resumes, up.restarts), (1, 0), "{up:?}");
        assert_eq!(
            up.bytes_sent, 350_000,
            "the refused chunk counted once more"
        );
        assert_eq!(
            emulator.blob("recovery/blob", up.digest.as_str()).unwrap(),
            b
        );
        assert_eq!(patches(&emulator).len(), 4);
    }
}

#[tokio::test]
async fn a_patch_dropped_before_the_registry_kept_anything_resumes() {
    let emulator = common::start_emulator().await;
    let fault = Fault::on("PATCH", "/v2/*/blobs/uploads/*")
        .nth(2)
        .drop_after(50_000);
    let (r, b) = upload_after(&emulator, fault, one_pass).await;
    let up = r.unwrap();
    assert_eq!(up.digest, Digest::sha256(&b));
    assert_eq!((up.resumes, up.restarts), (1, 0), "{up:?}");
}

#[tokio::test]
async fn a_patch_cut_after_the_registry_kept_part_restarts_a_seekable_source_only() {
    // the session rule: the kept bytes make the last Location stale, the status request
    // cancels the session, so only a new session can go on
    let emulator = common::start_emulator().await;
    let fault = Fault::on("PATCH", "/v2/*/blobs/uploads/*")
        .nth(2)
        .drop_after_keeping_partial(50_000);
    let (r, b) = upload_after(&emulator, fault, |b| UploadSource::Bytes(b.clone())).await;
    let up = r.unwrap();
    assert_eq!(up.digest, Digest::sha256(&b));
    assert_eq!((up.resumes, up.restarts), (0, 1), "{up:?}");
    assert_eq!(up.bytes_sent, 200_000 + 250_000);
    assert_eq!(emulator.upload_sessions(), 0);
    let status = common::requests(&emulator.log(), "GET", "/blobs/uploads/")
        .map(|r| r.status)
        .collect::<Vec<_>>();
    assert_eq!(
        status,
        vec![404],
        "the stale status request ended the session"
    );

    let emulator = common::start_emulator().await;
    let fault = Fault::on("PATCH", "/v2/*/blobs/uploads/*")
        .nth(2)
        .drop_after_keeping_partial(50_000);
    let (r, _) = upload_after(&emulator, fault, one_pass).await;
    let e = r.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Upload {
                offset: 100_000,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("one-pass"), "{e}");
}

/// Statuses a mount POST may get instead of 201: each falls back to a plain upload.
#[tokio::test]
async fn any_non_201_mount_answer_falls_back_to_a_plain_upload() {
    for status in [401u16, 403, 404, 405, 500] {
        let emulator = common::start_emulator().await;
        let b = data(5000);
        let digest = emulator.put_blob("recovery/source", b.clone()).unwrap();
        emulator.inject(Fault::on("POST", "/v2/*/blobs/uploads/").fail_with(status));
        let client = client(&emulator.endpoint());
        let up = tokio::time::timeout(
            TIMEOUT,
            client.transport().upload_blob(
                &repo("recovery/target"),
                UploadSource::Bytes(b.clone()),
                UploadOptions::default()
                    .digest(Digest::new(digest.clone()).unwrap())
                    .mount_from(repo("recovery/source")),
            ),
        )
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("mount answered {status}: {e}"));
        assert_eq!(up.method, UploadMethod::Sent, "{status}");
        assert_eq!(up.size, 5000);
        assert_eq!(emulator.blob("recovery/target", &digest).unwrap(), b);
        let posts: Vec<_> = common::requests(&emulator.log(), "POST", "/blobs/uploads/")
            .map(|r| (r.status, r.path_and_query().contains("mount=")))
            .collect();
        assert_eq!(posts.first(), Some(&(status, true)), "{posts:?}");
        assert_eq!(
            posts.last().map(|p| (p.0, p.1)),
            Some((202, false)),
            "{posts:?}"
        );
    }
}

#[tokio::test]
async fn a_mount_answered_202_uploads_into_that_session() {
    let emulator = common::start_emulator().await;
    let b = data(5000);
    let digest = Digest::sha256(&b);
    // the source does not hold the blob: the registry opens a session instead (OCI)
    let client = client(&emulator.endpoint());
    let up = client
        .transport()
        .upload_blob(
            &repo("recovery/target"),
            UploadSource::Bytes(b.clone()),
            UploadOptions::default()
                .digest(digest.clone())
                .mount_from(repo("recovery/empty")),
        )
        .await
        .unwrap();
    assert_eq!((up.method, up.size), (UploadMethod::Sent, 5000));
    let posts = common::requests(&emulator.log(), "POST", "/blobs/uploads/").count();
    assert_eq!(posts, 1, "the 202 session was used, no second POST");
    assert_eq!(
        emulator.blob("recovery/target", digest.as_str()).unwrap(),
        b
    );
}

/// A blob of more than 1 MiB from bytes that fits one chunk goes in one streamed request: the
/// completing `PUT` when the digest is given, else one `PATCH`. Refused with a client error the
/// registry would give again (403; 413 from a proxy that limits a body), the upload fails at
/// once: no new session, the blob not sent again. A lost session (404) still starts over.
#[tokio::test]
async fn a_streamed_upload_refused_for_good_fails_at_once_and_a_lost_session_starts_over() {
    let b = data(3 << 20);
    for (method, status) in [("PUT", 413), ("PATCH", 413), ("PUT", 403), ("PATCH", 404)] {
        let emulator = common::start_emulator().await;
        let fault = Fault::on(method, "/v2/*/blobs/uploads/*").fail_with(status);
        emulator.inject(fault);
        let mut options = UploadOptions::default();
        if method == "PUT" {
            options = options.digest(Digest::sha256(&b));
        }
        let client = client(&emulator.endpoint());
        let r = tokio::time::timeout(
            TIMEOUT,
            client.transport().upload_blob(
                &repo("recovery/streamed"),
                UploadSource::Bytes(b.clone()),
                options,
            ),
        )
        .await
        .expect("the upload ends in time");
        let log = emulator.log();
        // the requests the registry answered (not the auth challenge's 401)
        let count = |m: &str| {
            common::requests(&log, m, "/blobs/uploads/")
                .filter(|r| r.status != 401)
                .count()
        };
        let requests = common::logged(&emulator, "/blobs/uploads/");
        if status == 404 {
            let up = r.unwrap();
            assert_eq!(up.digest, Digest::sha256(&b));
            assert_eq!(up.restarts, 1, "{method} {status}: {up:?}");
            assert_eq!(count("POST"), 2, "{method} {status}: {requests:?}");
            continue;
        }
        let e = r.expect_err("a refused streamed upload fails");
        assert!(
            matches!(e, Error::Upload { .. }),
            "{method} {status}: {e:?}"
        );
        let mut chain = e.to_string();
        let mut cause = std::error::Error::source(&e);
        while let Some(c) = cause {
            chain.push_str(&format!(": {c}"));
            cause = c.source();
        }
        assert!(chain.contains("0 restarts"), "{method} {status}: {chain}");
        assert!(
            chain.contains(&status.to_string()),
            "{method} {status}: the registry's answer is named: {chain}"
        );
        assert_eq!(
            count("POST"),
            1,
            "{method} {status}: no new session: {requests:?}"
        );
        assert_eq!(
            count(method),
            1,
            "{method} {status}: sent once: {requests:?}"
        );
    }
}

/// The digest given does not match the bytes: the registry refuses the streamed `PUT` with
/// `DIGEST_INVALID`, and the upload fails on our own check, without starting over.
#[tokio::test]
async fn a_streamed_upload_with_a_wrong_digest_given_fails_without_starting_over() {
    let b = data(3 << 20);
    let emulator = common::start_emulator().await;
    let client = client(&emulator.endpoint());
    let wrong = Digest::sha256(b"not these bytes");
    let e = client
        .transport()
        .upload_blob(
            &repo("recovery/wrong-digest"),
            UploadSource::Bytes(b.clone()),
            UploadOptions::default().digest(wrong),
        )
        .await
        .expect_err("a wrong digest fails");
    assert!(
        e.to_string().contains("does not match the digest given"),
        "{e}"
    );
    let requests = common::logged(&emulator, "/blobs/uploads/");
    let posts = requests.iter().filter(|l| l.starts_with("POST")).count();
    assert_eq!(posts, 1, "no new session: {requests:?}");
}
