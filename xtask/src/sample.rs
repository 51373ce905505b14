//! `cargo xtask codegen-sample`: the any-LAP measurement. Draws files at random (fixed seed)
//! from a folder of LAP files, generates a client crate for each with no overlay, and runs
//! `cargo check` on each; prints one line per crate that fails and the figure.
//!
//! ```text
//! cargo xtask codegen-sample [--corpus DIR] [--count 100] [--seed 42] [--work DIR]
//! ```

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::generate::{GenerateError, Inputs, generate};
use crate::workspace;

/// A small deterministic generator (SplitMix64), so a seed names one sample forever.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Picks `count` of `files` (sorted first) with a Fisher-Yates shuffle seeded by `seed`.
pub fn draw(mut files: Vec<PathBuf>, count: usize, seed: u64) -> Vec<PathBuf> {
    files.sort();
    let mut rng = SplitMix(seed);
    for i in (1..files.len()).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        files.swap(i, j);
    }
    files.truncate(count);
    files
}

/// The command line of `cargo xtask codegen-sample`.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    about = "Generate a crate (no overlay) for LAP files drawn at random, build each and check its requests on the wire"
)]
pub struct Args {
    /// The folder of .lap files (default: ../shared/lap-corpus).
    #[arg(long, value_name = "DIR")]
    pub corpus: Option<PathBuf>,
    /// How many files to draw.
    #[arg(long, default_value_t = 100)]
    pub count: usize,
    /// The seed of the draw.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The work folder (default: a folder in the system's temporary folder).
    #[arg(long, value_name = "DIR")]
    pub work: Option<PathBuf>,
}

/// Runs the command; returns the exit code.
pub fn run(args: &Args) -> u8 {
    let corpus = args.corpus.clone().unwrap_or_else(workspace::lap_corpus);
    let (count, seed) = (args.count, args.seed);
    let work = args
        .work
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("acr-codegen-sample"));
    let files: Vec<PathBuf> = match fs::read_dir(&corpus) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "lap"))
            .collect(),
        Err(e) => {
            eprintln!("error: {}: {e}", corpus.display());
            return 1;
        }
    };
    let sample = draw(files, count, seed);
    match measure(&sample, &work) {
        Ok(failures) => {
            let ok = sample.len() - failures;
            println!(
                "{} files drawn (seed {seed}), {ok} cargo check clean, {failures} failed",
                sample.len()
            );
            0
        }
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}

fn measure(sample: &[PathBuf], work: &Path) -> Result<usize, GenerateError> {
    let _ = fs::remove_dir_all(work);
    fs::create_dir_all(work).map_err(|e| GenerateError::io(work, e))?;
    let mut members = Vec::new();
    let mut failures = 0;
    let mut crates = Vec::new();
    for (i, file) in sample.iter().enumerate() {
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = format!("s{i:03}");
        let output = Inputs::read(file, None).and_then(|inputs| generate(&inputs));
        let output = match output {
            Ok(o) => o,
            Err(e) => {
                failures += 1;
                let first = e.to_string().lines().next().unwrap_or_default().to_owned();
                println!("FAIL {stem}: generation: {first}");
                continue;
            }
        };
        let dir = work.join(&name);
        for f in &output.files {
            let path = dir.join("src").join(&f.path);
            if let Some(p) = path.parent() {
                fs::create_dir_all(p).map_err(|e| GenerateError::io(p, e))?;
            }
            fs::write(&path, &f.contents).map_err(|e| GenerateError::io(&path, e))?;
        }
        let manifest = crate::manifest::workspace_crate_manifest(&dir, false)?;
        fs::write(dir.join("Cargo.toml"), manifest).map_err(|e| GenerateError::io(&dir, e))?;
        members.push(format!("{name:?}"));
        crates.push((name, stem));
    }
    let ws = format!(
        "[workspace]\nresolver = \"3\"\nmembers = [{}]\n",
        members.join(", ")
    );
    fs::write(work.join("Cargo.toml"), ws).map_err(|e| GenerateError::io(work, e))?;
    // Reuse the workspace's lock file so no new versions are resolved.
    let _ = fs::copy(
        workspace::root().join("Cargo.lock"),
        work.join("Cargo.lock"),
    );
    let target = workspace::root().join("target/codegen-sample");
    for (name, stem) in &crates {
        let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
            .args(["check", "--quiet", "--message-format", "short", "-p", name])
            .current_dir(work)
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .map_err(|e| GenerateError::io(work, e))?;
        if !out.status.success() {
            failures += 1;
            let stderr = String::from_utf8_lossy(&out.stderr);
            let first = stderr
                .lines()
                .find(|l| l.contains("error"))
                .unwrap_or("")
                .to_owned();
            println!("FAIL {stem} ({name}): {first}");
        }
    }
    Ok(failures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_draw_is_fixed_by_the_seed() {
        let files: Vec<PathBuf> = (0..50)
            .map(|i| PathBuf::from(format!("f{i:02}.lap")))
            .collect();
        let a = draw(files.clone(), 10, 42);
        assert_eq!(a, draw(files.clone(), 10, 42));
        assert_ne!(a, draw(files, 10, 43));
        assert_eq!(a.len(), 10);
    }
}
