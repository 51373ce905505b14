//! Snapshots of the model emitters: structs and enums. The same fixtures are compiled by
//! `emit_compile.rs`.
#![allow(clippy::expect_used)]

mod common;

use acr_codegen::Options;
use acr_codegen::context::Context;
use acr_codegen::emit::{file::pretty, model_enum, model_struct};
use acr_codegen::ir::{Api, TypeKind};

/// The emitted item(s) of the named type `name` of `api`, formatted.
fn model(api: &Api, name: &str) -> String {
    let ctx = Context::new(api, &Options::default()).expect("context");
    let entry = ctx.types.get(name).expect("type exists");
    let tokens = match &entry.ty.kind {
        TypeKind::Struct { fields } => model_struct::model_struct(&ctx, entry, fields),
        TypeKind::Enum { values, open } => model_enum::model_enum(entry, values, *open),
    };
    pretty(name, tokens).expect("valid Rust")
}

#[test]
fn struct_with_timestamps_runtime_types_and_optional_fields() {
    insta::assert_snapshot!(model(&common::acr_like(), "TagAttributesBase"));
}

#[test]
fn struct_with_a_list_and_renamed_fields() {
    insta::assert_snapshot!(model(&common::acr_like(), "TagList"));
}

#[test]
fn all_optional_struct_derives_default() {
    let text = model(&common::acr_like(), "ManifestChangeableAttributes");
    assert!(text.contains("Default"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn open_enum_keeps_unknown_values() {
    insta::assert_snapshot!(model(&common::acr_like(), "ArtifactArchitecture"));
}

#[test]
fn closed_enum_refuses_unknown_values() {
    insta::assert_snapshot!(model(&common::acr_like(), "TagOrderBy"));
}

#[test]
fn recursive_struct_with_keyword_and_colliding_fields() {
    let text = model(&common::nasty(), "Node");
    assert!(text.contains("Option<Box<crate::models::Node>>"), "{text}");
    assert!(text.contains("pub type_: String"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn enum_with_colliding_and_empty_values() {
    let text = model(&common::nasty(), "Result");
    assert!(text.contains("pub enum ResultModel"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn empty_enums() {
    insta::assert_snapshot!("closed", model(&common::nasty(), "Nothing"));
    insta::assert_snapshot!("open", model(&common::nasty(), "OnlyUnknown"));
}

#[test]
fn type_names_that_shadow_the_prelude_or_keywords_are_renamed() {
    let api = common::nasty();
    let ctx = Context::new(&api, &Options::default()).expect("context");
    let names: Vec<(&str, &str)> = ctx
        .types
        .entries()
        .map(|e| (e.ty.name.as_str(), e.ident.as_str()))
        .collect();
    insta::assert_debug_snapshot!(names);
}

#[test]
fn null_collection_tests_cover_every_struct_model() {
    use acr_codegen::emit::model_tests;
    use acr_codegen::types::Shape;
    let api = common::nasty();
    let ctx = Context::new(&api, &Options::default()).expect("context");
    let text = pretty("tests", model_tests::module(&ctx)).expect("valid Rust");
    // Every emitted struct model: those some operation reaches.
    let reachable = acr_codegen::plan::reachable_types(&api);
    for entry in ctx
        .types
        .entries()
        .filter(|e| e.shape == Shape::Struct && reachable.contains(&e.ty.name))
    {
        assert!(
            text.contains(&format!("crate::models::{} =", entry.ident)),
            "{} has a test:\n{text}",
            entry.ident
        );
    }
    // every list and map is `null` in the documents, every date-time has no offset
    assert!(text.contains("\"children\" : null"), "{text}");
    assert!(text.contains("\"2022-12-13T09:17:12.6157503\""), "{text}");
    insta::assert_snapshot!(text);
}
