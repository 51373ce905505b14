//! Merging the overlay into the spec (the directives are documented at the top of
//! `spec/containerregistry.overlay.lap`).

use std::collections::BTreeSet;

use acr_codegen::ir::{
    Header, Operation, Paging, Param, ParamLocation, PathSegment, PathTemplate, RequestBody,
    Response, ResponseBody, ResponseKind, Status, TokenRole, TypeKind, TypeRef,
};

use crate::lap::{self, ExtBody, Extension, Pos, ReturnsBody};

use super::path::{parse_path, path_params};
use super::types::{TypeTable, pascal};
use super::{LowerError, docs, errors, infer, status};

/// Builds the operations: overlay entries in overlay order, then spec endpoints the overlay
/// does not describe (inferred, with a warning each).
pub fn merge(
    spec: &lap::Document,
    overlay: &lap::Document,
    table: &mut TypeTable,
    warnings: &mut Vec<String>,
) -> Result<Vec<Operation>, LowerError> {
    let mut described = BTreeSet::new();
    let mut ops = Vec::new();
    for entry in &overlay.endpoints {
        let Some(index) = spec.endpoints.iter().position(|e| same_endpoint(e, entry)) else {
            return Err(LowerError::new(
                entry.pos,
                format!(
                    "overlay entry {} {} names no endpoint of the spec",
                    entry.method, entry.path
                ),
            )
            .in_overlay());
        };
        described.insert(index);
        table.runtime_names = true;
        let op = lower_entry(&spec.endpoints[index], entry, table, warnings)
            .map_err(LowerError::in_overlay);
        table.runtime_names = false;
        ops.push(op?);
    }
    for (i, ep) in spec.endpoints.iter().enumerate() {
        if !described.contains(&i) {
            warnings.push(format!(
                "{}: {} {} is not described by the overlay; lowered with inferred parameter locations and untyped bodies",
                ep.pos, ep.method, ep.path
            ));
            ops.push(infer::lower_endpoint(spec, ep, table)?);
        }
    }
    Ok(ops)
}

fn same_endpoint(a: &lap::Endpoint, b: &lap::Endpoint) -> bool {
    a.method.eq_ignore_ascii_case(&b.method) && a.path == b.path
}

fn text<'a>(entry: &'a lap::Endpoint, keyword: &str) -> Option<(&'a str, Pos)> {
    entry.extension(keyword).and_then(|e| match &e.body {
        ExtBody::Text(t) => Some((t.trim(), e.pos)),
        ExtBody::Params(_) => None,
    })
}

/// Lowers one overlay entry over its spec endpoint, section by section: name, placed
/// parameters, body, spec parameters the overlay leaves unplaced, responses, scope, paging.
fn lower_entry(
    spec_ep: &lap::Endpoint,
    entry: &lap::Endpoint,
    table: &mut TypeTable,
    warnings: &mut Vec<String>,
) -> Result<Operation, LowerError> {
    let name = entry_name(entry)?;
    let type_base = pascal(name);
    let path = parse_path(&spec_ep.path);
    let mut params = placed_params(spec_ep, entry, table, &type_base)?;
    check_path_params(entry, &path, &params)?;
    let body = request_body(spec_ep, entry, table, &type_base, &params)?;
    params.extend(unplaced_params(
        spec_ep, entry, table, &type_base, &params, &body, warnings,
    )?);
    params.sort_by_key(|p| p.location);
    let responses = responses(spec_ep, entry, table, &type_base)?;
    let scope = scope(entry, &params)?;
    let paging = paging(entry, table, &responses, &params)?;
    let aliases = aliases(entry, name)?;
    Ok(Operation {
        name: name.to_owned(),
        method: spec_ep.method.to_ascii_uppercase(),
        path,
        docs: entry_docs(spec_ep, entry),
        params,
        body,
        responses,
        errors: errors(spec_ep),
        scope,
        auth: entry.auth.clone().or_else(|| spec_ep.auth.clone()),
        paging,
        aliases,
        repeatable: flag(entry, "repeatable")?,
        streamed: flag(entry, "stream")?,
        response_kind: response_kind(entry)?,
        token_role: token_role(entry)?,
        inferred: false,
        line: spec_ep.pos.line,
        source: None,
    })
}

/// Whether the entry carries the bare directive `@keyword`; text after it is an error.
fn flag(entry: &lap::Endpoint, keyword: &str) -> Result<bool, LowerError> {
    match entry.extension(keyword) {
        None => Ok(false),
        Some(e) => match &e.body {
            ExtBody::Text(t) if t.trim().is_empty() => Ok(true),
            _ => Err(LowerError::new(
                e.pos,
                format!("@{keyword} takes no argument"),
            )),
        },
    }
}

