//! The document parser: one logical line per directive, dispatched on its keyword.

use nom::Parser;
use nom::bytes::complete::take_while;
use nom::character::complete::char;
use nom::sequence::preceded;

use super::ast::{
    Document, Endpoint, ErrorItem, ExtBody, Extension, Pos, Returns, ReturnsBody, TypeDef,
    TypeDefBody, Unknown, Warning,
};
use super::error::{ParseError, describe_found};
use super::lines::{Logical, logical_lines};
use super::options::{ExtensionKind, ParseOptions};
use super::params::{err_at, param_list, whole_type};
use super::types::{Cx, PResult, field_list};

/// Directives that only make sense inside an endpoint.
const ENDPOINT_ONLY: &[&str] = &[
    "desc",
    "body",
    "required",
    "optional",
    "returns",
    "errors",
    "example_request",
];

/// An error found on a line: byte offset in the logical line and what was expected.
#[derive(Debug)]
struct LineErr {
    off: usize,
    expected: String,
}

type LResult<T> = Result<T, LineErr>;

fn line_err(off: usize, expected: impl Into<String>) -> LineErr {
    LineErr {
        off,
        expected: expected.into(),
    }
}

/// Splits `@keyword` off a directive line; returns the keyword and the rest.
fn head(text: &str) -> Option<(&str, &str)> {
    let parsed: PResult<'_, &str> = preceded(
        char('@'),
        take_while(|c: char| c.is_ascii_alphanumeric() || c == '_'),
    )
    .parse(text);
    parsed.ok().map(|(rest, kw)| (kw, rest))
}

/// The value of a rest-of-line directive: leading spaces dropped, the rest verbatim.
fn value(rest: &str) -> &str {
    rest.trim_start_matches(' ')
}

struct State<'o> {
    doc: Document,
    current: Option<Endpoint>,
    group: Option<String>,
    options: &'o ParseOptions,
    endpoints_pos: Pos,
}

impl State<'_> {
    fn warn(&mut self, pos: Pos, message: impl Into<String>) {
        self.doc.warnings.push(Warning {
            pos,
            message: message.into(),
        });
    }

    fn finish_endpoint(&mut self) {
        if let Some(ep) = self.current.take() {
            self.doc.endpoints.push(ep);
        }
    }

    fn unknown(&mut self, line: &Logical<'_>, kw: &str, rest: &str, message: String) {
        let pos = line.pos(0);
        self.warn(pos, message);
        let node = Unknown {
            keyword: kw.to_string(),
            text: value(rest).to_string(),
            pos,
        };
        match &mut self.current {
            Some(ep) => ep.unknown.push(node),
            None => self.doc.unknown.push(node),
        }
    }
}

/// Parses a whole document.
pub(crate) fn parse_document(text: &str, options: &ParseOptions) -> Result<Document, ParseError> {
    let lines = logical_lines(text);
    let mut st = State {
        doc: Document::default(),
        current: None,
        group: None,
        options,
        endpoints_pos: Pos::default(),
    };
    let Some(first) = lines.first() else {
        return Err(ParseError {
            file: "<input>".into(),
            line: 1,
            col: 1,
            expected: "`@lap`".into(),
            found: "end of file".into(),
            source_line: text
                .split('\n')
                .next()
                .unwrap_or("")
                .trim_end_matches('\r')
                .to_string(),
        });
    };
    match head(&first.text) {
        Some(("lap", rest)) => {
            let version = value(rest).to_string();
            if version != "v0.3" {
                st.warn(first.pos(0), format!("LAP version `{version}` is not v0.3"));
            }
            st.doc.lap_version = version;
        }
        _ => return Err(to_parse_error(first, line_err(0, "`@lap`"))),
    }
    let mut end_line = None;
    for line in &lines[1..] {
        if let Some(end) = end_line {
            st.warn(
                line.pos(0),
                format!("text after `@end` (line {end}) is ignored"),
            );
            break;
        }
        if let Some(("end", rest)) = head(&line.text) {
            if !rest.trim_matches([' ', '\t']).is_empty() {
                st.warn(line.pos(0), "text after `@end` is ignored");
            }
            st.finish_endpoint();
            st.doc.end = Some(line.pos(0));
            end_line = Some(line.line());
            continue;
        }
        directive(&mut st, line).map_err(|e| to_parse_error(line, e))?;
    }
    st.finish_endpoint();
    if st.doc.end.is_none() {
        let last_line = u32::try_from(text.split('\n').count()).unwrap_or(u32::MAX);
        let at = if text.ends_with('\n') {
            last_line
        } else {
            last_line.saturating_add(1)
        };
        if !options.allow_missing_end {
            return Err(ParseError {
                file: "<input>".into(),
                line: at,
                col: 1,
                expected: "`@end`".into(),
                found: "end of file (truncated?)".into(),
                source_line: String::new(),
            });
        }
        st.warn(Pos::new(at, 1), "missing `@end` (truncated file?)");
    }
    if let Some(declared) = st.doc.endpoint_count {
        let found = st.doc.endpoints.len();
        if usize::try_from(declared).ok() != Some(found) {
            let pos = st.endpoints_pos;
            st.warn(
                pos,
                format!("`@endpoints {declared}` but the file has {found} endpoints"),
            );
        }
    }
    Ok(st.doc)
}

