//! `client.rs`: the `Client` struct on the runtime's transport; its default endpoint (the
//! spec's `@base`) and, for clients of other APIs, constructors of the credentials the spec's
//! `@auth` names.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::context::Context;
use crate::docs;
use crate::ir::TokenRole;
use crate::names::snake;

/// One scheme of a LAP `@auth` line (alternatives are separated by `|`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthScheme {
    /// A bearer token: `Bearer bearer`, `Bearer token`, `Bearer JWT`, and `OAuth2` (whose
    /// access token, obtained elsewhere, travels as a bearer token, RFC 6750 §2.1).
    Bearer,
    /// HTTP Basic: `basic`, `Basic user:password`, `Bearer basic` (an OpenAPI `http` scheme
    /// `basic`, RFC 7617).
    Basic,
    /// An API key: `ApiKey NAME in header` / `in query`.
    ApiKey {
        /// The header or query parameter name.
        name: String,
        /// True for the query, false for a header.
        query: bool,
    },
    /// Anything else, as written (`AWS SigV4`, `ApiKey x in cookie`): no constructor.
    Unsupported(String),
}

/// The schemes of an `@auth` text, in order, without repeats.
pub fn auth_schemes(auth: &str) -> Vec<AuthScheme> {
    let mut out: Vec<AuthScheme> = Vec::new();
    for alt in auth.split('|').map(str::trim).filter(|a| !a.is_empty()) {
        let words: Vec<&str> = alt.split_whitespace().collect();
        let scheme = match words.as_slice() {
            [k, ..] if k.eq_ignore_ascii_case("oauth2") => AuthScheme::Bearer,
            [k, b] if k.eq_ignore_ascii_case("bearer") && b.eq_ignore_ascii_case("basic") => {
                AuthScheme::Basic
            }
            [k, ..] if k.eq_ignore_ascii_case("bearer") => AuthScheme::Bearer,
            [k, ..] if k.eq_ignore_ascii_case("basic") => AuthScheme::Basic,
            [k, name, in_, place] if k.eq_ignore_ascii_case("apikey") && *in_ == "in" => {
                match place.to_ascii_lowercase().as_str() {
                    "header" => AuthScheme::ApiKey {
                        name: (*name).to_owned(),
                        query: false,
                    },
                    "query" => AuthScheme::ApiKey {
                        name: (*name).to_owned(),
                        query: true,
                    },
                    _ => AuthScheme::Unsupported(alt.to_owned()),
                }
            }
            _ => AuthScheme::Unsupported(alt.to_owned()),
        };
        if !out.contains(&scheme) {
            out.push(scheme);
        }
    }
    out
}

/// The spec's `@base` when it is a usable default endpoint: an `http(s)` URL with a host and
/// no `{placeholder}` left to fill.
pub fn default_endpoint(base: Option<&str>) -> Option<&str> {
    let base = base?.trim();
    let rest = base
        .strip_prefix("https://")
        .or_else(|| base.strip_prefix("http://"))?;
    let ok = !rest.is_empty()
        && !rest.starts_with('/')
        && !base.contains(['{', '}', ' ', '"', '\\', '<', '>']);
    ok.then_some(base)
}

/// `DEFAULT_ENDPOINT` and `default_builder`, when the spec has a usable `@base`.
fn default_endpoint_items(ctx: &Context<'_>) -> TokenStream {
    let rt = &ctx.rt;
    let Some(base) = default_endpoint(ctx.api.base_url.as_deref()) else {
        return quote!();
    };
    quote! {
        /// The spec's endpoint (its `@base`), which [`Client::default_builder`] uses.
        pub const DEFAULT_ENDPOINT: &'static str = #base;

        /// A builder of a client for the spec's endpoint, [`Client::DEFAULT_ENDPOINT`].
        pub fn default_builder() -> #rt::ClientBuilder<Self> {
            #rt::ClientBuilder::new(Self::DEFAULT_ENDPOINT)
        }
    }
}

