//! Path templates: `/v2/{name}/manifests/{reference}` split into literals and parameters.

use acr_codegen::ir::{PathSegment, PathTemplate};

/// Splits a LAP path into literal text and `{param}` (or greedy `{param+}`) placeholders.
/// Anything that is not a well-formed placeholder (`{{host}}`, an unclosed `{`) stays literal.
pub fn parse_path(raw: &str) -> PathTemplate {
    let mut segments: Vec<PathSegment> = Vec::new();
    let mut literal = String::new();
    let mut rest = raw;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        if after.starts_with('{') {
            // `{{template}}` is literal text, up to and including its `}}`.
            let end = after.find("}}").map_or(after.len(), |i| i + 2);
            literal.push_str(&rest[..open + 1 + end]);
            rest = &after[end..];
            continue;
        }
        let close = after.find('}');
        let name = close.map(|c| &after[..c]);
        match name {
            Some(name) if is_param_name(name) => {
                literal.push_str(&rest[..open]);
                if !literal.is_empty() {
                    segments.push(PathSegment::Literal(std::mem::take(&mut literal)));
                }
                segments.push(PathSegment::Param(name.trim_end_matches('+').to_owned()));
                rest = &after[name.len() + 1..];
            }
            _ => {
                literal.push_str(&rest[..open + 1]);
                rest = after;
            }
        }
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        segments.push(PathSegment::Literal(literal));
    }
    PathTemplate {
        raw: raw.to_owned(),
        segments,
    }
}

fn is_param_name(name: &str) -> bool {
    let base = name.strip_suffix('+').unwrap_or(name);
    !base.is_empty() && !base.contains(['{', '}', '/', '?', '#', ' '])
}

/// The parameter names of a path template, in order, without duplicates.
pub fn path_params(t: &PathTemplate) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in &t.segments {
        if let PathSegment::Param(p) = s
            && !out.contains(p)
        {
            out.push(p.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_params_and_literals() {
        let t = parse_path("/v2/{name}/manifests/{reference}");
        assert_eq!(
            t.segments,
            vec![
                PathSegment::Literal("/v2/".into()),
                PathSegment::Param("name".into()),
                PathSegment::Literal("/manifests/".into()),
                PathSegment::Param("reference".into()),
            ]
        );
        assert_eq!(parse_path("/{nextBlobUuidLink}").segments.len(), 2);
        assert_eq!(
            path_params(&parse_path("/a/{artifactName+}")),
            vec!["artifactName".to_owned()]
        );
    }

    #[test]
    fn odd_braces_stay_literal() {
        let t = parse_path("/{{api-host}}/x/{id}");
        assert_eq!(path_params(&t), vec!["id".to_owned()]);
        assert_eq!(path_params(&parse_path("/a/{open")), Vec::<String>::new());
        assert_eq!(
            parse_path("/").segments,
            vec![PathSegment::Literal("/".into())]
        );
    }
}