/// Turns a line error into the public error.
fn to_parse_error(line: &Logical<'_>, e: LineErr) -> ParseError {
    let pos = line.pos(e.off);
    let rest = line.text.get(e.off..).unwrap_or("");
    ParseError {
        file: "<input>".into(),
        line: pos.line,
        col: pos.col,
        expected: e.expected,
        found: describe_found(rest),
        source_line: line.phys_line(e.off).to_string(),
    }
}

/// Offset of `rest` in the line (it is a suffix of the line's text).
fn off_of(line: &Logical<'_>, rest: &str) -> usize {
    line.text.len() - rest.len()
}

/// Sets a single-valued slot, warning when it was already set.
fn set_once(
    slot: &mut Option<String>,
    value: &str,
    warnings: &mut Vec<Warning>,
    pos: Pos,
    kw: &str,
) {
    if slot.is_some() {
        warnings.push(Warning {
            pos,
            message: format!("duplicate `@{kw}`; the last one wins"),
        });
    }
    *slot = Some(value.to_string());
}

/// Handles one directive line (not `@lap`, not `@end`).
fn directive(st: &mut State<'_>, line: &Logical<'_>) -> LResult<()> {
    let text: &str = &line.text;
    let Some((kw, rest)) = head(text) else {
        // A continuation line before the first directive cannot happen after `@lap`.
        return Err(line_err(0, "a directive starting with `@`"));
    };
    let pos = line.pos(0);
    if ENDPOINT_ONLY.contains(&kw) && st.current.is_none() {
        st.unknown(
            line,
            kw,
            rest,
            format!("`@{kw}` outside an endpoint is ignored"),
        );
        return Ok(());
    }
    let doc = &mut st.doc;
    match kw {
        "lap" => st.warn(pos, "duplicate `@lap` is ignored"),
        "api" => set_once(&mut doc.api, value(rest), &mut doc.warnings, pos, kw),
        "base" => set_once(&mut doc.base, value(rest), &mut doc.warnings, pos, kw),
        "version" => set_once(&mut doc.version, value(rest), &mut doc.warnings, pos, kw),
        "toc" => set_once(&mut doc.toc, value(rest), &mut doc.warnings, pos, kw),
        "hint" => doc.hints.push(value(rest).to_string()),
        "auth" => match &mut st.current {
            Some(ep) => set_once(&mut ep.auth, value(rest), &mut doc.warnings, pos, kw),
            None => set_once(&mut doc.auth, value(rest), &mut doc.warnings, pos, kw),
        },
        "endpoints" => {
            let v = value(rest);
            let n = v
                .trim_end_matches(' ')
                .parse::<u32>()
                .map_err(|_| line_err(off_of(line, v), "a number"))?;
            if st.doc.endpoint_count.is_some() {
                st.warn(pos, "duplicate `@endpoints`; the last one wins");
            }
            st.doc.endpoint_count = Some(n);
            st.endpoints_pos = pos;
        }
        "common_fields" => {
            let params = braced_params(line, rest)?;
            st.doc
                .common_fields
                .get_or_insert_with(Vec::new)
                .extend(params);
        }
        "type" => {
            let def = type_def(line, rest)?;
            st.doc.types.push(def);
        }
        "group" => st.group = Some(value(rest).to_string()),
        "endgroup" => {
            if st.group.is_none() {
                st.warn(pos, "`@endgroup` without an open `@group`");
            }
            st.group = None;
        }
        "endpoint" => {
            st.finish_endpoint();
            let (method, path) = endpoint_head(line, rest)?;
            st.current = Some(Endpoint {
                method,
                path,
                group: st.group.clone(),
                pos,
                ..Endpoint::default()
            });
        }
        "desc" | "example_request" | "body" | "required" | "optional" | "returns" | "errors" => {
            endpoint_directive(st, line, kw, rest)?;
        }
        _ => {
            if let Some(spec) = st.options.extensions.get(kw).copied() {
                let ext = extension(line, kw, rest, spec.kind, spec.takes_arg)?;
                match &mut st.current {
                    Some(ep) => ep.extensions.push(ext),
                    None => st.doc.extensions.push(ext),
                }
            } else {
                st.unknown(line, kw, rest, format!("unknown directive `@{kw}`"));
            }
        }
    }
    Ok(())
}

