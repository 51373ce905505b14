//! Small calls, measured: `get_tag_properties` against the in-process emulator, ours (a warm
//! `acr::Client`) beside a hand-written reqwest loop that holds the same access token and reuses
//! its connection the same way, checks the status and parses the body into the same typed
//! model. The two sides take turns in blocks of 100 calls, so both see the same (shared,
//! noisy) machine. Prints one line of figures; `cargo xtask bench calls` runs it several times
//! and makes a table row of it.
//!
//! ```sh
//! cargo run --release -p acr-tests --example small_calls -- 1000
//! cargo run --release -p acr-tests --example small_calls -- 100000 ours   # one side, to profile
//! ```
//!
//! Output: `calls=N ours_us=… peer_us=… requests_per_call=… ours_cpu_us=… peer_cpu_us=…
//! ours_caller_cpu_us=… peer_caller_cpu_us=…`
//! (wall microseconds per call; requests the emulator saw per warm call of ours, token
//! requests included; CPU microseconds per call of the whole process, emulator included;
//! CPU microseconds per call of the calling thread alone, the part of the work each side
//! adds).

use std::time::{Duration, Instant};

use acr::models::TagAttributes;
use acr::{Client, Credential};
use acr_emulator::{Emulator, Scope};

const REPO: &str = "bench/small-calls";
const TAG: &str = "v1";
/// Calls of one side before the other takes its turn.
const BLOCK: u32 = 100;

/// Which side runs (both by default; one alone is for profiling it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Both,
    Ours,
    Peer,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let calls: u32 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let mode = match std::env::args().nth(2).as_deref() {
        None | Some("both") => Mode::Both,
        Some("ours") => Mode::Ours,
        Some("peer") => Mode::Peer,
        Some(other) => return Err(format!("unknown side {other:?}: ours, peer or both").into()),
    };
    let emulator = Emulator::builder()
        .admin("admin", "password")
        .start()
        .await?;
    emulator.put_image(REPO, TAG, "amd64", "linux")?;

    let client = Client::builder(emulator.endpoint())
        .credential(Credential::basic("admin", "password"))
        .build()?;
    let ours = || async {
        let tag = client.get_tag_properties(REPO, TAG).await?;
        Ok::<_, acr::Error>(tag)
    };

    // The peer: one reqwest client, the token fetched once, the same GET, the status checked
    // and the body parsed into the same typed model, as a real caller would.
    let token = emulator.access_token_for(&[Scope::repository(REPO, &["metadata_read"])]);
    let http = reqwest::Client::new();
    let url = format!("{}/acr/v1/{REPO}/_tags/{TAG}", emulator.endpoint());
    let peer = || async {
        let response = http.get(&url).bearer_auth(&token).send().await?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("the peer's request answered {status}").into());
        }
        let body = response.bytes().await?;
        let tag: TagAttributes = serde_json::from_slice(&body)?;
        Ok::<_, Box<dyn std::error::Error>>(tag)
    };

    // Warm both (token cached, connection open).
    for _ in 0..10 {
        ours().await?;
        peer().await?;
    }
    emulator.clear_log();
    // Alternate blocks of calls, so that both see the same machine (it is shared and noisy).
    let (mut ours_time, mut peer_time) = (Duration::ZERO, Duration::ZERO);
    let (mut ours_cpu, mut peer_cpu) = (Duration::ZERO, Duration::ZERO);
    let (mut ours_caller, mut peer_caller) = (Duration::ZERO, Duration::ZERO);
    let mut done = 0;
    let mut ours_requests = 0;
    while done < calls {
        let block = BLOCK.min(calls - done);
        if mode != Mode::Peer {
            let before = emulator.log().len();
            let (started, cpu, caller) = (Instant::now(), cpu_time(), caller_cpu_time());
            for _ in 0..block {
                std::hint::black_box(ours().await?);
            }
            ours_time += started.elapsed();
            ours_cpu += cpu_time().saturating_sub(cpu);
            ours_caller += caller_cpu_time().saturating_sub(caller);
            ours_requests += emulator.log().len() - before;
        }
        if mode != Mode::Ours {
            let before = emulator.log().len();
            let (started, cpu, caller) = (Instant::now(), cpu_time(), caller_cpu_time());
            for _ in 0..block {
                std::hint::black_box(peer().await?);
            }
            peer_time += started.elapsed();
            peer_cpu += cpu_time().saturating_sub(cpu);
            peer_caller += caller_cpu_time().saturating_sub(caller);
            std::hint::black_box(emulator.log().len() - before);
        }
        emulator.clear_log();
        done += block;
    }
    let (ours, peer, requests) = (ours_time, peer_time, ours_requests);

    let per = |d: std::time::Duration| d.as_secs_f64() * 1e6 / f64::from(calls.max(1));
    println!(
        "calls={calls} ours_us={:.1} peer_us={:.1} requests_per_call={:.3} ours_cpu_us={:.1} peer_cpu_us={:.1} ours_caller_cpu_us={:.2} peer_caller_cpu_us={:.2}",
        per(ours),
        per(peer),
        requests as f64 / f64::from(calls.max(1)),
        per(ours_cpu),
        per(peer_cpu),
        per(ours_caller),
        per(peer_caller),
    );
    Ok(())
}

/// The CPU time of the calling thread so far (the thread that runs `main`'s future, where
/// each side builds its request and reads its answer; the connections and the emulator run
/// on the runtime's workers; zero where that is not available).
fn caller_cpu_time() -> Duration {
    schedstat("/proc/thread-self/schedstat".as_ref())
}

/// The CPU time all threads of this process (client and emulator alike) have run so far
/// (zero where that is not available): a figure that other processes on a shared machine
/// disturb less than the wall clock.
fn cpu_time() -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    tasks
        .filter_map(|t| t.ok())
        .map(|t| schedstat(&t.path().join("schedstat")))
        .sum()
}

/// The run time of one thread from its `schedstat` file (the first field, nanoseconds).
fn schedstat(path: &std::path::Path) -> Duration {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}
