//! For each operation of a generated crate: the call the driver makes (every required
//! argument and every optional setter with a sample value) and what the spec says that call
//! must send (method, path with the values substituted, query, headers, body).
//!
//! Sample values differ per parameter (a string carries the parameter's index) and carry the
//! characters that need encoding in their place: `/`, `?`, `%` and a space in a path
//! segment; `&`, `=`, `+` and a non-ASCII letter in a query or form value.

use acr_codegen::context::Context;
use acr_codegen::emit::operation::args;
use acr_codegen::ir::{Api, ParamLocation, PathSegment, TypeKind, TypeRef};
use acr_codegen::plan::{BodyKind, Conv, OpPlan, ParamPlan};
use serde_json::{Value, json};

/// The credential the driver gives the client and how it must arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// Anonymous.
    None,
    /// `Client::bearer_credential("wire-secret")`: `authorization: Bearer wire-secret`.
    Bearer,
    /// `Client::basic_credential("wire-user", "wire-secret")`.
    Basic,
    /// `Client::api_key_credential("wire-secret")` in this header (lower case).
    Header(String),
    /// `Client::api_key_credential("wire-secret")` in this query parameter.
    Query(String),
}

/// The secret the driver's credential carries.
pub const SECRET: &str = "wire-secret";

/// What one operation must send.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    /// The method, upper case.
    pub method: String,
    /// The path's segments, percent-decoded (the base path's first).
    pub segments: Vec<String>,
    /// The query pairs (decoded), in any order; a JSON value compares as JSON.
    pub query: Vec<(String, Wire)>,
    /// Header name (lower case) and value.
    pub headers: Vec<(String, Wire)>,
    /// The body.
    pub body: Body,
    /// Whether the spec has a `Content-Type` header parameter (which then decides the body's
    /// media type, checked as a header).
    pub content_type_param: bool,
}

/// How a value must appear.
#[derive(Debug, Clone, PartialEq)]
pub enum Wire {
    /// This exact text.
    Text(String),
    /// Text that parses as this JSON value.
    Json(Value),
}

/// The expected body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// None.
    Empty,
    /// `application/json` with this value.
    Json(Value),
    /// These bytes with this media type.
    Bytes {
        /// The media type.
        content_type: String,
        /// The bytes.
        data: Vec<u8>,
    },
    /// An `application/x-www-form-urlencoded` body with these pairs (in any order).
    Form(Vec<(String, Wire)>),
}

/// One operation's call.
#[derive(Debug, Clone)]
pub struct Call {
    /// The method's name on `Client`.
    pub ident: String,
    /// Why the driver does not call it, when it cannot.
    pub skip: Option<String>,
    /// The driver's statements (an `async` block's body ending in the call).
    pub code: String,
    /// What it must send.
    pub expected: Expected,
}

/// A sample value: the JSON the driver deserializes into the argument's type, and its text.
struct Sample {
    json: Value,
    wire: Wire,
}

fn text(s: impl Into<String>) -> Wire {
    Wire::Text(s.into())
}

/// The string sample of parameter `i` travelling in `location`.
fn string_for(location: ParamLocation, i: usize) -> String {
    match location {
        ParamLocation::Path => format!("p {i}/x?y%z"),
        ParamLocation::Query => format!("q {i}&a=b+c/é"),
        ParamLocation::Header => format!("h {i}-v"),
        ParamLocation::Form => format!("f {i}&a=b+c"),
    }
}

fn named<'a>(api: &'a Api, name: &str) -> Option<&'a TypeKind> {
    api.types.iter().find(|t| t.name == name).map(|t| &t.kind)
}

/// A JSON value of `ty` (for bodies and non-scalar parameters); `None` for types that have
/// no JSON form here (bytes, runtime names) or models nested too deep.
fn json_value(api: &Api, ty: &TypeRef, depth: usize) -> Option<Value> {
    if depth > 8 {
        return None;
    }
    Some(match ty {
        TypeRef::String => json!(format!("s{depth}")),
        TypeRef::Integer { .. } => json!(7 + depth),
        TypeRef::Number => json!(1.5),
        TypeRef::Bool => json!(true),
        TypeRef::DateTime => json!("2024-01-02T03:04:05Z"),
        TypeRef::Json => json!({"any": [1, "two"]}),
        TypeRef::Array(item) => json!([json_value(api, item, depth + 1)?]),
        TypeRef::Map(item) => json!({"key": json_value(api, item, depth + 1)?}),
        TypeRef::Named(name) => match named(api, name)? {
            TypeKind::Enum { values, .. } => json!(values.first().cloned().unwrap_or_default()),
            TypeKind::Struct { fields } => {
                let mut map = serde_json::Map::new();
                for f in fields {
                    // Optional fields stop where models nest deep (recursive models).
                    if !f.required && depth >= 3 {
                        continue;
                    }
                    map.insert(f.name.clone(), json_value(api, &f.ty, depth + 1)?);
                }
                Value::Object(map)
            }
        },
        TypeRef::Bytes | TypeRef::Runtime(_) => return None,
    })
}

