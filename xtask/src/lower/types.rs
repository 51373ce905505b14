//! Lowering of LAP type expressions to IR [`TypeRef`]s, hoisting inline objects and enums into
//! named types.

use std::collections::BTreeMap;

use acr_codegen::ir::{Field, NamedType, RuntimeType, TypeKind as IrKind, TypeRef};

use crate::lap::{self, TypeDefBody, TypeExpr, TypeKind};

use super::LowerError;

/// The named types of an API being lowered.
#[derive(Debug, Default)]
pub struct TypeTable {
    types: BTreeMap<String, NamedType>,
    /// Names declared by `@type` (spec or overlay), resolved as [`TypeRef::Named`].
    declared: BTreeMap<String, ()>,
    /// Whether [`RuntimeType`] names resolve to runtime types (overlay only).
    pub runtime_names: bool,
}

/// How the fields of an inline object count as required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRule {
    /// Required unless marked nullable `?` (`@type` bodies).
    RequiredUnlessNullable,
    /// Required only when marked `!` (params, `@returns` fields: LAP says nothing else).
    RequiredIfMarked,
}

impl TypeTable {
    /// Declares the `@type` definitions of a document, so references to them resolve.
    pub fn declare(&mut self, doc: &lap::Document) {
        for t in &doc.types {
            self.declared.insert(t.name.clone(), ());
        }
    }

    /// Lowers the `@type` definitions of a document into named types.
    pub fn define_all(&mut self, doc: &lap::Document) -> Result<(), LowerError> {
        for t in &doc.types {
            let kind = match &t.body {
                TypeDefBody::Fields(fields) => IrKind::Struct {
                    fields: self.lower_fields(
                        fields,
                        &t.name,
                        FieldRule::RequiredUnlessNullable,
                    )?,
                },
                TypeDefBody::Alias(expr) => match enum_values(expr) {
                    Some(values) => IrKind::Enum { values, open: true },
                    None => {
                        return Err(LowerError::new(
                            t.pos,
                            format!(
                                "type {} = {} is not supported: a @type is a {{fields}} object or a str(a/b) enum",
                                t.name,
                                lap::print_type(expr)
                            ),
                        ));
                    }
                },
            };
            if self.types.contains_key(&t.name) {
                return Err(LowerError::new(
                    t.pos,
                    format!("type {} is defined twice", t.name),
                ));
            }
            self.types.insert(
                t.name.clone(),
                NamedType {
                    name: t.name.clone(),
                    docs: None,
                    kind,
                },
            );
        }
        Ok(())
    }

    /// The named type called `name`, if defined.
    pub fn get(&self, name: &str) -> Option<&NamedType> {
        self.types.get(name)
    }

    /// All named types, sorted by name.
    pub fn into_types(self) -> Vec<NamedType> {
        self.types.into_values().collect()
    }

    /// Lowers a type expression; inline objects and enums become named types called after
    /// `hint` (PascalCase).
    pub fn lower(&mut self, expr: &TypeExpr, hint: &str) -> Result<TypeRef, LowerError> {
        self.lower_at(expr, hint, 0)
    }

