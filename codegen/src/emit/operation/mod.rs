//! The file of one operation (`operations/<name>.rs`) and the index of them all
//! (`operations/mod.rs`). Each fragment has its own module.

pub mod args;
pub mod builder;
pub mod method;
pub mod paging;
pub mod request;
pub mod response;
pub mod send;
pub mod setters;

use proc_macro2::TokenStream;
use quote::quote;

use crate::context::Context;
use crate::docs;
use crate::ir::ParamLocation;
use crate::names::ident;
use crate::plan::OpPlan;

/// How docs name a parameter's location ("query parameter").
pub fn location_words(location: ParamLocation) -> &'static str {
    match location {
        ParamLocation::Path => "path parameter",
        ParamLocation::Query => "query parameter",
        ParamLocation::Header => "header",
        ParamLocation::Form => "form field",
    }
}

/// The whole `operations/<name>.rs`.
pub fn file(ctx: &Context<'_>, plan: &OpPlan<'_>) -> TokenStream {
    let op = plan.op;
    let route = format!("{} {}", op.method, op.path.raw);
    let mut lines = vec![format!(
        "The {} operation: {}.",
        docs::code(&op.name),
        docs::code(&route)
    )];
    let from_spec = op.docs.as_deref().map(docs::lines).unwrap_or_default();
    if !from_spec.is_empty() {
        lines.push(String::new());
        lines.extend(from_spec);
    }
    let module_docs = docs::inner_attrs(&lines);
    let name = &op.name;
    let method = method::method(ctx, plan);
    let builder = builder::builder_struct(ctx, plan);
    let setters = setters::setters(ctx, plan);
    let send = send::send(ctx, plan);
    let into_future = send::into_future(ctx);
    let into_stream = paging::into_stream(ctx, plan);
    let response = response::response_struct(ctx, plan);
    let from_raw = response::from_raw(ctx, plan);
    let uses_support = [&method, &send, &into_stream]
        .iter()
        .any(|t| t.to_string().contains("support ::"));
    let import = if uses_support {
        quote!(
            use crate::support;
        )
    } else {
        quote!()
    };
    quote! {
        #module_docs

        #import

        /// The operation's name, for errors and tracing.
        pub const OPERATION: &str = #name;

        #method
        #builder
        #setters
        #send
        #into_future
        #into_stream
        #response
        #from_raw
    }
}

/// `operations/mod.rs`: one `pub mod` per operation, sorted.
pub fn index(ctx: &Context<'_>) -> TokenStream {
    let mut names: Vec<&str> = ctx.ops.iter().map(|p| p.ident.as_str()).collect();
    names.sort_unstable();
    let mods = names.iter().map(|n| {
        let n = ident(n);
        quote!(pub mod #n;)
    });
    quote! {
        //! The operations: one module per operation, each with the operation's method on
        //! `Client`, its request builder and its response.
        #(#mods)*
    }
}
