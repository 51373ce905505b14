//! `cargo xtask bench lap`: the parser's speed on a folder of LAP files, side by side with a
//! peer in the same run: the reference Python parser of the LAP project (`lapsh` on PyPI,
//! `lap.core.parser.parse_lap`), when `python3` can import it (`pip install lapsh`).
//!
//! Build with `--release` for meaningful figures: `cargo run --release -p xtask -- bench lap`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::lap::{self, ParseOptions};

/// The peer's script: parses every `.lap` file of a folder, prints `N files, N ok, N failed, T ms`.
const PEER: &str = r#"
import sys, time, os, warnings
warnings.simplefilter("ignore")
from lap.core.parser import parse_lap
d = sys.argv[1]
files = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".lap"))
texts = [open(f, encoding="utf-8").read() for f in files]
ok = fail = 0
t = time.perf_counter()
for text in texts:
    try:
        parse_lap(text); ok += 1
    except Exception:
        fail += 1
print(f"{len(files)} files, {ok} ok, {fail} failed, {(time.perf_counter()-t)*1000:.0f} ms")
"#;

/// What the `lap` group reads.
#[derive(Debug, Clone, Default)]
pub struct Args {
    /// The folder of .lap files (default: ../shared/lap-corpus).
    pub dir: Option<PathBuf>,
}

/// Runs the command; returns the exit code.
pub fn run(args: &Args) -> u8 {
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(crate::workspace::lap_corpus);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "lap"))
            .collect(),
        Err(e) => {
            eprintln!("error: {}: {e}", dir.display());
            return 1;
        }
    };
    files.sort();
    let texts: Vec<String> = files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    if cfg!(debug_assertions) {
        println!(
            "note: a debug build; run `cargo run --release -p xtask -- bench lap` for real figures"
        );
    }
    println!(
        "{} files, {:.1} MiB, in memory (reading files not timed)",
        texts.len(),
        bytes as f64 / 1048576.0
    );

    let (ok, ms) = ours(&texts, 1);
    println!(
        "ours (1 thread):      {ok} ok, {ms:>7.0} ms, {:>6.1} MiB/s",
        mib_s(bytes, ms)
    );
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let (ok, ms) = ours(&texts, threads);
    println!(
        "ours ({threads} threads):     {ok} ok, {ms:>7.0} ms, {:>6.1} MiB/s",
        mib_s(bytes, ms)
    );
    match peer(&dir) {
        Ok(line) => println!("peer lapsh (python):  {line}"),
        Err(why) => println!("peer lapsh (python):  not run: {why}"),
    }
    0
}

fn mib_s(bytes: usize, ms: f64) -> f64 {
    bytes as f64 / 1048576.0 / (ms / 1000.0).max(1e-9)
}

fn ours(texts: &[String], threads: usize) -> (usize, f64) {
    let options = ParseOptions::default();
    let start = Instant::now();
    let chunk = texts.len().div_ceil(threads.max(1)).max(1);
    let ok: usize = std::thread::scope(|s| {
        let handles: Vec<_> = texts
            .chunks(chunk)
            .map(|part| {
                s.spawn(|| {
                    part.iter()
                        .filter(|t| lap::parse(t, &options).is_ok())
                        .count()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    (ok, start.elapsed().as_secs_f64() * 1000.0)
}

fn peer(dir: &Path) -> Result<String, String> {
    let out = Command::new("python3")
        .args(["-c", PEER])
        .arg(dir)
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(err.lines().last().unwrap_or("failed").to_owned() + " (pip install lapsh)");
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
