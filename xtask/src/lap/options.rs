//! Parser options: which extension directives are known.

use std::collections::HashMap;

/// How an extension directive's body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionKind {
    /// The rest of the line.
    Text,
    /// A braced param list, same grammar as `@required`.
    Params,
}

/// The shape of one extension directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionSpec {
    /// How the body is read.
    pub kind: ExtensionKind,
    /// True when the keyword must be followed by `(arg)` (like `@headers(201)`).
    pub takes_arg: bool,
}

/// Options of [`crate::lap::parse`].
#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    /// Extension directives by keyword (without `@`). Unlisted unknown directives are kept as
    /// `Unknown` nodes with a warning.
    pub extensions: HashMap<String, ExtensionSpec>,
    /// Accept a file without `@end` (with a warning) instead of failing.
    pub allow_missing_end: bool,
}

impl ParseOptions {
    /// The options for our overlay files: `@overlay`, `@name`, `@scope`, `@content_type`,
    /// `@paged`, `@omit`, `@alias`, `@note`, `@doc`, `@repeatable`, `@stream`,
    /// `@response_kind`, `@token_role` (text), `@path`, `@query`, `@header`, `@form` (params) and `@headers(CODE)`
    /// (params with an argument).
    pub fn overlay() -> Self {
        let mut options = ParseOptions::default();
        for kw in [
            "overlay",
            "name",
            "scope",
            "content_type",
            "paged",
            "omit",
            "alias",
            "note",
            "doc",
            "repeatable",
            "stream",
            "response_kind",
            "token_role",
        ] {
            options.add(kw, ExtensionKind::Text, false);
        }
        for kw in ["path", "query", "header", "form"] {
            options.add(kw, ExtensionKind::Params, false);
        }
        options.add("headers", ExtensionKind::Params, true);
        options
    }

    /// Registers (or replaces) an extension directive; returns `self` for chaining.
    pub fn add(&mut self, keyword: &str, kind: ExtensionKind, takes_arg: bool) -> &mut Self {
        self.extensions
            .insert(keyword.to_string(), ExtensionSpec { kind, takes_arg });
        self
    }
}