/// The sample of one parameter value.
fn param_sample(
    ctx: &Context<'_>,
    ty: &TypeRef,
    location: ParamLocation,
    i: usize,
) -> Option<Sample> {
    let api = ctx.api;
    Some(match ty {
        TypeRef::String => {
            let s = string_for(location, i);
            Sample {
                json: json!(s),
                wire: text(s),
            }
        }
        TypeRef::Integer { .. } => Sample {
            json: json!(7 + i),
            wire: text((7 + i).to_string()),
        },
        TypeRef::Number => Sample {
            json: json!(1.5),
            wire: text("1.5"),
        },
        TypeRef::Bool => Sample {
            json: json!(true),
            wire: text("true"),
        },
        TypeRef::DateTime => Sample {
            json: json!("2024-01-02T03:04:05Z"),
            wire: text("2024-01-02T03:04:05Z"),
        },
        TypeRef::Json => {
            let s = string_for(location, i);
            Sample {
                json: json!(s),
                wire: text(s),
            }
        }
        TypeRef::Named(_) if ctx.types.is_enum(ty) => {
            let v = json_value(api, ty, 0)?;
            let t = v.as_str().unwrap_or_default().to_owned();
            Sample {
                json: v,
                wire: text(t),
            }
        }
        TypeRef::Array(item)
            if ctx.types.is_text_like(item) || matches!(**item, TypeRef::String) =>
        {
            let a = param_sample(ctx, item, location, i)?;
            let b = param_sample(ctx, item, location, i + 100)?;
            let (Wire::Text(ta), Wire::Text(tb)) = (&a.wire, &b.wire) else {
                return None;
            };
            Sample {
                wire: text(format!("{ta},{tb}")),
                json: json!([a.json, b.json]),
            }
        }
        _ => {
            let v = json_value(api, ty, 0)?;
            Sample {
                wire: Wire::Json(v.clone()),
                json: v,
            }
        }
    })
}

/// The Rust type of `tokens` as the driver names it (`crate::` is the generated crate, `api`).
fn rust_type(tokens: impl std::fmt::Display) -> String {
    let t = tokens.to_string();
    t.replace("crate ::", "api ::")
}

/// A JSON literal for the driver.
fn json_literal(v: &Value) -> String {
    format!("r####\"{v}\"####")
}

/// The base path of the spec's default endpoint (`/v1` of `https://api.example.com/v1`),
/// empty when there is none.
pub fn base_path(api: &Api) -> String {
    let Some(base) = acr_codegen::emit::client::default_endpoint(api.base_url.as_deref()) else {
        return String::new();
    };
    let rest = base.split_once("://").map(|(_, r)| r).unwrap_or_default();
    match rest.find('/') {
        Some(i) => rest[i..]
            .split(['?', '#'])
            .next()
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_owned(),
        None => String::new(),
    }
}

/// The credential the driver uses: the first scheme of the spec's `@auth` that the client
/// has a constructor for.
pub fn auth(api: &Api) -> Auth {
    use acr_codegen::emit::client::{AuthScheme, auth_schemes};
    let Some(text) = api.auth.as_deref() else {
        return Auth::None;
    };
    for s in auth_schemes(text) {
        return match s {
            AuthScheme::Bearer => Auth::Bearer,
            AuthScheme::Basic => Auth::Basic,
            AuthScheme::ApiKey { name, query: false } => Auth::Header(name.to_ascii_lowercase()),
            AuthScheme::ApiKey { name, query: true } => Auth::Query(name),
            AuthScheme::Unsupported(_) => continue,
        };
    }
    Auth::None
}

