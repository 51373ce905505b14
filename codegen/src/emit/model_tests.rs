//! The tests emitted beside the models: every struct model is read from a document in which
//! every list and map, at every depth, is JSON `null`, and every date-time has no offset, as
//! registries and Azure services send them. A model added to the spec is covered by the next
//! `cargo xtask codegen` without a hand-written line.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::quote;

use crate::context::Context;
use crate::ir::{Field, TypeKind, TypeRef};
use crate::names::{ident, pascal, snake};
use crate::types::{Shape, TypeEntry, struct_fields};

/// A date-time without an offset and with seven fraction digits (.NET's form).
const DATE_TIME: &str = "2022-12-13T09:17:12.6157503";

/// A `serde_json::json!` fragment for a value of `ty`, collections `null`; `None` when no
/// value can be made (a required field that leads back to a struct being built).
fn sample(ctx: &Context<'_>, ty: &TypeRef, stack: &mut BTreeSet<String>) -> Option<TokenStream> {
    Some(match ty {
        TypeRef::Array(_) | TypeRef::Map(_) => quote!(null),
        TypeRef::String | TypeRef::Bytes => quote!("x"),
        TypeRef::Integer { .. } => quote!(1),
        TypeRef::Number => quote!(1.5),
        TypeRef::Bool => quote!(true),
        TypeRef::Json => quote!({}),
        TypeRef::DateTime => quote!(#DATE_TIME),
        TypeRef::Runtime(name) => {
            let text = match pascal(name, "Runtime", "T").as_str() {
                "Digest" => format!("sha256:{}", "a".repeat(64)),
                "RepositoryName" => "library/hello".to_owned(),
                "Reference" => "latest".to_owned(),
                "UploadLocation" => "/v2/r/blobs/uploads/u".to_owned(),
                _ => "x".to_owned(),
            };
            quote!(#text)
        }
        TypeRef::Named(name) => match ctx.types.get(name) {
            None => quote!({}),
            Some(entry) => match &entry.ty.kind {
                // an open enum takes any text; a closed one with no value takes none
                TypeKind::Enum { values, open } => match values.first() {
                    Some(v) => quote!(#v),
                    None if *open => quote!("x"),
                    None => return None,
                },
                TypeKind::Struct { fields } => object(ctx, &entry.ty.name, fields, stack)?,
            },
        },
    })
}

/// A `json!` object with every field of struct `name`.
fn object(
    ctx: &Context<'_>,
    name: &str,
    fields: &[Field],
    stack: &mut BTreeSet<String>,
) -> Option<TokenStream> {
    if !stack.insert(name.to_owned()) {
        return None;
    }
    let mut entries = Vec::new();
    for (f, _) in struct_fields(fields) {
        let value = match sample(ctx, &f.ty, stack) {
            Some(v) => v,
            None if !f.required => quote!(null),
            None => {
                stack.remove(name);
                return None;
            }
        };
        let key = &f.name;
        entries.push(quote!(#key: #value));
    }
    stack.remove(name);
    Some(quote!({ #(#entries),* }))
}

/// One `#[test]` for struct `entry`, or nothing when no document can be made for it.
fn test_fn(ctx: &Context<'_>, entry: &TypeEntry<'_>, fields: &[Field]) -> Option<TokenStream> {
    let doc = object(ctx, &entry.ty.name, fields, &mut BTreeSet::new())?;
    let ty = ident(&entry.ident);
    let name = ident(&snake(&entry.ident, "model"));
    let mut checks: Vec<TokenStream> = struct_fields(fields)
        .into_iter()
        .filter_map(|(f, n)| {
            if !matches!(f.ty, TypeRef::Array(_) | TypeRef::Map(_)) {
                return None;
            }
            let id = ident(&n);
            let wire = &f.name;
            Some(if f.required {
                quote!(assert!(model.#id.is_empty(), "{} reads null as empty", #wire);)
            } else {
                quote!(assert!(model.#id.is_none(), "{} reads null as absent", #wire);)
            })
        })
        .collect();
    if checks.is_empty() {
        checks.push(quote!(let _ = model;));
    }
    let rt = ctx.types.rt();
    Some(quote! {
        #[test]
        fn #name() {
            let doc = serde_json::json!(#doc);
            let model: crate::models::#ty = match #rt::json::from_value(doc) {
                Ok(model) => model,
                Err(e) => panic!("{}: {e}", stringify!(#ty)),
            };
            #(#checks)*
        }
    })
}

/// The struct models of `entries` that get a test.
pub fn tested<'c, 'a>(entries: &[&'c TypeEntry<'a>]) -> Vec<&'c TypeEntry<'a>> {
    entries
        .iter()
        .filter(|e| e.shape == Shape::Struct && matches!(e.ty.kind, TypeKind::Struct { .. }))
        .copied()
        .collect()
}

/// The test module of every reachable struct model (one module: [`part`] 0 of all).
pub fn module(ctx: &Context<'_>) -> TokenStream {
    let reachable = crate::plan::reachable_types(ctx.api);
    let entries: Vec<&TypeEntry<'_>> = ctx
        .types
        .entries()
        .filter(|e| reachable.contains(&e.ty.name))
        .collect();
    part(ctx, 0, &tested(&entries))
}

/// Test module number `index` (`null_collections`, then `null_collections_1`, ...) for the
/// struct models `entries` (a part of [`tested`]); empty when none gets a test.
pub fn part(ctx: &Context<'_>, index: usize, entries: &[&TypeEntry<'_>]) -> TokenStream {
    let tests: Vec<TokenStream> = entries
        .iter()
        .filter_map(|e| match &e.ty.kind {
            TypeKind::Struct { fields } => test_fn(ctx, e, fields),
            TypeKind::Enum { .. } => None,
        })
        .collect();
    if tests.is_empty() {
        return quote!();
    }
    let name = if index == 0 {
        quote::format_ident!("null_collections")
    } else {
        quote::format_ident!("null_collections_{}", index)
    };
    quote! {
        /// Every struct model read from a document whose lists and maps are all JSON `null`
        /// and whose date-times have no offset (emitted from the spec, so every model is
        /// covered).
        #[cfg(test)]
        mod #name {
            #(#tests)*
        }
    }
}
