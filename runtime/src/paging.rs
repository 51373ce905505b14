//! `Link`-paged listings: whole pages with a continuation a caller can store, and a
//! `Stream` of items built on them.
//!
//! A registry signals the next page of a listing with a `Link` response header (OCI
//! distribution spec, "Listing Tags"; ACR does the same for its `/acr/v1` listings). The header
//! follows RFC 8288 §3: a response may carry several `Link` fields, each a comma-separated
//! list of link-values `<target>; param; param=value`, and the relation types of a value are
//! its first `rel` parameter, quoted or not, separated by spaces. The pager reads every field
//! and every link-value, and follows the first whose `rel` contains `next`
//! (case-insensitively). A page without such a link is the last one, whatever other links
//! (`prev`, `first`) it carries.
//!
//! The pager refuses a listing that cannot end or is not the registry's: a `next` target
//! already visited in this listing (a loop), or one on another origin than the registry's
//! endpoint, ends the stream with [`Error::InvalidResponse`]
//! after the page that carried it.

use std::collections::HashSet;
use std::fmt;
use std::pin::Pin;
use std::str::FromStr;

use futures_core::Stream;
use futures_util::StreamExt as _;
use http::HeaderMap;
use url::Url;

use crate::{Error, Request, Response, Transport};

/// A boxed, `Send` stream of results, as the generated paged operations return it.
pub type BoxStream<T> = Pin<Box<dyn Stream<Item = crate::Result<T>> + Send + 'static>>;

/// One link-value of a `Link` header (RFC 8288 §3): a target and its relation types.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkValue {
    /// The target as written between `<` and `>` (a URI reference, often relative:
    /// `/acr/v1/_catalog?last=a&n=1`).
    pub target: String,
    /// The relation types of the first `rel` parameter, as written (`next`, `prev`, …);
    /// empty when the value has none.
    pub rels: Vec<String>,
}

impl LinkValue {
    /// Whether one of the relation types is `rel` (compared case-insensitively, as
    /// RFC 8288 §2.1.1 says registered relation types are).
    pub fn has_rel(&self, rel: &str) -> bool {
        self.rels.iter().any(|r| r.eq_ignore_ascii_case(rel))
    }
}

/// Reads the link-values of one `Link` field value. A link-value that does not start with
/// `<target>` is skipped up to the next top-level comma; commas inside `<…>` and inside
/// quoted strings do not split values.
pub(crate) fn parse_link_values(text: &str) -> Vec<LinkValue> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < bytes.len() && matches!(bytes[*i], b' ' | b'\t') {
            *i += 1;
        }
    };
    // Skips to just past the next comma outside a quoted string.
    let skip_value = |i: &mut usize| {
        let mut quoted = false;
        while *i < bytes.len() {
            match bytes[*i] {
                b'\\' if quoted => *i += 1,
                b'"' => quoted = !quoted,
                b',' if !quoted => {
                    *i += 1;
                    return;
                }
                _ => {}
            }
            *i += 1;
        }
    };
    while i < bytes.len() {
        skip_ws(&mut i);
        if i >= bytes.len() {
            break;
        }
        if bytes[i] == b',' {
            i += 1;
            continue;
        }
        if bytes[i] != b'<' {
            skip_value(&mut i);
            continue;
        }
        let Some(close) = text[i + 1..].find('>') else {
            break;
        };
        let target = text[i + 1..i + 1 + close].trim().to_owned();
        i += close + 2;
        let mut rels: Option<Vec<String>> = None;
        // Parameters: *( OWS ";" OWS link-param ), until a top-level comma ends the value.
        loop {
            skip_ws(&mut i);
            if i >= bytes.len() {
                break;
            }
            match bytes[i] {
                b',' => {
                    i += 1;
                    break;
                }
                b';' => i += 1,
                _ => {
                    skip_value(&mut i);
                    break;
                }
            }
            skip_ws(&mut i);
            let start = i;
            while i < bytes.len() && !matches!(bytes[i], b'=' | b';' | b',' | b' ' | b'\t') {
                i += 1;
            }
            let name = &text[start..i];
            skip_ws(&mut i);
            let mut value = String::new();
            if i < bytes.len() && bytes[i] == b'=' {
                i += 1;
                skip_ws(&mut i);
                if i < bytes.len() && bytes[i] == b'"' {
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' {
                        if bytes[i] == b'\\' && i + 1 < bytes.len() {
                            i += 1;
                        }
                        let ch_len = text[i..].chars().next().map_or(1, char::len_utf8);
                        value.push_str(&text[i..i + ch_len]);
                        i += ch_len;
                    }
                    i += 1;
                } else {
                    let start = i;
                    while i < bytes.len() && !matches!(bytes[i], b';' | b',' | b' ' | b'\t') {
                        i += 1;
                    }
                    value.push_str(&text[start..i]);
                }
            }
            // RFC 8288 §3.3: occurrences of `rel` after the first are ignored.
            if name.eq_ignore_ascii_case("rel") && rels.is_none() {
                rels = Some(value.split_whitespace().map(str::to_owned).collect());
            }
        }
        out.push(LinkValue {
            target,
            rels: rels.unwrap_or_default(),
        });
    }
    out
}

