//! The named types of an API: their Rust names, which ones need a `Box`, and how a
//! [`TypeRef`] is spelled in Rust.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::TokenStream;
use quote::quote;

use crate::ir::{Api, NamedType, RuntimeType, TypeKind, TypeRef};
use crate::names::{Namer, Style, ident, pascal};

/// Type names that would shadow the prelude (or a type the emitted code spells bare) if a
/// model took them; such a model gets `Model` appended.
const SHADOWED: &[&str] = &[
    "Option",
    "Result",
    "String",
    "Vec",
    "Box",
    "Some",
    "None",
    "Ok",
    "Err",
    "Default",
    "Clone",
    "Copy",
    "Send",
    "Sync",
    "Sized",
    "Unpin",
    "Drop",
    "Fn",
    "FnMut",
    "FnOnce",
    "Iterator",
    "IntoIterator",
    "Into",
    "From",
    "TryFrom",
    "TryInto",
    "ToString",
    "ToOwned",
    "PartialEq",
    "Eq",
    "PartialOrd",
    "Ord",
    "Debug",
    "AsRef",
    "AsMut",
    "Extend",
];

/// Where a type is spelled: in a model (JSON) or in a parameter or body (the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// A field of a model, or a JSON body: raw bytes have no JSON form and become text.
    Model,
    /// A parameter, a request or response body: raw bytes are `bytes::Bytes`.
    Wire,
}

/// What a named type is, once resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// A struct.
    Struct,
    /// A string enum; `open` keeps unknown values.
    Enum {
        /// Whether unknown values are kept.
        open: bool,
    },
}

/// A named type with its Rust name.
#[derive(Debug, Clone)]
pub struct TypeEntry<'a> {
    /// The Rust identifier.
    pub ident: String,
    /// The IR type.
    pub ty: &'a NamedType,
    /// Its shape.
    pub shape: Shape,
}

/// The named types of an API and the paths the emitted code uses.
#[derive(Debug, Clone)]
pub struct TypeTable<'a> {
    entries: BTreeMap<&'a str, TypeEntry<'a>>,
    /// `(struct, field)` wire-name pairs whose field must be boxed (the struct contains
    /// itself through it without a `Vec` or map in between).
    boxed: BTreeSet<(String, String)>,
    rt: TokenStream,
}

impl<'a> TypeTable<'a> {
    /// Names the types of `api` (first of each name wins; sorted by IR name), and finds the
    /// fields that need a `Box`. `rt` is the runtime crate's path.
    pub fn new(api: &'a Api, rt: TokenStream) -> Self {
        let mut sorted: Vec<&NamedType> = api.types.iter().collect();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        let mut namer = Namer::new(Style::Pascal, &[]);
        let mut entries = BTreeMap::new();
        for ty in sorted {
            if entries.contains_key(ty.name.as_str()) {
                continue;
            }
            let mut base = pascal(&ty.name, "Unnamed", "T");
            if SHADOWED.contains(&base.as_str()) {
                base.push_str("Model");
            }
            let shape = match &ty.kind {
                TypeKind::Struct { .. } => Shape::Struct,
                TypeKind::Enum { open, .. } => Shape::Enum { open: *open },
            };
            entries.insert(
                ty.name.as_str(),
                TypeEntry {
                    ident: namer.claim(&base),
                    ty,
                    shape,
                },
            );
        }
        let boxed = find_boxed(&entries);
        Self { entries, boxed, rt }
    }

