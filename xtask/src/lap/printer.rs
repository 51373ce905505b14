//! Printing a [`Document`] back to canonical LAP text.

use std::fmt::Write as _;

use super::ast::{
    ClearPos, Document, Endpoint, ErrorItem, ExtBody, Extension, Field, Param, Returns,
    ReturnsBody, TypeDef, TypeDefBody, TypeExpr, TypeKind, Unknown,
};
use super::parser::{reparse_errors, reparse_params};

/// Whether two lists hold the same items, positions aside (a re-parse of printed text has
/// positions of its own).
fn same_content<T: ClearPos + Clone + PartialEq>(a: &[T], b: &[T]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.without_pos() == y.without_pos())
}

/// The fixed second line of every generated file.
const COMMENT: &str = "# Machine-readable API spec. Each @endpoint block is one API call.";

/// Prints the whole document in the reference serializer's order.
pub(crate) fn print_document(doc: &Document) -> String {
    let mut out = String::with_capacity(4096);
    line(&mut out, "@lap", &doc.lap_version);
    out.push_str(COMMENT);
    out.push('\n');
    opt_line(&mut out, "@api", doc.api.as_deref());
    opt_line(&mut out, "@base", doc.base.as_deref());
    opt_line(&mut out, "@version", doc.version.as_deref());
    opt_line(&mut out, "@auth", doc.auth.as_deref());
    match &doc.common_fields {
        Some(common) if common.is_empty() => out.push_str("@common_fields {}\n"),
        Some(common) => write_param_lines(&mut out, "@common_fields", common),
        None => {}
    }
    if let Some(n) = doc.endpoint_count {
        let _ = writeln!(out, "@endpoints {n}");
    }
    for hint in &doc.hints {
        line(&mut out, "@hint", hint);
    }
    opt_line(&mut out, "@toc", doc.toc.as_deref());
    for ext in &doc.extensions {
        write_extension(&mut out, ext);
    }
    for unknown in &doc.unknown {
        write_unknown(&mut out, unknown);
    }
    for def in &doc.types {
        write_type_def(&mut out, def);
    }
    out.push('\n');
    let mut group: Option<&str> = None;
    for ep in &doc.endpoints {
        let next = ep.group.as_deref();
        if next != group {
            if group.is_some() {
                out.push_str("@endgroup\n\n");
            }
            if let Some(g) = next {
                line(&mut out, "@group", g);
            }
            group = next;
        }
        write_endpoint(&mut out, ep);
        out.push('\n');
    }
    if group.is_some() {
        out.push_str("@endgroup\n\n");
    }
    if doc.end.is_some() {
        out.push_str("@end\n");
    }
    out
}

fn line(out: &mut String, kw: &str, value: &str) {
    out.push_str(kw);
    out.push(' ');
    out.push_str(value);
    out.push('\n');
}

fn opt_line(out: &mut String, kw: &str, value: Option<&str>) {
    if let Some(v) = value {
        line(out, kw, v);
    }
}

fn write_endpoint(out: &mut String, ep: &Endpoint) {
    let _ = writeln!(out, "@endpoint {} {}", ep.method, ep.path);
    opt_line(out, "@desc", ep.desc.as_deref());
    opt_line(out, "@auth", ep.auth.as_deref());
    if let Some(body) = &ep.body {
        out.push_str("@body → ");
        write_type(out, body);
        out.push('\n');
    }
    for (kw, params) in [("@required", &ep.required), ("@optional", &ep.optional)] {
        if !params.is_empty() {
            write_param_lines(out, kw, params);
        }
    }
    for r in &ep.returns {
        write_returns(out, r);
    }
    if !ep.errors.is_empty() {
        write_error_lines(out, &ep.errors);
    }
    opt_line(out, "@example_request", ep.example_request.as_deref());
    for ext in &ep.extensions {
        write_extension(out, ext);
    }
    for unknown in &ep.unknown {
        write_unknown(out, unknown);
    }
}

fn write_returns(out: &mut String, r: &Returns) {
    let _ = write!(out, "@returns({})", r.code);
    match &r.body {
        ReturnsBody::None => {}
        ReturnsBody::Text(t) => {
            out.push(' ');
            out.push_str(t);
        }
        ReturnsBody::Fields { fields, tail } => {
            out.push(' ');
            write_fields(out, fields);
            if let Some(t) = tail {
                out.push_str(" # ");
                out.push_str(t);
            }
        }
        ReturnsBody::TypeRef(ty) => {
            out.push_str(" → ");
            write_type(out, ty);
        }
    }
    out.push('\n');
}

fn write_error(out: &mut String, e: &ErrorItem) {
    out.push_str(&e.code);
    if let Some(t) = &e.type_name {
        out.push(':');
        out.push_str(t);
    }
    if let Some(d) = &e.desc {
        out.push_str(": ");
        out.push_str(d);
    }
}

fn write_param(out: &mut String, p: &Param) {
    out.push_str(&p.name);
    out.push_str(": ");
    write_type(out, &p.ty);
    if let Some(d) = &p.default {
        out.push('=');
        out.push_str(d);
    }
    if let Some(d) = &p.desc {
        out.push_str(" # ");
        out.push_str(d);
    }
}

