//! `support.rs`: the private helpers the operations call, emitted only when used.

use proc_macro2::TokenStream;
use quote::quote;

use crate::context::Context;

/// Which helpers the emitted operations call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    /// `json_text`.
    pub json_text: bool,
    /// `failed`.
    pub failed: bool,
}

impl Needs {
    /// Adds the helpers that formatted code `text` calls (prettyplease writes a call as
    /// `support::json_text(`).
    pub fn add_text(&mut self, text: &str) {
        self.json_text |= text.contains("support::json_text(");
        self.failed |= text.contains("support::failed(");
    }

    /// The helpers either needs.
    pub fn union(self, other: Self) -> Self {
        Self {
            json_text: self.json_text || other.json_text,
            failed: self.failed || other.failed,
        }
    }

    /// Whether any helper is needed.
    pub fn any(&self) -> bool {
        self.json_text || self.failed
    }
}

/// The whole `support.rs`.
pub fn file(ctx: &Context<'_>, needs: &Needs) -> TokenStream {
    let rt = &ctx.rt;
    let json_text = if needs.json_text {
        quote! {
            /// The text of a JSON value on the wire: a string as it is, anything else as JSON.
            pub(crate) fn json_text(value: &serde_json::Value) -> String {
                match value {
                    serde_json::Value::String(text) => text.clone(),
                    other => other.to_string(),
                }
            }
        }
    } else {
        quote!()
    };
    let failed = if needs.failed {
        quote! {
            /// A stream that yields `error` once, for a paged request that cannot be built.
            pub(crate) fn failed<T: Send + 'static>(error: #rt::Error) -> #rt::paging::BoxStream<T> {
                Box::pin(Failed { error: Some(error), item: std::marker::PhantomData })
            }

            /// The stream of [`failed`].
            struct Failed<T> {
                error: Option<#rt::Error>,
                item: std::marker::PhantomData<fn() -> T>,
            }

            impl<T> futures_core::Stream for Failed<T> {
                type Item = Result<T, #rt::Error>;

                fn poll_next(
                    mut self: std::pin::Pin<&mut Self>,
                    _: &mut std::task::Context<'_>,
                ) -> std::task::Poll<Option<Self::Item>> {
                    std::task::Poll::Ready(self.error.take().map(Err))
                }
            }
        }
    } else {
        quote!()
    };
    quote! {
        //! Helpers the operations use to put values on the wire.

        #json_text
        #failed
    }
}
