//! `acr`: the Azure Container Registry API at a terminal, built only on the public API of the
//! `acr` crate.
//!
//! # Exit codes
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success |
//! | 1 | the operation failed (network, registry error, bad local file) |
//! | 2 | usage error (bad arguments, bad `--registry`) |
//! | 3 | not found (HTTP 404 or a `*_UNKNOWN` registry error code) |
//! | 4 | authentication or authorization failed (HTTP 401/403, `UNAUTHORIZED`, `DENIED`, a failed token request) |
//! | 130 | interrupted by Ctrl-C (a running upload's session was cancelled first; see below) |
//!
//! # JSON output (`--output json`)
//!
//! Stable: fields are only added, never renamed or removed. Every command prints exactly one
//! JSON value on stdout, followed by a newline:
//!
//! * `registry check`: `{"registry": URL, "ok": true}`.
//! * `repo list`: `{"repositories": [NAME...], "api": "acr" | "oci"}` (`api` names the listing
//!   used: ACR's `/acr/v1/_catalog`, or the OCI catalog `/v2/_catalog` as the fallback).
//! * `repo show` / `repo update`: the registry's repository attributes as ACR returns them
//!   (`imageName`, `createdTime`, `lastUpdateTime`, `manifestCount`, `tagCount`,
//!   `changeableAttributes`, ...).
//! * `repo delete`: `{"repository": NAME, "deleted": true}`.
//! * `tag list`: `{"repository": NAME, "tags": [{"name": TAG, "digest": D?, ...}], "api": "acr" | "oci"}`;
//!   with the OCI fallback each entry has only `name`.
//! * `tag show` / `tag update`: ACR's tag attributes (`imageName`, `tag`).
//! * `tag delete`, `manifest delete`, `blob delete`: `{"repository": NAME, "deleted": REF}`.
//! * `manifest list`: ACR's manifest list (`imageName`, `manifests`).
//! * `manifest show` / `manifest update`: ACR's manifest attributes.
//! * `manifest get`: `{"repository", "reference", "digest", "mediaType", "size", "file"?}`,
//!   with the manifest itself under `"manifest"` when no `-o FILE` was given.
//! * `manifest put`, `blob push`: `{"repository", "digest", "size"}` (plus `"method"` for a
//!   blob: `sent`, `mounted` or `skipped`).
//! * `blob pull`: `{"repository", "digest", "size", "file"}`.
//! * `blob exists`: `{"repository", "digest", "exists": BOOL, "size": N?}` (exit 3 when
//!   absent).
//! * `referrers`: `{"repository", "subject", "source": "api" | "tag-schema" | "none", "manifests": [DESCRIPTOR...]}`.
//!
//! * `image push`: `{"repository", "reference", "digest", "mediaType", "size", "manifests",
//!   "blobsTransferred", "blobsSkipped", "blobBytes"}` (the top manifest's descriptor; blobs
//!   sent, blobs the registry had, bytes sent).
//! * `image pull`: the same fields plus `"dir"` and `"tag"` (the name in the layout's
//!   `index.json`, or `null`); `blobsSkipped` counts blobs the layout had.
//! * `image copy`: `{"source": {"registry", "repository", "reference"}, "destination": {...},
//!   "digest", "mediaType", "size", "manifests", "blobsTransferred", "blobsMounted",
//!   "blobsSkipped", "blobBytes", "referrers"}` (the copied top manifest's descriptor; blobs
//!   streamed, mounted within the registry, already at the destination; referrers copied).
//! * `purge`: `{"dryRun", "ago": SECONDS, "cutoff": TIME, "tags": [{"repository", "tag",
//!   "digest", "lastUpdateTime"}], "manifests": [{"repository", "digest"}], "skipped":
//!   [{"repository", "tag"?, "digest", "reason": "locked" | "listed by a kept index" |
//!   "refers to a kept manifest"}], "errors": [{..., "error", "status"?, "code"?}],
//!   "summary": {"tagsDeleted", "manifestsDeleted", "skipped", "errors"}}`; `tags` and
//!   `manifests` list what was (or, dry, would be) deleted. Exit 1 when any deletion failed.
//! * `upload start`: `{"repository", "location", "uuid"}`; `upload status`: `{"location",
//!   "range", "uuid"}`; `upload chunk`: `{"location" (the next step's), "range", "sent",
//!   "uuid"}`; `upload complete`: `{"digest", "location"}`; `upload cancel`: `{"location",
//!   "cancelled": true}`.
//! * `token refresh`: `{"refreshToken", "redacted", "expiresOn", "access"}`; `token access` and
//!   `token login`: `{"accessToken", "redacted", "expiresOn", "access"}`. The token is
//!   `"<redacted>"` unless `--show-secret`; `expiresOn` and `access` are read from its JWT
//!   claims (not verified), `null` when it has none.
//! * `login`: `{"registry", "username", "config", "loggedIn": true}`; `logout`: `{"registry",
//!   "config", "removed": BOOL}`.
//!
//! Progress bars are drawn on stderr only when it is a terminal, with table output and without
//! `-q`. Ctrl-C during an upload (`blob push`, `image push`) stops it after the chunk in flight
//! and cancels the upload session (`DELETE`); a second Ctrl-C, or one during anything else,
//! quits at once. Either way the exit code is 130 and no partial file or folder is left.
//!
//! `completions SHELL` prints a completion script (bash, elvish, fish, powershell, zsh) and
//! needs no registry.
//!
//! An error prints, on stderr, `{"error": {"message", "status"?, "code"?, "registryMessage"?, "exitCode"}}`
//! with `--output json`, or a line `error: ...` otherwise.

