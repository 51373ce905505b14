//! Fetching tokens from a realm (see the module docs of [`auth`](super) for the flows).

use std::time::{Duration, SystemTime};

use serde::Deserialize;
use tracing::Instrument as _;
use url::Url;

use super::cache::{Fetched, Key, Kind};
use super::{Auth, Credential, basic, jwt};
use crate::transport::body;
use crate::{Error, Secret, retry};

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// Whether a realm is the access-token endpoint of the registry's token service (ACR's
/// `…/oauth2/token`), as the spec states its path.
fn is_acr_realm(realm: &Url, service: Option<&super::acr::TokenService>) -> bool {
    service.is_some_and(|s| {
        realm
            .path()
            .trim_end_matches('/')
            .ends_with(s.access_token.trim_end_matches('/'))
    })
}

/// How long `token` may be used: until its JWT `exp`, capped by `expires_in`, else
/// `expires_in`, else `default`.
fn lifetime(token: &str, expires_in: Option<u64>, default: Duration) -> Duration {
    let from_exp = jwt::expiry(token).map(|exp| {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Duration::from_secs(exp.saturating_sub(now).max(0) as u64)
    });
    let from_in = expires_in.map(Duration::from_secs);
    match (from_exp, from_in) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (None, None) => default,
    }
}

fn retryable_token_error(e: &Error) -> bool {
    match e {
        Error::Auth {
            source: Some(inner),
            ..
        } => inner.is_retryable(),
        _ => false,
    }
}

