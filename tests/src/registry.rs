//! The real registry harness: Debian's `docker-registry` (CNCF distribution 2.8) on a free
//! loopback port, with a throw-away configuration and storage folder.
//!
//! ```no_run
//! # async fn demo() -> Result<(), acr_tests::registry::HarnessError> {
//! use acr_tests::registry::{Flavour, RealRegistry};
//! let Some(registry) = RealRegistry::start(Flavour::Open).await? else {
//!     return Ok(()); // not installed: the harness printed why
//! };
//! println!("{}", registry.endpoint()); // http://127.0.0.1:PORT
//! # Ok(()) }
//! ```
//!
//! * The binary is `docker-registry` from `PATH` (Debian installs `/usr/bin/docker-registry`), or
//!   the path in the environment variable `DOCKER_REGISTRY_BIN`.
//! * When it is missing, [`RealRegistry::start`] prints `skipping: docker-registry not installed`
//!   and returns `Ok(None)`, unless `REQUIRE_REAL_REGISTRY=1` is set: then it returns
//!   [`HarnessError::Required`] so a CI job that must run these tests fails loudly.
//! * The htpasswd flavour writes its bcrypt password file with Debian's `htpasswd -Bbn`
//!   (package `apache2-utils`); a missing `htpasswd` is treated like a missing registry.
//! * The process is killed when the [`RealRegistry`] is dropped; the temporary folder
//!   (configuration, storage, log) goes with it.

use std::fmt;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The environment variable that turns "binary missing" from a skip into an error.
pub const REQUIRE_ENV: &str = "REQUIRE_REAL_REGISTRY";
/// The environment variable that overrides the registry binary's path.
pub const BIN_ENV: &str = "DOCKER_REGISTRY_BIN";

/// How long [`RealRegistry::start`] waits for `GET /v2/` to answer.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How many times a start is retried when the chosen port was taken meanwhile.
const START_ATTEMPTS: usize = 3;

/// Which authentication the registry is configured with.
#[derive(Clone, PartialEq, Eq)]
pub enum Flavour {
    /// No authentication at all: every request is allowed.
    Open,
    /// HTTP Basic against an htpasswd file with one user.
    Htpasswd {
        /// The user name.
        user: String,
        /// The user's password (redacted from `Debug`).
        password: String,
    },
}

impl Flavour {
    /// The htpasswd flavour for `user` / `password`.
    pub fn htpasswd(user: impl Into<String>, password: impl Into<String>) -> Self {
        Flavour::Htpasswd {
            user: user.into(),
            password: password.into(),
        }
    }
}

impl fmt::Debug for Flavour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Flavour::Open => f.write_str("Open"),
            Flavour::Htpasswd { user, .. } => f
                .debug_struct("Htpasswd")
                .field("user", user)
                .field("password", &"<redacted>")
                .finish(),
        }
    }
}

/// Why the harness could not give a running registry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// `REQUIRE_REAL_REGISTRY=1` is set but a needed binary is missing.
    #[error("{REQUIRE_ENV}=1 but {what} is not installed (Debian: apt-get install {package})")]
    Required {
        /// The missing program.
        what: &'static str,
        /// The Debian package that provides it.
        package: &'static str,
    },
    /// A file or process operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What the harness was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// `htpasswd` ran but failed.
    #[error("htpasswd failed: {0}")]
    Htpasswd(String),
    /// The registry process exited before it answered.
    #[error("docker-registry exited early ({status}); log:\n{log}")]
    ExitedEarly {
        /// The exit status.
        status: String,
        /// The registry's log output.
        log: String,
    },
    /// `GET /v2/` did not answer as expected in time.
    #[error(
        "docker-registry did not answer GET /v2/ within {timeout:?} (last: {last}); log:\n{log}"
    )]
    Timeout {
        /// How long the harness waited.
        timeout: Duration,
        /// The last status or error seen.
        last: String,
        /// The registry's log output.
        log: String,
    },
}

fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> HarnessError {
    let context = context.into();
    move |source| HarnessError::Io { context, source }
}

