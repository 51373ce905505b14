//! `cargo xtask fuzz --minutes N [TARGET...]`: every fuzz target in turn, `N` minutes each
//! (default 10): the runtime's parsers (`runtime/fuzz`) and the LAP parser (`xtask/fuzz`).
//!
//! Needs the nightly toolchain and `cargo-fuzz` (`cargo install cargo-fuzz`); the fuzz crates
//! are their own workspaces, so nothing else builds them. Each target starts from its committed
//! seeds (copied into its gitignored `corpus/` folder) and runs single-process
//! (`-max_total_time`), so one core is busy at a time. A crash stops that target with libFuzzer's
//! report and its input under `artifacts/`; the command then goes on with the next target and
//! exits 1 at the end. The last line per target gives its executions.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::workspace::root as workspace_root;

/// A fuzz crate and where its seeds come from.
struct Crate {
    /// The crate folder, relative to the workspace root.
    dir: &'static str,
    /// Seed folders per target: `seeds/<target>` under the crate, else these files' folders.
    extra_seeds: &'static [&'static str],
}

const CRATES: &[Crate] = &[
    Crate {
        dir: "runtime/fuzz",
        extra_seeds: &[],
    },
    Crate {
        dir: "xtask/fuzz",
        extra_seeds: &["spec", "xtask/tests/fixtures/lap"],
    },
];

/// The outcome of one target.
struct Outcome {
    target: String,
    executions: Option<u64>,
    ok: bool,
}

/// Runs the command; returns the exit code.
pub fn run(args: &[String]) -> u8 {
    let mut minutes: u64 = 10;
    let mut only: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--minutes" => match it.next().and_then(|m| m.parse().ok()) {
                Some(m) if m > 0 => minutes = m,
                _ => {
                    eprintln!("error: --minutes wants a whole number above 0");
                    return 2;
                }
            },
            t if !t.starts_with('-') => only.push(t.to_owned()),
            other => {
                eprintln!("error: unknown option {other}");
                return 2;
            }
        }
    }
    let root = workspace_root();
    let version = nightly_cargo()
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !version.is_ok_and(|s| s.success()) {
        eprintln!(
            "error: `cargo +nightly fuzz` is not available: rustup toolchain install nightly && cargo install cargo-fuzz"
        );
        return 1;
    }
    let mut outcomes = Vec::new();
    for krate in CRATES {
        let dir = root.join(krate.dir);
        for target in targets(&dir) {
            if !only.is_empty() && !only.contains(&target) {
                continue;
            }
            match fuzz_one(&root, &dir, krate, &target, minutes) {
                Ok(outcome) => outcomes.push(outcome),
                Err(e) => {
                    eprintln!("error: {target}: {e}");
                    outcomes.push(Outcome {
                        target,
                        executions: None,
                        ok: false,
                    });
                }
            }
        }
    }
    println!("\n{:<20} {:>14}  result", "target", "executions");
    for o in &outcomes {
        let execs = o
            .executions
            .map_or_else(|| "?".to_owned(), |n| n.to_string());
        let result = if o.ok { "no crash" } else { "FAILED" };
        println!("{:<20} {execs:>14}  {result}", o.target);
    }
    if outcomes.is_empty() {
        eprintln!("error: no target matched {only:?}");
        return 2;
    }
    u8::from(outcomes.iter().any(|o| !o.ok))
}

/// `cargo +nightly`, without the variables the outer (stable) `cargo run` set: cargo-fuzz runs
/// `$CARGO`, which would be the stable cargo, and a build by another cargo rebuilds every
/// dependency.
fn nightly_cargo() -> Command {
    let mut cargo = Command::new("cargo");
    cargo
        .arg("+nightly")
        .env_remove("CARGO")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC")
        .env_remove("RUSTDOC");
    cargo
}

/// The target names of a fuzz crate: the files of its `fuzz_targets/`, sorted.
fn targets(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("fuzz_targets"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let p = e.path();
                    (p.extension()? == "rs").then(|| p.file_stem()?.to_str().map(str::to_owned))?
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Copies the seeds of `target` into its corpus folder; returns the folder.
fn prepare_corpus(
    root: &Path,
    dir: &Path,
    krate: &Crate,
    target: &str,
) -> std::io::Result<PathBuf> {
    let corpus = dir.join("corpus").join(target);
    std::fs::create_dir_all(&corpus)?;
    let mut sources = vec![dir.join("seeds").join(target)];
    sources.extend(krate.extra_seeds.iter().map(|s| root.join(s)));
    for source in sources {
        let Ok(rd) = std::fs::read_dir(&source) else {
            continue;
        };
        for entry in rd.filter_map(|e| e.ok()) {
            let path = entry.path();
            if path.is_file()
                && let Some(name) = path.file_name()
            {
                std::fs::copy(&path, corpus.join(name))?;
            }
        }
    }
    Ok(corpus)
}

/// Fuzzes one target for `minutes`, echoing libFuzzer's status lines.
fn fuzz_one(
    root: &Path,
    dir: &Path,
    krate: &Crate,
    target: &str,
    minutes: u64,
) -> std::io::Result<Outcome> {
    let corpus = prepare_corpus(root, dir, krate, target)?;
    println!("== {target} ({}), {minutes} min", krate.dir);
    let mut child = nightly_cargo()
        .current_dir(dir)
        .args(["fuzz", "run", "-O", target])
        .arg(&corpus)
        .arg("--")
        .arg(format!("-max_total_time={}", minutes * 60))
        .arg("-print_final_stats=1")
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut executions = None;
    let mut last_status = String::new();
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines() {
            let line = line?;
            if let Some(n) = line.strip_prefix("stat::number_of_executed_units:") {
                executions = n.trim().parse().ok();
            }
            // new-coverage lines are many: show the `pulse` ones (at powers of two) and the
            // last before anything else
            if line.starts_with('#') && line.contains("exec/s") && !line.contains("pulse") {
                last_status = line;
                continue;
            }
            if !last_status.is_empty() {
                eprintln!("{last_status}");
                last_status.clear();
            }
            eprintln!("{line}");
        }
    }
    if !last_status.is_empty() {
        eprintln!("{last_status}");
    }
    let ok = child.wait()?.success();
    Ok(Outcome {
        target: target.to_owned(),
        executions,
        ok,
    })
}