impl Auth {
    /// Fetches an access token for `scopes` from `realm`.
    pub(super) async fn fetch_access(
        &self,
        op: &'static str,
        realm: &Url,
        service: &str,
        scopes: &[String],
    ) -> crate::Result<Fetched> {
        let span = tracing::debug_span!("acr.token", operation = op, service, scope = %scopes.join(" "), status = tracing::field::Empty);
        async {
            let answer = match &self.credential {
                Credential::Anonymous
                    if is_acr_realm(realm, self.options.token_service.as_ref()) =>
                {
                    self.post_token(op, realm, service, scopes, "password", &Secret::new(""))
                        .await?
                }
                Credential::Anonymous => self.get_token(op, realm, service, scopes, false).await?,
                Credential::Basic { .. } => {
                    self.get_token(op, realm, service, scopes, true).await?
                }
                Credential::RefreshToken(rt) => {
                    self.post_token(op, realm, service, scopes, "refresh_token", rt)
                        .await?
                }
                Credential::Generic(_) => {
                    return Err(Error::Auth {
                        operation: op,
                        message: "a generic credential is sent as it is; it fetches no token"
                            .into(),
                        source: None,
                    });
                }
                Credential::Aad { .. } => {
                    let key = std::sync::Arc::new(Key {
                        kind: Kind::Refresh,
                        service: service.to_owned(),
                        scope: String::new(),
                    });
                    let (rt, fresh) = self
                        .cache
                        .get(&key, None, || self.exchange_aad(op, realm, service))
                        .await?;
                    match self
                        .post_token(op, realm, service, scopes, "refresh_token", &rt)
                        .await
                    {
                        Err(e) if !fresh && e.status() == Some(http::StatusCode::UNAUTHORIZED) => {
                            // the cached refresh token was revoked: exchange once more
                            let (rt, _) = self
                                .cache
                                .get(&key, Some(&rt), || self.exchange_aad(op, realm, service))
                                .await?;
                            self.post_token(op, realm, service, scopes, "refresh_token", &rt)
                                .await?
                        }
                        other => other?,
                    }
                }
            };
            let token = answer
                .access_token
                .or(answer.token)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| Error::Auth {
                    operation: op,
                    message: "the token endpoint answered without a token".into(),
                    source: None,
                })?;
            let lifetime = lifetime(
                &token,
                answer.expires_in,
                self.options.default_token_lifetime,
            );
            tracing::debug!(lifetime_secs = lifetime.as_secs(), "access token fetched");
            Ok(Fetched {
                token: Secret::new(token),
                lifetime,
            })
        }
        .instrument(span)
        .await
    }

    /// `GET realm?service=&scope=…`, with Basic credentials when `with_basic`.
    async fn get_token(
        &self,
        op: &'static str,
        realm: &Url,
        service: &str,
        scopes: &[String],
        with_basic: bool,
    ) -> crate::Result<TokenAnswer> {
        let mut url = realm.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("service", service);
            for s in scopes {
                q.append_pair("scope", s);
            }
        }
        self.finish_retrying(op, || {
            let mut rb = self.http.get(url.clone());
            if with_basic && let Some((u, p)) = self.credential.basic_pair() {
                rb = rb.header(http::header::AUTHORIZATION, basic(u, p)?);
            }
            Ok(rb)
        })
        .await
    }

    /// `POST realm` with the ACR form.
    async fn post_token(
        &self,
        op: &'static str,
        realm: &Url,
        service: &str,
        scopes: &[String],
        grant_type: &str,
        refresh_token: &Secret,
    ) -> crate::Result<TokenAnswer> {
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", grant_type),
            ("service", service),
            ("refresh_token", refresh_token.expose()),
        ];
        for s in scopes {
            form.push(("scope", s));
        }
        let body = serde_urlencoded::to_string(&form)
            .map_err(|e| Error::invalid_input(op, format!("cannot encode the token form: {e}")))?;
        self.finish_retrying(op, || {
            Ok(self
                .http
                .post(realm.clone())
                .header(
                    http::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body.clone()))
        })
        .await
    }

    /// Exchanges an AAD token for an ACR refresh token at `<realm origin><exchange path>` (ACR:
    /// `/oauth2/exchange`; the path from [`TokenService`](super::acr::TokenService)).
    async fn exchange_aad(
        &self,
        op: &'static str,
        realm: &Url,
        service: &str,
    ) -> crate::Result<Fetched> {
        let Credential::Aad {
            source,
            audience,
            tenant,
        } = &self.credential
        else {
            return Err(Error::Config("not an AAD credential".into()));
        };
        let scope = format!("{audience}/.default");
        let aad = source.aad_token(&scope).await.map_err(|e| Error::Auth {
            operation: op,
            message: format!("cannot get an Azure AD token for {scope}; check the Azure identity"),
            source: Some(Box::new(e)),
        })?;
        let path = self
            .options
            .token_service
            .and_then(|s| s.refresh_token)
            .ok_or_else(|| {
                Error::Config(
                    "an Azure AD credential needs the API's token exchange, and this client's \
                     API names none"
                        .into(),
                )
            })?;
        let url = realm
            .join(path)
            .map_err(|e| Error::Config(format!("bad realm: {e}")))?;
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "access_token"),
            ("service", service),
            ("access_token", aad.token.expose()),
        ];
        if let Some(t) = tenant {
            form.push(("tenant", t));
        }
        let body = serde_urlencoded::to_string(&form).map_err(|e| {
            Error::invalid_input(op, format!("cannot encode the exchange form: {e}"))
        })?;
        let answer = self
            .finish_retrying(op, || {
                Ok(self
                    .http
                    .post(url.clone())
                    .header(
                        http::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(body.clone()))
            })
            .await?;
        let token = answer
            .refresh_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::Auth {
                operation: op,
                message: "the token exchange answered without a refresh_token".into(),
                source: None,
            })?;
        // ACR refresh tokens live about 3 hours; read `exp` when it is a JWT
        let lifetime = lifetime(&token, answer.expires_in, Duration::from_secs(3 * 3600));
        Ok(Fetched {
            token: Secret::new(token),
            lifetime,
        })
    }

    /// Sends a token request, again on connection errors and retryable statuses (a token
    /// request changes nothing, so even its POST may be resent) after the endpoint's
    /// `Retry-After` or a backoff, within the retry policy.
    async fn finish_retrying(
        &self,
        op: &'static str,
        make: impl Fn() -> crate::Result<reqwest::RequestBuilder>,
    ) -> crate::Result<TokenAnswer> {
        let policy = &self.options.retry;
        let started = tokio::time::Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (e, retry_after) = match self.finish(op, make()?, attempt).await {
                Ok(answer) => return Ok(answer),
                Err(failed) => failed,
            };
            let delay = retry_after.unwrap_or_else(|| policy.backoff(attempt));
            if attempt < policy.max_attempts
                && retryable_token_error(&e)
                && started.elapsed().saturating_add(delay) <= policy.max_elapsed
            {
                tracing::warn!(attempt, error = %e, delay_ms = delay.as_millis() as u64, "token request failed; retrying");
                tokio::time::sleep(delay).await;
            } else {
                return Err(e);
            }
        }
    }

    /// Sends a token request and reads its answer (at most the token limit, 1 MiB by
    /// default); an error comes with the endpoint's `Retry-After`, if any.
    async fn finish(
        &self,
        op: &'static str,
        rb: reqwest::RequestBuilder,
        attempt: u32,
    ) -> Result<TokenAnswer, (Error, Option<Duration>)> {
        let timeouts = &self.options.timeouts;
        // a failed exchange with the token endpoint, as the error of `op`
        let failed = |message: &str, f: body::Failure| Error::Auth {
            operation: op,
            message: message.into(),
            source: Some(Box::new(f.into_error("get_token", None, attempt))),
        };
        let mut watch = body::Watch::start(*timeouts);
        let resp = body::send(rb, &mut watch)
            .await
            .map_err(|f| (failed("the token endpoint cannot be reached", f), None))?;
        let status = resp.status();
        tracing::Span::current().record("status", status.as_u16());
        if !status.is_success() {
            let retry_after = retry::retry_after(resp.headers());
            let body = body::read_error_body(resp, self.options.token_limit, timeouts.read).await;
            let inner = Error::from_status("get_token", None, status, &body, attempt);
            let message = if status == http::StatusCode::UNAUTHORIZED {
                if self.credential.is_anonymous() {
                    "the registry does not allow anonymous access here; pass a credential"
                        .to_owned()
                } else {
                    "the token endpoint refused the credential; check it".to_owned()
                }
            } else if status == http::StatusCode::NOT_FOUND && self.options.acr {
                format!(
                    "the token endpoint answered {status}: the client took the registry for an Azure Container Registry; for another registry build it with `acr(false)`"
                )
            } else {
                format!("the token endpoint answered {status}")
            };
            let e = Error::Auth {
                operation: op,
                message,
                source: Some(Box::new(inner)),
            };
            return Err((e, retry_after));
        }
        let body = body::read_limited(resp, self.options.token_limit, &mut watch)
            .await
            .map_err(|f| match f {
                body::Failure::TooLarge(_) => (f.into_error("get_token", None, attempt), None),
                f => (
                    failed("reading the token endpoint's answer failed", f),
                    None,
                ),
            })?;
        serde_json::from_slice(&body).map_err(|e| {
            let e = Error::Auth {
                operation: op,
                message: format!("the token endpoint's answer is not token JSON: {e}"),
                source: None,
            };
            (e, None)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes() {
        let d = Duration::from_secs(60);
        assert_eq!(lifetime("opaque", None, d), d);
        assert_eq!(lifetime("opaque", Some(300), d), Duration::from_secs(300));
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let l = lifetime(&jwt::make(now + 3600), None, d);
        assert!(l <= Duration::from_secs(3600) && l >= Duration::from_secs(3590));
        assert_eq!(
            lifetime(&jwt::make(now + 3600), Some(100), d),
            Duration::from_secs(100)
        );
        assert_eq!(lifetime(&jwt::make(now - 10), None, d), Duration::ZERO);
        let acr = super::super::acr::TokenService {
            access_token: "/oauth2/token",
            refresh_token: Some("/oauth2/exchange"),
        };
        assert!(is_acr_realm(
            &Url::parse("https://r.azurecr.io/oauth2/token").unwrap(),
            Some(&acr)
        ));
        assert!(!is_acr_realm(
            &Url::parse("https://auth.docker.io/token").unwrap(),
            Some(&acr)
        ));
        // a client whose API names no token service knows no ACR realm
        assert!(!is_acr_realm(
            &Url::parse("https://r.azurecr.io/oauth2/token").unwrap(),
            None
        ));
    }
}
