//! Blob upload and download against the ACR emulator (`emu`), the fake registry that
//! misbehaves on purpose (`support`) and hand-written loopback servers.
//!
//! The fake keeps an upload session whatever `_state` a request carries, as a registry without
//! distribution's session rule would: the resume-at-`Range` tests here are of that path. The
//! session rule itself (a stale offset cancels the session, so a cut means a new session) is
//! tested against the strict emulator (`tests/tests/upload_recovery.rs`) and the real
//! docker-registry (`tests/tests/registry_uploads.rs`).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use acr_emulator::{Fault, Grants, Scope, Server, sha256_digest};
use acr_runtime::blob::{ExpectedSize, UploadMethod, UploadSource, Uploaded};
use acr_runtime::progress::Progress;
use acr_runtime::{Credential, Digest, Error, RepositoryName};
use bytes::Bytes;
use futures_util::TryStreamExt as _;

use crate::support::{self, PatchFault};
use crate::transfers::{Transfers as _, UploadOptions};
use crate::{client, emu};

fn data(n: usize) -> Bytes {
    Bytes::from((0..n).map(|i| (i * 7 % 251) as u8).collect::<Vec<u8>>())
}

/// The digest and size of an upload (what most tests look at).
fn parts(u: Uploaded) -> (Digest, u64) {
    (u.digest, u.size)
}

fn repo(s: &str) -> RepositoryName {
    RepositoryName::new(s).unwrap()
}

/// A one-pass reader (no seek) over `b`.
fn one_pass(b: Bytes) -> UploadSource {
    UploadSource::reader(std::io::Cursor::new(b.to_vec()).chain_marker())
}

trait ChainMarker: Sized {
    fn chain_marker(self) -> tokio::io::Chain<Self, tokio::io::Empty>;
}
impl ChainMarker for std::io::Cursor<Vec<u8>> {
    fn chain_marker(self) -> tokio::io::Chain<Self, tokio::io::Empty> {
        tokio::io::AsyncReadExt::chain(self, tokio::io::empty())
    }
}

/// A registry may answer upload `Location`s relative to the URL of its answer (RFC 9110
/// §10.2.2, RFC 3986 §5): `u1?_state=…` after the POST to `/v2/<name>/blobs/uploads/` is
/// `/v2/<name>/blobs/uploads/u1?_state=…`, not `/u1` at the registry's root.
#[tokio::test]
async fn relative_upload_locations_resolve_against_the_answering_url() {
    let fake = support::start().await;
    fake.state
        .relative_locations
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let t = client(&fake.url, Credential::Anonymous);
    for (len, chunk) in [(1000, 1 << 20), (5000, 2048)] {
        let b = data(len);
        let (d, n) = t
            .upload_blob(
                &repo("hello"),
                UploadSource::Bytes(b.clone()),
                UploadOptions::default().chunk_size(chunk),
            )
            .await
            .map(parts)
            .unwrap_or_else(|e| panic!("{len} bytes in chunks of {chunk}: {e}"));
        assert_eq!((d.as_str(), n), (support::sha256(&b).as_str(), len as u64));
        assert_eq!(fake.state.blobs.lock().unwrap()[d.as_str()], b);
    }
}

#[tokio::test]
async fn small_blob_goes_in_one_request() {
    let emulator = emu::start().await;
    let t = client(
        &emulator.endpoint(),
        Credential::refresh_token(emu::refresh_token(&emulator)),
    );
    let b = data(1000);
    let (d, n) = t
        .upload_blob(
            &repo("hello"),
            UploadSource::Bytes(b.clone()),
            UploadOptions::default(),
        )
        .await
        .map(parts)
        .unwrap();
    assert_eq!((d.as_str(), n), (sha256_digest(&b).as_str(), 1000));
    assert_eq!(emu::requests(&emulator, |r| r.method == "PATCH").len(), 0);
    assert_eq!(emulator.blob("hello", d.as_str()).unwrap(), b);
    // one token for push,pull, fetched up front: HEAD/POST/PUT saw no 401
    assert_eq!(emu::token_requests(&emulator), 1);
    // with a digest: HEAD, POST, PUT all on the one push token, no new 401
    let b2 = data(2000);
    let opts = UploadOptions::default().digest(Digest::new(sha256_digest(&b2)).unwrap());
    t.upload_blob(&repo("hello"), UploadSource::Bytes(b2), opts)
        .await
        .map(parts)
        .unwrap();
    assert_eq!(emu::token_requests(&emulator), 1);
    // ACR mode (refresh token): the push token was fetched before the first request
    assert_eq!(emu::challenges(&emulator), 0);
}

