//! `client.rs`: the `Client` struct on the runtime's transport.

use proc_macro2::TokenStream;
use quote::quote;

use crate::context::Context;
use crate::docs;

/// The whole `client.rs`.
pub fn file(ctx: &Context<'_>) -> TokenStream {
    let rt = &ctx.rt;
    let title = docs::lines(&ctx.api.title).join(" ");
    let title = if title.is_empty() {
        "this".to_owned()
    } else {
        title
    };
    let doc = docs::attrs(&[
        format!("A client of the {title} API: one method per operation."),
        String::new(),
        "Cheap to clone: clones share one transport (connections, tokens).".to_owned(),
    ]);
    quote! {
        //! The client.

        #doc
        #[derive(Debug, Clone)]
        pub struct Client {
            transport: #rt::Transport,
        }

        impl Client {
            /// A builder of a client for the service at `endpoint` (`https://myregistry.azurecr.io`).
            pub fn builder(endpoint: impl Into<String>) -> #rt::ClientBuilder<Self> {
                #rt::ClientBuilder::new(endpoint)
            }

            /// The transport this client sends its requests through.
            pub fn transport(&self) -> &#rt::Transport {
                &self.transport
            }
        }

        impl #rt::FromTransport for Client {
            fn from_transport(transport: #rt::Transport) -> Self {
                Self { transport }
            }
        }
    }
}