/// The target of the first link-value whose relation types contain `next`, over every
/// `Link` field of `headers`.
pub(crate) fn next_target(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(parse_link_values)
        .find(|v| v.has_rel("next"))
        .map(|v| v.target)
}

/// The `next` target of one `Link` field value (`</acr/v1/_catalog?last=a&n=1>; rel="next"`).
#[doc(hidden)]
pub fn next_link(value: &str) -> Option<String> {
    parse_link_values(value)
        .into_iter()
        .find(|v| v.has_rel("next"))
        .map(|v| v.target)
}

/// Where a listing goes on: the path and query of its next page on the registry.
///
/// Store it ([`Continuation::as_str`], `Display`, or serde as a string) and resume later with
/// the paged builder's `resume_from`: the next page is asked for exactly as the registry
/// linked it (page size, order and filters included). It is always a path on the registry's
/// own endpoint (`/acr/v1/hello/_tags?last=v1&n=100&orderby=`), never a full URL, so it
/// cannot send a request elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Continuation(String);

/// Why a text is not a [`Continuation`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid continuation {value:?}: {reason}")]
pub struct ContinuationError {
    value: String,
    reason: &'static str,
}

impl Continuation {
    /// Parses a stored continuation: a path starting with a single `/`, with an optional
    /// query, no fragment, no spaces or control characters.
    pub fn new(value: impl Into<String>) -> Result<Self, ContinuationError> {
        let value = value.into();
        let reason = if !value.starts_with('/') || value.starts_with("//") {
            Some("a continuation is a path on the registry, starting with one '/'")
        } else if value
            .bytes()
            .any(|b| b.is_ascii_control() || b == b' ' || b == b'#')
        {
            Some("control characters, spaces and '#' are not allowed")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(ContinuationError { value, reason }),
            None => Ok(Self(value)),
        }
    }

    /// The path and query of the next page.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Continuation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Continuation {
    type Err = ContinuationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl serde::Serialize for Continuation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Continuation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new(s).map_err(serde::de::Error::custom)
    }
}

/// Resolves a `Link` target against `base`, the URL of the response that carried it
/// (RFC 3986 §5), and keeps it only when it is on the origin of `endpoint`.
///
/// `Err` carries the reason, for the caller's error.
pub fn resolve_next(base: &Url, endpoint: &Url, target: &str) -> Result<Continuation, String> {
    let url = base
        .join(target)
        .map_err(|e| format!("the next-page link is not a valid URI reference: {e}"))?;
    if url.origin() != endpoint.origin() {
        return Err(format!(
            "the next-page link points to another origin ({}) than the registry's; refused",
            url.origin().ascii_serialization()
        ));
    }
    Ok(Continuation(path_and_query(&url)))
}