/// The entry's `@response_kind` (`manifest`, `token`, `document`, `blob`, `ack`), if any.
fn response_kind(entry: &lap::Endpoint) -> Result<Option<ResponseKind>, LowerError> {
    let Some((name, pos)) = text(entry, "response_kind") else {
        return Ok(None);
    };
    ResponseKind::from_name(name).map(Some).ok_or_else(|| {
        LowerError::new(
            pos,
            format!("@response_kind {name:?} is none of manifest, token, document, blob, ack"),
        )
    })
}

/// The entry's `@token_role` (`access_token`, `refresh_token`), if any.
fn token_role(entry: &lap::Endpoint) -> Result<Option<TokenRole>, LowerError> {
    let Some((name, pos)) = text(entry, "token_role") else {
        return Ok(None);
    };
    TokenRole::from_name(name).map(Some).ok_or_else(|| {
        LowerError::new(
            pos,
            format!("@token_role {name:?} is neither access_token nor refresh_token"),
        )
    })
}

/// The entry's `@name`: present and snake_case.
fn entry_name(entry: &lap::Endpoint) -> Result<&str, LowerError> {
    let (name, _) = text(entry, "name")
        .filter(|(n, _)| !n.is_empty())
        .ok_or_else(|| {
            LowerError::new(
                entry.pos,
                format!("overlay entry {} {} has no @name", entry.method, entry.path),
            )
        })?;
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(LowerError::new(
            entry.pos,
            format!("@name {name:?} is not snake_case"),
        ));
    }
    Ok(name)
}

/// The parameters the overlay places (`@path`, `@query`, `@header`, `@form`), sorted by
/// location; a parameter described twice is an error.
fn placed_params(
    spec_ep: &lap::Endpoint,
    entry: &lap::Endpoint,
    table: &mut TypeTable,
    type_base: &str,
) -> Result<Vec<Param>, LowerError> {
    let mut params: Vec<Param> = Vec::new();
    for ext in &entry.extensions {
        let location = match ext.keyword.as_str() {
            "path" => ParamLocation::Path,
            "query" => ParamLocation::Query,
            "header" => ParamLocation::Header,
            "form" => ParamLocation::Form,
            _ => continue,
        };
        for p in ext_params(ext)? {
            let required = p.name.ends_with('!');
            let wire = p.name.trim_end_matches('!').trim().to_owned();
            if params.iter().any(|q| q.name == wire) {
                return Err(LowerError::new(
                    p.pos,
                    format!("parameter {wire} is described twice"),
                ));
            }
            let ty = table.lower(&p.ty, &format!("{type_base}{}", pascal(&wire)))?;
            let (ty, repeated) = match ty {
                TypeRef::Array(item)
                    if matches!(location, ParamLocation::Query | ParamLocation::Form) =>
                {
                    (*item, true)
                }
                ty => (ty, false),
            };
            let doc = docs(p.desc.as_deref()).or_else(|| spec_param_doc(spec_ep, &wire));
            params.push(Param {
                name: wire,
                location,
                ty,
                required,
                repeated,
                default: if required || repeated {
                    None
                } else {
                    p.default.clone()
                },
                docs: doc,
            });
        }
    }
    params.sort_by_key(|p| p.location);
    Ok(params)
}

/// Every `{placeholder}` of the path has an `@path` entry, and every `@path` entry is in
/// the path.
fn check_path_params(
    entry: &lap::Endpoint,
    path: &PathTemplate,
    params: &[Param],
) -> Result<(), LowerError> {
    let placeholders = path_params(path);
    for placeholder in &placeholders {
        if !params
            .iter()
            .any(|p| p.location == ParamLocation::Path && &p.name == placeholder)
        {
            return Err(LowerError::new(
                entry.pos,
                format!(
                    "path parameter {{{placeholder}}} of {} {} has no @path entry",
                    entry.method, entry.path
                ),
            ));
        }
    }
    if let Some(p) = params
        .iter()
        .find(|p| p.location == ParamLocation::Path && !placeholders.contains(&p.name))
    {
        return Err(LowerError::new(
            entry.pos,
            format!(
                "@path names {}, which is not in the path {}",
                p.name, entry.path
            ),
        ));
    }
    Ok(())
}

