//! `acr token refresh|access|login`: the three `/oauth2` operations of ACR's token exchange
//! (Azure Container Registry "Authentication: OAuth2 token exchange" reference).
//!
//! Tokens are secrets: they are printed only with `--show-secret`; otherwise the output says
//! what the token grants and when it expires (read from its JWT claims, not verified).

use acr::Credential;
use acr::models::{AadGrantType, TokenGrantType};
use base64::Engine as _;
use clap::Subcommand;

use crate::docker_config::server_key;
use crate::failure::Failure;
use crate::output::emit;
use crate::registry::Context;

/// The token operations.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Exchanges an Azure AD access token for an ACR refresh token (`POST /oauth2/exchange`).
    ///
    /// Example: `acr token refresh --aad-access-token "$(az account get-access-token --query accessToken -o tsv)"`
    Refresh {
        /// The Azure AD access token (audience: Azure Resource Manager or ACR).
        #[arg(long, env = "ACR_AAD_ACCESS_TOKEN", hide_env_values = true)]
        aad_access_token: String,
        /// The Azure AD tenant of the token.
        #[arg(long)]
        tenant: Option<String>,
        /// Print the token itself.
        #[arg(long)]
        show_secret: bool,
    },
    /// Exchanges an ACR refresh token (--refresh-token; none: anonymous) for an access token
    /// of the scopes asked (`POST /oauth2/token`).
    ///
    /// Example: `acr --refresh-token "$RT" token access --scope repository:hello:pull`
    Access {
        /// A scope, `repository:NAME:pull,push` or `registry:catalog:*`; repeat for more.
        #[arg(long, required = true)]
        scope: Vec<String>,
        /// Print the token itself.
        #[arg(long)]
        show_secret: bool,
    },
    /// Gets an access token for the scopes asked with --username/--password (or the Docker
    /// config's credentials) (`GET /oauth2/token`).
    ///
    /// Example: `acr -u admin --password-stdin token login --scope repository:hello:pull`
    Login {
        /// A scope, `repository:NAME:pull,push` or `registry:catalog:*`; repeat for more.
        #[arg(long, required = true)]
        scope: Vec<String>,
        /// Print the token itself.
        #[arg(long)]
        show_secret: bool,
    },
}

/// The claims of a JWT (its middle part), unverified; `None` when it is not one.
fn claims(token: &str) -> Option<serde_json::Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Prints `token` (a `kind` token): redacted unless `show`, with its expiry and grants.
fn print_token(ctx: &Context, kind: &str, token: &str, show: bool) {
    let claims = claims(token);
    let expires = claims
        .as_ref()
        .and_then(|c| c.get("exp")?.as_i64())
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map(|t| t.to_string());
    let access = claims.as_ref().and_then(|c| c.get("access").cloned());
    let field = if kind == "refresh" {
        "refreshToken"
    } else {
        "accessToken"
    };
    let shown = if show { token } else { "<redacted>" };
    let json = serde_json::json!({
        field: shown,
        "redacted": !show,
        "expiresOn": expires,
        "access": access,
    });
    emit(ctx.format, json, || {
        if show {
            return token.to_owned();
        }
        let mut lines = vec![format!(
            "{kind} token: <redacted> (pass --show-secret to print it)"
        )];
        if let Some(e) = &expires {
            lines.push(format!("expires: {e}"));
        }
        if let Some(serde_json::Value::Array(grants)) = &access {
            for g in grants {
                let actions = g
                    .get("actions")
                    .and_then(|a| a.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str())
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default();
                lines.push(format!(
                    "grants: {}:{}:{actions}",
                    g.get("type").and_then(|t| t.as_str()).unwrap_or("?"),
                    g.get("name").and_then(|t| t.as_str()).unwrap_or("?"),
                ));
            }
        }
        lines.join("\n")
    });
}

/// Runs a token command.
pub async fn run(ctx: &Context, command: TokenCommand) -> Result<(), Failure> {
    let service = server_key(&ctx.registry);
    match command {
        TokenCommand::Refresh {
            aad_access_token,
            tenant,
            show_secret,
        } => {
            let mut request = ctx
                .client
                .exchange_aad_access_token_for_acr_refresh_token(
                    AadGrantType::AccessToken,
                    service.clone(),
                )
                .access_token(aad_access_token);
            if let Some(t) = tenant {
                request = request.tenant(t);
            }
            let r = request
                .await
                .map_err(|e| Failure::from_error(format!("token refresh at {service}"), &e))?;
            print_token(ctx, "refresh", r.body.refresh_token.expose(), show_secret);
            Ok(())
        }
        TokenCommand::Access { scope, show_secret } => {
            let (grant, refresh) = match &ctx.given {
                Some(Credential::RefreshToken(t)) => (TokenGrantType::RefreshToken, t.clone()),
                Some(Credential::Anonymous) | None => {
                    (TokenGrantType::Password, acr::Secret::new(String::new()))
                }
                Some(_) => {
                    return Err(Failure::usage(
                        "token access takes --refresh-token (or none, for anonymous pull); with --username use `token login`",
                    ));
                }
            };
            let r = ctx
                .client
                .exchange_acr_refresh_token_for_acr_access_token(
                    grant,
                    service.clone(),
                    scope,
                    refresh,
                )
                .await
                .map_err(|e| Failure::from_error(format!("token access at {service}"), &e))?;
            print_token(ctx, "access", r.body.access_token.expose(), show_secret);
            Ok(())
        }
        TokenCommand::Login { scope, show_secret } => {
            if matches!(
                ctx.given,
                Some(Credential::RefreshToken(_) | Credential::Anonymous)
            ) {
                return Err(Failure::usage(
                    "token login takes --username and a password; with --refresh-token use `token access`",
                ));
            }
            let r = ctx
                .client
                .get_acr_access_token_from_login(service.clone(), scope)
                .await
                .map_err(|e| Failure::from_error(format!("token login at {service}"), &e))?;
            print_token(ctx, "access", r.body.access_token.expose(), show_secret);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::claims;

    #[test]
    fn claims_are_read_from_the_middle_part() {
        let payload = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            br#"{"exp":1700000000,"access":[]}"#,
        );
        let token = format!("e30.{payload}.sig");
        assert_eq!(
            claims(&token).and_then(|c| c["exp"].as_i64()),
            Some(1_700_000_000)
        );
        assert!(claims("opaque").is_none());
    }
}
