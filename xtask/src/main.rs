//! `cargo xtask`: the developer commands of this workspace.
//!
//! - `cargo xtask codegen [--check]`: regenerate `generated/src/` from the spec and overlay.
//! - `cargo xtask lap check PATH...`: parse LAP files (or folders of them) and report.
//! - `cargo xtask fuzz --minutes N`: every fuzz target in turn.
//! - `cargo xtask soak --minutes N`: the client against a real registry through a faulty network.

use std::process::ExitCode;

const USAGE: &str = "usage:
  cargo xtask codegen [--check] [--spec FILE] [--overlay FILE|--no-overlay] [--out DIR]
      regenerate the `acr` crate (generated/src) from spec/containerregistry.lap and its overlay;
      --check writes nothing and exits 1 with a diff when the committed output is stale
  cargo xtask codegen-sample [--corpus DIR] [--count 100] [--seed 42] [--work DIR]
      generate a crate (no overlay) for files drawn at random from a LAP folder and `cargo check` each
  cargo xtask bench [DIR]
      time the LAP parser on a folder (default ../shared/lap-corpus) beside the reference
      Python parser (pip install lapsh); use `cargo run --release -p xtask -- bench`
  cargo xtask lap check PATH...
      parse every .lap file under PATH (files or folders) and print a summary
  cargo xtask fuzz [--minutes 10] [TARGET...]
      run every cargo-fuzz target (runtime/fuzz, xtask/fuzz) in turn, N minutes each (nightly)
  cargo xtask soak [--minutes 10] [--workers 8] [--cut-every 50]
      push, pull, list and delete against docker-registry through a connection-cutting proxy";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        Some("codegen") => xtask::codegen_cmd::run(&args[1..]),
        Some("codegen-sample") => xtask::sample::run(&args[1..]),
        Some("bench") => xtask::bench::run(&args[1..]),
        Some("fuzz") => xtask::fuzz_cmd::run(&args[1..]),
        Some("soak") => xtask::soak::run(&args[1..]),
        Some("lap") if args.get(1).map(String::as_str) == Some("check") => {
            xtask::lap_check::run(&args[2..])
        }
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            0
        }
        _ => {
            eprintln!("{USAGE}");
            2
        }
    };
    ExitCode::from(code)
}
