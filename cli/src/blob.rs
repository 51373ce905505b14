//! `acr blob ...`: blobs (layers and configs), with verified transfers.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use acr::blob::ExpectedSize;

use crate::transfer::UploadOptions;
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
    /// A file up to 32 MiB, or any file with --mount-from, is hashed first (the skip and the
    /// mount need its digest). A larger file starts uploading at once and is hashed beside the
    /// upload: when the registry turns out to have the blob, the upload stops after the chunk
    /// in flight and its session is cancelled.
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
        /// The file's digest, when known (for example from a build): the file is not hashed
        /// first, and the upload checks its bytes against it (a mismatch fails the push).
        #[arg(long, value_name = "DIGEST")]
        digest: Option<String>,
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

/// The sha256 digest and size of a file, read in 1 MiB blocks on tokio's blocking pool (one
/// blocking task for the whole file, not one per read).
pub(crate) async fn file_digest(path: &std::path::Path) -> std::io::Result<(Digest, u64)> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || digest_of_file(&path, &AtomicBool::new(false)))
        .await
        .map_err(std::io::Error::other)?
}

pub(crate) fn repo_name(repo: &str) -> Result<RepositoryName, Failure> {
    RepositoryName::new(repo)
        .map_err(|e| Failure::usage(format!("bad repository name {repo:?}: {e}")))
}

pub(crate) fn digest(text: &str) -> Result<Digest, Failure> {
    Digest::new(text).map_err(|e| Failure::usage(format!("bad digest {text:?}: {e}")))
}

/// Whether `digest` is in `repo` (`check_blob_exists`): `Some` with the size the registry
/// states, when it states one; `None` for a 404.
async fn blob_exists(
    client: &acr::Client,
    repo: &RepositoryName,
    digest: &Digest,
) -> acr::Result<Option<BlobInfo>> {
    match client.check_blob_exists(repo, digest).await {
        Ok(r) => Ok(Some(BlobInfo {
            size: r.content_length,
        })),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// What the registry says of a blob it has.
struct BlobInfo {
    /// Its `Content-Length`, when sent.
    size: Option<u64>,
}

/// Files up to this size (bytes) are hashed before their push starts (a few milliseconds);
/// larger ones while it runs ([`push_while_hashing`]).
const HASH_FIRST_UP_TO: u64 = 32 << 20;

/// What `blob push` did: the blob's digest and size, and `sent`, `skipped` or `mounted`.
struct Pushed {
    digest: Digest,
    size: u64,
    method: String,
}

impl From<acr::blob::Uploaded> for Pushed {
    fn from(u: acr::blob::Uploaded) -> Self {
        Self {
            method: format!("{:?}", u.method).to_ascii_lowercase(),
            digest: u.digest,
            size: u.size,
        }
    }
}

/// Pushes the file at `path` (`size` bytes), skipped when the registry has it, without first
/// reading the whole file for its digest: the upload starts at once while the digest is
/// computed beside it ([`digest_beside`]; SHA-256 at over 1 GB/s finishes long before any
/// upload but a loopback one). Once the digest is known the registry is asked whether
/// it has the blob (`check_blob_exists`); if it has, the upload stops after the chunk in
/// flight, its session is cancelled, and the push is `skipped`. If the upload ends first,
/// the digest pass is stopped: the upload's own digest (of the bytes it sent) is the one
/// reported. A failed existence check only costs the skip.
async fn push_while_hashing(
    client: &acr::Client,
    repo: &RepositoryName,
    path: &std::path::Path,
    size: u64,
    chunk_size: Option<usize>,
    bar: &indicatif::ProgressBar,
    what: &str,
) -> Result<Pushed, Failure> {
    let stop_upload = Arc::new(AtomicBool::new(false));
    let stop_digest = Arc::new(AtomicBool::new(false));
    let mut digest = digest_beside(path.to_owned(), stop_digest.clone());
    let options = UploadOptions {
        size: Some(size),
        chunk_size,
        ..UploadOptions::default()
    };
    let mut upload = std::pin::pin!(crate::transfer::push_blob_until(
        client,
        repo,
        path,
        options,
        bar,
        Some(stop_upload.clone()),
    ));
    let known = tokio::select! {
        biased;
        d = &mut digest => match d {
            Ok(Ok((known, _))) => Some(known),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "the digest pass failed; uploading");
                None
            }
            Err(_) => None,
        },
        done = &mut upload => {
            stop_digest.store(true, Ordering::SeqCst);
            return done.map(Pushed::from).map_err(|e| e.into_failure(what));
        }
    };
    if let Some(known) = &known {
        match blob_exists(client, repo, known).await {
            Ok(Some(info)) => {
                stop_upload.store(true, Ordering::SeqCst);
                // the upload stops at its next read, or ends first
                match upload.await {
                    Ok(uploaded) if uploaded.digest == *known => return Ok(uploaded.into()),
                    Ok(uploaded) => return Err(changed(what, known, &uploaded.digest)),
                    Err(_) => {}
                }
                tracing::debug!("the registry has the blob; upload stopped");
                return Ok(Pushed {
                    digest: known.clone(),
                    size: info.size.unwrap_or(size),
                    method: "skipped".into(),
                });
            }
            Ok(None) => {}
            Err(e) => tracing::debug!(error = %e, "existence check failed; uploading"),
        }
    }
    let uploaded = upload.await.map_err(|e| e.into_failure(what))?;
    if let Some(known) = known
        && uploaded.digest != known
    {
        return Err(changed(what, &known, &uploaded.digest));
    }
    Ok(uploaded.into())
}

