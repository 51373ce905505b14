//! Running a command and measuring it: wall time and the peak resident memory of the child
//! (`VmHWM` of `/proc/PID/status`, the kernel's high-water mark, read every 5 ms until the
//! child exits), and the statistics of several runs.

use std::process::Command;
use std::time::{Duration, Instant};

/// One measured run.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Wall time, from spawn to exit.
    pub wall: Duration,
    /// Peak resident memory of the child process, in KiB.
    pub max_rss_kib: u64,
}

/// Runs `cmd` to its end with its output discarded unless it fails; returns its figures, or
/// an error with its status and the end of its stderr.
pub fn run(cmd: &mut Command) -> Result<Sample, String> {
    cmd.stdout(std::process::Stdio::null());
    run_inner(cmd).map(|(sample, _)| sample)
}

/// [`run`], and what the child printed on stdout.
pub fn run_output(cmd: &mut Command) -> Result<(Sample, String), String> {
    cmd.stdout(std::process::Stdio::piped());
    run_inner(cmd)
}

fn run_inner(cmd: &mut Command) -> Result<(Sample, String), String> {
    let shown = format!("{cmd:?}");
    let child = cmd
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("{shown}: {e}"))?;
    let started = Instant::now();
    let mut child = child;
    let status_file = format!("/proc/{}/status", child.id());
    let mut stderr = child.stderr.take();
    let mut stdout = child.stdout.take();
    let out_reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(s) = stdout.as_mut() {
            let _ = std::io::Read::read_to_string(s, &mut text);
        }
        text
    });
    // Read stderr on a thread so a chatty child never blocks on a full pipe.
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(s) = stderr.as_mut() {
            let _ = std::io::Read::read_to_string(s, &mut text);
        }
        text
    });
    let mut max_rss_kib = 0;
    let status = loop {
        if let Some(kib) = std::fs::read_to_string(&status_file)
            .ok()
            .and_then(|s| high_water_kib(&s))
        {
            max_rss_kib = max_rss_kib.max(kib);
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("{shown}: {e}")),
        }
    };
    let wall = started.elapsed();
    let err = reader.join().unwrap_or_default();
    let out = out_reader.join().unwrap_or_default();
    if !status.success() {
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        return Err(format!(
            "{shown} failed ({status}): {}",
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        ));
    }
    Ok((Sample { wall, max_rss_kib }, out))
}

/// `VmHWM` (KiB) of a `/proc/PID/status` text.
fn high_water_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The median, min and max of the runs' wall times (seconds) and their peak memory (MiB).
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    /// Median wall time, seconds.
    pub median: f64,
    /// Fastest run, seconds.
    pub min: f64,
    /// Slowest run, seconds.
    pub max: f64,
    /// The highest peak RSS of the runs, MiB.
    pub rss_mib: f64,
}

impl Stats {
    /// The statistics of `samples` (at least one).
    pub fn of(samples: &[Sample]) -> Option<Stats> {
        let mut secs: Vec<f64> = samples.iter().map(|s| s.wall.as_secs_f64()).collect();
        secs.sort_by(f64::total_cmp);
        let n = secs.len();
        let median = match n {
            0 => return None,
            _ if n % 2 == 1 => secs[n / 2],
            _ => (secs[n / 2 - 1] + secs[n / 2]) / 2.0,
        };
        let rss = samples.iter().map(|s| s.max_rss_kib).max().unwrap_or(0);
        Some(Stats {
            median,
            min: secs[0],
            max: secs[n - 1],
            rss_mib: rss as f64 / 1024.0,
        })
    }

    /// `1.234 s (1.200–1.310)`, in ms or µs when the median is under a second or a
    /// millisecond.
    pub fn time(&self) -> String {
        let (scale, unit) = if self.median >= 1.0 {
            (1.0, "s")
        } else if self.median >= 1e-3 {
            (1e3, "ms")
        } else {
            (1e6, "µs")
        };
        format!(
            "{:.3} {unit} ({:.3}–{:.3})",
            self.median * scale,
            self.min * scale,
            self.max * scale
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(ms: u64, kib: u64) -> Sample {
        Sample {
            wall: Duration::from_millis(ms),
            max_rss_kib: kib,
        }
    }

    #[test]
    fn median_min_max_and_peak() {
        let st = Stats::of(&[s(300, 10), s(100, 2048), s(200, 5)]).unwrap();
        assert_eq!((st.median, st.min, st.max), (0.2, 0.1, 0.3));
        assert_eq!(st.rss_mib, 2.0);
        let even = Stats::of(&[s(100, 1), s(300, 1)]).unwrap();
        assert_eq!(even.median, 0.2);
        assert!(Stats::of(&[]).is_none());
        assert_eq!(st.time(), "200.000 ms (100.000–300.000)");
        let tiny = Stats::of(&[Sample {
            wall: Duration::from_micros(326),
            max_rss_kib: 0,
        }])
        .unwrap();
        assert_eq!(tiny.time(), "326.000 µs (326.000–326.000)");
    }

    #[test]
    fn a_child_is_measured_and_a_failure_says_why() {
        let ok =
            run(Command::new("sh").args(["-c", "head -c 1000000 /dev/zero > /dev/null"])).unwrap();
        assert!(ok.max_rss_kib > 0);
        let (_, out) = run_output(Command::new("sh").args(["-c", "echo figures"])).unwrap();
        assert_eq!(out, "figures\n");
        let err = run(Command::new("sh").args(["-c", "echo boom >&2; exit 3"])).unwrap_err();
        assert!(err.contains("boom"), "{err}");
    }
}
