//! The OCI distribution-spec grammar for repository names, tags and digests, and the path
//! decoding that lets a repository name arrive as `library%2Fhello` or `library/hello`.

use percent_encoding::percent_decode_str;

/// Whether `name` is a valid repository name:
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`.
pub fn is_repository_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 255 && name.split('/').all(is_path_component)
}

fn is_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if alnum(b) {
            i += 1;
            continue;
        }
        // A separator run: `.`, `_`, `__`, or one or more `-`.
        let start = i;
        match b {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < bytes.len() && bytes[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < bytes.len() && bytes[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        if i == start || i >= bytes.len() || !alnum(bytes[i]) {
            return false;
        }
    }
    true
}

/// Whether `tag` is a valid tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn is_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Whether `digest` is a `sha256:` digest with 64 lowercase hex characters (the only algorithm
/// the emulator stores; ACR also only produces these).
pub fn is_sha256_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Percent-decodes one path segment; `None` if it is not UTF-8.
pub fn decode_segment(segment: &str) -> Option<String> {
    percent_decode_str(segment)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Decodes the segments of a repository name and joins them with `/`, so that both
/// `library%2Fhello` (one segment) and `library/hello` (two segments) give `library/hello`.
pub fn decode_name(segments: &[&str]) -> Option<String> {
    let parts: Option<Vec<String>> = segments.iter().map(|s| decode_segment(s)).collect();
    Some(parts?.join("/"))
}

/// The sha256 digest string of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    use sha2::{Digest as _, Sha256};
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names() {
        for ok in ["hello", "library/hello-world", "a.b_c__d--e/f0", "a/b/c"] {
            assert!(is_repository_name(ok), "{ok}");
        }
        for bad in [
            "", "Hello", "a//b", "-a", "a-", "a/", "a___b", "a..b", "../x", "a?b",
        ] {
            assert!(!is_repository_name(bad), "{bad}");
        }
    }

    #[test]
    fn tags_and_digests() {
        assert!(is_tag("latest") && is_tag("v1.0_rc-2") && is_tag("_x"));
        assert!(!is_tag("") && !is_tag(".x") && !is_tag("a/b") && !is_tag(&"a".repeat(129)));
        let d = sha256_digest(b"");
        assert!(is_sha256_digest(&d));
        assert!(!is_sha256_digest("sha256:abc"));
        assert!(!is_sha256_digest(&d.to_uppercase()));
    }

    #[test]
    fn names_decode_from_either_form() {
        assert_eq!(decode_name(&["library%2Fhello"]).unwrap(), "library/hello");
        assert_eq!(decode_name(&["library", "hello"]).unwrap(), "library/hello");
    }
}