/// Where the harness finds its programs and whether their absence is fatal.
///
/// [`StartOptions::from_env`] (what [`RealRegistry::start`] uses) reads `DOCKER_REGISTRY_BIN` and
/// `REQUIRE_REAL_REGISTRY`; tests of the harness itself build the options by hand.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// The registry binary; `None` = `docker-registry` on `PATH`.
    pub registry_bin: Option<PathBuf>,
    /// Fail with [`HarnessError::Required`] instead of skipping when a program is missing.
    pub require: bool,
    /// Accept Docker schema 1 manifests (`compatibility: schema1: enabled: true`; distribution
    /// 2.8 refuses them by default and re-signs them with its own key on every GET).
    pub schema1: bool,
}

impl StartOptions {
    /// Options from the environment (`DOCKER_REGISTRY_BIN`, `REQUIRE_REAL_REGISTRY=1`).
    pub fn from_env() -> Self {
        StartOptions {
            registry_bin: std::env::var_os(BIN_ENV).map(PathBuf::from),
            require: std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1"),
            schema1: false,
        }
    }
}

/// A running `docker-registry`, killed on drop.
pub struct RealRegistry {
    child: Child,
    port: u16,
    flavour: Flavour,
    dir: TempDir,
}

impl fmt::Debug for RealRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RealRegistry")
            .field("endpoint", &self.endpoint())
            .field("flavour", &self.flavour)
            .field("pid", &self.child.id())
            .finish()
    }
}

impl RealRegistry {
    /// Starts a registry with `flavour` on a free loopback port and waits until `GET /v2/`
    /// answers (200 for [`Flavour::Open`], 401 for [`Flavour::Htpasswd`]).
    ///
    /// Returns `Ok(None)` (after printing why) when `docker-registry` or, for htpasswd,
    /// `htpasswd` is not installed, unless `REQUIRE_REAL_REGISTRY=1` is set.
    pub async fn start(flavour: Flavour) -> Result<Option<RealRegistry>, HarnessError> {
        Self::start_with(flavour, &StartOptions::from_env()).await
    }

    /// [`RealRegistry::start`] with explicit [`StartOptions`] instead of the environment.
    pub async fn start_with(
        flavour: Flavour,
        options: &StartOptions,
    ) -> Result<Option<RealRegistry>, HarnessError> {
        let bin = match &options.registry_bin {
            Some(path) => path.is_file().then(|| path.clone()),
            None => find_on_path("docker-registry"),
        };
        let Some(bin) = bin else {
            return skip_or_fail(options, "docker-registry", "docker-registry");
        };
        if matches!(flavour, Flavour::Htpasswd { .. }) && find_on_path("htpasswd").is_none() {
            return skip_or_fail(options, "htpasswd", "apache2-utils");
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            match Self::start_once(&bin, &flavour, options.schema1).await {
                Ok(registry) => return Ok(Some(registry)),
                // The port may have been taken between probing and binding: try another.
                Err(HarnessError::ExitedEarly { .. }) if attempt < START_ATTEMPTS => continue,
                Err(err) => return Err(err),
            }
        }
    }

    async fn start_once(
        bin: &Path,
        flavour: &Flavour,
        schema1: bool,
    ) -> Result<RealRegistry, HarnessError> {
        let dir = tempfile::Builder::new()
            .prefix("acr-tests-registry-")
            .tempdir()
            .map_err(io_err("creating the registry's temporary folder"))?;
        let storage = dir.path().join("storage");
        fs::create_dir(&storage).map_err(io_err("creating the storage folder"))?;
        let port = free_port()?;
        let auth = match flavour {
            Flavour::Open => String::new(),
            Flavour::Htpasswd { user, password } => {
                let path = dir.path().join("htpasswd");
                write_htpasswd(&path, user, password)?;
                format!(
                    "auth:\n  htpasswd:\n    realm: acr-tests\n    path: {}\n",
                    path.display()
                )
            }
        };
        let compatibility = if schema1 {
            "compatibility:\n  schema1:\n    enabled: true\n"
        } else {
            ""
        };
        let config = format!(
            "version: 0.1\n\
             log:\n  level: warn\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{port}\n\
             {auth}{compatibility}",
            storage.display()
        );
        let config_path = dir.path().join("config.yml");
        fs::write(&config_path, config).map_err(io_err("writing config.yml"))?;
        let log_path = dir.path().join("registry.log");
        let log = fs::File::create(&log_path).map_err(io_err("creating registry.log"))?;
        let log_err = log.try_clone().map_err(io_err("cloning the log handle"))?;
        let child = Command::new(bin)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(io_err(format!("spawning {}", bin.display())))?;
        let mut registry = RealRegistry {
            child,
            port,
            flavour: flavour.clone(),
            dir,
        };
        registry.wait_ready().await?;
        tracing::debug!(endpoint = %registry.endpoint(), "docker-registry ready");
        Ok(registry)
    }

