//! Paging of the `/acr/v1` listings: `n`, `last`, `orderby` and the `Link` header.
//!
//! * Default page size 100 when `n` is absent; `n` must be a positive integer
//!   (else 400 `PAGINATION_NUMBER_INVALID`).
//! * `orderby` absent, empty or `none`: by key (name or digest) ascending, and `last` means
//!   "keys lexically after `last`". `timedesc` / `timeasc`: by `lastUpdateTime`, and `last` names
//!   the last item of the previous page; the page starts after it (an unknown `last` gives an
//!   empty page). Other values are treated as `none`.
//! * `Link: </path?last=<urlenc>&n=<n>&orderby=<v>>; rel="next"` only when more items exist;
//!   `orderby=` is always present (empty when unset), extra filters (`digest`) are appended.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound::{Excluded, Unbounded};

use jiff::Timestamp;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::errors::AcrError;

/// The default page size.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// What a query component must escape: everything but unreserved characters.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a query value (`library/busybox` → `library%2Fbusybox`).
pub fn encode_query_value(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// The paging parameters of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PageRequest {
    pub n: usize,
    pub last: Option<String>,
    /// The `orderby` value as sent (echoed in the link).
    pub orderby: String,
}

impl PageRequest {
    /// Reads `n`, `last` and `orderby` from the query pairs.
    pub(crate) fn from_query(query: &[(String, String)]) -> Result<Self, AcrError> {
        let get = |key: &str| query.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let n = match get("n") {
            None => DEFAULT_PAGE_SIZE,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    AcrError::bad_request(
                        "PAGINATION_NUMBER_INVALID",
                        "invalid number of results requested",
                    )
                })?,
        };
        Ok(PageRequest {
            n,
            last: get("last").filter(|l| !l.is_empty()),
            orderby: get("orderby").unwrap_or_default(),
        })
    }
}

/// One page: the items and, when more exist, the key to continue after.
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    pub next_last: Option<String>,
}

/// A listing kept in key order, with its `(lastUpdateTime, key)` index for the time orders.
pub(crate) struct Listing<'a, V> {
    /// Every item by key.
    pub by_key: &'a BTreeMap<String, V>,
    /// `(updated, key)` of every item in `by_key`.
    pub by_time: &'a BTreeSet<(Timestamp, String)>,
    /// An item's `lastUpdateTime`.
    pub time: fn(&V) -> Timestamp,
}

/// Cuts the page `request` asks for from `listing`, keeping only items `keep` accepts, and
/// renders those on the page. Walks the key order (or the time index) from `last` on, so a page
/// costs O(log n + page size + skipped items), never a sort of the whole listing.
pub(crate) fn page<V, T>(
    listing: &Listing<'_, V>,
    request: &PageRequest,
    keep: impl Fn(&str, &V) -> bool,
    mut render: impl FnMut(&str, &V) -> T,
) -> Page<T> {
    let wanted = request.n.saturating_add(1);
    let chosen: Vec<(&str, &V)> = match request.orderby.as_str() {
        order @ ("timedesc" | "timeasc") => {
            let desc = order == "timedesc";
            // `last` names the last item of the previous page; an unknown or hidden one gives
            // an empty page.
            let after = match &request.last {
                None => None,
                Some(last) => match listing.by_key.get_key_value(last.as_str()) {
                    Some((key, value)) if keep(key, value) => {
                        Some(((listing.time)(value), key.clone()))
                    }
                    _ => {
                        return Page {
                            items: Vec::new(),
                            next_last: None,
                        };
                    }
                },
            };
            let keys: Box<dyn Iterator<Item = &(Timestamp, String)>> = match (after, desc) {
                (None, false) => Box::new(listing.by_time.iter()),
                (None, true) => Box::new(listing.by_time.iter().rev()),
                (Some(after), false) => {
                    Box::new(listing.by_time.range((Excluded(after), Unbounded)))
                }
                (Some(after), true) => {
                    Box::new(listing.by_time.range((Unbounded, Excluded(after))).rev())
                }
            };
            keys.filter_map(|(_, key)| listing.by_key.get_key_value(key.as_str()))
                .map(|(key, value)| (key.as_str(), value))
                .filter(|(key, value)| keep(key, value))
                .take(wanted)
                .collect()
        }
        _ => {
            let from = match &request.last {
                None => Unbounded,
                Some(last) => Excluded(last.as_str()),
            };
            listing
                .by_key
                .range::<str, _>((from, Unbounded))
                .map(|(key, value)| (key.as_str(), value))
                .filter(|(key, value)| keep(key, value))
                .take(wanted)
                .collect()
        }
    };
    let more = chosen.len() > request.n;
    let on_page = &chosen[..chosen.len().min(request.n)];
    let next_last = if more {
        on_page.last().map(|(key, _)| (*key).to_owned())
    } else {
        None
    };
    Page {
        items: on_page
            .iter()
            .map(|(key, value)| render(key, value))
            .collect(),
        next_last,
    }
}

