//! `acr upload start|status|chunk|complete|cancel`: one upload session driven step by step,
//! across invocations (OCI distribution spec, "Pushing a blob in chunks"). `start` prints the
//! session's location; every later step takes the location the previous one printed (a
//! registry may change it after each chunk).
//!
//! For a whole file in one command (chunked, resumed, verified, skipped when present) use
//! `acr blob push`.

use std::path::{Path, PathBuf};

use acr::UploadLocation;
use clap::Subcommand;
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};

use crate::blob::{digest, parse_size, repo_name};
use crate::failure::Failure;
use crate::output::emit;
use crate::registry::Context;

/// The largest chunk one `upload chunk` sends (it is held in memory).
const MAX_CHUNK: u64 = 512 << 20;

/// The raw upload session operations.
#[derive(Debug, Subcommand)]
pub enum UploadCommand {
    /// Opens an upload session in a repository and prints its location.
    ///
    /// Example: `acr upload start hello`
    Start {
        /// The repository.
        repo: String,
    },
    /// Shows how many bytes the session holds (the registry's `Range`, `0-<last byte>`).
    ///
    /// Example: `acr upload status "$LOCATION"`
    Status {
        /// The location `start` or the last `chunk` printed.
        location: String,
    },
    /// Sends bytes of a file as the next chunk and prints the session's new location.
    ///
    /// The chunk is the file's bytes from --offset, --length of them (default: to the end);
    /// they go at the same offset of the blob. At most 512 MiB per chunk.
    ///
    /// Example: `acr upload chunk "$LOCATION" layer.tar --offset 0 --length 8MiB`
    Chunk {
        /// The location `start` or the last `chunk` printed.
        location: String,
        /// The file holding the blob.
        file: PathBuf,
        /// Where the chunk starts, in the file and in the blob (bytes).
        #[arg(long, default_value_t = 0)]
        offset: u64,
        /// How many bytes (or with a KiB/MiB/GiB suffix); default: to the end of the file.
        #[arg(long, value_parser = parse_size)]
        length: Option<usize>,
    },
    /// Completes the upload: the registry checks the digest and stores the blob.
    ///
    /// Example: `acr upload complete "$LOCATION" --file layer.tar`
    Complete {
        /// The location the last `chunk` printed.
        location: String,
        /// The blob's digest.
        #[arg(long, required_unless_present = "file", conflicts_with = "file")]
        digest: Option<String>,
        /// Compute the digest from this file (the whole blob).
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Cancels the upload session; the bytes sent are discarded.
    ///
    /// Example: `acr upload cancel "$LOCATION"`
    Cancel {
        /// The location `start` or the last `chunk` printed.
        location: String,
    },
}

fn location(text: &str) -> Result<UploadLocation, Failure> {
    UploadLocation::new(text)
        .map_err(|e| Failure::usage(format!("bad upload location {text:?}: {e}")))
}

/// Reads `length` bytes (default: to the end) of `file` from `offset`.
async fn read_chunk(file: &Path, offset: u64, length: Option<usize>) -> Result<Vec<u8>, Failure> {
    let fail = |e: std::io::Error| Failure::failed(format!("cannot read {}: {e}", file.display()));
    let mut f = tokio::fs::File::open(file).await.map_err(fail)?;
    let size = f.metadata().await.map_err(fail)?.len();
    if offset >= size {
        return Err(Failure::usage(format!(
            "--offset {offset} is at or past the end of {} ({size} bytes)",
            file.display()
        )));
    }
    let want = length.map_or(size - offset, |l| (l as u64).min(size - offset));
    if want > MAX_CHUNK {
        return Err(Failure::usage(format!(
            "a chunk of {want} bytes is more than one `upload chunk` sends ({MAX_CHUNK}); pass --length"
        )));
    }
    f.seek(std::io::SeekFrom::Start(offset))
        .await
        .map_err(fail)?;
    let mut buf = vec![0u8; want as usize];
    f.read_exact(&mut buf).await.map_err(fail)?;
    Ok(buf)
}

/// Runs an upload command.
pub async fn run(ctx: &Context, command: UploadCommand) -> Result<(), Failure> {
    match command {
        UploadCommand::Start { repo } => {
            let name = repo_name(&repo)?;
            let r = ctx
                .client
                .start_upload(name)
                .await
                .map_err(|e| Failure::from_error(format!("upload start in {repo}"), &e))?;
            let loc = r.location.ok_or_else(|| {
                Failure::failed(format!(
                    "upload start in {repo}: the registry gave no Location"
                ))
            })?;
            emit(
                ctx.format,
                serde_json::json!({
                    "repository": repo,
                    "location": loc.as_str(),
                    "uuid": r.docker_upload_uuid,
                }),
                || loc.as_str().to_owned(),
            );
            Ok(())
        }
        UploadCommand::Status { location: text } => {
            let loc = location(&text)?;
            let r = ctx
                .client
                .get_upload_status(loc)
                .await
                .map_err(|e| Failure::from_error("upload status", &e))?;
            let range = r.range.map(|r| r.to_string());
            emit(
                ctx.format,
                serde_json::json!({ "location": text, "range": range, "uuid": r.docker_upload_uuid }),
                || format!("range {}", range.as_deref().unwrap_or("(none)")),
            );
            Ok(())
        }
        UploadCommand::Chunk {
            location: text,
            file,
            offset,
            length,
        } => {
            let loc = location(&text)?;
            let bytes = read_chunk(&file, offset, length).await?;
            let n = bytes.len() as u64;
            let last = offset + n - 1;
            let r = ctx
                .client
                .upload_chunk(loc, bytes)
                .content_range(format!("{offset}-{last}"))
                .await
                .map_err(|e| {
                    Failure::from_error(format!("upload chunk of bytes {offset}-{last}"), &e)
                })?;
            let next = r.location.map(|l| l.as_str().to_owned()).unwrap_or(text);
            let range = r.range.map(|r| r.to_string());
            emit(
                ctx.format,
                serde_json::json!({
                    "location": next,
                    "range": range,
                    "sent": n,
                    "uuid": r.docker_upload_uuid,
                }),
                || next.clone(),
            );
            Ok(())
        }
        UploadCommand::Complete {
            location: text,
            digest: given,
            file,
        } => {
            let loc = location(&text)?;
            let d = match (given, file) {
                (Some(d), _) => digest(&d)?,
                (None, Some(f)) => {
                    crate::blob::file_digest(&f)
                        .await
                        .map_err(|e| Failure::failed(format!("cannot read {}: {e}", f.display())))?
                        .0
                }
                (None, None) => return Err(Failure::usage("give --digest or --file")),
            };
            let r = ctx
                .client
                .complete_upload(loc, d.clone())
                .await
                .map_err(|e| Failure::from_error(format!("upload complete as {d}"), &e))?;
            let stored = r.docker_content_digest.unwrap_or(d);
            emit(
                ctx.format,
                serde_json::json!({ "digest": stored.as_str(), "location": r.location }),
                || stored.as_str().to_owned(),
            );
            Ok(())
        }
        UploadCommand::Cancel { location: text } => {
            let loc = location(&text)?;
            ctx.client
                .cancel_upload(loc)
                .await
                .map_err(|e| Failure::from_error("upload cancel", &e))?;
            emit(
                ctx.format,
                serde_json::json!({ "location": text, "cancelled": true }),
                || "cancelled".to_owned(),
            );
            Ok(())
        }
    }
}
