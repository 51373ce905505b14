//! The IR of the ACR spec and the OCI distribution spec, each merged with its overlay and both
//! into one API, as a YAML snapshot: a reviewer sees how a spec or overlay change alters what the
//! emitters get.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use acr_codegen::ir::{ParamLocation, TypeKind, TypeRef};
use xtask::generate::{SpecSet, default_specs};

fn acr_ir() -> acr_codegen::ir::Api {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let set = SpecSet::read(&default_specs(&root)).unwrap_or_else(|e| panic!("{e}"));
    let lowered = set.lower().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        lowered.warnings.is_empty(),
        "the overlay describes every endpoint: {:#?}",
        lowered.warnings
    );
    lowered.api
}

#[test]
fn acr_ir_snapshot() {
    insta::assert_yaml_snapshot!("acr_ir", acr_ir());
}

#[test]
fn every_operation_of_the_design_is_there() {
    let api = acr_ir();
    let names: Vec<&str> = api.operations.iter().map(|o| o.name.as_str()).collect();
    let expected = [
        "check_docker_v2_support",
        "get_manifest",
        "create_manifest",
        "delete_manifest",
        "get_blob",
        "check_blob_exists",
        "delete_blob",
        "mount_blob",
        "start_upload",
        "get_upload_status",
        "upload_chunk",
        "complete_upload",
        "cancel_upload",
        "get_repositories",
        "get_properties",
        "delete_repository",
        "set_properties",
        "get_tags",
        "get_tag_properties",
        "update_tag_attributes",
        "delete_tag",
        "get_manifests",
        "get_manifest_properties",
        "update_manifest_properties",
        "exchange_aad_access_token_for_acr_refresh_token",
        "exchange_acr_refresh_token_for_acr_access_token",
        "get_acr_access_token_from_login",
        // From oci-distribution.lap:
        "list_tags",
        "list_repositories",
        "get_referrers",
    ];
    assert_eq!(names, expected);
    assert!(api.operations.iter().all(|o| !o.inferred));
    let file = |n: &str| {
        let op = api.operations.iter().find(|o| o.name == n).expect(n);
        op.source
            .as_ref()
            .expect("every operation knows its spec")
            .file
            .clone()
    };
    assert_eq!(file("get_tags"), "containerregistry.lap");
    assert_eq!(file("list_tags"), "oci-distribution.lap");
    let referrers = api
        .operations
        .iter()
        .find(|o| o.name == "get_referrers")
        .expect("referrers");
    assert_eq!(
        referrers.paging.as_ref().expect("paged").items_field,
        "manifests"
    );
}

#[test]
fn locations_types_scopes_and_paging() {
    let api = acr_ir();
    let op = |n: &str| api.operations.iter().find(|o| o.name == n).expect(n);
    let tags = op("get_tags");
    assert_eq!(
        tags.scope.as_deref(),
        Some("repository:{name}:metadata_read")
    );
    let paging = tags.paging.as_ref().expect("paged");
    assert_eq!(paging.items_field, "tags");
    assert_eq!(paging.item, TypeRef::Named("TagAttributesBase".into()));
    let orderby = tags.params.iter().find(|p| p.name == "orderby").unwrap();
    assert_eq!(
        (orderby.location, &orderby.ty),
        (ParamLocation::Query, &TypeRef::Named("TagOrderBy".into()))
    );
    let token = op("exchange_acr_refresh_token_for_acr_access_token");
    let scope = token.params.iter().find(|p| p.name == "scope").unwrap();
    assert!(scope.repeated && scope.location == ParamLocation::Form);
    let chunk = op("upload_chunk");
    assert_eq!(chunk.body.as_ref().unwrap().ty, TypeRef::Bytes);
    assert_eq!(
        chunk.params[0].ty,
        TypeRef::Runtime(acr_codegen::ir::RuntimeType::UploadLocation)
    );
    let put = op("create_manifest");
    assert_eq!(
        put.body.as_ref().unwrap().content_type,
        None,
        "the caller gives the manifest media type"
    );
    let arch = api
        .types
        .iter()
        .find(|t| t.name == "ArtifactArchitecture")
        .unwrap();
    assert!(
        matches!(&arch.kind, TypeKind::Enum { open: true, values } if values.contains(&"amd64".to_owned()))
    );
    let attrs = api
        .types
        .iter()
        .find(|t| t.name == "ManifestAttributesBase")
        .unwrap();
    let TypeKind::Struct { fields } = &attrs.kind else {
        panic!("struct")
    };
    assert!(
        fields.iter().any(|f| f.name == "mediaType"),
        "fields the live service returns are modelled"
    );
}
