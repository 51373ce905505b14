//! `cargo xtask lap check [--overlay] [-v] PATH...`: parse LAP files (or folders of them,
//! recursively) on all cores and report one line per failing file plus a summary
//! (`N files, N ok, N failed, N warnings, T ms`). `*.overlay.lap` files, and every file
//! under `--overlay`, are read with the overlay extension directives; `-v` also prints every
//! warning.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::lap::{self, ParseOptions};

/// The outcome of checking one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileOutcome {
    /// Parsed; its warnings, rendered `FILE:LINE:COL: message`.
    Ok {
        /// Warnings in the file.
        warnings: Vec<String>,
    },
    /// A parse error: its first line (`FILE:LINE:COL: expected …, found …`).
    Failed(String),
    /// The file could not be read.
    Unreadable(String),
    /// The parser panicked (a bug).
    Panicked(String),
}

/// Checks one file (never panics: a parser panic becomes `Panicked`).
pub fn check_file(path: &Path, options: &ParseOptions) -> FileOutcome {
    let text = match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => return FileOutcome::Unreadable(format!("{}: not UTF-8", path.display())),
        },
        Err(e) => return FileOutcome::Unreadable(format!("{}: {e}", path.display())),
    };
    match catch_unwind(AssertUnwindSafe(|| lap::parse(&text, options))) {
        Ok(Ok(doc)) => FileOutcome::Ok {
            warnings: doc
                .warnings
                .iter()
                .map(|w| format!("{}:{}: {}", path.display(), w.pos, w.message))
                .collect(),
        },
        Ok(Err(e)) => FileOutcome::Failed(e.with_file(path.display().to_string()).headline()),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            FileOutcome::Panicked(format!("{}: parser panicked: {msg}", path.display()))
        }
    }
}

/// Collects `*.lap` files under each path (files are taken as given), sorted per argument.
pub fn collect_files(paths: &[String]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        let path = PathBuf::from(p);
        if path.is_dir() {
            let mut found = Vec::new();
            walk(&path, &mut found).map_err(|e| format!("{}: {e}", path.display()))?;
            found.sort();
            out.extend(found);
        } else if path.exists() {
            out.push(path);
        } else {
            return Err(format!("{p}: no such file or folder"));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "lap") {
            out.push(path);
        }
    }
    Ok(())
}

/// True for `*.overlay.lap` files, which are always read with [`ParseOptions::overlay`].
pub fn is_overlay_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".overlay.lap"))
}

/// Checks files on all available cores; results come back in input order. `*.overlay.lap`
/// files are read with the overlay options, every other file with `options`.
pub fn check_files(files: &[PathBuf], options: &ParseOptions) -> Vec<FileOutcome> {
    let overlay = ParseOptions::overlay();
    let results: Vec<Mutex<Option<FileOutcome>>> = files.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(k) else { break };
                    let outcome = if is_overlay_file(path) {
                        check_file(path, &overlay)
                    } else {
                        check_file(path, options)
                    };
                    if let Ok(mut slot) = results[k].lock() {
                        *slot = Some(outcome);
                    }
                }
            });
        }
    });
    results
        .into_iter()
        .map(|m| {
            m.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| FileOutcome::Panicked("worker lost its result".into()))
        })
        .collect()
}

/// The command line of `cargo xtask lap check`.
#[derive(Debug, Clone, Default, clap::Parser)]
#[command(about = "Parse every .lap file under PATH (files or folders) and print a summary")]
pub struct Args {
    /// Read every file with the overlay extension directives (`*.overlay.lap` always are).
    #[arg(long)]
    pub overlay: bool,
    /// Also print every warning.
    #[arg(short, long)]
    pub verbose: bool,
    /// Files or folders (searched recursively for `*.lap`).
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<String>,
}

/// Runs the command; returns the process exit code (0 all parsed, 1 failures, 2 bad paths).
pub fn run(args: &Args) -> u8 {
    let options = if args.overlay {
        ParseOptions::overlay()
    } else {
        ParseOptions::default()
    };
    let (paths, verbose) = (&args.paths, args.verbose);
    let start = Instant::now();
    let files = match collect_files(paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let outcomes = check_files(&files, &options);
    let (mut ok, mut failed, mut warnings, mut panics) = (0usize, 0usize, 0usize, 0usize);
    for outcome in &outcomes {
        match outcome {
            FileOutcome::Ok { warnings: w } => {
                ok += 1;
                warnings += w.len();
                if verbose {
                    for line in w {
                        println!("warning: {line}");
                    }
                }
            }
            FileOutcome::Failed(msg) | FileOutcome::Unreadable(msg) => {
                failed += 1;
                println!("{msg}");
            }
            FileOutcome::Panicked(msg) => {
                failed += 1;
                panics += 1;
                println!("{msg}");
            }
        }
    }
    if panics > 0 {
        println!("{panics} panics (parser bugs)");
    }
    println!(
        "{} files, {ok} ok, {failed} failed, {warnings} warnings, {} ms",
        outcomes.len(),
        start.elapsed().as_millis()
    );
    u8::from(failed > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_folders_recursively_and_reports_failures() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(
            dir.path().join("good.lap"),
            "@lap v0.3\n@endpoints 0\n@end\n",
        )
        .unwrap();
        std::fs::write(sub.join("bad.lap"), "@lap v0.3\n@endpoint GET\n@end\n").unwrap();
        std::fs::write(sub.join("warn.lap"), "@lap v0.3\n@what\n@end\n").unwrap();
        std::fs::write(sub.join("ignored.txt"), "not lap").unwrap();
        let files = collect_files(&[dir.path().display().to_string()]).unwrap();
        assert_eq!(files.len(), 3);
        let outcomes = check_files(&files, &ParseOptions::default());
        let failed: Vec<&FileOutcome> = outcomes
            .iter()
            .filter(|o| matches!(o, FileOutcome::Failed(_)))
            .collect();
        assert_eq!(failed.len(), 1);
        let FileOutcome::Failed(msg) = failed[0] else {
            unreachable!()
        };
        assert!(
            msg.ends_with("bad.lap:2:14: expected a path after the method, found end of line"),
            "{msg}"
        );
        let warnings: usize = outcomes
            .iter()
            .map(|o| {
                if let FileOutcome::Ok { warnings } = o {
                    warnings.len()
                } else {
                    0
                }
            })
            .sum();
        assert_eq!(warnings, 1);
        let args = |paths: Vec<String>| Args {
            paths,
            ..Args::default()
        };
        assert_eq!(run(&args(vec![dir.path().display().to_string()])), 1);
        assert_eq!(
            run(&args(vec![
                dir.path().join("good.lap").display().to_string()
            ])),
            0
        );
    }

    #[test]
    fn missing_paths_and_no_paths_are_usage_errors() {
        use clap::Parser as _;
        assert!(Args::try_parse_from(["check"]).is_err());
        let missing = Args::try_parse_from(["check", "/nonexistent/path/x.lap"]).unwrap();
        assert_eq!(run(&missing), 2);
    }
}
