//! Concurrency, measured: `N` pushes (default 64) of distinct `SIZE`-MiB blobs (default 8) at
//! once through one `acr::Client` into one repository. `cargo xtask bench scale` runs it against
//! a real `docker-registry` for the throughput, and with `--emulator` against the in-process
//! emulator for the number of token requests the emulator logged (`POST /oauth2/token` and
//! `POST /oauth2/exchange`). There the client holds an ACR refresh token, so every push needs
//! an access token for the repository's push scope (with the admin user's Basic credentials
//! ACR, and the emulator, take Basic on every request and no token is fetched at all).
//!
//! ```sh
//! cargo run --release -p acr-tests --example concurrent_push -- http://127.0.0.1:5000 64 8
//! cargo run --release -p acr-tests --example concurrent_push -- --emulator 64 8
//! ```
//!
//! Output: `pushes=N size_mib=S wall_ms=… mib_per_s=… token_requests=…` (the pushes alone,
//! the blobs made in memory before; `token_requests=-` against a registry without tokens).

use std::time::Instant;

use acr::{Client, Credential};
use acr_emulator::{Emulator, Grants};
use acr_runtime::blob::UploadSource;
use futures_util::future::try_join_all;

const REPO: &str = "bench/concurrent";

/// `len` pseudo-random bytes (splitmix64 from `seed`): distinct blobs, no skip or mount.
fn random(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x9e37_79b9;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (target, rest) = args
        .split_first()
        .ok_or("usage: concurrent_push (ENDPOINT | --emulator) [N] [SIZE_MIB]")?;
    let n: usize = rest.first().map(|a| a.parse()).transpose()?.unwrap_or(64);
    let size_mib: usize = rest.get(1).map(|a| a.parse()).transpose()?.unwrap_or(8);
    let blobs: Vec<acr::bytes::Bytes> = (0..n)
        .map(|i| random(i as u64 + 1, size_mib << 20).into())
        .collect();

    let emulator = if target == "--emulator" {
        Some(
            Emulator::builder()
                .admin("admin", "password")
                .start()
                .await?,
        )
    } else {
        None
    };
    let client = match &emulator {
        Some(e) => Client::builder(e.endpoint())
            .credential(Credential::refresh_token(
                e.refresh_token_for("bench", Grants::All),
            ))
            .build()?,
        None => Client::builder(target.as_str()).build()?,
    };

    let started = Instant::now();
    try_join_all(
        blobs
            .into_iter()
            .map(|b| client.push_blob(REPO, UploadSource::Bytes(b)).send()),
    )
    .await?;
    let wall = started.elapsed();

    let tokens = emulator.as_ref().map(|e| {
        e.log()
            .iter()
            .filter(|r| r.method == "POST" && r.path.starts_with("/oauth2/"))
            .count()
    });
    let total = (n * size_mib) as f64;
    println!(
        "pushes={n} size_mib={size_mib} wall_ms={:.1} mib_per_s={:.1} token_requests={}",
        wall.as_secs_f64() * 1e3,
        total / wall.as_secs_f64().max(1e-9),
        tokens.map_or_else(|| "-".to_owned(), |t| t.to_string())
    );
    Ok(())
}
