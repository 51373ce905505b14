//! `acr login` / `acr logout`: credentials in the Docker config file.

use acr::Credential;

use crate::docker_config;
use crate::failure::Failure;
use crate::output::emit;
use crate::registry::Context;

fn config_path() -> Result<std::path::PathBuf, Failure> {
    docker_config::path().ok_or_else(|| {
        Failure::failed("cannot find the Docker config file: neither DOCKER_CONFIG nor HOME is set")
    })
}

/// Checks the given user name and password against the registry, then stores them.
pub async fn login(ctx: &Context) -> Result<(), Failure> {
    let Some(Credential::Basic { username, password }) = &ctx.given else {
        return Err(Failure::usage(
            "login: give --username and a password (--password, --password-stdin or ACR_PASSWORD)",
        ));
    };
    let key = docker_config::server_key(&ctx.registry);
    // The registry's answer to GET /v2/ with these credentials: a wrong password fails here
    // (exit 4) and nothing is written.
    ctx.client
        .check_docker_v2_support()
        .await
        .map_err(|e| Failure::from_error(format!("login to {key}"), &e))?;
    let path = config_path()?;
    docker_config::store(&path, &key, username, password.expose())?;
    emit(
        ctx.format,
        serde_json::json!({
            "registry": key,
            "username": username,
            "config": path.display().to_string(),
            "loggedIn": true,
        }),
        || format!("Login Succeeded ({key}, stored in {})", path.display()),
    );
    Ok(())
}

/// Removes the registry's entry from the Docker config file.
pub fn logout(ctx: &Context) -> Result<(), Failure> {
    let key = docker_config::server_key(&ctx.registry);
    let path = config_path()?;
    let removed = docker_config::remove(&path, &key)?;
    emit(
        ctx.format,
        serde_json::json!({
            "registry": key,
            "config": path.display().to_string(),
            "removed": removed,
        }),
        || {
            if removed {
                format!("Removed the credentials of {key} from {}", path.display())
            } else {
                format!("Not logged in to {key}")
            }
        },
    );
    Ok(())
}
