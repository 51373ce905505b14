//! The generated tree on disk: reading it, diffing it against what generation wants, and
//! writing the difference. The one place that touches `generated/src` files.
//!
//! Line endings are normalised on reading (`\r\n` becomes `\n`), so a checkout whose files
//! have CRLF endings (git's `core.autocrlf=true` on Windows) is not taken for stale, and is not
//! rewritten when nothing else changed. Files are written with `\n`, as generated.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use crate::generate::GenerateError;

/// The header every generated file starts with (defined once, by the emitters).
pub use acr_codegen::HEADER;

/// A generated tree: file paths relative to the crate's `src/` (with `/`) to their text.
pub type Tree = BTreeMap<String, String>;

/// `text` with every `\r\n` turned into `\n` (borrowed when there is none).
pub fn normalize(text: &str) -> Cow<'_, str> {
    if text.contains("\r\n") {
        Cow::Owned(text.replace("\r\n", "\n"))
    } else {
        Cow::Borrowed(text)
    }
}

/// Reads every generated `.rs` file under `src` (those starting with [`HEADER`]), line
/// endings normalised; hand-written files beside them are left out. A missing `src` is an
/// empty tree.
pub fn read(src: &Path) -> Result<Tree, GenerateError> {
    let mut out = BTreeMap::new();
    for path in rs_files(src)? {
        let text = fs::read_to_string(&path).map_err(|e| GenerateError::io(&path, e))?;
        if text.starts_with(HEADER) {
            out.insert(relative(src, &path), normalize(&text).into_owned());
        }
    }
    Ok(out)
}

