//! The response struct of an operation: status, typed headers, body, all headers.

use std::collections::BTreeSet;

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use crate::context::Context;
use crate::docs;
use crate::ir::{Status, TypeRef};
use crate::names::ident;
use crate::plan::{BodyField, HeaderPlan, OpPlan};
use crate::types::{Position, TypeTable};

/// The Rust type of a typed header's value.
fn header_type(ctx: &Context<'_>, h: &HeaderPlan<'_>) -> TokenStream {
    if h.is_length {
        quote!(u64)
    } else if ctx.types.is_text_like(&h.header.ty) || TypeTable::is_secret(&h.header.ty) {
        ctx.types.rust(&h.header.ty, Position::Wire)
    } else {
        quote!(String)
    }
}

/// The Rust type of a body field's value.
fn body_type(ctx: &Context<'_>, b: &BodyField<'_>) -> TokenStream {
    ctx.types.rust(b.ty, Position::Wire)
}

/// The expression reading a body of type `ty` from `response`.
fn read_body(ctx: &Context<'_>, ty: &TypeRef) -> TokenStream {
    match ty {
        TypeRef::Bytes => quote!(response.body.clone()),
        TypeRef::String => quote!(String::from_utf8_lossy(&response.body).into_owned()),
        TypeRef::Json => quote! {
            if response.body.is_empty() {
                serde_json::Value::Null
            } else {
                response.json::<serde_json::Value>()?
            }
        },
        _ => {
            let t = ctx.types.rust(ty, Position::Wire);
            quote!(response.json::<#t>()?)
        }
    }
}

/// A status as docs name it (`` `200` ``, `` `2XX` ``).
fn status_words(status: &Status) -> String {
    match status {
        Status::Code(c) => format!("`{c}`"),
        Status::Class(c) => format!("`{c}XX`"),
        Status::Other(o) => docs::code(o),
    }
}

/// The condition on `status` under which a body field is read.
fn condition(statuses: &[Status]) -> TokenStream {
    let mut seen = BTreeSet::new();
    let parts: Vec<TokenStream> = statuses
        .iter()
        .filter_map(|s| {
            let part = match s {
                Status::Code(c) => {
                    let c = Literal::u16_unsuffixed(*c);
                    quote!(status == #c)
                }
                Status::Class(c) => {
                    let low = Literal::u16_unsuffixed(u16::from(*c) * 100);
                    let high = Literal::u16_unsuffixed(u16::from(*c) * 100 + 99);
                    quote!((#low..=#high).contains(&status))
                }
                Status::Other(_) => return None,
            };
            seen.insert(part.to_string()).then_some(part)
        })
        .collect();
    quote!(#(#parts)||*)
}

/// `pub struct Response` with its docs and fields.
pub fn response_struct(ctx: &Context<'_>, plan: &OpPlan<'_>) -> TokenStream {
    let http = &ctx.http;
    let headers = plan.headers.iter().map(|h| {
        let name = ident(&h.field);
        let ty = header_type(ctx, h);
        let fallback = format!("The {} header, when present.", docs::code(&h.header.name));
        let doc = docs::attrs(&docs::or_fallback(h.header.docs.as_deref(), &fallback));
        quote!(#doc pub #name: Option<#ty>)
    });
    let bodies = plan.bodies.iter().map(|b| {
        let name = ident(&b.field);
        let ty = body_type(ctx, b);
        let ty = if b.optional { quote!(Option<#ty>) } else { ty };
        let text = if b.statuses.is_empty() {
            "The body.".to_owned()
        } else {
            let list: Vec<String> = b.statuses.iter().map(status_words).collect();
            format!(
                "The body, present when the status is {}.",
                list.join(" or ")
            )
        };
        let doc = docs::attrs(&[text]);
        quote!(#doc pub #name: #ty)
    });
    let doc = docs::attrs(&[format!("The response of {}.", docs::code(&plan.op.name))]);
    let status_doc = docs::attrs(&[if super::request::done_when_gone(plan) {
        "The HTTP status code: `404` when the request was resent after its first answer was lost \
         and found nothing left to delete (the first attempt deleted it; RFC 9110 §9.2.2)."
    } else {
        "The HTTP status code."
    }
    .to_owned()]);
    quote! {
        #doc
        #[derive(Debug, Clone)]
        #[non_exhaustive]
        pub struct Response {
            #status_doc
            pub status: u16,
            #(#headers,)*
            #(#bodies,)*
            /// All response headers.
            pub headers: #http::HeaderMap,
        }
    }
}

/// `impl Response { fn from_raw(response) }`: typed headers and body from the runtime's
/// response.
pub fn from_raw(ctx: &Context<'_>, plan: &OpPlan<'_>) -> TokenStream {
    let rt = &ctx.rt;
    let headers = plan.headers.iter().map(|h| {
        let name = ident(&h.field);
        let ty = header_type(ctx, h);
        let wire = &h.header.name;
        quote!(#name: response.header::<#ty>(#wire)?)
    });
    let bodies = plan.bodies.iter().map(|b| {
        let name = ident(&b.field);
        let read = read_body(ctx, b.ty);
        if b.optional {
            let cond = condition(&b.statuses);
            quote!(#name: if #cond { Some(#read) } else { None })
        } else {
            quote!(#name: #read)
        }
    });
    quote! {
        impl Response {
            /// Reads the typed parts of the runtime's response.
            fn from_raw(response: #rt::Response) -> Result<Self, #rt::Error> {
                let status = response.status.as_u16();
                Ok(Self {
                    status,
                    #(#headers,)*
                    #(#bodies,)*
                    headers: response.headers,
                })
            }
        }
    }
}
