//! `lib.rs`: crate docs, lints, modules and re-exports.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::quote;

use crate::context::Context;
use crate::docs;
use crate::ir::{Api, RuntimeType, TypeKind, TypeRef};
use crate::names::ident;

/// The runtime types of the IR every generated crate re-exports, used by its operations or
/// not: the names a user passes (`RepositoryName`, `Reference`, `Digest`) and `Secret`.
const ALWAYS_TYPES: [RuntimeType; 4] = [
    RuntimeType::Digest,
    RuntimeType::Reference,
    RuntimeType::RepositoryName,
    RuntimeType::Secret,
];

/// The other runtime items every generated crate re-exports, so a user depends on the
/// generated crate alone: credentials, errors, configuration, paging, `Result`. Paths in
/// tokens, not names in strings: the generated crate's build checks each against the runtime.
fn always(rt: &TokenStream) -> TokenStream {
    quote! {
        pub use #rt::{
            AadToken, AadTokenFuture, AadTokenSource, BodyStream, ClientBuilder, Continuation,
            Credential, Error, ErrorCode, ErrorInfo, NameError, Page, Result, RetryPolicy,
            Transport,
        };
    }
}

/// The runtime modules and crates every generated crate re-exports: the parts of blob and
/// manifest transfers (`blob`, `manifest`), progress, paging, the stream traits, the
/// credential adapters, and the `bytes` and `http` crates its types use. A hand-written
/// module of the same name takes a module's place (it re-exports what it keeps of it).
const ALWAYS_MODULES: &[&str] = &[
    "auth", "blob", "bytes", "http", "manifest", "paging", "progress", "stream",
];

/// Collects the runtime types `ty` refers to.
fn collect(ty: &TypeRef, out: &mut BTreeSet<String>) {
    match ty {
        // A type of a runtime module comes with the module's re-export.
        TypeRef::Runtime(t) if t.module().is_none() => {
            out.insert(t.name().to_owned());
        }
        TypeRef::Array(inner) | TypeRef::Map(inner) => collect(inner, out),
        _ => {}
    }
}

/// The runtime types the API uses (those at the runtime's root; module types come with their
/// module), sorted.
pub fn runtime_types(api: &Api) -> Vec<String> {
    let mut out = BTreeSet::new();
    for op in &api.operations {
        op.params.iter().for_each(|p| collect(&p.ty, &mut out));
        op.body.iter().for_each(|b| collect(&b.ty, &mut out));
        for r in &op.responses {
            r.headers.iter().for_each(|h| collect(&h.ty, &mut out));
            r.body.iter().for_each(|b| collect(&b.ty, &mut out));
        }
        op.paging.iter().for_each(|p| collect(&p.item, &mut out));
    }
    for t in &api.types {
        if let TypeKind::Struct { fields } = &t.kind {
            fields.iter().for_each(|f| collect(&f.ty, &mut out));
        }
    }
    out.into_iter().collect()
}

/// The whole `lib.rs`; `support` says whether `support.rs` exists.
pub fn file(ctx: &Context<'_>, support: bool) -> TokenStream {
    let rt = &ctx.rt;
    let api = ctx.api;
    let title = docs::lines(&api.title).join(" ");
    let title = if title.is_empty() {
        "The API".to_owned()
    } else {
        title
    };
    let mut lines = vec![format!("{title}: a typed client, generated from its spec.")];
    if let Some(v) = &api.version {
        lines.push(String::new());
        lines.push(format!("API version {}.", docs::code(v)));
    }
    lines.push(String::new());
    lines.push(
        "Start with `Client::builder`; every operation is a method of `Client` that returns a \
         request builder, which is awaited directly."
            .to_owned(),
    );
    lines.push(String::new());
    lines.push(
        "This crate is the only dependency a user needs: it re-exports the credentials \
         (`Credential`), names (`RepositoryName`, `Reference`, `Digest`), errors (`Error`, \
         `ErrorCode`, `Result`), configuration (`ClientBuilder`, `RetryPolicy`), paging \
         (`Page`, `Continuation`), progress (`progress`), the blob and manifest types \
         (`blob`, `manifest`) and the `Stream` traits (`stream`) of the runtime it is built \
         on."
        .to_owned(),
    );
    if let Some(md) = &ctx.crate_doc {
        lines.extend(docs::markdown(md));
    }
    let crate_docs = docs::inner_attrs(&lines);
    let support = if support {
        quote! {
            #[rustfmt::skip]
            mod support;
        }
    } else {
        quote!()
    };
    let mut reexports: Vec<String> = runtime_types(api);
    reexports.extend(ALWAYS_TYPES.iter().map(|t| t.name().to_owned()));
    let always = always(rt);
    reexports.sort();
    reexports.dedup();
    let reexports = reexports.iter().map(|n| ident(n));
    let modules = ALWAYS_MODULES
        .iter()
        .filter(|n| !ctx.extra_modules.iter().any(|m| m == *n))
        .map(|n| ident(n));
    let extras = ctx.extra_modules.iter().map(|m| {
        let m = ident(m);
        quote! {
            // Hand-written, built on the generated operations.
            pub mod #m;
        }
    });
    quote! {
        #crate_docs
        #![deny(missing_docs)]
        #![allow(
            clippy::enum_variant_names,
            clippy::should_implement_trait,
            clippy::upper_case_acronyms,
            clippy::wrong_self_convention
        )]

        // Formatted by prettyplease when generated: rustfmt leaves these modules alone, so
        // `cargo fmt` never makes the committed output stale.
        #[rustfmt::skip]
        mod client;
        #[rustfmt::skip]
        pub mod models;
        #[rustfmt::skip]
        pub mod operations;
        #support
        #(#extras)*

        #[rustfmt::skip]
        pub use client::Client;
        #[rustfmt::skip]
        pub use #rt::{#(#reexports),*};
        #[rustfmt::skip]
        #always
        #[rustfmt::skip]
        pub use #rt::{#(#modules),*};
    }
}
