//! The spec is the only place that knows the wire (DESIGN.md, "Crates and rooms"): no
//! hand-written library code holds an endpoint path. This test fails when a string literal in
//! `runtime/src`, `cli/src` or a hand-written module of `generated/src` (a file without the
//! `@generated` header, as `xtask::tree::hand_written_modules` finds them) contains `/v2/`,
//! `/acr/v1/` or `/oauth2/`.
//!
//! The rule, precise enough to hold without judgement: the sources are lexed as Rust tokens,
//! so comments are not looked at; doc comments (`#[doc = ".."]` attributes) are skipped, so
//! docs may cite the paths of the specs they describe; items under `#[cfg(test)]` are skipped,
//! so unit tests may build requests and fake servers. Every other string literal (plain, raw or
//! byte) counts: a path in a `format!`, an error message or a log line is a path the code
//! knows.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use proc_macro2::{Delimiter, TokenStream, TokenTree};

/// What a hand-written path literal contains.
const WIRE: &[&str] = &["/v2/", "/acr/v1/", "/oauth2/"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The files the rule covers.
fn covered_files() -> Vec<PathBuf> {
    let root = root();
    let mut files = Vec::new();
    rust_files(&root.join("runtime/src"), &mut files);
    rust_files(&root.join("cli/src"), &mut files);
    let generated = root.join("generated/src");
    for module in xtask::tree::hand_written_modules(&generated).unwrap() {
        let dir = generated.join(&module);
        if dir.is_dir() {
            rust_files(&dir, &mut files);
        } else {
            files.push(generated.join(format!("{module}.rs")));
        }
    }
    files
}

/// Whether the attribute group `[..]` is `#[doc ..]`.
fn is_doc(group: &proc_macro2::Group) -> bool {
    matches!(group.stream().into_iter().next(), Some(TokenTree::Ident(i)) if i == "doc")
}

/// Whether the attribute group `[..]` is `#[cfg(test)]` (or a `cfg` naming `test` in any
/// combination: `cfg(all(test, ..))`).
fn is_cfg_test(group: &proc_macro2::Group) -> bool {
    let mut tokens = group.stream().into_iter();
    matches!(tokens.next(), Some(TokenTree::Ident(i)) if i == "cfg")
        && tokens.any(|t| mentions_test(&t))
}

fn mentions_test(t: &TokenTree) -> bool {
    match t {
        TokenTree::Ident(i) => i == "test",
        TokenTree::Group(g) => g.stream().into_iter().any(|t| mentions_test(&t)),
        _ => false,
    }
}

/// The string literals of `stream` outside doc attributes and `#[cfg(test)]` items, with
/// their lines.
fn literals(stream: TokenStream, out: &mut Vec<(usize, String)>) {
    let tokens: Vec<TokenTree> = stream.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Punct(p) if p.as_char() == '#' => {
                // `#[..]` or `#![..]`
                let mut j = i + 1;
                if matches!(tokens.get(j), Some(TokenTree::Punct(p)) if p.as_char() == '!') {
                    j += 1;
                }
                if let Some(TokenTree::Group(g)) = tokens.get(j)
                    && g.delimiter() == Delimiter::Bracket
                {
                    if is_doc(g) {
                        i = j + 1;
                        continue;
                    }
                    if is_cfg_test(g) {
                        // skip the item: up to its body `{..}` or its closing `;`
                        let mut k = j + 1;
                        while let Some(t) = tokens.get(k) {
                            k += 1;
                            match t {
                                TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => break,
                                TokenTree::Punct(p) if p.as_char() == ';' => break,
                                _ => {}
                            }
                        }
                        i = k;
                        continue;
                    }
                }
                i += 1;
            }
            TokenTree::Group(g) => {
                literals(g.stream(), out);
                i += 1;
            }
            TokenTree::Literal(l) => {
                let text = l.to_string();
                let is_string = text.starts_with('"')
                    || text.starts_with("r\"")
                    || text.starts_with("r#")
                    || text.starts_with("b\"")
                    || text.starts_with("br");
                if is_string {
                    out.push((l.span().start().line, text));
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
}

/// The wire literals of one source text: `(line, literal)`.
fn wire_literals(source: &str) -> Vec<(usize, String)> {
    let stream: TokenStream = source.parse().expect("the source lexes");
    let mut all = Vec::new();
    literals(stream, &mut all);
    all.into_iter()
        .filter(|(_, text)| WIRE.iter().any(|w| text.contains(w)))
        .collect()
}

#[test]
fn no_endpoint_path_in_hand_written_library_code() {
    let root = root();
    let files = covered_files();
    assert!(
        files
            .iter()
            .any(|f| f.ends_with("generated/src/blob/push.rs")),
        "the hand-written blob workflows are covered: {files:?}"
    );
    let mut found = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        for (line, text) in wire_literals(&source) {
            let rel = file.strip_prefix(&root).unwrap_or(file);
            found.push(format!("{}:{line}: {text}", rel.display()));
        }
    }
    assert!(
        found.is_empty(),
        "endpoint paths in hand-written library code (the spec and the generated operations \
         are the only place that knows the wire; compose the generated operations instead):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_rule_sees_code_and_skips_docs_comments_and_tests() {
    let source = r##"
        //! Module docs may cite `GET /v2/<name>/tags/list`.
        /// So may item docs: `/oauth2/token`.
        fn f(repo: &str) -> String {
            // a comment: /acr/v1/_catalog
            let _ = r#"/oauth2/exchange"#;
            format!("/v2/{repo}/blobs/uploads/")
        }
        #[doc = "/acr/v1/x"]
        struct S;
        #[cfg(test)]
        mod tests {
            fn t() { let _ = "/v2/a/blobs/uploads/u"; }
        }
        #[cfg(all(test, unix))]
        fn u() { let _ = "/v2/"; }
        fn g() -> &'static str { "/acr/v1/_catalog" }
    "##;
    let found: Vec<usize> = wire_literals(source).into_iter().map(|(l, _)| l).collect();
    // the raw string, the format! and g's literal; nothing from docs, comments or tests
    assert_eq!(found, vec![6, 7, 17], "{:?}", wire_literals(source));
}
