//! `acr blob ...`: blobs (layers and configs), with verified transfers.

use std::path::PathBuf;

use acr::blob::{ExpectedSize, UploadOptions};
use acr::{Digest, RepositoryName};
use clap::Subcommand;

use crate::failure::{EXIT_NOT_FOUND, Failure};
use crate::output::emit;
use crate::registry::Context;

/// Commands on blobs.
#[derive(Debug, Subcommand)]
pub enum BlobCommand {
    /// Uploads a file as a blob and prints its digest; skipped when the registry has it.
    ///
    /// The file is read twice: once for its digest (so a blob the registry has is skipped, and
    /// --mount-from can mount), once to upload it.
    ///
    /// Example: `acr blob push hello layer.tar.gz --chunk-size 8MiB`
    Push {
        /// The repository.
        repo: String,
        /// The file.
        file: PathBuf,
        /// Upload in chunks of this size (bytes, or with a KiB/MiB/GiB suffix).
        #[arg(long, value_parser = parse_size)]
        chunk_size: Option<usize>,
        /// Mount the blob from this repository of the same registry when it is there.
        #[arg(long, value_name = "REPO")]
        mount_from: Option<String>,
    },
    /// Downloads a blob to a file, verified against its digest; a failed pull leaves no file.
    ///
    /// Example: `acr blob pull hello sha256:... -o layer.tar.gz`
    Pull {
        /// The repository.
        repo: String,
        /// The blob's digest.
        digest: String,
        /// The file to write.
        #[arg(short = 'o', long = "file", value_name = "FILE")]
        output_file: PathBuf,
    },
    /// Tells whether a blob is in the repository, and its size (exit 3 when it is not).
    ///
    /// Example: `acr blob exists hello sha256:...`
    Exists {
        /// The repository.
        repo: String,
        /// The blob's digest.
        digest: String,
    },
    /// Deletes a blob.
    ///
    /// Example: `acr blob delete hello sha256:...`
    Delete {
        /// The repository.
        repo: String,
        /// The blob's digest.
        digest: String,
    },
}

/// Parses `1024`, `64KiB`, `8MiB`, `1GiB` (also `K`, `M`, `G`, `KB`, `MB`, `GB` as powers of 1024).
pub fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num.parse().map_err(|_| format!("not a size: {text:?}"))?;
    let mult: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown size unit {other:?} in {text:?}")),
    };
    match n.checked_mul(mult) {
        Some(0) | None => Err(format!("size out of range: {text:?}")),
        Some(v) => Ok(v),
    }
}

/// The sha256 digest and size of a file, read in 64 KiB blocks.
pub(crate) async fn file_digest(path: &std::path::Path) -> std::io::Result<(Digest, u64)> {
    use sha2::Digest as _;
    use tokio::io::AsyncReadExt;
    let mut file = tokio::fs::File::open(path).await?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    let text = format!("sha256:{}", hex::encode(hasher.finalize()));
    let digest = Digest::new(text).map_err(std::io::Error::other)?;
    Ok((digest, size))
}

pub(crate) fn repo_name(repo: &str) -> Result<RepositoryName, Failure> {
    RepositoryName::new(repo)
        .map_err(|e| Failure::usage(format!("bad repository name {repo:?}: {e}")))
}

pub(crate) fn digest(text: &str) -> Result<Digest, Failure> {
    Digest::new(text).map_err(|e| Failure::usage(format!("bad digest {text:?}: {e}")))
}

