//! Uploads against the real `docker-registry` (CNCF distribution 2.8), where its session rule
//! shows: a request whose `_state` offset differs from the bytes stored cancels the session, so
//! after a connection cut mid-`PATCH` (the registry keeps what it read) the client must start
//! over; and `Range: 0-0` is both "empty" and "one byte".
//!
//! Faults come from the TCP fault proxy ([`acr_tests::fault_proxy`]) between the client and the
//! registry. Skipped with a printed reason when `docker-registry` is not installed (an error
//! under `REQUIRE_REAL_REGISTRY=1`, as in CI). Every upload runs under a timeout.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap (see notes/COMMON.md)

mod common;

use std::io::Write as _;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use acr::Client;
use acr_runtime::blob::{UploadMethod, UploadSource};
use acr_runtime::{Credential, Digest, Error, RepositoryName, RetryPolicy};
use acr_tests::fault_proxy::{Cut, FaultProxy};
use acr_tests::registry::Flavour;
use acr_tests::transfers::{Transfers as _, UploadOptions};
use bytes::Bytes;
use futures_util::TryStreamExt as _;
use sha2::Digest as _;
use tokio::io::{AsyncRead, AsyncSeek, ReadBuf};

const MIB: u64 = 1 << 20;
/// The most any one upload here may take (a debug build on a shared 2-core machine).
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(900);

/// Writes to the process's stderr directly, which libtest does not capture: measured figures
/// show in the test command's output.
fn report(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// A client to `endpoint` with a quick retry policy (waits stay short, the budget the same).
fn client(endpoint: &str) -> Client {
    Client::builder(endpoint)
        .credential(Credential::Anonymous)
        .retry(
            RetryPolicy::default().with_backoff(Duration::from_millis(50), Duration::from_secs(1)),
        )
        .build()
        .unwrap()
}

/// The peak resident memory of this test process in bytes (`VmHWM` of `/proc/self/status`),
/// where Linux provides it.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn repo(name: &str) -> RepositoryName {
    RepositoryName::new(name).unwrap()
}

/// Uploads `size` pseudo-random bytes (a seekable source) to repository `name` through
/// `client` with `options`; panics with `registry`'s log when it fails, and when it takes
/// longer than [`UPLOAD_TIMEOUT`].
async fn upload_pseudo_random(
    client: &Client,
    registry: &acr_tests::registry::RealRegistry,
    name: &str,
    size: u64,
    options: UploadOptions,
) -> acr_runtime::blob::Uploaded {
    tokio::time::timeout(
        UPLOAD_TIMEOUT,
        client.transport().upload_blob(
            &repo(name),
            UploadSource::seekable(PseudoRandom::new(size)),
            options,
        ),
    )
    .await
    .expect("the upload ends in time")
    .unwrap_or_else(|e| panic!("{name}: {e}\nregistry log:\n{}", registry.log()))
}

/// Asserts that repository `name` holds blob `digest` of `size` bytes (its `HEAD`).
async fn assert_holds(client: &Client, name: &str, digest: &Digest, size: u64) {
    let head = client
        .check_blob_exists(name, digest.as_str())
        .await
        .unwrap();
    assert_eq!(head.content_length, Some(size), "{name}");
}

fn registry_addr(registry: &acr_tests::registry::RealRegistry) -> SocketAddr {
    registry.host().parse().unwrap()
}

/// A deterministic pseudo-random blob of `len` bytes, generated on the fly (no buffer), that
/// can seek: byte `p` depends only on `p` (splitmix64 of its 8-byte word index).
struct PseudoRandom {
    len: u64,
    pos: u64,
}

impl PseudoRandom {
    fn new(len: u64) -> Self {
        Self { len, pos: 0 }
    }

    fn word(index: u64) -> [u8; 8] {
        let mut z = index.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)).to_le_bytes()
    }

    /// Fills `out` with the bytes from `pos` on.
    fn fill(pos: u64, out: &mut [u8]) {
        let mut p = pos;
        let mut i = 0;
        while i < out.len() {
            let word = Self::word(p / 8);
            let from = (p % 8) as usize;
            let n = (8 - from).min(out.len() - i);
            out[i..i + n].copy_from_slice(&word[from..from + n]);
            i += n;
            p += n as u64;
        }
    }

    /// The sha256 digest of the whole blob, streamed (never held in memory).
    fn digest(len: u64) -> Digest {
        let mut hasher = sha2::Sha256::new();
        let mut buf = vec![0u8; MIB as usize];
        let mut pos = 0;
        while pos < len {
            let n = (len - pos).min(MIB) as usize;
            Self::fill(pos, &mut buf[..n]);
            hasher.update(&buf[..n]);
            pos += n as u64;
        }
        Digest::new(format!("sha256:{}", hex::encode(hasher.finalize()))).unwrap()
    }
}

