//! Doc comments: spec text made safe for rustdoc and clippy.
//!
//! Spec text is prose, not Markdown: it holds `[brackets]`, `<tags>`, backticks, bare URLs,
//! indented lines (which Markdown would turn into doctests) and list markers. [`lines`]
//! escapes all of that so `cargo doc` with `-D warnings` and clippy's doc lints stay quiet;
//! [`attrs`] turns the lines into `#[doc]` attributes.

use proc_macro2::TokenStream;
use quote::quote;

/// Characters that end a URL in running text.
fn ends_url(c: char) -> bool {
    c.is_whitespace() || matches!(c, '<' | '>' | '"' | '`' | '\\') || c.is_control()
}

/// Escapes Markdown in one line of running text (no URL inside).
fn escape_text(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '\\' | '`' | '[' | ']' | '<' | '>' | '*' | '_' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
}

/// Escapes one line: code spans (balanced backticks) stay code, URLs become autolinks
/// (`<https://…>`), everything else is escaped so it renders as written. A leading list,
/// heading or quote marker is escaped too.
fn escape_line(line: &str) -> String {
    let ticks = line.matches('`').count();
    if ticks < 2 || ticks % 2 == 1 {
        return escape_block_start(escape_prose(line));
    }
    let mut out = String::new();
    for (i, part) in line.split('`').enumerate() {
        if i % 2 == 1 {
            out.push('`');
            out.push_str(part);
            out.push('`');
        } else {
            out.push_str(&escape_prose(part));
        }
    }
    escape_block_start(out)
}

/// A Markdown link to a web page at the start of `text` (`[the spec](https://…)`): the
/// link text and the URL, and the length of the whole link.
fn web_link(text: &str) -> Option<(&str, &str, usize)> {
    let inner = text.strip_prefix('[')?;
    let close = inner.find(']')?;
    let label = &inner[..close];
    let target = inner[close + 1..].strip_prefix('(')?;
    let end = target.find(')')?;
    let url = &target[..end];
    let is_web =
        find_url(url) == Some(0) && !url.contains(char::is_whitespace) && !url.contains(['<', '>']);
    (is_web && !label.contains('[')).then_some((label, url, 1 + close + 2 + end + 1))
}

/// Escapes running text that holds no code span: Markdown links to web pages stay links,
/// bare URLs become autolinks, the rest is escaped.
fn escape_prose(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(open) = rest.find('[') {
        match web_link(&rest[open..]) {
            Some((label, url, len)) => {
                out.push_str(&escape_urls(&rest[..open]));
                out.push('[');
                out.push_str(&escape_urls(label));
                out.push_str("](");
                out.push_str(url);
                out.push(')');
                rest = &rest[open + len..];
            }
            None => {
                out.push_str(&escape_urls(&rest[..=open]));
                rest = &rest[open + 1..];
            }
        }
    }
    out.push_str(&escape_urls(rest));
    out
}

/// Escapes text: bare URLs become autolinks, the rest is escaped.
fn escape_urls(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = find_url(rest) {
        escape_text(&rest[..start], &mut out);
        let url_and_more = &rest[start..];
        let end = url_and_more.find(ends_url).unwrap_or(url_and_more.len());
        let mut url = &url_and_more[..end];
        // Trailing punctuation belongs to the sentence, not the URL.
        while let Some(last) = url.chars().last() {
            let unbalanced_paren =
                last == ')' && url.matches('(').count() < url.matches(')').count();
            if matches!(last, '.' | ',' | ';' | ':' | '!' | '?' | '\'' | ']') || unbalanced_paren {
                url = &url[..url.len() - last.len_utf8()];
            } else {
                break;
            }
        }
        if url.len() <= "https://".len() {
            // Only a scheme: escape it as text.
            escape_text(url, &mut out);
        } else {
            out.push('<');
            out.push_str(url);
            out.push('>');
        }
        rest = &url_and_more[url.len()..];
    }
    escape_text(rest, &mut out);
    out
}

/// The byte offset of the first `http://` or `https://` in `text`.
fn find_url(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    [lower.find("http://"), lower.find("https://")]
        .into_iter()
        .flatten()
        .min()
}

/// Escapes a marker at the start of an (already escaped) line that Markdown would read as a
/// block: `#` headings, `-`/`+` lists, `1.` / `1)` ordered lists, `=` setext underlines.
fn escape_block_start(line: String) -> String {
    let first = line.chars().next();
    match first {
        Some('#' | '-' | '+' | '=') => format!("\\{line}"),
        Some(c) if c.is_ascii_digit() => {
            let digits = line.chars().take_while(char::is_ascii_digit).count();
            match line[digits..].chars().next() {
                Some('.' | ')') => format!("{}\\{}", &line[..digits], &line[digits..]),
                _ => line,
            }
        }
        _ => line,
    }
}

