//! How a value of a [`TypeRef`] becomes text on the wire (path, query, header, form, scope).

use proc_macro2::TokenStream;
use quote::quote;

use crate::context::Context;
use crate::ir::TypeRef;
use crate::plan::ParamPlan;
use crate::types::TypeTable;

/// How an expression holds its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// An owned value the text may consume.
    Move,
    /// A local that must stay usable (borrowed).
    Place,
    /// A reference.
    Ref,
}

/// `expr` (of the Rust type of `ty`) as a reference expression.
fn as_ref(expr: &TokenStream, mode: Mode) -> TokenStream {
    match mode {
        Mode::Ref => quote!(#expr),
        Mode::Move | Mode::Place => quote!(&#expr),
    }
}

/// Whether a JSON-serialized value is the text of `ty` (it is not text-like).
fn is_joined_item(ctx: &Context<'_>, item: &TypeRef) -> bool {
    ctx.types.is_text_like(item) || matches!(item, TypeRef::Bytes)
}

/// The error path for a value that cannot be serialized.
pub fn invalid_input(ctx: &Context<'_>) -> TokenStream {
    let rt = &ctx.rt;
    quote!(|e| #rt::Error::invalid_input(OPERATION, e.to_string()))
}

/// An expression of type `String`: the wire text of `expr`. It may hold `?`.
pub fn text(ctx: &Context<'_>, ty: &TypeRef, expr: &TokenStream, mode: Mode) -> TokenStream {
    match ty {
        TypeRef::String => match mode {
            Mode::Move => quote!(#expr),
            Mode::Place | Mode::Ref => quote!(#expr.clone()),
        },
        // a secret's `Display` is `<redacted>`: the wire gets the exposed value
        _ if TypeTable::is_secret(ty) => quote!(#expr.expose().to_owned()),
        TypeRef::Array(item) if TypeTable::is_secret(item) => {
            quote!(#expr.iter().map(|item| item.expose()).collect::<Vec<_>>().join(","))
        }
        _ if ctx.types.is_text_like(ty) => quote!(#expr.to_string()),
        TypeRef::Bytes => {
            let r = as_ref(expr, mode);
            quote!(String::from_utf8_lossy(#r).into_owned())
        }
        TypeRef::Json => {
            let r = as_ref(expr, mode);
            quote!(support::json_text(#r))
        }
        TypeRef::Array(item) if matches!(**item, TypeRef::String | TypeRef::Bytes) => {
            quote!(#expr.join(","))
        }
        TypeRef::Array(item) if is_joined_item(ctx, item) => {
            quote!(#expr.iter().map(ToString::to_string).collect::<Vec<_>>().join(","))
        }
        _ => {
            let r = as_ref(expr, mode);
            let err = invalid_input(ctx);
            quote!(serde_json::to_string(#r).map_err(#err)?)
        }
    }
}

/// An expression that coerces to `&str`, borrowing the local `place` of type `ty`.
pub fn str_ref(ctx: &Context<'_>, ty: &TypeRef, place: &TokenStream) -> TokenStream {
    match ty {
        TypeRef::String => quote!(&#place),
        TypeRef::Runtime(t) if t.has_as_str() => {
            quote!(#place.as_str())
        }
        _ if TypeTable::is_secret(ty) => quote!(#place.expose()),
        _ => {
            let text = text(ctx, ty, place, Mode::Place);
            quote!(&#text)
        }
    }
}

/// An expression of type `String` or `&str`: the text of a parameter's local, whatever its
/// arity (an absent optional value is empty, repeated values are joined with `,`). The local
/// stays usable.
pub fn param_text(ctx: &Context<'_>, param: &ParamPlan<'_>) -> TokenStream {
    let place = crate::names::ident(&param.field);
    let place = quote!(#place);
    let ty = &param.param.ty;
    let item = quote!(item);
    if param.param.repeated {
        let each = text(ctx, ty, &item, Mode::Ref);
        if each.to_string().contains('?') {
            text(
                ctx,
                &TypeRef::Array(Box::new(ty.clone())),
                &place,
                Mode::Place,
            )
        } else {
            quote!(#place.iter().map(|item| #each).collect::<Vec<_>>().join(","))
        }
    } else if !param.param.required {
        if matches!(ty, TypeRef::String) {
            return quote!(#place.clone().unwrap_or_default());
        }
        let each = text(ctx, ty, &item, Mode::Ref);
        if each.to_string().contains('?') {
            quote!(match &#place { Some(item) => #each, None => String::new() })
        } else {
            quote!(#place.as_ref().map(|item| #each).unwrap_or_default())
        }
    } else {
        match ty {
            TypeRef::String => quote!(#place.as_str()),
            TypeRef::Runtime(t) if t.has_as_str() => {
                quote!(#place.as_str())
            }
            _ => text(ctx, ty, &place, Mode::Place),
        }
    }
}

/// Whether the text of `ty` uses the `json_text` helper.
pub fn needs_json_text(ty: &TypeRef) -> bool {
    matches!(ty, TypeRef::Json)
}
