//! Scale: listings and concurrency.
//!
//! - 10,000 and 100,000 tags of one repository through `list_tags(..).into_stream()` at the
//!   default page size: the `acr-emulator` binary runs as its own process, seeded with
//!   `--tags REPO:N`, and the `list_tags` example of `acr-tests` lists them, one process per
//!   run, so its wall time (process start included, and the emulator's serving
//!   time) and its peak RSS are its own; it reports its own CPU time too;
//! - 64 concurrent pushes of distinct 8 MiB blobs through one `Client` into one repository
//!   (the `concurrent_push` example): the throughput against `docker-registry`, and the token
//!   requests it made against the in-process emulator (the client holding an ACR refresh
//!   token: `POST /oauth2/*` in the emulator's request log).

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::measure::{self, Sample, Stats};
use super::{Row, Setup};
use crate::registry::Registry;

/// A running `acr-emulator` process; killed on drop.
struct EmulatorProcess {
    child: Child,
    endpoint: String,
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the emulator with `tags` tags of `repo`; returns once it printed its endpoint (after
/// seeding).
fn start_emulator(setup: &Setup, repo: &str, tags: usize) -> Result<EmulatorProcess, String> {
    let mut child = Command::new(&setup.emulator)
        .args(["--tags", &format!("{repo}:{tags}")])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("{}: {e}", setup.emulator.display()))?;
    let Some(stdout) = child.stdout.take() else {
        let _ = child.kill();
        return Err("acr-emulator: no stdout".into());
    };
    let mut process = EmulatorProcess {
        child,
        endpoint: String::new(),
    };
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.map_err(|e| e.to_string())?;
        if let Some(endpoint) = line.strip_prefix("endpoint: ") {
            process.endpoint = endpoint.trim().to_owned();
            return Ok(process);
        }
    }
    Err("acr-emulator exited before printing its endpoint".into())
}

/// The `key=value` field of an example's line.
fn field(line: &str, key: &str) -> Option<f64> {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))?
        .parse()
        .ok()
}

/// The median of `values` (none: NaN).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Lists `tags` tags `setup.runs` times; one row.
fn listing(setup: &Setup, tags: usize) -> Row {
    let repo = "bench/scale";
    let case = format!("{tags} tags through into_stream() (default page, 100), emulator process");
    let emulator = match start_emulator(setup, repo, tags) {
        Ok(e) => e,
        Err(e) => return Row::failed(case, e),
    };
    let mut samples = Vec::new();
    let mut cpu = Vec::new();
    for _ in 0..setup.runs {
        let run = measure::run_output(Command::new(&setup.list_tags).args([
            &emulator.endpoint,
            repo,
            "admin",
            "admin-password",
        ]));
        match run {
            Ok((sample, out)) => {
                let listed = field(&out, "tags").unwrap_or(-1.0);
                if listed != tags as f64 {
                    return Row::failed(case, format!("listed {listed} tags: {}", out.trim()));
                }
                cpu.push(field(&out, "cpu_ms").unwrap_or(f64::NAN));
                samples.push(sample);
            }
            Err(e) => return Row::failed(case, e),
        }
    }
    drop(emulator);
    match Stats::of(&samples) {
        Some(stats) => Row::alone(
            format!("{case}; client CPU {:.2} s (median)", median(cpu) / 1e3),
            stats,
        ),
        None => Row::failed(case, "no runs".into()),
    }
}

/// 64 concurrent 8 MiB pushes: throughput against docker-registry, token requests against the
/// emulator.
fn concurrent(setup: &Setup) -> Vec<Row> {
    let case = "64 concurrent 8 MiB pushes, one Client, one repository, docker-registry";
    let registry = match Registry::start() {
        Ok(r) => r,
        Err(e) => return vec![Row::failed(case.into(), e)],
    };
    let endpoint = format!("http://{}", registry.host());
    let mut samples = Vec::new();
    let mut rates = Vec::new();
    for _ in 0..setup.runs {
        match measure::run_output(Command::new(&setup.concurrent_push).args([
            endpoint.as_str(),
            "64",
            "8",
        ])) {
            Ok((_, out)) => {
                let (Some(ms), Some(rate)) = (field(&out, "wall_ms"), field(&out, "mib_per_s"))
                else {
                    return vec![Row::failed(case.into(), format!("output: {}", out.trim()))];
                };
                // The pushes alone, timed inside (the 512 MiB of blobs are made in memory
                // first, so the process's RSS says nothing about the pushes: not shown).
                samples.push(Sample {
                    wall: Duration::from_secs_f64(ms / 1e3),
                    max_rss_kib: 0,
                });
                rates.push(rate);
            }
            Err(e) => return vec![Row::failed(case.into(), e)],
        }
    }
    drop(registry);
    let mut rows = Vec::new();
    if let Some(stats) = Stats::of(&samples) {
        rows.push(Row::alone(
            format!("{case}: {:.0} MiB/s (median)", median(rates)),
            stats,
        ));
    }
    let tokens_case = "64 concurrent 8 MiB pushes, one Client, emulator (refresh token)";
    let run =
        measure::run_output(Command::new(&setup.concurrent_push).args(["--emulator", "64", "8"]));
    let row = match run {
        Ok((_, out)) => match (field(&out, "token_requests"), field(&out, "wall_ms")) {
            (Some(tokens), Some(ms)) => Stats::of(&[Sample {
                wall: Duration::from_secs_f64(ms / 1e3),
                max_rss_kib: 0,
            }])
            .map(|stats| {
                Row::alone(
                    format!(
                        "{tokens_case}: token requests {tokens:.0} (POST /oauth2/* in the emulator's log; 1 is ideal)"
                    ),
                    stats,
                )
            }),
            _ => Some(Row::failed(tokens_case.into(), format!("output: {}", out.trim()))),
        },
        Err(e) => Some(Row::failed(tokens_case.into(), e)),
    };
    rows.extend(row);
    rows
}

/// Both listings and the concurrent pushes.
pub fn run(setup: &Setup) -> Vec<Row> {
    let mut rows = vec![listing(setup, 10_000), listing(setup, 100_000)];
    rows.extend(concurrent(setup));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_example_s_fields_are_read() {
        let line = "pushes=64 size_mib=8 wall_ms=2500.5 mib_per_s=204.8 token_requests=1";
        assert_eq!(field(line, "wall_ms"), Some(2500.5));
        assert_eq!(field(line, "token_requests"), Some(1.0));
        assert_eq!(field("token_requests=-", "token_requests"), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
    }
}
