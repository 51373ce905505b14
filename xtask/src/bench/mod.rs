//! `cargo xtask bench`: speed and memory, side by side with peers in the same run, as a
//! markdown table of medians (with min and max) and of ratios measured pair by pair.
//!
//! Groups (all by default, or those named):
//! - `codegen`: the generator on the ACR specs, the largest corpus file and synthetic specs of
//!   1,000 and 10,000 endpoints (time, peak memory) ([`codegen`]);
//! - `blob`: blob push and pull of 256 MiB and 1 GiB against a real `docker-registry`, ours
//!   (the `acr` CLI) against `curl` (the wire's limit), `skopeo` and `oci-client` ([`blob`]);
//! - `image`: push, pull and copy of a 10-layer image against skopeo and `oci-client`, and
//!   between two registries against pull-then-push ([`image`]);
//! - `calls`: 1,000 `get_tag_properties` against the emulator, ours beside a hand-written
//!   reqwest loop, and requests per warm call ([`calls`]);
//! - `scale`: 10,000 and 100,000 tags through `into_stream()`, and 64 concurrent pushes
//!   through one client ([`scale`]);
//! - `lap`: the LAP parser on the corpus beside the reference Python parser ([`lap`]).
//!
//! It builds the release binaries first (`cargo build --release -p xtask -p acr-cli
//! -p acr-emulator`, the examples of `acr-tests` it runs, and the `oci-client` peer, a package
//! of its own in `xtask/peers/oci-client-peer` outside the workspace) and measures them as
//! child processes (wall time; peak RSS from `/proc`). `--quick` runs 3 of each and leaves out
//! the 1 GiB blob and image. Benchmarks are not tests: nothing here runs in CI.

pub mod blob;
pub mod calls;
pub mod codegen;
pub mod image;
pub mod lap;
pub mod measure;
pub mod scale;

use std::path::PathBuf;
use std::process::Command;

use measure::{Sample, Stats};

/// The groups of `cargo xtask bench`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Group {
    /// The generator's time and memory.
    Codegen,
    /// Blob push and pull against docker-registry, with curl, skopeo and oci-client.
    Blob,
    /// Image push, pull and copy against docker-registry, with skopeo and oci-client.
    Image,
    /// 1,000 small calls against the emulator beside a hand-written reqwest loop.
    Calls,
    /// 100,000 tags through `into_stream()`; 64 concurrent pushes through one client.
    Scale,
    /// The LAP parser against the reference Python parser.
    Lap,
}

/// The command line of `cargo xtask bench`.
#[derive(Debug, Clone, Default, clap::Parser)]
#[command(
    about = "Measure speed and memory beside peers (curl, skopeo, oci-client, the Python LAP parser) and print a markdown table"
)]
pub struct Args {
    /// The groups to run (default: all).
    #[arg(value_enum)]
    pub groups: Vec<Group>,
    /// 3 runs of each, and no 1 GiB blob or image: a few minutes.
    #[arg(long)]
    pub quick: bool,
    /// Runs of each case (default 5, or 3 with --quick).
    #[arg(long)]
    pub runs: Option<usize>,
    /// The folder of .lap files for the `lap` group (default: ../shared/lap-corpus).
    #[arg(long, value_name = "DIR")]
    pub lap_corpus: Option<PathBuf>,
}

/// What every group needs.
#[derive(Debug)]
pub struct Setup {
    /// The release `xtask` binary.
    pub xtask: PathBuf,
    /// The release `acr` binary.
    pub acr: PathBuf,
    /// The release `small_calls` example of `acr-tests`.
    pub small_calls: PathBuf,
    /// The release `list_tags` example of `acr-tests`.
    pub list_tags: PathBuf,
    /// The release `concurrent_push` example of `acr-tests`.
    pub concurrent_push: PathBuf,
    /// The release `acr-emulator` binary.
    pub emulator: PathBuf,
    /// The `oci-client` peer, when it built (its rows say why not otherwise).
    pub oci_client: Option<PathBuf>,
    /// A scratch folder, removed at the end.
    pub work: PathBuf,
    /// Runs per case.
    pub runs: usize,
    /// Whether this is a quick run.
    pub quick: bool,
}

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    case: String,
    ours: Option<Stats>,
    peer: Option<(String, Stats, f64)>,
    note: Option<String>,
}

