//! The operation's method on `Client`: required parameters in, request builder out.

use proc_macro2::TokenStream;
use quote::quote;

use crate::context::Context;
use crate::docs;
use crate::emit::operation::args;
use crate::names::ident;
use crate::plan::OpPlan;

/// Clippy's `too_many_arguments` limit (it counts `self`).
const MAX_ARGS: usize = 7;

/// The doc lines of the method.
fn doc_lines(plan: &OpPlan<'_>) -> Vec<String> {
    let op = plan.op;
    let route = format!("{} {}", op.method, op.path.raw);
    let mut lines = docs::or_fallback(
        op.docs.as_deref(),
        &format!("Sends {}.", docs::code(&route)),
    );
    if op.docs.as_deref().is_some_and(|d| !d.trim().is_empty()) {
        lines.push(String::new());
        lines.push(format!("Sends {}.", docs::code(&route)));
    }
    if let Some(source) = &op.source {
        lines.push(String::new());
        let version = source
            .version
            .as_deref()
            .map(|v| format!(" {v}"))
            .unwrap_or_default();
        lines.push(format!(
            "Defined by the spec *{}*{version} ({}).",
            source.title,
            docs::code(&source.file)
        ));
    }
    if op.inferred {
        lines.push(String::new());
        lines.push(
            "The spec does not say where its parameters travel nor what they hold: they were inferred."
                .to_owned(),
        );
    }
    let mut arg_lines: Vec<String> = plan
        .required()
        .map(|p| {
            let text = docs::one_line(p.param.docs.as_deref()).unwrap_or_else(|| {
                format!(
                    "the {} {}.",
                    docs::code(&p.param.name),
                    crate::emit::operation::location_words(p.location)
                )
            });
            format!("* `{}`: {text}", p.public)
        })
        .collect();
    if let Some(b) = plan.body.as_ref().filter(|b| b.body.required) {
        let text = docs::one_line(b.body.docs.as_deref())
            .unwrap_or_else(|| "the request body.".to_owned());
        arg_lines.push(format!("* `{}`: {text}", b.public));
        if let crate::plan::BodyKind::BytesWithType { public, .. } = &b.kind {
            arg_lines.push(format!("* `{public}`: the media type of the body."));
        }
    }
    if !arg_lines.is_empty() {
        lines.push(String::new());
        lines.push("Arguments:".to_owned());
        lines.push(String::new());
        lines.extend(arg_lines);
    }
    lines.push(String::new());
    let has_setters =
        plan.optional().next().is_some() || plan.body.as_ref().is_some_and(|b| !b.body.required);
    if plan.is_paged() {
        lines.extend(docs::paged_lines());
    } else {
        lines.push(if has_setters {
            "Set optional parameters on the returned builder, then `.await` it.".to_owned()
        } else {
            "`.await` the returned builder to send the request.".to_owned()
        });
    }
    lines
}

/// `impl crate::Client { pub fn op(&self, required...) -> RequestBuilder }`.
pub fn method(ctx: &Context<'_>, plan: &OpPlan<'_>) -> TokenStream {
    let name = ident(&plan.ident);
    let doc = docs::attrs(&doc_lines(plan));
    let aliases = plan
        .op
        .aliases
        .iter()
        .filter(|a| a.as_str() != plan.ident)
        .map(|a| quote!(#[doc(alias = #a)]));
    let mut params: Vec<TokenStream> = plan
        .required()
        .map(|p| {
            let arg = ident(&p.public);
            let ty = args::arg_type(ctx, p);
            quote!(#arg: #ty)
        })
        .collect();
    let mut inits: Vec<TokenStream> = plan
        .params
        .iter()
        .map(|p| {
            let field = ident(&p.field);
            let value = if p.param.required {
                args::store(ctx, p)
            } else {
                args::unset(p)
            };
            quote!(#field: #value)
        })
        .collect();
    if let Some(b) = &plan.body {
        if b.body.required {
            params.extend(
                args::body_args(ctx, b)
                    .into_iter()
                    .map(|(n, t)| quote!(#n: #t)),
            );
            inits.extend(args::body_store(b));
        } else {
            let field = ident(&b.field);
            inits.push(quote!(#field: None));
        }
    }
    if plan.is_paged() {
        inits.push(quote!(continuation: None));
    }
    let allow = if params.len() + 1 > MAX_ARGS {
        quote!(#[allow(clippy::too_many_arguments)])
    } else {
        quote!()
    };
    quote! {
        impl crate::Client {
            #doc
            #(#aliases)*
            #allow
            pub fn #name(&self, #(#params),*) -> RequestBuilder {
                RequestBuilder {
                    client: self.clone(),
                    #(#inits,)*
                }
            }
        }
    }
}
