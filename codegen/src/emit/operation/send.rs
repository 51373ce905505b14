//! `send` and `IntoFuture`: the builder is awaited directly.

use proc_macro2::TokenStream;
use quote::quote;

use crate::context::Context;
use crate::emit::operation::request;
use crate::plan::OpPlan;

/// `impl RequestBuilder { pub async fn send(self); fn into_request(self) }`.
pub fn send(ctx: &Context<'_>, plan: &OpPlan<'_>) -> TokenStream {
    let rt = &ctx.rt;
    let into_request = request::into_request(ctx, plan);
    let send = if plan.op.streamed {
        quote!(send_streaming)
    } else {
        quote!(send)
    };
    let doc = if plan.is_paged() {
        quote! {
            /// Sends **one** request and reads **one page**; awaiting the builder does the
            /// same. For the whole listing, use `into_stream` or `into_pages`.
        }
    } else {
        quote! {
            /// Sends the request and reads the response; awaiting the builder does the same.
        }
    };
    quote! {
        impl RequestBuilder {
            #doc
            pub async fn send(self) -> Result<Response, #rt::Error> {
                let (client, request) = self.into_request()?;
                let response = client.transport().#send(request).await?;
                Response::from_raw(response)
            }

            #into_request
        }
    }
}

/// `impl IntoFuture for RequestBuilder`.
pub fn into_future(ctx: &Context<'_>) -> TokenStream {
    let rt = &ctx.rt;
    quote! {
        impl std::future::IntoFuture for RequestBuilder {
            type Output = Result<Response, #rt::Error>;
            type IntoFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Self::Output> + Send>>;

            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.send())
            }
        }
    }
}
