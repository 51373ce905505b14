//! The transport: the one place requests are sent.
//!
//! [`Transport::send`] resolves the request's path against the endpoint, puts the cached
//! token of the request's scope on it (fetched up front in ACR mode, see
//! [`auth`](crate::auth); or Basic credentials once the registry asked for them), answers a
//! 401 challenge once, retries idempotent requests by the [`RetryPolicy`], follows redirects of `GET`/`HEAD` itself
//! (dropping `Authorization` when the origin changes: ACR redirects blob reads to storage),
//! and turns error statuses into [`Error`]s. Every request runs in a tracing span
//! `acr.request` with `operation`, `repository`, `method`, `status` and `attempt`; no header
//! value and no query string is ever logged.

pub(crate) mod body;
mod builder;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::StreamExt as _;
use http::{Method, StatusCode};
use tokio::time::Instant;
use tracing::Instrument as _;
use url::Url;

use crate::auth::generic::Placement;
use crate::auth::{Auth, Authz};
use crate::retry::{self, RetryPolicy};
use crate::{Body, Error, Request, Response, StreamingResponse};
pub use builder::{ClientBuilder, DEFAULT_CHUNK_SIZE, FromTransport};

/// The largest error body read into an [`Error`].
const MAX_ERROR_BODY: u64 = 64 * 1024;
/// The most redirects followed for one request.
const MAX_REDIRECTS: u32 = 10;

#[derive(Debug)]
struct Inner {
    endpoint: Url,
    http: reqwest::Client,
    auth: Auth,
    retry: RetryPolicy,
    request_timeout: Option<Duration>,
    page_size: Option<u32>,
    chunk_size: usize,
}

/// Sends requests to one registry; cheap to clone.
#[derive(Debug, Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

enum Outcome {
    Buffered(Response),
    Streaming(StreamingResponse),
}

enum OnceError {
    Http(reqwest::Error),
    Other(Error),
}

impl Transport {
    /// A builder for a transport on `endpoint`.
    pub fn builder(endpoint: impl Into<String>) -> ClientBuilder<Transport> {
        ClientBuilder::new(endpoint)
    }

    /// The registry endpoint.
    pub fn endpoint(&self) -> &Url {
        &self.inner.endpoint
    }

    /// The page size paged operations ask for when the caller sets none.
    pub fn page_size(&self) -> Option<u32> {
        self.inner.page_size
    }