#[tokio::test]
async fn large_blob_in_chunks_with_acr_content_range_and_progress() {
    let emulator = emu::start().await;
    let t = client(
        &emulator.endpoint(),
        Credential::refresh_token(emu::refresh_token(&emulator)),
    );
    let b = data(300_000);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let opts = UploadOptions::default()
        .chunk_size(100_000)
        .progress(move |p: Progress| s2.lock().unwrap().push(p));
    let (d, n) = t
        .upload_blob(&repo("hello"), one_pass(b.clone()), opts)
        .await
        .map(parts)
        .unwrap();
    assert_eq!(n, 300_000);
    assert_eq!(emulator.blob("hello", d.as_str()).unwrap(), b);
    assert_eq!(
        emu::header_of(&emulator, Server::Registry, "PATCH", "content-range"),
        vec!["0-99999", "100000-199999", "200000-299999"]
    );
    let seen = seen.lock().unwrap().clone();
    let confirmed: Vec<u64> = seen.iter().map(|p| p.bytes).collect();
    // each value once: the completing PUT (no body left) reports nothing new
    assert_eq!(confirmed, vec![100_000, 200_000, 300_000]);
    assert!(seen.iter().all(|p| p.total.is_none()), "{seen:?}");
}

/// The `POST`s that start a session or mount, with their statuses.
fn upload_posts(emulator: &acr_emulator::Emulator) -> Vec<(String, u16)> {
    emu::requests(emulator, |r| {
        r.method == "POST" && r.path.starts_with("/v2/")
    })
    .into_iter()
    .map(|r| (r.path_and_query(), r.status))
    .collect()
}

#[tokio::test]
async fn existing_blobs_are_skipped_and_others_mounted() {
    let emulator = emu::start().await;
    let t = client(
        &emulator.endpoint(),
        Credential::refresh_token(emu::refresh_token(&emulator)),
    );
    let b = data(5000);
    let digest = Digest::new(emulator.put_blob("hello", b.clone()).unwrap()).unwrap();
    let opts = UploadOptions::default().digest(digest.clone());
    let (d, n) = t
        .upload_blob(&repo("hello"), UploadSource::Bytes(b.clone()), opts)
        .await
        .map(parts)
        .unwrap();
    assert_eq!((d, n), (digest.clone(), 5000));
    assert!(upload_posts(&emulator).is_empty(), "{:?}", emulator.log());

    // not in the source repository: the mount is answered with a session (202), uploaded there
    let b2 = data(6000);
    let d2 = Digest::new(sha256_digest(&b2)).unwrap();
    let opts = UploadOptions::default()
        .digest(d2.clone())
        .mount_from(repo("other"));
    let (d, _) = t
        .upload_blob(&repo("hello"), UploadSource::Bytes(b2.clone()), opts)
        .await
        .map(parts)
        .unwrap();
    assert_eq!(d, d2);
    let posts = upload_posts(&emulator);
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert!(posts[0].0.contains("mount="), "{posts:?}");
    assert_eq!(posts[0].1, 202, "not there: uploaded via the 202 session");
    assert_eq!(emulator.blob("hello", d2.as_str()).unwrap(), b2);

    // in the source, but the credential may not pull from it: refused the same way (202)
    let b3 = data(7000);
    let d3 = Digest::new(emulator.put_blob("other", b3.clone()).unwrap()).unwrap();
    let limited = emulator.refresh_token_for(
        "limited",
        Grants::Only(vec![Scope::repository("hello", &["pull", "push"])]),
    );
    let t = client(&emulator.endpoint(), Credential::refresh_token(limited));
    let opts = UploadOptions::default()
        .digest(d3.clone())
        .mount_from(repo("other"));
    let (d, _) = t
        .upload_blob(&repo("hello"), UploadSource::Bytes(b3.clone()), opts)
        .await
        .map(parts)
        .unwrap();
    assert_eq!(d, d3);
    let last = upload_posts(&emulator).pop().unwrap();
    assert!(last.0.contains("mount=") && last.1 == 202, "{last:?}");
    assert_eq!(emulator.blob("hello", d3.as_str()).unwrap(), b3);
}

