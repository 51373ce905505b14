//! The overlay's `@alias`, `@note` and `@doc` directives.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use xtask::generate::Inputs;

const SPEC: &str = "@lap v0.3\n@api T\n@endpoints 1\n\n@endpoint GET /a/{id}\n@desc Get an a\n@required {id: any # The id}\n@returns(200) Fine\n\n@end\n";

fn overlay(top: &str, entry: &str) -> String {
    format!(
        "@lap v0.3\n@overlay t.lap\n@type Thing {{name: str, os.version: str?}}\n{top}\n@endpoint GET /a/{{id}}\n@name get_a\n{entry}\n@scope none\n@path {{id!: str}}\n@returns(200) -> Thing\n\n@end\n"
    )
}

fn lower(overlay: &str) -> Result<acr_codegen::ir::Api, String> {
    let inputs = Inputs::from_texts("t.lap", SPEC, Some(("t.overlay.lap", overlay)))
        .map_err(|e| e.to_string())?;
    inputs.lower().map(|l| l.api).map_err(|e| e.to_string())
}

#[test]
fn docs_aliases_and_notes_land_in_the_ir() {
    let api = lower(&overlay(
        "@doc Thing A thing.\n@doc Thing.name What it is called.\n@doc Thing.os.version The OS version.",
        "@alias fetch_a, read_a\n@note Raw: checks `nothing`.",
    ))
    .unwrap();
    let thing = api.types.iter().find(|t| t.name == "Thing").unwrap();
    assert_eq!(thing.docs.as_deref(), Some("A thing."));
    let acr_codegen::ir::TypeKind::Struct { fields } = &thing.kind else {
        panic!("a struct")
    };
    assert_eq!(fields[0].docs.as_deref(), Some("What it is called."));
    assert_eq!(fields[1].docs.as_deref(), Some("The OS version."));
    let op = &api.operations[0];
    assert_eq!(op.aliases, ["fetch_a", "read_a"]);
    assert_eq!(
        op.docs.as_deref(),
        Some("Get an a\n\nRaw: checks `nothing`.")
    );
}

#[test]
fn a_doc_naming_no_model_or_field_is_an_error() {
    let e = lower(&overlay("@doc Nothing A thing.", "")).unwrap_err();
    assert!(e.contains("names no model Nothing"), "{e}");
    let e = lower(&overlay("@doc Thing.colour Its colour.", "")).unwrap_err();
    assert!(e.contains("names no field colour of Thing"), "{e}");
    let e = lower(&overlay("@doc Thing", "")).unwrap_err();
    assert!(e.contains("expected `Type[.field] text`"), "{e}");
}

#[test]
fn an_alias_that_is_not_a_new_snake_case_name_is_an_error() {
    for bad in ["@alias GetA", "@alias get_a", "@alias x, x"] {
        let e = lower(&overlay("", bad)).unwrap_err();
        assert!(e.contains("is not a new snake_case name"), "{bad}: {e}");
    }
}
