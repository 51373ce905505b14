//! Reporting a skipped test so that it shows in `cargo test` output without `--nocapture`.
//!
//! libtest captures what a test prints with `print!`/`eprint!` (the macros write to a
//! per-test buffer) and shows it only when the test fails, so a test that returns early
//! after `println!("skipping …")` passes silently. [`skip`] writes to the process's standard
//! error through [`std::io::stderr`], a handle on file descriptor 2 that the capture does not
//! touch, so the line appears beside libtest's `test … ok`.
//!
//! This file is the one helper: `acr-tests` exports it as `acr_tests::skip`, and the test
//! crates of other packages (`xtask/tests`, `runtime/tests`) include this same file with
//! `#[path = "…/tests/src/skip.rs"] mod skip;` rather than depend on the test estate.

use std::io::Write as _;

/// The line [`skip`] writes for the test `test` and `reason` (without the newline).
pub fn line(test: &str, reason: &str) -> String {
    format!("test {test} ... SKIPPED: {reason}")
}

/// Reports that the running test is skipped, and why, on the process's standard error
/// (visible through libtest's capture). The test is named after its thread, which libtest
/// names after the test; call it right before returning from the test.
pub fn skip(reason: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("<unnamed test>");
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{}", line(test, reason));
    let _ = err.flush();
}

#[cfg(test)]
mod tests {
    /// The environment variable that makes [`child`] skip (it passes silently otherwise).
    const CHILD: &str = "ACR_SKIP_HELPER_CHILD";

    #[test]
    fn child() {
        if std::env::var_os(CHILD).is_some() {
            super::skip("the reason given");
        }
    }

    /// Runs [`child`] in this same test binary with libtest's capture on (no
    /// `--nocapture`) and finds the skip line in its standard error.
    #[test]
    fn a_skip_shows_through_the_capture() {
        let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
        let out = std::process::Command::new(exe)
            .args(["--exact", "skip::tests::child", "--test-threads", "2"])
            .env(CHILD, "1")
            .output()
            .unwrap_or_else(|e| panic!("the test binary runs: {e}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        assert!(
            stderr.contains(&super::line("skip::tests::child", "the reason given")),
            "stdout: {stdout}\nstderr: {stderr}"
        );
        assert!(stdout.contains("1 passed"), "{stdout}");
    }
}
