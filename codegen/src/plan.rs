//! An operation resolved for emission: every identifier chosen (unique, safe), every
//! parameter's effective location and conversion, the response's fields.

use std::collections::BTreeSet;

use crate::ir::{
    Header, Operation, Param, ParamLocation, PathSegment, RequestBody, Status, TypeRef,
};
use crate::names::{Namer, Style, snake};
use crate::types::TypeTable;

/// Methods of the request builder that a setter must not take.
const BUILDER_METHODS: &[&str] = &[
    "send",
    "into_future",
    "into_stream",
    "into_pages",
    "resume_from",
    "into_request",
    "clone",
    "fmt",
];

/// Locals of the emitted `into_request` that a parameter's local must not take.
const REQUEST_LOCALS: &[&str] = &[
    "client",
    "path",
    "request",
    "form",
    "item",
    "repository",
    "continuation",
];

/// Fields of every response struct.
const RESPONSE_FIELDS: &[&str] = &["status", "headers"];

/// Methods of `Client` (and of the traits it implements) that an operation must not take,
/// plus module names that would clash in `operations/`.
pub const CLIENT_RESERVED: &[&str] = &[
    "builder",
    "default_builder",
    "bearer_credential",
    "basic_credential",
    "api_key_credential",
    "transport",
    "clone",
    "fmt",
    "from_transport",
    "operations",
];

/// How a parameter's argument becomes its stored value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conv {
    /// `impl Into<T>`: cannot fail.
    Into,
    /// `impl TryInto<T>`: a validated runtime type; a failure is kept and reported by `send`.
    TryInto,
}

/// A parameter, resolved.
#[derive(Debug, Clone)]
pub struct ParamPlan<'a> {
    /// The IR parameter.
    pub param: &'a Param,
    /// The setter / argument name.
    pub public: String,
    /// The builder field, also the local in `into_request`.
    pub field: String,
    /// Where it travels (a path parameter the template does not mention travels in the query).
    pub location: ParamLocation,
    /// How the argument converts.
    pub conv: Conv,
}

/// How the request body travels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyKind {
    /// Raw bytes with a media type fixed by the spec.
    Bytes {
        /// The media type.
        content_type: String,
    },
    /// Raw bytes whose media type the caller gives (manifests).
    BytesWithType {
        /// The argument name of the media type.
        public: String,
        /// The builder field of the media type (used when the body is required).
        field: String,
    },
    /// Text with a media type that is not JSON (`text/plain`).
    Text {
        /// The media type.
        content_type: String,
    },
    /// A JSON document.
    Json,
}

/// The request body, resolved.
#[derive(Debug, Clone)]
pub struct BodyPlan<'a> {
    /// The IR body.
    pub body: &'a RequestBody,
    /// The setter / argument name.
    pub public: String,
    /// The builder field and local.
    pub field: String,
    /// How it travels.
    pub kind: BodyKind,
}

/// A typed response header, resolved.
#[derive(Debug, Clone)]
pub struct HeaderPlan<'a> {
    /// The IR header.
    pub header: &'a Header,
    /// The response field.
    pub field: String,
    /// `Content-Length` with an integer type: parsed as `u64`.
    pub is_length: bool,
}

/// One body field of a response.
#[derive(Debug, Clone)]
pub struct BodyField<'a> {
    /// The response field.
    pub field: String,
    /// The body type.
    pub ty: &'a TypeRef,
    /// The statuses whose response carries this body; empty means every status.
    pub statuses: Vec<Status>,
    /// Whether the field is `Option` (some statuses carry no such body).
    pub optional: bool,
}

/// An operation, resolved.
#[derive(Debug, Clone)]
pub struct OpPlan<'a> {
    /// The IR operation.
    pub op: &'a Operation,
    /// The module and method name.
    pub ident: String,
    /// The parameters, in IR order.
    pub params: Vec<ParamPlan<'a>>,
    /// The body, if any.
    pub body: Option<BodyPlan<'a>>,
    /// The typed response headers (one per header name, case-insensitive).
    pub headers: Vec<HeaderPlan<'a>>,
    /// The response body fields.
    pub bodies: Vec<BodyField<'a>>,
}

