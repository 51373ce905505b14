//! `cargo xtask`: the developer commands of this workspace (`cargo xtask --help` lists them).
//!
//! Each command is a module of the `xtask` library with its own `Args` (clap) and
//! `run(&Args) -> u8`; adding one is a variant of [`Command`] and an arm of `main`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc instead of the system allocator: codegen of a large API allocates millions of small
/// token trees on both cores, where glibc's malloc spent half the time (measured with `perf`
/// on 10,000 endpoints). The library crates keep the system allocator (their users choose).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The developer commands of acr-rs.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Regenerate the `acr` crate (generated/src) from spec/containerregistry.lap and its
    /// overlay; --check writes nothing and exits 1 with a diff when the output is stale.
    Codegen(xtask::codegen_cmd::Args),
    /// Generate a crate (no overlay) for LAP files drawn at random from a folder, build each,
    /// and check every operation's request on a loopback server.
    CodegenSample(xtask::sample::Args),
    /// Measure speed and memory beside peers (codegen; blob push and pull against
    /// docker-registry with curl and skopeo; the LAP parser beside the Python one) and print
    /// a markdown table: `cargo xtask bench [--quick] [codegen|blob|lap]...`.
    Bench(xtask::bench::Args),
    /// Check that no locked package needs a newer Rust than the declared rust-version
    /// and that this toolchain is that version.
    Msrv(xtask::msrv::Args),
    /// LAP file tools.
    #[command(subcommand)]
    Lap(LapCommand),
    /// Run every cargo-fuzz target (runtime/fuzz, xtask/fuzz) in turn, N minutes each (nightly):
    /// `cargo xtask fuzz [--minutes 10] [TARGET...]`.
    Fuzz {
        /// The command's own options.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Push, pull, list and delete against docker-registry through a connection-cutting proxy:
    /// `cargo xtask soak [--minutes 10] [--workers 8] [--cut-every 50]` (needs `--features soak`).
    Soak {
        /// The command's own options.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
enum LapCommand {
    /// Parse every .lap file under PATH (files or folders) and print a summary.
    Check(xtask::lap_check::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match &cli.command {
        Command::Codegen(args) => xtask::codegen_cmd::run(args),
        Command::CodegenSample(args) => xtask::sample::run(args),
        Command::Bench(args) => xtask::bench::run(args),
        Command::Msrv(args) => xtask::msrv::run(args),
        Command::Lap(LapCommand::Check(args)) => xtask::lap_check::run(args),
        Command::Fuzz { args } => xtask::fuzz_cmd::run(args),
        Command::Soak { args } => xtask::soak::run(args),
    };
    ExitCode::from(code)
}