/// The doc text split into escaped lines: leading whitespace dropped (no accidental code
/// blocks), runs of blank lines kept as one paragraph break, no blank lines at either end.
pub fn lines(text: &str) -> Vec<String> {
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out: Vec<String> = Vec::new();
    for raw in normalized.split('\n') {
        let line = raw.trim();
        if line.is_empty() {
            if out.last().is_some_and(|l| !l.is_empty()) {
                out.push(String::new());
            }
            continue;
        }
        out.push(escape_line(line));
    }
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

/// `text` as inline code (`` `imageName` ``), or escaped text when it holds a backtick or a
/// line break.
pub fn code(text: &str) -> String {
    if text.is_empty()
        || text.contains(['`', '\n', '\r'])
        || text.starts_with(' ')
        || text.ends_with(' ')
    {
        let mut out = String::new();
        escape_text(text, &mut out);
        format!("\"{out}\"")
    } else {
        format!("`{text}`")
    }
}

/// The spec's docs when they hold any text, else `fallback` (already Markdown).
pub fn or_fallback(docs: Option<&str>, fallback: &str) -> Vec<String> {
    let from_spec = docs.map(lines).unwrap_or_default();
    if from_spec.is_empty() {
        vec![fallback.to_owned()]
    } else {
        from_spec
    }
}

/// `#[doc = " line"]` attributes for already escaped `lines`.
pub fn attrs(lines: &[String]) -> TokenStream {
    let docs = lines.iter().map(|l| {
        let text = if l.is_empty() {
            String::new()
        } else {
            format!(" {l}")
        };
        quote!(#[doc = #text])
    });
    quote!(#(#docs)*)
}

/// Hand-written Markdown as doc lines, kept as written (code blocks keep their indentation;
/// trailing spaces and a trailing empty line dropped), after an empty line that separates it
/// from the generated lines before it.
pub fn markdown(text: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    out.extend(text.lines().map(|l| l.trim_end().to_owned()));
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

/// `#![doc = " line"]` inner attributes (module docs) for already escaped `lines`.
pub fn inner_attrs(lines: &[String]) -> TokenStream {
    let docs = lines.iter().map(|l| {
        let text = if l.is_empty() {
            String::new()
        } else {
            format!(" {l}")
        };
        quote!(#![doc = #text])
    });
    quote!(#(#docs)*)
}

/// The first line of the spec's docs, escaped, for one-line contexts (argument lists).
pub fn one_line(docs: Option<&str>) -> Option<String> {
    let joined = docs?.split_whitespace().collect::<Vec<_>>().join(" ");
    let line = escape_line(&joined);
    (!line.is_empty()).then_some(line)
}

/// The doc lines every paged operation's method carries: what awaiting does (one page) and
/// how to read the whole listing.
pub fn paged_lines() -> Vec<String> {
    [
        "**Paged.** Awaiting the returned builder sends **one** request and returns **one \
         page** (the first, or the one `resume_from` names), with its `Link` header: it does \
         not follow the listing. For the whole listing, use `into_stream()` (every item of \
         every page) or `into_pages()` (whole pages, each with the continuation to store and \
         resume from with `resume_from`).",
        "",
        "Optional parameters are set on the builder.",
    ]
    .iter()
    .map(|l| (*l).to_owned())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_written_markdown_keeps_its_code_indentation() {
        let got = markdown("# Guide\n\n```rust\nfn f() {\n    g();  \n}\n```\n\n");
        assert_eq!(
            got,
            [
                "", "# Guide", "", "```rust", "fn f() {", "    g();", "}", "```"
            ]
        );
    }

    #[test]
    fn escapes_markdown_and_wraps_urls() {
        let got = lines(
            "  Gets [tags] of <repo>, see https://aka.ms/acr/authorization.\n\n\n    indented `code\n- not a list\n1. not ordered\nkeeps `a[0] <b>` spans",
        );
        assert_eq!(
            got,
            vec![
                "Gets \\[tags\\] of \\<repo\\>, see <https://aka.ms/acr/authorization>.".to_owned(),
                String::new(),
                "indented \\`code".to_owned(),
                "\\- not a list".to_owned(),
                "1\\. not ordered".to_owned(),
                "keeps `a[0] <b>` spans".to_owned(),
            ]
        );
    }

    #[test]
    fn url_punctuation_and_parens() {
        assert_eq!(
            lines("(see http://x.io/a_(b)), ok"),
            vec!["(see <http://x.io/a_(b)>), ok".to_owned()]
        );
        assert_eq!(lines("https:// alone"), vec!["https:// alone".to_owned()]);
        assert_eq!(
            lines("See [the spec](https://x.io/s) and [x](y) [a]"),
            vec!["See [the spec](https://x.io/s) and \\[x\\](y) \\[a\\]".to_owned()]
        );
    }

    #[test]
    fn code_spans() {
        assert_eq!(code("imageName"), "`imageName`");
        assert_eq!(code("a`b"), "\"a\\`b\"");
        assert_eq!(code(""), "\"\"");
    }

    #[test]
    fn fallback_when_empty() {
        assert_eq!(
            or_fallback(Some("  \n "), "The x."),
            vec!["The x.".to_owned()]
        );
        assert_eq!(or_fallback(None, "The x."), vec!["The x.".to_owned()]);
    }
}
