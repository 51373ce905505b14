//! Type expressions (the LAP v0.3 specification's types, widened to what published files hold)
//! and `{…}` field lists, written with nom.

use nom::bytes::complete::take_while;
use nom::error::{ErrorKind, ParseError as NomParseError};
use nom::{IResult, Parser};

use super::MAX_TYPE_DEPTH;
use super::ast::{Field, Pos, TypeExpr, TypeKind};
use super::lines::Logical;

/// A low-level parse failure: where (the remaining input) and what was expected.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TyErr<'i> {
    /// The input left at the failure.
    pub at: &'i str,
    /// What was expected there.
    pub expected: &'static str,
}

impl<'i> NomParseError<&'i str> for TyErr<'i> {
    fn from_error_kind(input: &'i str, _kind: ErrorKind) -> Self {
        TyErr {
            at: input,
            expected: "a type",
        }
    }

    fn append(_input: &'i str, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

/// The result type of the parsers here.
pub(crate) type PResult<'i, T> = IResult<&'i str, T, TyErr<'i>>;

/// A soft failure (`nom::Err::Error`): the caller may try something else.
pub(crate) fn fail<'i, T>(at: &'i str, expected: &'static str) -> PResult<'i, T> {
    Err(nom::Err::Error(TyErr { at, expected }))
}

/// A hard failure (`nom::Err::Failure`), e.g. the depth limit.
fn cut<'i, T>(at: &'i str, expected: &'static str) -> PResult<'i, T> {
    Err(nom::Err::Failure(TyErr { at, expected }))
}

/// Unwraps a nom error into its payload (there is no `Incomplete` in complete parsers).
pub(crate) fn into_err(e: nom::Err<TyErr<'_>>) -> TyErr<'_> {
    match e {
        nom::Err::Error(e) | nom::Err::Failure(e) => e,
        nom::Err::Incomplete(_) => TyErr {
            at: "",
            expected: "more input",
        },
    }
}

/// Context of a parse: the line (for positions) and the mode.
pub(crate) struct Cx<'l, 'a> {
    /// The logical line all inputs are suffixes of (up to `end`).
    pub line: &'l Logical<'a>,
    /// Byte offset in the line where the parsed slice ends.
    pub end: usize,
    /// Probing for a field boundary inside a description: no positions, and a named type must
    /// be PascalCase (capital first, not all caps).
    pub probe: bool,
}

impl Cx<'_, '_> {
    /// The position of the start of `rest`.
    pub fn pos(&self, rest: &str) -> Pos {
        if self.probe {
            Pos::default()
        } else {
            self.line.pos(self.end.saturating_sub(rest.len()))
        }
    }

    /// The same context in probe mode.
    pub fn probing(&self) -> Cx<'_, '_> {
        Cx {
            line: self.line,
            end: self.end,
            probe: true,
        }
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn ident(i: &str) -> PResult<'_, &str> {
    match i.chars().next() {
        Some(c) if is_ident_start(c) => take_while(is_ident_char).parse(i),
        _ => fail(i, "a type"),
    }
}

/// True for a capitalised word that is not all caps (`Tag`, `SearchStatus`, not `URL`, `the`).
fn is_pascal(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase())
        && name.bytes().any(|b| b.is_ascii_lowercase())
}

/// Reads a `(…)` group balanced over parens only; returns the inner text.
pub(crate) fn paren_group(i: &str) -> PResult<'_, &str> {
    let Some(body) = i.strip_prefix('(') else {
        return fail(i, "`(`");
    };
    let mut depth = 1usize;
    for (k, b) in body.bytes().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Ok((&body[k + 1..], &body[..k]));
                }
            }
            _ => {}
        }
    }
    cut(&body[body.len()..], "`)` closing the type's `(`")
}

/// Splits enum text at top-level `/`, or at top-level `|` when there is no `/`.
pub(crate) fn split_enum(text: &str) -> Vec<String> {
    let sep = if top_level_has(text, b'/') {
        b'/'
    } else {
        b'|'
    };
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (k, b) in text.bytes().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            _ if b == sep && depth == 0 => {
                out.push(text[start..k].to_string());
                start = k + 1;
            }
            _ => {}
        }
    }
    out.push(text[start..].to_string());
    out
}

fn top_level_has(text: &str, needle: u8) -> bool {
    let mut depth = 0usize;
    for b in text.bytes() {
        match b {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            _ if b == needle && depth == 0 => return true,
            _ => {}
        }
    }
    false
}