    /// The named types in emission order (sorted by IR name).
    pub fn entries(&self) -> impl Iterator<Item = &TypeEntry<'a>> {
        self.entries.values()
    }

    /// The entry for an IR type name.
    pub fn get(&self, name: &str) -> Option<&TypeEntry<'a>> {
        self.entries.get(name)
    }

    /// Whether field `field` of struct `strukt` (IR names) must be boxed.
    pub fn is_boxed(&self, strukt: &str, field: &str) -> bool {
        self.boxed.contains(&(strukt.to_owned(), field.to_owned()))
    }

    /// Whether `ty` is an enum of this API.
    pub fn is_enum(&self, ty: &TypeRef) -> bool {
        matches!(ty, TypeRef::Named(n) if matches!(self.get(n).map(|e| &e.shape), Some(Shape::Enum { .. })))
    }

    /// Whether `ty` is the runtime's `Secret` (a password or token): its `Display` is
    /// `<redacted>`, so its wire text is `expose()`, never `to_string()`.
    pub fn is_secret(ty: &TypeRef) -> bool {
        matches!(ty, TypeRef::Runtime(RuntimeType::Secret))
    }

    /// Whether values of `ty` print their wire form with `Display` and parse it with
    /// `FromStr` (text, numbers, booleans, timestamps, runtime names, enums; not secrets).
    pub fn is_text_like(&self, ty: &TypeRef) -> bool {
        match ty {
            _ if Self::is_secret(ty) => false,
            TypeRef::String
            | TypeRef::Integer { .. }
            | TypeRef::Number
            | TypeRef::Bool
            | TypeRef::DateTime
            | TypeRef::Runtime(_) => true,
            TypeRef::Named(_) => self.is_enum(ty),
            TypeRef::Bytes | TypeRef::Json | TypeRef::Array(_) | TypeRef::Map(_) => false,
        }
    }

    /// Whether a required model field of type `ty` has an obvious `Default`.
    pub fn has_trivial_default(ty: &TypeRef) -> bool {
        Self::is_secret(ty)
            || matches!(
                ty,
                TypeRef::String
                    | TypeRef::Integer { .. }
                    | TypeRef::Number
                    | TypeRef::Bool
                    | TypeRef::Bytes
                    | TypeRef::Json
                    | TypeRef::Array(_)
                    | TypeRef::Map(_)
            )
    }

    /// The runtime crate's path.
    pub fn rt(&self) -> &TokenStream {
        &self.rt
    }

    /// The runtime crate's path as text (`acr_runtime`), for serde attributes.
    pub fn rt_path(&self) -> String {
        self.rt.to_string().replace(' ', "")
    }

    /// Whether `ty` is a date-time, or a list or map that holds them (read leniently by the
    /// runtime's `json::lenient`, which also reads a `null` list or map as empty).
    pub fn holds_date_time(ty: &TypeRef) -> bool {
        match ty {
            TypeRef::DateTime => true,
            TypeRef::Array(inner) | TypeRef::Map(inner) => Self::holds_date_time(inner),
            _ => false,
        }
    }

    /// The Rust spelling of `ty` at `pos`. An unknown named type becomes `serde_json::Value`.
    pub fn rust(&self, ty: &TypeRef, pos: Position) -> TokenStream {
        match ty {
            TypeRef::String => quote!(String),
            TypeRef::Integer { bits } if *bits <= 32 => quote!(i32),
            TypeRef::Integer { .. } => quote!(i64),
            TypeRef::Number => quote!(f64),
            TypeRef::Bool => quote!(bool),
            // Read by the runtime's `json::lenient` (any fraction digits, `z`, no offset).
            TypeRef::DateTime => quote!(jiff::Timestamp),
            TypeRef::Bytes => match pos {
                Position::Model => quote!(String),
                Position::Wire => quote!(bytes::Bytes),
            },
            TypeRef::Json => quote!(serde_json::Value),
            TypeRef::Array(item) => {
                let item = self.rust(item, Position::Model);
                quote!(Vec<#item>)
            }
            TypeRef::Map(value) => {
                let value = self.rust(value, Position::Model);
                quote!(std::collections::BTreeMap<String, #value>)
            }
            TypeRef::Named(name) => match self.get(name) {
                Some(entry) => {
                    let id = ident(&entry.ident);
                    quote!(crate::models::#id)
                }
                None => quote!(serde_json::Value),
            },
            TypeRef::Runtime(t) => {
                let rt = &self.rt;
                let id = ident(t.name());
                match t.module() {
                    Some(module) => {
                        let module = ident(module);
                        quote!(#rt::#module::#id)
                    }
                    None => quote!(#rt::#id),
                }
            }
        }
    }
}

/// The `(struct, field)` pairs to box: a field whose type is a struct directly (not through
/// a `Vec` or a map) that leads back to the struct that holds it.
fn find_boxed(entries: &BTreeMap<&str, TypeEntry<'_>>) -> BTreeSet<(String, String)> {
    let direct = |name: &str| -> Vec<(String, String)> {
        match entries.get(name).map(|e| &e.ty.kind) {
            Some(TypeKind::Struct { fields }) => fields
                .iter()
                .filter_map(|f| match &f.ty {
                    TypeRef::Named(target)
                        if matches!(
                            entries.get(target.as_str()).map(|e| &e.shape),
                            Some(Shape::Struct)
                        ) =>
                    {
                        Some((f.name.clone(), target.clone()))
                    }
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    };
    let reaches = |from: &str, to: &str| -> bool {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_owned()];
        while let Some(n) = stack.pop() {
            if n == to {
                return true;
            }
            if seen.insert(n.clone()) {
                stack.extend(direct(&n).into_iter().map(|(_, t)| t));
            }
        }
        false
    };
    let mut boxed = BTreeSet::new();
    for name in entries.keys() {
        for (field, target) in direct(name) {
            if reaches(&target, name) {
                boxed.insert(((*name).to_owned(), field));
            }
        }
    }
    boxed
}

/// The fields of a struct that are emitted (the first of each wire name) with their Rust
/// names, in order.
pub fn struct_fields(fields: &[crate::ir::Field]) -> Vec<(&crate::ir::Field, String)> {
    let mut seen = BTreeSet::new();
    let mut namer = Namer::new(Style::Snake, &[]);
    fields
        .iter()
        .filter(|f| seen.insert(f.name.as_str()))
        .map(|f| (f, namer.claim(&crate::names::snake(&f.name, "field"))))
        .collect()
}