impl Row {
    /// Ours alone.
    pub fn alone(case: String, ours: Stats) -> Row {
        Row {
            case,
            ours: Some(ours),
            peer: None,
            note: None,
        }
    }

    /// Ours against `peer`, measured in pairs (ours, peer): the ratio is the median of the
    /// pairs' ratios.
    pub fn paired(case: String, peer: &str, pairs: &[(Sample, Sample)]) -> Row {
        let ours: Vec<Sample> = pairs.iter().map(|p| p.0).collect();
        let theirs: Vec<Sample> = pairs.iter().map(|p| p.1).collect();
        let mut ratios: Vec<f64> = pairs
            .iter()
            .map(|(a, b)| a.wall.as_secs_f64() / b.wall.as_secs_f64().max(1e-9))
            .collect();
        ratios.sort_by(f64::total_cmp);
        let ratio = ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN);
        Row {
            case,
            ours: Stats::of(&ours),
            peer: Stats::of(&theirs).map(|s| (peer.to_owned(), s, ratio)),
            note: None,
        }
    }

    /// A case that could not be measured, and why.
    pub fn failed(case: String, why: String) -> Row {
        Row {
            case,
            ours: None,
            peer: None,
            note: Some(why),
        }
    }
}

/// The markdown table of `rows`.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| case | ours: median (min–max) | ours: peak RSS | peer | peer: median (min–max) | ratio |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    for r in rows {
        let ours = r.ours.map(|s| s.time()).unwrap_or_else(|| "–".into());
        // No figure (0): measured inside a process that holds more than the case (`calls`).
        let rss = r
            .ours
            .filter(|s| s.rss_mib > 0.0)
            .map(|s| format!("{:.1} MiB", s.rss_mib))
            .unwrap_or_else(|| "–".into());
        let (peer, peer_time, ratio) = match &r.peer {
            Some((name, s, ratio)) => (name.clone(), s.time(), format!("**{ratio:.2}**")),
            None => (
                r.note
                    .clone()
                    .map(|n| format!("not measured: {n}"))
                    .unwrap_or_default(),
                String::new(),
                String::new(),
            ),
        };
        out.push_str(&format!(
            "| {} | {ours} | {rss} | {peer} | {peer_time} | {ratio} |\n",
            r.case
        ));
    }
    out
}

/// The release binaries this measures.
struct Binaries {
    xtask: PathBuf,
    acr: PathBuf,
    small_calls: PathBuf,
    list_tags: PathBuf,
    concurrent_push: PathBuf,
    emulator: PathBuf,
    oci_client: Option<PathBuf>,
}