/// Splits a path template, with samples in place of its parameters, into decoded segments,
/// and the query pairs the template writes itself after a `?` (`/items?kind=all`), which the
/// client sends as written.
fn segments(
    base: &str,
    plan: &OpPlan<'_>,
    values: &[(String, String)],
) -> (Vec<String>, Vec<(String, String)>) {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    // Everything after the template's `?`, values substituted.
    let mut query: Option<String> = None;
    let push_literal = |text: &str, out: &mut Vec<String>, current: &mut String| {
        let mut parts = text.split('/');
        if let Some(first) = parts.next() {
            current.push_str(first);
        }
        for p in parts {
            out.push(std::mem::take(current));
            current.push_str(p);
        }
    };
    push_literal(base, &mut out, &mut current);
    for seg in &plan.op.path.segments {
        let value = |name: &str| match values.iter().find(|(n, _)| n == name) {
            Some((_, v)) => v.clone(),
            None => format!("{{{name}}}"),
        };
        match (seg, query.as_mut()) {
            (PathSegment::Literal(l), Some(q)) => q.push_str(l),
            (PathSegment::Param(name), Some(q)) => q.push_str(&value(name)),
            (PathSegment::Literal(l), None) => match l.split_once('?') {
                Some((path, rest)) => {
                    push_literal(path, &mut out, &mut current);
                    query = Some(rest.to_owned());
                }
                None => push_literal(l, &mut out, &mut current),
            },
            (PathSegment::Param(name), None) => current.push_str(&value(name)),
        }
    }
    out.push(current);
    if out.first().is_some_and(String::is_empty) && out.len() > 1 {
        out.remove(0);
    }
    let query = query
        .map(|q| super::check::form_pairs(&q))
        .unwrap_or_default();
    (out, query)
}

/// Plans the call of one operation.
pub fn call(ctx: &Context<'_>, plan: &OpPlan<'_>, base: &str, auth: &Auth) -> Call {
    let mut expected = Expected {
        method: plan.op.method.to_ascii_uppercase(),
        segments: Vec::new(),
        query: Vec::new(),
        headers: Vec::new(),
        body: Body::Empty,
        content_type_param: false,
    };
    let skip = |why: String, expected: Expected| Call {
        ident: plan.ident.clone(),
        skip: Some(why),
        code: String::new(),
        expected,
    };
    let mut code = String::new();
    let mut required_args = Vec::new();
    let mut setters = Vec::new();
    let mut path_values: Vec<(String, String)> = Vec::new();
    let mut form: Vec<(String, Wire)> = Vec::new();
    for (i, p) in plan.params.iter().enumerate() {
        if p.conv == Conv::TryInto {
            return skip(
                format!("parameter {} has a validated runtime type", p.param.name),
                expected,
            );
        }
        let vt = rust_type(args::value_type(ctx, p));
        let local = format!("a{i}");
        let mut values = Vec::new();
        let n = if p.param.repeated { 2 } else { 1 };
        for k in 0..n {
            let Some(s) = param_sample(ctx, &p.param.ty, p.location, i + 10 * k) else {
                return skip(
                    format!(
                        "no sample value for parameter {} ({:?})",
                        p.param.name, p.param.ty
                    ),
                    expected,
                );
            };
            values.push(s);
        }
        if matches!(p.param.ty, TypeRef::Bytes) {
            return skip(format!("bytes parameter {}", p.param.name), expected);
        }
        let exprs: Vec<String> = values
            .iter()
            .map(|s| format!("v::<{vt}>({})?", json_literal(&s.json)))
            .collect();
        let expr = if p.param.repeated {
            format!("vec![{}]", exprs.join(", "))
        } else {
            exprs[0].clone()
        };
        code.push_str(&format!("let {local} = {expr};\n"));
        if p.param.required {
            required_args.push(local);
        } else {
            setters.push(format!(".{}({local})", p.public));
        }
        record(p, &values, &mut expected, &mut path_values, &mut form);
    }
    if !form.is_empty() {
        expected.body = Body::Form(form);
    }
    if let Some(b) = &plan.body {
        let mut body_args = Vec::new();
        match &b.kind {
            BodyKind::Json => {
                let Some(v) = json_value(ctx.api, &b.body.ty, 0) else {
                    return skip(
                        format!("no sample value for the body ({:?})", b.body.ty),
                        expected,
                    );
                };
                let bt = rust_type(args::body_type(ctx, b));
                code.push_str(&format!("let body = v::<{bt}>({})?;\n", json_literal(&v)));
                body_args.push("body".to_owned());
                expected.body = Body::Json(v);
            }
            BodyKind::Bytes { content_type } => {
                body_args.push("b\"wire-check-bytes\".to_vec()".to_owned());
                expected.body = Body::Bytes {
                    content_type: content_type.clone(),
                    data: b"wire-check-bytes".to_vec(),
                };
            }
            BodyKind::Text { content_type } => {
                body_args.push("\"wire check text\".to_owned()".to_owned());
                expected.body = Body::Bytes {
                    content_type: content_type.clone(),
                    data: b"wire check text".to_vec(),
                };
            }
            BodyKind::BytesWithType { .. } => {
                body_args.push("b\"wire-check-bytes\".to_vec()".to_owned());
                body_args.push("\"application/x-wire-check\"".to_owned());
                expected.body = Body::Bytes {
                    content_type: "application/x-wire-check".to_owned(),
                    data: b"wire-check-bytes".to_vec(),
                };
            }
        }
        if b.body.required {
            required_args.extend(body_args);
        } else {
            setters.push(format!(".{}({})", b.public, body_args.join(", ")));
        }
    }
    let (path_segments, template_query) = segments(base, plan, &path_values);
    expected.segments = path_segments;
    expected
        .query
        .extend(template_query.into_iter().map(|(k, v)| (k, text(v))));
    // A spec that names its own `Content-Type` header parameter sets the media type itself.
    expected.content_type_param = expected.headers.iter().any(|(n, _)| n == "content-type");
    // A header the request sets itself (a spec's own `Authorization` parameter) wins over
    // the credential's of the same name: the runtime sends it once, the request's value.
    let set_by_request = |name: &str| expected.headers.iter().any(|(n, _)| n == name);
    let auth = match auth {
        Auth::Bearer | Auth::Basic if set_by_request("authorization") => &Auth::None,
        Auth::Header(name) if set_by_request(name) => &Auth::None,
        other => other,
    };
    match auth {
        Auth::Bearer => expected
            .headers
            .push(("authorization".into(), text(format!("Bearer {SECRET}")))),
        Auth::Basic => {
            use base64::Engine as _;
            let pair =
                base64::engine::general_purpose::STANDARD.encode(format!("wire-user:{SECRET}"));
            expected
                .headers
                .push(("authorization".into(), text(format!("Basic {pair}"))));
        }
        Auth::Header(name) => expected.headers.push((name.clone(), text(SECRET))),
        Auth::Query(name) => expected.query.push((name.clone(), text(SECRET))),
        Auth::None => {}
    }
    code.push_str(&format!(
        "Ok(client.{}({}){}.await.err().map(|e| e.to_string()))",
        plan.ident,
        required_args.join(", "),
        setters.join("")
    ));
    Call {
        ident: plan.ident.clone(),
        skip: None,
        code,
        expected,
    }
}

