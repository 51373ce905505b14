//! Snapshots of the operation emitters, fragment by fragment. The same fixtures are compiled
//! by `emit_compile.rs`.
#![allow(clippy::expect_used)]

mod common;

use acr_codegen::Options;
use acr_codegen::context::Context;
use acr_codegen::emit::file::pretty;
use acr_codegen::emit::operation::{self, builder, method, paging, response, send, setters};
use acr_codegen::ir::Api;

/// Runs `emit` on operation `op` of `api` and formats the result.
fn fragment(
    api: &Api,
    op: &str,
    emit: impl Fn(&Context<'_>, &acr_codegen::plan::OpPlan<'_>) -> proc_macro2::TokenStream,
) -> String {
    let ctx = Context::new(api, &Options::default()).expect("context");
    let plan = ctx.op(op).expect("operation exists");
    pretty(op, emit(&ctx, plan)).expect("valid Rust")
}

#[test]
fn paged_list_method() {
    insta::assert_snapshot!(fragment(&common::acr_like(), "get_tags", method::method));
}

#[test]
fn paged_list_builder_struct() {
    insta::assert_snapshot!(fragment(
        &common::acr_like(),
        "get_tags",
        builder::builder_struct
    ));
}

#[test]
fn paged_list_setters() {
    insta::assert_snapshot!(fragment(&common::acr_like(), "get_tags", setters::setters));
}

