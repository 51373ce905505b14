//! Typed values of the registry's response headers: `Range` and `Link`.

use std::fmt;
use std::str::FromStr;

/// An inclusive byte range as registries write it in `Range` (`0-1238`, `bytes=0-1238`).
///
/// An upload session that holds nothing yet answers `0-0`; use [`UploadRange::received`]
/// with care: a registry cannot tell "no byte" from "one byte" in that form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadRange {
    /// The first byte.
    pub start: u64,
    /// The last byte, inclusive.
    pub end: u64,
}

impl UploadRange {
    /// The number of bytes the range covers when read as `start-end` inclusive.
    pub fn received(&self) -> u64 {
        self.end.saturating_sub(self.start).saturating_add(1)
    }
}

/// Why a header value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HeaderParseError(String);

impl FromStr for UploadRange {
    type Err = HeaderParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let body = s.trim();
        let body = body
            .strip_prefix("bytes=")
            .or_else(|| body.strip_prefix("bytes "))
            .unwrap_or(body);
        let body = body.split('/').next().unwrap_or(body);
        let (a, b) = body
            .split_once('-')
            .ok_or_else(|| HeaderParseError(format!("range {s:?} is not start-end")))?;
        let start = a
            .trim()
            .parse()
            .map_err(|_| HeaderParseError(format!("range {s:?}: bad start")))?;
        let end = b
            .trim()
            .parse()
            .map_err(|_| HeaderParseError(format!("range {s:?}: bad end")))?;
        if end < start {
            return Err(HeaderParseError(format!(
                "range {s:?} ends before it starts"
            )));
        }
        Ok(Self { start, end })
    }
}

impl fmt::Display for UploadRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

/// A `Content-Range` value of a `206 Partial Content` answer (RFC 9110 §14.4):
/// `bytes <first>-<last>/<complete length>`, the length `*` when unknown. Returns
/// `(first, last, complete length)`; `None` when the value has another shape, `last` is below
/// `first`, or the range does not fit in the complete length. The unit is optional (some
/// registries write `<first>-<last>/<length>` only).
pub fn parse_content_range(value: &str) -> Option<(u64, u64, Option<u64>)> {
    let spec = value.trim();
    let spec = spec
        .strip_prefix("bytes")
        .map(str::trim_start)
        .unwrap_or(spec);
    let (range, total) = spec.split_once('/')?;
    let (first, last) = range.trim().split_once('-')?;
    let digits = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (first, last) = (digits(first)?, digits(last)?);
    let total = match total.trim() {
        "*" => None,
        t => Some(digits(t)?),
    };
    if last < first || total.is_some_and(|t| last >= t) {
        return None;
    }
    Some((first, last, total))
}

/// A `Link` header (RFC 8288 §3): every link-value of every `Link` field of a response.
///
/// A listing's next page is the target of [`Link::next`]; a header with only `prev` or
/// `first` links (or none that parse) is no error: there is no next page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Link {
    values: Vec<crate::paging::LinkValue>,
}

impl Link {
    /// Every link-value, in the order they came.
    pub fn values(&self) -> &[crate::paging::LinkValue] {
        &self.values
    }

    /// The target of the first link-value whose relation types contain `next`
    /// (`/acr/v1/_catalog?last=a&n=1`), as written: it may be relative to the URL of the
    /// response.
    pub fn next(&self) -> Option<&str> {
        self.values
            .iter()
            .find(|v| v.has_rel("next"))
            .map(|v| v.target.as_str())
    }
}

/// Reads a `Link` field value, or several joined with `, `; link-values that do not parse
/// are skipped, so this never fails.
impl FromStr for Link {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self {
            values: crate::paging::parse_link_values(s),
        })
    }
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.values.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "<{}>", v.target)?;
            if !v.rels.is_empty() {
                write!(f, "; rel=\"{}\"", v.rels.join(" "))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_in_both_dialects() {
        assert_eq!(
            "0-1238".parse::<UploadRange>().unwrap(),
            UploadRange {
                start: 0,
                end: 1238
            }
        );
        assert_eq!("bytes=5-9".parse::<UploadRange>().unwrap().received(), 5);
        assert!("9-5".parse::<UploadRange>().is_err());
        assert!("x".parse::<UploadRange>().is_err());
    }

    #[test]
    fn link_next() {
        let l: Link = r#"</acr/v1/_catalog?last=a&n=1>; rel="next""#.parse().unwrap();
        assert_eq!(l.next(), Some("/acr/v1/_catalog?last=a&n=1"));
        assert_eq!(
            l.to_string(),
            r#"</acr/v1/_catalog?last=a&n=1>; rel="next""#
        );
        let l: Link = r#"</x>; rel="prev", </y>; rel=first"#.parse().unwrap();
        assert_eq!(l.next(), None);
        assert_eq!(l.values().len(), 2);
    }

    #[test]
    fn content_ranges() {
        assert_eq!(parse_content_range("bytes 5-9/10"), Some((5, 9, Some(10))));
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, 9, None)));
        assert_eq!(parse_content_range("5-9/10"), Some((5, 9, Some(10))));
        for bad in [
            "",
            "bytes */10",
            "bytes 9-5/10",
            "bytes 5-10/10",
            "bytes 5-/10",
            "bytes +5-9/10",
            "bytes 5-9",
            "bytes 99999999999999999999-1/2",
        ] {
            assert_eq!(parse_content_range(bad), None, "{bad:?}");
        }
    }
}
