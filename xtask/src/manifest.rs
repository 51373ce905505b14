//! The `Cargo.toml` of a generated crate written outside this workspace's `generated/`
//! (`cargo xtask codegen --spec FILE --out DIR`, and the crates of `codegen-sample`).
//!
//! The crate depends on this workspace's runtime by a path *relative to where the crate is
//! written* (the runtime is not published, so there is no version to name), never by an
//! absolute path: the folder pair can be moved or cloned elsewhere together and still build.

use std::path::{Component, Path, PathBuf};

use crate::generate::GenerateError;

/// The package name for a crate folder called `dir_name`: lower case, characters other than
/// `[a-z0-9_-]` turned into `-`, prefixed with `api-` unless it starts with a letter.
pub fn package_name(dir_name: &str) -> String {
    let mut name: String = dir_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name = format!("api-{name}");
    }
    name
}

/// `path` made absolute (against the current folder) with `.` and `..` resolved lexically,
/// and symbolic links of its longest existing ancestor resolved.
fn absolute(path: &Path) -> Result<PathBuf, GenerateError> {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| GenerateError::io(path, e))?
            .join(path)
    };
    let mut clean = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                clean.pop();
            }
            Component::CurDir => {}
            other => clean.push(other),
        }
    }
    // Resolve links in the part that exists, so `/tmp` -> `/private/tmp` and the like agree.
    let mut existing = clean.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        match existing.file_name() {
            Some(name) => rest.push(name.to_owned()),
            None => break,
        }
        if !existing.pop() {
            break;
        }
    }
    let mut out = existing.canonicalize().unwrap_or(existing);
    out.extend(rest.iter().rev());
    Ok(out)
}

/// The path from folder `from` to `to`, both absolute; `None` when they share no root
/// (two Windows drives).
pub fn relative(from: &Path, to: &Path) -> Option<PathBuf> {
    let a: Vec<Component<'_>> = from.components().collect();
    let b: Vec<Component<'_>> = to.components().collect();
    if a.first() != b.first() {
        return None;
    }
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..a.len() {
        out.push("..");
    }
    for c in &b[common..] {
        out.push(c);
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    Some(out)
}

/// The `Cargo.toml` of a generated crate to be written in `crate_dir`, depending on the
/// runtime at `runtime_dir` by a relative path; `own_workspace` adds an empty `[workspace]`
/// so it builds on its own.
pub fn crate_manifest(
    crate_dir: &Path,
    runtime_dir: &Path,
    own_workspace: bool,
) -> Result<String, GenerateError> {
    let name = package_name(
        &crate_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    let (from, to) = (absolute(crate_dir)?, absolute(runtime_dir)?);
    let rel = relative(&from, &to).ok_or_else(|| {
        GenerateError::io(
            crate_dir,
            std::io::Error::other(format!(
                "no relative path from here to the runtime at {}",
                to.display()
            )),
        )
    })?;
    let rel = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    Ok(format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\nacr-runtime = {{ path = {rel:?} }}\nserde = {{ version = \"1\", features = [\"derive\"] }}\n\
         serde_json = \"1\"\nbytes = \"1\"\nfutures-core = \"0.3\"\njiff = {{ version = \"0.2\", features = [\"serde\"] }}\n{workspace}",
        workspace = if own_workspace { "\n[workspace]\n" } else { "" }
    ))
}

/// [`crate_manifest`] against this workspace's `runtime/`.
pub fn workspace_crate_manifest(
    crate_dir: &Path,
    own_workspace: bool,
) -> Result<String, GenerateError> {
    crate_manifest(
        crate_dir,
        &crate::workspace::root().join("runtime"),
        own_workspace,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(package_name("My API.v2"), "my-api-v2");
        assert_eq!(package_name("2fa"), "api-2fa");
        assert_eq!(package_name(""), "api-");
    }

    #[test]
    fn relative_paths() {
        let r = |a: &str, b: &str| relative(Path::new(a), Path::new(b)).unwrap();
        assert_eq!(
            r("/w/out/petstore", "/w/acr/runtime"),
            Path::new("../../acr/runtime")
        );
        assert_eq!(
            r("/w/acr/generated", "/w/acr/runtime"),
            Path::new("../runtime")
        );
        assert_eq!(r("/w", "/w/runtime"), Path::new("runtime"));
        assert_eq!(r("/w", "/w"), Path::new("."));
    }

    /// The manifest names the runtime by a relative path that resolves from the crate's
    /// folder, never by an absolute one.
    #[test]
    fn the_runtime_is_named_by_a_relative_path() {
        let dir = tempfile::tempdir().unwrap();
        let krate = dir.path().join("out/petstore");
        let runtime = dir.path().join("ws/runtime");
        std::fs::create_dir_all(&runtime).unwrap();
        let m = crate_manifest(&krate, &runtime, true).unwrap();
        assert!(m.contains("name = \"petstore\""), "{m}");
        assert!(
            m.contains("acr-runtime = { path = \"../../ws/runtime\" }"),
            "{m}"
        );
        assert!(m.ends_with("\n[workspace]\n"), "{m}");
        let here = crate_manifest(Path::new("generated-elsewhere"), &runtime, false).unwrap();
        let path = here.lines().find(|l| l.starts_with("acr-runtime")).unwrap();
        assert!(!path.contains("path = \"/"), "{path}");
    }
}