/// The request body of an entry with `@body` (which then needs a `@content_type`).
fn request_body(
    spec_ep: &lap::Endpoint,
    entry: &lap::Endpoint,
    table: &mut TypeTable,
    type_base: &str,
    params: &[Param],
) -> Result<Option<RequestBody>, LowerError> {
    let Some(t) = &entry.body else {
        return Ok(None);
    };
    let content_type = match text(entry, "content_type") {
        Some(("caller", _)) => None,
        Some((ct, _)) => Some(ct.to_owned()),
        None => {
            return Err(LowerError::new(
                entry.pos,
                "a @body needs a @content_type".to_owned(),
            ));
        }
    };
    let ty = if matches!(t.kind, lap::TypeKind::Bytes) {
        TypeRef::Bytes
    } else {
        table.lower(t, &format!("{type_base}Body"))?
    };
    let named = spec_ep
        .required
        .iter()
        .chain(&spec_ep.optional)
        .find(|p| !params.iter().any(|q| q.name == p.name))
        .filter(|p| matches!(p.name.as_str(), "value" | "payload" | "body"));
    Ok(Some(RequestBody {
        name: named
            .map(|p| p.name.clone())
            .unwrap_or_else(|| "body".to_owned()),
        content_type,
        ty,
        required: !t.nullable,
        docs: named.and_then(|p| docs(p.desc.as_deref())),
    }))
}

/// A spec parameter the overlay neither places nor omits (`@omit a, b`) is new upstream:
/// it is still generated, with an inferred location, and listed as a warning.
fn unplaced_params(
    spec_ep: &lap::Endpoint,
    entry: &lap::Endpoint,
    table: &mut TypeTable,
    type_base: &str,
    params: &[Param],
    body: &Option<RequestBody>,
    warnings: &mut Vec<String>,
) -> Result<Vec<Param>, LowerError> {
    let omitted: Vec<&str> = text(entry, "omit")
        .map(|(t, _)| t.split(',').map(str::trim).collect())
        .unwrap_or_default();
    let bodyless = matches!(
        spec_ep.method.to_ascii_uppercase().as_str(),
        "GET" | "HEAD" | "DELETE" | "OPTIONS"
    );
    let listed = spec_ep
        .required
        .iter()
        .map(|p| (p, true))
        .chain(spec_ep.optional.iter().map(|p| (p, false)));
    let mut out = Vec::new();
    for (p, required) in listed {
        let placed = params.iter().chain(&out).any(|q| q.name == p.name)
            || body.as_ref().is_some_and(|b| b.name == p.name);
        if placed || omitted.contains(&p.name.as_str()) {
            continue;
        }
        let (location, wire) = infer::location_of(&p.name, &p.ty, bodyless);
        let location = location.unwrap_or(ParamLocation::Query);
        let ty = table.lower(&p.ty, &format!("{type_base}{}", pascal(&wire)))?;
        let ty = if infer::is_scalar(&ty) {
            ty
        } else {
            TypeRef::String
        };
        warnings.push(format!(
            "{}: spec parameter {} of {} {} is not placed by the overlay; sent as a {} parameter (inferred)",
            p.pos,
            p.name,
            spec_ep.method,
            spec_ep.path,
            format!("{location:?}").to_lowercase()
        ));
        out.push(Param {
            name: wire,
            location,
            ty,
            required,
            repeated: false,
            default: None,
            docs: docs(p.desc.as_deref()),
        });
    }
    Ok(out)
}

/// The responses: the entry's `@returns` (else the spec's), each with its `@headers(code)`;
/// a `@headers` naming no `@returns` is an error.
fn responses(
    spec_ep: &lap::Endpoint,
    entry: &lap::Endpoint,
    table: &mut TypeTable,
    type_base: &str,
) -> Result<Vec<Response>, LowerError> {
    let source = if entry.returns.is_empty() {
        &spec_ep.returns
    } else {
        &entry.returns
    };
    let mut responses = Vec::new();
    for r in source {
        let body = match &r.body {
            ReturnsBody::TypeRef(t) if matches!(t.kind, lap::TypeKind::Bytes) => {
                Some(ResponseBody { ty: TypeRef::Bytes })
            }
            ReturnsBody::TypeRef(t) => Some(ResponseBody {
                ty: table.lower(t, &format!("{type_base}Response"))?,
            }),
            ReturnsBody::Fields { fields, .. } => Some(ResponseBody {
                ty: table.hoist_struct(&format!("{type_base}Response"), fields)?,
            }),
            ReturnsBody::Text(_) | ReturnsBody::None => None,
        };
        let spec_doc = spec_ep
            .returns
            .iter()
            .find(|s| s.code == r.code)
            .and_then(|s| match &s.body {
                ReturnsBody::Text(t) => docs(Some(t)),
                ReturnsBody::Fields { tail, .. } => docs(tail.as_deref()),
                _ => None,
            });
        let mut headers = Vec::new();
        for ext in entry
            .extensions_named("headers")
            .filter(|e| e.arg.as_deref().map(str::trim) == Some(r.code.as_str()))
        {
            for h in ext_params(ext)? {
                let ty = table.lower(&h.ty, &format!("{type_base}{}", pascal(&h.name)))?;
                headers.push(Header {
                    name: h.name.clone(),
                    ty,
                    docs: docs(h.desc.as_deref()),
                });
            }
        }
        responses.push(Response {
            status: status(&r.code),
            docs: spec_doc,
            body,
            headers,
        });
    }
    for ext in entry.extensions_named("headers") {
        let code = ext.arg.as_deref().unwrap_or("").trim();
        if !source.iter().any(|r| r.code == code) {
            return Err(LowerError::new(
                ext.pos,
                format!("@headers({code}) names no @returns({code})"),
            ));
        }
    }
    Ok(responses)
}

