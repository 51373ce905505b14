//! The transport: the one place requests are sent.
//!
//! [`Transport::send`] resolves the request's path against the endpoint, puts the cached
//! token of the request's scope on it (fetched up front in ACR mode, see
//! [`auth`](crate::auth); or Basic credentials once the registry asked for them), answers a
//! 401 challenge of the registry's origin once, retries by the [`RetryPolicy`], follows
//! redirects, and turns error statuses into [`Error`]s. Every request runs in a tracing span
//! `acr.request` with `operation`, `repository`, `method`, `status` and `attempt`; no header
//! value and no query string is ever logged.
//!
//! **Credentials belong to the registry's origin** (scheme, host and port; RFC 6454): the
//! `Authorization` header goes only to URLs of that origin, whether the URL came from the
//! request, a redirect, an upload `Location` or a `Link`. A `401` answered by a URL of another
//! origin is an error, never a challenge (so a foreign server cannot choose where the
//! credential goes next); token realms are checked the same way (see [`auth`](crate::auth)).
//!
//! **Redirects** (RFC 9110 §15.4): `307` and `308` are followed for every method with the
//! same method and body (bodies are bytes, so they are sent again); `303` turns the request
//! into a `GET` without body (a `HEAD` stays a `HEAD`); `301` and `302` keep the method,
//! except that a `POST` becomes a `GET` (§15.4.2, §15.4.3, as browsers do). `Location` is
//! resolved against the URL that answered (RFC 9110 §10.2.2, RFC 3986 §5). A 3xx without
//! `Location`, one of the other 3xx (`300`, `305`, `306`; `304` is handed back), a loop, or
//! more than 10 hops is an error, never a success. [`Response::url`] is the URL that finally
//! answered.
//!
//! **Timeouts measure inactivity**: a connect timeout, a write timeout on a request body that
//! stops moving (a body over 64 KiB goes out in slices, each pulled by the HTTP stack once the
//! previous one is buffered for the socket: each pull is progress), a read timeout on a
//! response that stops arriving (its head once the body is handed over, then each piece of
//! its body). A slow but live transfer never times out, however long it takes. A
//! deadline for the whole call exists only when the caller sets one
//! ([`ClientBuilder::request_timeout`]); it covers every attempt, and a streamed body to its
//! last byte.
//!
//! **Bounded memory**: a buffered body is read up to the limit of its [`BodyKind`] (see
//! [`ResponseLimits`]), an error body up to the error limit.

pub(crate) mod body;
mod builder;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use tokio::time::Instant;
use tracing::Instrument as _;
use url::Url;

use crate::auth::generic::Placement;
use crate::auth::{Auth, Authz};
use crate::error::TimeoutKind;
use crate::response::{BodyKind, ResponseLimits};
use crate::retry::{self, RetryPolicy};
use crate::{Body, Error, Request, Response, StreamingResponse};
use body::{Failure, Progress, Timeouts};
pub use builder::{ClientBuilder, DEFAULT_CHUNK_SIZE, FromTransport};

/// The most redirects followed for one request.
const MAX_REDIRECTS: u32 = 10;

#[derive(Debug)]
struct Inner {
    endpoint: Url,
    http: reqwest::Client,
    auth: Auth,
    retry: RetryPolicy,
    timeouts: Timeouts,
    request_timeout: Option<Duration>,
    limits: ResponseLimits,
    page_size: Option<u32>,
    chunk_size: usize,
}

/// Sends requests to one registry; cheap to clone.
#[derive(Debug, Clone)]
pub struct Transport {
    inner: Arc<Inner>,
    /// The scope every request that carries one asks a token for instead of its own (see
    /// [`Transport::with_token_scope`]).
    token_scope: Option<Arc<str>>,
}

enum Outcome {
    Buffered(Response),
    Streaming(StreamingResponse),
}

impl Outcome {
    /// The response of a buffered send of `operation` (a streaming outcome there is a bug of
    /// the transport's, reported as an invalid response rather than a panic).
    fn buffered(self, operation: &'static str) -> crate::Result<Response> {
        match self {
            Outcome::Buffered(r) => Ok(r),
            Outcome::Streaming(_) => Err(Error::invalid_response(
                operation,
                "internal: streaming outcome for a buffered send",
            )),
        }
    }
}

