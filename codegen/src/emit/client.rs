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
        String::new(),
        "# Raw operations and verified transfers".to_owned(),
        String::new(),
        "Each method is one operation of the spec: one request, the response as it came, \
         nothing checked beyond its status. The transfers that check digests and survive \
         failures are methods of the client's [`Transport`](crate::Transport), reached with \
         [`Client::transport`]:"
            .to_owned(),
        String::new(),
        "* [`upload_blob`](crate::Transport::upload_blob): a blob from bytes, a file or any \
         reader, in chunks, resumed from the registry's `Range` after a failure, its digest \
         checked; skipped when the registry has it, mounted from another repository when asked."
            .to_owned(),
        "* [`download_blob`](crate::Transport::download_blob) and \
         [`download_blob_to`](crate::Transport::download_blob_to): streamed, resumed with a \
         `Range` request after a broken connection, verified against the digest."
            .to_owned(),
        "* [`blob_exists`](crate::Transport::blob_exists): whether a blob is there, and its size."
            .to_owned(),
        "* [`get_manifest`](crate::Transport::get_manifest) and \
         [`put_manifest`](crate::Transport::put_manifest): a manifest verified against its \
         digest. An operation of `Client` may bear the same name: that one is the raw request \
         and checks nothing."
            .to_owned(),
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
