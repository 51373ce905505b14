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
    // Typed by the runtime: a runtime type whose list field the IR knows (an index's
    // `manifests`), read with its own lenient rules (`null` reads as empty).
    if let Some(body) = plan.page_body()
        && let TypeRef::Runtime(t) = body.ty
        && t.list_field(&paging.items_field).is_some()
    {
        let page_ty = ctx.types.rust(body.ty, Position::Wire);
        let item_ty = ctx.types.rust(&paging.item, Position::Model);
        let f = ident(&crate::names::snake(&paging.items_field, "items"));
        return Some((
            item_ty,
            quote! {
                let page: #page_ty = response.json()?;
                Ok(page.#f)
            },
        ));
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

/// `impl RequestBuilder { resume_from, into_pages, into_stream }` for a paged operation,
/// else nothing.
pub fn into_stream(ctx: &Context<'_>, plan: &OpPlan<'_>) -> TokenStream {
    let Some((item, body)) = extract(ctx, plan) else {
        return quote!();
    };
    let rt = &ctx.rt;
    quote! {
        impl RequestBuilder {
            /// Starts at the page `continuation` names (the `next` of a page
            /// stored earlier) instead of the first: the registry's link carries the page
            /// size, order and filters, so those set on this builder are not sent.
            pub fn resume_from(mut self, continuation: #rt::paging::Continuation) -> Self {
                self.continuation = Some(continuation);
                self
            }

            /// Whole pages, as a stream: each page's items with the continuation of the
            /// listing (`None` on the last page), following the `Link` header
            /// (RFC 8288: every field and link-value read, the one whose `rel` contains
            /// `next` followed).
            ///
            /// # Errors
            ///
            /// A failed request ends the stream with its error; so does a next link that
            /// points back to a page already read (a listing that would never end) or to
            /// another origin than the registry's, after the page that carried it.
            pub fn into_pages(self) -> #rt::paging::BoxStream<#rt::paging::Page<#item>> {
                match self.into_request() {
                    Ok((client, request)) => {
                        #rt::paging::pages(client.transport().clone(), request, |response| {
                            #body
                        })
                    }
                    Err(error) => support::failed(error),
                }
            }

            /// Every item of every page, as a stream: [`into_pages`](Self::into_pages),
            /// flattened. Errors as there.
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