/// Every `.rs` file under `src`, at any depth; none when `src` is missing.
fn rs_files(src: &Path) -> Result<Vec<PathBuf>, GenerateError> {
    let mut out = Vec::new();
    if !src.exists() {
        return Ok(out);
    }
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = fs::read_dir(&dir).map_err(|e| GenerateError::io(&dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| GenerateError::io(&dir, e))?;
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    Ok(out)
}

/// The generated `.rs` files under `src` (those starting with [`HEADER`]), by path relative to
/// `src` with `/`; only each file's first bytes are read. A missing `src` has none.
pub fn generated_paths(src: &Path) -> Result<BTreeSet<String>, GenerateError> {
    let mut out = BTreeSet::new();
    for path in rs_files(src)? {
        let mut head = Vec::with_capacity(HEADER.len());
        let read =
            fs::File::open(&path).and_then(|f| f.take(HEADER.len() as u64).read_to_end(&mut head));
        read.map_err(|e| GenerateError::io(&path, e))?;
        if head == HEADER.as_bytes() {
            out.insert(relative(src, &path));
        }
    }
    Ok(out)
}

/// `path` relative to `src`, with `/` separators.
fn relative(src: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(src).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// A generation compared with the tree under `src` file by file, as the files arrive, holding
/// only the files that change: their new text is staged in a folder beside `src` and moved
/// into place by [`Update::finish`], so a generation that fails half-way changes nothing.
#[derive(Debug)]
pub struct Update {
    src: PathBuf,
    /// Where changed files wait for [`Update::finish`]; `None` when checking (nothing is
    /// written).
    staging: Option<PathBuf>,
    existing: BTreeSet<String>,
    seen: BTreeSet<String>,
    /// The folders made in the staging folder so far (one `mkdir` each, not one per file).
    made: BTreeSet<PathBuf>,
    changes: Changes,
    /// Whether the texts of changed files are kept (for the API report and the diff).
    keep_texts: bool,
    old: Tree,
    new: Tree,
    error: Option<GenerateError>,
}

/// What an [`Update`] found: the changes, and the old and new texts of the changed files
/// (empty when the tree was empty: a first generation has no report).
#[derive(Debug, Default)]
pub struct Updated {
    /// What was (or, when checking, would be) written and removed.
    pub changes: Changes,
    /// The committed text of each changed or removed file.
    pub old: Tree,
    /// The generated text of each changed or new file.
    pub new: Tree,
    /// Whether there was no generated file before (a first generation).
    pub first: bool,
}

impl Update {
    /// Starts comparing with the generated files under `src`; `check` writes nothing.
    pub fn start(src: &Path, check: bool) -> Result<Self, GenerateError> {
        let existing = generated_paths(src)?;
        let staging = if check {
            None
        } else {
            let mut name = src.as_os_str().to_owned();
            name.push(".codegen-staging");
            let staging = PathBuf::from(name);
            if staging.exists() {
                // left by a run that was killed: never content to keep
                fs::remove_dir_all(&staging).map_err(|e| GenerateError::io(&staging, e))?;
            }
            Some(staging)
        };
        Ok(Self {
            src: src.to_path_buf(),
            staging,
            keep_texts: check || !existing.is_empty(),
            existing,
            seen: BTreeSet::new(),
            made: BTreeSet::new(),
            changes: Changes::default(),
            old: Tree::new(),
            new: Tree::new(),
            error: None,
        })
    }

    /// Compares one generated file with the committed one and stages it when it differs.
    /// An I/O error is kept for [`Update::finish`]; later files are then ignored.
    pub fn add(&mut self, rel: &str, contents: &str) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.try_add(rel, contents) {
            self.error = Some(e);
        }
    }

    fn try_add(&mut self, rel: &str, contents: &str) -> Result<(), GenerateError> {
        self.seen.insert(rel.to_owned());
        let old = if self.existing.contains(rel) {
            let path = self.src.join(rel);
            let text = fs::read_to_string(&path).map_err(|e| GenerateError::io(&path, e))?;
            Some(normalize(&text).into_owned())
        } else {
            None
        };
        if old.as_deref() == Some(contents) {
            self.changes.unchanged += 1;
            return Ok(());
        }
        self.changes.written.push(rel.to_owned());
        if let Some(staging) = &self.staging {
            // The staging folder is ours alone until `finish` moves its files: a file is
            // written there directly, not through a temporary name.
            let path = staging.join(rel);
            if let Some(dir) = path.parent()
                && !self.made.contains(dir)
            {
                fs::create_dir_all(dir).map_err(|e| GenerateError::io(dir, e))?;
                self.made.insert(dir.to_path_buf());
            }
            fs::write(&path, contents).map_err(|e| GenerateError::io(&path, e))?;
        }
        if self.keep_texts {
            if let Some(old) = old {
                self.old.insert(rel.to_owned(), old);
            }
            self.new.insert(rel.to_owned(), contents.to_owned());
        }
        Ok(())
    }

    /// Ends the comparison: files no longer generated are found; unless checking, the staged
    /// files move into place and those files are removed. Errors: the first I/O error of
    /// [`Update::add`] (nothing is moved then) or of this step.
    pub fn finish(mut self) -> Result<Updated, GenerateError> {
        let result = self.finish_inner();
        if let Some(staging) = &self.staging
            && staging.exists()
        {
            let _ = fs::remove_dir_all(staging);
        }
        result
    }

    fn finish_inner(&mut self) -> Result<Updated, GenerateError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let removed: Vec<String> = self.existing.difference(&self.seen).cloned().collect();
        for rel in &removed {
            let path = self.src.join(rel);
            let text = fs::read_to_string(&path).map_err(|e| GenerateError::io(&path, e))?;
            self.old.insert(rel.clone(), normalize(&text).into_owned());
        }
        self.changes.written.sort();
        self.changes.removed = removed;
        if let Some(staging) = &self.staging {
            if !self.src.exists() && staging.exists() {
                // A first generation into a new folder: the staged tree moves in one rename.
                if let Some(parent) = self.src.parent() {
                    fs::create_dir_all(parent).map_err(|e| GenerateError::io(parent, e))?;
                }
                fs::rename(staging, &self.src).map_err(|e| GenerateError::io(&self.src, e))?;
                return Ok(self.updated());
            }
            fs::create_dir_all(&self.src).map_err(|e| GenerateError::io(&self.src, e))?;
            for rel in &self.changes.written {
                let (from, to) = (staging.join(rel), self.src.join(rel));
                if let Some(dir) = to.parent() {
                    fs::create_dir_all(dir).map_err(|e| GenerateError::io(dir, e))?;
                }
                fs::rename(&from, &to).map_err(|e| GenerateError::io(&to, e))?;
            }
            for rel in &self.changes.removed {
                let path = self.src.join(rel);
                fs::remove_file(&path).map_err(|e| GenerateError::io(&path, e))?;
            }
        }
        Ok(self.updated())
    }

    /// What was found, taken out of `self`.
    fn updated(&mut self) -> Updated {
        Updated {
            first: self.existing.is_empty(),
            changes: std::mem::take(&mut self.changes),
            old: std::mem::take(&mut self.old),
            new: std::mem::take(&mut self.new),
        }
    }
}