/// Builds the release binaries this measures. The `oci-client` peer is a package outside the
/// workspace (so the workspace's build and CI never compile it), built into `target/peers`;
/// when it does not build, its rows say so and the rest goes on.
fn build() -> Result<Binaries, String> {
    let root = crate::workspace::root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let builds: [&[&str]; 2] = [
        &[
            "build",
            "--release",
            "--locked",
            "-p",
            "xtask",
            "-p",
            "acr-cli",
            "-p",
            "acr-emulator",
        ],
        &[
            "build",
            "--release",
            "--locked",
            "-p",
            "acr-tests",
            "--example",
            "small_calls",
            "--example",
            "list_tags",
            "--example",
            "concurrent_push",
        ],
    ];
    for args in builds {
        let status = Command::new(&cargo)
            .args(args)
            .current_dir(&root)
            .status()
            .map_err(|e| format!("cargo: {e}"))?;
        if !status.success() {
            return Err(format!("cargo {} failed", args.join(" ")));
        }
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let peers = target.join("peers");
    let peer_manifest = root.join("xtask/peers/oci-client-peer/Cargo.toml");
    let peer_built = Command::new(&cargo)
        .arg("build")
        .arg("--release")
        .arg("--locked")
        .arg("--manifest-path")
        .arg(&peer_manifest)
        .arg("--target-dir")
        .arg(&peers)
        .current_dir(&root)
        .status()
        .is_ok_and(|s| s.success());
    if !peer_built {
        eprintln!("bench: the oci-client peer did not build; its rows are left out");
    }
    let dir = target.join("release");
    Ok(Binaries {
        xtask: dir.join("xtask"),
        acr: dir.join("acr"),
        small_calls: dir.join("examples").join("small_calls"),
        list_tags: dir.join("examples").join("list_tags"),
        concurrent_push: dir.join("examples").join("concurrent_push"),
        emulator: dir.join("acr-emulator"),
        oci_client: peer_built.then(|| peers.join("release").join("oci-client-peer")),
    })
}

/// `nproc`, memory and CPU model, for the table's heading.
fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let model = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = read("/proc/meminfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("MemTotal:")
                .and_then(|m| m.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or_else(
            || "? GiB".into(),
            |kib| format!("{:.0} GiB", kib as f64 / 1048576.0),
        );
    format!("{cpus} cores, {mem}, {model}")
}

/// Runs the command; returns the exit code.
pub fn run(args: &Args) -> u8 {
    let groups = if args.groups.is_empty() {
        vec![
            Group::Codegen,
            Group::Blob,
            Group::Image,
            Group::Calls,
            Group::Scale,
            Group::Lap,
        ]
    } else {
        args.groups.clone()
    };
    let mut rows = Vec::new();
    let needs_binaries = groups.iter().any(|g| *g != Group::Lap);
    let work = std::env::temp_dir().join(format!("acr-bench-{}", std::process::id()));
    if needs_binaries {
        let bin = match build() {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: {e}");
                return 1;
            }
        };
        let setup = Setup {
            xtask: bin.xtask,
            acr: bin.acr,
            small_calls: bin.small_calls,
            list_tags: bin.list_tags,
            concurrent_push: bin.concurrent_push,
            emulator: bin.emulator,
            oci_client: bin.oci_client,
            work: work.clone(),
            runs: args.runs.unwrap_or(if args.quick { 3 } else { 5 }).max(1),
            quick: args.quick,
        };
        let _ = std::fs::create_dir_all(&setup.work);
        for g in &groups {
            let runs = match g {
                Group::Calls => calls::runs_for(setup.runs),
                _ => setup.runs,
            };
            eprintln!("bench: {g:?} ({runs} runs each)…");
            match g {
                Group::Codegen => rows.extend(codegen::run(&setup)),
                Group::Blob => rows.extend(blob::run(&setup)),
                Group::Image => rows.extend(image::run(&setup)),
                Group::Calls => rows.extend(calls::run(&setup)),
                Group::Scale => rows.extend(scale::run(&setup)),
                Group::Lap => {}
            }
        }
        let _ = std::fs::remove_dir_all(&work);
        println!("Machine: {}\n", machine());
        println!("{}", table(&rows));
    }
    if groups.contains(&Group::Lap) {
        return lap::run(&lap::Args {
            dir: args.lap_corpus.clone(),
        });
    }
    0
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_paired_row_takes_the_median_ratio() {
        let s = |ms| Sample {
            wall: Duration::from_millis(ms),
            max_rss_kib: 1024,
        };
        let row = Row::paired(
            "push".into(),
            "curl",
            &[(s(110), s(100)), (s(300), s(100)), (s(90), s(100))],
        );
        let (_, _, ratio) = row.peer.clone().unwrap();
        assert!((ratio - 1.1).abs() < 1e-9, "{ratio}");
        let t = table(&[row, Row::failed("x".into(), "no skopeo".into())]);
        assert!(
            t.contains("| push | 110.000 ms (90.000–300.000) | 1.0 MiB | curl |"),
            "{t}"
        );
        assert!(t.contains("not measured: no skopeo"), "{t}");
    }
}
