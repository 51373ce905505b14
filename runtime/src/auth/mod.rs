//! Credentials and the token flow.
//!
//! **ACR mode** (the default for an ACR refresh token or an Azure AD credential, or an
//! endpoint on `*.azurecr.io`/`.cn`/`.us`; set it either way with
//! [`ClientBuilder::acr`](crate::ClientBuilder::acr)): the token endpoint is known without
//! asking, realm `<endpoint origin>/oauth2/token` and service the endpoint's host (with its
//! port, if any). So the first request of each
//! [`Request::scope`](crate::Request::scope) fetches its access token up front and carries it:
//! no request, cold or warm, sees a 401 unless its token has gone stale. Requests without a
//! scope (`GET /v2/`, `/oauth2/*`) are sent as they are.
//!
//! Otherwise a cold client sends a request without credentials, and the registry's `401`
//! challenge says how to authenticate:
//!
//! - `Bearer realm=…,service=…,scope=…` (ACR and docker token auth): the client gets an
//!   access token for the scope from the realm (see [`token`](self) flows below), caches it
//!   per (service, scope), and sends the request again once. From then on the client knows
//!   the realm, and every request whose [`Request::scope`](crate::Request::scope) is set
//!   carries its cached token up front: a warm client sees no 401.
//! - `Basic realm=…` (docker-registry with htpasswd): the client sends the username and
//!   password on this and every later request.
//!
//! In both modes, a 401 to a request that carried a token (expired, revoked, or
//! `error="insufficient_scope"`) is answered like a challenge: the realm and service it names
//! are used from then on, a new token is fetched for the union of the request's and the
//! challenge's scopes, and the request is sent again, once.
//!
//! Token flows, by credential:
//! - anonymous: ACR realms (`…/oauth2/token`) get `POST` `grant_type=password` with an empty
//!   `refresh_token`; other realms an anonymous `GET realm?service=&scope=`;
//! - username/password: `GET realm?service=&scope=` with `Basic`;
//! - ACR refresh token: `POST realm` `grant_type=refresh_token`;
//! - AAD: the AAD token is exchanged at `<realm origin>/oauth2/exchange` for an ACR refresh
//!   token (cached until its `exp`; exchanged again once if `/oauth2/token` refuses it), then
//!   as above.
//!
//! Concurrent requests for one scope share one token fetch. Answers are
//! `{"access_token"|"token": …, "expires_in": …}`; a token is used until
//! shortly before its JWT `exp` (or `expires_in`; opaque tokens without either get the
//! configured default lifetime). Token answers over 1 MiB are refused. A token endpoint that
//! answers 429 or 5xx is asked again after its `Retry-After` (any RFC 9110 form) or a backoff.
//!
//! **Credentials belong to the registry's origin** (scheme, host and port, RFC 6454): a realm
//! on another origin, the same host on another port included, is refused for a credential
//! that carries a secret unless the caller allowed it
//! ([`ClientBuilder::allow_token_realm_origin`](crate::ClientBuilder::allow_token_realm_origin),
//! `allow_token_realm_host`, `allow_any_token_realm`); the refusal comes before the realm
//! becomes the client's auth mode, so a challenge can never switch the client to a foreign
//! realm. Only a 401 of the registry's own origin is read as a challenge (the transport
//! turns any other into an error). Credentials never go over plain http except to loopback
//! unless allowed.

pub(crate) mod acr;
#[cfg(feature = "azure-identity")]
pub mod azure;
mod cache;
pub(crate) mod challenge;
pub mod credential;
pub mod generic;
pub(crate) mod jwt;
mod token;

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use base64::Engine as _;
use http::{HeaderMap, HeaderValue};
use url::Url;

use crate::retry::RetryPolicy;
use crate::transport::body::Timeouts;
use crate::{Error, Request, Secret};
pub use acr::TokenService;
use cache::{Key, Kind, TokenCache};
pub use credential::{AadToken, AadTokenFuture, AadTokenSource, Credential};
pub use generic::{GenericCredential, KeyPlace};

/// The largest token endpoint answer read by default (raise it with
/// [`ClientBuilder::response_limit`](crate::ClientBuilder::response_limit) and
/// [`BodyKind::Token`](crate::BodyKind::Token)).
pub const MAX_TOKEN_RESPONSE: u64 = 1024 * 1024;

/// Auth settings of a client.
#[derive(Debug, Clone)]
pub(crate) struct AuthOptions {
    pub allow_insecure_http: bool,
    pub allowed_realm_hosts: Vec<String>,
    pub allowed_realm_origins: Vec<url::Origin>,
    pub allow_any_realm: bool,
    pub default_token_lifetime: Duration,
    pub retry: RetryPolicy,
    pub timeouts: Timeouts,
    /// The most bytes read of a token endpoint's answer.
    pub token_limit: u64,
    /// Whether the registry is taken for an ACR, whose token endpoint is known up front.
    pub acr: bool,
    /// Where the registry's token service answers, from the spec (none: only challenges say).
    pub token_service: Option<acr::TokenService>,
}

