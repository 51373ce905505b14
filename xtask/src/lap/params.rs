//! Param lists (`@required`, `@optional`, `@common_fields`, `Params` extensions), with the
//! description and default boundary rules that published files need (unescaped descriptions
//! holding commas, `#`, braces and field-like text; defaults holding commas and braces).

use super::ast::{Param, TypeExpr};
use super::types::{Cx, PResult, TyErr, fail, into_err, skip_any_artifacts, type_expr};

/// How many `": "` candidates a param name may skip (for mangled names like
/// `jcr: content/cq:distribute: bool`).
const NAME_CANDIDATES: usize = 4;

/// Parses the content between the braces of a param list.
pub(crate) fn param_list<'i>(cx: &Cx<'_, '_>, content: &'i str) -> PResult<'i, Vec<Param>> {
    let mut params = Vec::new();
    let mut rest = content.trim_start_matches(' ');
    if rest.trim_end_matches(' ').is_empty() {
        return Ok(("", params));
    }
    loop {
        let (r, p) = param(cx, rest)?;
        params.push(p);
        if r.trim_end_matches(' ').is_empty() {
            return Ok(("", params));
        }
        match r.strip_prefix(',') {
            Some(next) => rest = next.trim_start_matches(' '),
            None => return fail(r, "`,` or `}` after a param"),
        }
    }
}

/// True when `s` (right after a type or default) ends the type: end of content, `,`, ` #`,
/// `=` or a `: any` artifact.
fn ends_type(s: &str) -> bool {
    s.is_empty()
        || s.starts_with(',')
        || s.starts_with(" #")
        || s.starts_with('=')
        || s.starts_with(": any")
        || s.trim_end_matches(' ').is_empty()
}

/// One param: `NAME ": " TYPE ["=" DEFAULT] [" # " DESC]`; stops before the `,` that ends it.
fn param<'i>(cx: &Cx<'_, '_>, s: &'i str) -> PResult<'i, Param> {
    let pos = cx.pos(s);
    let mut search_from = 0;
    let mut first_err = None;
    for _ in 0..NAME_CANDIDATES {
        let Some(k) = s[search_from..].find(": ").map(|k| k + search_from) else {
            break;
        };
        let name = &s[..k];
        if name.contains(", ") {
            break;
        }
        let type_start = &s[k + 2..];
        match type_expr(cx, type_start, 0) {
            Ok((r, ty)) if ends_type(r) => {
                let (r, default, desc) = tail(cx, skip_any_artifacts(r));
                return Ok((
                    r,
                    Param {
                        name: name.to_string(),
                        ty,
                        default,
                        desc,
                        pos,
                    },
                ));
            }
            Ok((r, _)) => {
                first_err.get_or_insert(nom::Err::Error(TyErr {
                    at: r,
                    expected: "`,`, `=`, ` # ` or `}` after the type",
                }));
            }
            // Even a hard failure (an unclosed `(`) only rules this candidate out: a later
            // `": "` may give a name whose type is fine.
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
        search_from = k + 2;
    }
    match first_err {
        Some(e) => Err(e),
        None => fail(&s[s.len()..], "`: ` after a param name"),
    }
}

/// Reads the optional `=DEFAULT` and ` # DESC` after a type; returns the rest (at `,` or end).
fn tail<'i>(cx: &Cx<'_, '_>, s: &'i str) -> (&'i str, Option<String>, Option<String>) {
    let mut rest = s;
    let mut default = None;
    if let Some(d) = rest.strip_prefix('=') {
        let balanced = balanced_len(d);
        let end = balanced + stop_default(cx, &d[balanced..]);
        default = Some(d[..end].to_string());
        rest = skip_any_artifacts(&d[end..]);
    }
    let mut desc = None;
    if let Some(d) = rest.strip_prefix(" #") {
        let d = d.strip_prefix(' ').unwrap_or(d);
        let end = find_boundary(cx, d).unwrap_or(d.len());
        desc = Some(d[..end].to_string());
        rest = &d[end..];
    }
    (rest, default, desc)
}

