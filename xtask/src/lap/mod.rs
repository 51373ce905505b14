//! The LAP v0.3 parser (lap-format.md): `parse` text into a [`Document`], `print` it back.
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
