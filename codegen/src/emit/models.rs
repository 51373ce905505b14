//! `models.rs`: every named type of the API that an operation reaches
//! ([`reachable_types`](crate::plan::reachable_types)).

use proc_macro2::TokenStream;
use quote::quote;

use crate::context::Context;
use crate::emit::{model_enum, model_struct, model_tests};
use crate::ir::TypeKind;

/// The whole `models.rs`.
pub fn file(ctx: &Context<'_>) -> TokenStream {
    let reachable = crate::plan::reachable_types(ctx.api);
    let items = ctx
        .types
        .entries()
        .filter(|entry| reachable.contains(&entry.ty.name))
        .map(|entry| match &entry.ty.kind {
            TypeKind::Struct { fields } => model_struct::model_struct(ctx, entry, fields),
            TypeKind::Enum { values, open } => model_enum::model_enum(entry, values, *open),
        });
    let tests = model_tests::module(ctx);
    quote! {
        //! The models of the API: the JSON documents its operations send and receive.
        //!
        //! Fields keep their names on the wire; unknown fields are ignored when reading. JSON
        //! `null` for a list or map reads as empty (ACR sends `"tags": null` for a repository
        //! whose tags were all deleted); date-times are read leniently (RFC 3339 with any
        //! number of fraction digits, `z`, or no offset, read as UTC); a value that does not
        //! fit names its JSON path in the error.
        #(#items)*
        #tests
    }
}
