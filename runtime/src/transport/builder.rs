//! [`ClientBuilder`]: endpoint, credential, retry policy, timeouts, user agent, and the
//! escape hatch of your own `reqwest::Client`.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::body::Timeouts;
use super::{Inner, Transport};
use crate::Error;
use crate::auth::{Auth, AuthOptions, Credential, TokenService, acr, is_loopback};
use crate::response::{BodyKind, ResponseLimits};
use crate::retry::RetryPolicy;

/// A client type that can be made from a [`Transport`] (the generated `Client` is one).
pub trait FromTransport {
    /// Where the registry's token service answers, as the client's API states it (the
    /// generated `Client` says; a bare [`Transport`] knows none, so it learns the realm only
    /// from a challenge unless [`ClientBuilder::token_service`] sets it).
    const TOKEN_SERVICE: Option<TokenService> = None;

    /// Wraps the transport.
    fn from_transport(transport: Transport) -> Self;
}

impl FromTransport for Transport {
    fn from_transport(transport: Transport) -> Self {
        transport
    }
}

/// The default chunk size of blob uploads: 16 MiB.
///
/// Measured with `generated/examples/upload_bench.rs` against docker-registry 2.8 on loopback
/// (256 MiB, two shared cores): 1 MiB 35-37 MB/s, 4 MiB 40-64, 8 MiB 50-77, 16 MiB 70-90,
/// 32 MiB 55-62. Larger chunks also mean fewer round trips to a remote registry. From a
/// seekable source of known length (a file) a chunk of 4 MiB or more is streamed in small
/// pieces, so memory does not grow with the chunk size (`cargo xtask bench`: 15 MiB peak RSS
/// for a 1 GiB push); from a one-pass source memory is about two chunks (lower it with
/// [`ClientBuilder::chunk_size`] for tight memory).
pub const DEFAULT_CHUNK_SIZE: usize = 16 * 1024 * 1024;

/// Configures and builds a client (`C`) on a new [`Transport`].
///
/// ```no_run
/// # use acr_runtime::{ClientBuilder, Transport, Credential, RetryPolicy};
/// # fn f() -> acr_runtime::Result<()> {
/// let t: Transport = ClientBuilder::new("https://myregistry.azurecr.io")
///     .credential(Credential::basic("user", "password"))
///     .retry(RetryPolicy::default().with_max_attempts(5))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ClientBuilder<C = Transport> {
    endpoint: String,
    http: Option<reqwest::Client>,
    credential: Credential,
    retry: RetryPolicy,
    connect_timeout: Duration,
    timeouts: Timeouts,
    request_timeout: Option<Duration>,
    limits: ResponseLimits,
    user_agent: String,
    allow_insecure_http: bool,
    allowed_realm_hosts: Vec<String>,
    allowed_realm_origins: Vec<String>,
    allow_any_realm: bool,
    default_token_lifetime: Duration,
    page_size: Option<u32>,
    chunk_size: usize,
    acr: Option<bool>,
    token_service: Option<TokenService>,
    _client: PhantomData<fn() -> C>,
}

