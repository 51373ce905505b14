//! Authentication and scope enforcement on the data plane: ACR's Bearer challenge, Basic for the
//! admin user, and the check of an access token's `access` claim against each operation's scope.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::context::Shared;
use super::errors::{AcrError, json_response};
use super::route::Route;
use super::scope::{Grants, Scope};
use super::tokens::TokenError;

/// The user name ACR accepts with a refresh token as password (`docker login` with a token).
pub const TOKEN_USER: &str = "00000000-0000-0000-0000-000000000000";

/// The message of ACR's 401 bodies.
const AUTH_MESSAGE: &str =
    "authentication required, visit https://aka.ms/acr/authorization for more information.";

/// What an operation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Requirement {
    /// Nothing (`/oauth2/*`).
    Nothing,
    /// Any valid credential (`GET /v2/`).
    Authenticated,
    /// This scope.
    Scope(Scope),
}

/// What the caller may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Access {
    /// Nothing checked (the `/oauth2` endpoints).
    Unchecked,
    /// What these grants allow (Basic admin user, Basic refresh token).
    Grants(Grants),
    /// Exactly what these scopes (from a Bearer token) allow.
    Scopes(Vec<Scope>),
}

impl Access {
    /// Whether the caller may do `action` on `resource_type:name`.
    pub(crate) fn allows(&self, resource_type: &str, name: &str, action: &str) -> bool {
        match self {
            Access::Unchecked => false,
            Access::Grants(grants) => {
                let asked = Scope {
                    resource_type: resource_type.into(),
                    name: name.into(),
                    actions: vec![action.into()],
                };
                !grants.grant(&asked).actions.is_empty()
            }
            Access::Scopes(scopes) => scopes.iter().any(|s| s.covers(resource_type, name, action)),
        }
    }
}

/// The scope an operation needs, as ACR names it in its challenges (Azure/acr
/// `docs/Token-BasicAuth.md`; grammar `type:name:actions` from the Docker registry token scope
/// spec, <https://distribution.github.io/distribution/spec/auth/scope/>); `None` when the
/// method is not served.
pub(crate) fn requirement(route: &Route, method: &Method) -> Option<Requirement> {
    let repo =
        |name: &str, actions: &[&str]| Some(Requirement::Scope(Scope::repository(name, actions)));
    let m = method.as_str();
    match route {
        Route::V2Root => matches!(m, "GET" | "HEAD").then_some(Requirement::Authenticated),
        Route::V2Catalog | Route::AcrCatalog => {
            (m == "GET").then(|| Requirement::Scope(Scope::catalog()))
        }
        Route::V2TagsList { name } | Route::Referrers { name, .. } => {
            (m == "GET").then(|| repo(name, &["pull"])).flatten()
        }
        Route::Manifest { name, .. } => match m {
            "GET" | "HEAD" => repo(name, &["pull"]),
            "PUT" => repo(name, &["pull", "push"]),
            "DELETE" => repo(name, &["delete"]),
            _ => None,
        },
        Route::Blob { name, .. } => match m {
            "GET" | "HEAD" => repo(name, &["pull"]),
            "DELETE" => repo(name, &["delete"]),
            _ => None,
        },
        Route::StartUpload { name } => (m == "POST")
            .then(|| repo(name, &["pull", "push"]))
            .flatten(),
        Route::Upload { name, .. } => match m {
            "GET" | "PATCH" | "PUT" | "DELETE" => repo(name, &["pull", "push"]),
            _ => None,
        },
        Route::AcrRepository { name } => match m {
            "GET" => repo(name, &["metadata_read"]),
            "PATCH" => repo(name, &["metadata_write"]),
            "DELETE" => repo(name, &["delete"]),
            _ => None,
        },
        Route::AcrTags { name } | Route::AcrManifests { name } => (m == "GET")
            .then(|| repo(name, &["metadata_read"]))
            .flatten(),
        Route::AcrTag { name, .. } => match m {
            "GET" => repo(name, &["metadata_read"]),
            "PATCH" => repo(name, &["metadata_write"]),
            "DELETE" => repo(name, &["delete"]),
            _ => None,
        },
        Route::AcrManifest { name, .. } => match m {
            "GET" => repo(name, &["metadata_read"]),
            "PATCH" => repo(name, &["metadata_write"]),
            _ => None,
        },
        Route::OAuthExchange => (m == "POST").then_some(Requirement::Nothing),
        Route::OAuthToken => matches!(m, "GET" | "POST").then_some(Requirement::Nothing),
    }
}

