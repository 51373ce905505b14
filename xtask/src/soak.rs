//! `cargo xtask soak --minutes N [--workers 8] [--cut-every 50]`: a long run of the client
//! against a real registry through a faulty network (not in CI).
//!
//! Starts Debian's `docker-registry` (CNCF distribution; `DOCKER_REGISTRY_BIN` overrides the
//! path) on a free loopback port with a throw-away storage folder, puts a TCP proxy in front of
//! it that cuts one connection in `--cut-every` (within its first 768 bytes one way or the
//! other), and
//! runs `--workers` concurrent workers for `N` minutes. Each worker loops: push an image (config
//! and one to three layers of random bytes, some larger than the chunk size so they go in
//! several `PATCH`es, then the manifest), pull it back and compare every byte, list the
//! repository's tags and look for its own, then delete the manifest and the blobs. The client
//! keeps no idle connection, so every request opens one and the cut rate applies per request.
//!
//! Every minute it prints operations, errors, digest or content mismatches, connections, cuts,
//! and the process's resident memory and open file descriptors; at the end, the same figures
//! with memory and descriptors after the first (warm-up) minute and at the end. Exit code 0
//! when no error surfaced and nothing mismatched.
//!
//! The workload needs the client (`acr`), tokio and reqwest, which the rest of `xtask` does not:
//! `cargo xtask codegen` must build even when the generated crate does not. So they sit behind
//! the `soak` feature, and `cargo xtask soak` re-runs itself with it
//! (`cargo run -p xtask --features soak -- soak ...`).

/// Runs the command; returns the exit code.
pub fn run(args: &[String]) -> u8 {
    #[cfg(feature = "soak")]
    {
        workload::run(args)
    }
    #[cfg(not(feature = "soak"))]
    {
        let status = std::process::Command::new(std::env::var("CARGO").unwrap_or("cargo".into()))
            .current_dir(crate::workspace::root())
            .args([
                "run",
                "--quiet",
                "-p",
                "xtask",
                "--features",
                "soak",
                "--",
                "soak",
            ])
            .args(args)
            .status();
        match status {
            Ok(s) => s.code().and_then(|c| u8::try_from(c).ok()).unwrap_or(1),
            Err(e) => {
                eprintln!("error: cannot run cargo: {e}");
                1
            }
        }
    }
}

#[cfg(feature = "soak")]
mod workload {
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    use std::time::{Duration, Instant};

    use acr::Client;
    use acr_runtime::blob::{UploadOptions, UploadSource};
    use acr_runtime::http::Method;
    use acr_runtime::{Digest, Reference, RepositoryName, Request};
    use sha2::Digest as _;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
    /// The client's chunk size: layers above it go in several `PATCH`es.
    const CHUNK: usize = 256 * 1024;

    struct Options {
        minutes: u64,
        workers: usize,
        cut_every: u64,
    }

    fn parse(args: &[String]) -> Result<Options, String> {
        let mut o = Options {
            minutes: 10,
            workers: 8,
            cut_every: 50,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || {
                it.next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .ok_or_else(|| format!("{a} wants a whole number"))
            };
            match a.as_str() {
                "--minutes" => o.minutes = value()?.max(1),
                "--workers" => o.workers = usize::try_from(value()?.max(1)).unwrap_or(8),
                "--cut-every" => o.cut_every = value()?,
                other => return Err(format!("unknown option {other}")),
            }
        }
        Ok(o)
    }

    /// The counters every task adds to.
    #[derive(Default)]
    struct Stats {
        pushes: AtomicU64,
        pulls: AtomicU64,
        lists: AtomicU64,
        deletes: AtomicU64,
        errors: AtomicU64,
        mismatches: AtomicU64,
        connections: AtomicU64,
        cuts: AtomicU64,
    }

    impl Stats {
        fn ops(&self) -> u64 {
            self.pushes.load(Relaxed)
                + self.pulls.load(Relaxed)
                + self.lists.load(Relaxed)
                + self.deletes.load(Relaxed)
        }
    }

    /// A small xorshift generator: the soak needs varied sizes and bytes, not security.
    struct Rng(u64);

