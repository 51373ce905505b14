//! `support.rs`: the private helpers the operations call, emitted only when used.

use proc_macro2::TokenStream;
use quote::quote;

use crate::context::Context;

/// Which helpers the emitted operations call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    /// `encode_segment`.
    pub encode_segment: bool,
    /// `encode_path` (which calls `encode_segment`).
    pub encode_path: bool,
    /// `json_text`.
    pub json_text: bool,
    /// `failed`.
    pub failed: bool,
}

impl Needs {
    /// Adds the helpers that formatted code `text` calls (prettyplease writes a call as
    /// `support::encode_segment(`).
    pub fn add_text(&mut self, text: &str) {
        self.encode_segment |= text.contains("support::encode_segment(");
        self.encode_path |= text.contains("support::encode_path(");
        self.json_text |= text.contains("support::json_text(");
        self.failed |= text.contains("support::failed(");
    }

    /// The helpers either needs.
    pub fn union(self, other: Self) -> Self {
        Self {
            encode_segment: self.encode_segment || other.encode_segment,
            encode_path: self.encode_path || other.encode_path,
            json_text: self.json_text || other.json_text,
            failed: self.failed || other.failed,
        }
    }

    /// Whether any helper is needed.
    pub fn any(&self) -> bool {
        self.encode_segment || self.encode_path || self.json_text || self.failed
    }
}

/// The whole `support.rs`.
pub fn file(ctx: &Context<'_>, needs: &Needs) -> TokenStream {
    let rt = &ctx.rt;
    let encode = if needs.encode_segment || needs.encode_path {
        quote! {
            /// Appends `byte` to `out`, percent-encoded unless it may stand in a path segment
            /// as it is (the unreserved characters and `$&+:=@`).
            fn encode_byte(byte: u8, out: &mut String) {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                if byte.is_ascii_alphanumeric() || b"-._~$&+:=@".contains(&byte) {
                    out.push(char::from(byte));
                } else {
                    out.push('%');
                    out.push(char::from(HEX[usize::from(byte >> 4)]));
                    out.push(char::from(HEX[usize::from(byte & 15)]));
                }
            }

            /// Percent-encodes one path segment; `.` and `..` are encoded too, so a value
            /// can never climb out of its place in the path.
            pub(crate) fn encode_segment(value: impl AsRef<str>) -> String {
                let value = value.as_ref();
                if value == "." || value == ".." {
                    return value.replace('.', "%2E");
                }
                let mut out = String::with_capacity(value.len());
                for byte in value.bytes() {
                    encode_byte(byte, &mut out);
                }
                out
            }
        }
    } else {
        quote!()
    };
    let encode_path = if needs.encode_path {
        quote! {
            /// Percent-encodes a value whose `/` separate path segments (a repository name).
            pub(crate) fn encode_path(value: impl AsRef<str>) -> String {
                value.as_ref().split('/').map(encode_segment).collect::<Vec<_>>().join("/")
            }
        }
    } else {
        quote!()
    };
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

        #encode
        #encode_path
        #json_text
        #failed
    }
}
