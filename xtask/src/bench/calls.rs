//! Small calls: the `small_calls` example of `acr-tests` (1,000 `get_tag_properties` against
//! the in-process emulator, ours beside a hand-written reqwest loop with the same token and
//! connection reuse), run several times; its per-call figures become a paired row.
//!
//! A run takes about a second, and the ratio of one run moves by a few percent with what the
//! machine's two cores do meanwhile (the emulator, the connection and the caller share them),
//! so this case runs three times as often as the others: the median of 15 pairs moves by about
//! one percent from one `cargo xtask bench` to the next, the median of 5 by about three.

use std::process::Command;
use std::time::Duration;

use super::measure::Sample;
use super::{Row, Setup};

/// The figures of one run of the example: (ours, peer) per call, requests per warm call.
pub fn parse(line: &str) -> Option<(Duration, Duration, f64)> {
    let field = |name: &str| -> Option<f64> {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))?
            .parse()
            .ok()
    };
    let us = |v: f64| Duration::from_secs_f64(v / 1e6);
    Some((
        us(field("ours_us")?),
        us(field("peer_us")?),
        field("requests_per_call")?,
    ))
}

/// How often the example runs for `runs` of the other cases (see the module docs).
pub fn runs_for(runs: usize) -> usize {
    runs.saturating_mul(3)
}

/// Runs the example [`runs_for`] `setup.runs` times.
pub fn run(setup: &Setup) -> Vec<Row> {
    let runs = runs_for(setup.runs);
    let name = format!("1,000 get_tag_properties (per call, warm; {runs} runs), emulator");
    let mut pairs = Vec::new();
    let mut requests = Vec::new();
    for _ in 0..runs {
        let out = Command::new(&setup.small_calls).arg("1000").output();
        let figures = match &out {
            Ok(o) if o.status.success() => parse(&String::from_utf8_lossy(&o.stdout)),
            _ => None,
        };
        let Some((ours, peer, per_call)) = figures else {
            let why = match out {
                Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_owned(),
                Err(e) => e.to_string(),
            };
            return vec![Row::failed(name, format!("small_calls failed: {why}"))];
        };
        let sample = |wall| Sample {
            wall,
            max_rss_kib: 0,
        };
        pairs.push((sample(ours), sample(peer)));
        requests.push(per_call);
    }
    let most = requests.iter().copied().fold(0.0, f64::max);
    vec![Row::paired(
        format!("{name}; {most:.3} requests per call"),
        "hand-written reqwest loop",
        &pairs,
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_s_line_is_read() {
        let (ours, peer, per) =
            parse("calls=1000 ours_us=326.5 peer_us=293.0 requests_per_call=1.000").unwrap();
        assert_eq!(ours, Duration::from_secs_f64(326.5e-6));
        assert_eq!(peer, Duration::from_secs_f64(293e-6));
        assert_eq!(per, 1.0);
        assert!(parse("calls=1000").is_none());
    }
}
