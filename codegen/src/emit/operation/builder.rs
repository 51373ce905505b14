//! The request builder struct of an operation.

use proc_macro2::TokenStream;
use quote::quote;

use crate::context::Context;
use crate::docs;
use crate::emit::operation::args;
use crate::names::ident;
use crate::plan::OpPlan;

/// `pub struct RequestBuilder { client, one field per parameter, the body }`.
pub fn builder_struct(ctx: &Context<'_>, plan: &OpPlan<'_>) -> TokenStream {
    let mut fields: Vec<TokenStream> = plan
        .params
        .iter()
        .map(|p| {
            let name = ident(&p.field);
            let ty = args::field_type(ctx, p);
            quote!(#name: #ty)
        })
        .collect();
    if let Some(b) = &plan.body {
        fields.extend(
            args::body_fields(ctx, b)
                .into_iter()
                .map(|(n, t)| quote!(#n: #t)),
        );
    }
    let has_setters =
        plan.optional().next().is_some() || plan.body.as_ref().is_some_and(|b| !b.body.required);
    let what = if plan.is_paged() {
        "set its optional parameters, then take every item with `into_stream`, whole pages \
         with `into_pages`, or `.await` it for **one** page"
    } else if has_setters {
        "set its optional parameters, then `.await` it (or call `send`)"
    } else {
        "`.await` it (or call `send`)"
    };
    let doc = docs::attrs(&[
        format!("The request of {}: {what}.", docs::code(&plan.op.name)),
        String::new(),
        format!("Made by `Client::{}`.", plan.ident),
    ]);
    if plan.is_paged() {
        let rt = &ctx.rt;
        fields.push(quote!(continuation: Option<#rt::paging::Continuation>));
    }
    quote! {
        #doc
        #[derive(Debug, Clone)]
        #[must_use = "a request does nothing until it is awaited"]
        pub struct RequestBuilder {
            client: crate::Client,
            #(#fields,)*
        }
    }
}
