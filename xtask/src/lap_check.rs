//! `cargo xtask lap check PATH...`: parse LAP files and report.

/// Runs the command with its arguments; returns the process exit code.
pub fn run(_args: &[String]) -> u8 {
    eprintln!("error: lap check is not implemented yet");
    1
}
