//! How each parameter is taken (argument type), stored (builder field type) and converted.

use proc_macro2::TokenStream;
use quote::quote;

use crate::context::Context;
use crate::names::ident;
use crate::plan::{BodyKind, BodyPlan, Conv, ParamPlan};
use crate::types::Position;

/// The Rust type of one value of the parameter.
pub fn value_type(ctx: &Context<'_>, p: &ParamPlan<'_>) -> TokenStream {
    ctx.types.rust(&p.param.ty, Position::Wire)
}

/// The argument type of the method or setter (`impl Into<String>`,
/// `impl TryInto<RepositoryName, Error: Display>`, `impl IntoIterator<Item = ...>`).
pub fn arg_type(ctx: &Context<'_>, p: &ParamPlan<'_>) -> TokenStream {
    let t = value_type(ctx, p);
    let one = match p.conv {
        Conv::Into => quote!(impl Into<#t>),
        Conv::TryInto => quote!(impl TryInto<#t, Error: std::fmt::Display>),
    };
    if p.param.repeated {
        quote!(impl IntoIterator<Item = #one>)
    } else {
        one
    }
}

/// The builder field's type.
pub fn field_type(ctx: &Context<'_>, p: &ParamPlan<'_>) -> TokenStream {
    let t = value_type(ctx, p);
    let held = if p.param.repeated {
        quote!(Vec<#t>)
    } else if p.param.required {
        t
    } else {
        quote!(Option<#t>)
    };
    match p.conv {
        Conv::Into => held,
        Conv::TryInto => quote!(Result<#held, String>),
    }
}

/// The stored value made from the argument named `p.public` (what the method or setter
/// puts into the field).
pub fn store(ctx: &Context<'_>, p: &ParamPlan<'_>) -> TokenStream {
    let arg = ident(&p.public);
    let t = value_type(ctx, p);
    match (p.conv, p.param.repeated, p.param.required) {
        (Conv::Into, true, _) => quote!(#arg.into_iter().map(Into::into).collect()),
        (Conv::Into, false, true) => quote!(#arg.into()),
        (Conv::Into, false, false) => quote!(Some(#arg.into())),
        (Conv::TryInto, true, _) => quote! {
            #arg.into_iter()
                .map(|item| TryInto::<#t>::try_into(item).map_err(|e| e.to_string()))
                .collect()
        },
        (Conv::TryInto, false, true) => {
            quote!(TryInto::<#t>::try_into(#arg).map_err(|e| e.to_string()))
        }
        (Conv::TryInto, false, false) => {
            quote!(TryInto::<#t>::try_into(#arg).map(Some).map_err(|e| e.to_string()))
        }
    }
}

/// The field's value before its setter is called (optional parameters only).
pub fn unset(p: &ParamPlan<'_>) -> TokenStream {
    match (p.conv, p.param.repeated) {
        (Conv::Into, true) => quote!(Vec::new()),
        (Conv::Into, false) => quote!(None),
        (Conv::TryInto, true) => quote!(Ok(Vec::new())),
        (Conv::TryInto, false) => quote!(Ok(None)),
    }
}

/// The body's value type.
pub fn body_type(ctx: &Context<'_>, b: &BodyPlan<'_>) -> TokenStream {
    match b.kind {
        BodyKind::Bytes { .. } | BodyKind::BytesWithType { .. } => quote!(bytes::Bytes),
        BodyKind::Text { .. } => quote!(String),
        BodyKind::Json => ctx.types.rust(&b.body.ty, Position::Model),
    }
}

/// The builder fields of the body: `(field, type)` pairs.
pub fn body_fields(ctx: &Context<'_>, b: &BodyPlan<'_>) -> Vec<(TokenStream, TokenStream)> {
    let t = body_type(ctx, b);
    let field = ident(&b.field);
    match (&b.kind, b.body.required) {
        (BodyKind::BytesWithType { field: ct, .. }, true) => {
            let ct = ident(ct);
            vec![(quote!(#field), t), (quote!(#ct), quote!(String))]
        }
        (BodyKind::BytesWithType { .. }, false) => {
            vec![(quote!(#field), quote!(Option<(#t, String)>))]
        }
        (_, true) => vec![(quote!(#field), t)],
        (_, false) => vec![(quote!(#field), quote!(Option<#t>))],
    }
}

/// The arguments of the body: `(name, type)` pairs (the media type follows the bytes when
/// the caller gives it).
pub fn body_args(ctx: &Context<'_>, b: &BodyPlan<'_>) -> Vec<(TokenStream, TokenStream)> {
    let t = body_type(ctx, b);
    let arg = ident(&b.public);
    let mut out = vec![(quote!(#arg), quote!(impl Into<#t>))];
    if let BodyKind::BytesWithType { public, .. } = &b.kind {
        let ct = ident(public);
        out.push((quote!(#ct), quote!(impl Into<String>)));
    }
    out
}

/// The field initializers that store the body arguments.
pub fn body_store(b: &BodyPlan<'_>) -> Vec<TokenStream> {
    let field = ident(&b.field);
    let arg = ident(&b.public);
    match (&b.kind, b.body.required) {
        (
            BodyKind::BytesWithType {
                public,
                field: ct_field,
            },
            true,
        ) => {
            let ct = ident(public);
            let ct_field = ident(ct_field);
            vec![quote!(#field: #arg.into()), quote!(#ct_field: #ct.into())]
        }
        (BodyKind::BytesWithType { public, .. }, false) => {
            let ct = ident(public);
            vec![quote!(#field: Some((#arg.into(), #ct.into())))]
        }
        (_, true) => vec![quote!(#field: #arg.into())],
        (_, false) => vec![quote!(#field: Some(#arg.into()))],
    }
}
