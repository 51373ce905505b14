//! `cargo xtask codegen`: parse, merge, lower, emit and write `generated/src/`.
//!
//! Prints the warnings (`FILE:LINE:COL: message`), the public-API change report, and one
//! summary line: files written, unchanged and removed, operations and models generated, time.
//! `--check` writes nothing: it prints "up to date", or the stale files and a diff and exits 1.
//! `--spec FILE --out DIR` generates a crate for any LAP file (with no overlay unless one is
//! given), writing `DIR/src/` and, when missing, a `DIR/Cargo.toml`.
//!
//! Errors keep the `FILE:LINE:COL: message` form (see [`GenerateError`]).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::generate::{self, GenerateError, SpecSet};
use crate::tree::{self, Changes};
use crate::workspace;

/// The command line of `cargo xtask codegen`.
#[derive(Debug, Clone, Default, clap::Parser)]
#[command(about = "Regenerate the `acr` crate (generated/src) from the spec and its overlay")]
pub struct Args {
    /// Write nothing; exit 1 with a diff when the committed output is stale.
    #[arg(long)]
    pub check: bool,
    /// The LAP spec (default: spec/containerregistry.lap). Another spec gets no overlay
    /// unless --overlay names one.
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
    /// The overlay (default: spec/containerregistry.overlay.lap with the default spec).
    #[arg(long, value_name = "FILE", conflicts_with = "no_overlay")]
    pub overlay: Option<PathBuf>,
    /// Use no overlay.
    #[arg(long)]
    pub no_overlay: bool,
    /// The crate folder to write (default: generated); its Cargo.toml is written when missing.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The options with every default filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodegenArgs {
    /// Compare instead of writing.
    pub check: bool,
    /// The spec files, each with its overlay, merged into one crate.
    pub specs: Vec<(PathBuf, Option<PathBuf>)>,
    /// The crate folder to write (`generated/`).
    pub out: PathBuf,
}

impl Args {
    /// Fills in the defaults: our two specs with their overlays (see
    /// [`generate::default_specs`]), `generated/`. `--spec` names one spec instead, with no
    /// overlay unless `--overlay` names one; without `--spec`, `--overlay` replaces the ACR
    /// spec's overlay and `--no-overlay` drops every overlay.
    pub fn resolve(&self) -> CodegenArgs {
        let root = workspace::root();
        let mut specs = match &self.spec {
            Some(spec) => vec![(spec.clone(), self.overlay.clone())],
            None => {
                let mut specs = generate::default_specs(&root);
                if let (Some(o), Some(first)) = (&self.overlay, specs.first_mut()) {
                    first.1 = Some(o.clone());
                }
                specs
            }
        };
        if self.no_overlay {
            for (_, overlay) in &mut specs {
                *overlay = None;
            }
        }
        CodegenArgs {
            check: self.check,
            specs,
            out: self.out.clone().unwrap_or_else(|| root.join("generated")),
        }
    }
}

/// Runs the command; returns the process exit code (0 done, 1 stale or failed).
pub fn run(args: &Args) -> u8 {
    match execute(&args.resolve()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}

/// What was generated, for the summary line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The files' fate.
    pub changes: Changes,
    /// Operations generated.
    pub operations: usize,
    /// Named types (models and enums) generated.
    pub models: usize,
    /// Warnings printed.
    pub warnings: usize,
    /// Wall time.
    pub elapsed: Duration,
}

impl Summary {
    /// The summary line of a run that writes.
    pub fn line(&self, out: &str) -> String {
        format!(
            "codegen: {out}: {} written, {} unchanged, {} removed; {} operations, {} models; {} warnings; {:.1} s",
            self.changes.written.len(),
            self.changes.unchanged,
            self.changes.removed.len(),
            self.operations,
            self.models,
            self.warnings,
            self.elapsed.as_secs_f64()
        )
    }

    /// The summary of a `--check` run: "up to date", or the stale files.
    pub fn check_line(&self, out: &str) -> String {
        let what = format!(
            "{} operations, {} models; {} warnings; {:.1} s",
            self.operations,
            self.models,
            self.warnings,
            self.elapsed.as_secs_f64()
        );
        if self.changes.is_empty() {
            return format!(
                "codegen --check: {out} is up to date ({} files; {what})",
                self.changes.unchanged
            );
        }
        let mut s = format!(
            "codegen --check: {out} is stale: {} to write, {} to remove ({what})",
            self.changes.written.len(),
            self.changes.removed.len()
        );
        for f in &self.changes.written {
            let _ = write!(s, "\n  stale: {f}");
        }
        for f in &self.changes.removed {
            let _ = write!(s, "\n  to remove: {f}");
        }
        s
    }
}

