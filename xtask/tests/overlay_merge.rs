//! The merge rules of spec and overlay.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use xtask::generate::{GenerateError, Inputs};

const SPEC: &str = "@lap v0.3\n@api T\n@endpoints 2\n\n@endpoint GET /a/{id}\n@desc Get an a\n@required {id: any # The id}\n@returns(200) Fine\n\n@endpoint DELETE /a/{id}\n@required {id: any}\n@returns(204) Gone\n\n@end\n";

#[test]
fn an_overlay_entry_for_no_spec_endpoint_is_an_error_with_its_position() {
    let overlay = "@lap v0.3\n@overlay t.lap\n\n@endpoint GET /b/{id}\n@name get_b\n@scope none\n@path {id!: str}\n\n@end\n";
    let inputs = Inputs::from_texts("t.lap", SPEC, Some(("t.overlay.lap", overlay)))
        .unwrap_or_else(|e| panic!("{e}"));
    let err = inputs.lower().expect_err("must fail");
    assert!(matches!(err, GenerateError::Lower { .. }));
    let text = err.to_string();
    assert!(text.starts_with("error: t.overlay.lap:4:"), "{text}");
    assert!(
        text.contains("GET /b/{id} names no endpoint of the spec"),
        "{text}"
    );
}

#[test]
fn a_spec_endpoint_the_overlay_skips_is_lowered_and_warned_about() {
    let overlay = "@lap v0.3\n@overlay t.lap\n\n@endpoint GET /a/{id}\n@name get_a\n@scope thing:{id}:read\n@path {id!: str # Which}\n@returns(200) -> map{name: str}\n\n@end\n";
    let inputs = Inputs::from_texts("t.lap", SPEC, Some(("t.overlay.lap", overlay)))
        .unwrap_or_else(|e| panic!("{e}"));
    let lowered = inputs.lower().unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<_> = lowered
        .api
        .operations
        .iter()
        .map(|o| (o.name.as_str(), o.inferred))
        .collect();
    assert_eq!(names, vec![("get_a", false), ("delete_a_by_id", true)]);
    assert_eq!(lowered.warnings.len(), 1, "{:?}", lowered.warnings);
    assert!(
        lowered.warnings[0].contains("DELETE /a/{id} is not described by the overlay"),
        "{:?}",
        lowered.warnings
    );
    assert!(
        lowered.warnings[0].starts_with("t.lap:10:"),
        "{:?}",
        lowered.warnings
    );
    let get = &lowered.api.operations[0];
    assert_eq!(get.scope.as_deref(), Some("thing:{id}:read"));
    assert_eq!(get.params[0].docs.as_deref(), Some("Which"));
}

#[test]
fn a_spec_parameter_the_overlay_does_not_place_is_inferred_and_warned_about() {
    let overlay = "@lap v0.3\n@overlay t.lap\n\n@endpoint GET /a/{id}\n@name get_a\n@scope none\n@path {id!: str}\n\n@end\n";
    let spec = SPEC.replace(
        "@required {id: any # The id}",
        "@required {id: any # The id}\n@optional {since: any # Newer than}",
    );
    let inputs = Inputs::from_texts("t.lap", &spec, Some(("t.overlay.lap", overlay)))
        .unwrap_or_else(|e| panic!("{e}"));
    let lowered = inputs.lower().unwrap_or_else(|e| panic!("{e}"));
    let get = &lowered.api.operations[0];
    let since = get
        .params
        .iter()
        .find(|p| p.name == "since")
        .expect("still generated");
    assert_eq!(since.location, acr_codegen::ir::ParamLocation::Query);
    assert!(!since.required);
    assert!(
        lowered.warnings.iter().any(|w| w.contains("spec parameter since of GET /a/{id} is not placed by the overlay")),
        "{:?}",
        lowered.warnings
    );
}

#[test]
fn a_path_placeholder_without_path_entry_is_an_error() {
    let overlay = "@lap v0.3\n@overlay t.lap\n\n@endpoint GET /a/{id}\n@name get_a\n@scope none\n@query {id: str}\n\n@end\n";
    let inputs = Inputs::from_texts("t.lap", SPEC, Some(("t.overlay.lap", overlay)))
        .unwrap_or_else(|e| panic!("{e}"));
    let text = inputs.lower().expect_err("must fail").to_string();
    assert!(text.contains("path parameter {id}"), "{text}");
}