    fn lower_at(
        &mut self,
        expr: &TypeExpr,
        hint: &str,
        depth: usize,
    ) -> Result<TypeRef, LowerError> {
        if depth > lap::MAX_TYPE_DEPTH {
            return Err(LowerError::new(
                expr.pos,
                "type nested too deeply".to_owned(),
            ));
        }
        if let Some(values) = enum_values(expr)
            && !matches!(expr.kind, TypeKind::Array(_))
        {
            return Ok(self.hoist_enum(hint, values));
        }
        let ty = match &expr.kind {
            TypeKind::Str => match expr
                .format
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("date-time" | "datetime") => TypeRef::DateTime,
                _ => TypeRef::String,
            },
            TypeKind::Int => match expr.format.as_deref() {
                Some("int32" | "i32" | "int16" | "int8" | "uint8" | "uint16") => {
                    TypeRef::Integer { bits: 32 }
                }
                _ => TypeRef::Integer { bits: 64 },
            },
            TypeKind::Num | TypeKind::Float => TypeRef::Number,
            TypeKind::Bool => TypeRef::Bool,
            TypeKind::Any | TypeKind::Null => TypeRef::Json,
            TypeKind::Bytes | TypeKind::File => TypeRef::String,
            TypeKind::Enum => TypeRef::String,
            TypeKind::Map => match &expr.children {
                Some(children) if !children.is_empty() => self.hoist_struct(hint, children)?,
                _ => TypeRef::Json,
            },
            TypeKind::Named(name) => {
                if let Some(t) = RuntimeType::from_name(name).filter(|_| self.runtime_names) {
                    TypeRef::Runtime(t)
                } else if self.declared.contains_key(name) {
                    TypeRef::Named(name.clone())
                } else {
                    match &expr.children {
                        Some(children) if !children.is_empty() => {
                            self.hoist_struct(&pascal(name), children)?
                        }
                        _ => TypeRef::Json,
                    }
                }
            }
            TypeKind::Array(item) => {
                let item_hint = format!("{hint}Item");
                let inner = match enum_values(expr) {
                    Some(values)
                        if matches!(item.kind, TypeKind::Str | TypeKind::Int | TypeKind::Enum) =>
                    {
                        self.hoist_enum(&item_hint, values)
                    }
                    _ => self.lower_at(item, &item_hint, depth + 1)?,
                };
                TypeRef::Array(Box::new(inner))
            }
            TypeKind::MapKv(_, v) => TypeRef::Map(Box::new(self.lower_at(
                v,
                &format!("{hint}Value"),
                depth + 1,
            )?)),
        };
        Ok(ty)
    }

    fn lower_fields(
        &mut self,
        fields: &[lap::Field],
        owner: &str,
        rule: FieldRule,
    ) -> Result<Vec<Field>, LowerError> {
        let mut out: Vec<Field> = Vec::new();
        for f in fields {
            if f.name == "..." || out.iter().any(|o| o.name == f.name) {
                continue;
            }
            let hint = format!("{owner}{}", pascal(&f.name));
            let ty = self.lower(&f.ty, &hint)?;
            let required = match rule {
                FieldRule::RequiredUnlessNullable => !f.ty.nullable,
                FieldRule::RequiredIfMarked => f.required,
            };
            out.push(Field {
                name: f.name.clone(),
                ty,
                required,
                docs: None,
            });
        }
        Ok(out)
    }

    /// Hoists an inline object into a named struct; an identical struct of the same base name
    /// is reused.
    pub fn hoist_struct(
        &mut self,
        hint: &str,
        children: &[lap::Field],
    ) -> Result<TypeRef, LowerError> {
        let fields = self.lower_fields(children, hint, FieldRule::RequiredIfMarked)?;
        Ok(self.insert_unique(hint, IrKind::Struct { fields }))
    }

    /// Hoists a struct of already lowered fields (a request body made of params).
    pub fn hoist_fields(&mut self, hint: &str, fields: Vec<Field>) -> TypeRef {
        self.insert_unique(hint, IrKind::Struct { fields })
    }

    fn hoist_enum(&mut self, hint: &str, values: Vec<String>) -> TypeRef {
        self.insert_unique(hint, IrKind::Enum { values, open: true })
    }

    fn insert_unique(&mut self, hint: &str, kind: IrKind) -> TypeRef {
        let base = if hint.is_empty() {
            "Anonymous".to_owned()
        } else {
            hint.to_owned()
        };
        let mut name = base.clone();
        let mut n = 1;
        loop {
            match self.types.get(&name) {
                Some(existing) if existing.kind == kind => return TypeRef::Named(name),
                Some(_) => {
                    n += 1;
                    name = format!("{base}{n}");
                }
                None if self.declared.contains_key(&name) => {
                    n += 1;
                    name = format!("{base}{n}");
                }
                None => break,
            }
        }
        self.types.insert(
            name.clone(),
            NamedType {
                name: name.clone(),
                docs: None,
                kind,
            },
        );
        TypeRef::Named(name)
    }
}

/// The enum values of an expression, if it is an enum of text or numbers.
fn enum_values(expr: &TypeExpr) -> Option<Vec<String>> {
    let values = expr.enum_values.as_ref()?;
    if values.len() < 2 && !matches!(expr.kind, TypeKind::Enum) {
        return None;
    }
    match &expr.kind {
        TypeKind::Str | TypeKind::Int | TypeKind::Num | TypeKind::Enum | TypeKind::Array(_) => {
            let mut seen = Vec::new();
            for v in values {
                if !seen.contains(v) {
                    seen.push(v.clone());
                }
            }
            Some(seen)
        }
        _ => None,
    }
}

/// `PascalCase` of arbitrary text: words split at any non-alphanumeric character and at
/// lower-to-upper case changes.
pub fn pascal(text: &str) -> String {
    let mut out = String::new();
    for word in words(text) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(&chars.as_str().to_lowercase());
        }
    }
    out
}

/// `snake_case` of arbitrary text.
pub fn snake(text: &str) -> String {
    words(text)
        .iter()
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join("_")
}

fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in text.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_numeric();
        cur.push(c);
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_conversion() {
        assert_eq!(pascal("get_tags"), "GetTags");
        assert_eq!(pascal("imageName"), "ImageName");
        assert_eq!(pascal("filter[timestamp][start]"), "FilterTimestampStart");
        assert_eq!(snake("Content-Type"), "content_type");
        assert_eq!(snake("manifestCount"), "manifest_count");
        assert_eq!(snake("/v2/{name}/blobs/"), "v2_name_blobs");
    }
}