/// Notes where the values of `p` must appear.
fn record(
    p: &ParamPlan<'_>,
    values: &[Sample],
    expected: &mut Expected,
    path_values: &mut Vec<(String, String)>,
    form: &mut Vec<(String, Wire)>,
) {
    let name = p.param.name.clone();
    let joined = || -> Wire {
        // A path or header value of several items is sent joined with `,`.
        let texts: Vec<String> = values
            .iter()
            .filter_map(|s| match &s.wire {
                Wire::Text(t) => Some(t.clone()),
                Wire::Json(_) => None,
            })
            .collect();
        if texts.len() == values.len() {
            text(texts.join(","))
        } else {
            values[0].wire.clone()
        }
    };
    match p.location {
        ParamLocation::Path => {
            if let Wire::Text(t) = joined() {
                path_values.push((name, t));
            } else if let Wire::Json(v) = joined() {
                path_values.push((name, v.to_string()));
            }
        }
        ParamLocation::Query => {
            for s in values {
                expected.query.push((name.clone(), s.wire.clone()));
            }
        }
        ParamLocation::Header => expected.headers.push((name.to_ascii_lowercase(), joined())),
        ParamLocation::Form => {
            for s in values {
                form.push((name.clone(), s.wire.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The call planned for the only endpoint of a LAP text.
    fn planned(lap: &str) -> Call {
        let inputs = crate::generate::Inputs::from_texts("t.lap", lap, None).unwrap();
        let api = inputs.lower().unwrap().api;
        let mut options = acr_codegen::Options::default();
        options.auth_constructors = true;
        let ctx = Context::new(&api, &options).unwrap();
        call(&ctx, &ctx.ops[0], &base_path(&api), &auth(&api))
    }

    /// A query the path template writes itself is expected in the query, not in the last
    /// segment, with a parameter after the `?` substituted.
    #[test]
    fn a_query_in_the_path_template_is_expected_in_the_query() {
        let call = planned(
            "@lap v0.3\n@api T\n@endpoints 1\n\n@endpoint GET /items/{id}?kind=all&tag={tag}\n@required {id: str, tag: str}\n\n@end\n",
        );
        assert!(call.skip.is_none(), "{:?}", call.skip);
        let e = &call.expected;
        assert_eq!(e.segments.len(), 2, "{:?}", e.segments);
        assert_eq!(e.segments[0], "items");
        assert!(!e.segments[1].contains("kind"), "{:?}", e.segments);
        let keys: Vec<&str> = e.query.iter().map(|(k, _)| k.as_str()).collect();
        assert!(
            keys.contains(&"kind") && keys.contains(&"tag"),
            "{:?}",
            e.query
        );
        assert!(e.query.contains(&("kind".into(), Wire::Text("all".into()))));
    }
}
