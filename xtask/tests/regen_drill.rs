//! The regeneration drill: a realistic upstream spec change, regenerated into a temporary copy of
//! the `acr` crate, builds with no hand edit of generated code.
//!
//! The change: a new endpoint (with a typed `@returns(200) {…}`), a new optional query
//! parameter on an existing endpoint, and an endpoint removed. The overlay entry of the removed
//! endpoint must go too: first the drill shows that codegen refuses the stale entry with its
//! position (the merge rule), then it deletes that entry, as the error tells a maintainer to.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use xtask::generate::{Inputs, generate};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

const NEW_ENDPOINT: &str = "@endpoint GET /acr/v1/{name}/_referrers/{digest}
@desc List the artifacts that refer to a manifest
@required {name: any # Name of the image (including the namespace), digest: any # The subject's digest}
@optional {artifactType: any # Only referrers of this artifact type}
@returns(200) {registry: str, imageName: str, referrers: [map{digest: str, artifactType: str?, size: int(int64)}]}

";

const REMOVED: &str = "@endpoint DELETE /acr/v1/{name}/_tags/{reference}
@desc Delete tag
@required {name: any # Name of the image (including the namespace), reference: any # Tag name}
@returns(202) The tag is deleted

";

fn changed_spec() -> String {
    let spec = std::fs::read_to_string(root().join("spec/containerregistry.lap")).expect("spec");
    assert!(
        spec.contains(REMOVED),
        "the drill's removed endpoint is in the spec"
    );
    let spec = spec.replace(REMOVED, "");
    let spec = spec.replace(
        "@endpoint GET /acr/v1/{name}/_manifests\n",
        &format!("{NEW_ENDPOINT}@endpoint GET /acr/v1/{{name}}/_manifests\n"),
    );
    spec.replace(
        "@optional {last: any # Query parameter for the last item in previous query. Result set will include values lexically after last., n: any # query parameter for max number of items}",
        "@optional {last: any # Query parameter for the last item in previous query. Result set will include values lexically after last., n: any # query parameter for max number of items, api-version: any # The API version}",
    )
}

fn overlay_without(entry_head: &str) -> String {
    let overlay = std::fs::read_to_string(root().join("spec/containerregistry.overlay.lap"))
        .expect("overlay");
    let start = overlay.find(entry_head).expect("entry present");
    let end = overlay[start..]
        .find("\n\n")
        .map(|i| start + i + 2)
        .expect("entry ends");
    format!("{}{}", &overlay[..start], &overlay[end..])
}

#[test]
fn a_spec_change_regenerates_into_a_crate_that_builds() {
    let spec = changed_spec();
    let overlay = std::fs::read_to_string(root().join("spec/containerregistry.overlay.lap"))
        .expect("overlay");

    // The stale overlay entry is refused, with its position.
    let err = Inputs::from_texts(
        "containerregistry.lap",
        &spec,
        Some(("containerregistry.overlay.lap", &overlay)),
    )
    .and_then(|i| i.lower())
    .expect_err("a stale overlay entry is an error");
    let text = err.to_string();
    assert!(
        text.starts_with("error: containerregistry.overlay.lap:"),
        "{text}"
    );
    assert!(
        text.contains("DELETE /acr/v1/{name}/_tags/{reference} names no endpoint of the spec"),
        "{text}"
    );

    // With that entry gone, generation succeeds and says what it inferred.
    let overlay = overlay_without("@endpoint DELETE /acr/v1/{name}/_tags/{reference}\n");
    let inputs = Inputs::from_texts(
        "containerregistry.lap",
        &spec,
        Some(("containerregistry.overlay.lap", &overlay)),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let output = generate(&inputs).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        output.warnings.iter().any(|w| w
            .contains("GET /acr/v1/{name}/_referrers/{digest} is not described by the overlay")),
        "{:?}",
        output.warnings
    );
    assert!(
        output
            .warnings
            .iter()
            .any(|w| w.contains("spec parameter api-version of GET /acr/v1/_catalog")),
        "{:?}",
        output.warnings
    );

    let names: Vec<&str> = output
        .api
        .operations
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    assert!(
        !names.contains(&"delete_tag"),
        "the removed operation is gone"
    );
    let new_op = output
        .api
        .operations
        .iter()
        .find(|o| o.path.raw == "/acr/v1/{name}/_referrers/{digest}")
        .expect("new operation");
    let all: String = output.files.iter().map(|f| f.contents.as_str()).collect();
    assert!(
        all.contains(&format!("pub fn {}(", new_op.name)),
        "the new operation has a method"
    );
    assert!(
        !all.contains("pub fn delete_tag("),
        "the removed operation has no method"
    );
    assert!(
        all.contains("pub fn api_version("),
        "the new optional parameter has a setter"
    );

    // The API change report names both, and calls the removal breaking.
    let committed = xtask::tree::read(&root().join("generated/src")).expect("generated");
    let wanted = output
        .files
        .iter()
        .map(|f| (f.path.clone(), f.contents.clone()))
        .collect();
    let report = xtask::api_diff::report(&committed, &wanted);
    assert!(
        report.contains("- operation delete_tag (breaking)"),
        "{report}"
    );
    assert!(
        report.contains(&format!("+ operation {} (additive)", new_op.name)),
        "{report}"
    );
    assert!(
        report
            .contains("~ operation get_repositories: + optional parameter api_version (additive)"),
        "{report}"
    );

    // A temporary copy of the crate with the new sources builds.
    let dir = tempfile::tempdir().expect("tempdir");
    let krate = dir.path().join("acr");
    for f in &output.files {
        let path = krate.join("src").join(&f.path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, &f.contents).expect("write");
    }
    std::fs::write(
        krate.join("Cargo.toml"),
        xtask::manifest::workspace_crate_manifest(&krate, true).expect("manifest"),
    )
    .expect("manifest");
    std::fs::copy(root().join("Cargo.lock"), krate.join("Cargo.lock")).expect("lock");
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("target"));
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["check", "--quiet", "--message-format", "short"])
        .current_dir(&krate)
        .env("CARGO_TARGET_DIR", target.join("drill"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "the regenerated crate does not build:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
