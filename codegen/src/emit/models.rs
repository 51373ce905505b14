//! `models.rs`: every named type of the API that an operation reaches
//! ([`reachable_types`](crate::plan::reachable_types)).

use proc_macro2::TokenStream;
use quote::quote;

use crate::context::Context;
use crate::emit::{model_enum, model_struct};
use crate::ir::TypeKind;
use crate::types::TypeEntry;

/// How many models one part of `models.rs` holds: each part is formatted on its own, so
/// memory holds the tokens of one part at a time, not of the whole file.
pub const PART: usize = 256;

/// The reachable named types, in the order `models.rs` writes them.
pub fn entries<'c, 'a>(ctx: &'c Context<'a>) -> Vec<&'c TypeEntry<'a>> {
    let reachable = crate::plan::reachable_types(ctx.api);
    ctx.types
        .entries()
        .filter(|entry| reachable.contains(&entry.ty.name))
        .collect()
}

/// The head of `models.rs`: its module docs.
pub fn head() -> TokenStream {
    quote! {
        //! The models of the API: the JSON documents its operations send and receive.
        //!
        //! Fields keep their names on the wire; unknown fields are ignored when reading. JSON
        //! `null` for a list or map reads as empty (ACR sends `"tags": null` for a repository
        //! whose tags were all deleted); date-times are read leniently (RFC 3339 with any
        //! number of fraction digits, `z`, or no offset, read as UTC); a value that does not
        //! fit names its JSON path in the error.
    }
}

/// The items of `entries` (a part of [`entries`]).
pub fn items(ctx: &Context<'_>, entries: &[&TypeEntry<'_>]) -> TokenStream {
    let items = entries.iter().map(|entry| match &entry.ty.kind {
        TypeKind::Struct { fields } => model_struct::model_struct(ctx, entry, fields),
        TypeKind::Enum { values, open } => model_enum::model_enum(entry, values, *open),
    });
    quote!(#(#items)*)
}
