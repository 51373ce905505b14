//! `acr tag ...`: tags.

use acr::models::{TagChangeableAttributes, TagOrderBy};
use clap::{Subcommand, ValueEnum};
use futures_util::TryStreamExt;

use crate::args::Locks;
use crate::failure::Failure;
use crate::output::{emit, pretty, to_json};
use crate::registry::Context;
use crate::repo::no_acr_api;

/// The order of a listing (ACR only).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Order {
    /// Newest first.
    Timedesc,
    /// Oldest first.
    Timeasc,
}

/// Commands on tags.
#[derive(Debug, Subcommand)]
pub enum TagCommand {
    /// Lists the tags of a repository (ACR's tag list; the OCI tag list on other registries).
    ///
    /// Example: `acr tag list hello --orderby timedesc`
    List {
        /// The repository.
        repo: String,
        /// The order (ACR only).
        #[arg(long)]
        orderby: Option<Order>,
        /// Only the tags of this manifest digest (ACR only).
        #[arg(long)]
        digest: Option<String>,
        /// At most this many tags (one page).
        #[arg(long)]
        n: Option<i32>,
        /// Start after this tag.
        #[arg(long)]
        last: Option<String>,
        /// Follow every page.
        #[arg(long)]
        all: bool,
    },
    /// Shows a tag's attributes (ACR only).
    ///
    /// Example: `acr tag show hello latest`
    Show {
        /// The repository.
        repo: String,
        /// The tag.
        tag: String,
    },
    /// Changes a tag's locks (ACR only); only the flags given are changed.
    ///
    /// Example: `acr tag update hello latest --write-enabled false`
    Update {
        /// The repository.
        repo: String,
        /// The tag.
        tag: String,
        /// The locks.
        #[command(flatten)]
        locks: Locks,
    },
    /// Deletes a tag (ACR only); the manifest stays.
    ///
    /// Example: `acr tag delete hello old`
    Delete {
        /// The repository.
        repo: String,
        /// The tag.
        tag: String,
    },
}

/// Runs a tag command.
pub async fn run(ctx: &Context, command: TagCommand) -> Result<(), Failure> {
    match command {
        TagCommand::List {
            repo,
            orderby,
            digest,
            n,
            last,
            all,
        } => list(ctx, repo, orderby, digest, n, last, all).await,
        TagCommand::Show { repo, tag } => {
            let response = ctx
                .client
                .get_tag_properties(repo.as_str(), tag.as_str())
                .await
                .map_err(|e| Failure::from_error(format!("tag show {repo}:{tag}"), &e))?;
            let json = to_json(&response.body)?;
            emit(ctx.format, json.clone(), || pretty(&json));
            Ok(())
        }
        TagCommand::Update { repo, tag, locks } => {
            if locks.is_empty() {
                return Err(Failure::usage(
                    "tag update: give at least one of --write-enabled, --delete-enabled, --list-enabled, --read-enabled",
                ));
            }
            let value = TagChangeableAttributes {
                delete_enabled: locks.delete_enabled,
                write_enabled: locks.write_enabled,
                list_enabled: locks.list_enabled,
                read_enabled: locks.read_enabled,
            };
            let response = ctx
                .client
                .update_tag_attributes(repo.as_str(), tag.as_str())
                .value(value)
                .await
                .map_err(|e| Failure::from_error(format!("tag update {repo}:{tag}"), &e))?;
            let json = to_json(&response.body)?;
            emit(ctx.format, json.clone(), || pretty(&json));
            Ok(())
        }
        TagCommand::Delete { repo, tag } => {
            ctx.client
                .delete_tag(repo.as_str(), tag.as_str())
                .await
                .map_err(|e| Failure::from_error(format!("tag delete {repo}:{tag}"), &e))?;
            emit(
                ctx.format,
                serde_json::json!({ "repository": repo, "deleted": tag }),
                || format!("deleted tag {repo}:{tag}"),
            );
            Ok(())
        }
    }
}

async fn list(
    ctx: &Context,
    repo: String,
    orderby: Option<Order>,
    digest: Option<String>,
    n: Option<i32>,
    last: Option<String>,
    all: bool,
) -> Result<(), Failure> {
    let mut request = ctx.client.get_tags(repo.as_str());
    if let Some(order) = orderby {
        request = request.orderby(match order {
            Order::Timedesc => TagOrderBy::Timedesc,
            Order::Timeasc => TagOrderBy::Timeasc,
        });
    }
    if let Some(d) = &digest {
        request = request.digest(d.as_str());
    }
    if let Some(n) = n {
        request = request.n(n);
    }
    if let Some(last) = &last {
        request = request.last(last.clone());
    }
    let acr = if all {
        request.into_stream().try_collect::<Vec<_>>().await
    } else {
        request.await.map(|r| r.body.tags)
    };
    let (tags, api) = match acr {
        Ok(tags) => (to_json(&tags)?, "acr"),
        Err(e) if no_acr_api(&e) => {
            if orderby.is_some() || digest.is_some() {
                tracing::warn!("--orderby and --digest need the ACR API; ignored");
            }
            tracing::info!(
                "the registry has no ACR API (get_tags answered 404 for {repo}); using the OCI tag list (list_tags)"
            );
            let mut request = ctx.client.list_tags(repo.as_str());
            if let Some(n) = n {
                request = request.n(n);
            }
            if let Some(last) = &last {
                request = request.last(last.clone());
            }
            let names = if all {
                request.into_stream().try_collect::<Vec<_>>().await
            } else {
                request.await.map(|r| r.body.tags.unwrap_or_default())
            }
            .map_err(|e| Failure::from_error(format!("tag list {repo} (OCI tag list)"), &e))?;
            let entries: Vec<_> = names
                .into_iter()
                .map(|name| serde_json::json!({ "name": name }))
                .collect();
            (serde_json::Value::Array(entries), "oci")
        }
        Err(e) => return Err(Failure::from_error(format!("tag list {repo}"), &e)),
    };
    tracing::info!(api, "listed the tags of {repo}");
    emit(
        ctx.format,
        serde_json::json!({ "repository": repo, "tags": tags, "api": api }),
        || {
            tags.as_array()
                .map(|a| {
                    a.iter()
                        .map(|t| {
                            let name = t.get("name").and_then(|v| v.as_str()).unwrap_or_default();
                            match t.get("digest").and_then(|v| v.as_str()) {
                                Some(d) => format!("{name}\t{d}"),
                                None => name.to_owned(),
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default()
        },
    );
    Ok(())
}