/// The path and query of `url` (no fragment).
fn path_and_query(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

/// `request` sent to the page `continuation` names instead: its path and query are replaced,
/// everything else (operation, scope, repository, headers) kept.
pub fn resume(mut request: Request, continuation: &Continuation) -> Request {
    request.path = continuation.0.clone();
    request.query.clear();
    request
}

/// One page of a listing.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Page<T> {
    /// The page's items, in the registry's order.
    pub items: Vec<T>,
    /// Where the listing goes on; `None` on the last page.
    pub next: Option<Continuation>,
}

/// Follows `Link` headers from `first` until the last page, yielding each page whole, with
/// its items as `items` extracts them from the response.
///
/// Relative targets resolve against the URL the page was asked for. A next link that was
/// already visited in this listing, or that leaves the registry's origin, ends the stream
/// with an error after the page that carried it.
pub fn pages<T, F>(transport: Transport, first: Request, items: F) -> BoxStream<Page<T>>
where
    T: Send + 'static,
    F: FnMut(&Response) -> crate::Result<Vec<T>> + Send + 'static,
{
    struct State<F> {
        transport: Transport,
        next: Option<Request>,
        visited: HashSet<String>,
        pending: Option<Error>,
        items: F,
    }
    let state = State {
        transport,
        next: Some(first),
        visited: HashSet::new(),
        pending: None,
        items,
    };
    Box::pin(futures_util::stream::unfold(state, |mut st| async move {
        if let Some(e) = st.pending.take() {
            return Some((Err(e), st));
        }
        let request = st.next.take()?;
        let operation = request.operation;
        // The URL this page is asked for is a visited page; so is the URL that answered
        // (after redirects), which is the base of relative links (RFC 8288 §3.2, RFC 3986 §5).
        let asked = match st.transport.url_for(&request) {
            Ok(url) => url,
            Err(e) => return Some((Err(e), st)),
        };
        st.visited.insert(path_and_query(&asked));
        let template = request.clone();
        let response = match st.transport.send(request).await {
            Ok(r) => r,
            Err(e) => return Some((Err(e), st)),
        };
        let base = response.url.clone();
        st.visited.insert(path_and_query(&base));
        let items = match (st.items)(&response) {
            Ok(v) => v,
            Err(e) => return Some((Err(e), st)),
        };
        let mut next = None;
        if let Some(target) = next_target(&response.headers) {
            match resolve_next(&base, st.transport.endpoint(), &target) {
                Ok(c) if st.visited.contains(c.as_str()) => {
                    st.pending = Some(Error::invalid_response(
                        operation,
                        format!(
                            "the next-page link of page {} points back to a page already read ({}); the listing would never end",
                            st.visited.len(),
                            c.as_str().split('?').next().unwrap_or_default()
                        ),
                    ));
                }
                Ok(c) => {
                    st.next = Some(resume(template, &c));
                    next = Some(c);
                }
                Err(message) => st.pending = Some(Error::invalid_response(operation, message)),
            }
        }
        tracing::debug!(
            items = items.len(),
            last = next.is_none(),
            "read a page of a listing"
        );
        Some((Ok(Page { items, next }), st))
    }))
}

