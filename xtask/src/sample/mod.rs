//! `cargo xtask codegen-sample`: the any-LAP measurement. Draws files at random (fixed seed)
//! from a folder of LAP files and, for each, generates a client crate with no overlay (as
//! `cargo xtask codegen --spec FILE --out DIR` does), checks that it compiles, and proves it
//! on the wire: a generated driver calls every operation (every parameter given, optional
//! ones through their setters, with the credential the spec's `@auth` names) against a
//! loopback server that records each request, and the request is checked against the spec:
//! method, path (parameters substituted and percent-encoded, under the `@base` path), query,
//! headers and body ([`calls`], [`check`]).
//!
//! Prints one line per failure with its cause, and the two figures: crates that compile, and
//! crates whose every operation sends what its spec says.
//!
//! ```text
//! cargo xtask codegen-sample [--corpus DIR] [--count 100] [--seed 42] [--work DIR]
//! ```

pub mod calls;
pub mod check;
mod server_src;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

/// Runs the command; returns the exit code (0 when every crate compiles and sends what its
/// spec says).
pub fn run(args: &Args) -> u8 {
    let corpus = args.corpus.clone().unwrap_or_else(workspace::lap_corpus);
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
    let sample = draw(files, args.count, args.seed);
    let started = Instant::now();
    match measure(&sample, &work) {
        Ok(m) => {
            println!(
                "codegen-sample: {} files drawn (seed {}): {} generated, {} compile, {} send what their spec says on every operation ({} operations checked, {} sent something else, {} not driven); {:.0} s",
                sample.len(),
                args.seed,
                m.generated,
                m.compiled,
                m.wire_clean,
                m.ops_checked,
                m.ops_wrong,
                m.ops_not_driven,
                started.elapsed().as_secs_f64()
            );
            u8::from(m.wire_clean < sample.len())
        }
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}

/// The figures of one run.
#[derive(Debug, Default)]
struct Measure {
    generated: usize,
    compiled: usize,
    wire_clean: usize,
    ops_checked: usize,
    ops_wrong: usize,
    ops_not_driven: usize,
}

/// One sampled crate on its way.
struct Crate {
    /// The LAP file's stem.
    stem: String,
    /// `sNNN`: the generated crate's package; `wNNN` its driver.
    name: String,
    /// The planned calls.
    calls: Vec<calls::Call>,
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

fn write(path: &Path, text: &str) -> Result<(), GenerateError> {
    if let Some(p) = path.parent() {
        fs::create_dir_all(p).map_err(|e| GenerateError::io(p, e))?;
    }
    fs::write(path, text).map_err(|e| GenerateError::io(path, e))
}

/// The driver's `main.rs`.
fn driver_source(krate: &Crate, base: &str, auth: &calls::Auth) -> String {
    let credential = match auth {
        calls::Auth::None => String::new(),
        calls::Auth::Bearer => format!(
            ".credential(api::Client::bearer_credential({:?}))",
            calls::SECRET
        ),
        calls::Auth::Basic => format!(
            ".credential(api::Client::basic_credential(\"wire-user\", {:?}))",
            calls::SECRET
        ),
        calls::Auth::Header(_) | calls::Auth::Query(_) => {
            format!(
                ".credential(api::Client::api_key_credential({:?}))",
                calls::SECRET
            )
        }
    };
    let mut body = String::new();
    for c in krate.calls.iter().filter(|c| c.skip.is_none()) {
        let _ = write!(
            body,
            "    {{\n        let outcome = async {{\n{}\n        }}.await;\n        server.report({:?}, outcome);\n    }}\n",
            c.code
                .replace("Ok(client.", "Ok::<Option<String>, String>(client."),
            c.ident
        );
    }
    format!(
        r#"#![allow(unused, clippy::all)]
//! Calls every operation of the generated crate against a loopback server that records each
//! request; prints one JSON line per operation.

fn v<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, String> {{
    serde_json::from_str(json).map_err(|e| format!("sample value {{json}}: {{e}}"))
}}

#[tokio::main(flavor = "current_thread")]
async fn main() {{
    let server = wire_support::Server::start();
    let endpoint = format!("{{}}{base}", server.url());
    let client = api::Client::builder(endpoint){credential}.build().expect("the client builds");
{body}}}
"#
    )
}

fn driver_manifest(name: &str, api: &str) -> String {
    format!(
        "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\napi = {{ path = \"../{api}\", package = \"{api}\" }}\nwire-support = {{ path = \"../wire-support\" }}\n\
         tokio = {{ version = \"1\", features = [\"macros\", \"rt\"] }}\n\
         serde = {{ version = \"1\", features = [\"derive\"] }}\nserde_json = \"1\"\nbytes = \"1\"\njiff = {{ version = \"0.2\", features = [\"serde\"] }}\n"
    )
}

/// Runs `cargo <verb> --keep-going` on `packages` and returns the first error of each
/// package that failed.
fn cargo_keep_going(
    work: &Path,
    verb: &str,
    packages: &[String],
) -> Result<BTreeMap<String, String>, GenerateError> {
    let mut failures = BTreeMap::new();
    if packages.is_empty() {
        return Ok(failures);
    }
    let mut cmd = cargo();
    cmd.args([
        verb,
        "--keep-going",
        "--message-format",
        "json-diagnostic-short",
    ])
    .current_dir(work)
    .env("CARGO_TARGET_DIR", target_dir())
    .stderr(Stdio::null());
    for p in packages {
        cmd.args(["-p", p]);
    }
    let out = cmd.output().map_err(|e| GenerateError::io(work, e))?;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg.get("reason").and_then(|r| r.as_str()) != Some("compiler-message") {
            continue;
        }
        let level = msg.pointer("/message/level").and_then(|l| l.as_str());
        if level != Some("error") {
            continue;
        }
        let id = msg.get("package_id").and_then(|p| p.as_str()).unwrap_or("");
        let Some(pkg) = packages.iter().find(|p| package_in_id(id, p)) else {
            continue;
        };
        let rendered = msg
            .pointer("/message/rendered")
            .and_then(|r| r.as_str())
            .unwrap_or("")
            .lines()
            .next()
            .unwrap_or("")
            .to_owned();
        failures.entry(pkg.clone()).or_insert(rendered);
    }
    if !out.status.success() {
        // A package that failed without a compiler message (a build script, a manifest).
        for p in packages {
            if !failures.contains_key(p) && !built(verb, p) {
                failures.insert(
                    p.clone(),
                    "failed without a compiler error (see cargo's output)".into(),
                );
            }
        }
    }
    Ok(failures)
}

/// Whether a package id (`path+file:///…/s012#0.1.0` or `s012 0.1.0 (…)`) names `pkg`.
fn package_in_id(id: &str, pkg: &str) -> bool {
    id.contains(&format!("/{pkg}#"))
        || id.starts_with(&format!("{pkg} "))
        || id.contains(&format!("#{pkg}@"))
}

fn target_dir() -> PathBuf {
    workspace::root().join("target/codegen-sample")
}

/// Whether the driver binary of `pkg` exists (after a build).
fn built(verb: &str, pkg: &str) -> bool {
    verb == "build" && target_dir().join("debug").join(pkg).exists()
}

/// Runs a driver with a time limit; returns its stdout. Its output goes to files in `work`
/// (a pipe left unread would fill and stop it).
fn run_driver(work: &Path, pkg: &str) -> Result<String, String> {
    let exe = target_dir().join("debug").join(pkg);
    let (out_path, err_path) = (
        work.join(format!("{pkg}.out")),
        work.join(format!("{pkg}.err")),
    );
    let file = |p: &Path| fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()));
    let mut child = Command::new(&exe)
        .stdout(file(&out_path)?)
        .stderr(file(&err_path)?)
        .spawn()
        .map_err(|e| format!("{}: {e}", exe.display()))?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() > Duration::from_secs(600) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("the driver did not finish in 600 s".into());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(e.to_string()),
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    let stdout = fs::read_to_string(&out_path).unwrap_or_default();
    if !status.success() {
        let err = fs::read_to_string(&err_path).unwrap_or_default();
        let last = err
            .lines()
            .find(|l| l.contains("panicked"))
            .unwrap_or("")
            .to_owned();
        return Err(format!("the driver failed ({status}): {last}"));
    }
    Ok(stdout)
}