/// Runs a blob command.
pub async fn run(ctx: &Context, command: BlobCommand) -> Result<(), Failure> {
    let transport = ctx.client.transport();
    match command {
        BlobCommand::Push {
            repo,
            file,
            chunk_size,
            mount_from,
        } => {
            let name = repo_name(&repo)?;
            let (known, size) = file_digest(&file).await.map_err(|e| {
                Failure::failed(format!("blob push: cannot read {}: {e}", file.display()))
            })?;
            let mut options = UploadOptions::default();
            // The digest up front lets the upload skip a blob the registry has and mount one.
            options.digest = Some(known);
            options.size = Some(size);
            options.chunk_size = chunk_size;
            options.mount_from = mount_from.as_deref().map(repo_name).transpose()?;
            let bar = crate::progress::bytes(ctx.progress, &repo, size);
            let what = format!("blob push {} to {repo}", file.display());
            let uploaded = crate::transfer::push_blob(transport, &name, &file, options, &bar)
                .await
                .map_err(|e| {
                    bar.abandon();
                    e.into_failure(&what)
                })?;
            bar.finish_and_clear();
            let method = format!("{:?}", uploaded.method).to_ascii_lowercase();
            tracing::info!(method, "pushed {} bytes", uploaded.size);
            emit(
                ctx.format,
                serde_json::json!({
                    "repository": repo,
                    "digest": uploaded.digest.as_str(),
                    "size": uploaded.size,
                    "method": method,
                }),
                || uploaded.digest.as_str().to_owned(),
            );
            Ok(())
        }
        BlobCommand::Pull {
            repo,
            digest: text,
            output_file,
        } => {
            let name = repo_name(&repo)?;
            let d = digest(&text)?;
            let what = format!("blob pull {repo}@{text}");
            let info = transport
                .blob_exists(&name, &d)
                .await
                .map_err(|e| Failure::from_error(&what, &e))?
                .ok_or_else(|| Failure::plain(format!("{what}: no such blob"), EXIT_NOT_FOUND))?;
            let expected = match info.size {
                Some(size) => ExpectedSize::Exactly(size),
                None => ExpectedSize::AtMost(u64::MAX),
            };
            let bar = crate::progress::bytes(ctx.progress, &text, info.size.unwrap_or(0));
            let size =
                crate::transfer::pull_blob(transport, &name, &d, expected, &output_file, &bar)
                    .await
                    .map_err(|e| {
                        bar.abandon();
                        e.into_failure(&what)
                    })?;
            bar.finish_and_clear();
            emit(
                ctx.format,
                serde_json::json!({
                    "repository": repo,
                    "digest": d.as_str(),
                    "size": size,
                    "file": output_file.display().to_string(),
                }),
                || format!("{} bytes written to {}", size, output_file.display()),
            );
            Ok(())
        }
        BlobCommand::Exists { repo, digest: text } => {
            let name = repo_name(&repo)?;
            let d = digest(&text)?;
            let info = transport
                .blob_exists(&name, &d)
                .await
                .map_err(|e| Failure::from_error(format!("blob exists {repo}@{text}"), &e))?;
            let size = info.as_ref().and_then(|i| i.size);
            emit(
                ctx.format,
                serde_json::json!({
                    "repository": repo,
                    "digest": d.as_str(),
                    "exists": info.is_some(),
                    "size": size,
                }),
                || match (&info, size) {
                    (Some(_), Some(size)) => format!("present ({size} bytes)"),
                    (Some(_), None) => "present".to_owned(),
                    (None, _) => "absent".to_owned(),
                },
            );
            if info.is_none() {
                return Err(Failure::plain(
                    format!("blob {repo}@{text} does not exist"),
                    EXIT_NOT_FOUND,
                ));
            }
            Ok(())
        }
        BlobCommand::Delete { repo, digest: text } => {
            ctx.client
                .delete_blob(repo.as_str(), text.as_str())
                .await
                .map_err(|e| Failure::from_error(format!("blob delete {repo}@{text}"), &e))?;
            emit(
                ctx.format,
                serde_json::json!({ "repository": repo, "deleted": text }),
                || format!("deleted blob {repo}@{text}"),
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("8MiB"), Ok(8 << 20));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert!(parse_size("0").is_err());
        assert!(parse_size("5 parsecs").is_err());
        assert!(parse_size("MiB").is_err());
    }
}