#[tokio::test]
async fn mount_answered_201_is_not_uploaded() {
    let emulator = emu::start().await;
    let t = client(
        &emulator.endpoint(),
        Credential::refresh_token(emu::refresh_token(&emulator)),
    );
    // in the source repository only: HEAD on the target misses, so the mount is tried
    let b = data(5000);
    let digest = Digest::new(emulator.put_blob("other", b.clone()).unwrap()).unwrap();
    let opts = UploadOptions::default()
        .digest(digest.clone())
        .mount_from(repo("other"))
        .size(5000);
    let (d, n) = t
        .upload_blob(&repo("hello"), UploadSource::Bytes(b.clone()), opts)
        .await
        .map(parts)
        .unwrap();
    assert_eq!((d, n), (digest.clone(), 5000));
    let posts = upload_posts(&emulator);
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0].1, 201, "{posts:?}");
    assert!(emu::requests(&emulator, |r| r.method == "PATCH" || r.method == "PUT").is_empty());
    assert_eq!(emulator.blob("hello", digest.as_str()).unwrap(), b);
}

async fn upload_with_fault(
    fault: PatchFault,
    source: fn(Bytes) -> UploadSource,
) -> (support::Fake, Result<(Digest, u64), Error>, Bytes) {
    let fake = support::start().await;
    let t = client(&fake.url, Credential::Anonymous);
    let b = data(250_000);
    // fault on the second chunk: let the first PATCH through
    let state = fake.state.clone();
    let armed = std::sync::atomic::AtomicBool::new(true);
    let opts = UploadOptions::default()
        .chunk_size(100_000)
        .progress(move |p: Progress| {
            if p.bytes == 100_000 && armed.swap(false, Ordering::SeqCst) {
                state.patch_faults.lock().unwrap().push_back(fault);
            }
        });
    let r = t
        .upload_blob(&repo("hello"), source(b.clone()), opts)
        .await
        .map(parts);
    (fake, r, b)
}

#[tokio::test]
async fn upload_resumes_after_a_chunk_half_received_then_500() {
    for source in [one_pass as fn(Bytes) -> UploadSource, UploadSource::Bytes] {
        let (fake, r, b) = upload_with_fault(PatchFault::KeepHalfThen500, source).await;
        let (d, n) = r.unwrap();
        assert_eq!(n, 250_000);
        assert_eq!(fake.state.blobs.lock().unwrap()[d.as_str()], b);
        // chunk 2 resumed at 150000 from the registry's Range
        let ranges = fake.state.content_ranges.lock().unwrap().clone();
        assert!(ranges.contains(&"150000-199999".to_owned()), "{ranges:?}");
    }
}

/// An emulator without distribution's session rule (a registry that lets a client resume at
/// its `Range` after a cut), whose second `PATCH` is cut after `kept` bytes that it keeps, and
/// a client of it.
async fn lenient_emulator_cutting_the_second_patch(
    kept: usize,
) -> (acr_emulator::Emulator, acr_runtime::Transport) {
    let emulator = acr_emulator::Emulator::builder()
        .strict_upload_state(false)
        .start()
        .await
        .unwrap();
    emulator.inject(
        Fault::on("PATCH", "/v2/*/blobs/uploads/*")
            .nth(2)
            .drop_after_keeping_partial(kept),
    );
    let t = client(
        &emulator.endpoint(),
        Credential::refresh_token(emu::refresh_token(&emulator)),
    );
    (emulator, t)
}

