//! The public-API change report of `cargo xtask codegen`: what a regeneration adds, removes or
//! changes in the generated crate, each marked additive or breaking (the semver hint a
//! maintainer needs before review).
//!
//! The surface is read from the generated Rust itself (old and new), so the report needs no
//! state beyond the committed files: operations are the methods of `impl Client`; their
//! required parameters are the method's arguments and their optional ones the setters
//! (`fn x(self, …) -> Self`) of the builder the method returns; types are the public structs
//! (with their public fields) and enums (with their variants).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use quote::ToTokens;

/// One operation's parameters: name → type, as written in Rust.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct OpSurface {
    required: Vec<(String, String)>,
    optional: BTreeMap<String, String>,
    returns: String,
}

/// The public surface of a generated crate.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Surface {
    ops: BTreeMap<String, OpSurface>,
    types: BTreeMap<String, BTreeMap<String, String>>,
}

/// Reads the surface of a set of generated files (unparsable files are skipped). Builders and
/// responses are per operation module, so everything but `models` is keyed by its file.
pub fn surface(files: &BTreeMap<String, String>) -> Surface {
    let mut out = Surface::default();
    for (path, text) in files {
        let Ok(file) = syn::parse_file(text) else {
            continue;
        };
        let mut client_methods: Vec<syn::ImplItemFn> = Vec::new();
        let mut impls: BTreeMap<String, Vec<syn::ImplItemFn>> = BTreeMap::new();
        let mut types = BTreeMap::new();
        collect(&file.items, &mut client_methods, &mut impls, &mut types);
        let module = path
            .trim_end_matches(".rs")
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let mut builders = BTreeSet::new();
        for m in client_methods {
            let name = m.sig.ident.to_string();
            let mut op = OpSurface {
                returns: ret_ident(&m.sig.output).unwrap_or_default(),
                ..OpSurface::default()
            };
            for input in &m.sig.inputs {
                if let syn::FnArg::Typed(pt) = input {
                    op.required.push((tokens(&pt.pat), tokens(&pt.ty)));
                }
            }
            if let Some(setters) = impls.get(&op.returns) {
                for s in setters {
                    let returns_self =
                        matches!(&s.sig.output, syn::ReturnType::Type(_, t) if tokens(t) == "Self");
                    let typed: Vec<_> = s
                        .sig
                        .inputs
                        .iter()
                        .filter_map(|i| match i {
                            syn::FnArg::Typed(pt) => Some(tokens(&pt.ty)),
                            syn::FnArg::Receiver(_) => None,
                        })
                        .collect();
                    if returns_self && typed.len() == 1 {
                        op.optional
                            .insert(s.sig.ident.to_string(), typed[0].clone());
                    }
                }
            }
            builders.insert(op.returns.clone());
            out.ops.insert(name, op);
        }
        for (name, fields) in types {
            if builders.contains(&name) {
                continue;
            }
            let key = if module == "models" || module == "lib" {
                name
            } else {
                format!("{module}::{name}")
            };
            out.types.insert(key, fields);
        }
    }
    out
}

fn collect(
    items: &[syn::Item],
    client: &mut Vec<syn::ImplItemFn>,
    impls: &mut BTreeMap<String, Vec<syn::ImplItemFn>>,
    types: &mut BTreeMap<String, BTreeMap<String, String>>,
) {
    for item in items {
        match item {
            syn::Item::Impl(i) if i.trait_.is_none() => {
                let Some(self_name) = type_ident(&i.self_ty) else {
                    continue;
                };
                let pub_fns = i.items.iter().filter_map(|it| match it {
                    syn::ImplItem::Fn(f) if matches!(f.vis, syn::Visibility::Public(_)) => {
                        Some(f.clone())
                    }
                    _ => None,
                });
                if self_name == "Client" {
                    client.extend(pub_fns.filter(|f| f.sig.receiver().is_some()));
                } else {
                    impls.entry(self_name).or_default().extend(pub_fns);
                }
            }
            syn::Item::Struct(s) if matches!(s.vis, syn::Visibility::Public(_)) => {
                let fields = s
                    .fields
                    .iter()
                    .filter(|f| matches!(f.vis, syn::Visibility::Public(_)))
                    .filter_map(|f| f.ident.as_ref().map(|i| (i.to_string(), tokens(&f.ty))))
                    .collect();
                types.insert(s.ident.to_string(), fields);
            }
            syn::Item::Enum(e) if matches!(e.vis, syn::Visibility::Public(_)) => {
                let variants = e
                    .variants
                    .iter()
                    .map(|v| (v.ident.to_string(), v.fields.to_token_stream().to_string()))
                    .collect();
                types.insert(e.ident.to_string(), variants);
            }
            syn::Item::Mod(m) => {
                if let Some((_, items)) = &m.content {
                    collect(items, client, impls, types);
                }
            }
            _ => {}
        }
    }
}

fn tokens<T: ToTokens>(t: &T) -> String {
    t.to_token_stream().to_string()
}