fn measure(sample: &[PathBuf], work: &Path) -> Result<Measure, GenerateError> {
    let _ = fs::remove_dir_all(work);
    fs::create_dir_all(work).map_err(|e| GenerateError::io(work, e))?;
    write(&work.join("wire-support/Cargo.toml"), server_src::MANIFEST)?;
    write(&work.join("wire-support/src/lib.rs"), server_src::LIB)?;
    let mut m = Measure::default();
    let mut members = vec!["\"wire-support\"".to_owned()];
    let mut crates = Vec::new();
    for (i, file) in sample.iter().enumerate() {
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = format!("s{i:03}");
        let output = match Inputs::read(file, None).and_then(|inputs| generate(&inputs)) {
            Ok(o) => o,
            Err(e) => {
                let first = e.to_string().lines().next().unwrap_or_default().to_owned();
                println!("FAIL {stem}: generation: {first}");
                continue;
            }
        };
        m.generated += 1;
        let dir = work.join(&name);
        for f in &output.files {
            write(&dir.join("src").join(&f.path), &f.contents)?;
        }
        write(
            &dir.join("Cargo.toml"),
            &crate::manifest::workspace_crate_manifest(&dir, false)?,
        )?;
        let mut options = acr_codegen::Options::default();
        options.auth_constructors = true;
        let ctx = acr_codegen::context::Context::new(&output.api, &options)
            .map_err(|e| GenerateError::Codegen(e.to_string()))?;
        let base = calls::base_path(&output.api);
        let auth = calls::auth(&output.api);
        let planned = ctx
            .ops
            .iter()
            .map(|plan| calls::call(&ctx, plan, &base, &auth))
            .collect();
        let krate = Crate {
            stem,
            name: name.clone(),
            calls: planned,
        };
        let driver = format!("w{i:03}");
        write(
            &work.join(&driver).join("Cargo.toml"),
            &driver_manifest(&driver, &name),
        )?;
        write(
            &work.join(&driver).join("src/main.rs"),
            &driver_source(&krate, &base, &auth),
        )?;
        members.push(format!("{name:?}"));
        members.push(format!("{driver:?}"));
        crates.push(krate);
    }
    let ws = format!(
        "[workspace]\nresolver = \"3\"\nmembers = [{}]\n\n[profile.dev]\ndebug = false\nincremental = false\n",
        members.join(", ")
    );
    write(&work.join("Cargo.toml"), &ws)?;
    // Reuse the workspace's lock file so no new versions are resolved.
    let _ = fs::copy(
        workspace::root().join("Cargo.lock"),
        work.join("Cargo.lock"),
    );

    let libs: Vec<String> = crates.iter().map(|c| c.name.clone()).collect();
    let lib_failures = cargo_keep_going(work, "check", &libs)?;
    let compiled: Vec<&Crate> = crates
        .iter()
        .filter(|c| match lib_failures.get(&c.name) {
            Some(err) => {
                println!("FAIL {} ({}): compile: {err}", c.stem, c.name);
                false
            }
            None => true,
        })
        .collect();
    m.compiled = compiled.len();
    let drivers: Vec<String> = compiled
        .iter()
        .map(|c| c.name.replacen('s', "w", 1))
        .collect();
    let driver_failures = cargo_keep_going(work, "build", &drivers)?;
    for c in compiled {
        let driver = c.name.replacen('s', "w", 1);
        if let Some(err) = driver_failures.get(&driver) {
            println!(
                "FAIL {} ({}): the wire driver does not compile: {err}",
                c.stem, c.name
            );
            m.ops_not_driven += c.calls.len();
            continue;
        }
        let problems = match run_driver(work, &driver) {
            Ok(stdout) => wire_problems(c, &stdout, &mut m),
            Err(e) => {
                m.ops_not_driven += c.calls.len();
                vec![e]
            }
        };
        if problems.is_empty() {
            m.wire_clean += 1;
        } else {
            println!(
                "FAIL {} ({}): wire: {} of {} operations: {}",
                c.stem,
                c.name,
                problems.len(),
                c.calls.len(),
                problems
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
    }
    Ok(m)
}

/// The operations of `c` that did not send what the spec says (one message each).
fn wire_problems(c: &Crate, stdout: &str, m: &mut Measure) -> Vec<String> {
    let mut reports: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    for line in stdout.lines() {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(line)
            && let Some(op) = v.get("op").and_then(|o| o.as_str())
        {
            reports.insert(op.to_owned(), v);
        }
    }
    let mut problems = Vec::new();
    for call in &c.calls {
        if let Some(why) = &call.skip {
            m.ops_not_driven += 1;
            problems.push(format!("{}: not driven: {why}", call.ident));
            continue;
        }
        let Some(report) = reports.get(&call.ident) else {
            m.ops_not_driven += 1;
            problems.push(format!("{}: no report", call.ident));
            continue;
        };
        if let Some(e) = report.get("driver_error").and_then(|e| e.as_str()) {
            m.ops_not_driven += 1;
            problems.push(format!("{}: not driven: {e}", call.ident));
            continue;
        }
        let requests: Vec<check::Recorded> = report
            .get("requests")
            .and_then(|r| r.as_array())
            .map(|a| a.iter().filter_map(check::Recorded::from_json).collect())
            .unwrap_or_default();
        m.ops_checked += 1;
        let diffs = match requests.as_slice() {
            [one] => check::compare(&call.expected, one),
            [] => vec![format!(
                "sent nothing ({})",
                report
                    .get("client_error")
                    .and_then(|e| e.as_str())
                    .unwrap_or("no error")
            )],
            more => vec![format!("sent {} requests", more.len())],
        };
        if !diffs.is_empty() {
            m.ops_wrong += 1;
            problems.push(format!("{}: {}", call.ident, diffs.join(", ")));
        }
    }
    problems
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

    #[test]
    fn package_ids() {
        assert!(package_in_id("path+file:///tmp/w/s012#0.1.0", "s012"));
        assert!(package_in_id(
            "s012 0.1.0 (path+file:///tmp/w/s012)",
            "s012"
        ));
        assert!(package_in_id("path+file:///tmp/w/x#s012@0.1.0", "s012"));
        assert!(!package_in_id("path+file:///tmp/w/s0123#0.1.0", "s012"));
    }
}
