//! `cargo xtask msrv`: what can be checked of the declared minimum Rust version without that
//! toolchain: every package in `Cargo.lock` (the workspace's own and every dependency, for
//! every platform) declares a `rust-version` no newer than the workspace's, or none.
//!
//! It is not a build on that version: language features used by our own code are not
//! checked here (clippy's `incompatible_msrv` lint, which CI denies, checks uses of standard
//! library items newer than `rust-version`). A real check is `cargo +1.88 check --workspace
//! --all-targets --locked` where that toolchain can be installed.

use std::process::Command;

/// The command line of `cargo xtask msrv`.
#[derive(Debug, Clone, Default, clap::Parser)]
#[command(about = "Check that no locked package needs a newer Rust than the declared rust-version")]
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

/// Runs the command; returns the exit code (1 when a package needs a newer Rust).
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
    println!(
        "msrv: rust-version {declared_text}: {total} locked packages, {with} declare a rust-version, {} newer (not a build on {declared_text}: see `cargo xtask msrv --help`)",
        newer.len()
    );
    u8::from(!newer.is_empty())
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
}
