//! Snapshots of the crate-level files and properties of the whole output.
#![allow(clippy::expect_used)]

mod common;

use acr_codegen::{GeneratedFile, HEADER, Options, generate};

fn files(api: &acr_codegen::ir::Api) -> Vec<GeneratedFile> {
    generate(api, &Options::default()).expect("generate")
}

fn file<'a>(files: &'a [GeneratedFile], path: &str) -> &'a str {
    &files
        .iter()
        .find(|f| f.path == path)
        .expect("file exists")
        .contents
}

#[test]
fn crate_level_files() {
    let out = files(&common::acr_like());
    for path in ["lib.rs", "client.rs", "support.rs", "operations/mod.rs"] {
        insta::assert_snapshot!(path.replace('/', "_"), file(&out, path));
    }
}

#[test]
fn file_list() {
    let paths: Vec<String> = files(&common::nasty())
        .into_iter()
        .map(|f| f.path)
        .collect();
    insta::assert_debug_snapshot!(paths);
}

#[test]
fn minimal_api_needs_no_support_module() {
    let out = files(&common::minimal());
    let paths: Vec<&str> = out.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        ["client.rs", "lib.rs", "models.rs", "operations/mod.rs"]
    );
    assert!(!file(&out, "lib.rs").contains("mod support"));
}

#[test]
fn every_file_is_headed_sorted_and_deterministic() {
    for api in [common::acr_like(), common::nasty(), common::minimal()] {
        let first = files(&api);
        let second = files(&api);
        assert_eq!(first, second, "output is not deterministic");
        let mut sorted: Vec<&str> = first.iter().map(|f| f.path.as_str()).collect();
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            first.iter().map(|f| f.path.as_str()).collect::<Vec<_>>()
        );
        for f in &first {
            assert!(
                f.contents.starts_with(&format!("{HEADER}\n")),
                "{} has no header",
                f.path
            );
            assert!(
                !f.contents.contains("/work/") && !f.contents.contains("/tmp/"),
                "{} has a path",
                f.path
            );
        }
    }
}

#[test]
fn runtime_and_http_paths_are_options() {
    let mut opts = Options::default();
    opts.runtime_crate = "crate::rt".to_owned();
    opts.http_crate = "::http".to_owned();
    let out = generate(&common::acr_like(), &opts).expect("generate");
    let text = file(&out, "operations/get_tags.rs");
    assert!(text.contains("crate::rt::Request::new("), "{text}");
    assert!(text.contains(" ::http::Method::GET"), "{text}");
    assert!(!text.contains(" acr_runtime::Error"), "{text}");

    let mut bad = Options::default();
    bad.runtime_crate = "not a path".to_owned();
    let err = generate(&common::acr_like(), &bad).expect_err("bad option");
    assert!(err.to_string().contains("runtime_crate"), "{err}");
}

#[test]
fn many_operations_are_grouped_into_files_and_keep_their_paths() {
    let n = acr_codegen::emit::operation::GROUP_ABOVE + 1;
    let group = acr_codegen::emit::operation::GROUP;
    let out = files(&common::many(n));
    let ops: Vec<&GeneratedFile> = out
        .iter()
        .filter(|f| f.path.starts_with("operations/") && f.path != "operations/mod.rs")
        .collect();
    let names: Vec<&str> = ops.iter().map(|f| f.path.as_str()).collect();
    let expected: Vec<String> = (0..n.div_ceil(group))
        .map(|g| format!("operations/group_{g:04}.rs"))
        .collect();
    assert_eq!(names, expected);
    let index = file(&out, "operations/mod.rs");
    assert!(index.contains("mod group_0000;"), "{index}");
    assert!(!index.contains("pub mod "), "{index}");
    // every operation's module is defined in exactly one group file and re-exported once
    for i in 0..n {
        let name = if i % 2 == 0 {
            format!("get_thing_{i}")
        } else {
            format!("create_thing_{i}")
        };
        let defined = ops
            .iter()
            .filter(|f| f.contents.contains(&format!("\npub mod {name} {{\n")))
            .count();
        assert_eq!(defined, 1, "{name}");
        let exported = index
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| *w == name)
            .count();
        assert_eq!(exported, 1, "{name}");
    }
    // below the threshold, one file per operation, as before
    let few = files(&common::many(4));
    assert!(few.iter().any(|f| f.path == "operations/get_thing_0.rs"));
}