/// Whether a single `(…)` group after a non-enum base is an enum (it holds a top-level `/` or
/// `|`) rather than a format. `ipv6/128` (text, then digits) stays a format.
fn single_group_is_enum(text: &str) -> bool {
    if !top_level_has(text, b'/') && !top_level_has(text, b'|') {
        return false;
    }
    let parts = split_enum(text);
    let cidr_like = parts.len() == 2
        && !parts[1].is_empty()
        && parts[1].bytes().all(|b| b.is_ascii_digit())
        && !parts[0].bytes().all(|b| b.is_ascii_digit());
    !cidr_like
}

fn opt_char(i: &str, c: char) -> (&str, bool) {
    match i.strip_prefix(c) {
        Some(r) => (r, true),
        None => (i, false),
    }
}

fn expect_char<'i>(i: &'i str, c: char, expected: &'static str) -> PResult<'i, ()> {
    match i.strip_prefix(c) {
        Some(r) => Ok((r, ())),
        None => fail(i, expected),
    }
}

/// Drops `: any` round-trip artifacts (left in published files by re-serializing with the
/// reference Python parser, `lap/core/parser.py`: `ids[]: any: any`) after a type inside a
/// field list or a `map<K,V>`.
pub(crate) fn skip_any_artifacts(mut r: &str) -> &str {
    while let Some(after) = r.strip_prefix(": any") {
        if after.is_empty() || after.starts_with([',', '}', ' ', ':', '>', '=']) {
            r = after;
        } else {
            break;
        }
    }
    r
}

/// Parses one type expression; stops after the last char that belongs to it.
pub(crate) fn type_expr<'i>(cx: &Cx<'_, '_>, i: &'i str, depth: usize) -> PResult<'i, TypeExpr> {
    if depth >= MAX_TYPE_DEPTH {
        return cut(i, "a type nested at most 64 deep");
    }
    let pos = cx.pos(i);
    if let Some(r) = i.strip_prefix('[') {
        let (r, item) = type_expr(cx, r, depth + 1)?;
        let (r, ()) = expect_char(r, ']', "`]` closing the array type")?;
        let (r, enum_values) = match paren_group(r) {
            Ok((r, text)) => (r, Some(split_enum(text))),
            Err(nom::Err::Error(_)) => (r, None),
            Err(e) => return Err(e),
        };
        let (r, nullable) = opt_char(r, '?');
        let ty = TypeExpr {
            kind: TypeKind::Array(Box::new(item)),
            format: None,
            enum_values,
            children: None,
            nullable,
            pos,
        };
        return Ok((r, ty));
    }
    let (r, name) = ident(i)?;
    let kind = TypeKind::from_ident(name);
    if cx.probe && matches!(kind, TypeKind::Named(_)) && !is_pascal(name) {
        return fail(i, "a type");
    }
    if kind == TypeKind::Map
        && let Some(r) = r.strip_prefix('<')
    {
        let (r, key) = type_expr(cx, r.trim_start_matches(' '), depth + 1)?;
        let r = skip_any_artifacts(r);
        let (r, ()) = expect_char(
            r.trim_start_matches(' '),
            ',',
            "`,` between map key and value types",
        )?;
        let (r, value) = type_expr(cx, r.trim_start_matches(' '), depth + 1)?;
        let r = skip_any_artifacts(r);
        let (r, ()) = expect_char(r.trim_start_matches(' '), '>', "`>` closing `map<`")?;
        let (r, nullable) = opt_char(r, '?');
        let ty = TypeExpr {
            kind: TypeKind::MapKv(Box::new(key), Box::new(value)),
            format: None,
            enum_values: None,
            children: None,
            nullable,
            pos,
        };
        return Ok((r, ty));
    }
    let mut rest = r;
    let mut groups: Vec<&str> = Vec::new();
    while groups.len() < 2 && rest.starts_with('(') {
        let (r, text) = paren_group(rest)?;
        groups.push(text);
        rest = r;
    }
    let (format, enum_values) = match (groups.as_slice(), &kind) {
        ([], _) => (None, None),
        ([one], TypeKind::Enum) => (None, Some(split_enum(one))),
        ([one], _) if single_group_is_enum(one) => (None, Some(split_enum(one))),
        ([one], _) => (Some((*one).to_string()), None),
        ([fmt, en, ..], _) => (Some((*fmt).to_string()), Some(split_enum(en))),
    };
    let (r, mut nullable) = opt_char(rest, '?');
    let (r, children) = if r.starts_with('{') {
        let (r, fields) = field_list(cx, r, depth + 1)?;
        (r, Some(fields))
    } else {
        (r, None)
    };
    let r = if !nullable {
        let (r2, n) = opt_char(r, '?');
        nullable = n;
        r2
    } else {
        r
    };
    Ok((
        r,
        TypeExpr {
            kind,
            format,
            enum_values,
            children,
            nullable,
            pos,
        },
    ))
}

