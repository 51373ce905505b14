//! Where things are: the workspace root and the folders the commands read by default.

use std::path::{Path, PathBuf};

/// The workspace root (the folder above `xtask/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The test data beside the checkout (`../shared`): the LAP corpus and recorded ACR traffic.
/// Users do not have it; CI lays it beside its clone.
pub fn shared() -> PathBuf {
    root().join("../shared")
}

/// The folder of real-world LAP files (`../shared/lap-corpus`).
pub fn lap_corpus() -> PathBuf {
    shared().join("lap-corpus")
}

/// `path` relative to the workspace root when it lies inside it, for messages.
pub fn display(path: &Path) -> String {
    let root = root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}
