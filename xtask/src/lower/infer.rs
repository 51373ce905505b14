//! Lowering of a spec endpoint that no overlay describes: parameter locations and types are
//! inferred (the format does not say where a parameter travels: the serializer's
//! `Endpoint.to_lap`, `lap/core/formats/lap.py` of <https://github.com/Lap-Platform/LAP>,
//! lists path, query and header parameters and body properties alike).
//!
//! - a name in `{…}` of the path travels in the path;
//! - `accept`, `content-type`, `authorization`, `if-*`, `x-*` names and `header:` names are headers;
//! - on GET, HEAD, DELETE and OPTIONS everything else is a query parameter;
//! - on other methods, `any`-typed parameters (Swagger 2 non-body parameters) are query
//!   parameters and typed ones are the properties of a JSON body;
//! - `@body → T` gives the body type; `@returns(C) {…}` a response struct; a text-only
//!   `@returns` an untyped JSON body (`serde_json::Value`, empty bodies read as `null`).

use acr_codegen::ir::{
    Field, Operation, Param, ParamLocation, RequestBody, Response, ResponseBody, Status, TypeRef,
};

use crate::lap::{self, ReturnsBody, TypeKind};

use super::path::{parse_path, path_params};
use super::types::{TypeTable, pascal, snake};
use super::{LowerError, docs, errors, status};

/// Lowers one endpoint with inferred locations.
pub fn lower_endpoint(
    spec: &lap::Document,
    ep: &lap::Endpoint,
    table: &mut TypeTable,
) -> Result<Operation, LowerError> {
    let name = operation_name(ep);
    let type_base = pascal(&name);
    let path = parse_path(&ep.path);
    let in_path = path_params(&path);
    let method = ep.method.to_ascii_uppercase();
    let bodyless = matches!(method.as_str(), "GET" | "HEAD" | "DELETE" | "OPTIONS");

    let mut params: Vec<Param> = in_path
        .iter()
        .map(|p| Param {
            name: p.clone(),
            location: ParamLocation::Path,
            ty: TypeRef::String,
            required: true,
            repeated: false,
            default: None,
            docs: None,
        })
        .collect();
    let mut body_fields: Vec<Field> = Vec::new();
    let common = spec.common_fields.iter().flatten().map(|p| (p, false));
    let listed = ep
        .required
        .iter()
        .map(|p| (p, true))
        .chain(ep.optional.iter().map(|p| (p, false)))
        .chain(common);
    for (p, required) in listed {
        let raw = p.name.trim();
        if let Some(existing) = params
            .iter_mut()
            .find(|q| q.location == ParamLocation::Path && q.name == raw)
        {
            if existing.docs.is_none() {
                existing.docs = docs(p.desc.as_deref());
            }
            if !matches!(p.ty.kind, TypeKind::Any) {
                let ty = table.lower(&p.ty, &format!("{type_base}{}", pascal(raw)))?;
                if is_scalar(&ty) {
                    existing.ty = ty;
                }
            }
            continue;
        }
        let (location, wire) = location_of(raw, &p.ty, bodyless);
        let hint = format!("{type_base}{}", pascal(&wire));
        let ty = table.lower(&p.ty, &hint)?;
        match location {
            None => {
                if !body_fields.iter().any(|f| f.name == wire) {
                    body_fields.push(Field {
                        name: wire,
                        ty,
                        required,
                        docs: docs(p.desc.as_deref()),
                    });
                }
            }
            Some(location) => {
                if params
                    .iter()
                    .any(|q| q.name == wire && q.location == location)
                {
                    continue;
                }
                let (ty, repeated) = match ty {
                    TypeRef::Array(item)
                        if is_scalar(&item) && location != ParamLocation::Header =>
                    {
                        (*item, true)
                    }
                    ty if is_scalar(&ty) => (ty, false),
                    // Objects and JSON values travel as their JSON text.
                    _ => (TypeRef::String, false),
                };
                params.push(Param {
                    name: wire,
                    location,
                    ty,
                    required,
                    repeated,
                    default: None,
                    docs: docs(p.desc.as_deref()),
                });
            }
        }
    }
    params.sort_by_key(|p| p.location);

    let body = if let Some(t) = &ep.body {
        Some(RequestBody {
            name: "body".to_owned(),
            content_type: Some("application/json".to_owned()),
            ty: table.lower(t, &format!("{type_base}Body"))?,
            required: !t.nullable,
            docs: None,
        })
    } else if !body_fields.is_empty() {
        let required = body_fields.iter().any(|f| f.required);
        Some(RequestBody {
            name: "body".to_owned(),
            content_type: Some("application/json".to_owned()),
            ty: table.hoist_fields(&format!("{type_base}Body"), body_fields),
            required,
            docs: None,
        })
    } else {
        None
    };

    let mut responses = Vec::new();
    let many = ep.returns.len() > 1;
    for r in &ep.returns {
        let st = status(&r.code);
        let hint = match (&st, many) {
            (Status::Code(c), true) => format!("{type_base}Response{c}"),
            _ => format!("{type_base}Response"),
        };
        let (body, text) = match &r.body {
            ReturnsBody::Fields { fields, tail } => {
                let ty = if fields.is_empty() {
                    TypeRef::Json
                } else {
                    table.hoist_struct(&hint, fields)?
                };
                (Some(ResponseBody { ty }), tail.clone())
            }
            ReturnsBody::TypeRef(t) => (
                Some(ResponseBody {
                    ty: table.lower(t, &hint)?,
                }),
                None,
            ),
            ReturnsBody::Text(t) => (untyped_body(&st), Some(t.clone())),
            ReturnsBody::None => (untyped_body(&st), None),
        };
        responses.push(Response {
            status: st,
            docs: docs(text.as_deref()),
            body,
            headers: Vec::new(),
        });
    }

    Ok(Operation {
        name,
        method,
        path,
        docs: docs(ep.desc.as_deref()),
        params,
        body,
        responses,
        errors: errors(ep),
        scope: None,
        auth: ep.auth.clone(),
        paging: None,
        aliases: Vec::new(),
        inferred: true,
        line: ep.pos.line,
        source: None,
    })
}

