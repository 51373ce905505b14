//! Snapshot tests of the LAP parser on hand-written fixtures (the edge cases of published LAP
//! files) and of its error messages on malformed input.

use std::path::PathBuf;

use xtask::lap::{self, Document, ErrorItem, ParseOptions, ReturnsBody, TypeKind};

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lap")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Parses a fixture, checks the print/re-parse round trip, and returns the document.
fn parse_fixture(name: &str, options: &ParseOptions) -> Document {
    let text = fixture(name);
    let doc = lap::parse(&text, options).unwrap_or_else(|e| panic!("{name}:\n{e}"));
    let printed = lap::print(&doc);
    let again = lap::parse(&printed, options)
        .unwrap_or_else(|e| panic!("{name} reprinted:\n{e}\n{printed}"));
    assert!(
        doc.same_tree(&again),
        "{name}: round trip changed the tree:\n{printed}"
    );
    doc
}

#[test]
fn descriptions() {
    let doc = parse_fixture("descriptions.lap", &ParseOptions::default());
    assert!(doc.warnings.is_empty(), "{:?}", doc.warnings);
    let names: Vec<&str> = doc.endpoints[1]
        .optional
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "status",
            "shopperStatement",
            "mcc",
            "limit",
            "note",
            "snapshot",
            "link"
        ]
    );
    insta::assert_debug_snapshot!("lap_descriptions", doc);
}

#[test]
fn types() {
    let doc = parse_fixture("types.lap", &ParseOptions::default());
    let cidr = doc.endpoints[0]
        .optional
        .iter()
        .find(|p| p.name == "cidr")
        .unwrap();
    assert_eq!(cidr.ty.format.as_deref(), Some("ipv6/128"));
    assert_eq!(
        doc.endpoints[0].required[11].ty.kind,
        TypeKind::Named("Tag".into())
    );
    insta::assert_debug_snapshot!("lap_types", doc);
}

#[test]
fn returns_forms() {
    let doc = parse_fixture("returns.lap", &ParseOptions::default());
    let bodies: Vec<&ReturnsBody> = doc.endpoints[0].returns.iter().map(|r| &r.body).collect();
    assert!(matches!(bodies[0], ReturnsBody::None));
    assert!(matches!(bodies[1], ReturnsBody::Text(_)));
    assert!(matches!(bodies[2], ReturnsBody::Text(t) if t.contains("{file_key}")));
    assert!(matches!(bodies[3], ReturnsBody::Fields { tail: None, .. }));
    assert!(
        matches!(bodies[4], ReturnsBody::Fields { tail: Some(t), .. } if t == "ListUsersResponse, with a comma")
    );
    assert!(matches!(bodies[5], ReturnsBody::TypeRef(_)));
    assert!(matches!(bodies[6], ReturnsBody::TypeRef(t) if t.nullable));
    assert!(
        matches!(bodies[7], ReturnsBody::Text(_)),
        "unbalanced braces fall back to text"
    );
    assert_eq!(doc.warnings.len(), 1, "{:?}", doc.warnings);
    insta::assert_debug_snapshot!("lap_returns", doc);
}