/// How the registry wants to be authenticated to, once it has said so.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    Bearer { realm: Url, service: String },
    Basic,
}

/// What authorization a request carried.
#[derive(Debug, Clone, Default)]
pub(crate) enum Sent {
    #[default]
    Nothing,
    Bearer {
        key: Arc<Key>,
        token: Secret,
    },
    Basic,
}

/// The authorization to put on a request.
#[derive(Debug, Default)]
pub(crate) struct Authz {
    pub header: Option<HeaderValue>,
    pub sent: Sent,
    /// A generic credential's header or query pair (see [`generic`]), sent like `header`:
    /// to the endpoint's origin only.
    pub generic: Option<generic::Placement>,
}

/// The auth state of one client.
#[derive(Debug)]
pub(crate) struct Auth {
    credential: Credential,
    options: AuthOptions,
    http: reqwest::Client,
    endpoint: Url,
    /// Shared, so that reading it per request copies no text.
    mode: RwLock<Option<Arc<Mode>>>,
    cache: TokenCache,
    /// The `Authorization` value of the token sent last, so that a warm client does not
    /// format the same header on every request.
    last_bearer: Mutex<Option<(Secret, HeaderValue)>>,
}

fn bearer(token: &Secret) -> crate::Result<HeaderValue> {
    let mut v = HeaderValue::try_from(format!("Bearer {}", token.expose()))
        .map_err(|_| Error::invalid_response("auth", "the token is not a valid header value"))?;
    v.set_sensitive(true);
    Ok(v)
}

fn basic(user: &str, pass: &Secret) -> crate::Result<HeaderValue> {
    let enc = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{}", pass.expose()));
    let mut v = HeaderValue::try_from(format!("Basic {enc}"))
        .map_err(|_| Error::Config("the username is not a valid header value".into()))?;
    v.set_sensitive(true);
    Ok(v)
}

/// Whether `url` is on a loopback host.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn scopes_of(s: &str) -> impl Iterator<Item = &str> {
    s.split_whitespace()
}

impl Auth {
    pub fn new(
        credential: Credential,
        options: AuthOptions,
        http: reqwest::Client,
        endpoint: Url,
    ) -> Self {
        let mode = match &options.token_service {
            Some(ts) if options.acr => acr::token_endpoint(&endpoint, ts)
                .map(|(realm, service)| Mode::Bearer { realm, service }),
            _ => None,
        };
        Self {
            credential,
            options,
            http,
            endpoint,
            mode: RwLock::new(mode.map(Arc::new)),
            cache: TokenCache::default(),
            last_bearer: Mutex::new(None),
        }
    }

    /// Whether credentials may travel to `url`.
    pub fn may_send_credentials(&self, url: &Url) -> bool {
        url.scheme() == "https" || is_loopback(url) || self.options.allow_insecure_http
    }

    fn mode(&self) -> Option<Arc<Mode>> {
        self.mode.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_mode(&self, mode: Mode) {
        *self.mode.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(mode));
    }

    /// The authorization a request carries up front.
    pub async fn authorize(&self, request: &Request) -> crate::Result<Authz> {
        if let Credential::Generic(g) = &self.credential {
            return Ok(Authz {
                generic: Some(g.placement()?),
                ..Authz::default()
            });
        }
        if request.basic_auth
            && let Some((u, p)) = self.credential.basic_pair()
        {
            return Ok(Authz {
                header: Some(basic(u, p)?),
                sent: Sent::Basic,
                generic: None,
            });
        }
        let mode = self.mode();
        match mode.as_deref() {
            None => Ok(Authz::default()),
            Some(Mode::Basic) => match self.credential.basic_pair() {
                Some((u, p)) => Ok(Authz {
                    header: Some(basic(u, p)?),
                    sent: Sent::Basic,
                    generic: None,
                }),
                None => Ok(Authz::default()),
            },
            Some(Mode::Bearer { realm, service }) => {
                let Some(scope) = request.scope.as_deref() else {
                    return Ok(Authz::default());
                };
                // a warm client's next request of the scope it asked for last
                let (key, token) = match self.cache.last_fresh(Kind::Access, service, scope) {
                    Some(last) => last,
                    None => {
                        let key = Arc::new(Key {
                            kind: Kind::Access,
                            service: service.clone(),
                            scope: scope.to_owned(),
                        });
                        let (token, _) = self
                            .cache
                            // boxed: a fetch is rare, and its future would make every
                            // request's larger
                            .get(&key, None, || {
                                Box::pin(async {
                                    let scopes: Vec<String> =
                                        scopes_of(scope).map(str::to_owned).collect();
                                    self.fetch_access(
                                        request.operation,
                                        realm,
                                        &key.service,
                                        &scopes,
                                    )
                                    .await
                                })
                            })
                            .await?;
                        (key, token)
                    }
                };
                Ok(Authz {
                    header: Some(self.bearer_of(&token)?),
                    sent: Sent::Bearer { key, token },
                    generic: None,
                })
            }
        }
    }

