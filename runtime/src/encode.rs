//! Percent-encoding of values that go into a request path (RFC 3986 §3.3), for the generated
//! operations: one implementation in the runtime rather than a copy in every generated crate.
//!
//! A segment keeps the unreserved characters (`A-Z a-z 0-9 - . _ ~`) and the sub-delimiters
//! `$ & + : = @` that a path segment may hold as they are (RFC 3986 §3.3 `pchar`); every other
//! byte of its UTF-8 form is `%XX`. `.` and `..` are encoded whole (`%2E`), so no value can
//! climb out of its place in the path.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// The bytes a path segment sends as `%XX`: all but the unreserved characters and `$&+:=@`.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b':')
    .remove(b'=')
    .remove(b'@');

/// Percent-encodes one path segment (a tag, a digest); `.` and `..` are encoded too.
pub fn segment(value: impl AsRef<str>) -> String {
    let value = value.as_ref();
    if value == "." || value == ".." {
        return value.replace('.', "%2E");
    }
    std::borrow::Cow::from(utf8_percent_encode(value, SEGMENT)).into_owned()
}

/// Percent-encodes a value whose `/` separate path segments (a repository name): each segment
/// as [`segment`], the `/` kept.
pub fn path(value: impl AsRef<str>) -> String {
    let value = value.as_ref();
    let mut out = String::with_capacity(value.len());
    for (i, part) in value.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if part == "." || part == ".." {
            out.push_str(&part.replace('.', "%2E"));
        } else {
            out.extend(utf8_percent_encode(part, SEGMENT));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_keep_pchars_and_encode_the_rest() {
        assert_eq!(segment("sha256:abc"), "sha256:abc");
        assert_eq!(segment("v1.2-rc_3~x"), "v1.2-rc_3~x");
        assert_eq!(segment("$&+:=@"), "$&+:=@");
        assert_eq!(segment("a b/c?d#e%"), "a%20b%2Fc%3Fd%23e%25");
        assert_eq!(segment("é"), "%C3%A9");
        assert_eq!(segment("."), "%2E");
        assert_eq!(segment(".."), "%2E%2E");
        assert_eq!(segment("..."), "...");
    }

    #[test]
    fn paths_encode_each_segment() {
        assert_eq!(path("library/hello"), "library/hello");
        assert_eq!(path("a/../b"), "a/%2E%2E/b");
        assert_eq!(path("a b/c"), "a%20b/c");
    }
}