/// The endpoint-only directives (the caller checked there is a current endpoint).
fn endpoint_directive(st: &mut State<'_>, line: &Logical<'_>, kw: &str, rest: &str) -> LResult<()> {
    let pos = line.pos(0);
    let body_arrow = value(rest)
        .strip_prefix('→')
        .or_else(|| value(rest).strip_prefix("->"));
    if kw == "body" && body_arrow.is_none() {
        st.unknown(
            line,
            kw,
            rest,
            "`@body` without `→ Type` is ignored".to_string(),
        );
        return Ok(());
    }
    let warnings = &mut st.doc.warnings;
    let Some(ep) = st.current.as_mut() else {
        return Ok(());
    };
    match kw {
        "desc" => set_once(&mut ep.desc, value(rest), warnings, pos, kw),
        "example_request" => set_once(&mut ep.example_request, value(rest), warnings, pos, kw),
        "required" => {
            let params = braced_params(line, rest)?;
            ep.required.extend(params);
        }
        "optional" => {
            let params = braced_params(line, rest)?;
            ep.optional.extend(params);
        }
        "errors" => {
            let (start, end) = braces(line, rest)?;
            let items = error_items(line, start, end)?;
            ep.errors.extend(items);
        }
        "returns" => {
            let r = returns(line, rest, warnings)?;
            ep.returns.push(r);
        }
        "body" => {
            let after = body_arrow.unwrap_or_default().trim_start_matches(' ');
            let cx = Cx {
                line,
                end: line.text.len(),
                probe: false,
            };
            let (_, ty) = whole_type(&cx, after).map_err(|e| lerr(&cx, e))?;
            if ep.body.is_some() {
                warnings.push(Warning {
                    pos,
                    message: "duplicate `@body`; the last one wins".into(),
                });
            }
            ep.body = Some(ty);
        }
        _ => {}
    }
    Ok(())
}

fn lerr(cx: &Cx<'_, '_>, e: nom::Err<super::types::TyErr<'_>>) -> LineErr {
    let (off, expected) = err_at(cx, e);
    line_err(off, expected)
}

/// `@endpoint METHOD PATH`: split at the first space.
fn endpoint_head(line: &Logical<'_>, rest: &str) -> LResult<(String, String)> {
    if !rest.is_empty() && !rest.starts_with(' ') {
        return Err(line_err(off_of(line, rest), "a space after `@endpoint`"));
    }
    let v = value(rest);
    let method_len = v.find(' ').unwrap_or(v.len());
    if method_len == 0 {
        return Err(line_err(off_of(line, v), "a method"));
    }
    let path = value(&v[method_len..]);
    if path.is_empty() {
        return Err(line_err(off_of(line, path), "a path after the method"));
    }
    Ok((v[..method_len].to_string(), path.to_string()))
}

