//! The setters of a request builder: one per optional parameter (and the optional body).

use proc_macro2::TokenStream;
use quote::quote;

use crate::context::Context;
use crate::docs;
use crate::emit::operation::{args, location_words};
use crate::names::ident;
use crate::plan::{BodyPlan, OpPlan, ParamPlan};

/// One setter of an optional parameter.
fn param_setter(ctx: &Context<'_>, p: &ParamPlan<'_>) -> TokenStream {
    let name = ident(&p.public);
    let field = ident(&p.field);
    let ty = args::arg_type(ctx, p);
    let value = args::store(ctx, p);
    let fallback = format!(
        "Sets the {} {}.",
        docs::code(&p.param.name),
        location_words(p.location)
    );
    let mut lines = docs::or_fallback(p.param.docs.as_deref(), &fallback);
    if p.param.repeated {
        lines.push(String::new());
        lines.push("Each value is sent under the same name.".to_owned());
    }
    let doc = docs::attrs(&lines);
    quote! {
        #doc
        pub fn #name(mut self, #name: #ty) -> Self {
            self.#field = #value;
            self
        }
    }
}

/// The setter of an optional body.
fn body_setter(ctx: &Context<'_>, b: &BodyPlan<'_>) -> TokenStream {
    let name = ident(&b.public);
    let params = args::body_args(ctx, b)
        .into_iter()
        .map(|(n, t)| quote!(#n: #t));
    let store = args::body_store(b);
    let doc = docs::attrs(&docs::or_fallback(
        b.body.docs.as_deref(),
        "Sets the request body.",
    ));
    quote! {
        #doc
        pub fn #name(self, #(#params),*) -> Self {
            Self { #(#store,)* ..self }
        }
    }
}

/// `impl RequestBuilder { setters }`, or nothing when every parameter is required.
pub fn setters(ctx: &Context<'_>, plan: &OpPlan<'_>) -> TokenStream {
    let mut fns: Vec<TokenStream> = plan.optional().map(|p| param_setter(ctx, p)).collect();
    if let Some(b) = plan.body.as_ref().filter(|b| !b.body.required) {
        fns.push(body_setter(ctx, b));
    }
    if fns.is_empty() {
        return quote!();
    }
    quote! {
        impl RequestBuilder {
            #(#fns)*
        }
    }
}
