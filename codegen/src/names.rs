//! Safe Rust identifiers from arbitrary wire names.
//!
//! Every name of a LAP file can become an identifier: `filter[timestamp][start]`,
//! `Content-Type`, `:operation`, `$reset`, names with spaces, unicode or leading digits, Rust
//! keywords. The conversions here only ever produce ASCII identifiers that are valid and that
//! pass `non_snake_case` / `non_camel_case_types`; [`Namer`] then makes them unique.

use std::collections::BTreeSet;

use proc_macro2::{Ident, Span};

/// Strict and reserved keywords of Rust 2024 (`gen` included). None of them may be an
/// identifier without `r#`, and `self`, `Self`, `crate`, `super` not even with it, so the
/// conversions append `_` (snake case) or `Value` (`Self`) instead.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Whether `word` is a Rust keyword.
pub fn is_keyword(word: &str) -> bool {
    KEYWORDS.contains(&word)
}

/// Splits a wire name into ASCII words: at every character that is not an ASCII letter or
/// digit, and at camel-case humps (`imageName`, `HTTPServer`, `v2Manifest`). A non-ASCII
/// letter or digit becomes a word of its own, `u` and its code point in hex, so that
/// `名前` and `名字` stay apart.
pub fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_alphanumeric() {
            if let Some(&prev) = current.chars().last().as_ref() {
                let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
                let hump = c.is_ascii_uppercase()
                    && (prev.is_ascii_lowercase()
                        || prev.is_ascii_digit()
                        || (prev.is_ascii_uppercase() && next_lower));
                if hump {
                    words.push(std::mem::take(&mut current));
                }
            }
            current.push(c);
        } else {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            if c.is_alphanumeric() {
                words.push(format!("u{:x}", u32::from(c)));
            }
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// The snake_case form of `name` (`imageName` → `image_name`), or `fallback` when nothing
/// of it is usable. A leading digit gets a `_` in front, a keyword a `_` behind (`type_`).
pub fn snake(name: &str, fallback: &str) -> String {
    let joined = words(name)
        .iter()
        .map(|w| w.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("_");
    let mut out = if joined.is_empty() {
        fallback.to_owned()
    } else {
        joined
    };
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if is_keyword(&out) {
        out.push('_');
    }
    out
}

/// `name` (a [`snake`] name) cut to at most `max` bytes at a word boundary when longer, so
/// that it can name a file. The cut never leaves a keyword or a trailing `_`.
pub fn shorten_snake(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let head = &name[..max];
    let cut = match head.rfind('_') {
        Some(i) if i > max / 2 => &head[..i],
        _ => head,
    };
    let mut out = cut.trim_end_matches('_').to_owned();
    if out.is_empty() || out == "_" {
        out = "operation".to_owned();
    }
    if is_keyword(&out) {
        out.push('_');
    }
    out
}

/// The PascalCase form of `name` (`artifact_architecture` → `ArtifactArchitecture`), or
/// `fallback` when nothing of it is usable. A leading digit gets `digit_prefix` in front
/// (`386` → `V386`); `Self` becomes `SelfValue`.
pub fn pascal(name: &str, fallback: &str, digit_prefix: &str) -> String {
    let joined: String = words(name)
        .iter()
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => {
                    first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase()
                }
                None => String::new(),
            }
        })
        .collect();
    let mut out = if joined.is_empty() {
        fallback.to_owned()
    } else {
        joined
    };
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, digit_prefix);
    }
    if is_keyword(&out) {
        out.push_str("Value");
    }
    out
}

/// The style of the suffix [`Namer`] adds to a taken name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `name_2`.
    Snake,
    /// `Name2`.
    Pascal,
}

/// Hands out unique names in one namespace, deterministically: the first claim of a name
/// gets it, later claims get a numeric suffix.
#[derive(Debug, Clone)]
pub struct Namer {
    used: BTreeSet<String>,
    style: Style,
}

impl Namer {
    /// A namespace of `style` names where `reserved` are already taken.
    pub fn new(style: Style, reserved: &[&str]) -> Self {
        Self {
            used: reserved.iter().map(|s| (*s).to_owned()).collect(),
            style,
        }
    }