/// The credential constructors of the schemes of the spec's `@auth`.
fn credential_items(ctx: &Context<'_>) -> TokenStream {
    let rt = &ctx.rt;
    let Some(auth) = ctx.api.auth.as_deref().filter(|_| ctx.auth_constructors) else {
        return quote!();
    };
    let mut items = Vec::new();
    let mut keys = 0;
    let mut seen = std::collections::BTreeSet::new();
    for scheme in auth_schemes(auth) {
        match scheme {
            AuthScheme::Bearer => items.push(quote! {
                /// A bearer-token credential (`Authorization: Bearer <token>`), as the spec's
                /// `@auth` names it; for an `OAuth2` scheme, the access token you obtained.
                /// Give it to the builder's `credential`.
                pub fn bearer_credential(token: impl Into<#rt::Secret>) -> #rt::Credential {
                    #rt::GenericCredential::bearer(token).into()
                }
            }),
            AuthScheme::Basic => items.push(quote! {
                /// An HTTP Basic credential, sent on every request, as the spec's `@auth`
                /// names it. Give it to the builder's `credential`.
                pub fn basic_credential(
                    username: impl Into<String>,
                    password: impl Into<#rt::Secret>,
                ) -> #rt::Credential {
                    #rt::GenericCredential::basic(username, password).into()
                }
            }),
            AuthScheme::ApiKey { name, query } => {
                keys += 1;
                let fname = if keys == 1 {
                    format_ident!("api_key_credential")
                } else {
                    format_ident!("api_key_credential_{}", snake(&name, "key"))
                };
                if !seen.insert(fname.to_string()) {
                    continue;
                }
                let place = if query {
                    format!("the query parameter `{name}`")
                } else {
                    format!("the header `{name}`")
                };
                let doc = docs::attrs(&[
                    format!(
                        "An API key credential, sent in {place} of every request, as the spec's `@auth` names it."
                    ),
                    "Give it to the builder's `credential`.".to_owned(),
                ]);
                let make = if query {
                    quote!(api_key_query)
                } else {
                    quote!(api_key_header)
                };
                items.push(quote! {
                    #doc
                    pub fn #fname(key: impl Into<#rt::Secret>) -> #rt::Credential {
                        #rt::GenericCredential::#make(#name, key).into()
                    }
                });
            }
            AuthScheme::Unsupported(_) => {}
        }
    }
    quote!(#(#items)*)
}

/// The whole `client.rs`.
pub fn file(ctx: &Context<'_>) -> TokenStream {
    let rt = &ctx.rt;
    let token_service = token_service(ctx);
    let title = docs::lines(&ctx.api.title).join(" ");
    let title = if title.is_empty() {
        "this".to_owned()
    } else {
        title
    };
    let mut lines = vec![
        format!("A client of the {title} API: one method per operation."),
        String::new(),
        "Cheap to clone: clones share one transport (connections, tokens).".to_owned(),
    ];
    if !ctx.extra_modules.is_empty() {
        let modules: Vec<String> = ctx
            .extra_modules
            .iter()
            .map(|m| format!("[`{m}`](crate::{m})"))
            .collect();
        lines.extend([
            String::new(),
            "# Raw operations and whole workflows".to_owned(),
            String::new(),
            format!(
                "Each operation method is one request of the spec: the response as it came, \
                 nothing checked beyond its status. The hand-written modules of this crate \
                 ({}) add methods composed only of these operations: transfers that check \
                 digests and survive failures, and whole-image workflows. An operation may \
                 bear a name users know from elsewhere (`get_manifest`): it is the raw \
                 request; the composed methods say what they check.",
                modules.join(", ")
            ),
        ]);
    }
    if ctx.auth_constructors
        && let Some(auth) = ctx.api.auth.as_deref()
    {
        lines.push(String::new());
        lines.push(format!("The spec's `@auth`: {}.", docs::code(auth.trim())));
        let unsupported: Vec<String> = auth_schemes(auth)
            .into_iter()
            .filter_map(|s| match s {
                AuthScheme::Unsupported(text) => Some(docs::code(&text)),
                _ => None,
            })
            .collect();
        if !unsupported.is_empty() {
            lines.push(format!(
                "Not supported by the runtime's credentials: {}.",
                unsupported.join(", ")
            ));
        }
    }
    if let Some(md) = &ctx.client_doc {
        lines.extend(docs::markdown(md));
    }
    let doc = docs::attrs(&lines);
    let defaults = default_endpoint_items(ctx);
    let credentials = credential_items(ctx);
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

            #defaults

            #credentials

            /// The transport this client sends its requests through.
            pub fn transport(&self) -> &#rt::Transport {
                &self.transport
            }
        }

        impl #rt::FromTransport for Client {
            #token_service
            fn from_transport(transport: #rt::Transport) -> Self {
                Self { transport }
            }
        }
    }
}

