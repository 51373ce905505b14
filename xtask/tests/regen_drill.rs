//! The regeneration drill: a realistic upstream spec change, regenerated into a temporary copy of
//! the `acr` crate, builds with no hand edit of generated code.
//!
//! The change: a new endpoint (with a typed `@returns(200) {…}`), a new optional query
//! parameter on an existing endpoint, and an endpoint removed. The overlay entry of the removed
//! endpoint must go too: first the drill shows that codegen refuses the stale entry with its
//! position (the merge rule), then it deletes that entry, as the error tells a maintainer to.
//! The second spec, `oci-distribution.lap`, changes too: its tag list gains the OCI proxying
//! parameter `ns`. Both are regenerated into one crate, as `cargo xtask codegen` does.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use xtask::generate::{Inputs, SpecSet, generate_set};

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

const OCI_TAGS_OPTIONAL: &str = "@optional {n: int # Maximum number of tags in the page, last: str # Only tags lexically after this one}";

fn changed_oci_spec() -> String {
    let spec = std::fs::read_to_string(root().join("spec/oci-distribution.lap")).expect("spec");
    assert!(
        spec.contains(OCI_TAGS_OPTIONAL),
        "the drill's tag list parameters are in the spec"
    );
    spec.replace(
        OCI_TAGS_OPTIONAL,
        "@optional {n: int # Maximum number of tags in the page, last: str # Only tags lexically after this one, ns: str # The registry host a proxy should read from}",
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

/// The template manifest plus the dependencies `generated/Cargo.toml` has beyond it (those of
/// the hand-written modules), each as the workspace declares it, so the copy builds as `acr`
/// does.
fn with_hand_written_dependencies(template: String) -> String {
    /// The lines of the `[header]` table of a manifest.
    fn table<'a>(text: &'a str, header: &str) -> Vec<&'a str> {
        text.lines()
            .skip_while(|l| l.trim() != header)
            .skip(1)
            .take_while(|l| !l.starts_with('['))
            .collect()
    }
    let ours = std::fs::read_to_string(root().join("generated/Cargo.toml")).expect("manifest");
    let workspace = std::fs::read_to_string(root().join("Cargo.toml")).expect("manifest");
    let declared = table(&workspace, "[workspace.dependencies]");
    let mut extra = String::new();
    for line in table(&ours, "[dependencies]") {
        let Some(name) = line.trim().strip_suffix(".workspace = true") else {
            continue;
        };
        if template.contains(&format!("\n{name} =")) || name.starts_with("acr") {
            continue;
        }
        let line = declared
            .iter()
            .find(|l| l.starts_with(&format!("{name} =")))
            .unwrap_or_else(|| panic!("{name} is a workspace dependency"));
        extra.push_str(line);
        extra.push('\n');
    }
    template.replacen("[dependencies]\n", &format!("[dependencies]\n{extra}"), 1)
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("read_dir") {
            let entry = entry.expect("entry");
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(from, to).expect("copy");
    }
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
    let oci_overlay =
        std::fs::read_to_string(root().join("spec/oci-distribution.overlay.lap")).expect("overlay");
    let oci = Inputs::from_texts(
        "oci-distribution.lap",
        &changed_oci_spec(),
        Some(("oci-distribution.overlay.lap", &oci_overlay)),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let set = SpecSet {
        parts: vec![inputs, oci],
    };
    let src = root().join("generated/src");
    let extras = xtask::tree::hand_written_modules(&src).expect("src");
    let output = generate_set(&set, &extras).unwrap_or_else(|e| panic!("{e}"));
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
    assert!(
        all.contains("pub fn ns("),
        "the second spec's new optional parameter has a setter"
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
    assert!(
        report.contains("~ operation list_tags: + optional parameter ns (additive)"),
        "{report}"
    );
    let breaking: Vec<&str> = report
        .lines()
        .filter(|l| l.ends_with("(breaking)"))
        .collect();
    assert_eq!(
        breaking,
        [
            "  - operation delete_tag (breaking)",
            "  - type delete_tag::Response (breaking)"
        ],
        "only the removed endpoint is breaking: {report}"
    );

    // A temporary copy of the crate with the new sources builds.
    let dir = tempfile::tempdir().expect("tempdir");
    let krate = dir.path().join("acr");
    // The hand-written modules come along unchanged.
    for m in &extras {
        let (from, to) = if src.join(m).is_dir() {
            (src.join(m), krate.join("src").join(m))
        } else {
            (
                src.join(format!("{m}.rs")),
                krate.join("src").join(format!("{m}.rs")),
            )
        };
        copy_tree(&from, &to);
    }
    for f in &output.files {
        let path = krate.join("src").join(&f.path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, &f.contents).expect("write");
    }
    std::fs::write(
        krate.join("Cargo.toml"),
        with_hand_written_dependencies(
            xtask::manifest::workspace_crate_manifest(&krate, true).expect("manifest"),
        ),
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