/// Finds the braces of a `{…}` list that must fill the rest of the line: returns the byte
/// range of the content (between the first `{` and the last `}`).
fn braces(line: &Logical<'_>, rest: &str) -> LResult<(usize, usize)> {
    let v = value(rest);
    let open = off_of(line, v);
    if !v.starts_with('{') {
        return Err(line_err(open, "`{`"));
    }
    let text: &str = &line.text;
    let trimmed = text.trim_end_matches([' ', '\t']);
    if !trimmed.ends_with('}') || trimmed.len() - 1 <= open {
        return Err(line_err(
            text.len(),
            "`}` closing the list at the end of the line",
        ));
    }
    Ok((open + 1, trimmed.len() - 1))
}

fn braced_params(line: &Logical<'_>, rest: &str) -> LResult<Vec<super::ast::Param>> {
    let (start, end) = braces(line, rest)?;
    let cx = Cx {
        line,
        end,
        probe: false,
    };
    let (_, params) = param_list(&cx, &line.text[start..end]).map_err(|e| lerr(&cx, e))?;
    Ok(params)
}

/// `@returns(CODE) …` in its four forms plus `→ T`.
fn returns(line: &Logical<'_>, rest: &str, warnings: &mut Vec<Warning>) -> LResult<Returns> {
    let pos = line.pos(0);
    let Some(inner) = rest.strip_prefix('(') else {
        return Err(line_err(off_of(line, rest), "`(` after `@returns`"));
    };
    let Some(close) = inner.find(')') else {
        return Err(line_err(line.text.len(), "`)` closing `@returns(`"));
    };
    let code = &inner[..close];
    if code.trim().is_empty() {
        return Err(line_err(off_of(line, inner), "a status code"));
    }
    let b = value(&inner[close + 1..]);
    let body = if b.is_empty() {
        ReturnsBody::None
    } else if b.starts_with('{') {
        let cx = Cx {
            line,
            end: line.text.len(),
            probe: false,
        };
        match field_list(&cx, b, 0) {
            Ok((r, fields)) if r.trim_end_matches(' ').is_empty() => {
                ReturnsBody::Fields { fields, tail: None }
            }
            Ok((r, fields)) if r.starts_with(" #") => {
                let t = &r[2..];
                ReturnsBody::Fields {
                    fields,
                    tail: Some(t.strip_prefix(' ').unwrap_or(t).to_string()),
                }
            }
            other => {
                let (off, expected) = match other {
                    Ok((r, _)) => (off_of(line, r), "` # ` or end of line after the fields"),
                    Err(e) => err_at(&cx, e),
                };
                let at = line.pos(off);
                warnings.push(Warning {
                    pos: line.pos(off_of(line, b)),
                    message: format!(
                        "`@returns` body starts with `{{` but is not a field list (expected {expected} at column {}); kept as text",
                        at.col
                    ),
                });
                ReturnsBody::Text(b.to_string())
            }
        }
    } else if let Some(after) = b.strip_prefix('→').or_else(|| b.strip_prefix("->")) {
        let cx = Cx {
            line,
            end: line.text.len(),
            probe: false,
        };
        match whole_type(&cx, after.trim_start_matches(' ')) {
            Ok((_, ty)) => ReturnsBody::TypeRef(ty),
            Err(_) => {
                warnings.push(Warning {
                    pos: line.pos(off_of(line, b)),
                    message: "`@returns` arrow is not followed by a type; kept as text".into(),
                });
                ReturnsBody::Text(b.to_string())
            }
        }
    } else {
        ReturnsBody::Text(b.to_string())
    };
    Ok(Returns {
        code: code.to_string(),
        body,
        pos,
    })
}

/// True when `s` (right after `", "`) starts a new error item: `[1-5][0-9Xx]{2}` followed by
/// `:`, `,` or the end.
fn starts_error_code(s: &[u8]) -> bool {
    s.len() >= 3
        && (b'1'..=b'5').contains(&s[0])
        && (s[1].is_ascii_digit() || s[1] == b'X' || s[1] == b'x')
        && (s[2].is_ascii_digit() || s[2] == b'X' || s[2] == b'x')
        && matches!(s.get(3), None | Some(b':' | b','))
}