    /// Claims `base`, or `base` with the smallest free suffix.
    pub fn claim(&mut self, base: &str) -> String {
        if self.used.insert(base.to_owned()) {
            return base.to_owned();
        }
        let stem = match self.style {
            Style::Snake => format!("{}_", base.trim_end_matches('_')),
            Style::Pascal => base.to_owned(),
        };
        let mut n = 2u32;
        loop {
            let candidate = format!("{stem}{n}");
            if self.used.insert(candidate.clone()) {
                return candidate;
            }
            n += 1;
        }
    }

    /// Whether `name` is taken.
    pub fn is_taken(&self, name: &str) -> bool {
        self.used.contains(name)
    }
}

/// Whether `s` is an identifier the conversions may hand to [`Ident::new`].
fn is_valid_ident(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_')
        && s != "_"
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !is_keyword(s)
}

/// An identifier token for `name`, which must come from [`snake`], [`pascal`] or a literal
/// in this crate. An invalid name (a bug) becomes `invalid_identifier` rather than a panic,
/// so the emitted code fails to compile where the bug is visible.
pub fn ident(name: &str) -> Ident {
    if is_valid_ident(name) {
        Ident::new(name, Span::call_site())
    } else {
        Ident::new("invalid_identifier", Span::call_site())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_handles_wild_names() {
        let cases = [
            ("imageName", "image_name"),
            ("filter[timestamp][start]", "filter_timestamp_start"),
            ("Content-Type", "content_type"),
            (":operation", "operation"),
            ("$reset", "reset"),
            ("q.options", "q_options"),
            ("with spaces here", "with_spaces_here"),
            ("HTTPServer", "http_server"),
            ("v2Manifest", "v2_manifest"),
            ("2fa", "_2fa"),
            ("type", "type_"),
            ("self", "self_"),
            ("", "x"),
            ("$$", "x"),
            ("名前", "u540d_u524d"),
            ("os.version", "os_version"),
        ];
        for (input, want) in cases {
            assert_eq!(snake(input, "x"), want, "{input:?}");
        }
    }

    #[test]
    fn pascal_handles_wild_names() {
        let cases = [
            ("artifact_architecture", "ArtifactArchitecture"),
            ("386", "V386"),
            ("amd64", "Amd64"),
            ("Self", "SelfValue"),
            ("", "Empty"),
            (
                "application/vnd.oci.image.manifest.v1+json",
                "ApplicationVndOciImageManifestV1Json",
            ),
            ("TagOrderBy", "TagOrderBy"),
        ];
        for (input, want) in cases {
            assert_eq!(pascal(input, "Empty", "V"), want, "{input:?}");
        }
    }

    #[test]
    fn long_names_are_cut_at_a_word() {
        let long = "get_the_very_long_name_of_an_operation_that_goes_on_and_on_and_on_forever";
        let cut = shorten_snake(long, 40);
        assert!(cut.len() <= 40, "{cut}");
        assert_eq!(cut, "get_the_very_long_name_of_an_operation");
        assert_eq!(shorten_snake("short", 40), "short");
        assert_eq!(shorten_snake(&"a".repeat(100), 10), "aaaaaaaaaa");
    }

    #[test]
    fn namer_suffixes_collisions() {
        let mut n = Namer::new(Style::Snake, &["client"]);
        assert_eq!(n.claim("client"), "client_2");
        assert_eq!(n.claim("a"), "a");
        assert_eq!(n.claim("a"), "a_2");
        assert_eq!(n.claim("type_"), "type_");
        assert_eq!(n.claim("type_"), "type_2");
        let mut p = Namer::new(Style::Pascal, &["Option"]);
        assert_eq!(p.claim("Option"), "Option2");
    }

    #[test]
    fn ident_never_panics() {
        assert_eq!(ident("fine").to_string(), "fine");
        assert_eq!(ident("type").to_string(), "invalid_identifier");
        assert_eq!(ident("_").to_string(), "invalid_identifier");
        assert_eq!(ident("1a").to_string(), "invalid_identifier");
        assert_eq!(ident("").to_string(), "invalid_identifier");
    }
}