/// Writes one braced list (for extensions, which are never split).
fn write_params(out: &mut String, params: &[Param]) {
    out.push('{');
    for (k, p) in params.iter().enumerate() {
        if k > 0 {
            out.push_str(", ");
        }
        write_param(out, p);
    }
    out.push('}');
}

/// Writes `KW {…}` lines. All params share one line when that line parses back to the same
/// params. Params gathered from several source lines can interact (a description or a
/// bracketed default runs on into text that came from another line); then each param gets its
/// own `KW` line, which the parser concatenates back.
fn write_param_lines(out: &mut String, kw: &str, params: &[Param]) {
    let mut content = String::new();
    for (k, p) in params.iter().enumerate() {
        if k > 0 {
            content.push_str(", ");
        }
        write_param(&mut content, p);
    }
    if params.len() == 1 || reparse_params(&content).is_some_and(|v| same_content(&v, params)) {
        let _ = writeln!(out, "{kw} {{{content}}}");
        return;
    }
    for p in params {
        let _ = write!(out, "{kw} {{");
        write_param(out, p);
        out.push_str("}\n");
    }
}

/// Writes `@errors {…}` lines, one line unless that would merge items (see
/// [`write_param_lines`]).
fn write_error_lines(out: &mut String, errors: &[ErrorItem]) {
    let mut content = String::new();
    for (k, e) in errors.iter().enumerate() {
        if k > 0 {
            content.push_str(", ");
        }
        write_error(&mut content, e);
    }
    if errors.len() == 1 || reparse_errors(&content).is_some_and(|v| same_content(&v, errors)) {
        let _ = writeln!(out, "@errors {{{content}}}");
        return;
    }
    for e in errors {
        out.push_str("@errors {");
        write_error(out, e);
        out.push_str("}\n");
    }
}

fn write_fields(out: &mut String, fields: &[Field]) {
    out.push('{');
    for (k, f) in fields.iter().enumerate() {
        if k > 0 {
            out.push_str(", ");
        }
        out.push_str(&f.name);
        if f.required {
            out.push('!');
        }
        out.push_str(": ");
        write_type(out, &f.ty);
    }
    out.push('}');
}

/// Writes a type expression: base, `(format)`, `(enum)`, `?`, `{children}`.
pub(crate) fn write_type(out: &mut String, ty: &TypeExpr) {
    match &ty.kind {
        TypeKind::Array(item) => {
            out.push('[');
            write_type(out, item);
            out.push(']');
        }
        TypeKind::MapKv(k, v) => {
            out.push_str("map<");
            write_type(out, k);
            out.push(',');
            write_type(out, v);
            out.push('>');
        }
        TypeKind::Named(name) => out.push_str(name),
        other => out.push_str(other.keyword().unwrap_or("any")),
    }
    if let Some(f) = &ty.format {
        out.push('(');
        out.push_str(f);
        out.push(')');
    }
    if let Some(values) = &ty.enum_values {
        out.push('(');
        out.push_str(&values.join("/"));
        out.push(')');
    }
    if ty.nullable {
        out.push('?');
    }
    if let Some(children) = &ty.children {
        write_fields(out, children);
    }
}

fn write_type_def(out: &mut String, def: &TypeDef) {
    let _ = write!(out, "@type {} ", def.name);
    match &def.body {
        TypeDefBody::Fields(fields) => write_fields(out, fields),
        TypeDefBody::Alias(ty) => write_type(out, ty),
    }
    out.push('\n');
}

fn write_extension(out: &mut String, ext: &Extension) {
    out.push('@');
    out.push_str(&ext.keyword);
    if let Some(arg) = &ext.arg {
        let _ = write!(out, "({arg})");
    }
    out.push(' ');
    match &ext.body {
        ExtBody::Text(t) => out.push_str(t),
        ExtBody::Params(params) => write_params(out, params),
    }
    out.push('\n');
}

fn write_unknown(out: &mut String, u: &Unknown) {
    out.push('@');
    out.push_str(&u.keyword);
    if !u.text.is_empty() && !u.text.starts_with('(') {
        out.push(' ');
    }
    out.push_str(&u.text);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use crate::lap::{ParseOptions, parse, print};

    #[test]
    fn prints_canonical_order_and_groups() {
        let text = "@lap v0.3\n@endpoints 2\n@api X\n@group g\n@endpoint GET /a\n@returns(200) ok\n@desc d\n@endpoint GET /b\n@end\n";
        let doc = parse(text, &ParseOptions::default()).unwrap();
        let printed = print(&doc);
        assert_eq!(
            printed,
            "@lap v0.3\n# Machine-readable API spec. Each @endpoint block is one API call.\n@api X\n@endpoints 2\n\n@group g\n@endpoint GET /a\n@desc d\n@returns(200) ok\n\n@endpoint GET /b\n\n@endgroup\n\n@end\n"
        );
    }

    #[test]
    fn prints_types() {
        let text = "@lap v0.3\n@type T {a!: [map{b: str(date-time)(x/y)?}], c: map<str,[int]>?, d: N?{e: any}}\n@end\n";
        let doc = parse(text, &ParseOptions::default()).unwrap();
        assert!(print(&doc).contains(
            "@type T {a!: [map{b: str(date-time)(x/y)?}], c: map<str,[int]>?, d: N?{e: any}}\n"
        ));
    }
}