/// The `@scope` (required; `@scope none` for none), whose placeholders must be parameters.
fn scope(entry: &lap::Endpoint, params: &[Param]) -> Result<Option<String>, LowerError> {
    match text(entry, "scope") {
        None => Err(LowerError::new(
            entry.pos,
            "an overlay entry needs a @scope (or `@scope none`)".to_owned(),
        )),
        Some(("none", _)) => Ok(None),
        Some((s, pos)) => {
            for placeholder in parse_path(s).segments.iter().filter_map(|seg| match seg {
                PathSegment::Param(p) => Some(p),
                PathSegment::Literal(_) => None,
            }) {
                if !params.iter().any(|p| &p.name == placeholder) {
                    return Err(LowerError::new(
                        pos,
                        format!("@scope uses {{{placeholder}}}, which is no parameter"),
                    ));
                }
            }
            Ok(Some(s.to_owned()))
        }
    }
}

/// `@paged link FIELD`: the list field of the 200 response, and the `n` page-size parameter.
fn paging(
    entry: &lap::Endpoint,
    table: &TypeTable,
    responses: &[Response],
    params: &[Param],
) -> Result<Option<Paging>, LowerError> {
    let Some((p, pos)) = text(entry, "paged") else {
        return Ok(None);
    };
    let field = p
        .strip_prefix("link")
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .ok_or_else(|| LowerError::new(pos, format!("@paged {p:?}: expected `link FIELD`")))?;
    let item = paged_item(table, responses, field).ok_or_else(|| {
        LowerError::new(
            pos,
            format!("@paged: the 200 response has no list field {field}"),
        )
    })?;
    let page_size_param = params
        .iter()
        .find(|q| q.name == "n" && q.location == ParamLocation::Query)
        .map(|q| q.name.clone());
    Ok(Some(Paging {
        items_field: field.to_owned(),
        item,
        page_size_param,
    }))
}

/// Other names (`@alias a, b`): snake_case identifiers, none the operation's own name.
fn aliases(entry: &lap::Endpoint, name: &str) -> Result<Vec<String>, LowerError> {
    let mut aliases: Vec<String> = Vec::new();
    if let Some((list, pos)) = text(entry, "alias") {
        for alias in list.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            let snake = alias
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !snake || alias == name || aliases.iter().any(|a| a == alias) {
                return Err(LowerError::new(
                    pos,
                    format!("@alias {alias:?} is not a new snake_case name"),
                ));
            }
            aliases.push(alias.to_owned());
        }
    }
    Ok(aliases)
}

/// The spec's description, then a note of ours (`@note text`) as a paragraph after it.
fn entry_docs(spec_ep: &lap::Endpoint, entry: &lap::Endpoint) -> Option<String> {
    match (docs(spec_ep.desc.as_deref()), text(entry, "note")) {
        (Some(d), Some((note, _))) if !note.is_empty() => Some(format!("{d}\n\n{note}")),
        (None, Some((note, _))) if !note.is_empty() => Some(note.to_owned()),
        (d, _) => d,
    }
}

fn ext_params(ext: &Extension) -> Result<&[lap::Param], LowerError> {
    match &ext.body {
        ExtBody::Params(p) => Ok(p),
        ExtBody::Text(_) => Err(LowerError::new(
            ext.pos,
            format!("@{} wants a {{…}} list", ext.keyword),
        )),
    }
}

fn spec_param_doc(ep: &lap::Endpoint, name: &str) -> Option<String> {
    ep.required
        .iter()
        .chain(&ep.optional)
        .find(|p| p.name == name)
        .and_then(|p| docs(p.desc.as_deref()))
}

/// The item type of the list field `field` of the first 2xx response's model.
fn paged_item(table: &TypeTable, responses: &[Response], field: &str) -> Option<TypeRef> {
    let body = responses
        .iter()
        .find(|r| matches!(r.status, Status::Code(200..=299)))?
        .body
        .as_ref()?;
    let model = match &body.ty {
        TypeRef::Named(model) => model,
        TypeRef::Runtime(t) => return t.list_field(field).map(TypeRef::Runtime),
        _ => return None,
    };
    let TypeKind::Struct { fields } = &table.get(model)?.kind else {
        return None;
    };
    match &fields.iter().find(|f| f.name == field)?.ty {
        TypeRef::Array(item) => Some((**item).clone()),
        _ => None,
    }
}
