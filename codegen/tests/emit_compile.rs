//! Every fixture API, generated and compiled: `cargo clippy -D warnings` and `cargo doc -D
//! warnings` on a temporary workspace with one crate per fixture, against the real runtime.
//! Then `tests/fixture_tests/<fixture>_wire.rs` runs inside its fixture crate: the emitted
//! operations against a canned HTTP server, checking what goes on the wire.
//!
//! The temporary workspace reuses this workspace's `Cargo.lock` and target directory, so
//! dependencies are not rebuilt.
#![allow(clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use acr_codegen::{Options, generate, ir::Api};

/// This workspace's root.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("codegen/ has a parent")
        .to_path_buf()
}

/// Writes `api`'s crate as member `name` of the temporary workspace at `root`.
fn write_crate(root: &Path, name: &str, api: &Api) {
    let files = generate(api, &Options::default()).expect("generate");
    let dir = root.join(name);
    let runtime = workspace_root().join("runtime");
    let manifest = format!(
        r#"[package]
name = "{name}"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
acr-runtime = {{ path = {runtime:?} }}
serde = {{ version = "1", features = ["derive"] }}
serde_json = "1"
bytes = "1"
futures-core = "0.3"
jiff = {{ version = "0.2", features = ["serde"] }}

[dev-dependencies]
tokio = {{ version = "1", features = ["macros", "rt-multi-thread", "net", "io-util"] }}
futures-util = {{ version = "0.3", default-features = false, features = ["std"] }}

[lints]
workspace = true
"#
    );
    std::fs::create_dir_all(dir.join("src/operations")).expect("mkdir");
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixture_tests");
    let own_test = tests.join(format!("{}_wire.rs", name.trim_start_matches("fixture_")));
    if own_test.exists() {
        std::fs::create_dir_all(dir.join("tests")).expect("mkdir tests");
        std::fs::copy(&own_test, dir.join("tests/wire.rs")).expect("copy test");
    }
    std::fs::write(dir.join("Cargo.toml"), manifest).expect("write manifest");
    for f in files {
        if let Some(parent) = dir.join("src").join(&f.path).parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(dir.join("src").join(&f.path), f.contents).expect("write file");
    }
}

/// Runs cargo in `root` with `args`; returns whether it succeeded, printing its output.
fn cargo(root: &Path, args: &[&str], rustdocflags: Option<&str>) -> bool {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace_root().join("target"));
    let mut cmd = Command::new(cargo);
    cmd.args(args)
        .current_dir(root)
        .env("CARGO_TARGET_DIR", target);
    if let Some(flags) = rustdocflags {
        cmd.env("RUSTDOCFLAGS", flags);
    }
    let out = cmd.output().expect("run cargo");
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    }
    out.status.success()
}

#[test]
fn fixture_crates_pass_clippy_and_rustdoc() {
    // CODEGEN_KEEP_DIR=/tmp/somewhere keeps the generated workspace for a look.
    let dir = tempfile::tempdir().expect("tempdir");
    let kept = std::env::var_os("CODEGEN_KEEP_DIR").map(PathBuf::from);
    let root = kept.as_deref().unwrap_or(dir.path());
    std::fs::create_dir_all(root).expect("mkdir root");
    let fixtures = [
        ("fixture_acr_like", common::acr_like()),
        ("fixture_nasty", common::nasty()),
        ("fixture_minimal", common::minimal()),
        // more operations than one file each: grouped modules, re-exported
        (
            "fixture_many",
            common::many(acr_codegen::emit::operation::GROUP_ABOVE + 1),
        ),
    ];
    let members: Vec<String> = fixtures.iter().map(|(n, _)| format!("{n:?}")).collect();
    let workspace = format!(
        r#"[workspace]
resolver = "3"
members = [{}]

[workspace.lints.rust]
unsafe_code = "forbid"
rust_2018_idioms = {{ level = "warn", priority = -1 }}
missing_docs = "warn"

[workspace.lints.clippy]
unwrap_used = "warn"
expect_used = "warn"
dbg_macro = "warn"

[profile.dev.package."*"]
debug = false
"#,
        members.join(", ")
    );
    std::fs::write(root.join("Cargo.toml"), workspace).expect("write workspace");
    std::fs::copy(workspace_root().join("Cargo.lock"), root.join("Cargo.lock")).expect("copy lock");
    for (name, api) in &fixtures {
        write_crate(root, name, api);
    }
    let has_clippy = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(["clippy", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if has_clippy {
        assert!(
            cargo(
                root,
                &[
                    "clippy",
                    "--offline",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings"
                ],
                None
            ),
            "the generated fixture crates do not pass clippy"
        );
    } else {
        eprintln!("cargo clippy is not installed: checking with cargo check only");
        assert!(
            cargo(root, &["check", "--offline", "--workspace"], None),
            "the generated fixture crates do not compile"
        );
    }
    assert!(
        cargo(
            root,
            &["doc", "--offline", "--workspace", "--no-deps"],
            Some("-D warnings")
        ),
        "the generated fixture crates have rustdoc warnings"
    );
    assert!(
        cargo(root, &["test", "--offline", "-p", "fixture_acr_like"], None),
        "the generated operations do not put the right things on the wire"
    );
}