impl<'a> OpPlan<'a> {
    /// Resolves `op`, whose module/method name is `ident`.
    pub fn new(op: &'a Operation, ident: String) -> Self {
        let in_template: BTreeSet<&str> = op
            .path
            .segments
            .iter()
            .filter_map(|s| match s {
                PathSegment::Param(p) => Some(p.as_str()),
                PathSegment::Literal(_) => None,
            })
            .collect();
        let mut public = Namer::new(Style::Snake, BUILDER_METHODS);
        let mut fields = Namer::new(Style::Snake, REQUEST_LOCALS);
        let params = op
            .params
            .iter()
            .map(|param| {
                let base = snake(&param.name, "param");
                let location = match param.location {
                    ParamLocation::Path if !in_template.contains(param.name.as_str()) => {
                        ParamLocation::Query
                    }
                    other => other,
                };
                ParamPlan {
                    param,
                    public: public.claim(&base),
                    field: fields.claim(&base),
                    location,
                    conv: match param.ty {
                        _ if TypeTable::is_secret(&param.ty) => Conv::Into,
                        TypeRef::Runtime(_) => Conv::TryInto,
                        _ => Conv::Into,
                    },
                }
            })
            .collect();
        let body = op.body.as_ref().map(|body| {
            let base = snake(&body.name, "body");
            let public_name = public.claim(&base);
            let field = fields.claim(&base);
            let kind = match (&body.ty, &body.content_type) {
                (TypeRef::Bytes, Some(ct)) => BodyKind::Bytes {
                    content_type: ct.clone(),
                },
                (TypeRef::Bytes, None) => BodyKind::BytesWithType {
                    public: public.claim("content_type"),
                    field: fields.claim("content_type"),
                },
                (TypeRef::String, Some(ct)) if !ct.to_ascii_lowercase().contains("json") => {
                    BodyKind::Text {
                        content_type: ct.clone(),
                    }
                }
                _ => BodyKind::Json,
            };
            BodyPlan {
                body,
                public: public_name,
                field,
                kind,
            }
        });
        let mut response_fields = Namer::new(Style::Snake, RESPONSE_FIELDS);
        let headers = plan_headers(op, &mut response_fields);
        let bodies = plan_bodies(op, &mut response_fields);
        Self {
            op,
            ident,
            params,
            body,
            headers,
            bodies,
        }
    }

    /// The parameters that are method arguments (required), in order.
    pub fn required(&self) -> impl Iterator<Item = &ParamPlan<'a>> {
        self.params.iter().filter(|p| p.param.required)
    }

    /// The parameters that get a setter (optional), in order.
    pub fn optional(&self) -> impl Iterator<Item = &ParamPlan<'a>> {
        self.params.iter().filter(|p| !p.param.required)
    }

    /// The parameter whose wire name is `name`, if any.
    pub fn param_named(&self, name: &str) -> Option<&ParamPlan<'a>> {
        self.params.iter().find(|p| p.param.name == name)
    }

    /// The first required path parameter of type `RepositoryName`: the operation's repository.
    pub fn repository_param(&self) -> Option<&ParamPlan<'a>> {
        self.params.iter().find(|p| {
            p.param.required
                && !p.param.repeated
                && p.location == ParamLocation::Path
                && matches!(&p.param.ty, TypeRef::Runtime(n) if n == "RepositoryName")
        })
    }

    /// The required path parameter of type `UploadLocation`, if any.
    pub fn location_param(&self) -> Option<&ParamPlan<'a>> {
        self.params.iter().find(|p| {
            p.param.required
                && !p.param.repeated
                && p.location == ParamLocation::Path
                && matches!(&p.param.ty, TypeRef::Runtime(n) if n == "UploadLocation")
        })
    }

    /// Whether the operation is paged (its builder has `into_pages`, `into_stream` and
    /// `resume_from`).
    pub fn is_paged(&self) -> bool {
        self.op.paging.is_some()
    }

    /// The response body field a paged operation reads its items from: the first one.
    pub fn page_body(&self) -> Option<&BodyField<'a>> {
        self.bodies.first()
    }
}