#[tokio::test]
async fn upload_resumes_after_a_dropped_patch_connection() {
    // the second chunk's connection drops after 50,000 bytes, which the registry keeps; a
    // registry without distribution's session rule (the emulator with it off) lets the
    // client resume at its Range
    let (emulator, t) = lenient_emulator_cutting_the_second_patch(50_000).await;
    let b = data(250_000);
    let opts = UploadOptions::default().chunk_size(100_000);
    let (d, _) = t
        .upload_blob(&repo("hello"), one_pass(b.clone()), opts)
        .await
        .map(parts)
        .unwrap();
    assert_eq!(emulator.blob("hello", d.as_str()).unwrap(), b);
    let ranges = emu::header_of(&emulator, Server::Registry, "PATCH", "content-range");
    assert!(ranges.contains(&"150000-199999".to_owned()), "{ranges:?}");
}

#[tokio::test]
async fn lost_session_starts_over_when_seekable_and_fails_clearly_when_not() {
    let (fake, r, b) = upload_with_fault(PatchFault::LoseSession, UploadSource::Bytes).await;
    let (d, _) = r.unwrap();
    assert_eq!(fake.state.blobs.lock().unwrap()[d.as_str()], b);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blob");
    std::fs::write(&path, &b).unwrap();
    let fake = support::start().await;
    let t = client(&fake.url, Credential::Anonymous);
    let state = fake.state.clone();
    let armed = std::sync::atomic::AtomicBool::new(true);
    let opts = UploadOptions::default()
        .chunk_size(100_000)
        .progress(move |p: Progress| {
            if p.bytes == 100_000 && armed.swap(false, Ordering::SeqCst) {
                state
                    .patch_faults
                    .lock()
                    .unwrap()
                    .push_back(PatchFault::LoseSession);
            }
        });
    let (d, n) = t
        .upload_blob(&repo("hello"), UploadSource::path(&path), opts)
        .await
        .map(parts)
        .unwrap();
    assert_eq!((d.as_str(), n), (support::sha256(&b).as_str(), 250_000));

    let (_fake, r, _) = upload_with_fault(PatchFault::LoseSession, one_pass).await;
    let e = r.unwrap_err();
    assert!(matches!(e, Error::Upload { .. }), "{e:?}");
    assert!(e.to_string().contains("one-pass"), "{e}");
}

