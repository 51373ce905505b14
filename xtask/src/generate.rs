//! The pipeline behind `cargo xtask codegen`: read, parse, merge, lower and emit, in memory.

use std::path::{Path, PathBuf};

use acr_codegen::ir::Api;

use crate::lap::{self, ExtensionKind, ParseOptions};
use crate::lower::{self, Source};
use crate::tree::HandWritten;

/// Everything that can stop generation, each naming the file (and position) at fault.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// A file could not be read or written.
    #[error("error: {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid LAP (the message already has `FILE:LINE:COL`, the line and a caret).
    #[error("{0}")]
    Parse(String),
    /// The spec and the overlay do not fit together.
    #[error("error: {file}:{error}")]
    Lower {
        /// The file the error points into.
        file: String,
        /// The error.
        error: lower::LowerError,
    },
    /// The emitters refused the IR.
    #[error("error: code generation failed: {0}")]
    Codegen(String),
    /// Two merged specs define the same operation or, differently, the same type.
    #[error("error: {0}")]
    Merge(String),
}

impl GenerateError {
    /// An [`GenerateError::Io`].
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The read and parsed inputs.
#[derive(Debug)]
pub struct Inputs {
    /// The spec's file name, for messages.
    pub spec_name: String,
    /// The parsed spec.
    pub spec: lap::Document,
    /// The overlay's file name and parsed document, if any.
    pub overlay: Option<(String, lap::Document)>,
}

/// The parse options for overlay files: the overlay set plus `@omit`.
pub fn overlay_options() -> ParseOptions {
    let mut options = ParseOptions::overlay();
    options.add("omit", ExtensionKind::Text, false);
    options
}

impl Inputs {
    /// Reads and parses the spec and the overlay.
    pub fn read(spec: &Path, overlay: Option<&Path>) -> Result<Self, GenerateError> {
        let spec_name = display_name(spec);
        let text = std::fs::read_to_string(spec).map_err(|e| GenerateError::io(spec, e))?;
        let spec_doc = Self::parse_one(&spec_name, &text, &ParseOptions::default())?;
        let overlay = match overlay {
            None => None,
            Some(path) => {
                let name = display_name(path);
                let text = std::fs::read_to_string(path).map_err(|e| GenerateError::io(path, e))?;
                let doc = Self::parse_one(&name, &text, &overlay_options())?;
                Some((name, doc))
            }
        };
        Ok(Self {
            spec_name,
            spec: spec_doc,
            overlay,
        })
    }

    /// Parses texts already in memory.
    pub fn from_texts(
        spec_name: &str,
        spec: &str,
        overlay: Option<(&str, &str)>,
    ) -> Result<Self, GenerateError> {
        let spec_doc = Self::parse_one(spec_name, spec, &ParseOptions::default())?;
        let overlay = match overlay {
            None => None,
            Some((name, text)) => Some((
                name.to_owned(),
                Self::parse_one(name, text, &overlay_options())?,
            )),
        };
        Ok(Self {
            spec_name: spec_name.to_owned(),
            spec: spec_doc,
            overlay,
        })
    }

    fn parse_one(
        name: &str,
        text: &str,
        options: &ParseOptions,
    ) -> Result<lap::Document, GenerateError> {
        lap::parse(text, options).map_err(|e| GenerateError::Parse(e.with_file(name).to_string()))
    }

