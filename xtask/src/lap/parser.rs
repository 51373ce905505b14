//! The document parser (stub while being written).

use super::ast::Document;
use super::error::ParseError;
use super::options::ParseOptions;

pub(crate) fn parse_document(_text: &str, _options: &ParseOptions) -> Result<Document, ParseError> {
    Err(ParseError {
        file: "<input>".into(),
        line: 1,
        col: 1,
        expected: "a finished parser".into(),
        found: "a stub".into(),
        source_line: String::new(),
    })
}