/// Length of a leading bracketed value (`[…]`, `{…}`, `(…)`) read balanced with `'`/`"`
/// quotes; 0 when `s` does not start with one or it never closes.
fn balanced_len(s: &str) -> usize {
    let bytes = s.as_bytes();
    if !matches!(bytes.first(), Some(b'[' | b'{' | b'(')) {
        return 0;
    }
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut k = 0;
    while k < bytes.len() {
        let b = bytes[k];
        match quote {
            Some(q) => {
                if b == b'\\' {
                    k += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => match b {
                b'\'' | b'"' => quote = Some(b),
                b'[' | b'{' | b'(' => depth += 1,
                b']' | b'}' | b')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return k + 1;
                    }
                }
                _ => {}
            },
        }
        k += 1;
    }
    0
}

/// Where a default ends: at ` # ` (or a final ` #`), at a field boundary, or at the end.
/// `: any` artifacts right before such a stop are not part of the default (all of them, so
/// that a printed default never ends with one).
fn stop_default(cx: &Cx<'_, '_>, s: &str) -> usize {
    let hash = find_desc_marker(s);
    let limit = hash.unwrap_or(s.len());
    let stop = match find_boundary(cx, &s[..limit]) {
        Some(b) => b,
        None => limit,
    };
    let mut body = &s[..stop];
    while let Some(trimmed) = body.strip_suffix(": any") {
        body = trimmed;
    }
    body.len()
}

/// The first ` # ` or a ` #` at the very end.
fn find_desc_marker(s: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(k) = s[from..].find(" #").map(|k| k + from) {
        let after = &s[k + 2..];
        if after.is_empty() || after.starts_with(' ') {
            return Some(k);
        }
        from = k + 2;
    }
    None
}

/// The first `", "` in `s` that starts a new param (§5.5): `NAME ": " TYPE` followed by `,`,
/// ` #`, `=`, a `: any` artifact or the end, where NAME is `[A-Za-z0-9_$@.:/~+\[\]!-]+` and a
/// named TYPE is PascalCase (not all caps).
pub(crate) fn find_boundary(cx: &Cx<'_, '_>, s: &str) -> Option<usize> {
    let probe = cx.probing();
    let mut from = 0;
    while let Some(k) = s[from..].find(", ").map(|k| k + from) {
        if is_field_start(&probe, &s[k + 2..]) {
            return Some(k);
        }
        from = k + 2;
    }
    None
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_$@.:/~+[]!-".contains(&b)
}

fn is_field_start(probe: &Cx<'_, '_>, s: &str) -> bool {
    let run = s.bytes().take_while(|b| is_name_byte(*b)).count();
    if run < 2 || s.as_bytes()[run - 1] != b':' || s.as_bytes().get(run) != Some(&b' ') {
        return false;
    }
    let ty_text = &s[run + 1..];
    if ["None", "True", "False"].iter().any(|lit| {
        ty_text
            .strip_prefix(lit)
            .is_some_and(|r| !r.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
    }) {
        return false;
    }
    match type_expr(probe, ty_text, 0) {
        Ok((r, _)) => {
            r.is_empty()
                || r.strip_prefix(", ")
                    .is_some_and(|n| !n.starts_with([' ', '}']))
                || r.starts_with(" #")
                || r.starts_with('=')
                || r.starts_with(": any")
        }
        Err(_) => false,
    }
}

/// Parses a type that must fill `s` entirely (trailing spaces allowed).
pub(crate) fn whole_type<'i>(cx: &Cx<'_, '_>, s: &'i str) -> PResult<'i, TypeExpr> {
    let (r, ty) = type_expr(cx, s, 0)?;
    if !r.trim_end_matches(' ').is_empty() {
        return fail(r, "end of the type");
    }
    Ok(("", ty))
}

