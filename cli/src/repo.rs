//! `acr repo ...`: repositories.

use acr::models::RepositoryChangeableAttributes;
use clap::Subcommand;
use futures_util::TryStreamExt;

use crate::args::Locks;
use crate::failure::Failure;
use crate::output::{emit, pretty, to_json};
use crate::registry::Context;

/// Commands on repositories.
#[derive(Debug, Subcommand)]
pub enum RepoCommand {
    /// Lists repositories (ACR's catalog; the OCI catalog on other registries).
    ///
    /// Example: `acr repo list --all`
    List {
        /// At most this many names (one page).
        #[arg(long)]
        n: Option<i32>,
        /// Start after this name.
        #[arg(long)]
        last: Option<String>,
        /// Follow every page.
        #[arg(long)]
        all: bool,
    },
    /// Shows a repository's attributes (ACR only).
    ///
    /// Example: `acr repo show hello`
    Show {
        /// The repository.
        repo: String,
    },
    /// Changes a repository's locks (ACR only); only the flags given are changed.
    ///
    /// Example: `acr repo update hello --delete-enabled false`
    Update {
        /// The repository.
        repo: String,
        /// The locks.
        #[command(flatten)]
        locks: Locks,
    },
    /// Deletes a repository with all its tags and manifests (ACR only).
    ///
    /// Example: `acr repo delete hello`
    Delete {
        /// The repository.
        repo: String,
    },
}

/// Whether `error` says the registry has no ACR API: a 404 on `/acr/v1/...` without a registry
/// error code (ACR answers a missing repository with `NAME_UNKNOWN`; a registry without the
/// route answers a bare 404).
pub fn no_acr_api(error: &acr::Error) -> bool {
    error.status().map(|s| s.as_u16()) == Some(404) && error.code().is_none()
}

/// Runs a repo command.
pub async fn run(ctx: &Context, command: RepoCommand) -> Result<(), Failure> {
    match command {
        RepoCommand::List { n, last, all } => list(ctx, n, last, all).await,
        RepoCommand::Show { repo } => {
            let response = ctx
                .client
                .get_properties(repo.as_str())
                .await
                .map_err(|e| Failure::from_error(format!("repo show {repo}"), &e))?;
            let json = to_json(&response.body)?;
            emit(ctx.format, json.clone(), || pretty(&json));
            Ok(())
        }
        RepoCommand::Update { repo, locks } => {
            if locks.is_empty() {
                return Err(Failure::usage(
                    "repo update: give at least one of --write-enabled, --delete-enabled, --list-enabled, --read-enabled",
                ));
            }
            let value = RepositoryChangeableAttributes {
                delete_enabled: locks.delete_enabled,
                write_enabled: locks.write_enabled,
                list_enabled: locks.list_enabled,
                read_enabled: locks.read_enabled,
                ..Default::default()
            };
            let response = ctx
                .client
                .set_properties(repo.as_str())
                .value(value)
                .await
                .map_err(|e| Failure::from_error(format!("repo update {repo}"), &e))?;
            let json = to_json(&response.body)?;
            emit(ctx.format, json.clone(), || pretty(&json));
            Ok(())
        }
        RepoCommand::Delete { repo } => {
            ctx.client
                .delete_repository(repo.as_str())
                .await
                .map_err(|e| Failure::from_error(format!("repo delete {repo}"), &e))?;
            emit(
                ctx.format,
                serde_json::json!({ "repository": repo, "deleted": true }),
                || format!("deleted repository {repo}"),
            );
            Ok(())
        }
    }
}

async fn list(
    ctx: &Context,
    n: Option<i32>,
    last: Option<String>,
    all: bool,
) -> Result<(), Failure> {
    let mut request = ctx.client.get_repositories();
    if let Some(n) = n {
        request = request.n(n);
    }
    if let Some(last) = &last {
        request = request.last(last.clone());
    }
    let acr = if all {
        request.into_stream().try_collect::<Vec<_>>().await
    } else {
        request
            .await
            .map(|r| r.body.repositories.unwrap_or_default())
    };
    let (names, api) = match acr {
        Ok(names) => (names, "acr"),
        Err(e) if no_acr_api(&e) => {
            tracing::info!(
                "the registry has no ACR API (get_repositories answered 404); using the OCI catalog (list_repositories)"
            );
            let mut request = ctx.client.list_repositories();
            if let Some(n) = n {
                request = request.n(n);
            }
            if let Some(last) = &last {
                request = request.last(last.clone());
            }
            let names = if all {
                request.into_stream().try_collect::<Vec<_>>().await
            } else {
                request
                    .await
                    .map(|r| r.body.repositories.unwrap_or_default())
            }
            .map_err(|e| Failure::from_error("repo list (OCI catalog)", &e))?;
            (names, "oci")
        }
        Err(e) => return Err(Failure::from_error("repo list", &e)),
    };
    tracing::info!(api, "listed {} repositories", names.len());
    emit(
        ctx.format,
        serde_json::json!({ "repositories": names, "api": api }),
        || names.join("\n"),
    );
    Ok(())
}
