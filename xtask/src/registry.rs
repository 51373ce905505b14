//! A real registry for the commands that measure or load one (`cargo xtask bench`): Debian's
//! `docker-registry` (CNCF distribution) serving plain http on a free loopback port, its
//! storage in a temporary folder, stopped and removed on drop.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `docker-registry`.
#[derive(Debug)]
pub struct Registry {
    child: Child,
    /// Where it listens (`127.0.0.1:PORT`).
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `docker-registry` binary: `$DOCKER_REGISTRY_BIN`, else the first on `PATH`.
pub fn find() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DOCKER_REGISTRY_BIN") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("docker-registry"))
        .find(|p| p.is_file())
}

impl Registry {
    /// Starts one (deletes enabled, no auth, access log off) and waits until `GET /v2/`
    /// answers. Errors: the binary is missing, or it did not answer within 20 s (with its log).
    pub fn start() -> Result<Self, String> {
        let bin = find().ok_or(
            "docker-registry not found (Debian: apt-get install docker-registry; or set DOCKER_REGISTRY_BIN)",
        )?;
        let dir = tempfile::Builder::new()
            .prefix("acr-registry-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
            dir.path().join("storage").display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).map_err(|e| e.to_string())?;
        let log =
            std::fs::File::create(dir.path().join("registry.log")).map_err(|e| e.to_string())?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(&bin)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("spawning {}: {e}", bin.display()))?;
        let registry = Self { child, addr, dir };
        registry.wait_ready()?;
        Ok(registry)
    }

    /// `host:port`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    fn wait_ready(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.answers() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default();
        Err(format!(
            "docker-registry did not start in 20 s; log:\n{log}"
        ))
    }

    /// Whether `GET /v2/` answers `200` (HTTP/1.1 by hand: no client library needed).
    fn answers(&self) -> bool {
        let Ok(mut s) = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let request = format!(
            "GET /v2/ HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        );
        if s.write_all(request.as_bytes()).is_err() {
            return false;
        }
        let mut head = [0u8; 12];
        s.read_exact(&mut head).is_ok() && head.ends_with(b" 200")
    }
}
