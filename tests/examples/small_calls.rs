//! Small calls, measured: `get_tag_properties` against the in-process emulator, ours (a warm
//! `acr::Client`) beside a hand-written reqwest loop that holds the same access token and reuses
//! its connection the same way. Prints one line of figures; `cargo xtask bench calls` runs it
//! several times and makes a table row of it.
//!
//! ```sh
//! cargo run --release -p acr-tests --example small_calls -- 1000
//! ```
//!
//! Output: `calls=N ours_us=… peer_us=… requests_per_call=…` (microseconds per call; requests
//! the emulator saw per warm call of ours, token requests included).

use std::time::Instant;

use acr::{Client, Credential};
use acr_emulator::{Emulator, Scope};

const REPO: &str = "bench/small-calls";
const TAG: &str = "v1";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let calls: u32 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let emulator = Emulator::builder()
        .admin("admin", "password")
        .start()
        .await?;
    emulator.put_image(REPO, TAG, "amd64", "linux")?;

    // Ours: warm (token cached, connection open), then `calls` calls.
    let client = Client::builder(emulator.endpoint())
        .credential(Credential::basic("admin", "password"))
        .build()?;
    for _ in 0..10 {
        client.get_tag_properties(REPO, TAG).await?;
    }
    emulator.clear_log();
    let started = Instant::now();
    for _ in 0..calls {
        let tag = client.get_tag_properties(REPO, TAG).await?;
        std::hint::black_box(tag);
    }
    let ours = started.elapsed();
    let requests = emulator.log().len();

    // The peer: one reqwest client, the token fetched once, the same GET and JSON parse.
    let token = emulator.access_token_for(&[Scope::repository(REPO, &["metadata_read"])]);
    let http = reqwest::Client::new();
    let url = format!("{}/acr/v1/{REPO}/_tags/{TAG}", emulator.endpoint());
    let get = || async {
        let response = http.get(&url).bearer_auth(&token).send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        Ok::<_, reqwest::Error>((status, value))
    };
    for _ in 0..10 {
        let (status, _) = get().await?;
        if !status.is_success() {
            return Err(format!("the peer's request answered {status}").into());
        }
    }
    let started = Instant::now();
    for _ in 0..calls {
        std::hint::black_box(get().await?);
    }
    let peer = started.elapsed();

    let per = |d: std::time::Duration| d.as_secs_f64() * 1e6 / f64::from(calls.max(1));
    println!(
        "calls={calls} ours_us={:.1} peer_us={:.1} requests_per_call={:.3}",
        per(ours),
        per(peer),
        requests as f64 / f64::from(calls.max(1))
    );
    Ok(())
}
