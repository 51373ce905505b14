//! The file of one operation (`operations/<name>.rs`) and the index of them all
//! (`operations/mod.rs`). Each fragment has its own module. An API of many operations has
//! them written several to a file (see [`GROUP_ABOVE`]), each still its own module
//! `operations::<name>`.

pub mod args;
pub mod builder;
pub mod method;
pub mod paging;
pub mod request;
pub mod response;
pub mod send;
pub mod setters;

use proc_macro2::{TokenStream, TokenTree};
use quote::quote;

use crate::context::Context;
use crate::docs;
use crate::emit::file;
use crate::ir::ParamLocation;
use crate::names::ident;
use crate::plan::OpPlan;
use crate::{CodegenError, GeneratedFile, HEADER};

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
        .any(|t| mentions_support(t));
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

/// APIs of more operations than this have their operation modules written [`GROUP`] to a
/// file: creating tens of thousands of small files costs more than generating them (file
/// systems pay per file created, ext4 much more so right after as many were deleted).
pub const GROUP_ABOVE: usize = 256;

/// Operation modules per file when grouped (see [`GROUP_ABOVE`]).
pub const GROUP: usize = 64;

/// Whether the operations of `ctx` are grouped (see [`GROUP_ABOVE`]).
pub fn grouped(ctx: &Context<'_>) -> bool {
    ctx.ops.len() > GROUP_ABOVE
}

/// The number of operation files of `ctx`: one per operation, or one per group.
pub fn file_count(ctx: &Context<'_>) -> usize {
    if grouped(ctx) {
        ctx.ops.len().div_ceil(GROUP)
    } else {
        ctx.ops.len()
    }
}

/// The path of operation file `i` (under `src/`).
pub fn file_path(ctx: &Context<'_>, i: usize) -> String {
    if grouped(ctx) {
        format!("operations/{}.rs", group_name(i))
    } else {
        format!("operations/{}.rs", ctx.ops[i].ident)
    }
}

/// The module of group `g`: `group_0000`.
fn group_name(g: usize) -> String {
    format!("group_{g:04}")
}

/// The path and text of operation file `i`: the module of one operation, or (grouped) group
/// `i`: the module of each of its operations inline, so that each keeps its path
/// `operations::<name>`. Each operation is formatted on its own (a smaller parse than the
/// whole group's), then indented into its `pub mod`.
pub fn file_at(ctx: &Context<'_>, i: usize) -> Result<GeneratedFile, CodegenError> {
    let path = file_path(ctx, i);
    if !grouped(ctx) {
        return file::format(&path, file(ctx, &ctx.ops[i]));
    }
    let mut text = format!(
        "{HEADER}\n//! Operations {} to {} of this API, each in its module (re-exported by `operations`).\n",
        i * GROUP + 1,
        (i * GROUP + GROUP).min(ctx.ops.len())
    );
    for plan in ctx.ops.iter().skip(i * GROUP).take(GROUP) {
        let module = file::space_out(&file::pretty(&path, file(ctx, plan))?);
        text.push_str("\npub mod ");
        text.push_str(&plan.ident);
        text.push_str(" {\n");
        for line in module.lines() {
            if !line.is_empty() {
                text.push_str("    ");
                text.push_str(line);
            }
            text.push('\n');
        }
        text.push_str("}\n");
    }
    Ok(GeneratedFile {
        path,
        contents: text,
    })
}

/// Whether `tokens` name `support::…` (the generated crate's helpers module), at any depth.
fn mentions_support(tokens: &TokenStream) -> bool {
    let mut after_support = false;
    for tree in tokens.clone() {
        match &tree {
            TokenTree::Group(g) if mentions_support(&g.stream()) => return true,
            TokenTree::Punct(p) if after_support && p.as_char() == ':' => return true,
            _ => {}
        }
        after_support = matches!(&tree, TokenTree::Ident(i) if i == "support");
    }
    false
}

/// `operations/mod.rs`: one `pub mod` per operation, sorted; or, grouped, one `mod` per
/// group and a `pub use` of each operation's module.
pub fn index(ctx: &Context<'_>) -> TokenStream {
    if grouped(ctx) {
        let groups = (0..file_count(ctx)).map(|g| {
            let group = ident(&group_name(g));
            let mut names: Vec<&str> = ctx
                .ops
                .iter()
                .skip(g * GROUP)
                .take(GROUP)
                .map(|p| p.ident.as_str())
                .collect();
            names.sort_unstable();
            let names = names.iter().map(|n| ident(n));
            quote! {
                mod #group;
                pub use #group::{#(#names),*};
            }
        });
        return quote! {
            //! The operations: one module per operation, each with the operation's method on
            //! `Client`, its request builder and its response. (This API has many operations:
            //! their modules are written several to a file.)
            #(#groups)*
        };
    }
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