/// `const TOKEN_SERVICE` of `FromTransport`: the paths of the operations that play a part in
/// the token service (`@token_role`), so the runtime fetches tokens where the spec says.
fn token_service(ctx: &Context<'_>) -> TokenStream {
    let rt = &ctx.rt;
    let path_of = |role: TokenRole| {
        ctx.api
            .operations
            .iter()
            .find(|op| op.token_role == Some(role))
            .map(|op| op.path.raw.clone())
    };
    let Some(access) = path_of(TokenRole::AccessToken) else {
        return quote!();
    };
    let refresh = match path_of(TokenRole::RefreshToken) {
        Some(p) => quote!(Some(#p)),
        None => quote!(None),
    };
    quote! {
        const TOKEN_SERVICE: Option<#rt::TokenService> = Some(#rt::TokenService {
            access_token: #access,
            refresh_token: #refresh,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_of_the_corpus_forms() {
        use AuthScheme::*;
        let key = |name: &str, query| ApiKey {
            name: name.into(),
            query,
        };
        assert_eq!(auth_schemes("OAuth2 | OAuth2"), [Bearer]);
        assert_eq!(auth_schemes("Bearer bearer"), [Bearer]);
        assert_eq!(auth_schemes("Bearer basic"), [Basic]);
        assert_eq!(auth_schemes("Basic username:password"), [Basic]);
        assert_eq!(
            auth_schemes("basic | ApiKey Authorization in header"),
            [Basic, key("Authorization", false)]
        );
        assert_eq!(
            auth_schemes("ApiKey X-API-Key in header | Bearer basic | ApiKey clientKey in query"),
            [key("X-API-Key", false), Basic, key("clientKey", true)]
        );
        assert_eq!(
            auth_schemes("AWS SigV4 | ApiKey s in cookie"),
            [
                Unsupported("AWS SigV4".into()),
                Unsupported("ApiKey s in cookie".into())
            ]
        );
    }

    #[test]
    fn base_and_auth_give_items_only_when_asked() {
        let api = crate::ir::Api {
            title: "Pets".into(),
            version: None,
            base_url: Some("https://api.example.com/v1".into()),
            auth: Some("ApiKey X-API-Key in header | Bearer basic | AWS SigV4".into()),
            operations: Vec::new(),
            types: Vec::new(),
        };
        let mut opts = crate::Options::default();
        let plain = file(&Context::new(&api, &opts).unwrap()).to_string();
        assert!(plain.contains("DEFAULT_ENDPOINT"), "{plain}");
        assert!(plain.contains("\"https://api.example.com/v1\""), "{plain}");
        assert!(!plain.contains("api_key_credential"), "{plain}");
        opts.auth_constructors = true;
        let full = file(&Context::new(&api, &opts).unwrap()).to_string();
        assert!(full.contains("fn api_key_credential"), "{full}");
        assert!(
            full.contains("api_key_header (\"X-API-Key\" , key)"),
            "{full}"
        );
        assert!(full.contains("fn basic_credential"), "{full}");
        assert!(!full.contains("fn bearer_credential"), "{full}");
        assert!(full.contains("AWS SigV4"), "{full}");
    }

    #[test]
    fn default_endpoints() {
        assert_eq!(
            default_endpoint(Some("https://api.example.com/v1")),
            Some("https://api.example.com/v1")
        );
        assert_eq!(
            default_endpoint(Some("http://localhost:8080")),
            Some("http://localhost:8080")
        );
        assert_eq!(default_endpoint(Some("https://{hostname}/v1")), None);
        assert_eq!(default_endpoint(Some("api.example.com")), None);
        assert_eq!(default_endpoint(Some("https://")), None);
        assert_eq!(default_endpoint(None), None);
    }
}