/// Parses `{field, field}` (response-field syntax, `!` markers allowed); `i` starts at `{`.
pub(crate) fn field_list<'i>(cx: &Cx<'_, '_>, i: &'i str, depth: usize) -> PResult<'i, Vec<Field>> {
    if depth >= MAX_TYPE_DEPTH {
        return cut(i, "fields nested at most 64 deep");
    }
    let (mut r, ()) = expect_char(i, '{', "`{`")?;
    let mut fields = Vec::new();
    if let Some(after) = r.strip_prefix('}') {
        return Ok((after, fields));
    }
    loop {
        r = r.trim_start_matches(' ');
        let (after, field) = field(cx, r, depth)?;
        fields.push(field);
        if let Some(after) = after.strip_prefix('}') {
            return Ok((after, fields));
        }
        match after.strip_prefix(',') {
            Some(next) => r = next,
            None => return fail(after, "`,` or `}` after a field"),
        }
    }
}

/// Parses `NAME[!]: TYPE` where NAME runs to the first `": "` and holds no `,{}`.
pub(crate) fn field<'i>(cx: &Cx<'_, '_>, i: &'i str, depth: usize) -> PResult<'i, Field> {
    let pos = cx.pos(i);
    let bytes = i.as_bytes();
    let mut k = 0;
    let name_end = loop {
        match bytes.get(k) {
            None | Some(b',' | b'{' | b'}') => return fail(&i[k..], "a field `name: type`"),
            Some(b':') if bytes.get(k + 1) == Some(&b' ') => break k,
            Some(_) => k += 1,
        }
    };
    if name_end == 0 {
        return fail(i, "a field name");
    }
    let raw = &i[..name_end];
    let (name, required) = match raw.strip_suffix('!') {
        Some(n) => (n, true),
        None => (raw, false),
    };
    let (r, ty) = type_expr(cx, &i[name_end + 2..], depth + 1)?;
    let r = skip_any_artifacts(r);
    Ok((
        r,
        Field {
            name: name.to_string(),
            required,
            ty,
            pos,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lap::lines::logical_lines;

    fn ty(text: &str) -> (String, TypeExpr) {
        let lines = logical_lines(text);
        let cx = Cx {
            line: &lines[0],
            end: text.len(),
            probe: false,
        };
        let (rest, t) = type_expr(&cx, text, 0).unwrap();
        (rest.to_string(), t)
    }

    #[test]
    fn formats_and_enums() {
        let (_, t) = ty("str(date-time)(a/b)");
        assert_eq!(t.format.as_deref(), Some("date-time"));
        assert_eq!(t.enum_values, Some(vec!["a".to_string(), "b".to_string()]));
        let (_, t) = ty("str(ipv6/128)");
        assert_eq!(t.format.as_deref(), Some("ipv6/128"));
        let (_, t) = ty("int(int32)(0 (Stable)/1 (Beta))");
        assert_eq!(
            t.enum_values,
            Some(vec!["0 (Stable)".to_string(), "1 (Beta)".to_string()])
        );
        let (_, t) = ty("enum(ONE)");
        assert_eq!(t.enum_values, Some(vec!["ONE".to_string()]));
        let (_, t) = ty("str(a|b)");
        assert_eq!(t.enum_values, Some(vec!["a".to_string(), "b".to_string()]));
    }

    #[test]
    fn nested_structures() {
        let (rest, t) = ty("map<str,map<str,[str]>>?, x");
        assert_eq!(rest, ", x");
        assert!(t.nullable);
        let (_, v) = t.map_kv().unwrap();
        assert!(v.map_kv().unwrap().1.array_item().is_some());
        let (rest, t) = ty("[map{a!: str, b: int?}]");
        assert_eq!(rest, "");
        let kids = t.array_item().unwrap().children.as_ref().unwrap();
        assert!(kids[0].required && !kids[0].ty.nullable);
        assert!(!kids[1].required && kids[1].ty.nullable);
        let (_, t) = ty("Endpoint?{Address: str?}");
        assert!(t.nullable && t.children.is_some());
    }

    #[test]
    fn depth_is_capped() {
        let text = format!("{}str{}", "[".repeat(100), "]".repeat(100));
        let lines = logical_lines(&text);
        let cx = Cx {
            line: &lines[0],
            end: text.len(),
            probe: false,
        };
        let err = into_err(type_expr(&cx, &text, 0).unwrap_err());
        assert!(err.expected.contains("64"));
    }
}
