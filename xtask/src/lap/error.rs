//! The parse error: `error: FILE:LINE:COL: expected X, found Y`, then the line and a caret.

/// A fatal parse error, rendered rustc-like:
///
/// ```text
/// error: spec.lap:3:13: expected `)`, found end of line
///   |
/// 3 | @returns(200
///   |             ^
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ParseError {
    /// The file name shown in the message (`<input>` until [`ParseError::with_file`]).
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column in chars.
    pub col: u32,
    /// What the parser expected (`` `)` ``, `a type`…).
    pub expected: String,
    /// What it found (`` `x` ``, `end of line`…).
    pub found: String,
    /// The offending physical line (without its newline).
    pub source_line: String,
}

/// Lines longer than this many chars are shown as a window around the column.
const WINDOW: usize = 60;

impl ParseError {
    /// Sets the file name shown in the message.
    pub fn with_file(mut self, file: impl Into<String>) -> Self {
        self.file = file.into();
        self
    }

    /// The first line alone: `FILE:LINE:COL: expected X, found Y` (no `error: ` prefix).
    pub fn headline(&self) -> String {
        format!(
            "{}:{}:{}: expected {}, found {}",
            self.file, self.line, self.col, self.expected, self.found
        )
    }

    fn render(&self) -> String {
        let chars: Vec<char> = self
            .source_line
            .chars()
            .map(|c| {
                if c.is_control() || c == '\u{a0}' {
                    ' '
                } else {
                    c
                }
            })
            .collect();
        let col = (self.col.max(1) as usize - 1).min(chars.len());
        let (start, prefix) = if col > WINDOW {
            (col - WINDOW, "…")
        } else {
            (0, "")
        };
        let end = (col + WINDOW).min(chars.len());
        let suffix = if end < chars.len() { "…" } else { "" };
        let shown: String = chars[start..end].iter().collect();
        let caret_col = col - start + prefix.chars().count();
        let num = self.line.to_string();
        let pad = " ".repeat(num.len());
        format!(
            "error: {}\n{pad} |\n{num} | {prefix}{shown}{suffix}\n{pad} | {}^",
            self.headline(),
            " ".repeat(caret_col)
        )
    }
}

/// Describes the text at the start of `rest` for a `found …` message.
pub(crate) fn describe_found(rest: &str) -> String {
    let Some(first) = rest.chars().next() else {
        return "end of line".to_string();
    };
    if first == '@' {
        let word: String = rest
            .chars()
            .skip(1)
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(24)
            .collect();
        return format!("`@{word}`");
    }
    if !(first.is_alphanumeric() || first == '_') {
        return match first {
            ' ' => "a space".to_string(),
            '\t' => "a tab".to_string(),
            '`' => "'`'".to_string(),
            c if c.is_control() => format!("{:?}", c),
            c => format!("`{c}`"),
        };
    }
    let word: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .take(24)
        .collect();
    format!("`{word}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(line: &str, col: u32) -> ParseError {
        ParseError {
            file: "f.lap".into(),
            line: 7,
            col,
            expected: "`)`".into(),
            found: "end of line".into(),
            source_line: line.into(),
        }
    }

    #[test]
    fn renders_caret_under_column() {
        let text = err("@returns(200", 13).to_string();
        assert_eq!(
            text,
            "error: f.lap:7:13: expected `)`, found end of line\n  |\n7 | @returns(200\n  |             ^"
        );
    }

    #[test]
    fn long_lines_are_windowed() {
        let line = "x".repeat(500);
        let text = err(&line, 300).to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[2].starts_with("7 | …"));
        assert!(lines[2].ends_with('…'));
        let caret = lines[3].find('^').unwrap();
        assert_eq!(lines[2].chars().nth(caret), Some('x'));
        assert_eq!(
            lines[3].chars().count(),
            lines[2].chars().take(caret + 1).count()
        );
    }

    #[test]
    fn describes_found_tokens() {
        assert_eq!(describe_found(""), "end of line");
        assert_eq!(describe_found("abc def"), "`abc`");
        assert_eq!(describe_found("}x"), "`}`");
    }
}
