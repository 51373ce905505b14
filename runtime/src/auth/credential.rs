//! What the client proves itself with: nothing, a username and password, an ACR refresh
//! token, or an Azure AD identity; and reading them from the Docker config file.

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use base64::Engine as _;

use crate::{Error, Secret};

/// The username ACR expects beside a refresh token used as a password (`docker login`).
pub const ACR_REFRESH_TOKEN_USER: &str = "00000000-0000-0000-0000-000000000000";

/// The default AAD audience whose token is exchanged for an ACR refresh token (Azure public
/// cloud). Sovereign clouds have their own (`https://management.chinacloudapi.cn`, …).
pub const DEFAULT_AAD_AUDIENCE: &str = "https://management.azure.com";

/// An Azure AD access token.
#[derive(Debug, Clone)]
pub struct AadToken {
    /// The token.
    pub token: Secret,
    /// When it expires, if known.
    pub expires_at: Option<SystemTime>,
}

/// The future an [`AadTokenSource`] returns.
pub type AadTokenFuture<'a> = Pin<Box<dyn Future<Output = crate::Result<AadToken>> + Send + 'a>>;

/// A source of Azure AD access tokens (implemented for `azure_core`'s `TokenCredential`
/// behind the `azure-identity` feature; implement it yourself for any other source).
pub trait AadTokenSource: Send + Sync {
    /// An AAD access token for `scope` (the audience followed by `/.default`).
    fn aad_token<'a>(&'a self, scope: &'a str) -> AadTokenFuture<'a>;
}

/// How the client authenticates.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Credential {
    /// No credential: anonymous pull (ACR: `POST /oauth2/token` with `grant_type=password`
    /// and an empty refresh token; other registries: an anonymous token `GET`).
    #[default]
    Anonymous,
    /// A username and password (ACR admin user, repository-scoped token, service principal,
    /// or an htpasswd user of a plain registry).
    Basic {
        /// The username.
        username: String,
        /// The password.
        password: Secret,
    },
    /// An ACR refresh token (from `az acr login --expose-token` or `/oauth2/exchange`).
    RefreshToken(Secret),
    /// An Azure AD identity: its token is exchanged at `/oauth2/exchange` for an ACR
    /// refresh token.
    Aad {
        /// Where AAD tokens come from.
        source: Arc<dyn AadTokenSource>,
        /// The audience asked for (`https://management.azure.com` by default).
        audience: String,
        /// The AAD tenant, sent to `/oauth2/exchange` when set.
        tenant: Option<String>,
    },
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Anonymous => f.write_str("Anonymous"),
            Self::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Self::RefreshToken(_) => f.write_str("RefreshToken(<redacted>)"),
            Self::Aad {
                audience, tenant, ..
            } => f
                .debug_struct("Aad")
                .field("audience", audience)
                .field("tenant", tenant)
                .finish_non_exhaustive(),
        }
    }
}