impl AsyncRead for PseudoRandom {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = (self.len - self.pos).min(buf.remaining() as u64) as usize;
        let pos = self.pos;
        Self::fill(pos, buf.initialize_unfilled_to(n));
        buf.advance(n);
        self.pos += n as u64;
        Poll::Ready(Ok(()))
    }
}

impl AsyncSeek for PseudoRandom {
    fn start_seek(mut self: Pin<&mut Self>, position: std::io::SeekFrom) -> std::io::Result<()> {
        self.pos = match position {
            std::io::SeekFrom::Start(p) => p.min(self.len),
            _ => return Err(std::io::Error::other("only SeekFrom::Start")),
        };
        Ok(())
    }

    fn poll_complete(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<u64>> {
        Poll::Ready(Ok(self.pos))
    }
}

#[test]
fn the_pseudo_random_source_reads_the_same_after_a_seek() {
    let mut a = vec![0u8; 100];
    PseudoRandom::fill(0, &mut a);
    let mut b = vec![0u8; 37];
    PseudoRandom::fill(63, &mut b);
    assert_eq!(&a[63..], &b[..]);
    assert_ne!(a[..8], a[8..16]);
}

#[tokio::test]
async fn three_cuts_at_40_mib_of_a_256_mib_upload_complete_with_the_right_digest() {
    let Some(registry) = common::start_registry(Flavour::Open).await else {
        return;
    };
    let size = 256 * MIB;
    let expected = tokio::task::spawn_blocking(move || PseudoRandom::digest(size));
    let proxy = FaultProxy::start(
        registry_addr(&registry),
        Cut::upstream_after(40 * MIB).times(3),
    )
    .await
    .unwrap();
    let client = client(&proxy.endpoint());
    let name = "faults/big";
    let uploaded =
        upload_pseudo_random(&client, &registry, name, size, UploadOptions::default()).await;
    let expected = expected.await.unwrap();
    assert_eq!(uploaded.digest, expected);
    assert_eq!(uploaded.size, size);
    assert_eq!(uploaded.method, UploadMethod::Sent);
    assert_eq!(proxy.cuts(), 3, "the proxy cut three connections");
    assert!(uploaded.restarts >= 3, "{uploaded:?}");
    assert!(uploaded.bytes_sent > size, "{uploaded:?}");
    // the registry holds the blob, whole
    assert_holds(&client, name, &expected, size).await;
    // memory stays at a few chunks: the blob is streamed, never held (let alone twice)
    let peak = peak_rss();
    if let Some(peak) = peak {
        assert!(peak < size, "peak RSS {peak} bytes");
    }
    report(&format!(
        "256 MiB upload, 3 cuts at 40 MiB: completed; client sent {} bytes = {:.3}x the blob \
         ({} restarts, {} resumes); the proxy forwarded {} bytes upstream = {:.3}x; \
         test process peak RSS {}",
        uploaded.bytes_sent,
        uploaded.sent_ratio(),
        uploaded.restarts,
        uploaded.resumes,
        proxy.bytes_upstream(),
        proxy.bytes_upstream() as f64 / size as f64,
        peak.map_or_else(|| "unknown".to_owned(), |p| format!("{} MiB", p / MIB)),
    ));
}

#[tokio::test]
async fn a_one_pass_stream_cut_after_its_first_chunk_fails_clearly_and_within_it_starts_over() {
    let Some(registry) = common::start_registry(Flavour::Open).await else {
        return;
    };
    let size = 4 * MIB;
    let data = {
        let mut v = vec![0u8; size as usize];
        PseudoRandom::fill(0, &mut v);
        Bytes::from(v)
    };
    // cut in the third 1 MiB chunk: the registry confirmed two, holds part of the third
    let proxy = FaultProxy::start(
        registry_addr(&registry),
        Cut::upstream_after(2 * MIB + MIB / 2),
    )
    .await
    .unwrap();
    let client = client(&proxy.endpoint());
    let options = UploadOptions::default().chunk_size(MIB as usize);
    let e = tokio::time::timeout(
        UPLOAD_TIMEOUT,
        client.transport().upload_blob(
            &repo("faults/one-pass"),
            UploadSource::reader(std::io::Cursor::new(data.to_vec())),
            options.clone(),
        ),
    )
    .await
    .expect("the upload ends in time")
    .unwrap_err();
    assert!(matches!(e, Error::Upload { .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("one-pass"), "{text}");
    assert!(text.contains("bytes sent for a blob of"), "{text}");
    assert_eq!(proxy.cuts(), 1);

    // the same stream cut inside its first chunk: that chunk is still in memory, a new
    // session takes it
    let proxy = FaultProxy::start(registry_addr(&registry), Cut::upstream_after(MIB / 2))
        .await
        .unwrap();
    let client = self::client(&proxy.endpoint());
    let uploaded = tokio::time::timeout(
        UPLOAD_TIMEOUT,
        client.transport().upload_blob(
            &repo("faults/one-pass"),
            UploadSource::reader(std::io::Cursor::new(data.to_vec())),
            options,
        ),
    )
    .await
    .expect("the upload ends in time")
    .unwrap();
    assert_eq!(uploaded.digest, Digest::sha256(&data));
    assert_eq!(uploaded.restarts, 1, "{uploaded:?}");
    assert_eq!(proxy.cuts(), 1);
}

#[tokio::test]
async fn chunk_size_one_uploads_of_one_to_four_bytes_read_range_zero_zero_as_one_byte() {
    let Some(registry) = common::start_registry(Flavour::Open).await else {
        return;
    };
    let client = client(&registry.endpoint());
    let name = repo("faults/tiny");
    for n in 1..=4usize {
        let data = Bytes::from(b"abcd"[..n].to_vec());
        let uploaded = tokio::time::timeout(
            UPLOAD_TIMEOUT,
            client.transport().upload_blob(
                &name,
                UploadSource::Bytes(data.clone()),
                UploadOptions::default().chunk_size(1),
            ),
        )
        .await
        .expect("the upload ends in time")
        .unwrap_or_else(|e| panic!("{n} bytes: {e}"));
        assert_eq!(uploaded.digest, Digest::sha256(&data), "{n} bytes");
        assert_eq!(uploaded.size, n as u64);
        // each byte sent once: no resume, no restart
        assert_eq!(
            (uploaded.bytes_sent, uploaded.resumes, uploaded.restarts),
            (n as u64, 0, 0),
            "{n} bytes"
        );
        let got: Vec<Bytes> = client
            .transport()
            .download_blob(&name, &uploaded.digest)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(got.concat(), data.to_vec(), "{n} bytes");
    }
}

#[tokio::test]
async fn real_cuts_restart_within_the_one_budget_and_a_spent_budget_fails() {
    let Some(registry) = common::start_registry(Flavour::Open).await else {
        return;
    };
    // every connection is cut 150,000 bytes in (in the second 100,000-byte chunk), four times
    let proxy = FaultProxy::start(
        registry_addr(&registry),
        Cut::upstream_after(150_000).times(4),
    )
    .await
    .unwrap();
    let client = client(&proxy.endpoint());
    let b = {
        let mut v = vec![0u8; 250_000];
        PseudoRandom::fill(0, &mut v);
        Bytes::from(v)
    };
    let name = repo("faults/budget");
    let upload = |budget: u32| {
        client.transport().upload_blob(
            &name,
            UploadSource::Bytes(b.clone()),
            UploadOptions::default()
                .chunk_size(100_000)
                .max_resumes(budget),
        )
    };
    let e = tokio::time::timeout(UPLOAD_TIMEOUT, upload(2))
        .await
        .expect("the upload ends in time")
        .unwrap_err();
    assert!(e.to_string().contains("max_resumes"), "{e}");
    // each cut costs a restart (two with budget 2, the third cut finds it spent); a status
    // request that outruns the registry's storing of the cut chunk costs one resume more
    let first = proxy.cuts();
    assert!((2..=3).contains(&first), "{first} cuts");
    let up = tokio::time::timeout(UPLOAD_TIMEOUT, upload(8))
        .await
        .expect("the upload ends in time")
        .unwrap();
    assert_eq!(up.digest, Digest::sha256(&b));
    assert!(up.restarts >= 4 - first, "{up:?}");
    assert_eq!(proxy.cuts(), 4);
}

/// A blob that fits in one chunk goes in one request whose body streams from the source:
/// without its digest, one `PATCH` of the whole blob then the completing `PUT`; with it, the
/// completing `PUT` alone. Either way the blob is never in memory whole: the test process's
/// peak RSS stays under the blob's size (reading the chunk first would take at least that).
#[tokio::test]
async fn a_blob_in_one_chunk_streams_in_one_request_never_whole_in_memory() {
    let Some(registry) = common::start_registry(Flavour::Open).await else {
        return;
    };
    let size = 200 * MIB;
    let expected = tokio::task::spawn_blocking(move || PseudoRandom::digest(size))
        .await
        .unwrap();
    let client = client(&format!("http://{}", registry.host()));
    for (name, digest) in [
        ("streamed/no-digest", None),
        ("streamed/digest", Some(expected.clone())),
    ] {
        let options = UploadOptions {
            size: Some(size),
            chunk_size: Some(256 * MIB as usize),
            digest,
            ..UploadOptions::default()
        };
        let uploaded = upload_pseudo_random(&client, &registry, name, size, options).await;
        assert_eq!(uploaded.digest, expected, "{name}");
        assert_eq!(uploaded.size, size, "{name}");
        assert_eq!(uploaded.method, UploadMethod::Sent, "{name}");
        assert_eq!(uploaded.bytes_sent, size, "{name}: each byte sent once");
        assert_holds(&client, name, &expected, size).await;
    }
    let peak = peak_rss();
    if let Some(peak) = peak {
        assert!(peak < size, "peak RSS {peak} bytes for a {size}-byte blob");
    }
    report(&format!(
        "200 MiB in one streamed request (with and without the digest): test process peak RSS {}",
        peak.map_or_else(|| "unknown".to_owned(), |p| format!("{} MiB", p / MIB)),
    ));
}

/// A streamed one-request upload cut halfway cannot send its body again: a seekable source
/// starts over in a new session (one recovery), and the blob arrives whole.
#[tokio::test]
async fn a_streamed_one_request_upload_cut_halfway_starts_over_and_completes() {
    let Some(registry) = common::start_registry(Flavour::Open).await else {
        return;
    };
    let size = 48 * MIB;
    let expected = PseudoRandom::digest(size);
    let proxy = FaultProxy::start(registry_addr(&registry), Cut::upstream_after(20 * MIB))
        .await
        .unwrap();
    let client = client(&proxy.endpoint());
    let options = UploadOptions {
        size: Some(size),
        chunk_size: Some(64 * MIB as usize),
        digest: Some(expected.clone()),
        ..UploadOptions::default()
    };
    let uploaded = upload_pseudo_random(&client, &registry, "streamed/cut", size, options).await;
    assert_eq!(uploaded.digest, expected);
    assert_eq!(proxy.cuts(), 1);
    assert_eq!(uploaded.restarts, 1, "{uploaded:?}");
    assert!(uploaded.bytes_sent > size, "{uploaded:?}");
    assert_holds(&client, "streamed/cut", &expected, size).await;
}

/// A file-like source (seekable, length known) in 16 MiB chunks streamed from it, cut twice at
/// 20 MiB on the real registry (which cancels the session after a cut mid-chunk): it starts
/// over each time and completes with the right digest, never holding a chunk whole.
#[tokio::test]
async fn streamed_chunks_cut_twice_start_over_and_complete() {
    let Some(registry) = common::start_registry(Flavour::Open).await else {
        return;
    };
    let size = 40 * MIB;
    let expected = PseudoRandom::digest(size);
    let proxy = FaultProxy::start(
        registry_addr(&registry),
        Cut::upstream_after(20 * MIB).times(2),
    )
    .await
    .unwrap();
    let client = client(&proxy.endpoint());
    let options = UploadOptions {
        size: Some(size),
        chunk_size: Some(16 * MIB as usize),
        ..UploadOptions::default()
    };
    let uploaded = upload_pseudo_random(&client, &registry, "streamed/chunks", size, options).await;
    assert_eq!(uploaded.digest, expected);
    assert_eq!(proxy.cuts(), 2);
    assert!(uploaded.restarts >= 1, "{uploaded:?}");
    assert_holds(&client, "streamed/chunks", &expected, size).await;
}

/// The digest given does not match the bytes (3 MiB, one streamed `PUT`): docker-registry
/// answers `DIGEST_INVALID`, and the upload fails on our own check at once, without starting
/// over in new sessions; the registry holds no blob under either digest. (The emulator's
/// twin is in `upload_recovery.rs`.)
#[tokio::test]
async fn a_streamed_upload_with_a_wrong_digest_given_fails_at_once_on_the_real_registry() {
    let Some(registry) = common::start_registry(Flavour::Open).await else {
        return;
    };
    let size = 3 * MIB;
    let actual = PseudoRandom::digest(size);
    let wrong = Digest::sha256(b"not these bytes");
    let client = client(&format!("http://{}", registry.host()));
    let options = UploadOptions {
        size: Some(size),
        digest: Some(wrong.clone()),
        ..UploadOptions::default()
    };
    let e = client
        .transport()
        .upload_blob(
            &repo("streamed/wrong-digest"),
            UploadSource::seekable(PseudoRandom::new(size)),
            options,
        )
        .await
        .expect_err("a wrong digest fails");
    let message = e.to_string();
    assert!(
        message.contains("does not match the digest given"),
        "{message}"
    );
    assert!(message.contains("0 restarts"), "{message}");
    for digest in [&wrong, &actual] {
        let held = client
            .check_blob_exists("streamed/wrong-digest", digest.as_str())
            .await;
        assert!(held.is_err_and(|e| e.is_not_found()), "{digest}");
    }
}
