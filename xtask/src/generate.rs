//! The pipeline behind `cargo xtask codegen`: read, parse, merge, lower and emit, in memory.

use std::path::{Path, PathBuf};

use acr_codegen::ir::Api;

use crate::lap::{self, ExtensionKind, ParseOptions};
use crate::lower::{self, Source};

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

/// Lowers and emits. Without an overlay (a client of another API), `Client` also gets
/// constructors of the credentials the spec's `@auth` names.
pub fn generate(inputs: &Inputs) -> Result<Output, GenerateError> {
    let lowered = inputs.lower()?;
    let mut options = acr_codegen::Options::default();
    options.auth_constructors = inputs.overlay.is_none();
    let files = acr_codegen::generate(&lowered.api, &options)
        .map_err(|e| GenerateError::Codegen(e.to_string()))?;
    Ok(Output {
        api: lowered.api,
        files,
        warnings: lowered.warnings,
    })
}