mod args;
mod blob;
mod cancel;
mod docker_config;
mod failure;
mod image;
mod login;
mod manifest;
mod output;
mod progress;
mod purge;
mod registry;
mod repo;
mod tag;
mod token;
mod transfer;
mod upload;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::failure::Failure;

fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            // clap uses 0 for --help/--version and 2 for usage errors.
            return std::process::ExitCode::from(u8::try_from(code).unwrap_or(2));
        }
    };
    init_logging(&cli);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let format = cli.global.output;
    match runtime.block_on(interruptible(run(cli))) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(failure) => {
            failure.print(format);
            std::process::ExitCode::from(failure.exit_code())
        }
    }
}

fn init_logging(cli: &Cli) {
    let level = match (cli.global.quiet, cli.global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ACR_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!(
            "acr={level},acr_cli={level},acr_runtime={level}"
        ))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Runs `work` until it ends or Ctrl-C: the first Ctrl-C lets a running upload stop after its
/// chunk and cancel its session (see [`cancel`]); otherwise, or at a second Ctrl-C, `work` is
/// dropped (temporary files and folders go with it) and the command fails with exit 130.
async fn interruptible(
    work: impl std::future::Future<Output = Result<(), Failure>>,
) -> Result<(), Failure> {
    let interrupted = || Failure::plain(cancel::MESSAGE.to_owned(), cancel::EXIT_INTERRUPTED);
    tokio::pin!(work);
    tokio::select! {
        result = &mut work => return result,
        signal = tokio::signal::ctrl_c() => {
            if signal.is_err() {
                // No signal handler could be installed: run without one.
                return work.await;
            }
        }
    }
    if !cancel::interrupt() {
        return Err(interrupted());
    }
    eprintln!(
        "interrupted: stopping the upload and cancelling its session (Ctrl-C again to quit now)"
    );
    tokio::select! {
        result = &mut work => result,
        _ = tokio::signal::ctrl_c() => Err(interrupted()),
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    if let Command::Completions { shell } = cli.command {
        let mut command = <Cli as clap::CommandFactory>::command();
        // Into a buffer first: clap_complete panics when its writer fails (a closed pipe).
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut command, "acr", &mut script);
        return std::io::Write::write_all(&mut std::io::stdout(), &script)
            .map_err(|e| Failure::failed(format!("cannot write the completion script: {e}")));
    }
    let ctx = registry::Context::new(&cli.global)?;
    match cli.command {
        Command::Registry(c) => registry::run(&ctx, c).await,
        Command::Repo(c) => repo::run(&ctx, c).await,
        Command::Tag(c) => tag::run(&ctx, c).await,
        Command::Manifest(c) => manifest::run(&ctx, c).await,
        Command::Referrers(c) => manifest::referrers(&ctx, c).await,
        Command::Blob(c) => blob::run(&ctx, c).await,
        Command::Image(c) => image::run(&ctx, c).await,
        Command::Purge(a) => purge::run(&ctx, a).await,
        Command::Upload(c) => upload::run(&ctx, c).await,
        Command::Token(c) => token::run(&ctx, c).await,
        Command::Login => login::login(&ctx).await,
        Command::Logout => login::logout(&ctx),
        Command::Completions { .. } => Ok(()),
    }
}