    async fn wait_ready(&mut self) -> Result<(), HarnessError> {
        let expected = match self.flavour {
            Flavour::Open => 200,
            Flavour::Htpasswd { .. } => 401,
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| HarnessError::Io {
                context: "building the readiness client".into(),
                source: std::io::Error::other(e),
            })?;
        let url = format!("{}/v2/", self.endpoint());
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self
                .child
                .try_wait()
                .map_err(io_err("polling docker-registry"))?
            {
                return Err(HarnessError::ExitedEarly {
                    status: status.to_string(),
                    log: self.log(),
                });
            }
            let last = match client.get(&url).send().await {
                Ok(resp) if resp.status().as_u16() == expected => return Ok(()),
                Ok(resp) => format!("status {}", resp.status()),
                Err(err) => err.to_string(),
            };
            if Instant::now() >= deadline {
                return Err(HarnessError::Timeout {
                    timeout: READY_TIMEOUT,
                    last,
                    log: self.log(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The base URL, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.host())
    }

    /// The `host:port` part of the endpoint.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The TCP port the registry listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The flavour it was started with.
    pub fn flavour(&self) -> &Flavour {
        &self.flavour
    }

    /// The Basic credentials `(user, password)` for the htpasswd flavour.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        match &self.flavour {
            Flavour::Open => None,
            Flavour::Htpasswd { user, password } => Some((user, password)),
        }
    }

    /// The registry's storage root folder (removed on drop).
    pub fn storage_dir(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// The file in which the registry stores blob `digest` (`sha256:<hex>`; docker-registry's
    /// filesystem layout, `docker/registry/v2/blobs/sha256/<ab>/<hex>/data` under
    /// [`storage_dir`](Self::storage_dir)), for tests that alter a stored blob. Panics when the
    /// digest is not `sha256:` or no such file is stored.
    pub fn stored_blob(&self, digest: &str) -> PathBuf {
        let hex = digest
            .strip_prefix("sha256:")
            .unwrap_or_else(|| panic!("{digest} is not a sha256 digest"));
        let path = self
            .storage_dir()
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data");
        assert!(
            path.is_file(),
            "the registry stores blobs at {}",
            path.display()
        );
        path
    }

    /// What the registry wrote to stdout/stderr so far (for failure messages).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }
}

impl Drop for RealRegistry {
    fn drop(&mut self) {
        // Kill only our own child, by its handle; reap it so no zombie is left.
        if let Err(err) = self.child.kill() {
            tracing::debug!(%err, "docker-registry already gone");
        }
        let _ = self.child.wait();
    }
}

/// `Ok(None)` with a printed reason, or [`HarnessError::Required`] under `REQUIRE_REAL_REGISTRY=1`.
fn skip_or_fail(
    options: &StartOptions,
    what: &'static str,
    package: &'static str,
) -> Result<Option<RealRegistry>, HarnessError> {
    if options.require {
        return Err(HarnessError::Required { what, package });
    }
    crate::skip(&format!(
        "{what} not installed (Debian: apt-get install {package}); {REQUIRE_ENV}=1 makes this an error"
    ));
    Ok(None)
}

/// The first `name` on `PATH`.
fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// A loopback port that was free a moment ago.
fn free_port() -> Result<u16, HarnessError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(io_err("probing a free port"))?;
    let port = listener
        .local_addr()
        .map_err(io_err("reading the probed port"))?
        .port();
    Ok(port)
}

/// Writes a one-user bcrypt htpasswd file with `htpasswd -Bbn`.
fn write_htpasswd(path: &Path, user: &str, password: &str) -> Result<(), HarnessError> {
    let output = Command::new("htpasswd")
        .args(["-Bbn", user, password])
        .stdin(Stdio::null())
        .output()
        .map_err(io_err("running htpasswd"))?;
    if !output.status.success() {
        return Err(HarnessError::Htpasswd(
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ));
    }
    // `htpasswd -n` prints the line followed by an empty line; keep the entry only.
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if !line.starts_with(&format!("{user}:$2")) {
        return Err(HarnessError::Htpasswd(format!(
            "unexpected output {line:?}"
        )));
    }
    fs::write(path, format!("{line}\n")).map_err(io_err("writing the htpasswd file"))
}