#[tokio::test]
async fn unrecoverable_errors_cancel_the_session_and_say_so() {
    let fake = support::start().await;
    let t = client(&fake.url, Credential::Anonymous);
    let b = data(250_000);
    let wrong = Digest::new(support::sha256(b"other")).unwrap();
    let opts = UploadOptions::default().chunk_size(100_000).digest(wrong);
    let e = t
        .upload_blob(&repo("hello"), UploadSource::Bytes(b), opts)
        .await
        .map(parts)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Upload {
                cancelled: true,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("cancelled"), "{e}");
    assert_eq!(fake.state.cancelled.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn registry_digest_is_compared_with_ours() {
    let fake = support::start().await;
    *fake.state.report_wrong_digest.lock().unwrap() = true;
    let t = client(&fake.url, Credential::Anonymous);
    let e = t
        .upload_blob(
            &repo("hello"),
            UploadSource::Bytes(data(10)),
            UploadOptions::default(),
        )
        .await
        .map(parts)
        .unwrap_err();
    let Error::Upload {
        source: Some(inner),
        ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert!(matches!(**inner, Error::DigestMismatch { .. }), "{e:?}");
}

#[tokio::test]
async fn download_verifies_and_resumes_with_range_through_a_redirect() {
    let emulator = emu::start().await;
    let b = data(200_000);
    let d = Digest::new(emulator.put_blob("hello", b.clone()).unwrap()).unwrap();
    let t = client(
        &emulator.endpoint(),
        Credential::refresh_token(emu::refresh_token(&emulator)),
    );
    // direct, cut twice, 70,000 bytes into each answer
    emulator.inject(
        Fault::on("GET", "/v2/*/blobs/sha256:*")
            .times(2)
            .drop_after(70_000),
    );
    let s = t.download_blob(&repo("hello"), &d).await.unwrap();
    assert_eq!(s.size(), Some(200_000));
    let got: Vec<Bytes> = s.try_collect().await.unwrap();
    assert_eq!(got.concat(), b.to_vec());
    assert_eq!(
        emu::header_of(&emulator, Server::Registry, "GET", "range"),
        vec!["-", "bytes=70000-", "bytes=140000-"]
    );
    // through a 307 to the storage server (another origin)
    emulator.set_redirect_blobs(true);
    emulator.inject(Fault::on("GET", "*").on_storage().drop_after(1234));
    let mut out = Vec::new();
    let mut r = t
        .download_blob(&repo("hello"), &d)
        .await
        .unwrap()
        .into_async_read();
    tokio::io::copy(&mut r, &mut out).await.unwrap();
    assert_eq!(out, b.to_vec());
    assert_eq!(
        emu::header_of(&emulator, Server::Storage, "GET", "range"),
        vec!["-", "bytes=1234-"]
    );
}

#[tokio::test]
async fn download_to_renames_only_after_verification() {
    let fake = support::start().await;
    let t = client(&fake.url, Credential::Anonymous);
    let b = data(100_000);
    let d = Digest::new(support::sha256(&b)).unwrap();
    fake.state
        .blobs
        .lock()
        .unwrap()
        .insert(d.to_string(), b.clone());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.bin");
    assert_eq!(
        t.download_blob_to(&repo("hello"), &d, ExpectedSize::Exactly(100_000), &path)
            .await
            .unwrap(),
        100_000
    );
    assert_eq!(std::fs::read(&path).unwrap(), b.to_vec());

    // corrupt content under a digest: error, and no file left behind
    let bad = Digest::new(support::sha256(b"expected")).unwrap();
    fake.state
        .blobs
        .lock()
        .unwrap()
        .insert(bad.to_string(), data(5000));
    let path2 = dir.path().join("bad.bin");
    let e = t
        .download_blob_to(&repo("hello"), &bad, ExpectedSize::AtMost(1 << 20), &path2)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::DigestMismatch { .. }), "{e:?}");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("out.bin")]);
    // a missing blob is an error of the call itself
    let missing = Digest::new(support::sha256(b"missing")).unwrap();
    let e = t.download_blob(&repo("hello"), &missing).await.unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
}

#[tokio::test]
async fn registry_losing_confirmed_bytes_rewinds_a_seekable_source() {
    // after chunk 2 (200000 bytes confirmed) the registry drops back to 50000 bytes
    let run = |source: fn(Bytes) -> UploadSource| async move {
        let fake = support::start().await;
        let t = client(&fake.url, Credential::Anonymous);
        let b = data(350_000);
        let state = fake.state.clone();
        let armed = std::sync::atomic::AtomicBool::new(true);
        let opts = UploadOptions::default()
            .chunk_size(100_000)
            .progress(move |p: Progress| {
                if p.bytes == 200_000 && armed.swap(false, Ordering::SeqCst) {
                    state
                        .patch_faults
                        .lock()
                        .unwrap()
                        .push_back(PatchFault::TruncateTo(50_000));
                }
            });
        let r = t
            .upload_blob(&repo("hello"), source(b.clone()), opts)
            .await
            .map(parts);
        (fake, r, b)
    };
    let (fake, r, b) = run(UploadSource::Bytes).await;
    let (d, n) = r.unwrap();
    assert_eq!((d.as_str(), n), (support::sha256(&b).as_str(), 350_000));
    assert_eq!(fake.state.blobs.lock().unwrap()[d.as_str()], b);
    assert!(
        fake.state
            .content_ranges
            .lock()
            .unwrap()
            .contains(&"50000-299999".to_owned())
    );

    let (fake, r, _) = run(one_pass).await;
    let e = r.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Upload {
                cancelled: true,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("one-pass"), "{e}");
    assert_eq!(fake.state.cancelled.load(Ordering::SeqCst), 1);
}