/// Splits the content of `@errors {…}` (§3.3) and parses each `CODE[:TYPE][: DESC]`.
fn error_items(line: &Logical<'_>, start: usize, end: usize) -> LResult<Vec<ErrorItem>> {
    let content = &line.text[start..end];
    let mut items = Vec::new();
    if content.trim_matches(' ').is_empty() {
        return Ok(items);
    }
    let bytes = content.as_bytes();
    let mut item_start = 0;
    let mut k = 0;
    while k + 1 < bytes.len() {
        if bytes[k] == b',' && bytes[k + 1] == b' ' && starts_error_code(&bytes[k + 2..]) {
            items.push(error_item(
                line,
                start + item_start,
                &content[item_start..k],
            )?);
            item_start = k + 2;
            k += 2;
        } else {
            k += 1;
        }
    }
    items.push(error_item(
        line,
        start + item_start,
        &content[item_start..],
    )?);
    Ok(items)
}

fn error_item(line: &Logical<'_>, off: usize, item: &str) -> LResult<ErrorItem> {
    let lead = item.len() - item.trim_start_matches(' ').len();
    let item = &item[lead..];
    let off = off + lead;
    let pos = line.pos(off);
    let (code, after) = match item.find(':') {
        Some(c) => (&item[..c], Some(&item[c + 1..])),
        None => (item, None),
    };
    if code.is_empty() {
        return Err(line_err(off, "a status code"));
    }
    let (type_name, desc) = match after {
        None => (None, None),
        Some(a) if a.is_empty() || a.starts_with(' ') => {
            (None, Some(a.strip_prefix(' ').unwrap_or(a)))
        }
        Some(a) => match a.find(':') {
            Some(c) if !a[..c].contains(' ') => {
                let d = &a[c + 1..];
                (Some(&a[..c]), Some(d.strip_prefix(' ').unwrap_or(d)))
            }
            None if !a.contains(' ') => (Some(a), None),
            _ => (None, Some(a)),
        },
    };
    Ok(ErrorItem {
        code: code.to_string(),
        type_name: type_name.map(str::to_string),
        desc: desc.map(str::to_string),
        pos,
    })
}

/// `@type Name {fields}` or `@type Name TYPE`.
fn type_def(line: &Logical<'_>, rest: &str) -> LResult<TypeDef> {
    let pos = line.pos(0);
    let v = value(rest);
    let name_len = v.find(' ').unwrap_or(v.len());
    let name = &v[..name_len];
    if name.is_empty() {
        return Err(line_err(off_of(line, v), "a type name after `@type`"));
    }
    let body_text = value(&v[name_len..]);
    let cx = Cx {
        line,
        end: line.text.len(),
        probe: false,
    };
    if body_text.is_empty() {
        return Err(line_err(
            off_of(line, body_text),
            "`{` or a type after the type name",
        ));
    }
    let body = if body_text.starts_with('{') {
        let (r, fields) = field_list(&cx, body_text, 0).map_err(|e| lerr(&cx, e))?;
        if !r.trim_end_matches(' ').is_empty() {
            return Err(line_err(off_of(line, r), "end of line after the fields"));
        }
        TypeDefBody::Fields(fields)
    } else {
        let (_, ty) = whole_type(&cx, body_text).map_err(|e| lerr(&cx, e))?;
        TypeDefBody::Alias(ty)
    };
    Ok(TypeDef {
        name: name.to_string(),
        body,
        pos,
    })
}

/// An extension directive known to the options.
fn extension(
    line: &Logical<'_>,
    kw: &str,
    rest: &str,
    kind: ExtensionKind,
    takes_arg: bool,
) -> LResult<Extension> {
    let pos = line.pos(0);
    let mut rest = rest;
    let mut arg = None;
    if takes_arg {
        let Some(inner) = rest.strip_prefix('(') else {
            return Err(line_err(off_of(line, rest), format!("`(` after `@{kw}`")));
        };
        let Some(close) = inner.find(')') else {
            return Err(line_err(line.text.len(), format!("`)` closing `@{kw}(`")));
        };
        arg = Some(inner[..close].to_string());
        rest = &inner[close + 1..];
    }
    let body = match kind {
        ExtensionKind::Text => ExtBody::Text(value(rest).to_string()),
        ExtensionKind::Params => ExtBody::Params(braced_params(line, rest)?),
    };
    Ok(Extension {
        keyword: kw.to_string(),
        arg,
        body,
        pos,
    })
}