impl Credential {
    /// A username and password.
    pub fn basic(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    /// An ACR refresh token.
    pub fn refresh_token(token: impl Into<Secret>) -> Self {
        Self::RefreshToken(token.into())
    }

    /// An Azure AD identity with the default audience.
    pub fn aad(source: Arc<dyn AadTokenSource>) -> Self {
        Self::Aad {
            source,
            audience: DEFAULT_AAD_AUDIENCE.to_owned(),
            tenant: None,
        }
    }

    /// An Azure AD identity with an explicit audience (sovereign clouds) and tenant.
    pub fn aad_with(
        source: Arc<dyn AadTokenSource>,
        audience: impl Into<String>,
        tenant: Option<String>,
    ) -> Self {
        Self::Aad {
            source,
            audience: audience.into().trim_end_matches('/').to_owned(),
            tenant,
        }
    }

    /// Whether this credential carries a secret.
    pub fn is_anonymous(&self) -> bool {
        matches!(self, Self::Anonymous)
    }

    /// The username and password to answer a `Basic` challenge with, if any (an ACR refresh
    /// token goes as the password of the all-zero user).
    pub(crate) fn basic_pair(&self) -> Option<(&str, &Secret)> {
        match self {
            Self::Basic { username, password } => Some((username, password)),
            Self::RefreshToken(t) => Some((ACR_REFRESH_TOKEN_USER, t)),
            _ => None,
        }
    }

    /// Reads the credential for `registry` (a host, `host:port`, or a URL) from the Docker
    /// config file: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
    ///
    /// Entries of `auths` with `auth` (base64 `user:password`), `username`/`password`, or
    /// `identitytoken` (an ACR refresh token) are understood; credential helpers
    /// (`credsStore`, `credHelpers`) are not run.
    pub fn from_docker_config(registry: &str) -> crate::Result<Self> {
        let path = docker_config_path().ok_or_else(|| {
            Error::Config(
                "cannot find the Docker config file: neither DOCKER_CONFIG nor HOME is set".into(),
            )
        })?;
        Self::from_docker_config_file(&path, registry)
    }

    /// Reads the credential for `registry` from the Docker config file at `path`.
    pub fn from_docker_config_file(path: &Path, registry: &str) -> crate::Result<Self> {
        let text = std::fs::read(path).map_err(|e| {
            Error::io(
                "docker_config",
                format!("cannot read the Docker config {}", path.display()),
                e,
            )
        })?;
        let config: serde_json::Value = serde_json::from_slice(&text).map_err(|e| {
            Error::Config(format!(
                "the Docker config {} is not JSON: {e}",
                path.display()
            ))
        })?;
        let wanted = host_of(registry);
        let entry = config
            .get("auths")
            .and_then(|a| a.as_object())
            .and_then(|auths| {
                auths
                    .iter()
                    .find(|(key, _)| host_of(key) == wanted)
                    .map(|(_, v)| v)
            })
            .ok_or_else(|| {
                Error::Config(format!(
                    "no credential for {wanted} in {}; run `docker login {wanted}` or pass a credential",
                    path.display()
                ))
            })?;
        let field = |name: &str| {
            entry
                .get(name)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
        };
        if let Some(token) = field("identitytoken") {
            return Ok(Self::refresh_token(token));
        }
        if let Some(auth) = field("auth") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    Error::Config(format!(
                        "the `auth` of {wanted} in {} is not base64 of user:password",
                        path.display()
                    ))
                })?;
            let (user, pass) = decoded.split_once(':').ok_or_else(|| {
                Error::Config(format!(
                    "the `auth` of {wanted} in {} has no ':'",
                    path.display()
                ))
            })?;
            return Ok(Self::basic(user, pass));
        }
        if let (Some(user), Some(pass)) = (field("username"), field("password")) {
            return Ok(Self::basic(user, pass));
        }
        Err(Error::Config(format!(
            "the entry for {wanted} in {} has no auth, username/password or identitytoken (credential helpers are not supported)",
            path.display()
        )))
    }
}

fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker").join("config.json"))
}

/// `https://r.io/v1/` → `r.io`; `r.io:5000` stays.
fn host_of(s: &str) -> String {
    let s = s.split_once("://").map(|(_, rest)| rest).unwrap_or(s);
    s.split('/').next().unwrap_or(s).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts() {
        let c = Credential::basic("admin", "hunter2");
        let text = format!("{c:?}");
        assert!(
            text.contains("admin") && !text.contains("hunter2"),
            "{text}"
        );
        let c = Credential::refresh_token("eyJsecret");
        assert!(!format!("{c:?}").contains("eyJsecret"));
    }

    #[test]
    fn reads_docker_config() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let auth = base64::engine::general_purpose::STANDARD.encode("user:pa:ss");
        std::fs::write(
            &path,
            serde_json::json!({"auths": {
                "https://r.azurecr.io": {"auth": auth},
                "other.io:5000": {"username": "u", "password": "p"},
                "acr.io": {"auth": "", "identitytoken": "rt"},
                "empty.io": {}
            }})
            .to_string(),
        )
        .unwrap();
        match Credential::from_docker_config_file(&path, "r.azurecr.io").unwrap() {
            Credential::Basic { username, password } => {
                assert_eq!(username, "user");
                assert_eq!(password.expose(), "pa:ss");
            }
            other => panic!("{other:?}"),
        }
        match Credential::from_docker_config_file(&path, "https://other.io:5000/").unwrap() {
            Credential::Basic { username, .. } => assert_eq!(username, "u"),
            other => panic!("{other:?}"),
        }
        match Credential::from_docker_config_file(&path, "acr.io").unwrap() {
            Credential::RefreshToken(t) => assert_eq!(t.expose(), "rt"),
            other => panic!("{other:?}"),
        }
        let e = Credential::from_docker_config_file(&path, "missing.io").unwrap_err();
        assert!(e.to_string().contains("docker login missing.io"), "{e}");
        assert!(Credential::from_docker_config_file(&path, "empty.io").is_err());
    }
}