/// Converts a failure into `(offset in the line, expected)`.
pub(crate) fn err_at(cx: &Cx<'_, '_>, e: nom::Err<TyErr<'_>>) -> (usize, &'static str) {
    let e = into_err(e);
    (cx.end.saturating_sub(e.at.len()), e.expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lap::lines::Logical;

    fn params(content: &str) -> Vec<Param> {
        let line = Logical::detached(content);
        let cx = Cx {
            line: &line,
            end: content.len(),
            probe: false,
        };
        param_list(&cx, content).unwrap().1
    }

    fn names(content: &str) -> Vec<String> {
        params(content).into_iter().map(|p| p.name).collect()
    }

    #[test]
    fn splits_at_field_boundaries_only() {
        assert_eq!(names("a: str # x, y: z, b: int"), ["a", "b"]);
        assert_eq!(
            names("a: str # options: ACTIVE, FINISHED, b: bool"),
            ["a", "b"]
        );
        assert_eq!(
            names("a: str # see [T](u): v, Note: The thing, b: Tag"),
            ["a", "b"]
        );
        assert_eq!(names("a: str # (default: 50, maximum: 250)"), ["a"]);
        assert_eq!(
            names("a: str # x, e.g.: foo, b: map{c!: str} # d"),
            ["a", "b"]
        );
        assert_eq!(
            names("a: str # project_snapshot_id: None, error_details: None, b: int"),
            ["a", "b"]
        );
    }

    #[test]
    fn defaults_and_descriptions() {
        let p = params(
            "h: map{a!: bool}={'a': False, 'b': True} # doc, e: [str]=['x', 'y'], n: str=Now + 30 # t",
        );
        assert_eq!(p[0].default.as_deref(), Some("{'a': False, 'b': True}"));
        assert_eq!(p[0].desc.as_deref(), Some("doc"));
        assert_eq!(p[1].default.as_deref(), Some("['x', 'y']"));
        assert_eq!(p[2].default.as_deref(), Some("Now + 30"));
        assert_eq!(p[2].desc.as_deref(), Some("t"));
    }

    #[test]
    fn first_hash_starts_the_description() {
        let p = params("a: str # one # two, b: str #");
        assert_eq!(p[0].desc.as_deref(), Some("one # two"));
        assert_eq!(p[1].desc.as_deref(), Some(""));
    }

    #[test]
    fn any_artifacts_are_dropped() {
        let p = params("ids[]: any: any # The list, page[size]: int(int64)=10: any, :op: str: any");
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].desc.as_deref(), Some("The list"));
        assert_eq!(p[1].default.as_deref(), Some("10"));
        assert_eq!(p[2].name, ":op");
    }

    #[test]
    fn repeated_any_artifacts_after_a_default_all_go() {
        // Found by fuzzing: stripping only one left a default that lost another on re-parse.
        let p = params("a: str={x: any: any # d");
        assert_eq!(p[0].default.as_deref(), Some("{x"));
        assert_eq!(p[0].desc.as_deref(), Some("d"));
    }

    #[test]
    fn mangled_names_find_a_later_colon() {
        let p = params("jcr: content/cq:distribute: bool, ids required: str");
        assert_eq!(p[0].name, "jcr: content/cq:distribute");
        assert_eq!(p[1].name, "ids required");
    }

    #[test]
    fn a_hard_type_failure_does_not_stop_the_name_search() {
        // Found by fuzzing: printed alone, the first candidate's `(` is never closed.
        let p = params("x_id: str(^[0-9]{1: any");
        assert_eq!(p[0].name, "x_id: str(^[0-9]{1");
        assert_eq!(p[0].ty.kind, crate::lap::TypeKind::Any);
    }

    #[test]
    fn overlay_names_keep_their_bang() {
        assert_eq!(names("name!: RepositoryName # doc, n: int"), ["name!", "n"]);
    }

    #[test]
    fn empty_list() {
        assert!(params("").is_empty());
        assert!(params("  ").is_empty());
    }
}