/// The hand-written modules at the top of `src` (`NAME.rs` or `NAME/mod.rs` without the
/// generated-file header), sorted: `lib.rs` declares them beside the generated ones. A missing
/// `src` has none.
pub fn hand_written_modules(src: &Path) -> Result<Vec<String>, GenerateError> {
    let Ok(entries) = fs::read_dir(src) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| GenerateError::io(src, e))?;
        let path = entry.path();
        let (file, name) = if path.is_dir() {
            (path.join("mod.rs"), path.file_name())
        } else if path.extension().is_some_and(|e| e == "rs") {
            (path.clone(), path.file_stem())
        } else {
            continue;
        };
        let Some(name) = name.and_then(|n| n.to_str()) else {
            continue;
        };
        if name == "lib" || !file.is_file() {
            continue;
        }
        let text = fs::read_to_string(&file).map_err(|e| GenerateError::io(&file, e))?;
        if !text.starts_with(HEADER) {
            out.push(name.to_owned());
        }
    }
    out.sort();
    Ok(out)
}

/// What a generated crate holds by hand besides its generated files: the modules of `src/`
/// ([`hand_written_modules`]) and the Markdown of `docs/` beside `src/` (`crate.md`: the crate
/// page's guide; `client.md`: more docs of `Client`), which generation puts into the docs of
/// `lib.rs` and `client.rs` so their examples are compiled as doctests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandWritten {
    /// The hand-written modules.
    pub modules: Vec<String>,
    /// `docs/crate.md`, when present.
    pub crate_doc: Option<String>,
    /// `docs/client.md`, when present.
    pub client_doc: Option<String>,
}

impl HandWritten {
    /// Only `modules`, no docs.
    pub fn modules(modules: &[String]) -> Self {
        Self {
            modules: modules.to_vec(),
            ..Self::default()
        }
    }
}

/// What the crate whose sources are `src` holds by hand (see [`HandWritten`]).
pub fn hand_written(src: &Path) -> Result<HandWritten, GenerateError> {
    let docs = src.parent().map(|p| p.join("docs"));
    let read = |name: &str| -> Result<Option<String>, GenerateError> {
        let Some(path) = docs.as_ref().map(|d| d.join(name)) else {
            return Ok(None);
        };
        match fs::read_to_string(&path) {
            Ok(text) => Ok(Some(normalize(&text).into_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(GenerateError::io(&path, e)),
        }
    };
    Ok(HandWritten {
        modules: hand_written_modules(src)?,
        crate_doc: read("crate.md")?,
        client_doc: read("client.md")?,
    })
}

/// What writing `wanted` over `existing` changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Files new or different (written).
    pub written: Vec<String>,
    /// Files already as wanted.
    pub unchanged: usize,
    /// Generated files no longer wanted (removed).
    pub removed: Vec<String>,
}

impl Changes {
    /// Compares the two trees.
    pub fn between(existing: &Tree, wanted: &Tree) -> Self {
        let mut out = Changes::default();
        for (rel, contents) in wanted {
            if existing.get(rel).map(|e| normalize(e)) == Some(Cow::Borrowed(contents.as_str())) {
                out.unchanged += 1;
            } else {
                out.written.push(rel.clone());
            }
        }
        out.removed = existing
            .keys()
            .filter(|k| !wanted.contains_key(*k))
            .cloned()
            .collect();
        out
    }

    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.written.is_empty() && self.removed.is_empty()
    }
}

/// A unified diff between two generated trees (line endings normalised); empty when they
/// are equal.
pub fn diff(old: &Tree, new: &Tree) -> String {
    let mut out = String::new();
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for name in names {
        let a = normalize(old.get(name).map(String::as_str).unwrap_or(""));
        let b = normalize(new.get(name).map(String::as_str).unwrap_or(""));
        if a == b {
            continue;
        }
        let diff = similar::TextDiff::from_lines(a.as_ref(), b.as_ref());
        let header_a = if old.contains_key(name) {
            format!("a/{name}")
        } else {
            "/dev/null".to_owned()
        };
        let header_b = if new.contains_key(name) {
            format!("b/{name}")
        } else {
            "/dev/null".to_owned()
        };
        out.push_str(
            &diff
                .unified_diff()
                .context_radius(3)
                .header(&header_a, &header_b)
                .to_string(),
        );
    }
    out
}