/// An untyped response body, except for statuses that carry none.
fn untyped_body(status: &Status) -> Option<ResponseBody> {
    match status {
        Status::Code(204 | 205 | 304) => None,
        _ => Some(ResponseBody { ty: TypeRef::Json }),
    }
}

pub(super) fn is_scalar(t: &TypeRef) -> bool {
    match t {
        TypeRef::String
        | TypeRef::Integer { .. }
        | TypeRef::Number
        | TypeRef::Bool
        | TypeRef::DateTime => true,
        TypeRef::Named(_) => true, // enums and, rarely, objects: the emitter serializes them
        _ => false,
    }
}

/// Where a non-path parameter travels (`None` = a body property) and its wire name.
pub(super) fn location_of(
    name: &str,
    ty: &lap::TypeExpr,
    bodyless: bool,
) -> (Option<ParamLocation>, String) {
    if let Some(h) = name.strip_prefix("header:") {
        return (Some(ParamLocation::Header), h.to_owned());
    }
    let lower = name.to_ascii_lowercase();
    let header = matches!(
        lower.as_str(),
        "accept"
            | "accept-language"
            | "content-type"
            | "authorization"
            | "user-agent"
            | "prefer"
            | "range"
    ) || lower.starts_with("if-")
        || lower.starts_with("x-");
    if header {
        return (Some(ParamLocation::Header), name.to_owned());
    }
    if bodyless || matches!(ty.kind, TypeKind::Any) {
        return (Some(ParamLocation::Query), name.to_owned());
    }
    (None, name.to_owned())
}

/// An operation name for an endpoint: `method` plus the path's words (`get_v2_name_manifests`).
fn operation_name(ep: &lap::Endpoint) -> String {
    let path = ep.path.split(['?', '#']).next().unwrap_or_default();
    let words: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.starts_with('{') && s.ends_with('}') {
                format!("by_{}", snake(s))
            } else {
                snake(s)
            }
        })
        .filter(|s| !s.is_empty() && s != "by_")
        .collect();
    let method = snake(&ep.method);
    if words.is_empty() {
        format!("{method}_root")
    } else {
        format!("{method}_{}", words.join("_"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lap::ParseOptions;

    fn lower_text(text: &str) -> acr_codegen::ir::Api {
        let doc = lap::parse(text, &ParseOptions::default()).expect("parses");
        super::super::lower(&doc, None).expect("lowers").api
    }

    #[test]
    fn infers_locations() {
        let api = lower_text(
            "@lap v0.3\n@endpoints 2\n\n@endpoint GET /items/{id}\n@required {id: str # The id}\n@optional {limit: int, x-trace: str}\n@returns(200) {name: str, tags: [str]}\n\n@endpoint POST /items\n@required {name: str # Name}\n@optional {dry_run: any}\n@returns(201) Created\n\n@end\n",
        );
        let get = &api.operations[0];
        assert_eq!(get.name, "get_items_by_id");
        let locs: Vec<_> = get
            .params
            .iter()
            .map(|p| (p.name.as_str(), p.location))
            .collect();
        assert_eq!(
            locs,
            vec![
                ("id", ParamLocation::Path),
                ("limit", ParamLocation::Query),
                ("x-trace", ParamLocation::Header)
            ]
        );
        assert_eq!(get.params[0].docs.as_deref(), Some("The id"));
        assert_eq!(
            get.responses[0].body.as_ref().unwrap().ty,
            TypeRef::Named("GetItemsByIdResponse".into())
        );
        let post = &api.operations[1];
        let body = post.body.as_ref().unwrap();
        assert_eq!(body.ty, TypeRef::Named("PostItemsBody".into()));
        assert!(body.required);
        assert_eq!(post.params[0].name, "dry_run");
        assert_eq!(post.params[0].location, ParamLocation::Query);
        assert_eq!(post.responses[0].body.as_ref().unwrap().ty, TypeRef::Json);
        assert!(api.types.iter().any(|t| t.name == "PostItemsBody"));
    }

    #[test]
    fn duplicate_names_get_suffixes() {
        let api = lower_text(
            "@lap v0.3\n@endpoints 2\n\n@endpoint POST /\n@desc A\n\n@endpoint POST /\n@desc B\n\n@end\n",
        );
        let names: Vec<_> = api.operations.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, vec!["post_root", "post_root_2"]);
    }
}
