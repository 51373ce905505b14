//! The generator's figures: `cargo xtask codegen` (release build) on the ACR specs, the largest
//! corpus file, and synthetic specs of 1,000 and 10,000 endpoints, each into a fresh folder.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::measure::{self, Stats};
use super::{Row, Setup};

/// A LAP spec of `n` endpoints of four shapes (a GET with path and query parameters and a
/// nested response, a POST with a body, a DELETE, a PUT with two path parameters), each with
/// its own response model: what a large REST API looks like to the generator.
pub fn synthetic(n: usize) -> String {
    let mut s = format!(
        "@lap v0.3\n@api Synthetic{n}\n@base https://api.example.com/v1\n@endpoints {n}\n\n"
    );
    for i in 0..n {
        let _ = match i % 4 {
            0 => write!(
                s,
                "@endpoint GET /things{i}/{{id}}\n@desc Get thing {i}\n@required {{id: str # The id}}\n@optional {{limit: int # How many, cursor: str}}\n@returns(200) {{id: str, name: str, size: int, tags: [str], meta: map{{created: str, owner: str}}}}\n\n"
            ),
            1 => write!(
                s,
                "@endpoint POST /things{i}\n@desc Create thing {i}\n@required {{name: str, size: int}}\n@optional {{tags: [str], labels: map}}\n@returns(201) {{id: str, name: str}}\n\n"
            ),
            2 => write!(
                s,
                "@endpoint DELETE /things{i}/{{id}}\n@desc Delete thing {i}\n@required {{id: str}}\n@returns(204)\n\n"
            ),
            _ => write!(
                s,
                "@endpoint PUT /things{i}/{{id}}/parts/{{part}}\n@desc Put part {i}\n@required {{id: str, part: int, body: str}}\n@returns(200) {{ok: bool}}\n\n"
            ),
        };
    }
    s.push_str("@end\n");
    s
}

/// The largest `.lap` file of the corpus folder, if there is one.
fn largest(corpus: &Path) -> Option<PathBuf> {
    std::fs::read_dir(corpus)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "lap"))
        .max_by_key(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .map(|e| e.path())
}

/// Measures each case; a case that cannot run gives a row saying why.
pub fn run(setup: &Setup) -> Vec<Row> {
    let work = setup.work.join("codegen");
    let _ = std::fs::create_dir_all(&work);
    let mut cases: Vec<(String, Option<PathBuf>)> =
        vec![("the ACR specs (30 operations)".into(), None)];
    if let Some(big) = largest(&crate::workspace::lap_corpus()) {
        let name = big
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        cases.push((format!("the largest corpus file ({name})"), Some(big)));
    }
    for n in [1_000, 10_000] {
        let path = work.join(format!("synthetic-{n}.lap"));
        if std::fs::write(&path, synthetic(n)).is_ok() {
            cases.push((format!("{n} synthetic endpoints"), Some(path)));
        }
    }
    let mut rows = Vec::new();
    for (name, spec) in cases {
        let out = work.join("out");
        let mut samples = Vec::new();
        let mut error = None;
        for _ in 0..setup.runs {
            let _ = std::fs::remove_dir_all(&out);
            let mut cmd = Command::new(&setup.xtask);
            cmd.arg("codegen").arg("--out").arg(&out);
            if let Some(spec) = &spec {
                cmd.arg("--spec").arg(spec);
            }
            match measure::run(&mut cmd) {
                Ok(s) => samples.push(s),
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        let _ = std::fs::remove_dir_all(&out);
        rows.push(match (error, Stats::of(&samples)) {
            (None, Some(st)) => Row::alone(format!("codegen, {name}"), st),
            (e, _) => Row::failed(format!("codegen, {name}"), e.unwrap_or_default()),
        });
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_synthetic_spec_parses_with_its_endpoint_count() {
        let text = synthetic(8);
        let doc = crate::lap::parse(&text, &crate::lap::ParseOptions::default()).unwrap();
        assert_eq!(doc.endpoints.len(), 8);
    }
}
