//! `acr manifest ...` and `acr referrers`: manifests, their attributes and their referrers.

use std::path::PathBuf;

use acr::Reference;
use acr::discovery::ReferrersSource;
use acr::models::{ManifestChangeableAttributes, ManifestOrderBy};
use clap::{Args, Subcommand};
use futures_util::TryStreamExt;

use crate::args::Locks;
use crate::blob::{digest, repo_name};
use crate::failure::Failure;
use crate::output::{emit, pretty, to_json};
use crate::registry::Context;
use crate::tag::Order;

/// Commands on manifests.
#[derive(Debug, Subcommand)]
pub enum ManifestCommand {
    /// Lists the manifests of a repository with their attributes (ACR only).
    ///
    /// Example: `acr manifest list hello --orderby timedesc`
    List {
        /// The repository.
        repo: String,
        /// The order.
        #[arg(long)]
        orderby: Option<Order>,
        /// At most this many (one page).
        #[arg(long)]
        n: Option<i32>,
        /// Follow every page.
        #[arg(long)]
        all: bool,
    },
    /// Shows a manifest's attributes (ACR only).
    ///
    /// Example: `acr manifest show hello sha256:...`
    Show {
        /// The repository.
        repo: String,
        /// The manifest's digest.
        digest: String,
    },
    /// Changes a manifest's locks (ACR only); only the flags given are changed.
    ///
    /// Example: `acr manifest update hello sha256:... --delete-enabled false`
    Update {
        /// The repository.
        repo: String,
        /// The manifest's digest.
        digest: String,
        /// The locks.
        #[command(flatten)]
        locks: Locks,
    },
    /// Fetches a manifest's bytes, verified against its digest.
    ///
    /// Example: `acr manifest get hello latest -o manifest.json`
    Get {
        /// The repository.
        repo: String,
        /// A tag or a digest.
        reference: String,
        /// Write the raw bytes to this file instead of printing them.
        #[arg(short = 'o', long = "file", value_name = "FILE")]
        output_file: Option<PathBuf>,
    },
    /// Uploads a manifest from a file under a tag or digest and prints its digest.
    ///
    /// Example: `acr manifest put hello v1 manifest.json`
    Put {
        /// The repository.
        repo: String,
        /// A tag or a digest.
        reference: String,
        /// The manifest file.
        file: PathBuf,
        /// The media type (default: the document's `mediaType`).
        #[arg(long)]
        media_type: Option<String>,
    },
    /// Deletes a manifest (and its tags).
    ///
    /// Example: `acr manifest delete hello sha256:...`
    Delete {
        /// The repository.
        repo: String,
        /// The manifest's digest.
        digest: String,
    },
}

/// The arguments of `acr referrers`.
#[derive(Debug, Args)]
pub struct ReferrersArgs {
    /// The repository.
    pub repo: String,
    /// The subject manifest's digest.
    pub digest: String,
    /// Only referrers of this artifact type.
    #[arg(long)]
    pub artifact_type: Option<String>,
}

fn reference(text: &str) -> Result<Reference, Failure> {
    Reference::new(text).map_err(|e| Failure::usage(format!("bad reference {text:?}: {e}")))
}