#[test]
fn errors_split() {
    let doc = parse_fixture("errors.lap", &ParseOptions::default());
    let codes = |k: usize| {
        doc.endpoints[k]
            .errors
            .iter()
            .map(|e| e.code.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(codes(0), ["429", "500"]);
    assert_eq!(codes(1), ["304", "401", "422", "429"]);
    assert_eq!(codes(2), ["404", "4XX", "5xx"]);
    assert_eq!(codes(3), ["400", "401", "403"]);
    let typed: &ErrorItem = &doc.endpoints[4].errors[0];
    assert_eq!(typed.type_name.as_deref(), Some("SearchException"));
    insta::assert_debug_snapshot!("lap_errors", doc);
}

#[test]
fn structure() {
    let doc = parse_fixture("structure.lap", &ParseOptions::default());
    let groups: Vec<Option<&str>> = doc.endpoints.iter().map(|e| e.group.as_deref()).collect();
    assert_eq!(groups[0], Some("user"));
    assert_eq!(groups[2], Some("user"), "a reopened group");
    assert_eq!(doc.toc_entries().len(), 3);
    assert_eq!(
        doc.warnings.len(),
        2,
        "two unknown directives: {:?}",
        doc.warnings
    );
    insta::assert_debug_snapshot!("lap_structure", doc);
    insta::assert_snapshot!("lap_structure_printed", lap::print(&doc));
}

#[test]
fn protobuf() {
    let doc = parse_fixture("protobuf.lap", &ParseOptions::default());
    assert_eq!(
        doc.endpoints[0].body.as_ref().map(|t| &t.kind),
        Some(&TypeKind::Named("CreateUserRequest".into()))
    );
    insta::assert_debug_snapshot!("lap_protobuf", doc);
}

#[test]
fn overlay_extensions() {
    let doc = parse_fixture("overlay.lap", &ParseOptions::overlay());
    assert!(doc.warnings.is_empty(), "{:?}", doc.warnings);
    assert_eq!(doc.extensions.len(), 1);
    let ep = &doc.endpoints[0];
    assert_eq!(
        ep.extension("headers").and_then(|e| e.arg.as_deref()),
        Some("200")
    );
    insta::assert_debug_snapshot!("lap_overlay", doc);
    insta::assert_snapshot!("lap_overlay_printed", lap::print(&doc));
}

#[test]
fn overlay_without_overlay_options_warns() {
    let doc = parse_fixture("overlay.lap", &ParseOptions::default());
    assert!(doc.endpoints.iter().all(|e| e.extensions.is_empty()));
    let rendered: Vec<String> = doc.warnings.iter().map(ToString::to_string).collect();
    insta::assert_snapshot!("lap_overlay_default_warnings", rendered.join("\n"));
}

/// Malformed inputs and their exact error messages.
const MALFORMED: &[(&str, &str)] = &[
    ("no_lap", "@api X\n@end\n"),
    ("empty", ""),
    ("endpoint_no_path", "@lap v0.3\n@endpoint GET\n@end\n"),
    ("endpoint_nothing", "@lap v0.3\n@endpoint\n@end\n"),
    (
        "unclosed_required",
        "@lap v0.3\n@endpoint GET /x\n@required {a: str, b: int\n@end\n",
    ),
    (
        "required_no_brace",
        "@lap v0.3\n@endpoint GET /x\n@required a: str\n@end\n",
    ),
    (
        "returns_no_paren",
        "@lap v0.3\n@endpoint GET /x\n@returns(200 OK\n@end\n",
    ),
    (
        "returns_empty_code",
        "@lap v0.3\n@endpoint GET /x\n@returns() OK\n@end\n",
    ),
    (
        "type_garbage",
        "@lap v0.3\n@endpoint GET /x\n@required {a: str, b: 9lives}\n@end\n",
    ),
    (
        "type_after_garbage",
        "@lap v0.3\n@endpoint GET /x\n@required {a: str(x)(y)(z)}\n@end\n",
    ),
    (
        "type_unclosed_paren",
        "@lap v0.3\n@endpoint GET /x\n@optional {a: str(date-time}\n@end\n",
    ),
    (
        "type_unclosed_array",
        "@lap v0.3\n@endpoint GET /x\n@optional {a: [str, b: int}\n@end\n",
    ),
    (
        "param_no_colon",
        "@lap v0.3\n@endpoint GET /x\n@optional {a str}\n@end\n",
    ),
    (
        "missing_end",
        "@lap v0.3\n@endpoint GET /x\n@desc truncated\n",
    ),
    ("endpoints_not_number", "@lap v0.3\n@endpoints many\n@end\n"),
    (
        "body_bad_type",
        "@lap v0.3\n@endpoint GET /x\n@body → [str\n@end\n",
    ),
    ("type_def_no_body", "@lap v0.3\n@type Foo\n@end\n"),
    (
        "errors_no_code",
        "@lap v0.3\n@endpoint GET /x\n@errors {: nothing}\n@end\n",
    ),
    (
        "deep_type",
        "@lap v0.3\n@endpoint GET /x\n@required {a: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[str]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}\n@end\n",
    ),
    (
        "error_on_continuation",
        "@lap v0.3\n@endpoint GET /x\n@optional {a: str,\n    b: ?}\n@end\n",
    ),
    (
        "non_ascii_column",
        "@lap v0.3\n@endpoint GET /x\n@optional {é: str, ü: ✓}\n@end\n",
    ),
];

#[test]
fn malformed_inputs_give_exact_errors() {
    for (name, input) in MALFORMED {
        let err = match lap::parse(input, &ParseOptions::default()) {
            Ok(doc) => panic!("{name}: parsed, expected an error: {doc:?}"),
            Err(e) => e.with_file(format!("{name}.lap")),
        };
        let text = err.to_string();
        assert!(text.starts_with(&format!("error: {name}.lap:")), "{text}");
        insta::assert_snapshot!(format!("lap_error_{name}"), text);
    }
}

#[test]
fn missing_end_can_be_allowed() {
    let options = ParseOptions {
        allow_missing_end: true,
        ..ParseOptions::default()
    };
    let doc = lap::parse("@lap v0.3\n@endpoint GET /x\n", &options).unwrap();
    assert_eq!(doc.endpoints.len(), 1);
    assert!(doc.end.is_none());
    assert_eq!(doc.warnings.len(), 1);
}

#[test]
fn endpoint_count_mismatch_is_a_warning() {
    let doc = lap::parse(
        "@lap v0.3\n@endpoints 2\n@endpoint GET /x\n@end\n",
        &ParseOptions::default(),
    )
    .unwrap();
    assert_eq!(doc.warnings.len(), 1);
    assert_eq!(
        doc.warnings[0].to_string(),
        "warning: 2:1: `@endpoints 2` but the file has 1 endpoints"
    );
}