/// The first attempt of a request, made by [`Transport::first_attempt`], when it is not a
/// plain success: the rest of the request ([`Transport::execute`]) goes on from it.
struct FirstAttempt {
    authz: Authz,
    watch: body::Watch,
    /// The answer, or how the exchange failed (reading a success's body included).
    sent: Result<(reqwest::Response, Url), Once>,
}

/// How one send (with its redirects) failed.
enum Once {
    /// Not worth another attempt.
    Fatal(Error),
    /// The exchange failed; the caller decides whether to try again.
    Failure(Failure),
}

impl Transport {
    /// A builder for a transport on `endpoint`.
    pub fn builder(endpoint: impl Into<String>) -> ClientBuilder<Transport> {
        ClientBuilder::new(endpoint)
    }

    /// A handle on the same connections, token cache and settings whose requests that carry
    /// an auth scope ask a token for `scope` instead: a scope that covers each of theirs, so
    /// that one token serves every step of a workflow (an upload's existence check, session
    /// and chunks take the push scope of its session). Requests without a scope (the token
    /// endpoints) are sent as they are.
    pub fn with_token_scope(&self, scope: impl Into<String>) -> Transport {
        Transport {
            inner: Arc::clone(&self.inner),
            token_scope: Some(Arc::from(scope.into())),
        }
    }

