//! Models no operation reaches are not emitted: a user can never meet them.
#![allow(clippy::expect_used)]

mod common;

use acr_codegen::ir::{ParamLocation, TypeRef};
use acr_codegen::{Options, generate};
use common::*;

fn models(api: &acr_codegen::ir::Api) -> String {
    generate(api, &Options::default())
        .expect("generate")
        .into_iter()
        .find(|f| f.path == "models.rs")
        .expect("models.rs")
        .contents
}

#[test]
fn only_models_an_operation_reaches_are_emitted() {
    let mut list = op("list_things", "GET", "/things");
    list.responses = vec![resp(200, Some(named("Page")), vec![])];
    let mut put = op("put_thing", "PUT", "/things/{id}");
    put.params = vec![
        path("id", s()),
        param("kind", ParamLocation::Query, named("Kind"), false),
    ];
    put.body = Some(body(
        "thing",
        Some("application/json"),
        named("Input"),
        true,
    ));
    let api = api(
        "Reach",
        vec![list, put],
        vec![
            // reached: a response body, through a list field, a map value, a parameter, a body
            strukt("Page", None, vec![field("items", arr(named("Item")), true)]),
            strukt(
                "Item",
                None,
                vec![field(
                    "labels",
                    TypeRef::Map(Box::new(named("Label"))),
                    false,
                )],
            ),
            strukt("Label", None, vec![field("text", s(), true)]),
            enumeration("Kind", &["a", "b"], true),
            strukt("Input", None, vec![field("name", s(), true)]),
            // not reached: nothing names it, and what only it names
            strukt(
                "Orphan",
                None,
                vec![field("child", named("OrphanChild"), true)],
            ),
            strukt("OrphanChild", None, vec![field("x", s(), true)]),
        ],
    );
    let text = models(&api);
    for kept in ["Page", "Item", "Label", "Kind", "Input"] {
        assert!(
            text.contains(&format!("pub struct {kept} "))
                || text.contains(&format!("pub enum {kept} ")),
            "{kept} is reached:\n{text}"
        );
    }
    for dropped in ["Orphan", "OrphanChild"] {
        assert!(
            !text.contains(&format!(" {dropped} ")),
            "{dropped} is reached by no operation:\n{text}"
        );
    }
}
