//! `cargo xtask msrv`: the declared minimum Rust version (`rust-version` in `Cargo.toml`) is
//! the toolchain that builds this run, and no package needs a newer one.
//!
//! Two checks: the `rustc` that cargo uses is the declared version (same major and minor), so
//! the build and tests that follow in CI are a build on the MSRV; and every package in
//! `Cargo.lock` (the workspace's own and every dependency, for every platform) declares a
//! `rust-version` no newer than the workspace's, or none. A newer toolchain fails the first
//! check with what to do: build with the declared one (`cargo +VERSION xtask msrv`), or raise
//! `rust-version` after checking the build on the newer one.

use std::process::Command;

/// The command line of `cargo xtask msrv`.
#[derive(Debug, Clone, Default, clap::Parser)]
#[command(
    about = "Check that this toolchain is the declared rust-version and no locked package needs a newer one"
)]
pub struct Args {}

/// A version `major.minor[.patch]` as a comparable triple.
pub fn parse_version(v: &str) -> Option<(u32, u32, u32)> {
    let mut it = v.trim().split('.');
    let major = it.next()?.parse().ok()?;
    let minor = it.next().map_or(Some(0), |m| m.parse().ok())?;
    let patch = it.next().map_or(Some(0), |p| p.parse().ok())?;
    Some((major, minor, patch))
}

/// The packages (name, version, rust-version) of `cargo metadata` output whose rust-version
/// is newer than `declared`, and how many declare one.
pub fn newer_than(
    metadata: &serde_json::Value,
    declared: (u32, u32, u32),
) -> (Vec<String>, usize, usize) {
    let mut newer = Vec::new();
    let (mut with, mut total) = (0, 0);
    for p in metadata
        .get("packages")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
    {
        total += 1;
        let Some(rv) = p.get("rust_version").and_then(|r| r.as_str()) else {
            continue;
        };
        with += 1;
        if parse_version(rv).is_some_and(|v| v > declared) {
            newer.push(format!(
                "{} {} needs Rust {rv}",
                p.get("name").and_then(|n| n.as_str()).unwrap_or("?"),
                p.get("version").and_then(|n| n.as_str()).unwrap_or("?")
            ));
        }
    }
    (newer, with, total)
}

/// The version of the `rustc` cargo uses (`$RUSTC`, else `rustc`), from `rustc --version`
/// (`rustc 1.95.0 (59807616e 2026-04-14)`).
fn toolchain_version() -> Result<(String, (u32, u32, u32)), String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(&rustc)
        .arg("--version")
        .output()
        .map_err(|e| format!("{rustc}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let version = text
        .split_whitespace()
        .nth(1)
        .map(|v| v.split('-').next().unwrap_or(v).to_owned())
        .ok_or_else(|| format!("{rustc} --version printed {text:?}"))?;
    let parsed =
        parse_version(&version).ok_or_else(|| format!("{rustc} --version printed {text:?}"))?;
    Ok((version, parsed))
}

/// Whether a toolchain of version `toolchain` is the declared MSRV `declared` (same major and
/// minor: patch releases change no language or library surface).
pub fn is_declared(toolchain: (u32, u32, u32), declared: (u32, u32, u32)) -> bool {
    (toolchain.0, toolchain.1) == (declared.0, declared.1)
}

/// Runs the command; returns the exit code (1 when the toolchain is not the declared MSRV or
/// a package needs a newer Rust).
pub fn run(_args: &Args) -> u8 {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(crate::workspace::root())
        .output();
    let metadata: serde_json::Value = match out {
        Ok(o) if o.status.success() => match serde_json::from_slice(&o.stdout) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("error: cargo metadata: {e}");
                return 1;
            }
        },
        Ok(o) => {
            eprintln!(
                "error: cargo metadata: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            return 1;
        }
        Err(e) => {
            eprintln!("error: cargo: {e}");
            return 1;
        }
    };
    let declared = metadata
        .get("packages")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
        .find(|p| p.get("name").and_then(|n| n.as_str()) == Some("xtask"))
        .and_then(|p| p.get("rust_version").and_then(|r| r.as_str()))
        .map(str::to_owned);
    let Some((declared_text, declared)) = declared.and_then(|d| parse_version(&d).map(|v| (d, v)))
    else {
        eprintln!("error: the workspace declares no rust-version");
        return 1;
    };
    let (newer, with, total) = newer_than(&metadata, declared);
    for n in &newer {
        println!("{n}");
    }
    let toolchain = match toolchain_version() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: the toolchain's version: {e}");
            return 1;
        }
    };
    let on_msrv = is_declared(toolchain.1, declared);
    println!(
        "msrv: rust-version {declared_text}; this toolchain is rustc {}{}; {total} locked packages, {with} declare a rust-version, {} newer",
        toolchain.0,
        if on_msrv {
            " (the declared MSRV: this run builds on it)"
        } else {
            ""
        },
        newer.len()
    );
    if !on_msrv {
        eprintln!(
            "error: rustc {} is not the declared MSRV {declared_text}: build with it (`cargo +{declared_text} xtask msrv`, then the tests), or raise rust-version in Cargo.toml once the build on {} is checked",
            toolchain.0, toolchain.0
        );
    }
    u8::from(!newer.is_empty() || !on_msrv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_newer_packages() {
        let m = serde_json::json!({"packages": [
            {"name": "a", "version": "1.0.0", "rust_version": "1.85"},
            {"name": "b", "version": "2.0.0", "rust_version": "1.90.1"},
            {"name": "c", "version": "0.1.0"},
            {"name": "d", "version": "0.1.0", "rust_version": "1.88"}
        ]});
        let (newer, with, total) = newer_than(&m, (1, 88, 0));
        assert_eq!(newer, ["b 2.0.0 needs Rust 1.90.1"]);
        assert_eq!((with, total), (3, 4));
        assert_eq!(parse_version("1.88"), Some((1, 88, 0)));
        assert!(parse_version("x").is_none());
    }

    #[test]
    fn the_declared_msrv_is_the_same_major_and_minor() {
        assert!(is_declared((1, 95, 0), (1, 95, 0)));
        assert!(is_declared((1, 95, 2), (1, 95, 0)));
        assert!(!is_declared((1, 96, 0), (1, 95, 0)));
        assert!(!is_declared((1, 94, 1), (1, 95, 0)));
    }
}
