//! `into_stream`: a paged operation as a `Stream` of items that follows the `Link` header.

use proc_macro2::TokenStream;
use quote::quote;

use crate::context::Context;
use crate::ir::{TypeKind, TypeRef};
use crate::names::ident;
use crate::plan::OpPlan;
use crate::types::Position;

/// The item type and the closure body that takes the items out of one page.
fn extract(ctx: &Context<'_>, plan: &OpPlan<'_>) -> Option<(TokenStream, TokenStream)> {
    let paging = plan.op.paging.as_ref()?;
    let rt = &ctx.rt;
    // Typed: the page is a struct of this API with the items field as a list.
    if let Some(body) = plan.page_body()
        && let TypeRef::Named(page_name) = body.ty
        && let Some(entry) = ctx.types.get(page_name)
        && let TypeKind::Struct { fields } = &entry.ty.kind
    {
        let found = crate::types::struct_fields(fields)
            .into_iter()
            .find(|(f, _)| f.name == paging.items_field);
        if let Some((field, field_ident)) = found
            && let TypeRef::Array(item) = &field.ty
        {
            let page_ty = ctx.types.rust(body.ty, Position::Wire);
            let item_ty = ctx.types.rust(item, Position::Model);
            let f = ident(&field_ident);
            let items = if field.required {
                quote!(page.#f)
            } else {
                quote!(page.#f.unwrap_or_default())
            };
            return Some((
                item_ty,
                quote! {
                    let page: #page_ty = response.json()?;
                    Ok(#items)
                },
            ));
        }
    }
    // Untyped: find the items field in the JSON.
    let item_ty = ctx.types.rust(&paging.item, Position::Model);
    let key = &paging.items_field;
    Some((
        item_ty,
        quote! {
            let mut page: serde_json::Value = response.json()?;
            match page.get_mut(#key).map(serde_json::Value::take) {
                None | Some(serde_json::Value::Null) => Ok(Vec::new()),
                Some(items) => serde_json::from_value(items)
                    .map_err(|e| #rt::Error::invalid_response(OPERATION, e.to_string())),
            }
        },
    ))
}

/// `impl RequestBuilder { pub fn into_stream(self) }` for a paged operation, else nothing.
pub fn into_stream(ctx: &Context<'_>, plan: &OpPlan<'_>) -> TokenStream {
    let Some((item, body)) = extract(ctx, plan) else {
        return quote!();
    };
    let rt = &ctx.rt;
    quote! {
        impl RequestBuilder {
            /// Every item of every page, as a stream: follows the `Link` header from page to
            /// page until the last one.
            pub fn into_stream(self) -> #rt::paging::BoxStream<#item> {
                match self.into_request() {
                    Ok((client, request)) => {
                        #rt::paging::paginate(client.transport().clone(), request, |response| {
                            #body
                        })
                    }
                    Err(error) => support::failed(error),
                }
            }
        }
    }
}
