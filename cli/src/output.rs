//! Printing results: one JSON value with `--output json`, lines of text otherwise.

use crate::args::OutputFormat;
use crate::failure::Failure;

/// Prints `json` as one line (json format) or `text` (table format). A reader that went away
/// (`acr repo list | head`, a broken pipe) is not an error of the command: the output is
/// dropped instead of panicking as `println!` does.
pub fn emit(format: OutputFormat, json: serde_json::Value, text: impl FnOnce() -> String) {
    use std::io::Write;
    let line = match format {
        OutputFormat::Json => json.to_string(),
        OutputFormat::Table => text().trim_end_matches('\n').to_owned(),
    };
    if format == OutputFormat::Table && line.is_empty() {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{line}").and_then(|()| out.flush()) {
        tracing::debug!("stdout closed: {e}");
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