    /// The chunk size of blob uploads.
    pub fn chunk_size(&self) -> usize {
        self.inner.chunk_size
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// Sends `request` and returns the response, its body read, if its status is a success
    /// (2xx, or a 3xx that is not followed). Error statuses become [`Error::Status`].
    pub async fn send(&self, request: Request) -> crate::Result<Response> {
        let span = request_span(&request);
        match self.execute(&request, true).instrument(span).await? {
            Outcome::Buffered(r) => Ok(r),
            Outcome::Streaming(_) => Err(Error::invalid_response(
                request.operation,
                "internal: streaming outcome for a buffered send",
            )),
        }
    }

    /// Sends `request` and returns the response with its body as a stream once the status
    /// is a success. Retries, auth and redirects apply up to the response headers; an error
    /// in the body comes out of the stream.
    pub async fn send_streaming(&self, request: Request) -> crate::Result<StreamingResponse> {
        let span = request_span(&request);
        match self.execute(&request, false).instrument(span).await? {
            Outcome::Streaming(r) => Ok(r),
            Outcome::Buffered(r) => Ok(StreamingResponse {
                operation: r.operation,
                status: r.status,
                headers: r.headers,
                body: Box::pin(futures_util::stream::once(async move { Ok(r.body) })),
            }),
        }
    }

    /// The absolute URL of `request` (its path resolved against the endpoint, then its
    /// query pairs appended). An endpoint with a path is a base: a path that starts with `/`
    /// goes under it (`https://api.example.com/v1` and `/pets` give
    /// `https://api.example.com/v1/pets`), as an OpenAPI server URL or a LAP `@base` means.
    pub fn url_for(&self, request: &Request) -> crate::Result<Url> {
        let endpoint = &self.inner.endpoint;
        let base = endpoint.path().trim_end_matches('/');
        let path = if !base.is_empty() && request.path.starts_with('/') {
            std::borrow::Cow::Owned(format!("{base}{}", request.path))
        } else {
            std::borrow::Cow::Borrowed(request.path.as_str())
        };
        let mut url = endpoint.join(&path).map_err(|e| {
            Error::invalid_input(
                request.operation,
                format!("bad path {:?}: {e}", request.path),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::invalid_input(
                request.operation,
                "the request URL is not http(s)",
            ));
        }
        if !request.query.is_empty() {
            url.query_pairs_mut().extend_pairs(request.query.iter());
        }
        Ok(url)
    }

    async fn execute(&self, req: &Request, buffered: bool) -> crate::Result<Outcome> {
        let op = req.operation;
        let started = Instant::now();
        let idempotent = retry::is_idempotent(&req.method);
        let mut authz = self.inner.auth.authorize(req).await?;
        let mut challenged = false;
        let mut attempt = 0u32;
        let mut retries = 0u32;
        let span = tracing::Span::current();
        loop {
            attempt += 1;
            span.record("attempt", attempt);
            let failure: Result<reqwest::Response, reqwest::Error> =
                match self.send_once(req, &authz, buffered).await {
                    Err(OnceError::Other(e)) => return Err(e),
                    Err(OnceError::Http(e)) => Err(e),
                    Ok(resp) => Ok(resp),
                };
            let delay = match failure {
                Ok(resp) => {
                    let status = resp.status();
                    span.record("status", status.as_u16());
                    if status == StatusCode::UNAUTHORIZED && !challenged {
                        challenged = true;
                        if let Some(next) = self
                            .inner
                            .auth
                            .on_challenge(req, resp.headers(), &authz.sent)
                            .await?
                        {
                            tracing::debug!("answered the registry's auth challenge");
                            authz = next;
                            continue;
                        }
                    }
                    if status.is_success() || status.is_redirection() {
                        match self.finish(req, resp, buffered, attempt).await {
                            Ok(outcome) => return Ok(outcome),
                            Err(e) => match self.retry_delay(idempotent, retries, started, None) {
                                Some(d) if retry::is_retryable_transport(&e) => {
                                    tracing::warn!(attempt, error = %e.without_url(), delay_ms = d.as_millis() as u64, "reading the body failed; retrying");
                                    d
                                }
                                _ => {
                                    return Err(Error::transport(
                                        op,
                                        req.repository.clone(),
                                        attempt,
                                        e,
                                    ));
                                }
                            },
                        }
                    } else {
                        let retry_after = resp
                            .headers()
                            .get(http::header::RETRY_AFTER)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| retry::parse_retry_after(v, SystemTime::now()));
                        let delay = if retry::is_retryable_status(status) {
                            self.retry_delay(idempotent, retries, started, retry_after)
                        } else {
                            None
                        };
                        match delay {
                            Some(d) => {
                                tracing::warn!(
                                    attempt,
                                    status = status.as_u16(),
                                    delay_ms = d.as_millis() as u64,
                                    "retrying"
                                );
                                d
                            }
                            None => {
                                let body = body::read_limited(resp, MAX_ERROR_BODY, op)
                                    .await
                                    .unwrap_or_default();
                                let e = Error::from_status(
                                    op,
                                    req.repository.clone(),
                                    status,
                                    &body,
                                    attempt,
                                );
                                tracing::debug!(error = %e, "request failed");
                                return Err(e);
                            }
                        }
                    }
                }
                Err(e) => match self.retry_delay(idempotent, retries, started, None) {
                    Some(d) if retry::is_retryable_transport(&e) => {
                        tracing::warn!(attempt, error = %e.without_url(), delay_ms = d.as_millis() as u64, "transport error; retrying");
                        d
                    }
                    _ => return Err(Error::transport(op, req.repository.clone(), attempt, e)),
                },
            };
            retries += 1;
            tokio::time::sleep(delay).await;
        }
    }

    /// The wait before the next retry, or `None` when the budget does not allow one.
    fn retry_delay(
        &self,
        idempotent: bool,
        retries: u32,
        started: Instant,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        let policy = &self.inner.retry;
        if !idempotent || retries + 1 >= policy.max_attempts {
            return None;
        }
        let delay = retry_after.unwrap_or_else(|| policy.backoff(retries + 1));
        (started.elapsed() + delay <= policy.max_elapsed).then_some(delay)
    }

    async fn finish(
        &self,
        req: &Request,
        resp: reqwest::Response,
        buffered: bool,
        attempt: u32,
    ) -> Result<Outcome, reqwest::Error> {
        let status = resp.status();
        let headers = resp.headers().clone();
        if buffered {
            let body = resp.bytes().await?;
            return Ok(Outcome::Buffered(Response {
                operation: req.operation,
                status,
                headers,
                body,
            }));
        }
        let op = req.operation;
        let repo = req.repository.clone();
        let body = resp
            .bytes_stream()
            .map(move |r| r.map_err(|e| Error::transport(op, repo.clone(), attempt, e)));
        Ok(Outcome::Streaming(StreamingResponse {
            operation: req.operation,
            status,
            headers,
            body: Box::pin(body),
        }))
    }

    /// One send, redirects of GET/HEAD followed.
    async fn send_once(
        &self,
        req: &Request,
        authz: &Authz,
        buffered: bool,
    ) -> Result<reqwest::Response, OnceError> {
        let mut url = self.url_for(req).map_err(OnceError::Other)?;
        let registry = self.inner.endpoint.origin();
        let mut hops = 0;
        loop {
            let mut rb = self
                .inner
                .http
                .request(req.method.clone(), url.clone())
                .headers(req.headers.clone());
            if let Some(h) = &authz.header
                && url.origin() == registry
            {
                if !self.inner.auth.may_send_credentials(&url) {
                    return Err(OnceError::Other(Error::Insecure {
                        operation: req.operation,
                        message: "credentials go over plain http only to loopback; use https or allow insecure http explicitly".into(),
                    }));
                }
                rb = rb.header(http::header::AUTHORIZATION, h.clone());
            }
            if let Some(g) = &authz.generic
                && url.origin() == registry
            {
                if !self.inner.auth.may_send_credentials(&url) {
                    return Err(OnceError::Other(Error::Insecure {
                        operation: req.operation,
                        message: "credentials go over plain http only to loopback; use https or allow insecure http explicitly".into(),
                    }));
                }
                rb = match g {
                    Placement::Header(name, value) => rb.header(name, value.clone()),
                    Placement::Query(name, key) => rb.query(&[(name.as_str(), key.expose())]),
                };
            }
            rb = match &req.body {
                Body::Empty if matches!(req.method, Method::POST | Method::PUT | Method::PATCH) => {
                    rb.body(Bytes::new())
                }
                Body::Empty => rb,
                Body::Bytes { content_type, data } => rb
                    .header(http::header::CONTENT_TYPE, content_type.as_str())
                    .body(data.clone()),
                Body::Json(data) => rb
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(data.clone()),
                Body::Form(fields) => {
                    let text = serde_urlencoded::to_string(fields).map_err(|e| {
                        OnceError::Other(Error::invalid_input(
                            req.operation,
                            format!("cannot encode the form: {e}"),
                        ))
                    })?;
                    rb.header(
                        http::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(text)
                }
            };
            if buffered && let Some(t) = self.inner.request_timeout {
                rb = rb.timeout(t);
            }
            tracing::debug!(
                path = url.path(),
                host = url.host_str().unwrap_or_default(),
                "sending"
            );
            let resp = rb.send().await.map_err(OnceError::Http)?;
            let status = resp.status();
            let follow = matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
                && matches!(req.method, Method::GET | Method::HEAD)
                && hops < MAX_REDIRECTS;
            if follow
                && let Some(location) = resp
                    .headers()
                    .get(http::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
            {
                let next = url.join(location).map_err(|e| {
                    OnceError::Other(Error::invalid_response(
                        req.operation,
                        format!("redirect to an invalid location: {e}"),
                    ))
                })?;
                if !matches!(next.scheme(), "http" | "https") {
                    return Err(OnceError::Other(Error::invalid_response(
                        req.operation,
                        "redirect to a non-http location",
                    )));
                }
                tracing::debug!(
                    status = status.as_u16(),
                    host = next.host_str().unwrap_or_default(),
                    same_origin = next.origin() == registry,
                    "following redirect"
                );
                url = next;
                hops += 1;
                continue;
            }
            return Ok(resp);
        }
    }
}

fn request_span(req: &Request) -> tracing::Span {
    tracing::info_span!(
        "acr.request",
        operation = req.operation,
        repository = req.repository.as_deref().unwrap_or(""),
        method = %req.method,
        status = tracing::field::Empty,
        attempt = tracing::field::Empty,
    )
}
