//! `acr registry ...` and the client every command uses.

use std::io::BufRead;

use acr::{Client, Credential};
use clap::Subcommand;

use crate::args::{Global, OutputFormat};
use crate::failure::Failure;
use crate::output::emit;

/// Commands about the registry itself.
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Checks that the registry answers the OCI distribution API (`GET /v2/`) with these
    /// credentials.
    ///
    /// Example: `acr --registry localhost:5050 registry check`
    Check,
}

/// What every command works with: the client, the registry's URL and the output format.
pub struct Context {
    /// The client.
    pub client: Client,
    /// The registry's base URL.
    pub registry: String,
    /// The output format.
    pub format: OutputFormat,
    /// Whether progress bars are drawn (stderr is a terminal, table output, no `-q`).
    pub progress: bool,
    /// The credential the options gave (`None`: none given, the Docker config's was used).
    pub given: Option<Credential>,
    /// Whether plain http to hosts that are not loopback is allowed (`--insecure`).
    pub insecure: bool,
}

impl Context {
    /// Builds the client from the global options.
    ///
    /// Errors: a usage failure for a missing or bad `--registry` or an incomplete credential.
    pub fn new(global: &Global) -> Result<Self, Failure> {
        let raw = global.registry.as_deref().ok_or_else(|| {
            Failure::usage("no registry: pass --registry HOST or set ACR_REGISTRY")
        })?;
        let registry = registry_url(raw, global.insecure)?;
        let given = credential(global)?;
        let credential = match &given {
            Some(c) => c.clone(),
            None => from_docker_config(&registry)?,
        };
        let client = client_for(&registry, credential, global.insecure)?;
        Ok(Self {
            client,
            registry,
            format: global.output,
            progress: crate::progress::enabled(global.output, global.quiet),
            given,
            insecure: global.insecure,
        })
    }
}

/// A client of the registry at `url` (a base URL from [`registry_url`]) with `credential`.
///
/// Errors: a failure to configure the client (exit 1).
pub fn client_for(url: &str, credential: Credential, insecure: bool) -> Result<Client, Failure> {
    Client::builder(url.to_owned())
        .credential(credential)
        .allow_insecure_http(insecure)
        .user_agent(concat!("acr-cli/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Failure::from_error("cannot configure the client", &e))
}

/// The base URL of `raw`: a bare host means https; plain http only for loopback hosts unless
/// `insecure`.
pub fn registry_url(raw: &str, insecure: bool) -> Result<String, Failure> {
    let with_scheme = if raw.contains("://") {
        raw.to_owned()
    } else {
        format!("https://{raw}")
    };
    let url = url::Url::parse(&with_scheme)
        .map_err(|e| Failure::usage(format!("bad --registry {raw:?}: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
            if !loopback && !insecure {
                return Err(Failure::usage(format!(
                    "--registry {raw}: plain http is allowed only for loopback hosts; use https, or pass --insecure"
                )));
            }
        }
        other => {
            return Err(Failure::usage(format!(
                "--registry {raw}: unsupported scheme {other:?} (use https:// or http://)"
            )));
        }
    }
    if url.host().is_none() {
        return Err(Failure::usage(format!("--registry {raw}: no host")));
    }
    Ok(with_scheme.trim_end_matches('/').to_owned())
}

/// The credential the options give; `None` when they give none (and not `--anonymous`).
fn credential(global: &Global) -> Result<Option<Credential>, Failure> {
    if global.anonymous {
        return Ok(Some(Credential::Anonymous));
    }
    if let Some(token) = &global.refresh_token {
        return Ok(Some(Credential::refresh_token(token.clone())));
    }
    let password = if global.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Failure::failed(format!("cannot read the password from stdin: {e}")))?;
        Some(line.trim_end_matches(['\r', '\n']).to_owned())
    } else {
        global.password.clone()
    };
    match (&global.username, password) {
        (Some(user), Some(password)) => Ok(Some(Credential::basic(user.clone(), password))),
        (Some(_), None) => Err(Failure::usage(
            "--username needs a password: --password, --password-stdin or ACR_PASSWORD",
        )),
        (None, Some(_)) => Err(Failure::usage(
            "a password needs --username (or ACR_USERNAME)",
        )),
        (None, None) => Ok(None),
    }
}

/// The credential `acr login` (or `docker login`) stored for `registry` in the Docker config
/// file, read by the library (helpers included); anonymous when there is none. A config that
/// cannot be used is reported on stderr, and the command goes on anonymously.
pub fn from_docker_config(registry: &str) -> Result<Credential, Failure> {
    let Some(path) = crate::docker_config::path().filter(|p| p.is_file()) else {
        return Ok(Credential::Anonymous);
    };
    let key = crate::docker_config::server_key(registry);
    match Credential::from_docker_config_file(&path, &key) {
        Ok(c) => {
            tracing::info!("credentials of {key} from {}", path.display());
            Ok(c)
        }
        Err(acr::Error::Config(m)) if m.starts_with("no credential for") => {
            tracing::debug!("{m}");
            Ok(Credential::Anonymous)
        }
        Err(e) => {
            tracing::warn!("not using the Docker config: {e}");
            Ok(Credential::Anonymous)
        }
    }
}
/// Runs a registry command.
pub async fn run(ctx: &Context, command: RegistryCommand) -> Result<(), Failure> {
    match command {
        RegistryCommand::Check => {
            ctx.client.check_docker_v2_support().await.map_err(|e| {
                Failure::from_error(format!("registry check of {}", ctx.registry), &e)
            })?;
            emit(
                ctx.format,
                serde_json::json!({ "registry": ctx.registry, "ok": true }),
                || format!("{}: ok", ctx.registry),
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_host_is_https_and_http_is_loopback_only() {
        assert_eq!(
            registry_url("example.azurecr.io", false)
                .map_err(|f| f.message)
                .as_deref(),
            Ok("https://example.azurecr.io")
        );
        assert!(registry_url("http://127.0.0.1:5000", false).is_ok());
        assert!(registry_url("http://localhost:5000/", false).is_ok());
        let refused = registry_url("http://example.com", false)
            .err()
            .map(|f| f.exit);
        assert_eq!(refused, Some(crate::failure::EXIT_USAGE));
        assert!(registry_url("http://example.com", true).is_ok());
        assert!(registry_url("ftp://example.com", true).is_err());
    }
}
