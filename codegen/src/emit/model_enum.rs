//! A string enum: closed (unknown values fail to parse) or open (kept in `Other`).

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::quote;

use crate::docs;
use crate::names::{Namer, Style, ident, pascal};
use crate::types::TypeEntry;

/// A name for a value with no letter or digit (`+`, `>=`, ``): its symbols spelled out.
fn symbol_name(value: &str) -> String {
    let words: String = value
        .chars()
        .filter_map(|c| {
            Some(match c {
                '+' => "Plus",
                '-' => "Minus",
                '*' => "Star",
                '/' => "Slash",
                '\\' => "Backslash",
                '.' => "Dot",
                ',' => "Comma",
                ':' => "Colon",
                ';' => "Semicolon",
                '=' => "Eq",
                '<' => "Lt",
                '>' => "Gt",
                '!' => "Not",
                '?' => "Question",
                '@' => "At",
                '#' => "Hash",
                '$' => "Dollar",
                '%' => "Percent",
                '&' => "And",
                '|' => "Or",
                '^' => "Caret",
                '~' => "Tilde",
                '_' => "Underscore",
                ' ' => "Space",
                _ => return None,
            })
        })
        .collect();
    if words.is_empty() {
        "Empty".to_owned()
    } else {
        words
    }
}

/// The variants: `(wire value, Rust name)`, the first of each value, in order; and the
/// name of the catch-all variant of an open enum.
pub fn variants(values: &[String], open: bool) -> (Vec<(&str, String)>, Option<String>) {
    let mut seen = BTreeSet::new();
    let mut namer = Namer::new(Style::Pascal, &[]);
    let known: Vec<(&str, String)> = values
        .iter()
        .filter(|v| seen.insert(v.as_str()))
        .map(|v| (v.as_str(), namer.claim(&pascal(v, &symbol_name(v), "V"))))
        .collect();
    let other = open.then(|| {
        if namer.is_taken("Other") {
            namer.claim("UnknownValue")
        } else {
            namer.claim("Other")
        }
    });
    (known, other)
}

/// `pub enum Name { ... }` with `as_str`, `Display` and `FromStr`.
pub fn model_enum(entry: &TypeEntry<'_>, values: &[String], open: bool) -> TokenStream {
    let name = ident(&entry.ident);
    let (known, other) = variants(values, open);
    let decl = known.iter().map(|(wire, v)| {
        let v = ident(v);
        let doc = docs::attrs(&[format!("The value {}.", docs::code(wire))]);
        quote!(#doc #[serde(rename = #wire)] #v)
    });
    let as_str = known.iter().map(|(wire, v)| {
        let v = ident(v);
        quote!(Self::#v => #wire)
    });
    let from_str = known.iter().map(|(wire, v)| {
        let v = ident(v);
        quote!(#wire => Self::#v)
    });
    let kind = if open { "open" } else { "closed" };
    let fallback = format!("The {} values.", docs::code(&entry.ty.name));
    let mut lines = docs::or_fallback(entry.ty.docs.as_deref(), &fallback);
    lines.push(String::new());
    lines.push(if open {
        "An open set: a value this version does not know is kept as it is.".to_owned()
    } else {
        format!("A {kind} set: a value this version does not know is an error.")
    });
    let doc = docs::attrs(&lines);
    let (other_decl, other_as_str, from_str_tail, err_ty) = match &other {
        Some(o) => {
            let o = ident(o);
            (
                quote! {
                    /// A value this version of the API does not know, as on the wire.
                    #[serde(untagged)]
                    #o(String),
                },
                quote!(Self::#o(value) => value,),
                quote!(other => Self::#o(other.to_owned()),),
                quote!(std::convert::Infallible),
            )
        }
        None => (
            quote!(),
            quote!(),
            quote!(other => return Err(format!("unknown value {other:?}")),),
            quote!(String),
        ),
    };
    let derive_eq = quote!(
        Debug,
        Clone,
        PartialEq,
        Eq,
        Hash,
        serde::Serialize,
        serde::Deserialize
    );
    let as_str_body = if known.is_empty() && other.is_none() {
        quote!(match *self {})
    } else {
        quote!(match self { #(#as_str,)* #other_as_str })
    };
    let from_str_body = match (&other, known.is_empty()) {
        (Some(o), true) => {
            let o = ident(o);
            quote!(Ok(Self::#o(value.to_owned())))
        }
        (None, true) => quote!(Err(format!("unknown value {value:?}"))),
        (_, false) => quote!(Ok(match value { #(#from_str,)* #from_str_tail })),
    };
    quote! {
        #doc
        #[derive(#derive_eq)]
        pub enum #name {
            #(#decl,)*
            #other_decl
        }

        impl #name {
            /// The value as on the wire.
            pub fn as_str(&self) -> &str {
                #as_str_body
            }
        }

        impl std::fmt::Display for #name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for #name {
            type Err = #err_ty;

            fn from_str(value: &str) -> Result<Self, #err_ty> {
                #from_str_body
            }
        }
    }
}
