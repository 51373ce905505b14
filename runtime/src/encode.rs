//! Percent-encoding of values that go into a request path (RFC 3986 §3.3), for the generated
//! operations: one implementation in the runtime rather than a copy in every generated crate.
//!
//! A segment keeps the unreserved characters (`A-Z a-z 0-9 - . _ ~`) and the sub-delimiters
//! `$ & + : = @` that a path segment may hold as they are (RFC 3986 §3.3 `pchar`); every other
//! byte of its UTF-8 form is `%XX`. `.` and `..` are encoded whole (`%2E`), so no value can
//! climb out of its place in the path.

use std::borrow::Cow;

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
/// Takes a `&str` or a `String`, and gives it back as it is when nothing in it needs
/// encoding.
pub fn segment<'a>(value: impl Into<Cow<'a, str>>) -> Cow<'a, str> {
    let value = value.into();
    if value == "." || value == ".." {
        return Cow::Owned(value.replace('.', "%2E"));
    }
    // decided by the bytes: `percent_encoding` borrows its output whenever it is one piece,
    // which is also the `%XX` of a one-byte value
    if value.bytes().all(is_kept) {
        return value;
    }
    Cow::Owned(utf8_percent_encode(&value, SEGMENT).to_string())
}

/// Percent-encodes a value whose `/` separate path segments (a repository name): each segment
/// as [`segment`], the `/` kept. Takes a `&str` or a `String`, and gives it back as it is
/// when nothing in it needs encoding (a valid repository name never does).
pub fn path<'a>(value: impl Into<Cow<'a, str>>) -> Cow<'a, str> {
    let value = value.into();
    let plain = value.bytes().all(|b| b == b'/' || is_kept(b))
        && !value.split('/').any(|part| part == "." || part == "..");
    if plain {
        return value;
    }
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
    Cow::Owned(out)
}

/// Whether a segment keeps `byte` as it is (not in [`SEGMENT`]).
fn is_kept(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~$&+:=@".contains(&byte)
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
        assert_eq!(path("a/./b"), "a/%2E/b");
        assert_eq!(path("a/.../b"), "a/.../b");
        assert!(matches!(path("library/hello-1.0_x"), Cow::Borrowed(_)));
        assert!(matches!(segment("sha256:abc"), Cow::Borrowed(_)));
        // an owned value comes back as it is, or encoded
        assert_eq!(segment(String::from("v1")), "v1");
        assert_eq!(segment(String::from("a b")), "a%20b");
        assert_eq!(path(String::from("a/..")), "a/%2E%2E");
    }

    #[test]
    fn a_one_byte_value_is_encoded_like_any_other() {
        // `percent_encoding` gives the `%XX` of a one-byte value as a borrowed piece: it is
        // still an encoding, not the value kept
        for b in 0u8..=127 {
            let c = char::from(b);
            let value = c.to_string();
            let want = match c {
                '.' => "%2E".to_owned(),
                _ => utf8_percent_encode(&value, SEGMENT).to_string(),
            };
            assert_eq!(segment(value.as_str()), want, "byte {b:#04x}");
            assert_eq!(segment(value.clone()), want, "byte {b:#04x}, owned");
            if c != '/' {
                assert_eq!(path(value.as_str()), want, "byte {b:#04x}, path");
            }
        }
        for (value, want) in [
            ("/", "%2F"),
            ("?", "%3F"),
            ("#", "%23"),
            ("%", "%25"),
            ("é", "%C3%A9"),
        ] {
            assert_eq!(segment(value), want);
        }
    }

    #[test]
    fn the_plain_path_shortcut_keeps_exactly_what_a_segment_keeps() {
        for b in 0u8..=127 {
            let c = char::from(b);
            let kept = utf8_percent_encode(&c.to_string(), SEGMENT).to_string() == c.to_string();
            assert_eq!(is_kept(b), kept, "byte {b:#04x} ({c:?})");
            if c != '/' && c != '.' {
                let value = format!("a{c}b/c");
                let slow: String = value
                    .split('/')
                    .map(|part| segment(part).into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                assert_eq!(path(&value), slow, "byte {b:#04x}");
            }
        }
    }
}
