//! The LAP v0.3 parser (the format: `docs/SPEC.md` and the serializer `lap/core/formats/lap.py`
//! of <https://github.com/Lap-Platform/LAP>, and the files it publishes): `parse` text into a
//! [`Document`], `print` it back.
//!
//! The file is read one logical line per directive: lines split on `\n` (trailing `\r`s
//! dropped, a lone `\r` inside a line kept), blank and `#` lines skipped, and a line that starts
//! with neither `@` nor `#` joined onto the previous directive with a space. Braced lists take
//! the text between the first `{` and the last `}` of the line; param items are split with the
//! field-boundary rule (`", " NAME ": " TYPE`: published descriptions are unescaped and hold
//! commas and field-like text), `@errors` at `", "` + `[1-5][0-9Xx]{2}`.
//!
//! **Errors** (fatal, [`ParseError`]): no `@lap` first; no `@end` (truncated file, unless
//! [`ParseOptions::allow_missing_end`]); `@endpoint` without method or path; a list directive
//! whose line is not `{…}`; a param without `": "`, with a bad type or with junk after its
//! type; `@returns` without `(`, `)` or code; a non-numeric `@endpoints`; a malformed `@type`,
//! `@body → T` or extension; an `@errors` item without a code; types nested deeper than
//! [`MAX_TYPE_DEPTH`].
//!
//! **Warnings** (in [`Document::warnings`]): unknown directives (kept as [`Unknown`]); endpoint
//! directives before any endpoint; `@body` without an arrow; duplicate single-valued directives
//! (the last wins); `@endgroup` without `@group`; a version other than `v0.3`; an `@endpoints`
//! count that does not match; text after `@end` (ignored); a `@returns` line that starts with
//! `{` or an arrow but does not parse as fields or a type (kept as text).
//!
//! ```
//! use xtask::lap::{self, ParseOptions};
//! let doc = lap::parse("@lap v0.3\n@endpoints 0\n@end\n", &ParseOptions::default()).unwrap();
//! assert!(doc.endpoints.is_empty());
//! let again = lap::parse(&lap::print(&doc), &ParseOptions::default()).unwrap();
//! assert!(doc.same_tree(&again));
//! ```

pub mod ast;
mod error;
mod lines;
mod options;
mod params;
mod parser;
mod printer;
pub(crate) mod toc;
mod types;

pub use ast::*;
pub use error::ParseError;
pub use options::{ExtensionKind, ExtensionSpec, ParseOptions};

/// The deepest nesting of types (`[`, `map<`, `{`) the parser accepts; deeper is an error.
pub const MAX_TYPE_DEPTH: usize = 64;

/// Parses LAP text. Errors carry no file name; add one with [`ParseError::with_file`].
pub fn parse(text: &str, options: &ParseOptions) -> Result<Document, ParseError> {
    parser::parse_document(text, options)
}

/// Prints a document as canonical LAP text (the emit order of the reference serializer).
/// Parsing the output gives a tree equal to `doc` by [`Document::same_tree`].
pub fn print(doc: &Document) -> String {
    printer::print_document(doc)
}

/// Prints one type expression as LAP text (`[map{a!: str}]`, `str(date-time)?`).
pub fn print_type(ty: &TypeExpr) -> String {
    let mut out = String::new();
    printer::write_type(&mut out, ty);
    out
}
