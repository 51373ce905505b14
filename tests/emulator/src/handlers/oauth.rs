//! The token endpoints (Azure/acr `docs/AAD-OAuth.md` and `docs/Token-BasicAuth.md`,
//! <https://github.com/Azure/acr/tree/main/docs>; the `/oauth2` operations of
//! <https://learn.microsoft.com/rest/api/containerregistry/>):
//!
//! * `POST /oauth2/exchange` — form `grant_type=access_token` (or `access_token_refresh_token`),
//!   `service`, `access_token` = one of the configured fake AAD tokens → `{"refresh_token"}`.
//!   An unknown AAD token gets 401 `UNAUTHORIZED` "retrieving permissions failed" (recorded).
//! * `POST /oauth2/token` — form `grant_type=refresh_token` with `refresh_token`, or
//!   `grant_type=password` with an empty `refresh_token` (anonymous pull, when enabled) or with
//!   `username`/`password` (the admin user); `service`; `scope` (repeatable, each may hold several
//!   space-separated scopes) → `{"access_token"}` whose `access` claim holds the requested scopes
//!   cut down to what the principal may have (an empty grant is not an error, as with ACR: the
//!   data-plane request then fails with `insufficient_scope`).
//! * `GET /oauth2/token?service=&scope=` — Basic admin user (or the token user
//!   `00000000-0000-0000-0000-000000000000` with a refresh token as password); without
//!   credentials, anonymous when anonymous pull is enabled → `{"access_token"}`.
//!
//! A `service` other than the emulator's `host:port` is refused with 401. Bodies are JSON with
//! `Transfer-Encoding: chunked`, like ACR's.

use axum::body::Body;
use axum::http::{HeaderValue, Method, header};
use axum::response::Response;
use futures_util::stream;
use serde_json::{Value, json};

use super::Call;
use crate::auth::{Credentials, basic_grants, credentials};
use crate::errors::AcrError;
use crate::scope::{Grants, Scope};

/// A JSON body sent chunked (no Content-Length), as ACR sends its token responses.
fn chunked_json(value: &Value) -> Response {
    let text = format!("{value}\n");
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = vec![Ok(bytes::Bytes::from(text))];
    let mut response = Response::new(Body::from_stream(stream::iter(chunks)));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

fn form(bytes: &[u8]) -> Result<Vec<(String, String)>, AcrError> {
    serde_urlencoded::from_bytes(bytes)
        .map_err(|_| AcrError::bad_request("UNSUPPORTED", "malformed form body"))
}

fn field<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn scopes(pairs: &[(String, String)]) -> Vec<Scope> {
    pairs
        .iter()
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| Scope::parse_list(v))
        .collect()
}

fn check_service(call: &Call, service: Option<&str>) -> Result<(), AcrError> {
    match service {
        Some(s) if s == call.shared.host => Ok(()),
        Some(_) => Err(AcrError::unauthorized(
            "the service does not match this registry",
        )),
        None => Err(AcrError::bad_request("UNSUPPORTED", "service is required")),
    }
}

/// Mints an access token for `requested` cut down to `grants`.
fn access_token(call: &Call, subject: &str, grants: &Grants, requested: &[Scope]) -> Response {
    let granted: Vec<Scope> = requested
        .iter()
        .map(|s| grants.grant(s))
        .filter(|s| !s.actions.is_empty())
        .collect();
    let token = call
        .shared
        .tokens
        .mint_access(&call.shared.ids, subject, &granted);
    chunked_json(&json!({ "access_token": token }))
}

/// `POST /oauth2/exchange`.
pub(crate) async fn exchange(mut call: Call) -> Result<Response, AcrError> {
    let body = call.read_body().await?;
    let form = form(&body)?;
    match field(&form, "grant_type") {
        Some("access_token" | "access_token_refresh_token") => {}
        _ => {
            return Err(AcrError::bad_request(
                "UNSUPPORTED",
                "unsupported grant_type",
            ));
        }
    }
    check_service(&call, field(&form, "service"))?;
    let aad = field(&form, "access_token").unwrap_or_default();
    let grants = call
        .shared
        .settings
        .aad_tokens
        .iter()
        .find(|(token, _)| !aad.is_empty() && token == aad)
        .map(|(_, grants)| grants.clone())
        .ok_or_else(|| AcrError::unauthorized("retrieving permissions failed"))?;
    let token = call
        .shared
        .tokens
        .mint_refresh(&call.shared.ids, "aad-identity", &grants);
    Ok(chunked_json(&json!({ "refresh_token": token })))
}

/// `POST` and `GET /oauth2/token`.
pub(crate) async fn token(mut call: Call) -> Result<Response, AcrError> {
    if call.method == Method::GET {
        return token_from_login(&call);
    }
    let body = call.read_body().await?;
    let form = form(&body)?;
    check_service(&call, field(&form, "service"))?;
    let refresh = field(&form, "refresh_token").unwrap_or_default();
    let (subject, grants) = match field(&form, "grant_type") {
        // A refresh token, also under `password` (ACR accepts it there when one is given).
        Some(grant @ ("refresh_token" | "password"))
            if grant == "refresh_token" || !refresh.is_empty() =>
        {
            let claims = call
                .shared
                .tokens
                .verify_refresh(refresh)
                .map_err(|_| AcrError::unauthorized("invalid refresh token"))?;
            (claims.subject, claims.grants)
        }
        Some("password") => match (field(&form, "username"), field(&form, "password")) {
            (Some(user), Some(password)) => {
                let grants = basic_grants(&call.shared, user, password)
                    .ok_or_else(|| AcrError::unauthorized("invalid username or password"))?;
                (user.to_owned(), grants)
            }
            _ if call.shared.anonymous_pull() => ("anonymous".to_owned(), Grants::anonymous()),
            _ => {
                return Err(AcrError::unauthorized(
                    "anonymous pull is not enabled on this registry",
                ));
            }
        },
        _ => {
            return Err(AcrError::bad_request(
                "UNSUPPORTED",
                "unsupported grant_type",
            ));
        }
    };
    Ok(access_token(&call, &subject, &grants, &scopes(&form)))
}

fn token_from_login(call: &Call) -> Result<Response, AcrError> {
    check_service(call, call.query("service"))?;
    let (subject, grants) = match credentials(&call.headers) {
        Credentials::Basic(user, password) => {
            let grants = basic_grants(&call.shared, &user, &password)
                .ok_or_else(|| AcrError::unauthorized("invalid username or password"))?;
            (user, grants)
        }
        Credentials::None if call.shared.anonymous_pull() => {
            ("anonymous".to_owned(), Grants::anonymous())
        }
        _ => return Err(AcrError::unauthorized("basic credentials required")),
    };
    Ok(access_token(call, &subject, &grants, &scopes(&call.query)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn scopes_from_repeated_and_space_separated_fields() {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(
            "scope=repository%3Aa%3Apull&scope=repository%3Ab%3Apush%20registry%3Acatalog%3A%2A",
        )
        .unwrap();
        let s = scopes(&pairs);
        assert_eq!(s.len(), 3);
        assert_eq!(s[2], Scope::catalog());
    }

    #[test]
    fn chunked_json_has_no_length() {
        let r = chunked_json(&json!({"a": 1}));
        assert_eq!(r.status(), StatusCode::OK);
        assert!(!r.headers().contains_key(header::CONTENT_LENGTH));
    }
}