/// The credentials in an `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Credentials {
    /// No header.
    None,
    /// `Basic user:password`.
    Basic(String, String),
    /// `Bearer token`.
    Bearer(String),
    /// Anything else (unparsable).
    Other,
}

/// Reads the `Authorization` header.
pub(crate) fn credentials(headers: &HeaderMap) -> Credentials {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Credentials::None;
    };
    let Ok(text) = value.to_str() else {
        return Credentials::Other;
    };
    let (scheme, rest) = text.split_once(' ').unwrap_or((text, ""));
    if scheme.eq_ignore_ascii_case("bearer") {
        return Credentials::Bearer(rest.trim().to_owned());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD
            .decode(rest.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        if let Some((user, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) {
            return Credentials::Basic(user.to_owned(), password.to_owned());
        }
    }
    Credentials::Other
}

/// What Basic credentials are worth: the admin user gets everything; the token user with a
/// valid refresh token gets that token's grants.
pub(crate) fn basic_grants(shared: &Shared, user: &str, password: &str) -> Option<Grants> {
    if shared.is_admin(user, password) {
        return Some(Grants::All);
    }
    if user == TOKEN_USER {
        return shared
            .tokens
            .verify_refresh(password)
            .ok()
            .map(|c| c.grants);
    }
    None
}

/// Checks the caller against `requirement`; on failure, the 401 to send.
pub(crate) fn authorize(
    shared: &Shared,
    headers: &HeaderMap,
    requirement: &Requirement,
) -> Result<Access, Box<Response>> {
    let scope = match requirement {
        Requirement::Nothing => return Ok(Access::Unchecked),
        Requirement::Authenticated => None,
        Requirement::Scope(scope) => Some(scope),
    };
    let access = match credentials(headers) {
        Credentials::None => return Err(Box::new(challenge(shared, scope, None))),
        Credentials::Basic(user, password) => match basic_grants(shared, &user, &password) {
            Some(grants) => Access::Grants(grants),
            None => return Err(Box::new(challenge(shared, scope, None))),
        },
        Credentials::Bearer(token) => match shared.tokens.verify_access(&token) {
            Ok(scopes) => Access::Scopes(scopes),
            Err(TokenError::Invalid | TokenError::Expired) => {
                return Err(Box::new(challenge(shared, scope, Some("invalid_token"))));
            }
        },
        Credentials::Other => {
            return Err(Box::new(challenge(shared, scope, Some("invalid_token"))));
        }
    };
    if let Some(scope) = scope
        && !scope
            .actions
            .iter()
            .all(|a| access.allows(&scope.resource_type, &scope.name, a))
    {
        return Err(Box::new(challenge(
            shared,
            Some(scope),
            Some("insufficient_scope"),
        )));
    }
    Ok(access)
}

/// ACR's 401: `WWW-Authenticate: Bearer realm="<origin>/oauth2/token",service="<host>"`, then
/// `,scope="<scope>"` when the operation has one and `,error="<error>"` when a credential was
/// refused; body `UNAUTHORIZED` with one `{Type, Name, Action}` per action.
pub(crate) fn challenge(shared: &Shared, scope: Option<&Scope>, error: Option<&str>) -> Response {
    let mut value = format!(
        "Bearer realm=\"{}/oauth2/token\",service=\"{}\"",
        shared.origin(),
        shared.host
    );
    if let Some(scope) = scope {
        value.push_str(&format!(",scope=\"{scope}\""));
    }
    if let Some(error) = error {
        value.push_str(&format!(",error=\"{error}\""));
    }
    let mut error_body = AcrError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", AUTH_MESSAGE);
    if let Some(scope) = scope {
        let detail: Vec<Value> = scope
            .actions
            .iter()
            .map(|a| json!({"Type": scope.resource_type, "Name": scope.name, "Action": a}))
            .collect();
        error_body = error_body.with_detail(Value::Array(detail));
    }
    let mut response = json_response(StatusCode::UNAUTHORIZED, &error_body.body());
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}