    /// Merges and lowers the inputs to the IR.
    pub fn lower(&self) -> Result<lower::Lowered, GenerateError> {
        let overlay = self.overlay.as_ref().map(|(_, d)| d);
        let mut lowered =
            lower::lower(&self.spec, overlay).map_err(|error| GenerateError::Lower {
                file: match error.source_file {
                    Source::Spec => self.spec_name.clone(),
                    Source::Overlay => self
                        .overlay
                        .as_ref()
                        .map(|(n, _)| n.clone())
                        .unwrap_or_default(),
                },
                error,
            })?;
        let mut warnings: Vec<String> = self
            .spec
            .warnings
            .iter()
            .map(|w| format!("{}:{}", self.spec_name, strip(w)))
            .collect();
        if let Some((name, doc)) = &self.overlay {
            warnings.extend(doc.warnings.iter().map(|w| format!("{name}:{}", strip(w))));
        }
        warnings.extend(
            lowered
                .warnings
                .drain(..)
                .map(|w| format!("{}:{w}", self.spec_name)),
        );
        lowered.warnings = warnings;
        Ok(lowered)
    }
}

fn strip(w: &lap::Warning) -> String {
    format!("{}: {}", w.pos, w.message)
}

fn display_name(path: &Path) -> String {
    crate::workspace::display(path)
}

/// The generated files and the warnings met on the way.
#[derive(Debug)]
pub struct Output {
    /// The IR that was emitted.
    pub api: Api,
    /// The files, paths relative to the crate's `src/`.
    pub files: Vec<acr_codegen::GeneratedFile>,
    /// Warnings for the maintainer.
    pub warnings: Vec<String>,
}

/// The specs of the `acr` crate under `root`, each with its overlay: the ACR spec, then the
/// OCI distribution endpoints it lacks. Both are generated into one `Client`.
pub fn default_specs(root: &Path) -> Vec<(PathBuf, Option<PathBuf>)> {
    ["containerregistry", "oci-distribution"]
        .iter()
        .map(|name| {
            (
                root.join(format!("spec/{name}.lap")),
                Some(root.join(format!("spec/{name}.overlay.lap"))),
            )
        })
        .collect()
}

/// Several specs, each with its overlay, merged into one API: one `Client` with the
/// operations of all of them.
///
/// Merge rules: operation names are unique across the specs (a second definition is an error
/// naming both places); a type defined by several specs must be the same in each (else an
/// error); each operation records the spec it comes from, for its docs.
#[derive(Debug)]
pub struct SpecSet {
    /// The specs, in order; the first gives the API's title, version, base URL and auth.
    pub parts: Vec<Inputs>,
}

impl SpecSet {
    /// Reads and parses each spec and its overlay.
    pub fn read(specs: &[(PathBuf, Option<PathBuf>)]) -> Result<Self, GenerateError> {
        let parts = specs
            .iter()
            .map(|(spec, overlay)| Inputs::read(spec, overlay.as_deref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { parts })
    }

    /// Lowers each spec and merges them into one API.
    pub fn lower(&self) -> Result<lower::Lowered, GenerateError> {
        let mut merged: Option<lower::Lowered> = None;
        // Where each operation and type came from, for merge errors.
        let mut op_home: std::collections::BTreeMap<String, String> = Default::default();
        let mut type_home: std::collections::BTreeMap<String, String> = Default::default();
        for part in &self.parts {
            let mut lowered = part.lower()?;
            if self.parts.len() > 1 {
                let source = acr_codegen::ir::SpecSource {
                    title: lowered.api.title.clone(),
                    version: lowered.api.version.clone(),
                    file: Path::new(&part.spec_name)
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| part.spec_name.clone()),
                };
                for op in &mut lowered.api.operations {
                    op.source = Some(source.clone());
                }
            }
            let Some(acc) = merged.as_mut() else {
                for op in &lowered.api.operations {
                    op_home.insert(op.name.clone(), format!("{}:{}", part.spec_name, op.line));
                }
                for t in &lowered.api.types {
                    type_home.insert(t.name.clone(), part.spec_name.clone());
                }
                merged = Some(lowered);
                continue;
            };
            for op in lowered.api.operations {
                let here = format!("{}:{}", part.spec_name, op.line);
                if let Some(first) = op_home.get(&op.name) {
                    return Err(GenerateError::Merge(format!(
                        "{here}: operation `{}` is already defined at {first}; give one of them another @name",
                        op.name
                    )));
                }
                op_home.insert(op.name.clone(), here);
                acc.api.operations.push(op);
            }
            for t in lowered.api.types {
                match acc.api.types.iter().find(|u| u.name == t.name) {
                    Some(existing) if *existing == t => {}
                    Some(_) => {
                        return Err(GenerateError::Merge(format!(
                            "{}: type `{}` differs from the one {} defines; rename one of them",
                            part.spec_name,
                            t.name,
                            type_home
                                .get(&t.name)
                                .map(String::as_str)
                                .unwrap_or("another spec")
                        )));
                    }
                    None => {
                        type_home.insert(t.name.clone(), part.spec_name.clone());
                        acc.api.types.push(t);
                    }
                }
            }
            acc.warnings.extend(lowered.warnings);
        }
        let mut merged =
            merged.ok_or_else(|| GenerateError::Merge("no spec to generate".into()))?;
        merged.api.types.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(merged)
    }
}

/// Lowers, merges and emits several specs into one crate whose `src/` holds the hand-written
/// modules `extra_modules` (see [`crate::tree::hand_written_modules`]).
///
/// Without any overlay (clients of other APIs), `Client` also gets constructors of the
/// credentials the specs' `@auth` names.
pub fn generate_set(set: &SpecSet, extra_modules: &[String]) -> Result<Output, GenerateError> {
    generate_with(set, &HandWritten::modules(extra_modules))
}

/// [`generate_set`] into a crate with the hand-written parts `hand` (modules, and the Markdown
/// docs of the crate page and `Client`): what `cargo xtask codegen` writes.
pub fn generate_with(set: &SpecSet, hand: &HandWritten) -> Result<Output, GenerateError> {
    let auth_constructors = set.parts.iter().all(|p| p.overlay.is_none());
    emit(set.lower()?, options(hand, auth_constructors))
}

/// Lowers and emits one spec. Without an overlay (a client of another API), `Client` also gets
/// constructors of the credentials the spec's `@auth` names.
pub fn generate(inputs: &Inputs) -> Result<Output, GenerateError> {
    let options = options(&HandWritten::default(), inputs.overlay.is_none());
    emit(inputs.lower()?, options)
}

/// What a streaming generation ([`generate_set_each`]) returns once every file is handed over.
#[derive(Debug)]
pub struct Emitted {
    /// The IR that was emitted.
    pub api: Api,
    /// Warnings for the maintainer.
    pub warnings: Vec<String>,
}

/// Like [`generate_with`], but hands each file to `sink` as soon as it is formatted (in no
/// fixed order, on all cores) instead of collecting them: memory stays flat for large APIs.
pub fn generate_set_each(
    set: &SpecSet,
    hand: &HandWritten,
    sink: impl FnMut(acr_codegen::GeneratedFile),
) -> Result<Emitted, GenerateError> {
    let auth_constructors = set.parts.iter().all(|p| p.overlay.is_none());
    let lowered = set.lower()?;
    let options = options(hand, auth_constructors);
    acr_codegen::generate_each(&lowered.api, &options, sink)
        .map_err(|e| GenerateError::Codegen(e.to_string()))?;
    Ok(Emitted {
        api: lowered.api,
        warnings: lowered.warnings,
    })
}

fn options(hand: &HandWritten, auth_constructors: bool) -> acr_codegen::Options {
    let mut options = acr_codegen::Options::default();
    options.extra_modules = hand.modules.clone();
    options.crate_doc = hand.crate_doc.clone();
    options.client_doc = hand.client_doc.clone();
    options.auth_constructors = auth_constructors;
    options
}

fn emit(lowered: lower::Lowered, options: acr_codegen::Options) -> Result<Output, GenerateError> {
    let files = acr_codegen::generate(&lowered.api, &options)
        .map_err(|e| GenerateError::Codegen(e.to_string()))?;
    Ok(Output {
        api: lowered.api,
        files,
        warnings: lowered.warnings,
    })
}