/// What the raw server answers.
#[derive(Clone, Copy)]
enum Raw {
    /// These bytes, then close.
    Fixed(&'static str),
    /// This head, then an endless chunked body of zeros until the client leaves.
    Endless(&'static str),
}

/// A loopback HTTP/1.1 server that answers every request with `reply` (one request per
/// connection), counting the body bytes it wrote; written by hand so that nothing adds or
/// checks headers (a `HEAD` without `Content-Length`, a body longer than announced).
async fn raw_server(reply: Raw) -> (String, Arc<std::sync::atomic::AtomicU64>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let written = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = written.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if conn.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                match reply {
                    Raw::Fixed(text) => {
                        let _ = conn.write_all(text.as_bytes()).await;
                    }
                    Raw::Endless(text) => {
                        if conn.write_all(text.as_bytes()).await.is_err() {
                            return;
                        }
                        let chunk = format!("10000\r\n{}\r\n", "\0".repeat(0x10000));
                        while conn.write_all(chunk.as_bytes()).await.is_ok() {
                            counter.fetch_add(0x10000, Ordering::SeqCst);
                        }
                    }
                }
                let _ = conn.shutdown().await;
            });
        }
    });
    (url, written)
}

#[tokio::test]
async fn a_head_without_content_length_means_exists_with_unknown_size_not_zero() {
    let b = data(5000);
    let digest = Digest::new(support::sha256(&b)).unwrap();
    // (no Docker-Content-Digest either: the generated check_blob_exists reads it as a Digest,
    // and an invalid one is an invalid response, not "exists")
    let (url, _) = raw_server(Raw::Fixed("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")).await;
    let t = client(&url, Credential::Anonymous);
    let info = t.blob_exists(&repo("hello"), &digest).await.unwrap();
    assert_eq!(info.map(|i| i.size), Some(None), "exists, size unknown");

    let skip = |source: UploadSource, opts: UploadOptions| {
        let t = t.clone();
        async move {
            t.upload_blob(&repo("hello"), source, opts.digest(digest_of(5000)))
                .await
        }
    };
    fn digest_of(n: usize) -> Digest {
        Digest::new(support::sha256(&data(n))).unwrap()
    }
    // the source's length (bytes, files)
    let up = skip(UploadSource::Bytes(b.clone()), UploadOptions::default())
        .await
        .unwrap();
    assert_eq!((up.size, up.method), (5000, UploadMethod::Skipped));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blob");
    std::fs::write(&path, &b).unwrap();
    let up = skip(UploadSource::path(&path), UploadOptions::default())
        .await
        .unwrap();
    assert_eq!(up.size, 5000);
    // the caller's size
    let up = skip(one_pass(b.clone()), UploadOptions::default().size(5000))
        .await
        .unwrap();
    assert_eq!(up.size, 5000);
    // nobody knows: the stream is read through, counted and checked
    let up = skip(one_pass(b.clone()), UploadOptions::default())
        .await
        .unwrap();
    assert_eq!((up.size, up.bytes_sent), (5000, 0));
    let e = skip(one_pass(data(4999)), UploadOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::DigestMismatch { .. }), "{e:?}");
}

#[tokio::test]
async fn download_to_stops_one_byte_past_the_expected_size_and_leaves_no_file() {
    let d = Digest::new(support::sha256(b"whatever")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.bin");
    let left_behind = || std::fs::read_dir(dir.path()).unwrap().count();

    // an endless chunked body: the descriptor's size, or a maximum
    let (url, written) = raw_server(Raw::Endless(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
    ))
    .await;
    let t = client(&url, Credential::Anonymous);
    let e = t
        .download_blob_to(&repo("hello"), &d, ExpectedSize::Exactly(1000), &path)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidResponse { .. }), "{e:?}");
    assert!(e.to_string().contains("expected size of 1000"), "{e}");
    assert_eq!(left_behind(), 0, "no file left behind");
    let e = t
        .download_blob_to(&repo("hello"), &d, ExpectedSize::AtMost(3 << 20), &path)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::TooLarge { limit, .. } if limit == 3 << 20),
        "{e:?}"
    );
    assert_eq!(left_behind(), 0);
    // the client stopped reading at the limit: the server got no further than the limit plus
    // what socket buffers hold
    let sent = written.load(Ordering::SeqCst);
    assert!(sent < 64 << 20, "the server wrote {sent} bytes");

    // a Content-Length larger than expected fails before any byte is written
    let (url, _) = raw_server(Raw::Fixed(
        "HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\nConnection: close\r\n\r\n",
    ))
    .await;
    let t = client(&url, Credential::Anonymous);
    let e = t
        .download_blob_to(&repo("hello"), &d, ExpectedSize::Exactly(1000), &path)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("announces 10000000000 bytes"), "{e}");
    let e = t
        .download_blob_to(&repo("hello"), &d, ExpectedSize::AtMost(1 << 20), &path)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::TooLarge { .. }), "{e:?}");
    assert_eq!(left_behind(), 0);
}