    impl Rng {
        fn new(seed: u64) -> Self {
            Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
        }
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
        fn bytes(&mut self, n: usize) -> Vec<u8> {
            let mut out = Vec::with_capacity(n + 8);
            while out.len() < n {
                out.extend_from_slice(&self.next().to_le_bytes());
            }
            out.truncate(n);
            out
        }
    }

    pub fn run(args: &[String]) -> u8 {
        let options = match parse(args) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        };
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
        {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: cannot start tokio: {e}");
                return 1;
            }
        };
        runtime.block_on(soak(options))
    }

    /// Resident memory (KiB) and open descriptors of this process, from `/proc/self`.
    fn usage() -> (u64, usize) {
        let rss = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
            .unwrap_or(0);
        let fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count());
        (rss, fds)
    }

    async fn soak(o: Options) -> u8 {
        // Blocking for at most 20 s, before any worker runs.
        let registry = match crate::registry::Registry::start() {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return 1;
            }
        };
        let stats = Arc::new(Stats::default());
        let listener = match TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: cannot bind the proxy: {e}");
                return 1;
            }
        };
        let proxy_addr = listener.local_addr().ok();
        let Some(proxy_addr) = proxy_addr else {
            return 1;
        };
        tokio::spawn(proxy(listener, registry.addr, stats.clone(), o.cut_every));
        // no idle connection: every request opens one, so every request may be cut
        let http = match reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(60))
            .build()
        {
            Ok(h) => h,
            Err(e) => {
                eprintln!("error: {e}");
                return 1;
            }
        };
        let client = match Client::builder(format!("http://{proxy_addr}"))
            .http_client(http)
            .chunk_size(CHUNK)
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return 1;
            }
        };
        println!(
            "soak: {} workers for {} min against docker-registry at {} through a proxy at {proxy_addr} cutting 1 connection in {}",
            o.workers, o.minutes, registry.addr, o.cut_every
        );
        let start = Instant::now();
        let deadline = start + Duration::from_secs(o.minutes * 60);
        let workers: Vec<_> = (0..o.workers)
            .map(|w| tokio::spawn(worker(w, client.clone(), stats.clone(), deadline)))
            .collect();
        println!(
            "{:>4} {:>7} {:>6} {:>6} {:>6} {:>6} {:>6} {:>8} {:>7} {:>5} {:>8} {:>4}",
            "min",
            "ops",
            "push",
            "pull",
            "list",
            "delete",
            "errors",
            "mismatch",
            "conns",
            "cuts",
            "rss_KiB",
            "fds"
        );
        let first = usage();
        let line = |minute: u64, (rss, fds): (u64, usize)| {
            println!(
                "{minute:>4} {:>7} {:>6} {:>6} {:>6} {:>6} {:>6} {:>8} {:>7} {:>5} {rss:>8} {fds:>4}",
                stats.ops(),
                stats.pushes.load(Relaxed),
                stats.pulls.load(Relaxed),
                stats.lists.load(Relaxed),
                stats.deletes.load(Relaxed),
                stats.errors.load(Relaxed),
                stats.mismatches.load(Relaxed),
                stats.connections.load(Relaxed),
                stats.cuts.load(Relaxed),
            );
        };
        line(0, first);
        let mut after_warmup = first;
        for minute in 1..=o.minutes {
            tokio::time::sleep_until((start + Duration::from_secs(minute * 60)).into()).await;
            let now = usage();
            if minute == 1 {
                after_warmup = now;
            }
            line(minute, now);
        }
        for w in workers {
            if w.await.is_err() {
                stats.errors.fetch_add(1, Relaxed);
                eprintln!("a worker panicked");
            }
        }
        let end = usage();
        let errors = stats.errors.load(Relaxed);
        let mismatches = stats.mismatches.load(Relaxed);
        println!(
            "done: {} operations ({} pushes, {} pulls, {} lists, {} deletes) in {:.1} min; {errors} errors, {mismatches} mismatches; {} connections, {} cut",
            stats.ops(),
            stats.pushes.load(Relaxed),
            stats.pulls.load(Relaxed),
            stats.lists.load(Relaxed),
            stats.deletes.load(Relaxed),
            start.elapsed().as_secs_f64() / 60.0,
            stats.connections.load(Relaxed),
            stats.cuts.load(Relaxed),
        );
        println!(
            "memory: {} KiB at start, {} KiB after the warm-up minute, {} KiB at the end; descriptors: {}, {}, {}",
            first.0, after_warmup.0, end.0, first.1, after_warmup.1, end.1
        );
        drop(registry);
        u8::from(errors > 0 || mismatches > 0)
    }

    async fn worker(id: usize, client: Client, stats: Arc<Stats>, deadline: Instant) {
        let Ok(repo) = RepositoryName::new(format!("soak/w{id}")) else {
            return;
        };
        let mut rng = Rng::new(id as u64 + 1);
        let mut cycle_no = 0u64;
        while Instant::now() < deadline {
            cycle_no += 1;
            if let Err(e) = cycle(&client, &repo, &mut rng, cycle_no, &stats).await {
                stats.errors.fetch_add(1, Relaxed);
                eprintln!("worker {id} cycle {cycle_no}: {e}");
            }
        }
    }

    fn sha256(data: &[u8]) -> String {
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
    }

    /// One push, pull, list and delete of a fresh image. A mismatch is counted and reported
    /// as an error of the cycle.
    async fn cycle(
        client: &Client,
        repo: &RepositoryName,
        rng: &mut Rng,
        n: u64,
        stats: &Stats,
    ) -> Result<(), String> {
        let t = client.transport();
        let mismatch = |what: String| {
            stats.mismatches.fetch_add(1, Relaxed);
            Err(format!("MISMATCH {what}"))
        };
        let layers: Vec<Vec<u8>> = (0..1 + rng.below(3))
            .map(|_| {
                let size = if rng.below(4) == 0 {
                    CHUNK + rng.below(3 * CHUNK as u64) as usize
                } else {
                    1 + rng.below(64 * 1024) as usize
                };
                rng.bytes(size)
            })
            .collect();
        let config = format!(
            r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":[]}},"soak":"{repo}#{n}-{}"}}"#,
            rng.next()
        )
        .into_bytes();

        // push
        let mut blobs: Vec<(Digest, &[u8])> = Vec::new();
        for data in std::iter::once(&config).chain(&layers) {
            let acr_runtime::blob::Uploaded { digest, size, .. } = t
                .upload_blob(
                    repo,
                    UploadSource::Bytes(data.clone().into()),
                    UploadOptions::default(),
                )
                .await
                .map_err(|e| format!("upload_blob: {e}"))?;
            if digest.as_str() != sha256(data) || size != data.len() as u64 {
                return mismatch(format!(
                    "upload of {} bytes gave {digest} {size}",
                    data.len()
                ));
            }
            blobs.push((digest, data));
        }
        let descriptor = |media: &str, (d, b): &(Digest, &[u8])| {
            format!(
                r#"{{"mediaType":"{media}","digest":"{d}","size":{}}}"#,
                b.len()
            )
        };
        let layer_list: Vec<String> = blobs[1..]
            .iter()
            .map(|b| descriptor(OCI_LAYER, b))
            .collect();
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{},"layers":[{}]}}"#,
            descriptor(OCI_CONFIG, &blobs[0]),
            layer_list.join(",")
        );
        let tag = format!("c{n}");
        let reference = Reference::new(tag.as_str()).map_err(|e| e.to_string())?;
        let manifest_digest = t
            .put_manifest(repo, &reference, manifest.clone().into(), OCI_MANIFEST)
            .await
            .map_err(|e| format!("put_manifest: {e}"))?;
        if manifest_digest.as_str() != sha256(manifest.as_bytes()) {
            return mismatch(format!("manifest digest {manifest_digest}"));
        }
        stats.pushes.fetch_add(1, Relaxed);

        // pull and verify every byte
        let got = t
            .get_manifest(repo, &reference)
            .await
            .map_err(|e| format!("get_manifest: {e}"))?;
        if got.bytes != manifest.as_bytes() || got.digest != manifest_digest {
            return mismatch(format!("pulled manifest {}", got.digest));
        }
        for (digest, data) in &blobs {
            let mut body = Vec::with_capacity(data.len());
            t.download_blob(repo, digest)
                .await
                .map_err(|e| format!("download_blob: {e}"))?
                .into_async_read()
                .read_to_end(&mut body)
                .await
                .map_err(|e| format!("download_blob {digest}: {e}"))?;
            if body != *data {
                return mismatch(format!("pulled blob {digest}: {} bytes", body.len()));
            }
        }
        stats.pulls.fetch_add(1, Relaxed);

        // list: the tag is there (OCI distribution spec, "Listing Tags")
        let listed = t
            .send(
                Request::new("list_tags", Method::GET, format!("/v2/{repo}/tags/list"))
                    .scope(format!("repository:{repo}:pull"))
                    .repository(repo.as_str()),
            )
            .await
            .map_err(|e| format!("list tags: {e}"))?;
        let tags: serde_json::Value =
            serde_json::from_slice(&listed.body).map_err(|e| format!("list tags: {e}"))?;
        let present = tags["tags"]
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(tag.as_str())));
        if !present {
            return mismatch(format!("tag {tag} not listed: {tags}"));
        }
        stats.lists.fetch_add(1, Relaxed);

        // delete the manifest, then the blobs (distribution refuses a tag delete)
        client
            .delete_manifest(repo.as_str(), manifest_digest.as_str())
            .await
            .map_err(|e| format!("delete_manifest: {e}"))?;
        for (digest, _) in &blobs {
            client
                .delete_blob(repo.as_str(), digest.as_str())
                .await
                .map_err(|e| format!("delete_blob: {e}"))?;
        }
        stats.deletes.fetch_add(1, Relaxed);
        Ok(())
    }

    /// The fault proxy: relays every connection to `upstream`, and cuts every `every`-th one
    /// (0: none) after a random number of bytes (0 to 767) in a random direction. A
    /// connection that ends before its cut point is not counted as cut.
    async fn proxy(listener: TcpListener, upstream: SocketAddr, stats: Arc<Stats>, every: u64) {
        let mut rng = Rng::new(0xC0FFEE);
        loop {
            let Ok((client, _)) = listener.accept().await else {
                continue;
            };
            let n = stats.connections.fetch_add(1, Relaxed) + 1;
            // most requests and answers are a few hundred bytes: cut within the first 768 so
            // nearly every chosen connection is cut (headers, bodies, or before a byte passes)
            let cut = (every > 0 && n.is_multiple_of(every))
                .then(|| (rng.below(2) == 0, rng.below(768) as usize));
            let stats = stats.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                if relay(client, server, cut).await {
                    stats.cuts.fetch_add(1, Relaxed);
                }
            });
        }
    }

    /// Relays both ways until either side closes; with `cut = (upstream, at)`, stops after
    /// `at` bytes went toward the server (`upstream`) or toward the client, dropping both
    /// sockets. Returns whether it cut.
    async fn relay(client: TcpStream, server: TcpStream, cut: Option<(bool, usize)>) -> bool {
        let (mut cr, mut cw) = client.into_split();
        let (mut sr, mut sw) = server.into_split();
        let up_limit = cut.filter(|c| c.0).map(|c| c.1);
        let down_limit = cut.filter(|c| !c.0).map(|c| c.1);
        let up = pump(&mut cr, &mut sw, up_limit);
        let down = pump(&mut sr, &mut cw, down_limit);
        tokio::pin!(up, down);
        let mut up_done = false;
        let mut down_done = false;
        loop {
            tokio::select! {
                r = &mut up, if !up_done => {
                    if r { return true; }
                    up_done = true;
                }
                r = &mut down, if !down_done => {
                    if r { return true; }
                    down_done = true;
                }
            }
            if up_done && down_done {
                return false;
            }
        }
    }

    /// Copies `from` to `to`; with a limit, stops after that many bytes and returns true
    /// (cut). Returns false when `from` ends or either side fails first.
    async fn pump(
        from: &mut (impl AsyncReadExt + Unpin),
        to: &mut (impl AsyncWriteExt + Unpin),
        limit: Option<usize>,
    ) -> bool {
        let mut buf = vec![0u8; 16 * 1024];
        let mut passed = 0usize;
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => {
                    let _ = to.shutdown().await;
                    return false;
                }
                Ok(n) => n,
            };
            let take = match limit {
                Some(at) if passed + n >= at => at - passed,
                _ => n,
            };
            if to.write_all(&buf[..take]).await.is_err() {
                return false;
            }
            passed += take;
            if take < n || limit.is_some_and(|at| passed >= at) {
                return true;
            }
        }
    }
}