/// Writes the files of `wanted` that differ from `existing` under `src` and removes the
/// generated files no longer wanted; returns what changed.
pub fn write(src: &Path, existing: &Tree, wanted: &Tree) -> Result<Changes, GenerateError> {
    let changes = Changes::between(existing, wanted);
    fs::create_dir_all(src).map_err(|e| GenerateError::io(src, e))?;
    for rel in &changes.written {
        write_atomic(&src.join(rel), &wanted[rel])?;
    }
    for rel in &changes.removed {
        let path = src.join(rel);
        fs::remove_file(&path).map_err(|e| GenerateError::io(&path, e))?;
    }
    Ok(changes)
}

/// Writes `contents` to a temporary file beside `path`, then renames it over `path`, so a
/// failure never leaves a half-written file.
pub fn write_atomic(path: &Path, contents: &str) -> Result<(), GenerateError> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| GenerateError::io(dir, e))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    fs::write(&tmp, contents).map_err(|e| GenerateError::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        GenerateError::io(path, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(items: &[(&str, &str)]) -> Tree {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn diff_shows_changed_added_and_removed_files() {
        let old = tree(&[("a.rs", "x\n"), ("gone.rs", "y\n")]);
        let new = tree(&[("a.rs", "z\n"), ("new.rs", "w\n")]);
        let d = diff(&old, &new);
        assert!(d.contains("-x") && d.contains("+z"), "{d}");
        assert!(d.contains("+++ /dev/null"), "{d}");
        assert!(d.contains("--- /dev/null"), "{d}");
        assert!(diff(&old, &old).is_empty());
        let c = Changes::between(&old, &new);
        assert_eq!(c.written, ["a.rs", "new.rs"]);
        assert_eq!(c.removed, ["gone.rs"]);
        assert_eq!(c.unchanged, 0);
    }

    const G: &str = "// @generated by cargo xtask codegen. Do not edit.\n";

    fn put(src: &Path, rel: &str, text: &str) {
        let path = src.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    /// A streamed update writes changed and new files, removes generated files no longer
    /// wanted, leaves hand-written files and equal files alone, and keeps the texts of the
    /// changed ones for the report.
    #[test]
    fn an_update_writes_the_changes_as_files_arrive() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        put(&src, "same.rs", &format!("{G}same\n"));
        put(&src, "ops/changed.rs", &format!("{G}old\n"));
        put(&src, "gone.rs", &format!("{G}gone\n"));
        put(&src, "hand.rs", "// mine\n");
        assert_eq!(
            generated_paths(&src)
                .unwrap()
                .into_iter()
                .collect::<Vec<_>>(),
            ["gone.rs", "ops/changed.rs", "same.rs"]
        );
        let mut u = Update::start(&src, false).unwrap();
        u.add("ops/changed.rs", &format!("{G}new\n"));
        u.add("same.rs", &format!("{G}same\n"));
        u.add("ops/fresh.rs", &format!("{G}fresh\n"));
        let done = u.finish().unwrap();
        assert_eq!(done.changes.written, ["ops/changed.rs", "ops/fresh.rs"]);
        assert_eq!(done.changes.removed, ["gone.rs"]);
        assert_eq!(done.changes.unchanged, 1);
        assert!(!done.first);
        assert_eq!(
            done.old.keys().collect::<Vec<_>>(),
            ["gone.rs", "ops/changed.rs"]
        );
        assert_eq!(
            done.new.keys().collect::<Vec<_>>(),
            ["ops/changed.rs", "ops/fresh.rs"]
        );
        assert_eq!(
            fs::read_to_string(src.join("ops/changed.rs")).unwrap(),
            format!("{G}new\n")
        );
        assert!(src.join("ops/fresh.rs").exists() && !src.join("gone.rs").exists());
        assert!(src.join("hand.rs").exists());
        assert!(
            !dir.path().join("src.codegen-staging").exists(),
            "staging cleaned up"
        );
    }

    /// A first generation into a folder that does not exist moves the staged tree in whole:
    /// every file lands, nested folders included, and no staging folder is left.
    #[test]
    fn a_first_update_into_a_new_folder_moves_the_staged_tree() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("crate").join("src");
        let mut u = Update::start(&src, false).unwrap();
        u.add("lib.rs", &format!("{G}lib\n"));
        u.add("operations/a.rs", &format!("{G}a\n"));
        u.add("operations/b.rs", &format!("{G}b\n"));
        assert!(!src.exists(), "nothing under src before finish");
        let done = u.finish().unwrap();
        assert!(done.first);
        assert_eq!(
            done.changes.written,
            ["lib.rs", "operations/a.rs", "operations/b.rs"]
        );
        assert_eq!(
            fs::read_to_string(src.join("operations/b.rs")).unwrap(),
            format!("{G}b\n")
        );
        assert_eq!(generated_paths(&src).unwrap().len(), 3);
        assert!(!dir.path().join("crate/src.codegen-staging").exists());
    }

    /// Checking writes nothing; a generation that stops before `finish` (an emitter error)
    /// changes nothing under `src`, and its staged files are cleared by the next run.
    #[test]
    fn a_check_or_an_unfinished_update_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        put(&src, "a.rs", &format!("{G}old\n"));
        let mut check = Update::start(&src, true).unwrap();
        check.add("a.rs", &format!("{G}new\n"));
        let found = check.finish().unwrap();
        assert_eq!(found.changes.written, ["a.rs"]);
        assert_eq!(
            fs::read_to_string(src.join("a.rs")).unwrap(),
            format!("{G}old\n")
        );

        let mut half = Update::start(&src, false).unwrap();
        half.add("a.rs", &format!("{G}new\n"));
        half.add("b.rs", &format!("{G}new\n"));
        drop(half);
        assert_eq!(
            fs::read_to_string(src.join("a.rs")).unwrap(),
            format!("{G}old\n")
        );
        assert!(!src.join("b.rs").exists());
        let again = Update::start(&src, false).unwrap();
        assert!(!dir.path().join("src.codegen-staging").exists());
        let first = Update::start(&dir.path().join("none"), false)
            .unwrap()
            .finish()
            .unwrap();
        assert!(first.first);
        drop(again);
    }

    /// A checkout with CRLF line endings (`core.autocrlf=true`) reads as up to date and is
    /// left alone by a write; a real change in it is still written.
    #[test]
    fn a_crlf_checkout_is_not_stale() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        let lf = format!("{HEADER}\nfn a() {{}}\n\nfn b() {{}}\n");
        std::fs::create_dir_all(src.join("operations")).unwrap();
        std::fs::write(src.join("lib.rs"), lf.replace('\n', "\r\n")).unwrap();
        std::fs::write(src.join("operations/x.rs"), lf.replace('\n', "\r\n")).unwrap();
        std::fs::write(src.join("hand.rs"), "// not generated\r\n").unwrap();
        let existing = read(&src).unwrap();
        assert_eq!(existing.len(), 2, "{existing:?}");
        assert!(!existing["lib.rs"].contains('\r'));
        let wanted = tree(&[("lib.rs", &lf), ("operations/x.rs", &lf)]);
        assert_eq!(diff(&existing, &wanted), "");
        let changes = write(&src, &existing, &wanted).unwrap();
        assert!(changes.is_empty(), "{changes:?}");
        assert_eq!(changes.unchanged, 2);
        // untouched on disk: still CRLF
        assert!(
            std::fs::read_to_string(src.join("lib.rs"))
                .unwrap()
                .contains("\r\n")
        );

        let changed = tree(&[("lib.rs", &lf.replace("fn b", "fn c"))]);
        let d = diff(&existing, &changed);
        assert!(d.contains("-fn b() {}") && d.contains("+fn c() {}"), "{d}");
        assert!(!d.contains('\r'), "{d:?}");
        let changes = write(&src, &existing, &changed).unwrap();
        assert_eq!(changes.written, ["lib.rs"]);
        assert_eq!(changes.removed, ["operations/x.rs"]);
        assert!(!src.join("operations/x.rs").exists());
        assert!(src.join("hand.rs").exists());
        assert_eq!(read(&src).unwrap()["lib.rs"], changed["lib.rs"]);
    }
}