    /// The request as this handle sends it (its token scope applied).
    fn scoped(&self, request: Request) -> Request {
        match (&self.token_scope, &request.scope) {
            (Some(scope), Some(_)) => request.scope(scope.to_string()),
            _ => request,
        }
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

    /// The response body limits.
    pub fn response_limits(&self) -> &ResponseLimits {
        &self.inner.limits
    }

    /// Sends `request` and returns the response, its body read (up to the limit of its
    /// [`BodyKind`]), if its status is a success (or `304`). Error statuses become
    /// [`Error::Status`]; a body over its limit [`Error::TooLarge`]; a stall
    /// [`Error::Timeout`].
    pub async fn send(&self, request: Request) -> crate::Result<Response> {
        let request = self.scoped(request);
        let span = request_span(&request);
        let deadline = self.deadline();
        // Most requests are answered at the first attempt: that one is made here, without
        // the retry loop's state, when there is no deadline or span to put around it.
        let first = if deadline.is_none() && span.is_disabled() {
            match self.first_attempt(&request).await? {
                Ok(response) => return Ok(response),
                Err(first) => Some(first),
            }
        } else {
            None
        };
        // boxed: the request's future is moved several times on its way (the deadline, the
        // span, the caller's `IntoFuture`); a pointer moves cheaper than kilobytes
        let run = Box::pin(self.execute(&request, true, deadline, &span, first));
        in_span(&span, with_deadline(request.operation, deadline, run))
            .await?
            .buffered(request.operation)
    }

    /// Sends `request` and returns the response with its body as a stream once the status
    /// is a success. Retries, auth and redirects apply up to the response headers; an error
    /// in the body (a cut connection, the read timeout, the caller's deadline) comes out of
    /// the stream.
    pub async fn send_streaming(&self, request: Request) -> crate::Result<StreamingResponse> {
        let request = self.scoped(request);
        let span = request_span(&request);
        let deadline = self.deadline();
        let run = Box::pin(self.execute(&request, false, deadline, &span, None));
        match in_span(&span, with_deadline(request.operation, deadline, run)).await? {
            Outcome::Streaming(r) => Ok(r),
            Outcome::Buffered(r) => Ok(StreamingResponse {
                operation: r.operation,
                status: r.status,
                url: r.url,
                headers: r.headers,
                body: body::once(r.body),
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
        let plain_path =
            path.starts_with('/') && !path.starts_with("//") && !path.contains(['?', '#']);
        let mut url = if plain_path {
            // the common case, without parsing the endpoint again: the same path parser as
            // `join` (dot segments, percent-encoding), on the endpoint (which has no query)
            let mut url = endpoint.clone();
            url.set_path(&path);
            url
        } else {
            endpoint.join(&path).map_err(|e| {
                Error::invalid_input(
                    request.operation,
                    format!("bad path {:?}: {e}", request.path),
                )
            })?
        };
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

    fn deadline(&self) -> Option<(Instant, Duration)> {
        self.inner.request_timeout.map(|t| (Instant::now() + t, t))
    }

    /// The first attempt of a buffered `req`: its response when the answer is a success
    /// (or `304`) whose body was read, else the attempt as it went, for [`Transport::execute`]
    /// to go on from (a challenge, an error status, a failed exchange). What happens is what
    /// `execute`'s first attempt does, in a smaller future.
    async fn first_attempt(&self, req: &Request) -> crate::Result<Result<Response, FirstAttempt>> {
        let authz = self.inner.auth.authorize(req).await?;
        let mut watch = body::Watch::start(self.inner.timeouts);
        let sent = match self.send_once(req, &authz, &mut watch).await {
            Ok((resp, url)) if is_answer(resp.status()) => {
                match self.finish(req, resp, url, true, 1, None, &mut watch).await {
                    Ok(outcome) => return outcome.buffered(req.operation).map(Ok),
                    Err(f) => Err(Once::Failure(f)),
                }
            }
            other => other,
        };
        Ok(Err(FirstAttempt { authz, watch, sent }))
    }

    /// Sends `req` (auth, retries, redirects) and reads its answer; `span` is the request's
    /// span, which gets the attempt and the status. `first` is the first attempt when
    /// [`Transport::first_attempt`] made it.
    async fn execute(
        &self,
        req: &Request,
        buffered: bool,
        deadline: Option<(Instant, Duration)>,
        span: &tracing::Span,
        first: Option<FirstAttempt>,
    ) -> crate::Result<Outcome> {
        let op = req.operation;
        // when the first attempt started (its watch's clock), for the retry budget
        let mut started = None;
        let (mut authz, mut first) = match first {
            Some(f) => (f.authz, Some((f.watch, f.sent))),
            None => (self.inner.auth.authorize(req).await?, None),
        };
        let mut challenged = false;
        let mut attempt = 0u32;
        // An earlier attempt may have done its work and lost its answer.
        let mut answer_lost = false;
        loop {
            attempt += 1;
            // a disabled span (no subscriber wants it) records nothing, but finding the
            // field by its name still costs: skip it
            if !span.is_disabled() {
                span.record("attempt", attempt);
            }
            let (mut watch, sent) = match first.take() {
                Some(made) => made,
                None => {
                    let mut watch = body::Watch::start(self.inner.timeouts);
                    let sent = self.send_once(req, &authz, &mut watch).await;
                    (watch, sent)
                }
            };
            let started = *started.get_or_insert(watch.started());
            let (error, retry_after, may_retry) = match sent {
                Err(Once::Fatal(e)) => return Err(e),
                Err(Once::Failure(f)) => {
                    answer_lost |= f.may_have_reached_server();
                    let may = self.may_retry_failure(req, &f);
                    (f.into_error(op, req.repository.clone(), attempt), None, may)
                }
                Ok((resp, url)) => {
                    let status = resp.status();
                    if !span.is_disabled() {
                        span.record("status", status.as_u16());
                    }
                    if status == StatusCode::UNAUTHORIZED
                        && !same_origin(&url, &self.inner.endpoint)
                    {
                        return Err(
                            Box::pin(self.foreign_unauthorized(req, resp, &url, attempt)).await,
                        );
                    }
                    if status == StatusCode::UNAUTHORIZED && !challenged {
                        challenged = true;
                        // The answer is read first (its body up to the error limit), so that
                        // its connection is free again for the token request.
                        // boxed: a challenge is rare, its futures large
                        let (status, headers, body) = Box::pin(self.error_answer(resp)).await;
                        if let Some(next) =
                            Box::pin(self.inner.auth.on_challenge(req, &headers, &authz.sent))
                                .await?
                        {
                            tracing::debug!("answered the registry's auth challenge");
                            authz = next;
                            // The challenge is the auth dance, not a failed attempt: the
                            // request with a token is attempt 1 again, so an error says
                            // "after N attempts" only when the request was really retried.
                            attempt -= 1;
                            continue;
                        }
                        self.status_error(req, status, headers, &body, attempt)
                    } else {
                        let gone_after_lost_answer = status == StatusCode::NOT_FOUND
                            && answer_lost
                            && req.done_when_gone
                            && req.method == http::Method::DELETE;
                        if gone_after_lost_answer {
                            tracing::info!(
                                attempt,
                                "the resent DELETE found nothing: the attempt whose answer was lost did it"
                            );
                        }
                        if is_answer(status) || gone_after_lost_answer {
                            match self
                                .finish(req, resp, url, buffered, attempt, deadline, &mut watch)
                                .await
                            {
                                Ok(outcome) => return Ok(outcome),
                                Err(f) => {
                                    answer_lost |= f.may_have_reached_server();
                                    let may = self.may_retry_failure(req, &f);
                                    (f.into_error(op, req.repository.clone(), attempt), None, may)
                                }
                            }
                        } else {
                            // boxed: an error answer is rare, and reading it makes a large future
                            Box::pin(self.status_failure(req, resp, attempt)).await
                        }
                    }
                }
            };
            // a streamed body is gone once sent: its owner starts over, not the transport
            let may_retry = may_retry && !matches!(req.body, Body::Stream(_));
            match self.retry_delay(may_retry, attempt, started, retry_after, deadline) {
                Some(d) => {
                    tracing::warn!(
                        attempt,
                        error = %error,
                        delay_ms = d.as_millis() as u64,
                        "retrying"
                    );
                    // boxed: a retry is rare, and a timer would make every request's future larger
                    Box::pin(tokio::time::sleep(d)).await;
                }
                None => {
                    tracing::debug!(error = %error, "request failed");
                    return Err(error);
                }
            }
        }
    }

    /// The error of an answer with an error status (its body read up to the error limit),
    /// the wait its `Retry-After` asks for, and whether the request may be tried again.
    async fn status_failure(
        &self,
        req: &Request,
        resp: reqwest::Response,
        attempt: u32,
    ) -> (Error, Option<Duration>, bool) {
        let (status, headers, body) = self.error_answer(resp).await;
        self.status_error(req, status, headers, &body, attempt)
    }

    /// An error answer's status, headers and body, the body read up to the error limit (a
    /// body read to its end lets its connection go back to the pool).
    async fn error_answer(&self, resp: reqwest::Response) -> (StatusCode, HeaderMap, Bytes) {
        let mut resp = resp;
        let status = resp.status();
        let headers = std::mem::take(resp.headers_mut());
        let body =
            body::read_error_body(resp, self.inner.limits.error, self.inner.timeouts.read).await;
        (status, headers, body)
    }

    /// The error of an error answer already read, the wait its `Retry-After` asks for, and
    /// whether the request may be tried again.
    fn status_error(
        &self,
        req: &Request,
        status: StatusCode,
        headers: HeaderMap,
        body: &[u8],
        attempt: u32,
    ) -> (Error, Option<Duration>, bool) {
        let retry_after = retry::retry_after(&headers);
        let may = if req.repeatable {
            retry::is_retryable_status(status)
        } else {
            retry::may_retry_status(&req.method, status)
        };
        let e = Error::from_status(req.operation, req.repository.clone(), status, body, attempt)
            .with_headers(headers);
        (e, retry_after, may)
    }

    /// Whether a failed exchange may be tried again: a transport error by
    /// [`retry::may_retry_transport`], an idle timeout for an idempotent method; a request
    /// marked [`Request::repeatable`] counts as idempotent.
    fn may_retry_failure(&self, req: &Request, failure: &Failure) -> bool {
        let idempotent = req.repeatable || retry::is_idempotent(&req.method);
        match failure {
            Failure::Http(e) if req.repeatable => retry::is_retryable_transport(e),
            Failure::Http(e) => retry::may_retry_transport(&req.method, e),
            Failure::Timeout(kind, _) => idempotent && *kind != TimeoutKind::Deadline,
            Failure::TooLarge(_) => false,
        }
    }

    /// The error of a 401 from `url`, outside the registry's origin: not a challenge.
    async fn foreign_unauthorized(
        &self,
        req: &Request,
        resp: reqwest::Response,
        url: &Url,
        attempt: u32,
    ) -> Error {
        let status = resp.status();
        let body =
            body::read_error_body(resp, self.inner.limits.error, self.inner.timeouts.read).await;
        Error::Auth {
            operation: req.operation,
            message: format!(
                "{} answered 401, but it is not the registry's origin ({}): its challenge is not answered and no credential goes there",
                url.origin().ascii_serialization(),
                self.inner.endpoint.origin().ascii_serialization()
            ),
            source: Some(Box::new(Error::from_status(
                req.operation,
                req.repository.clone(),
                status,
                &body,
                attempt,
            ))),
        }
    }

    /// The wait before the next attempt, or `None` when there is none: not allowed, the
    /// attempts are spent, or the wait would end past the time budget or the deadline.
    fn retry_delay(
        &self,
        may_retry: bool,
        attempt: u32,
        started: Instant,
        retry_after: Option<Duration>,
        deadline: Option<(Instant, Duration)>,
    ) -> Option<Duration> {
        let policy = &self.inner.retry;
        if !may_retry || attempt >= policy.max_attempts {
            return None;
        }
        let delay = retry_after.unwrap_or_else(|| policy.backoff(attempt));
        let fits_budget = started.elapsed().saturating_add(delay) <= policy.max_elapsed;
        let fits_deadline = deadline.is_none_or(|(at, _)| Instant::now() + delay < at);
        (fits_budget && fits_deadline).then_some(delay)
    }

    /// The body limit of `req`'s response with `headers`.
    fn limit_for(&self, req: &Request, headers: &HeaderMap) -> u64 {
        req.response_limit
            .unwrap_or_else(|| self.inner.limits.get(body_kind(req, headers)))
    }

    #[allow(clippy::too_many_arguments)] // the exchange's parts, passed on as they are
    async fn finish(
        &self,
        req: &Request,
        resp: reqwest::Response,
        url: Url,
        buffered: bool,
        attempt: u32,
        deadline: Option<(Instant, Duration)>,
        watch: &mut body::Watch,
    ) -> Result<Outcome, Failure> {
        let mut resp = resp;
        let status = resp.status();
        // The body's length comes from the body itself, not from these headers.
        let headers = std::mem::take(resp.headers_mut());
        if buffered {
            let limit = self.limit_for(req, &headers);
            let body = body::read_limited(resp, limit, watch).await?;
            return Ok(Outcome::Buffered(Response {
                operation: req.operation,
                status,
                url,
                headers,
                body,
            }));
        }
        let body = body::stream(
            resp,
            self.inner.timeouts.read,
            deadline,
            req.operation,
            req.repository.clone(),
            attempt,
        );
        Ok(Outcome::Streaming(StreamingResponse {
            operation: req.operation,
            status,
            url,
            headers,
            body,
        }))
    }

    /// One send with its redirects followed (see the module docs); returns the response and
    /// the URL that answered.
    async fn send_once(
        &self,
        req: &Request,
        authz: &Authz,
        watch: &mut body::Watch,
    ) -> Result<(reqwest::Response, Url), Once> {
        let url = self.url_for(req).map_err(Once::Fatal)?;
        let resp = self.hop(req, authz, &req.method, &url, true, watch).await?;
        if !is_followed(resp.status()) {
            return Ok((resp, url));
        }
        // boxed: a redirect is rare, and its loop would make every request's future larger
        Box::pin(self.follow_redirects(req, authz, watch, resp, url)).await
    }

    /// The hops after the first answered `first` (a redirect) from `url`, until an answer
    /// that is not a redirect the client follows; returns it and the URL that answered.
    async fn follow_redirects(
        &self,
        req: &Request,
        authz: &Authz,
        watch: &mut body::Watch,
        first: reqwest::Response,
        url: Url,
    ) -> Result<(reqwest::Response, Url), Once> {
        let (mut resp, mut url) = (first, url);
        let mut method = req.method.clone();
        let mut with_body = true;
        let mut seen: Vec<(Method, Url)> = Vec::new();
        loop {
            let status = resp.status();
            if !is_followed(status) {
                return Ok((resp, url));
            }
            let (next, to_get) = self.redirect(req.operation, &resp, &url, &method, &seen)?;
            seen.push((method.clone(), url));
            if to_get {
                method = Method::GET;
                with_body = false;
            }
            if seen.iter().any(|(m, u)| *m == method && *u == next) {
                return Err(Once::Fatal(Error::invalid_response(
                    req.operation,
                    format!("a redirect loop ({status} back to a URL already visited)"),
                )));
            }
            url = next;
            watch.next_hop();
            // the redirect's answer (its connection, its unread body) is let go before the
            // next hop, which may need a connection of its own
            drop(resp);
            resp = self
                .hop(req, authz, &method, &url, with_body, watch)
                .await?;
        }
    }

    /// One hop: `req` sent as `method` to `url` (with its body or not), up to the answer's
    /// head.
    async fn hop(
        &self,
        req: &Request,
        authz: &Authz,
        method: &Method,
        url: &Url,
        with_body: bool,
        watch: &mut body::Watch,
    ) -> Result<reqwest::Response, Once> {
        let rb = self.request_builder(req, authz, method, url, with_body, watch)?;
        tracing::debug!(
            method = %method,
            path = url.path(),
            host = url.host_str().unwrap_or_default(),
            "sending"
        );
        body::send(rb, watch).await.map_err(Once::Failure)
    }

    /// The request of one hop: `req`'s headers (credentials only to the registry's origin,
    /// content headers only with the body), the authorization and the body.
    fn request_builder(
        &self,
        req: &Request,
        authz: &Authz,
        method: &Method,
        url: &Url,
        with_body: bool,
        watch: &body::Watch,
    ) -> Result<reqwest::RequestBuilder, Once> {
        let mut rb = self.inner.http.request(method.clone(), url.clone());
        let at_registry = same_origin(url, &self.inner.endpoint);
        for (name, value) in &req.headers {
            // A credential the caller put in a header (a spec's own `Authorization`
            // parameter) is bound to the registry's origin like the client's own.
            let credential = is_credential_header(name)
                || matches!(&authz.generic, Some(Placement::Header(key, _)) if key == name);
            if !at_registry && credential {
                continue;
            }
            if with_body || !is_content_header(name) {
                rb = rb.header(name, value);
            }
        }
        let insecure = || {
            Once::Fatal(Error::Insecure {
                operation: req.operation,
                message: "credentials go over plain http only to loopback; use https or allow insecure http explicitly".into(),
            })
        };
        // A header the request sets itself wins over the credential's of the same name:
        // the caller chose it for this request (never two `Authorization` fields).
        if let Some(h) = &authz.header
            && at_registry
            && !req.headers.contains_key(http::header::AUTHORIZATION)
        {
            if !self.inner.auth.may_send_credentials(url) {
                return Err(insecure());
            }
            rb = rb.header(http::header::AUTHORIZATION, h.clone());
        }
        if let Some(g) = &authz.generic
            && at_registry
            && !matches!(g, Placement::Header(name, _) if req.headers.contains_key(name))
        {
            if !self.inner.auth.may_send_credentials(url) {
                return Err(insecure());
            }
            rb = match g {
                Placement::Header(name, value) => rb.header(name, value.clone()),
                Placement::Query(name, key) => rb.query(&[(name.as_str(), key.expose())]),
            };
        }
        if with_body {
            rb = self.attach_body(req, method, rb, watch.progress())?;
        }
        Ok(rb)
    }

    /// Where the redirect `resp` (a 3xx other than `304`, answered by `url` to `method`)
    /// leads, and whether the request turns into a `GET` without body (RFC 9110 §15.4: `303`
    /// fetches with `GET`; `301` and `302` turn a `POST` into a `GET`); an error for a 3xx
    /// the client does not follow, a missing or bad `Location`, or too many hops (`seen`).
    #[inline(never)] // rare: kept out of the request's future
    fn redirect(
        &self,
        op: &'static str,
        resp: &reqwest::Response,
        url: &Url,
        method: &Method,
        seen: &[(Method, Url)],
    ) -> Result<(Url, bool), Once> {
        let status = resp.status();
        let fail = |message: String| Err(Once::Fatal(Error::invalid_response(op, message)));
        if !matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
            return fail(format!(
                "the registry answered {status}, a redirect the client does not follow"
            ));
        }
        let Some(location) = resp
            .headers()
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
        else {
            return fail(format!("the registry answered {status} without a Location"));
        };
        let next = match url.join(location.trim()) {
            Ok(next) if matches!(next.scheme(), "http" | "https") => next,
            Ok(_) => return fail(format!("{status} to a location that is not http(s)")),
            Err(e) => return fail(format!("{status} to an invalid location: {e}")),
        };
        if seen.len() >= MAX_REDIRECTS as usize {
            return fail(format!("more than {MAX_REDIRECTS} redirects"));
        }
        let to_get = match status.as_u16() {
            303 => *method != Method::HEAD,
            301 | 302 => *method == Method::POST,
            _ => false,
        };
        tracing::debug!(
            status = status.as_u16(),
            host = next.host_str().unwrap_or_default(),
            same_origin = same_origin(&next, &self.inner.endpoint),
            "following redirect"
        );
        Ok((next, to_get))
    }

    /// Puts `req`'s body on `rb` (an empty one for methods that carry a body).
    fn attach_body(
        &self,
        req: &Request,
        method: &Method,
        rb: reqwest::RequestBuilder,
        progress: &Arc<Progress>,
    ) -> Result<reqwest::RequestBuilder, Once> {
        Ok(match &req.body {
            Body::Empty if matches!(*method, Method::POST | Method::PUT | Method::PATCH) => {
                rb.body(Bytes::new())
            }
            Body::Empty => rb,
            Body::Bytes { content_type, data } => body::with_body(
                rb.header(http::header::CONTENT_TYPE, content_type.as_str()),
                data.clone(),
                progress,
            ),
            Body::Json(data) => body::with_body(
                rb.header(http::header::CONTENT_TYPE, "application/json"),
                data.clone(),
                progress,
            ),
            Body::Stream(stream) => {
                let pieces = stream.take().ok_or_else(|| {
                    Once::Fatal(Error::invalid_input(
                        req.operation,
                        "a streamed body cannot be sent again (a retry or a redirect asked for it)",
                    ))
                })?;
                body::with_stream(
                    rb.header(http::header::CONTENT_TYPE, stream.content_type.as_str()),
                    stream.len,
                    pieces,
                    progress,
                )
            }
            Body::Form(fields) => {
                let text = serde_urlencoded::to_string(fields).map_err(|e| {
                    Once::Fatal(Error::invalid_input(
                        req.operation,
                        format!("cannot encode the form: {e}"),
                    ))
                })?;
                body::with_body(
                    rb.header(
                        http::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    ),
                    Bytes::from(text),
                    progress,
                )
            }
        })
    }
}

/// Runs `fut` in `span`; when no subscriber wants the span, without entering and leaving it
/// at every poll.
async fn in_span<T>(span: &tracing::Span, fut: impl std::future::Future<Output = T>) -> T {
    if span.is_disabled() {
        fut.await
    } else {
        fut.instrument(span.clone()).await
    }
}

/// Runs `fut` by the caller's deadline, if there is one.
async fn with_deadline<T>(
    operation: &'static str,
    deadline: Option<(Instant, Duration)>,
    fut: impl std::future::Future<Output = crate::Result<T>>,
) -> crate::Result<T> {
    match deadline {
        None => fut.await,
        Some((at, after)) => {
            tokio::time::timeout_at(at, fut)
                .await
                .unwrap_or(Err(Error::Timeout {
                    operation,
                    kind: TimeoutKind::Deadline,
                    after,
                }))
        }
    }
}

/// Whether `name` describes the request content (dropped when a redirect turns the request
/// into a `GET` without body, RFC 9110 §15.4).
/// Whether a request header carries a credential (RFC 9110 §11.6.2 `Authorization`, §11.7.2
/// `Proxy-Authorization`; RFC 6265 `Cookie`): never sent outside the registry's origin.
fn is_credential_header(name: &http::HeaderName) -> bool {
    name == http::header::AUTHORIZATION
        || name == http::header::PROXY_AUTHORIZATION
        || name == http::header::COOKIE
}

fn is_content_header(name: &http::HeaderName) -> bool {
    name.as_str().starts_with("content-")
}

/// Whether `status` is a redirect the transport follows (a 3xx other than `304`).
fn is_followed(status: StatusCode) -> bool {
    status.is_redirection() && status != StatusCode::NOT_MODIFIED
}

/// Whether `status` answers a request (a success, or `304` to a conditional one), so that
/// its body is read as the response's.
fn is_answer(status: StatusCode) -> bool {
    status.is_success() || status == StatusCode::NOT_MODIFIED
}

/// Whether `a` and `b` have the same origin (RFC 6454: scheme, host and port, the scheme's
/// default port when none is given), as `a.origin() == b.origin()` says for http(s) URLs,
/// without building the origins.
fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host() == b.host()
        && a.port_or_known_default() == b.port_or_known_default()
        && matches!(a.scheme(), "http" | "https")
}

/// Whether `haystack` contains `needle` (lowercase ASCII), ignoring ASCII case.
fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Whether a media type (or an `Accept` list) names a manifest or an index.
fn is_manifest_type(s: &str) -> bool {
    contains_ignoring_case(s, "manifest") || contains_ignoring_case(s, "image.index")
}

/// The [`BodyKind`] of `req`'s response with `headers` (see [`BodyKind`] for the rules).
fn body_kind(req: &Request, headers: &HeaderMap) -> BodyKind {
    if let Some(kind) = req.response_kind {
        return kind;
    }
    if matches!(req.body, Body::Form(_)) {
        return BodyKind::Token;
    }
    if values(&req.headers, http::header::ACCEPT).any(is_manifest_type) {
        return BodyKind::Manifest;
    }
    if req.method != Method::GET {
        return BodyKind::Ack;
    }
    let content_type = || values(headers, http::header::CONTENT_TYPE);
    let Some(first) = content_type().next() else {
        // no Content-Type (or none readable as text)
        return BodyKind::Document;
    };
    if content_type().any(is_manifest_type) {
        return BodyKind::Manifest;
    }
    let starts_text = first
        .get(..5)
        .is_some_and(|head| head.eq_ignore_ascii_case("text/"));
    let only_empty = first.is_empty() && content_type().nth(1).is_none();
    if only_empty || starts_text || content_type().any(|v| contains_ignoring_case(v, "json")) {
        BodyKind::Document
    } else {
        BodyKind::Blob
    }
}

/// The text values of header `name` (read as if joined with `,`, without joining them).
fn values(headers: &HeaderMap, name: http::header::HeaderName) -> impl Iterator<Item = &str> {
    headers
        .get_all(name)
        .into_iter()
        .filter_map(|v| v.to_str().ok())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::CONTENT_TYPE, content_type.parse().unwrap());
        h
    }

    #[test]
    fn url_for_a_plain_path_is_what_join_makes_of_it() {
        let paths = [
            "/v2/",
            "/v2/a/b/manifests/sha256:ab",
            "/acr/v1/a%2Fb/_tags/v1",
            "/a/../b",
            "/a/./b/.",
            "/x y/%zz",
            "/\u{e4}",
            "/a\\b",
            "/",
        ];
        for endpoint in [
            "http://127.0.0.1:5000",
            "https://api.example.com/v1",
            "https://api.example.com/v1/",
        ] {
            let transport = Transport::builder(endpoint).build().unwrap();
            let ep = transport.endpoint().clone();
            let base = ep.path().trim_end_matches('/').to_owned();
            for path in paths {
                let request = Request::new("op", Method::GET, path);
                let got = transport.url_for(&request).unwrap();
                let want = ep.join(&format!("{base}{path}")).unwrap();
                assert_eq!(got, want, "{endpoint} + {path}");
            }
        }
    }

    #[test]
    fn body_kinds_are_inferred_from_the_request_then_the_response() {
        let get = || Request::new("op", Method::GET, "/x");
        let none = HeaderMap::new();
        assert_eq!(body_kind(&get(), &none), BodyKind::Document);
        assert_eq!(
            body_kind(&get(), &headers("application/json; charset=utf-8")),
            BodyKind::Document
        );
        assert_eq!(
            body_kind(&get(), &headers("application/octet-stream")),
            BodyKind::Blob
        );
        assert_eq!(body_kind(&get(), &headers("")), BodyKind::Document);
        assert_eq!(
            body_kind(&get(), &headers("Text/Plain; charset=utf-8")),
            BodyKind::Document
        );
        let mut two = headers("");
        two.append(
            http::header::CONTENT_TYPE,
            "application/octet-stream".parse().unwrap(),
        );
        assert_eq!(body_kind(&get(), &two), BodyKind::Blob);
        assert_eq!(
            body_kind(
                &get(),
                &headers("application/vnd.docker.distribution.manifest.list.v2+json")
            ),
            BodyKind::Manifest
        );
        let accept = get()
            .header("accept", "application/vnd.oci.image.index.v1+json")
            .unwrap();
        assert_eq!(
            body_kind(&accept, &headers("application/octet-stream")),
            BodyKind::Manifest
        );
        let form = Request::new("op", Method::POST, "/oauth2/token")
            .body(Body::Form(vec![("grant_type".into(), "password".into())]));
        assert_eq!(body_kind(&form, &none), BodyKind::Token);
        for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert_eq!(
                body_kind(&Request::new("op", m, "/x"), &headers("application/json")),
                BodyKind::Ack
            );
        }
        assert_eq!(
            body_kind(
                &get().response_kind(BodyKind::Token),
                &headers("application/octet-stream")
            ),
            BodyKind::Token
        );
    }
}
