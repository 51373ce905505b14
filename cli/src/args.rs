//! The command line: global options and the top-level commands.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The Azure Container Registry (and any OCI registry) at a terminal.
///
/// Example: `acr --registry myregistry.azurecr.io repo list`
#[derive(Debug, Parser)]
#[command(name = "acr", version, propagate_version = true)]
pub struct Cli {
    /// Options of every command.
    #[command(flatten)]
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text.
    Table,
    /// One JSON value (the stable format documented in the crate docs).
    Json,
}

/// Options shared by every command.
#[derive(Debug, Args)]
pub struct Global {
    /// The registry: `myregistry.azurecr.io` (https), `https://host[:port]`, or
    /// `http://host:port` (loopback only, unless --insecure).
    #[arg(long, env = "ACR_REGISTRY", hide_env_values = true, global = true)]
    pub registry: Option<String>,
    /// Allow plain http (and credentials over it) to a host that is not loopback.
    #[arg(long, global = true)]
    pub insecure: bool,
    /// User name (the admin user, or a token name).
    #[arg(
        long,
        short = 'u',
        env = "ACR_USERNAME",
        hide_env_values = true,
        global = true
    )]
    pub username: Option<String>,
    /// Password of --username.
    #[arg(
        long,
        short = 'p',
        env = "ACR_PASSWORD",
        hide_env_values = true,
        global = true,
        conflicts_with = "password_stdin"
    )]
    pub password: Option<String>,
    /// Read the password of --username from standard input (first line).
    #[arg(long, global = true)]
    pub password_stdin: bool,
    /// An ACR refresh token (as `az acr login --expose-token` prints).
    #[arg(long, env = "ACR_REFRESH_TOKEN", hide_env_values = true, global = true)]
    pub refresh_token: Option<String>,
    /// Send no credentials (anonymous pull).
    #[arg(long, global = true, conflicts_with_all = ["username", "password", "password_stdin", "refresh_token"])]
    pub anonymous: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "table", global = true)]
    pub output: OutputFormat,
    /// More logging on stderr (-v: which API was used, -vv: requests, -vvv: everything).
    #[arg(long, short = 'v', action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(long, short = 'q', global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The registry itself.
    #[command(subcommand)]
    Registry(crate::registry::RegistryCommand),
    /// Repositories.
    #[command(subcommand)]
    Repo(crate::repo::RepoCommand),
    /// Tags.
    #[command(subcommand)]
    Tag(crate::tag::TagCommand),
    /// Manifests.
    #[command(subcommand)]
    Manifest(crate::manifest::ManifestCommand),
    /// The referrers of a manifest (signatures, SBOMs, ...).
    ///
    /// Example: `acr referrers hello sha256:... --artifact-type application/vnd.example`
    Referrers(crate::manifest::ReferrersArgs),
    /// Blobs (layers, configs).
    #[command(subcommand)]
    Blob(crate::blob::BlobCommand),
    /// One blob upload session, step by step across invocations.
    ///
    /// `start` prints a location; pass the location each step prints to the next one.
    /// For a whole file in one go use `acr blob push`.
    ///
    /// Example: `LOC=$(acr upload start hello)`
    #[command(subcommand)]
    Upload(crate::upload::UploadCommand),
    /// ACR's token exchange (`/oauth2`): refresh and access tokens, printed only with
    /// --show-secret.
    #[command(subcommand)]
    Token(crate::token::TokenCommand),
    /// Whole images: push from and pull into OCI image layout folders.
    #[command(subcommand)]
    Image(crate::image::ImageCommand),
    /// Deletes old tags (and untagged manifests) as ACR's `acr purge` does, from the client.
    ///
    /// Tags of the repositories --filter names, matching its expression and last updated
    /// longer than --ago ago, are deleted, except the --keep most recent of them and locked
    /// ones (deleteEnabled or writeEnabled false), which are reported. --untagged also
    /// deletes manifests left without tags (older than --ago; not those a kept index lists
    /// or whose subject stays). Needs ACR's /acr/v1 API.
    ///
    /// Example: `acr purge --filter 'hello:^dev-.*' --ago 7d --keep 3 --untagged --dry-run`
    Purge(crate::purge::PurgeArgs),
    /// Checks credentials against the registry and stores them in the Docker config file.
    ///
    /// As `docker login` does, with --username and --password (or --password-stdin); later
    /// commands given no credential use them. The file is `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`; it is written
    /// atomically with mode 0600, other entries kept.
    ///
    /// Example: `echo "$PASSWORD" | acr --registry myregistry.azurecr.io -u admin --password-stdin login`
    Login,
    /// Removes the registry's credentials from the Docker config file.
    ///
    /// Example: `acr --registry myregistry.azurecr.io logout`
    Logout,
    /// Prints a shell completion script.
    ///
    /// Example: `acr completions bash > /etc/bash_completion.d/acr`
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// The locks of a repository, tag or manifest; only those given are changed.
#[derive(Debug, Args, Clone, Copy)]
pub struct Locks {
    /// Whether it may be overwritten.
    #[arg(long, value_name = "BOOL")]
    pub write_enabled: Option<bool>,
    /// Whether it may be deleted.
    #[arg(long, value_name = "BOOL")]
    pub delete_enabled: Option<bool>,
    /// Whether it shows in listings.
    #[arg(long, value_name = "BOOL")]
    pub list_enabled: Option<bool>,
    /// Whether it may be pulled.
    #[arg(long, value_name = "BOOL")]
    pub read_enabled: Option<bool>,
}

impl Locks {
    /// Whether no lock was given.
    pub fn is_empty(&self) -> bool {
        self.write_enabled.is_none()
            && self.delete_enabled.is_none()
            && self.list_enabled.is_none()
            && self.read_enabled.is_none()
    }
}
