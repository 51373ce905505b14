//! Progress bars (indicatif) for pushes and pulls, drawn on stderr only when it is a terminal,
//! the output is a table and `-q` was not given: never escape codes into a pipe, a log file or
//! next to `--output json`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::args::OutputFormat;

/// Whether bars are drawn for this run.
pub fn enabled(format: OutputFormat, quiet: bool) -> bool {
    format == OutputFormat::Table && !quiet && std::io::IsTerminal::is_terminal(&std::io::stderr())
}

/// A byte-counting bar of `total` bytes titled `title`; hidden (drawing nothing, costing
/// nothing) unless `enabled`.
pub fn bytes(enabled: bool, title: &str, total: u64) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    // The template is a constant; a bad one would be a programming error caught by the test
    // below, so fall back to the default style rather than fail a transfer over it.
    if let Ok(style) = ProgressStyle::with_template(TEMPLATE) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(title.to_owned());
    bar
}

const TEMPLATE: &str = "{msg:20!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_parses_and_hidden_bars_draw_nothing() {
        assert!(ProgressStyle::with_template(TEMPLATE).is_ok());
        let bar = bytes(false, "x", 10);
        assert!(bar.is_hidden());
        assert!(!enabled(OutputFormat::Json, false));
    }
}