impl<C: FromTransport> ClientBuilder<C> {
    /// A builder for the registry at `endpoint` (`https://myregistry.azurecr.io`).
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            http: None,
            credential: Credential::Anonymous,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(30),
            timeouts: Timeouts::default(),
            request_timeout: None,
            limits: ResponseLimits::default(),
            user_agent: concat!("acr-rs/", env!("CARGO_PKG_VERSION")).to_owned(),
            allow_insecure_http: false,
            allowed_realm_hosts: Vec::new(),
            allowed_realm_origins: Vec::new(),
            allow_any_realm: false,
            default_token_lifetime: Duration::from_secs(60),
            page_size: None,
            chunk_size: DEFAULT_CHUNK_SIZE,
            acr: None,
            token_service: None,
            _client: PhantomData,
        }
    }

    /// Uses your own `reqwest::Client` instead of the default one. Build it with
    /// `redirect(reqwest::redirect::Policy::none())` so the transport follows redirects
    /// itself (and drops `Authorization` on a change of origin). The builder's connect
    /// timeout and user agent do not apply to it; its read, write and request timeouts and
    /// response limits do (the transport enforces them itself). Do not set reqwest's own
    /// `timeout`/`read_timeout` on it: they count a whole upload as one wait.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// The credential (anonymous by default).
    pub fn credential(mut self, credential: Credential) -> Self {
        self.credential = credential;
        self
    }

    /// Whether the registry is an Azure Container Registry ("ACR mode").
    ///
    /// In ACR mode the token endpoint is known without a challenge: realm
    /// `<endpoint origin>/oauth2/token` (the access-token path of the
    /// [`token_service`](Self::token_service) the client's API states), service the endpoint's
    /// host (with its port, if any).
    /// The first request of each scope fetches its token up front (an ACR refresh token or
    /// AAD credential by `POST /oauth2/token`, username/password by `GET /oauth2/token` with
    /// Basic, anonymous by `POST` with `grant_type=password`), so no request gets a 401 unless
    /// its token has gone stale; a 401 is still answered as a challenge.
    ///
    /// Off, a cold client learns the realm from the registry's first 401 (any registry).
    ///
    /// Default: on for [`Credential::RefreshToken`] and [`Credential::Aad`] (they only work
    /// with ACR) and for endpoints on `*.azurecr.io`, `*.azurecr.cn` and `*.azurecr.us`; off
    /// otherwise. Turn it on for anonymous or username/password access to an ACR behind
    /// another host name (or an emulator), off for an ACR credential used through a proxy
    /// whose token endpoint is elsewhere.
    pub fn acr(mut self, acr: bool) -> Self {
        self.acr = Some(acr);
        self
    }

    /// Where the registry's token service answers (the paths of its access-token endpoint and
    /// AAD exchange). The generated `Client` knows them from its spec
    /// ([`FromTransport::TOKEN_SERVICE`]); set them for a bare [`Transport`].
    pub fn token_service(mut self, service: TokenService) -> Self {
        self.token_service = Some(service);
        self
    }

    /// The retry policy of idempotent requests.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The TCP/TLS connect timeout (30 s by default).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The longest wait for the next bytes of a response: its head once the request is sent,
    /// then each piece of its body (120 s by default). An idle timeout: a slow response that
    /// keeps arriving never hits it. It also covers the time the network takes to carry the
    /// last bytes of an upload that sit in the socket's send buffer.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.read = timeout;
        self
    }

    /// The longest time a request body may make no progress (120 s by default). An idle
    /// timeout: an upload at any speed that keeps moving never hits it.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.write = timeout;
        self
    }

    /// A deadline for each call (none by default): `send` and `send_streaming` fail with
    /// [`Error::Timeout`] when the call, every retry included, and for a streamed body its
    /// last byte, has not finished this long after it started. Every request has it: generated
    /// operations, manifests, uploads (per request: each chunk is one) and downloads (per
    /// resume).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// The most bytes read of a buffered response body of `kind` (see [`ResponseLimits`] for
    /// the defaults).
    pub fn response_limit(mut self, kind: BodyKind, bytes: u64) -> Self {
        self.limits.set(kind, bytes);
        self
    }

    /// The `User-Agent` (`acr-rs/<version>` by default).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Allows credentials over plain http to non-loopback hosts (off by default).
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Allows a token realm on `host`, on any port, although it is not the registry's origin
    /// (e.g. `auth.docker.io`): the credential goes there. Prefer
    /// [`ClientBuilder::allow_token_realm_origin`], which names the port too.
    pub fn allow_token_realm_host(mut self, host: impl Into<String>) -> Self {
        self.allowed_realm_hosts.push(host.into());
        self
    }

    /// Allows a token realm on `origin` (`https://auth.example.com`,
    /// `http://localhost:5001`: scheme, host and port; a path is ignored) although it is not
    /// the registry's origin: the credential goes there. An origin that is not a URL is a
    /// [`Error::Config`] at [`ClientBuilder::build`].
    pub fn allow_token_realm_origin(mut self, origin: impl Into<String>) -> Self {
        self.allowed_realm_origins.push(origin.into());
        self
    }

    /// Allows token realms on any origin (off by default).
    pub fn allow_any_token_realm(mut self, allow: bool) -> Self {
        self.allow_any_realm = allow;
        self
    }

    /// How long an opaque token (no JWT `exp`, no `expires_in`) is used (60 s by default,
    /// as the docker token spec says).
    pub fn default_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.default_token_lifetime = lifetime;
        self
    }

    /// The page size (`n`) that paged operations ask for when the caller sets none.
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n);
        self
    }

    /// The chunk size of blob uploads (at least 64 KiB).
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = bytes.max(64 * 1024);
        self
    }

    /// Builds the client.
    pub fn build(self) -> crate::Result<C> {
        let mut endpoint = Url::parse(&self.endpoint).map_err(|e| {
            Error::Config(format!("endpoint {:?} is not a URL: {e}", self.endpoint))
        })?;
        if !matches!(endpoint.scheme(), "http" | "https") || endpoint.host().is_none() {
            return Err(Error::Config(format!(
                "endpoint {:?} must be an http(s) URL with a host",
                self.endpoint
            )));
        }
        if endpoint.scheme() == "http"
            && !is_loopback(&endpoint)
            && !self.credential.is_anonymous()
            && !self.allow_insecure_http
        {
            return Err(Error::Config(format!(
                "endpoint {} is plain http: credentials go over http only to loopback; use https or `allow_insecure_http(true)`",
                endpoint.origin().ascii_serialization()
            )));
        }
        endpoint.set_query(None);
        endpoint.set_fragment(None);
        let allowed_realm_origins = self
            .allowed_realm_origins
            .iter()
            .map(|o| {
                Url::parse(o).map(|u| u.origin()).map_err(|e| {
                    Error::Config(format!(
                        "allowed token realm origin {o:?} is not a URL: {e}"
                    ))
                })
            })
            .collect::<crate::Result<Vec<_>>>()?;
        // No reqwest `read_timeout`/`timeout`: reqwest counts the whole request, upload
        // included, as one wait for the response; the transport measures inactivity itself.
        let http = match self.http {
            Some(h) => h,
            None => reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(self.connect_timeout)
                .user_agent(self.user_agent)
                .build()
                .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?,
        };
        let acr = self
            .acr
            .unwrap_or_else(|| acr::by_default(&self.credential, &endpoint));
        let auth = Auth::new(
            self.credential,
            AuthOptions {
                allow_insecure_http: self.allow_insecure_http,
                allowed_realm_hosts: self.allowed_realm_hosts,
                allowed_realm_origins,
                allow_any_realm: self.allow_any_realm,
                default_token_lifetime: self.default_token_lifetime,
                retry: self.retry.clone(),
                timeouts: self.timeouts,
                token_limit: self.limits.token,
                acr,
                token_service: self.token_service.or(C::TOKEN_SERVICE),
            },
            http.clone(),
            endpoint.clone(),
        );
        Ok(C::from_transport(Transport {
            inner: Arc::new(Inner {
                endpoint,
                http,
                auth,
                retry: self.retry,
                timeouts: self.timeouts,
                request_timeout: self.request_timeout,
                limits: self.limits,
                page_size: self.page_size,
                chunk_size: self.chunk_size,
            }),
            token_scope: None,
        }))
    }
}
