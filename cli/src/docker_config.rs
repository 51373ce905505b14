//! The Docker config file (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`): where
//! `acr login` stores credentials as `docker login` does (commands given no credential read
//! them back with the library's `Credential::from_docker_config`, helpers included).
//!
//! Format (Docker CLI "config.json" reference): `{"auths": {"<host[:port]>": {"auth":
//! base64("user:password")}}}`. Credential helpers (`credsStore`, `credHelpers`) are not
//! written to; their settings are kept as they are. Writes go to a temporary file (mode 0600)
//! in the same folder, renamed over the file: a crash never leaves half a config, and every
//! other entry and field is preserved.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::failure::Failure;

/// The config file's path: `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`;
/// `None` when neither variable is set.
pub fn path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|home| PathBuf::from(home).join(".docker").join("config.json"))
}

/// The key of a registry in `auths`: its `host[:port]`, as `docker login` writes it.
pub fn server_key(registry_url: &str) -> String {
    let rest = registry_url
        .split_once("://")
        .map_or(registry_url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_ascii_lowercase()
}

/// The host of an `auths` key, which may be written `https://host/v1/` or `host`.
fn key_host(key: &str) -> String {
    server_key(key)
}

/// Reads the file: `Ok(None)` when it does not exist.
///
/// Errors: a file that cannot be read, or is not a JSON object (it is then never overwritten).
fn read(path: &Path) -> Result<Option<Map<String, Value>>, Failure> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Failure::failed(format!(
                "cannot read the Docker config {}: {e}",
                path.display()
            )));
        }
    };
    if text.iter().all(u8::is_ascii_whitespace) {
        return Ok(Some(Map::new()));
    }
    match serde_json::from_slice::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(_) => Err(Failure::failed(format!(
            "the Docker config {} is not a JSON object",
            path.display()
        ))),
        Err(e) => Err(Failure::failed(format!(
            "the Docker config {} is not valid JSON: {e}",
            path.display()
        ))),
    }
}

/// Stores `username:password` for `key` in the file at `path` (created with its folder when
/// absent), keeping every other entry and field.
pub fn store(path: &Path, key: &str, username: &str, password: &str) -> Result<(), Failure> {
    let mut config = read(path)?.unwrap_or_default();
    let auths = config
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(auths) = auths else {
        return Err(Failure::failed(format!(
            "the Docker config {}: auths is not an object",
            path.display()
        )));
    };
    // One entry per registry: drop other spellings of the same host.
    auths.retain(|k, _| key_host(k) != key);
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    auths.insert(key.to_owned(), serde_json::json!({ "auth": auth }));
    write(path, &config)
}

/// Removes the entries of `key` from the file at `path`; whether there was one.
pub fn remove(path: &Path, key: &str) -> Result<bool, Failure> {
    let Some(mut config) = read(path)? else {
        return Ok(false);
    };
    let Some(Value::Object(auths)) = config.get_mut("auths") else {
        return Ok(false);
    };
    let before = auths.len();
    auths.retain(|k, _| key_host(k) != key);
    if auths.len() == before {
        return Ok(false);
    }
    write(path, &config)?;
    Ok(true)
}

/// Writes `config` to `path` atomically with mode 0600.
fn write(path: &Path, config: &Map<String, Value>) -> Result<(), Failure> {
    let fail = |what: &str, e: std::io::Error| {
        Failure::failed(format!(
            "cannot write the Docker config {}: {what}: {e}",
            path.display()
        ))
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(&dir)
        .map_err(|e| fail("cannot create its folder", e))?;
    let mut text = serde_json::to_vec_pretty(config)
        .map_err(|e| fail("cannot render it", std::io::Error::other(e)))?;
    text.push(b'\n');
    // tempfile creates the file with mode 0600 on Unix.
    let mut tmp = tempfile::Builder::new()
        .prefix(".config.json.")
        .tempfile_in(&dir)
        .map_err(|e| fail("cannot create a temporary file", e))?;
    std::io::Write::write_all(&mut tmp, &text).map_err(|e| fail("write", e))?;
    tmp.as_file().sync_all().map_err(|e| fail("sync", e))?;
    tmp.persist(path).map_err(|e| fail("rename", e.error))?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_host_and_port() {
        assert_eq!(server_key("https://MyReg.azurecr.io"), "myreg.azurecr.io");
        assert_eq!(server_key("http://127.0.0.1:5000/"), "127.0.0.1:5000");
        assert_eq!(key_host("https://index.docker.io/v1/"), "index.docker.io");
    }

    #[test]
    fn store_lookup_remove_keep_other_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("config.json");
        let other = r#"{"auths":{"other.io":{"auth":"dTpw"}},"credsStore":"desktop"}"#;
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, other).unwrap();
        let basic = |host: &str| match acr::Credential::from_docker_config_file(&path, host) {
            Ok(acr::Credential::Basic { username, password }) => {
                Some((username, password.expose().to_owned()))
            }
            _ => None,
        };
        assert!(store(&path, "reg.io", "me", "pa:ss").is_ok());
        assert_eq!(basic("reg.io"), Some(("me".into(), "pa:ss".into())));
        assert_eq!(
            basic("https://reg.io/v2/"),
            Some(("me".into(), "pa:ss".into()))
        );
        assert_eq!(basic("other.io"), Some(("u".into(), "p".into())));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("desktop"), "{text}");
        assert_eq!(remove(&path, "reg.io").ok(), Some(true));
        assert_eq!(remove(&path, "reg.io").ok(), Some(false));
        assert_eq!(basic("reg.io"), None);
        assert_eq!(basic("other.io"), Some(("u".into(), "p".into())));
    }

    #[test]
    fn a_bad_file_is_refused_and_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, "{not json").unwrap();
        assert!(store(&path, "reg.io", "me", "pw").is_err());
        assert_eq!(
            std::fs::read_to_string(&path).ok().as_deref(),
            Some("{not json")
        );
        std::fs::write(&path, "[1, 2]").unwrap();
        let message = remove(&path, "reg.io")
            .err()
            .map(|f| f.message)
            .unwrap_or_default();
        assert!(message.contains("not a JSON object"), "{message}");
    }
}