fn type_ident(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

fn ret_ident(ret: &syn::ReturnType) -> Option<String> {
    match ret {
        syn::ReturnType::Type(_, t) => type_ident(t),
        syn::ReturnType::Default => None,
    }
}

/// The report between two generated trees (or the changed files of them: files equal on both
/// sides add nothing); empty when the public API is unchanged.
pub fn report(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> String {
    let (a, b) = (surface(old), surface(new));
    let mut lines: Vec<(bool, String)> = Vec::new();
    for (name, op) in &b.ops {
        match a.ops.get(name) {
            None => lines.push((false, format!("+ operation {name}"))),
            Some(prev) => diff_op(name, prev, op, &mut lines),
        }
    }
    for name in a.ops.keys().filter(|n| !b.ops.contains_key(*n)) {
        lines.push((true, format!("- operation {name}")));
    }
    for (name, fields) in &b.types {
        match a.types.get(name) {
            None => lines.push((false, format!("+ type {name}"))),
            Some(prev) => {
                for (f, ty) in fields {
                    match prev.get(f) {
                        None => lines.push((false, format!("~ type {name}: + {f}"))),
                        Some(t) if t != ty => lines
                            .push((true, format!("~ type {name}: {f} changed type {t} -> {ty}"))),
                        Some(_) => {}
                    }
                }
                for f in prev.keys().filter(|f| !fields.contains_key(*f)) {
                    lines.push((true, format!("~ type {name}: - {f}")));
                }
            }
        }
    }
    for name in a.types.keys().filter(|n| !b.types.contains_key(*n)) {
        lines.push((true, format!("- type {name}")));
    }
    if lines.is_empty() {
        return String::new();
    }
    let breaking = lines.iter().any(|(b, _)| *b);
    let mut out = format!(
        "API changes against the committed output ({}):",
        if breaking {
            "BREAKING: needs a major version"
        } else {
            "additive: a minor version"
        }
    );
    for (is_breaking, line) in lines {
        let _ = write!(
            out,
            "\n  {line} ({})",
            if is_breaking { "breaking" } else { "additive" }
        );
    }
    out
}

fn diff_op(name: &str, a: &OpSurface, b: &OpSurface, lines: &mut Vec<(bool, String)>) {
    if a.required != b.required {
        let fmt = |r: &[(String, String)]| {
            r.iter()
                .map(|(n, t)| format!("{n}: {t}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        lines.push((
            true,
            format!(
                "~ operation {name}: required parameters ({}) -> ({})",
                fmt(&a.required),
                fmt(&b.required)
            ),
        ));
    }
    for (p, ty) in &b.optional {
        match a.optional.get(p) {
            None => lines.push((
                false,
                format!("~ operation {name}: + optional parameter {p}"),
            )),
            Some(t) if t != ty => lines.push((
                true,
                format!("~ operation {name}: optional parameter {p} changed type {t} -> {ty}"),
            )),
            Some(_) => {}
        }
    }
    for p in a.optional.keys().filter(|p| !b.optional.contains_key(*p)) {
        lines.push((
            true,
            format!("~ operation {name}: - optional parameter {p}"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(src: &str) -> BTreeMap<String, String> {
        [("lib.rs".to_owned(), src.to_owned())].into()
    }

    const OLD: &str = "pub struct Client; impl Client { pub fn get_tags(&self, name: RepositoryName) -> GetTags { todo!() } pub fn gone(&self) -> Gone { todo!() } }
        pub struct GetTags { x: u8 } impl GetTags { pub fn last(mut self, v: String) -> Self { self } }
        pub struct TagList { pub tags: Vec<String> }";

    #[test]
    fn no_change_prints_nothing() {
        assert_eq!(report(&tree(OLD), &tree(OLD)), "");
        assert_eq!(report(&BTreeMap::new(), &BTreeMap::new()), "");
    }

    /// Only the changed files are compared: a file that is new on one side is all additions.
    #[test]
    fn a_new_file_alone_is_reported_as_additions() {
        let r = report(&BTreeMap::new(), &tree(OLD));
        assert!(r.contains("+ operation get_tags (additive)"), "{r}");
    }

    #[test]
    fn additions_and_removals_are_marked() {
        let new = "pub struct Client; impl Client { pub fn get_tags(&self, name: RepositoryName) -> GetTags { todo!() } pub fn fresh(&self) -> Fresh { todo!() } }
            pub struct GetTags { x: u8 } impl GetTags { pub fn last(mut self, v: String) -> Self { self } pub fn n(mut self, v: i32) -> Self { self } }
            pub struct TagList { pub tags: Vec<String>, pub registry: Option<String> }";
        let r = report(&tree(OLD), &tree(new));
        assert!(r.contains("BREAKING"), "{r}");
        assert!(r.contains("+ operation fresh (additive)"), "{r}");
        assert!(r.contains("- operation gone (breaking)"), "{r}");
        assert!(
            r.contains("~ operation get_tags: + optional parameter n (additive)"),
            "{r}"
        );
        assert!(r.contains("~ type TagList: + registry (additive)"), "{r}");
    }

    #[test]
    fn changed_required_parameters_are_breaking() {
        let new = OLD.replace("name: RepositoryName", "name: RepositoryName, n: u32");
        let r = report(&tree(OLD), &tree(&new));
        assert!(r.contains("~ operation get_tags: required parameters (name: RepositoryName) -> (name: RepositoryName, n: u32) (breaking)"), "{r}");
    }
}
