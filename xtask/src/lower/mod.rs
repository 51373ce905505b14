//! Lowering: a parsed spec (plus, optionally, our overlay) becomes a [`codegen::ir::Api`].
//!
//! Merge rules: an overlay entry that names no endpoint of the spec is an error with its
//! position; a spec endpoint that the overlay does not describe is still lowered, with
//! inferred parameter locations and untyped bodies, and listed as a warning.
//!
//! [`codegen::ir::Api`]: acr_codegen::ir::Api

mod infer;
mod overlay;
mod path;
pub mod types;

use std::collections::BTreeSet;

use acr_codegen::ir::{Api, ErrorResponse, NamedType, Operation, Status, TypeKind};

use crate::lap::{self, Pos};

pub use path::parse_path;

/// The result of lowering: the API and the warnings worth showing.
#[derive(Debug, Clone)]
pub struct Lowered {
    /// The IR.
    pub api: Api,
    /// Non-fatal findings (spec endpoints the overlay does not describe, …).
    pub warnings: Vec<String>,
}

/// Which input a [`LowerError`] points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The spec.
    Spec,
    /// The overlay.
    Overlay,
}

/// A lowering error with the position it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pos}: {message}")]
pub struct LowerError {
    /// Where.
    pub pos: Pos,
    /// In which input.
    pub source_file: Source,
    /// What is wrong.
    pub message: String,
}

impl LowerError {
    /// An error at `pos` of the spec (overlay code turns it with [`LowerError::in_overlay`]).
    pub fn new(pos: Pos, message: String) -> Self {
        Self {
            pos,
            source_file: Source::Spec,
            message,
        }
    }

    /// The same error, pointing into the overlay.
    pub fn in_overlay(mut self) -> Self {
        self.source_file = Source::Overlay;
        self
    }
}

/// Lowers `spec`, merged with `overlay` when given.
pub fn lower(spec: &lap::Document, overlay: Option<&lap::Document>) -> Result<Lowered, LowerError> {
    let mut table = types::TypeTable::default();
    table.declare(spec);
    table.define_all(spec)?;
    let mut warnings = Vec::new();
    let mut operations = Vec::new();
    match overlay {
        None => {
            for ep in &spec.endpoints {
                operations.push(infer::lower_endpoint(spec, ep, &mut table)?);
            }
        }
        Some(ov) => {
            table.declare(ov);
            table.runtime_names = true;
            table.define_all(ov).map_err(LowerError::in_overlay)?;
            table.runtime_names = false;
            operations = overlay::merge(spec, ov, &mut table, &mut warnings)?;
        }
    }
    dedupe_operation_names(&mut operations);
    let mut types = table.into_types();
    if let Some(ov) = overlay {
        apply_docs(ov, &mut types).map_err(LowerError::in_overlay)?;
    }
    Ok(Lowered {
        api: Api {
            title: spec.api.clone().unwrap_or_else(|| "API".to_owned()),
            version: spec.version.clone(),
            base_url: spec.base.clone(),
            auth: spec.auth.clone(),
            operations,
            types,
        },
        warnings,
    })
}

/// Applies the overlay's top-level `@doc Type text` (a model's docs) and `@doc Type.field
/// text` (a field's, by its wire name, which may hold dots: `Platform.os.version`) lines.
/// A line naming no model or field is an error, like an entry naming no endpoint.
fn apply_docs(ov: &lap::Document, types: &mut [NamedType]) -> Result<(), LowerError> {
    for ext in ov.extensions.iter().filter(|e| e.keyword == "doc") {
        let lap::ExtBody::Text(text) = &ext.body else {
            continue;
        };
        let text = text.trim();
        let (target, doc) = text
            .split_once(char::is_whitespace)
            .map(|(t, d)| (t, d.trim()))
            .filter(|(_, d)| !d.is_empty())
            .ok_or_else(|| {
                LowerError::new(
                    ext.pos,
                    format!("@doc {text:?}: expected `Type[.field] text`"),
                )
            })?;
        let (type_name, field) = match target.split_once('.') {
            Some((t, f)) => (t, Some(f)),
            None => (target, None),
        };
        let ty = types
            .iter_mut()
            .find(|t| t.name == type_name)
            .ok_or_else(|| LowerError::new(ext.pos, format!("@doc names no model {type_name}")))?;
        match field {
            None => ty.docs = Some(doc.to_owned()),
            Some(field) => {
                let TypeKind::Struct { fields } = &mut ty.kind else {
                    return Err(LowerError::new(
                        ext.pos,
                        format!("@doc {target}: {type_name} has no fields"),
                    ));
                };
                let f = fields.iter_mut().find(|f| f.name == field).ok_or_else(|| {
                    LowerError::new(
                        ext.pos,
                        format!("@doc names no field {field} of {type_name}"),
                    )
                })?;
                f.docs = Some(doc.to_owned());
            }
        }
    }
    Ok(())
}

/// Makes operation names unique by suffixing `_2`, `_3`… in spec order.
fn dedupe_operation_names(ops: &mut [Operation]) {
    let mut seen = BTreeSet::new();
    for op in ops {
        if op.name.is_empty() {
            op.name = "operation".to_owned();
        }
        if !seen.insert(op.name.clone()) {
            let mut n = 2;
            while seen.contains(&format!("{}_{n}", op.name)) {
                n += 1;
            }
            op.name = format!("{}_{n}", op.name);
            seen.insert(op.name.clone());
        }
    }
}

/// The IR status of a LAP code (`200`, `2XX`, `OK`).
pub fn status(code: &str) -> Status {
    let code = code.trim();
    if let Ok(n) = code.parse::<u16>() {
        return Status::Code(n);
    }
    let b = code.as_bytes();
    if b.len() == 3 && b[0].is_ascii_digit() && b[1..].iter().all(|c| matches!(c, b'X' | b'x')) {
        return Status::Class(b[0] - b'0');
    }
    Status::Other(code.to_owned())
}

/// The spec's `@errors` of an endpoint as IR.
fn errors(ep: &lap::Endpoint) -> Vec<ErrorResponse> {
    ep.errors
        .iter()
        .map(|e| ErrorResponse {
            status: status(&e.code),
            type_name: e.type_name.clone(),
            docs: e.desc.clone(),
        })
        .collect()
}

/// Trims a description, `None` when empty.
fn docs(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(status("200"), Status::Code(200));
        assert_eq!(status("2XX"), Status::Class(2));
        assert_eq!(status("4xx"), Status::Class(4));
        assert_eq!(status("OK"), Status::Other("OK".into()));
    }
}
