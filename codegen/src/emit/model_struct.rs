//! A model struct: serde, wire names kept, unknown fields tolerated.

use proc_macro2::TokenStream;
use quote::quote;

use crate::context::Context;
use crate::docs;
use crate::ir::{Field, TypeRef};
use crate::names::ident;
use crate::types::{Position, TypeEntry, TypeTable, struct_fields};

/// One field with its serde attribute.
fn field(ctx: &Context<'_>, owner: &str, f: &Field, name: &str) -> TokenStream {
    let id = ident(name);
    let mut ty = ctx.types.rust(&f.ty, Position::Model);
    if ctx.types.is_boxed(owner, &f.name) {
        ty = quote!(Box<#ty>);
    }
    let mut serde = Vec::new();
    if name != f.name {
        let wire = &f.name;
        serde.push(quote!(rename = #wire));
    }
    let collection = matches!(f.ty, TypeRef::Array(_) | TypeRef::Map(_));
    // How the value is read: date-times leniently (anywhere in lists and maps too), JSON
    // `null` for a required list or map as empty (ACR's `"tags": null`); an optional field
    // reads `null` as `None` by itself.
    let reader = if TypeTable::holds_date_time(&f.ty) {
        Some("lenient")
    } else if f.required && collection {
        Some("null_as_default")
    } else {
        None
    };
    if f.required {
        if collection {
            serde.push(quote!(default));
        }
    } else {
        serde.push(quote!(default, skip_serializing_if = "Option::is_none"));
        ty = quote!(Option<#ty>);
    }
    if let Some(reader) = reader {
        let path = format!("{}::json::{reader}", ctx.types.rt_path());
        serde.push(quote!(deserialize_with = #path));
    }
    let serde = if serde.is_empty() {
        quote!()
    } else {
        quote!(#[serde(#(#serde),*)])
    };
    let fallback = format!("The {} field.", docs::code(&f.name));
    let doc = docs::attrs(&docs::or_fallback(f.docs.as_deref(), &fallback));
    quote! {
        #doc
        #serde
        pub #id: #ty
    }
}

/// Whether `Default` can be derived: every field is optional or has an obvious default.
fn derives_default(fields: &[(&Field, String)]) -> bool {
    fields
        .iter()
        .all(|(f, _)| !f.required || TypeTable::has_trivial_default(&f.ty))
}

/// `pub struct Name { ... }` for a struct entry with `fields`.
pub fn model_struct(ctx: &Context<'_>, entry: &TypeEntry<'_>, fields: &[Field]) -> TokenStream {
    let name = ident(&entry.ident);
    let fields = struct_fields(fields);
    let default = if derives_default(&fields) {
        quote!(Default,)
    } else {
        quote!()
    };
    let emitted = fields.iter().map(|(f, n)| field(ctx, &entry.ty.name, f, n));
    let fallback = format!("The {} model.", docs::code(&entry.ty.name));
    let doc = docs::attrs(&docs::or_fallback(entry.ty.docs.as_deref(), &fallback));
    quote! {
        #doc
        #[derive(Debug, Clone, PartialEq, #default serde::Serialize, serde::Deserialize)]
        pub struct #name {
            #(#emitted,)*
        }
    }
}
