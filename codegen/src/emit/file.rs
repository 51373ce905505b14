//! Token streams to formatted files.

use proc_macro2::TokenStream;

use crate::{CodegenError, GeneratedFile, HEADER};

/// Formats `tokens` (a whole file) with prettyplease under [`HEADER`].
pub fn format(path: &str, tokens: TokenStream) -> Result<GeneratedFile, CodegenError> {
    Ok(assemble(path, &pretty(path, tokens)?))
}

/// The file at `path` from prettyplease's output `text` (of one or several parts formatted
/// apart, one after the other): blank lines between items, under [`HEADER`].
pub fn assemble(path: &str, text: &str) -> GeneratedFile {
    GeneratedFile {
        path: path.to_owned(),
        contents: format!("{HEADER}\n{}", space_out(text)),
    }
}

/// Formats `tokens` (one or more items) with prettyplease; `what` names them in errors.
pub fn pretty(what: &str, tokens: TokenStream) -> Result<String, CodegenError> {
    let file = syn::parse2::<syn::File>(tokens).map_err(|e| CodegenError::InvalidTokens {
        path: what.to_owned(),
        message: e.to_string(),
    })?;
    Ok(prettyplease::unparse(&file))
}

/// The indentation of `line`, in spaces.
fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Whether `line` (trimmed) starts an item, its docs or attributes.
fn starts_item_or_fn(line: &str) -> bool {
    [
        "///", "#[", "impl", "pub ", "pub(", "fn ", "async fn", "const ", "struct ", "enum ",
        "mod ", "use ", "type ",
    ]
    .iter()
    .any(|p| line.starts_with(p))
}

/// Whether a blank line belongs between `prev` and `line` (prettyplease writes none): after
/// the module docs, after an item's closing brace, between groups of one-line items.
fn wants_blank(prev: &str, line: &str) -> bool {
    let (p, l) = (prev.trim_start(), line.trim_start());
    let same_level = indent(prev) == indent(line);
    let closes =
        matches!(l.chars().next(), Some('}' | ')' | ']' | ',' | '.')) || l.starts_with("else");
    // Within one doc comment (a code example's `use ...;` lines included), never.
    let within_docs = (p.starts_with("///") && l.starts_with("///"))
        || (p.starts_with("//!") && l.starts_with("//!"));
    if closes || within_docs {
        return false;
    }
    let after_docs = p.starts_with("//!") && !l.starts_with("//!");
    let after_item = same_level && (p == "}" || p == "};") && starts_item_or_fn(l);
    let top = indent(prev) == 0 && indent(line) == 0;
    let starts_item = l.starts_with("///") || l.starts_with("#[") || l.starts_with("impl");
    let after_line_item = top && p.ends_with(';') && starts_item;
    let group = |s: &str| {
        if s.starts_with("mod ") || s.starts_with("pub mod ") {
            1
        } else if s.starts_with("use ") || s.starts_with("pub use ") {
            2
        } else {
            0
        }
    };
    let new_group = top && p.ends_with(';') && group(p) != group(l);
    let after_inner_attrs = top && (p.starts_with("#![") || p == ")]") && !l.starts_with('#');
    after_docs || after_item || after_line_item || new_group || after_inner_attrs
}

/// Adds blank lines between items of prettyplease's output.
pub(crate) fn space_out(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut prev: Option<&str> = None;
    for line in text.lines() {
        if let Some(p) = prev
            && !p.trim().is_empty()
            && !line.trim().is_empty()
            && wants_blank(p, line)
        {
            out.push('\n');
        }
        out.push_str(line);
        out.push('\n');
        prev = Some(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_doc_comment_is_never_split_by_blank_lines() {
        let text = "/// ```\n/// use a::b;\n/// use c::d;\n/// ```\npub struct S;\n#[derive(Debug)]\npub struct T;\n";
        assert_eq!(
            space_out(text),
            "/// ```\n/// use a::b;\n/// use c::d;\n/// ```\npub struct S;\n\n#[derive(Debug)]\npub struct T;\n"
        );
    }
}
