//! `into_request`: checks the parameters and fills the runtime `Request` (path, query,
//! headers, form, body, scope, repository).

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use crate::context::Context;
use crate::emit::operation::args;
use crate::emit::wire::{self, Mode};
use crate::ir::{ParamLocation, PathSegment, ResponseKind, RuntimeType, TypeRef};
use crate::names::ident;
use crate::plan::{BodyKind, Conv, OpPlan, ParamPlan};
use crate::types::TypeTable;

/// The standard methods `http::Method` has constants for.
const METHODS: &[&str] = &[
    "GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS", "CONNECT", "PATCH", "TRACE",
];

/// A field initializer `field: local`, or the shorthand `field` when they are the same.
fn shorthand(field: &str, local: &str) -> TokenStream {
    let f = ident(field);
    if field == local {
        quote!(#f)
    } else {
        let l = ident(local);
        quote!(#f: #l)
    }
}

/// Escapes literal text for a `format!` string.
fn format_literal(text: &str) -> String {
    text.replace('{', "{{").replace('}', "}}")
}

/// The `http::Method` expression (may hold `?` for a non-standard method).
fn method_expr(ctx: &Context<'_>, plan: &OpPlan<'_>) -> TokenStream {
    let http = &ctx.http;
    let rt = &ctx.rt;
    let upper = plan.op.method.to_ascii_uppercase();
    if METHODS.contains(&upper.as_str()) {
        let m = ident(&upper);
        quote!(#http::Method::#m)
    } else {
        let bytes = Literal::byte_string(upper.as_bytes());
        quote!(#http::Method::from_bytes(#bytes).map_err(|e| #rt::Error::invalid_input(OPERATION, e.to_string()))?)
    }
}

/// Whether `p` is an upload location: a whole path and query taken as is.
fn is_location(p: &ParamPlan<'_>) -> bool {
    matches!(p.param.ty, TypeRef::Runtime(RuntimeType::UploadLocation))
}

/// The path expression: a literal, the upload location itself, or a `format!` of encoded
/// segments.
pub fn path_expr(ctx: &Context<'_>, plan: &OpPlan<'_>) -> TokenStream {
    let segments = &plan.op.path.segments;
    let only_param = match segments.as_slice() {
        [PathSegment::Param(p)] => Some(p),
        [PathSegment::Literal(l), PathSegment::Param(p)] if l == "/" => Some(p),
        _ => None,
    };
    if let Some(p) = only_param.and_then(|name| plan.param_named(name))
        && is_location(p)
        && p.param.required
        && !p.param.repeated
    {
        let place = ident(&p.field);
        return quote!(#place.as_str());
    }
    let mut template = String::new();
    let mut values = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        match segment {
            PathSegment::Literal(text) => template.push_str(&format_literal(text)),
            PathSegment::Param(name) => {
                let Some(p) = plan
                    .param_named(name)
                    .filter(|p| p.location == ParamLocation::Path)
                else {
                    template.push_str(&format_literal(&format!("{{{name}}}")));
                    continue;
                };
                template.push_str("{}");
                let text = wire::param_text(ctx, p);
                let after_slash = i > 0
                    && matches!(&segments[i - 1], PathSegment::Literal(l) if l.ends_with('/'));
                values.push(if is_location(p) {
                    if after_slash {
                        quote!((#text).trim_start_matches('/'))
                    } else {
                        quote!(#text)
                    }
                } else if matches!(p.param.ty, TypeRef::Runtime(RuntimeType::RepositoryName)) {
                    {
                        let rt = &ctx.rt;
                        quote!(#rt::encode::path(#text))
                    }
                } else {
                    {
                        let rt = &ctx.rt;
                        quote!(#rt::encode::segment(#text))
                    }
                });
            }
        }
    }
    if values.is_empty() {
        let literal = plan.op.path.raw.clone();
        let text = if literal.is_empty() {
            "/".to_owned()
        } else {
            literal
        };
        quote!(#text)
    } else {
        quote!(format!(#template, #(#values),*))
    }
}

/// The auth scope of a request.
#[derive(Debug, Clone)]
pub enum Scope {
    /// A `String` expression built from the parameters.
    Fixed(TokenStream),
    /// A `format!` that also names `repository`: the repository of the upload location in
    /// the local `location` (known only when the location has the `/v2/<name>/blobs/uploads`
    /// shape).
    FromLocation {
        /// The expression, using the local `repository`.
        format: TokenStream,
        /// The upload location's local.
        location: TokenStream,
    },
}

/// The scope, when every placeholder of the template is a parameter of the operation or,
/// for an operation on an upload location, stands for the location's repository (a
/// placeholder naming the location itself, or naming no parameter).
pub fn scope(ctx: &Context<'_>, plan: &OpPlan<'_>) -> Option<Scope> {
    let template = plan.op.scope.as_deref()?;
    let location = plan.location_param();
    let mut format = String::new();
    let mut values = Vec::new();
    let mut uses_location = false;
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}')? + open;
        format.push_str(&format_literal(&rest[..open]));
        match plan.param_named(&rest[open + 1..close]) {
            // A location is no repository name: it stands for the location's repository.
            Some(p) if location.is_some_and(|l| l.field == p.field) => {
                uses_location = true;
                format.push_str("{repository}");
            }
            Some(p) => {
                format.push_str("{}");
                values.push(wire::param_text(ctx, p));
            }
            None if location.is_some() => {
                uses_location = true;
                format.push_str("{repository}");
            }
            None => return None,
        }
        rest = &rest[close + 1..];
    }
    format.push_str(&format_literal(rest));
    let expr = if values.is_empty() && !uses_location {
        quote!(#template)
    } else if values.is_empty() {
        quote!(format!(#format))
    } else {
        quote!(format!(#format, #(#values),*))
    };
    match location.filter(|_| uses_location) {
        Some(p) => {
            let f = ident(&p.field);
            Some(Scope::FromLocation {
                format: expr,
                location: quote!(#f),
            })
        }
        None => Some(Scope::Fixed(expr)),
    }
}

/// What one value of a parameter does to the request, given the value `item` (owned).
fn put(ctx: &Context<'_>, p: &ParamPlan<'_>, item: &TokenStream) -> TokenStream {
    let key = &p.param.name;
    match p.location {
        ParamLocation::Query | ParamLocation::Path => {
            let text = wire::text(ctx, &p.param.ty, item, Mode::Move);
            quote!(.query(#key, #text))
        }
        ParamLocation::Header => {
            let text = wire::str_ref(ctx, &p.param.ty, item);
            quote!(.header(#key, #text)?)
        }
        // a secret stays a `Secret` in the form, so the request's `Debug` redacts it
        ParamLocation::Form if TypeTable::is_secret(&p.param.ty) => {
            let rt = &ctx.rt;
            quote!((#key.to_owned(), #rt::FormValue::from(#item)))
        }
        ParamLocation::Form => {
            let rt = &ctx.rt;
            let text = wire::text(ctx, &p.param.ty, item, Mode::Move);
            quote!((#key.to_owned(), #rt::FormValue::from(#text)))
        }
    }
}

/// For the optional page-size parameter of a paged operation: its value, or else the page
/// size the client was built with (`ClientBuilder::page_size`).
fn page_size_default(plan: &OpPlan<'_>, p: &ParamPlan<'_>) -> Option<TokenStream> {
    let paging = plan.op.paging.as_ref()?;
    if paging.page_size_param.as_deref() != Some(p.param.name.as_str()) || p.conv != Conv::Into {
        return None;
    }
    let local = ident(&p.field);
    let default = match p.param.ty {
        TypeRef::Integer { .. } => quote!(and_then(|size| size.try_into().ok())),
        TypeRef::String => quote!(map(|size| size.to_string())),
        _ => return None,
    };
    Some(quote!(#local.or_else(|| client.transport().page_size().#default)))
}

/// For an optional text parameter with a default (`accept` of `get_manifest`): its value, or
/// else the default's wire text.
fn text_default(p: &ParamPlan<'_>) -> Option<TokenStream> {
    let default = p.param.default.as_deref()?;
    if p.param.required || p.param.repeated || p.param.ty != TypeRef::String || p.conv != Conv::Into
    {
        return None;
    }
    let local = ident(&p.field);
    Some(quote!(#local.or_else(|| Some(#default.to_owned()))))
}

/// Whether the operation authenticates with HTTP Basic up front (`@auth basic`).
fn uses_basic_auth(plan: &OpPlan<'_>) -> bool {
    plan.op
        .auth
        .as_deref()
        .is_some_and(|a| a.trim().eq_ignore_ascii_case("basic"))
}

/// Whether a `404` to a resent `DELETE` after a lost answer counts as done: a `DELETE` whose
/// successes have no body (see the runtime's `Request::done_when_gone`).
pub(super) fn done_when_gone(plan: &OpPlan<'_>) -> bool {
    plan.op.method.eq_ignore_ascii_case("DELETE")
        && plan.op.responses.iter().all(|r| r.body.is_none())
}

/// `fn into_request(self) -> Result<(Client, Request), Error>`.
/// The kind of the response body, which sets the runtime's limit on its size: the spec's
/// `@response_kind`, else a `Document` for a `GET` whose every success body the spec types as
/// JSON of a named type, a list or a map (so the runtime need not infer it from each answer's
/// `Content-Type`), else none (the runtime infers it).
fn response_kind(plan: &OpPlan<'_>) -> Option<ResponseKind> {
    let op = plan.op;
    if op.response_kind.is_some() {
        return op.response_kind;
    }
    let typed_json = |r: &crate::ir::Response| {
        matches!(
            r.body.as_ref().map(|b| &b.ty),
            Some(TypeRef::Named(_) | TypeRef::Array(_) | TypeRef::Map(_))
        )
    };
    let document = op.method.eq_ignore_ascii_case("GET")
        && !op.streamed
        && !op.responses.is_empty()
        && op.responses.iter().all(typed_json);
    document.then_some(ResponseKind::Document)
}

pub fn into_request(ctx: &Context<'_>, plan: &OpPlan<'_>) -> TokenStream {
    let rt = &ctx.rt;
    let mut bound: Vec<TokenStream> = plan
        .params
        .iter()
        .map(|p| {
            let f = ident(&p.field);
            quote!(#f)
        })
        .collect();
    if let Some(b) = &plan.body {
        bound.extend(args::body_fields(ctx, b).into_iter().map(|(n, _)| n));
    }
    let checks = plan
        .params
        .iter()
        .filter(|p| p.conv == Conv::TryInto)
        .map(|p| {
            let f = ident(&p.field);
            quote!(let #f = #f.map_err(|e| #rt::Error::invalid_input(OPERATION, e))?;)
        });

    // The request expression: everything required and single goes into one chain.
    let method = method_expr(ctx, plan);
    let path = path_expr(ctx, plan);
    let mut chain = vec![quote!(#rt::Request::new(OPERATION, #method, #path))];
    let mut statements = Vec::new();
    match scope(ctx, plan) {
        Some(Scope::Fixed(scope)) => chain.push(quote!(.scope(#scope))),
        // the location's repository, where the spec says a session lives (`location_shape`)
        Some(Scope::FromLocation { format, location }) => {
            if let Some((prefix, suffix)) = &ctx.location_shape {
                statements.push(quote! {
                    if let Some(repository) = #location.repository_between(#prefix, #suffix) {
                        request = request.scope(#format).repository(repository);
                    }
                });
            }
        }
        None => {}
    }
    if let Some(p) = plan.repository_param() {
        let f = ident(&p.field);
        chain.push(quote!(.repository(#f.as_str())));
    }
    if uses_basic_auth(plan) {
        chain.push(quote!(.basic_auth()));
    }
    if plan.op.repeatable {
        chain.push(quote!(.repeatable()));
    }
    if let Some(kind) = response_kind(plan) {
        let kind = match kind {
            ResponseKind::Manifest => quote!(Manifest),
            ResponseKind::Token => quote!(Token),
            ResponseKind::Document => quote!(Document),
            ResponseKind::Blob => quote!(Blob),
            ResponseKind::Ack => quote!(Ack),
        };
        chain.push(quote!(.response_kind(#rt::BodyKind::#kind)));
    }
    if done_when_gone(plan) {
        chain.push(quote!(.done_when_gone()));
    }
    let mut form_required = Vec::new();
    let mut form_more = Vec::new();
    for p in plan
        .params
        .iter()
        .filter(|p| p.location != ParamLocation::Path)
    {
        let f = ident(&p.field);
        let local = quote!(#f);
        let item = quote!(item);
        let single = p.param.required && !p.param.repeated;
        match (p.location, single) {
            (ParamLocation::Form, true) => form_required.push(put(ctx, p, &local)),
            (ParamLocation::Form, false) => {
                let pair = put(ctx, p, &item);
                form_more.push(if p.param.repeated {
                    quote!(for item in #local { form.push(#pair); })
                } else {
                    let value = text_default(p).unwrap_or(local);
                    quote!(if let Some(item) = #value { form.push(#pair); })
                });
            }
            (_, true) => chain.push(put(ctx, p, &local)),
            (_, false) => {
                let call = put(ctx, p, &item);
                statements.push(if p.param.repeated {
                    quote!(for item in #local { request = request #call; })
                } else {
                    let value = page_size_default(plan, p)
                        .or_else(|| text_default(p))
                        .unwrap_or(local);
                    quote!(if let Some(item) = #value { request = request #call; })
                });
            }
        }
    }
    let has_form = plan
        .params
        .iter()
        .any(|p| p.location == ParamLocation::Form);
    if has_form {
        let decl = match (form_required.is_empty(), form_more.is_empty()) {
            (_, true) => quote!(let form = vec![#(#form_required),*];),
            (true, false) => quote!(let mut form = Vec::new();),
            (false, false) => quote!(let mut form = vec![#(#form_required),*];),
        };
        statements.push(quote! {
            #decl
            #(#form_more)*
            request = request.body(#rt::Body::Form(form));
        });
    }
    if let Some(b) = &plan.body {
        let f = ident(&b.field);
        let value = quote!(value);
        let err = wire::invalid_input(ctx);
        let make = |v: &TokenStream| match &b.kind {
            BodyKind::Bytes { content_type } => {
                quote!(#rt::Body::Bytes { content_type: #content_type.to_owned(), data: #v })
            }
            BodyKind::Text { content_type } => {
                quote!(#rt::Body::Bytes { content_type: #content_type.to_owned(), data: #v.into() })
            }
            BodyKind::BytesWithType { .. } => {
                quote!(#rt::Body::Bytes { content_type: #v.1, data: #v.0 })
            }
            BodyKind::Json => {
                quote!(#rt::Body::Json(serde_json::to_vec(&#v).map_err(#err)?.into()))
            }
        };
        if b.body.required {
            let body = match &b.kind {
                BodyKind::BytesWithType { field: ct, .. } => {
                    let ct_init = shorthand("content_type", ct);
                    let data_init = shorthand("data", &b.field);
                    quote!(#rt::Body::Bytes { #ct_init, #data_init })
                }
                _ => make(&quote!(#f)),
            };
            chain.push(quote!(.body(#body)));
        } else {
            let body = make(&value);
            statements.push(quote!(if let Some(value) = #f { request = request.body(#body); }));
        }
    }
    if plan.is_paged() {
        bound.push(quote!(continuation));
        statements.push(quote! {
            if let Some(continuation) = continuation {
                request = #rt::paging::resume(request, &continuation);
            }
        });
    }
    let binding = if statements.is_empty() {
        quote!(let request)
    } else {
        quote!(let mut request)
    };
    quote! {
        /// Checks the parameters and builds the runtime request (for the hand-written
        /// workflows of this crate, which send it their own way).
        pub(crate) fn into_request(self) -> Result<(crate::Client, #rt::Request), #rt::Error> {
            let Self { client, #(#bound),* } = self;
            #(#checks)*
            #binding = #(#chain)*;
            #(#statements)*
            Ok((client, request))
        }
    }
}
