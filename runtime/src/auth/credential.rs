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
    /// A bearer token, API key or HTTP Basic sent up front on every request, for APIs other
    /// than a registry (see [`GenericCredential`](super::generic::GenericCredential)).
    Generic(super::generic::GenericCredential),
}

impl From<super::generic::GenericCredential> for Credential {
    fn from(credential: super::generic::GenericCredential) -> Self {
        Self::Generic(credential)
    }
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
            Self::Generic(g) => f.debug_tuple("Generic").field(g).finish(),
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
    /// A `credHelpers` entry for the host runs `docker-credential-<name> get`; else an `auths`
    /// entry with `auth` (base64 `user:password`), `username`/`password`, or `identitytoken`
    /// (an ACR refresh token) is used; else `credsStore` runs its helper, as docker does.
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
        Self::from_docker_config_with(path, registry, &|name| {
            PathBuf::from(format!("docker-credential-{name}"))
        })
    }

    /// As [`Credential::from_docker_config_file`], with credential helper `name` run as the
    /// program `helper(name)`.
    fn from_docker_config_with(
        path: &Path,
        registry: &str,
        helper: &dyn Fn(&str) -> PathBuf,
    ) -> crate::Result<Self> {
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
        let find = |section: &str| {
            config
                .get(section)
                .and_then(|a| a.as_object())
                .and_then(|map| map.iter().find(|(key, _)| host_of(key) == wanted))
        };
        if let Some((key, name)) = find("credHelpers")
            && let Some(name) = name.as_str().filter(|n| !n.is_empty())
        {
            return run_helper(&helper(name), name, key);
        }
        let entry = find("auths");
        if let Some((_, entry)) = entry
            && let Some(c) = Self::from_auth_entry(entry, &wanted, path)?
        {
            return Ok(c);
        }
        if let Some(store) = config
            .get("credsStore")
            .and_then(|s| s.as_str())
            .filter(|s| !s.is_empty())
        {
            let server = entry.map(|(k, _)| k.as_str()).unwrap_or(&wanted);
            return run_helper(&helper(store), store, server);
        }
        Err(Error::Config(format!(
            "no credential for {wanted} in {}; run `docker login {wanted}` or pass a credential",
            path.display()
        )))
    }

    /// The credential of one `auths` entry, `None` when it holds none.
    fn from_auth_entry(
        entry: &serde_json::Value,
        wanted: &str,
        path: &Path,
    ) -> crate::Result<Option<Self>> {
        let field = |name: &str| {
            entry
                .get(name)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
        };
        if let Some(token) = field("identitytoken") {
            return Ok(Some(Self::refresh_token(token)));
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
            return Ok(Some(Self::basic(user, pass)));
        }
        if let (Some(user), Some(pass)) = (field("username"), field("password")) {
            return Ok(Some(Self::basic(user, pass)));
        }
        Ok(None)
    }
}

/// Runs a Docker credential helper (`<program> get`, the server on stdin, JSON
/// `{"Username","Secret"}` on stdout; user `<token>` means an identity token).
fn run_helper(program: &Path, name: &str, server: &str) -> crate::Result<Credential> {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new(program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            Error::io(
                "docker_config",
                format!("cannot run the Docker credential helper docker-credential-{name}"),
                e,
            )
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(server.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| {
        Error::io(
            "docker_config",
            format!("the Docker credential helper docker-credential-{name} failed"),
            e,
        )
    })?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        let why: String = why.trim().chars().take(200).collect();
        return Err(Error::Config(format!(
            "the Docker credential helper docker-credential-{name} has no credential for {server}: {why}"
        )));
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(rename = "Username", default)]
        username: String,
        #[serde(rename = "Secret", default)]
        secret: String,
    }
    let a: Answer = serde_json::from_slice(&out.stdout).map_err(|_| {
        Error::Config(format!(
            "the Docker credential helper docker-credential-{name} answered something that is not its JSON"
        ))
    })?;
    if a.username == "<token>" {
        Ok(Credential::refresh_token(a.secret))
    } else {
        Ok(Credential::basic(a.username, a.secret))
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
        assert!(!e.to_string().contains("pa:ss"));
        assert!(e.to_string().contains("docker login missing.io"), "{e}");
        assert!(Credential::from_docker_config_file(&path, "empty.io").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn runs_credential_helpers() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("helper");
        std::fs::write(
            &script,
            "#!/bin/sh\nread server\ncase \"$server\" in\n  r.io) echo '{\"ServerURL\":\"r.io\",\"Username\":\"<token>\",\"Secret\":\"rt\"}' ;;\n  s.io) echo '{\"Username\":\"u\",\"Secret\":\"p\"}' ;;\n  *) echo 'credentials not found in native keychain' >&2; exit 1 ;;\nesac\n",
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            serde_json::json!({"credHelpers": {"r.io": "fake"}, "credsStore": "fake", "auths": {"s.io": {}}}).to_string(),
        )
        .unwrap();
        let helper = |name: &str| {
            assert_eq!(name, "fake");
            script.clone()
        };
        match Credential::from_docker_config_with(&path, "r.io", &helper).unwrap() {
            Credential::RefreshToken(t) => assert_eq!(t.expose(), "rt"),
            other => panic!("{other:?}"),
        }
        match Credential::from_docker_config_with(&path, "s.io", &helper).unwrap() {
            Credential::Basic { username, password } => {
                assert_eq!((username.as_str(), password.expose()), ("u", "p"));
            }
            other => panic!("{other:?}"),
        }
        let e = Credential::from_docker_config_with(&path, "t.io", &helper).unwrap_err();
        assert!(e.to_string().contains("native keychain"), "{e}");
    }
}