/// Every item of every page of [`pages`], as one stream.
pub fn paginate<T, F>(transport: Transport, first: Request, items: F) -> BoxStream<T>
where
    T: Send + 'static,
    F: FnMut(&Response) -> crate::Result<Vec<T>> + Send + 'static,
{
    Box::pin(pages(transport, first, items).flat_map(|page| {
        let items: Vec<crate::Result<T>> = match page {
            Ok(page) => page.items.into_iter().map(Ok).collect(),
            Err(e) => vec![Err(e)],
        };
        futures_util::stream::iter(items)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rels(text: &str) -> Vec<(String, Vec<String>)> {
        parse_link_values(text)
            .into_iter()
            .map(|v| (v.target, v.rels))
            .collect()
    }

    #[test]
    fn link_values_quoted_unquoted_and_several() {
        assert_eq!(
            next_link(r#"</acr/v1/_catalog?last=a&n=1&orderby=>; rel="next""#).as_deref(),
            Some("/acr/v1/_catalog?last=a&n=1&orderby=")
        );
        assert_eq!(next_link("</x?a=1>;rel=next").as_deref(), Some("/x?a=1"));
        assert_eq!(next_link("</x>; REL = \"NEXT\"").as_deref(), Some("/x"));
        // several relation types, next not first
        assert_eq!(
            next_link(r#"</p>; rel="prev", </n>; title="a, b; c"; rel="last next""#).as_deref(),
            Some("/n")
        );
        // a comma inside the target does not split it
        assert_eq!(
            next_link(r#"</x?tags=a,b>; rel="next""#).as_deref(),
            Some("/x?tags=a,b")
        );
        // only the first rel counts
        assert_eq!(next_link(r#"</x>; rel="prev"; rel="next""#), None);
        // prev/first only: no next
        assert_eq!(next_link(r#"</a>; rel="first", </b>; rel=prev"#), None);
        // garbage is skipped, the next value still read
        assert_eq!(
            rels(r#"junk; rel=next, </b>; rel="next""#),
            vec![("/b".to_owned(), vec!["next".to_owned()])]
        );
        assert_eq!(rels(""), vec![]);
    }

    #[test]
    fn next_target_reads_every_field() {
        let mut h = HeaderMap::new();
        h.append("link", r#"</first>; rel="first""#.parse().unwrap());
        h.append("link", r#"</two?last=b>; rel="next""#.parse().unwrap());
        assert_eq!(next_target(&h).as_deref(), Some("/two?last=b"));
        let mut h = HeaderMap::new();
        h.append("link", r#"</a>; rel="prev""#.parse().unwrap());
        h.append("link", r#"</b>; rel="first""#.parse().unwrap());
        assert_eq!(next_target(&h), None);
    }

    #[test]
    fn resolves_relative_and_refuses_other_origins() {
        let endpoint = Url::parse("https://r.example/").unwrap();
        let base = Url::parse("https://r.example/v2/a/tags/list?n=2").unwrap();
        assert_eq!(
            resolve_next(&base, &endpoint, "?n=2&last=x")
                .unwrap()
                .as_str(),
            "/v2/a/tags/list?n=2&last=x"
        );
        assert_eq!(
            resolve_next(&base, &endpoint, "list2?last=x")
                .unwrap()
                .as_str(),
            "/v2/a/tags/list2?last=x"
        );
        assert_eq!(
            resolve_next(
                &base,
                &endpoint,
                "https://r.example/v2/a/tags/list?last=y#f"
            )
            .unwrap()
            .as_str(),
            "/v2/a/tags/list?last=y"
        );
        assert!(resolve_next(&base, &endpoint, "https://evil.example/x").is_err());
        assert!(resolve_next(&base, &endpoint, "//evil.example/x").is_err());
        assert!(resolve_next(&base, &endpoint, "http://r.example/x").is_err());
    }

    #[test]
    fn continuations_are_paths_only() {
        assert!(Continuation::new("/acr/v1/_catalog?last=a").is_ok());
        assert!(Continuation::new("https://evil.example/x").is_err());
        assert!(Continuation::new("//evil.example/x").is_err());
        assert!(Continuation::new("/a b").is_err());
        let c: Continuation = serde_json::from_str(r#""/v2/_catalog?n=1""#).unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), r#""/v2/_catalog?n=1""#);
        assert!(serde_json::from_str::<Continuation>(r#""http://x/""#).is_err());
    }
}