/// Runs a manifest command.
pub async fn run(ctx: &Context, command: ManifestCommand) -> Result<(), Failure> {
    match command {
        ManifestCommand::List {
            repo,
            orderby,
            n,
            all,
        } => {
            let mut request = ctx.client.get_manifests(repo.as_str());
            if let Some(order) = orderby {
                request = request.orderby(match order {
                    Order::Timedesc => ManifestOrderBy::Timedesc,
                    Order::Timeasc => ManifestOrderBy::Timeasc,
                });
            }
            if let Some(n) = n {
                request = request.n(n);
            }
            let manifests = if all {
                request.into_stream().try_collect::<Vec<_>>().await
            } else {
                request.await.map(|r| r.body.manifests.unwrap_or_default())
            }
            .map_err(|e| Failure::from_error(format!("manifest list {repo}"), &e))?;
            let list = to_json(&manifests)?;
            let text = manifests
                .iter()
                .map(|m| {
                    format!(
                        "{}\t{}",
                        m.digest.as_str(),
                        m.tags.as_deref().unwrap_or_default().join(",")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            emit(
                ctx.format,
                serde_json::json!({ "repository": repo, "manifests": list }),
                || text,
            );
            Ok(())
        }
        ManifestCommand::Show { repo, digest: text } => {
            let response = ctx
                .client
                .get_manifest_properties(repo.as_str(), text.as_str())
                .await
                .map_err(|e| Failure::from_error(format!("manifest show {repo}@{text}"), &e))?;
            let json = to_json(&response.body)?;
            emit(ctx.format, json.clone(), || pretty(&json));
            Ok(())
        }
        ManifestCommand::Update {
            repo,
            digest: text,
            locks,
        } => {
            if locks.is_empty() {
                return Err(Failure::usage(
                    "manifest update: give at least one of --write-enabled, --delete-enabled, --list-enabled, --read-enabled",
                ));
            }
            let value = ManifestChangeableAttributes {
                delete_enabled: locks.delete_enabled,
                write_enabled: locks.write_enabled,
                list_enabled: locks.list_enabled,
                read_enabled: locks.read_enabled,
                ..Default::default()
            };
            let response = ctx
                .client
                .update_manifest_properties(repo.as_str(), text.as_str())
                .value(value)
                .await
                .map_err(|e| Failure::from_error(format!("manifest update {repo}@{text}"), &e))?;
            let json = to_json(&response.body)?;
            emit(ctx.format, json.clone(), || pretty(&json));
            Ok(())
        }
        ManifestCommand::Get {
            repo,
            reference: text,
            output_file,
        } => {
            let name = repo_name(&repo)?;
            let r = reference(&text)?;
            let what = format!("manifest get {repo}:{text}");
            let manifest = ctx
                .client
                .pull_manifest(&name, &r)
                .await
                .map_err(|e| Failure::from_error(&what, &e))?;
            let mut json = serde_json::json!({
                "repository": repo,
                "reference": text,
                "digest": manifest.digest.as_str(),
                "mediaType": manifest.media_type,
                "size": manifest.bytes.len(),
            });
            match &output_file {
                Some(path) => {
                    write_atomically(path, &manifest.bytes).map_err(|e| {
                        Failure::failed(format!("{what}: cannot write {}: {e}", path.display()))
                    })?;
                    json["file"] = path.display().to_string().into();
                    emit(ctx.format, json, || manifest.digest.as_str().to_owned());
                }
                None => {
                    json["manifest"] =
                        serde_json::from_slice(&manifest.bytes).unwrap_or_else(|_| {
                            String::from_utf8_lossy(&manifest.bytes).into_owned().into()
                        });
                    emit(ctx.format, json, || {
                        String::from_utf8_lossy(&manifest.bytes).into_owned()
                    });
                }
            }
            Ok(())
        }
        ManifestCommand::Put {
            repo,
            reference: text,
            file,
            media_type,
        } => {
            let name = repo_name(&repo)?;
            let r = reference(&text)?;
            let what = format!("manifest put {} to {repo}:{text}", file.display());
            let bytes = std::fs::read(&file).map_err(|e| {
                Failure::failed(format!("{what}: cannot read {}: {e}", file.display()))
            })?;
            let media_type = match media_type {
                Some(t) => t,
                None => serde_json::from_slice::<serde_json::Value>(&bytes)
                    .ok()
                    .and_then(|v| {
                        v.get("mediaType")
                            .and_then(|m| m.as_str())
                            .map(str::to_owned)
                    })
                    .ok_or_else(|| {
                        Failure::usage(format!(
                            "{what}: the file has no mediaType; pass --media-type"
                        ))
                    })?,
            };
            let size = bytes.len();
            let digest = ctx
                .client
                .push_manifest(&name, &r, bytes, media_type)
                .await
                .map_err(|e| Failure::from_error(&what, &e))?;
            emit(
                ctx.format,
                serde_json::json!({ "repository": repo, "digest": digest.as_str(), "size": size }),
                || digest.as_str().to_owned(),
            );
            Ok(())
        }
        ManifestCommand::Delete { repo, digest: text } => {
            ctx.client
                .delete_manifest(repo.as_str(), text.as_str())
                .await
                .map_err(|e| Failure::from_error(format!("manifest delete {repo}@{text}"), &e))?;
            emit(
                ctx.format,
                serde_json::json!({ "repository": repo, "deleted": text }),
                || format!("deleted manifest {repo}@{text}"),
            );
            Ok(())
        }
    }
}

/// Writes `bytes` to a temporary file beside `path`, then renames it: no partial file is left.
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".acr-partial");
    let tmp = PathBuf::from(tmp);
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Runs `acr referrers`.
pub async fn referrers(ctx: &Context, args: ReferrersArgs) -> Result<(), Failure> {
    let d = digest(&args.digest)?;
    let mut request = ctx.client.referrers(args.repo.as_str(), d.clone());
    if let Some(t) = &args.artifact_type {
        request = request.artifact_type(t.clone());
    }
    let found = request.await.map_err(|e| {
        Failure::from_error(format!("referrers of {}@{}", args.repo, args.digest), &e)
    })?;
    let source = match found.source {
        ReferrersSource::Api => "api",
        ReferrersSource::TagSchema => "tag-schema",
        _ => "none",
    };
    tracing::info!(source, "found {} referrers", found.manifests.len());
    let manifests = to_json(&found.manifests)?;
    let text = found
        .manifests
        .iter()
        .map(|m| {
            format!(
                "{}\t{}\t{}",
                m.digest.as_str(),
                m.artifact_type.as_deref().unwrap_or("-"),
                m.media_type
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    emit(
        ctx.format,
        serde_json::json!({
            "repository": args.repo,
            "subject": d.as_str(),
            "source": source,
            "manifests": manifests,
        }),
        || text,
    );
    Ok(())
}