    /// The `Authorization` value of `token`, made once per token.
    fn bearer_of(&self, token: &Secret) -> crate::Result<HeaderValue> {
        let mut last = self.last_bearer.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((t, header)) = last.as_ref()
            && t == token
        {
            return Ok(header.clone());
        }
        let header = bearer(token)?;
        *last = Some((token.clone(), header.clone()));
        Ok(header)
    }

    /// Answers a 401: returns the authorization to send the request again with, or `None`
    /// when the challenge cannot be answered (then the 401 is the caller's error).
    pub async fn on_challenge(
        &self,
        request: &Request,
        headers: &HeaderMap,
        sent: &Sent,
    ) -> crate::Result<Option<Authz>> {
        if matches!(self.credential, Credential::Generic(_)) {
            // Sent up front already: a 401 is the answer to it.
            return Ok(None);
        }
        let challenges: Vec<_> = headers
            .get_all(http::header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(challenge::parse)
            .collect();
        let op = request.operation;
        if let Some(c) = challenges.iter().find(|c| c.is_bearer()) {
            let realm_text = c.param("realm").ok_or_else(|| Error::Auth {
                operation: op,
                message: "the registry's Bearer challenge has no realm".into(),
                source: None,
            })?;
            let realm = self.endpoint.join(realm_text).map_err(|e| Error::Auth {
                operation: op,
                message: format!("the challenge realm {realm_text:?} is not a URL: {e}"),
                source: None,
            })?;
            self.check_realm(op, &realm)?;
            let service = c
                .param("service")
                .map(str::to_owned)
                .unwrap_or_else(|| self.endpoint.host_str().unwrap_or_default().to_owned());
            self.set_mode(Mode::Bearer {
                realm: realm.clone(),
                service: service.clone(),
            });
            let mut scopes: Vec<String> = Vec::new();
            for s in request
                .scope
                .iter()
                .chain(c.param("scope").map(str::to_owned).iter())
                .flat_map(|s| scopes_of(s).map(str::to_owned).collect::<Vec<_>>())
            {
                if !scopes.contains(&s) {
                    scopes.push(s);
                }
            }
            let key_scope = request
                .scope
                .clone()
                .or_else(|| c.param("scope").map(str::to_owned))
                .unwrap_or_default();
            let key = Arc::new(Key {
                kind: Kind::Access,
                service: service.clone(),
                scope: key_scope,
            });
            let stale = match sent {
                Sent::Bearer { key: k, token } if *k == key => Some(token.clone()),
                Sent::Bearer { .. } => None,
                _ => None,
            };
            // a token answered 401 for a key that is not ours: still fetch our own
            let stale_ref = stale.as_ref();
            let (token, _) = self
                .cache
                .get(&key, stale_ref, || {
                    self.fetch_access(op, &realm, &service, &scopes)
                })
                .await?;
            if let Sent::Bearer { token: t, .. } = sent
                && *t == token
            {
                // the same token again would get the same 401
                return Ok(None);
            }
            return Ok(Some(Authz {
                header: Some(bearer(&token)?),
                sent: Sent::Bearer { key, token },
                generic: None,
            }));
        }
        if challenges.iter().any(|c| c.is_basic()) {
            if matches!(sent, Sent::Basic) {
                return Ok(None);
            }
            let Some((u, p)) = self.credential.basic_pair() else {
                return Ok(None);
            };
            self.set_mode(Mode::Basic);
            return Ok(Some(Authz {
                header: Some(basic(u, p)?),
                sent: Sent::Basic,
                generic: None,
            }));
        }
        Ok(None)
    }

    /// Refuses realms that would leak the credential: plain http to a non-loopback host, or
    /// another origin than the registry's that the caller did not allow.
    fn check_realm(&self, op: &'static str, realm: &Url) -> crate::Result<()> {
        if !self.may_send_credentials(realm) {
            return Err(Error::Insecure {
                operation: op,
                message: format!(
                    "the token realm {}://{} is plain http on a non-loopback host; use https or allow insecure http explicitly",
                    realm.scheme(),
                    realm.host_str().unwrap_or_default()
                ),
            });
        }
        if self.credential.is_anonymous() || self.options.allow_any_realm {
            return Ok(());
        }
        let origin = realm.origin();
        let host = realm.host_str().unwrap_or_default();
        let same = origin == self.endpoint.origin();
        let allowed = self.options.allowed_realm_origins.contains(&origin)
            || self
                .options
                .allowed_realm_hosts
                .iter()
                .any(|h| h.eq_ignore_ascii_case(host));
        if same || allowed {
            Ok(())
        } else {
            Err(Error::Insecure {
                operation: op,
                message: format!(
                    "the registry named a token realm on another origin ({}) than its own ({}); the credential is not sent there unless you allow that origin with `allow_token_realm_origin`",
                    origin.ascii_serialization(),
                    self.endpoint.origin().ascii_serialization()
                ),
            })
        }
    }
}