fn execute(args: &CodegenArgs) -> Result<u8, GenerateError> {
    let started = Instant::now();
    let set = SpecSet::read(&args.specs)?;
    let src = args.out.join("src");
    let mut update = tree::Update::start(&src, args.check)?;
    let emitted = generate::generate_set_each(&set, &tree::hand_written(&src)?, |f| {
        update.add(&f.path, &f.contents);
    })?;
    for w in &emitted.warnings {
        eprintln!("warning: {w}");
    }
    let shown = workspace::display(&src);
    if !args.check {
        let manifest = args.out.join("Cargo.toml");
        if !manifest.exists() {
            tree::write_atomic(
                &manifest,
                &crate::manifest::workspace_crate_manifest(&args.out, true)?,
            )?;
            println!("codegen: wrote {}", workspace::display(&manifest));
        }
    }
    let updated = update.finish()?;
    // The report compares the changed files only: an unchanged file adds the same to both.
    if !updated.first {
        let report = crate::api_diff::report(&updated.old, &updated.new);
        if !report.is_empty() {
            println!("{report}");
        }
    }
    let summary = Summary {
        changes: updated.changes,
        operations: emitted.api.operations.len(),
        models: emitted.api.types.len(),
        warnings: emitted.warnings.len(),
        elapsed: started.elapsed(),
    };
    if !args.check {
        println!("{}", summary.line(&shown));
        return Ok(0);
    }
    if summary.changes.is_empty() {
        println!("{}", summary.check_line(&shown));
        return Ok(0);
    }
    eprintln!("{}", summary.check_line(&shown));
    eprintln!(
        "error: {shown} is stale; run `cargo xtask codegen` and commit the result\n{}",
        tree::diff(&updated.old, &updated.new)
    );
    Ok(1)
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    fn parse(args: &[&str]) -> Result<CodegenArgs, clap::Error> {
        Args::try_parse_from(std::iter::once("codegen").chain(args.iter().copied()))
            .map(|a| a.resolve())
    }

    #[test]
    fn args_default_to_our_spec_and_overlay() {
        let a = parse(&[]).unwrap();
        assert_eq!(a.specs.len(), 2);
        assert!(a.specs[0].0.ends_with("spec/containerregistry.lap"));
        let overlay = a.specs[0].1.as_ref().unwrap();
        assert!(overlay.ends_with("spec/containerregistry.overlay.lap"));
        assert!(a.specs[1].0.ends_with("spec/oci-distribution.lap"));
        let overlay = a.specs[1].1.as_ref().unwrap();
        assert!(overlay.ends_with("spec/oci-distribution.overlay.lap"));
        assert!(a.out.ends_with("generated"));
        assert!(!a.check);
    }

    #[test]
    fn another_spec_has_no_overlay_unless_named() {
        let a = parse(&["--spec", "x.lap", "--out", "/tmp/x"]).unwrap();
        assert_eq!(a.specs, [(PathBuf::from("x.lap"), None)]);
        assert_eq!(a.out, PathBuf::from("/tmp/x"));
        let b = parse(&["--spec", "x.lap", "--overlay", "o.lap", "--check"]).unwrap();
        assert_eq!(
            b.specs,
            [(PathBuf::from("x.lap"), Some(PathBuf::from("o.lap")))]
        );
        assert!(b.check);
        let none = parse(&["--no-overlay"]).unwrap();
        assert!(none.specs.iter().all(|(_, o)| o.is_none()));
        let replaced = parse(&["--overlay", "o.lap"]).unwrap();
        assert_eq!(replaced.specs[0].1, Some(PathBuf::from("o.lap")));
        assert!(parse(&["--bogus"]).is_err());
        assert!(parse(&["--spec"]).is_err());
        assert!(parse(&["--overlay", "o.lap", "--no-overlay"]).is_err());
    }

    #[test]
    fn summary_lines() {
        let s = Summary {
            changes: Changes {
                written: vec!["lib.rs".into()],
                unchanged: 30,
                removed: vec!["operations/old.rs".into()],
            },
            operations: 26,
            models: 41,
            warnings: 0,
            elapsed: Duration::from_millis(420),
        };
        assert_eq!(
            s.line("generated/src"),
            "codegen: generated/src: 1 written, 30 unchanged, 1 removed; 26 operations, 41 models; 0 warnings; 0.4 s"
        );
        let check = s.check_line("generated/src");
        assert!(
            check.starts_with("codegen --check: generated/src is stale: 1 to write, 1 to remove"),
            "{check}"
        );
        assert!(
            check.contains("\n  stale: lib.rs")
                && check.contains("\n  to remove: operations/old.rs"),
            "{check}"
        );
        let fresh = Summary {
            changes: Changes {
                unchanged: 31,
                ..Changes::default()
            },
            ..s
        };
        assert!(
            fresh.check_line("generated/src").starts_with(
                "codegen --check: generated/src is up to date (31 files; 26 operations"
            )
        );
    }
}