/// The failure of a push whose file changed between the digest pass and the upload.
fn changed(what: &str, known: &Digest, sent: &Digest) -> Failure {
    Failure::failed(format!(
        "{what}: the file changed while it was uploaded (read as {known}, uploaded as {sent}); the registry stored it as {sent}"
    ))
}

/// The sha256 digest and size of the file at `path`, computed on a thread of its own (not the
/// blocking pool, which the upload's own hashing uses). Setting `stop` ends it early with an
/// `Interrupted` error.
fn digest_beside(
    path: std::path::PathBuf,
    stop: Arc<AtomicBool>,
) -> tokio::sync::oneshot::Receiver<std::io::Result<(Digest, u64)>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("acr-digest".into())
        .spawn(move || {
            let _ = tx.send(digest_of_file(&path, &stop));
        });
    if let Err(e) = spawned {
        tracing::debug!(error = %e, "cannot start the digest thread");
    }
    rx
}

/// The sha256 digest and size of a file, read in 1 MiB blocks; stops with `Interrupted`
/// once `stop` is set.
fn digest_of_file(path: &std::path::Path, stop: &AtomicBool) -> std::io::Result<(Digest, u64)> {
    use sha2::Digest as _;
    use std::io::Read as _;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        if stop.load(Ordering::SeqCst) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "digest pass stopped",
            ));
        }
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    let text = format!("sha256:{}", hex::encode(hasher.finalize()));
    let digest = Digest::new(text).map_err(std::io::Error::other)?;
    Ok((digest, size))
}

/// Runs a blob command.
pub async fn run(ctx: &Context, command: BlobCommand) -> Result<(), Failure> {
    let transport = &ctx.client;
    match command {
        BlobCommand::Push {
            repo,
            file,
            chunk_size,
            mount_from,
            digest: given,
        } => {
            let name = repo_name(&repo)?;
            let mount_from = mount_from.as_deref().map(repo_name).transpose()?;
            let given = given.as_deref().map(digest).transpose()?;
            let cannot_read = |e: std::io::Error| {
                Failure::failed(format!("blob push: cannot read {}: {e}", file.display()))
            };
            let size = tokio::fs::metadata(&file).await.map_err(cannot_read)?.len();
            let bar = crate::progress::bytes(ctx.progress, &repo, size);
            let what = format!("blob push {} to {repo}", file.display());
            let pushed = match mount_from {
                // a mount names the digest in its request, and a small file costs little to
                // hash: the digest first (unless given), then the push (which skips or mounts)
                from if from.is_some() || size <= HASH_FIRST_UP_TO || given.is_some() => {
                    let (known, size) = match given {
                        Some(d) => (d, size),
                        None => file_digest(&file).await.map_err(cannot_read)?,
                    };
                    let options = UploadOptions {
                        digest: Some(known),
                        size: Some(size),
                        chunk_size,
                        mount_from: from,
                    };
                    crate::transfer::push_blob(transport, &name, &file, options, &bar)
                        .await
                        .map(Pushed::from)
                        .map_err(|e| e.into_failure(&what))
                }
                _ => {
                    push_while_hashing(transport, &name, &file, size, chunk_size, &bar, &what).await
                }
            }
            .inspect_err(|_| bar.abandon())?;
            bar.finish_and_clear();
            tracing::info!(method = pushed.method, "pushed {} bytes", pushed.size);
            emit(
                ctx.format,
                serde_json::json!({
                    "repository": repo,
                    "digest": pushed.digest.as_str(),
                    "size": pushed.size,
                    "method": pushed.method,
                }),
                || pushed.digest.as_str().to_owned(),
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
            let info = blob_exists(transport, &name, &d)
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
            let info = blob_exists(transport, &name, &d)
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
