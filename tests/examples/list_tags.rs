//! Listing at scale, measured: every tag of one repository through `list_tags(..).into_stream()`
//! at the default page size (the registry's), counted as they come. `cargo xtask bench scale`
//! runs it against the `acr-emulator` binary seeded with `--tags REPO:N`, one process per size,
//! so the peak memory it reads is this process's alone.
//!
//! ```sh
//! cargo run --release -p acr-emulator -- --port 5050 --tags big:100000 &
//! cargo run --release -p acr-tests --example list_tags -- http://127.0.0.1:5050 big admin admin-password
//! ```
//!
//! Output: `tags=N wall_ms=… cpu_ms=…` (the listing alone, after the client is built; CPU time
//! of this process, user and system, in clock ticks of `/proc/self/stat` at 100 per second).

use std::time::Instant;

use acr::{Client, Credential};
use futures_util::TryStreamExt as _;

/// User plus system CPU time of this process so far, in ms (`/proc/self/stat`, fields 14 and
/// 15, at the usual 100 ticks per second); `None` off Linux.
fn cpu_ms() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; the fields after it are plain.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 10)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [endpoint, repo, user, password] = args.as_slice() else {
        return Err("usage: list_tags ENDPOINT REPO USER PASSWORD".into());
    };
    let client = Client::builder(endpoint.as_str())
        .credential(Credential::basic(user.as_str(), password.as_str()))
        .build()?;
    let cpu_before = cpu_ms().unwrap_or(0);
    let started = Instant::now();
    let mut tags = client.list_tags(repo.as_str()).into_stream();
    let mut count = 0u64;
    let mut last = String::new();
    while let Some(tag) = tags.try_next().await? {
        if tag <= last {
            return Err(format!("tag {tag:?} after {last:?}: not in order").into());
        }
        last = tag;
        count += 1;
    }
    let wall = started.elapsed();
    let cpu = cpu_ms().unwrap_or(0).saturating_sub(cpu_before);
    println!(
        "tags={count} wall_ms={:.1} cpu_ms={cpu}",
        wall.as_secs_f64() * 1e3
    );
    Ok(())
}