/// One typed header per header name (case-insensitive, first wins), over all responses.
fn plan_headers<'a>(op: &'a Operation, names: &mut Namer) -> Vec<HeaderPlan<'a>> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for header in op.responses.iter().flat_map(|r| r.headers.iter()) {
        if !seen.insert(header.name.to_ascii_lowercase()) {
            continue;
        }
        out.push(HeaderPlan {
            header,
            field: names.claim(&snake(&header.name, "header")),
            is_length: header.name.eq_ignore_ascii_case("content-length")
                && matches!(header.ty, TypeRef::Integer { .. }),
        });
    }
    out
}

/// The body fields: one `body` when every response body has one type (optional when some
/// responses have none), else one `body_<status>` per response with a body.
fn plan_bodies<'a>(op: &'a Operation, names: &mut Namer) -> Vec<BodyField<'a>> {
    let with_body: Vec<(&Status, &TypeRef)> = op
        .responses
        .iter()
        .filter_map(|r| r.body.as_ref().map(|b| (&r.status, &b.ty)))
        .collect();
    let Some((_, first_ty)) = with_body.first() else {
        return Vec::new();
    };
    if with_body.iter().all(|(_, ty)| ty == first_ty) {
        let every = with_body.len() == op.responses.len();
        let covers_all = with_body.iter().any(|(s, _)| matches!(s, Status::Other(_)));
        let optional = !every && !covers_all;
        return vec![BodyField {
            field: names.claim("body"),
            ty: first_ty,
            statuses: if optional {
                with_body.iter().map(|(s, _)| (*s).clone()).collect()
            } else {
                Vec::new()
            },
            optional,
        }];
    }
    with_body
        .iter()
        .map(|(status, ty)| {
            let suffix = match status {
                Status::Code(c) => c.to_string(),
                Status::Class(c) => format!("{c}xx"),
                Status::Other(o) => snake(o, "other"),
            };
            let covers_all = matches!(status, Status::Other(_));
            BodyField {
                field: names.claim(&format!("body_{suffix}")),
                ty,
                statuses: if covers_all {
                    Vec::new()
                } else {
                    vec![(*status).clone()]
                },
                optional: !covers_all,
            }
        })
        .collect()
}

/// The named types some operation reaches: those its parameters, request body, response
/// headers and bodies and paging items name, and, through struct fields, list items and map
/// values, those these name in turn. The others are not emitted: a model no operation sends
/// or receives is nothing a user can meet.
pub fn reachable_types(api: &crate::ir::Api) -> BTreeSet<String> {
    fn walk(ty: &TypeRef, out: &mut Vec<String>) {
        match ty {
            TypeRef::Named(name) => out.push(name.clone()),
            TypeRef::Array(inner) | TypeRef::Map(inner) => walk(inner, out),
            _ => {}
        }
    }
    let mut pending = Vec::new();
    for op in &api.operations {
        op.params.iter().for_each(|p| walk(&p.ty, &mut pending));
        op.body.iter().for_each(|b| walk(&b.ty, &mut pending));
        for r in &op.responses {
            r.headers.iter().for_each(|h| walk(&h.ty, &mut pending));
            r.body.iter().for_each(|b| walk(&b.ty, &mut pending));
        }
        op.paging.iter().for_each(|p| walk(&p.item, &mut pending));
    }
    let by_name: std::collections::HashMap<&str, &crate::ir::NamedType> =
        api.types.iter().map(|t| (t.name.as_str(), t)).collect();
    let mut seen = BTreeSet::new();
    while let Some(name) = pending.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(t) = by_name.get(name.as_str())
            && let crate::ir::TypeKind::Struct { fields } = &t.kind
        {
            fields.iter().for_each(|f| walk(&f.ty, &mut pending));
        }
    }
    seen
}
