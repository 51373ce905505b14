//! Printing results: one JSON value with `--output json`, lines of text otherwise.

use crate::args::OutputFormat;
use crate::failure::Failure;

/// Prints `json` as one line (json format) or `text` (table format).
pub fn emit(format: OutputFormat, json: serde_json::Value, text: impl FnOnce() -> String) {
    match format {
        OutputFormat::Json => println!("{json}"),
        OutputFormat::Table => {
            let text = text();
            if !text.is_empty() {
                println!("{}", text.trim_end_matches('\n'));
            }
        }
    }
}

/// A serializable value as JSON.
pub fn to_json(value: &impl serde::Serialize) -> Result<serde_json::Value, Failure> {
    serde_json::to_value(value).map_err(|e| Failure::failed(format!("cannot render JSON: {e}")))
}

/// A JSON value as indented text, for the table format of attribute objects.
pub fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}