/// Parses the content of a param list on its own (used by the printer to check that two
/// adjacent params survive a re-parse when printed on one line).
pub(crate) fn reparse_params(content: &str) -> Option<Vec<super::ast::Param>> {
    let line = Logical::detached(content);
    let cx = Cx {
        line: &line,
        end: content.len(),
        probe: false,
    };
    param_list(&cx, content).ok().map(|(_, params)| params)
}

/// Parses the content of an `@errors` list on its own (see [`reparse_params`]).
pub(crate) fn reparse_errors(content: &str) -> Option<Vec<ErrorItem>> {
    let line = Logical::detached(content);
    error_items(&line, 0, content.len()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lap::ast::TypeKind;

    fn parse(text: &str) -> Document {
        parse_document(text, &ParseOptions::default()).unwrap()
    }

    #[test]
    fn minimal_documents() {
        let doc = parse("@lap v0.3\n@endpoints 0\n@end\n");
        assert!(doc.endpoints.is_empty() && doc.warnings.is_empty());
        assert!(doc.end.is_some());
    }

    #[test]
    fn keywords_match_exactly() {
        let doc = parse("@lap v0.3\n@endpoint GET /a\n@endpointx foo\n@ends\n@end\n");
        assert_eq!(doc.endpoints.len(), 1);
        let kws: Vec<&str> = doc.endpoints[0]
            .unknown
            .iter()
            .map(|u| u.keyword.as_str())
            .collect();
        assert_eq!(kws, ["endpointx", "ends"]);
        assert_eq!(doc.warnings.len(), 2);
    }

    #[test]
    fn auth_is_document_level_before_endpoints_and_an_override_after() {
        let doc = parse("@lap v0.3\n@auth basic\n@endpoint GET /a\n@auth Bearer token\n@end\n");
        assert_eq!(doc.auth.as_deref(), Some("basic"));
        assert_eq!(doc.endpoints[0].auth.as_deref(), Some("Bearer token"));
    }

    #[test]
    fn endpoint_directives_before_any_endpoint_are_unknown() {
        let doc = parse("@lap v0.3\n@desc stray\n@end\n");
        assert_eq!(doc.unknown.len(), 1);
        assert_eq!(doc.warnings.len(), 1);
    }

    #[test]
    fn groups_reopen_and_endpoints_keep_them() {
        let doc = parse(
            "@lap v0.3\n@group a\n@endpoint GET /a\n@endgroup\n@group b\n@endpoint GET /b\n@endgroup\n@group a\n@endpoint GET /a2\n@endgroup\n@end\n",
        );
        let groups: Vec<&str> = doc
            .endpoints
            .iter()
            .filter_map(|e| e.group.as_deref())
            .collect();
        assert_eq!(groups, ["a", "b", "a"]);
    }

    #[test]
    fn body_arrows_and_nullable() {
        let doc = parse(
            "@lap v0.3\n@endpoint POST /a\n@body -> T?\n@endpoint POST /b\n@body → [U]\n@end\n",
        );
        let a = doc.endpoints[0].body.as_ref().unwrap();
        assert!(a.nullable && a.kind == TypeKind::Named("T".into()));
        assert!(
            doc.endpoints[1]
                .body
                .as_ref()
                .unwrap()
                .array_item()
                .is_some()
        );
    }

    #[test]
    fn text_after_end_is_a_warning() {
        let doc = parse("@lap v0.3\n@end\n@endpoint GET /late\n");
        assert!(doc.endpoints.is_empty());
        assert_eq!(doc.warnings.len(), 1);
    }

    #[test]
    fn error_items_split_on_codes_only() {
        let line = Logical::detached("500:Boom: a, b, 4XX: c, 10, 000,000, 201");
        let items = error_items(&line, 0, line.text.len()).unwrap();
        let codes: Vec<&str> = items.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, ["500", "4XX", "201"]);
        assert_eq!(items[0].type_name.as_deref(), Some("Boom"));
        assert_eq!(items[1].desc.as_deref(), Some("c, 10, 000,000"));
    }

    #[test]
    fn a_lap_line_is_required_first() {
        let err = parse_document("\n# comment\n@api x\n", &ParseOptions::default()).unwrap_err();
        assert_eq!((err.line, err.col), (3, 1));
        assert_eq!(err.expected, "`@lap`");
    }
}