#[test]
fn paged_list_send_and_request() {
    let text = fragment(&common::acr_like(), "get_tags", send::send);
    assert!(
        text.contains(".scope(format!(\"repository:{}:metadata_read\", name.as_str()))"),
        "{text}"
    );
    assert!(text.contains(".repository(name.as_str())"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn into_future() {
    insta::assert_snapshot!(fragment(&common::acr_like(), "get_tags", |ctx, _| {
        send::into_future(ctx)
    }));
}

#[test]
fn paged_list_stream() {
    insta::assert_snapshot!(fragment(
        &common::acr_like(),
        "get_tags",
        paging::into_stream
    ));
}

#[test]
fn paged_list_response() {
    insta::assert_snapshot!(fragment(&common::acr_like(), "get_tags", |ctx, plan| {
        let s = response::response_struct(ctx, plan);
        let f = response::from_raw(ctx, plan);
        quote::quote!(#s #f)
    }));
}

#[test]
fn typed_headers_and_bytes_body_response() {
    let text = fragment(&common::acr_like(), "get_manifest", |ctx, plan| {
        let s = response::response_struct(ctx, plan);
        let f = response::from_raw(ctx, plan);
        quote::quote!(#s #f)
    });
    assert!(
        text.contains("pub docker_content_digest: Option<acr_runtime::Digest>"),
        "{text}"
    );
    assert!(text.contains("pub content_length: Option<u64>"), "{text}");
    assert!(text.contains("pub body: bytes::Bytes"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn body_only_for_some_statuses() {
    insta::assert_snapshot!(fragment(&common::acr_like(), "get_blob", |ctx, plan| {
        let s = response::response_struct(ctx, plan);
        let f = response::from_raw(ctx, plan);
        quote::quote!(#s #f)
    }));
}

#[test]
fn whole_files() {
    for op in [
        "check_docker_v2_support",
        "get_manifest",
        "create_manifest",
        "upload_chunk",
        "complete_upload",
        "exchange_acr_refresh_token_for_acr_access_token",
        "update_manifest_properties",
    ] {
        insta::assert_snapshot!(op, fragment(&common::acr_like(), op, operation::file));
    }
}

#[test]
fn upload_location_is_the_whole_path_and_names_the_scope() {
    let text = fragment(&common::acr_like(), "upload_chunk", send::send);
    assert!(text.contains("next_blob_uuid_link.as_str(),"), "{text}");
    assert!(!text.contains("encode"), "{text}");
    assert!(
        text.contains("repository_between(\"/v2/\", \"/blobs/uploads\")"),
        "{text}"
    );
    assert!(
        text.contains("format!(\"repository:{repository}:pull,push\")"),
        "{text}"
    );
}

#[test]
fn scope_placeholder_naming_the_location_means_its_repository() {
    let text = fragment(&common::acr_like(), "complete_upload", send::send);
    assert!(
        text.contains("repository_between(\"/v2/\", \"/blobs/uploads\")"),
        "{text}"
    );
    assert!(
        text.contains("format!(\"repository:{repository}:pull,push\")"),
        "{text}"
    );
}

#[test]
fn scope_with_an_unknown_placeholder_is_left_to_the_challenge() {
    let text = fragment(&common::nasty(), "search", send::send);
    assert!(!text.contains(".scope("), "{text}");
}

#[test]
fn form_body_repeats_keys() {
    let text = fragment(
        &common::acr_like(),
        "exchange_acr_refresh_token_for_acr_access_token",
        send::send,
    );
    assert!(text.contains("for item in scope {"), "{text}");
    assert!(
        text.contains("form.push((\"scope\".to_owned(), acr_runtime::FormValue::from(item)));"),
        "{text}"
    );
    assert!(text.contains("acr_runtime::Body::Form(form)"), "{text}");
}

#[test]
fn nasty_operation_file() {
    insta::assert_snapshot!(fragment(&common::nasty(), "search", operation::file));
}

#[test]
fn nasty_operation_names_are_unique_and_safe() {
    let api = common::nasty();
    let ctx = Context::new(&api, &Options::default()).expect("context");
    let names: Vec<(&str, &str)> = ctx
        .ops
        .iter()
        .map(|p| (p.op.name.as_str(), p.ident.as_str()))
        .collect();
    insta::assert_debug_snapshot!(names);
}

#[test]
fn non_standard_method_and_odd_statuses() {
    insta::assert_snapshot!(fragment(&common::nasty(), "builder", operation::file));
}

#[test]
fn optional_form_fields_text_body_and_caller_media_type() {
    insta::assert_snapshot!("form", fragment(&common::nasty(), "mod", send::send));
    insta::assert_snapshot!(
        "optional_payload",
        fragment(&common::nasty(), "type", |ctx, plan| {
            let m = method::method(ctx, plan);
            let s = setters::setters(ctx, plan);
            let r = send::send(ctx, plan);
            quote::quote!(#m #s #r)
        })
    );
}

#[test]
fn secrets_go_on_the_wire_exposed_and_stay_secret_in_forms() {
    use acr_codegen::ir::TypeRef;
    let mut login = common::op("login", "POST", "/login");
    login.params = vec![
        common::query("token", common::rt("Secret"), true),
        common::query("maybe", common::rt("Secret"), false),
        common::header("x-token", common::rt("Secret"), true),
        common::form("password", common::rt("Secret"), true),
        common::form("user", TypeRef::String, true),
    ];
    login.responses = vec![common::resp(
        200,
        None,
        vec![common::hdr("X-Session", common::rt("Secret"))],
    )];
    let api = common::api("secrets", vec![login], Vec::new());
    let send = fragment(&api, "login", send::send);
    // the wire text of a secret is `expose()`: its `Display` is `<redacted>`
    assert!(
        send.contains(".query(\"token\", token.expose().to_owned())"),
        "{send}"
    );
    assert!(send.contains("item.expose().to_owned()"), "{send}");
    assert!(
        send.contains(".header(\"x-token\", x_token.expose())"),
        "{send}"
    );
    assert!(!send.contains("token.to_string()"), "{send}");
    // in a form it stays a `Secret`, so the request's `Debug` redacts it
    assert!(
        send.contains("acr_runtime::FormValue::from(password)"),
        "{send}"
    );
    let method = fragment(&api, "login", method::method);
    assert!(
        method.contains("token: impl Into<acr_runtime::Secret>"),
        "{method}"
    );
    let response = fragment(&api, "login", response::response_struct);
    assert!(
        response.contains("Option<acr_runtime::Secret>"),
        "{response}"
    );
}