/// The `Link` header value for the next page.
pub(crate) fn link(
    path: &str,
    last: &str,
    request: &PageRequest,
    extra: &[(&str, &str)],
) -> String {
    let mut target = format!(
        "{path}?last={}&n={}&orderby={}",
        encode_query_value(last),
        request.n,
        encode_query_value(&request.orderby)
    );
    for (k, v) in extra {
        target.push_str(&format!("&{k}={}", encode_query_value(v)));
    }
    format!("<{target}>; rel=\"next\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `t00`..: `t00` is the newest.
    fn items(n: usize) -> (BTreeMap<String, Timestamp>, BTreeSet<(Timestamp, String)>) {
        let by_key: BTreeMap<String, Timestamp> = (0..n)
            .map(|i| {
                let time = Timestamp::from_second(1_000 + (n - i) as i64).unwrap();
                (format!("t{i:02}"), time)
            })
            .collect();
        let by_time = by_key.iter().map(|(k, t)| (*t, k.clone())).collect();
        (by_key, by_time)
    }

    fn cut(n: usize, request: &PageRequest) -> Page<String> {
        cut_keeping(n, request, |_| true)
    }

    fn cut_keeping(n: usize, request: &PageRequest, keep: fn(&str) -> bool) -> Page<String> {
        let (by_key, by_time) = items(n);
        let listing = Listing {
            by_key: &by_key,
            by_time: &by_time,
            time: |t| *t,
        };
        page(&listing, request, |k, _| keep(k), |k, _| k.to_owned())
    }

    fn req(n: usize, last: Option<&str>, orderby: &str) -> PageRequest {
        PageRequest {
            n,
            last: last.map(str::to_owned),
            orderby: orderby.into(),
        }
    }

    #[test]
    fn pages_by_key_with_a_next_marker_only_when_more_exist() {
        let first = cut(25, &req(10, None, ""));
        assert_eq!(first.items.first().unwrap(), "t00");
        assert_eq!(first.next_last.as_deref(), Some("t09"));
        let third = cut(25, &req(10, Some("t19"), ""));
        assert_eq!(third.items.len(), 5);
        assert_eq!(third.next_last, None);
        let exact = cut(20, &req(10, Some("t09"), ""));
        assert_eq!(exact.items.len(), 10);
        assert_eq!(exact.next_last, None);
    }

    #[test]
    fn pages_by_time() {
        // t00 is the newest.
        let desc = cut(25, &req(3, None, "timedesc"));
        assert_eq!(desc.items, ["t00", "t01", "t02"].map(String::from));
        let asc = cut(25, &req(3, None, "timeasc"));
        assert_eq!(asc.items, ["t24", "t23", "t22"].map(String::from));
        let next = cut(25, &req(3, Some("t22"), "timeasc"));
        assert_eq!(next.items, ["t21", "t20", "t19"].map(String::from));
    }

    #[test]
    fn hidden_items_are_skipped_and_a_hidden_or_unknown_last_ends_a_time_order() {
        let odd = |k: &str| k.ends_with(['1', '3', '5', '7', '9']);
        let first = cut_keeping(10, &req(2, None, ""), odd);
        assert_eq!(first.items, ["t01", "t03"].map(String::from));
        assert_eq!(first.next_last.as_deref(), Some("t03"));
        let next = cut_keeping(10, &req(2, Some("t04"), "timedesc"), odd);
        assert!(next.items.is_empty());
        let unknown = cut(10, &req(2, Some("nope"), "timeasc"));
        assert!(unknown.items.is_empty() && unknown.next_last.is_none());
        // by key, `last` need not exist: the page starts after it
        let after = cut(10, &req(2, Some("t045"), ""));
        assert_eq!(after.items, ["t05", "t06"].map(String::from));
    }

    #[test]
    fn link_format() {
        let l = link(
            "/acr/v1/_catalog",
            "library/busybox",
            &req(2, None, ""),
            &[],
        );
        assert_eq!(
            l,
            "</acr/v1/_catalog?last=library%2Fbusybox&n=2&orderby=>; rel=\"next\""
        );
    }
}
