//! The parser against the real world: every file of `../shared/lap-corpus` (1,537 registry
//! files; skipped when absent) and the project's own spec.

#[path = "../../tests/src/skip.rs"]
mod skip;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use xtask::lap::{self, ParseOptions};
use xtask::lap_check::{FileOutcome, check_files, collect_files};

/// Files that fail to parse because they are damaged (round-trip artifacts of the reference
/// Python parser). None so far: every
/// damaged file in the corpus is damaged in a way the parser absorbs (see `WITH_WARNINGS`).
const KNOWN_DAMAGED: &[&str] = &[];

/// Files that parse with warnings, and why. Both hold a `@returns` line whose braces no longer
/// balance after a parse/re-serialize round trip split the regex format `^[0-9]{1,19}$` at its
/// comma (`project_id: str(^[0-9]{1: any, 19}$): any}`); the line is kept as text.
const WITH_WARNINGS: &[&str] = &[
    "twitter-com-twitter-com-current.lap",
    "twitter-com-x-api-v2.lap",
];

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn corpus_dir() -> PathBuf {
    match std::env::var_os("LAP_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => workspace().join("../shared/lap-corpus"),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[test]
fn corpus_parses_and_round_trips() {
    let dir = corpus_dir();
    if !dir.is_dir() {
        skip::skip(&format!(
            "../shared/lap-corpus not found ({}): the LAP corpus is test data beside the checkout in CI",
            dir.display()
        ));
        return;
    }
    let files = collect_files(&[dir.display().to_string()]).unwrap();
    assert!(!files.is_empty(), "no .lap files in {}", dir.display());
    let outcomes = check_files(&files, &ParseOptions::default());
    let mut failed = BTreeSet::new();
    let mut warned = BTreeSet::new();
    let mut panics = Vec::new();
    for (path, outcome) in files.iter().zip(&outcomes) {
        match outcome {
            FileOutcome::Ok { warnings } if !warnings.is_empty() => {
                warned.insert(file_name(path));
            }
            FileOutcome::Ok { .. } => {}
            FileOutcome::Failed(msg) | FileOutcome::Unreadable(msg) => {
                println!("{msg}");
                failed.insert(file_name(path));
            }
            FileOutcome::Panicked(msg) => panics.push(msg.clone()),
        }
    }
    assert!(panics.is_empty(), "parser panics: {panics:#?}");
    let damaged: BTreeSet<String> = KNOWN_DAMAGED.iter().map(|s| (*s).to_string()).collect();
    assert_eq!(
        failed, damaged,
        "the failing files differ from the known damaged ones"
    );
    let expected_warned: BTreeSet<String> =
        WITH_WARNINGS.iter().map(|s| (*s).to_string()).collect();
    assert_eq!(warned, expected_warned, "the files with warnings changed");

    // Round trip: print, re-parse, same tree.
    std::thread::scope(|s| {
        let chunks: Vec<&[PathBuf]> = files.chunks(files.len().div_ceil(4).max(1)).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                s.spawn(move || {
                    let mut bad = Vec::new();
                    for path in chunk {
                        let text = std::fs::read_to_string(path).unwrap();
                        let Ok(doc) = lap::parse(&text, &ParseOptions::default()) else {
                            continue;
                        };
                        let printed = lap::print(&doc);
                        match lap::parse(&printed, &ParseOptions::default()) {
                            Ok(again) if doc.same_tree(&again) => {}
                            Ok(_) => bad.push(format!("{}: tree changed", path.display())),
                            Err(e) => bad.push(format!(
                                "{}: reprint fails: {}",
                                path.display(),
                                e.headline()
                            )),
                        }
                    }
                    bad
                })
            })
            .collect();
        let bad: Vec<String> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        assert!(bad.is_empty(), "round trip failures: {bad:#?}");
    });
}

#[test]
fn acr_spec_has_26_endpoints_and_no_warnings() {
    let path = workspace().join("spec/containerregistry.lap");
    let text = std::fs::read_to_string(&path).unwrap();
    let doc = lap::parse(&text, &ParseOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(doc.endpoints.len(), 26);
    assert_eq!(doc.endpoint_count, Some(26));
    assert!(doc.warnings.is_empty(), "{:?}", doc.warnings);
    assert_eq!(doc.api.as_deref(), Some("Azure Container Registry"));
    let params: usize = doc
        .endpoints
        .iter()
        .map(|e| e.required.len() + e.optional.len())
        .sum();
    assert!(params > 50, "{params} params");
    let again = lap::parse(&lap::print(&doc), &ParseOptions::default()).unwrap();
    assert!(doc.same_tree(&again));
}

#[test]
fn acr_overlay_parses_with_overlay_options() {
    let path = workspace().join("spec/containerregistry.overlay.lap");
    let Ok(text) = std::fs::read_to_string(&path) else {
        skip::skip(&format!("{} not found", path.display()));
        return;
    };
    let doc = lap::parse(&text, &ParseOptions::overlay()).unwrap_or_else(|e| panic!("{e}"));
    assert!(doc.warnings.is_empty(), "{:?}", doc.warnings);
    assert!(!doc.endpoints.is_empty());
    let again = lap::parse(&lap::print(&doc), &ParseOptions::overlay()).unwrap();
    assert!(doc.same_tree(&again));
}