/// A seekable source that gives `good` bytes, then fails every read.
struct FailingAfter {
    good: usize,
    pos: usize,
}

impl tokio::io::AsyncRead for FailingAfter {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.pos >= self.good {
            return std::task::Poll::Ready(Err(std::io::Error::other("the disk failed")));
        }
        let n = (self.good - self.pos).min(buf.remaining());
        buf.put_slice(&vec![7u8; n]);
        self.pos += n;
        std::task::Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncSeek for FailingAfter {
    fn start_seek(
        mut self: std::pin::Pin<&mut Self>,
        to: std::io::SeekFrom,
    ) -> std::io::Result<()> {
        if let std::io::SeekFrom::Start(p) = to {
            self.pos = p as usize;
        }
        Ok(())
    }

    fn poll_complete(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<u64>> {
        std::task::Poll::Ready(Ok(self.pos as u64))
    }
}

/// A source that fails while the session opens (its first chunk is read beside the `POST`),
/// or after some chunks: either way the upload fails with the read's error and the session
/// it opened is cancelled, none left behind.
#[tokio::test]
async fn a_source_failing_at_its_first_or_a_later_read_leaves_no_session_open() {
    for good in [0usize, 250_000] {
        let emulator = acr_emulator::Emulator::builder().start().await.unwrap();
        let t = client(
            &emulator.endpoint(),
            Credential::refresh_token(emu::refresh_token(&emulator)),
        );
        let source = UploadSource::seekable(FailingAfter { good, pos: 0 });
        let opts = UploadOptions::default().chunk_size(100_000);
        let e = t
            .upload_blob(&repo("hello"), source, opts)
            .await
            .expect_err("the source fails");
        assert!(
            matches!(
                e,
                Error::Upload {
                    cancelled: true,
                    ..
                }
            ),
            "after {good} good bytes: {e:?}"
        );
        assert!(e.to_string().contains("read"), "{e}");
        assert_eq!(
            emulator.upload_sessions(),
            0,
            "after {good} good bytes: the session was cancelled"
        );
    }
}

/// Chunks of 4 MiB or more from a seekable source of known length are streamed from it; when
/// one breaks after the registry kept part of it (a registry without distribution's session
/// rule), the upload resumes at the registry's `Range`: the source and the hash state are set
/// back to it from the chunk's start, and the blob arrives whole.
#[tokio::test]
async fn a_streamed_chunk_cut_after_the_registry_kept_part_resumes_at_its_range() {
    let (emulator, t) = lenient_emulator_cutting_the_second_patch(1_000_000).await;
    let b = data(10 << 20);
    let opts = UploadOptions::default().chunk_size(4 << 20);
    let up = t
        .upload_blob(&repo("hello"), UploadSource::Bytes(b.clone()), opts)
        .await
        .unwrap();
    assert_eq!(up.digest, Digest::sha256(&b));
    assert_eq!((up.resumes, up.restarts), (1, 0), "{up:?}");
    assert_eq!(emulator.blob("hello", up.digest.as_str()).unwrap(), b);
    let ranges = emu::header_of(&emulator, Server::Registry, "PATCH", "content-range");
    let resumed = format!("{}-", (4 << 20) + 1_000_000);
    assert!(
        ranges.iter().any(|r| r.starts_with(&resumed)),
        "a PATCH from the registry's Range: {ranges:?}"
    );
}
