//! Runs the ACR emulator standalone until Ctrl-C.
//!
//! ```text
//! cargo run -p acr-emulator -- [--port N] [--admin USER:PASSWORD]
//!     [--aad-token TOKEN] [--anonymous-pull] [--redirect-blobs] [--lenient-upload-state]
//!     [--seed] [--tags REPO:N]
//! ```
//!
//! Defaults: any free port, admin `admin` / `admin-password`, AAD token `fake-aad-token`.
//! `--seed` stores a small image `library/hello:v1`. `--tags REPO:N` stores a small image in
//! `REPO` under the `N` tags `t0000000` to `tN-1` (zero-padded to 7 digits), before the banner
//! is printed: what `cargo xtask bench scale` lists.

use std::io::Write as _;
use std::process::ExitCode;

use acr_emulator::Emulator;

const USAGE: &str = "usage: acr-emulator [--port N] [--admin USER:PASSWORD] [--aad-token TOKEN] \
[--anonymous-pull] [--redirect-blobs] [--lenient-upload-state] [--seed] [--tags REPO:N]";

struct Options {
    port: u16,
    admin: (String, String),
    aad_token: String,
    anonymous_pull: bool,
    redirect_blobs: bool,
    strict_upload_state: bool,
    seed: bool,
    tags: Option<(String, usize)>,
}

fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        port: 0,
        admin: ("admin".into(), "admin-password".into()),
        aad_token: "fake-aad-token".into(),
        anonymous_pull: false,
        redirect_blobs: false,
        strict_upload_state: true,
        seed: false,
        tags: None,
    };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--port" => {
                let v = value("--port")?;
                options.port = v.parse().map_err(|_| format!("bad port {v:?}"))?;
            }
            "--admin" => {
                let v = value("--admin")?;
                let (user, password) = v
                    .split_once(':')
                    .ok_or_else(|| "--admin takes USER:PASSWORD".to_owned())?;
                options.admin = (user.into(), password.into());
            }
            "--aad-token" => options.aad_token = value("--aad-token")?,
            "--anonymous-pull" => options.anonymous_pull = true,
            "--redirect-blobs" => options.redirect_blobs = true,
            "--lenient-upload-state" => options.strict_upload_state = false,
            "--seed" => options.seed = true,
            "--tags" => {
                let v = value("--tags")?;
                let (repo, n) = v
                    .rsplit_once(':')
                    .and_then(|(r, n)| Some((r.to_owned(), n.parse().ok()?)))
                    .ok_or_else(|| format!("--tags takes REPO:N, not {v:?}"))?;
                options.tags = Some((repo, n));
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(options)
}

/// Stores one small image in `repo` under `n` tags.
fn seed_tags(emulator: &Emulator, repo: &str, n: usize) -> Result<(), acr_emulator::AcrError> {
    if n == 0 {
        return Ok(());
    }
    let image = emulator.put_image(repo, "t0000000", "amd64", "linux")?;
    for i in 1..n {
        emulator.put_manifest(
            repo,
            &format!("t{i:07}"),
            acr_emulator::OCI_MANIFEST,
            image.manifest.clone(),
        )?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let started = Emulator::builder()
        .port(options.port)
        .admin(options.admin.0.clone(), options.admin.1.clone())
        .aad_token(options.aad_token.clone())
        .anonymous_pull(options.anonymous_pull)
        .redirect_blobs(options.redirect_blobs)
        .strict_upload_state(options.strict_upload_state)
        .start()
        .await;
    let emulator = match started {
        Ok(emulator) => emulator,
        Err(err) => {
            eprintln!("acr-emulator: {err}");
            return ExitCode::FAILURE;
        }
    };
    if options.seed
        && let Err(err) = emulator.put_image("library/hello", "v1", "amd64", "linux")
    {
        eprintln!("acr-emulator: seeding failed: {err:?}");
    }
    if let Some((repo, n)) = &options.tags
        && let Err(err) = seed_tags(&emulator, repo, *n)
    {
        eprintln!("acr-emulator: seeding {n} tags of {repo} failed: {err:?}");
        return ExitCode::FAILURE;
    }
    let banner = format!(
        "endpoint: {}\nstorage: {}\nadmin: {}:{}\naad token: {}\nanonymous pull: {}\n",
        emulator.endpoint(),
        emulator.storage_endpoint(),
        options.admin.0,
        options.admin.1,
        options.aad_token,
        options.anonymous_pull
    );
    // A reader that stops early (a closed pipe) must not kill the server.
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(banner.as_bytes());
    let _ = stdout.flush();
    drop(stdout);
    if tokio::signal::ctrl_c().await.is_err() {
        eprintln!("acr-emulator: cannot wait for Ctrl-C; exiting");
    }
    emulator.shutdown().await;
    ExitCode::SUCCESS
}
