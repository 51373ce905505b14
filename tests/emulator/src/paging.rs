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

/// One listable item: its key (name or digest), its `lastUpdateTime` and its JSON.
pub(crate) struct Item<T> {
    pub key: String,
    pub time: Timestamp,
    pub value: T,
}

/// One page: the items and, when more exist, the key to continue after.
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    pub next_last: Option<String>,
}

/// Orders `items` and cuts the page `request` asks for.
pub(crate) fn page<T>(mut items: Vec<Item<T>>, request: &PageRequest) -> Page<T> {
    let by_time = match request.orderby.as_str() {
        "timedesc" => Some(true),
        "timeasc" => Some(false),
        _ => None,
    };
    match by_time {
        Some(desc) => items.sort_by(|a, b| {
            let order = a.time.cmp(&b.time).then_with(|| a.key.cmp(&b.key));
            if desc { order.reverse() } else { order }
        }),
        None => items.sort_by(|a, b| a.key.cmp(&b.key)),
    }
    let start = match (&request.last, by_time) {
        (None, _) => 0,
        (Some(last), None) => items.partition_point(|i| i.key.as_str() <= last.as_str()),
        (Some(last), Some(_)) => items
            .iter()
            .position(|i| &i.key == last)
            .map_or(items.len(), |p| p + 1),
    };
    let rest: Vec<Item<T>> = items.into_iter().skip(start).collect();
    let more = rest.len() > request.n;
    let page: Vec<Item<T>> = rest.into_iter().take(request.n).collect();
    let next_last = if more {
        page.last().map(|i| i.key.clone())
    } else {
        None
    };
    Page {
        items: page.into_iter().map(|i| i.value).collect(),
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

    fn items(n: usize) -> Vec<Item<String>> {
        (0..n)
            .map(|i| Item {
                key: format!("t{i:02}"),
                time: Timestamp::from_second(1_000 + (n - i) as i64).unwrap(),
                value: format!("t{i:02}"),
            })
            .collect()
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
        let first = page(items(25), &req(10, None, ""));
        assert_eq!(first.items.first().unwrap(), "t00");
        assert_eq!(first.next_last.as_deref(), Some("t09"));
        let third = page(items(25), &req(10, Some("t19"), ""));
        assert_eq!(third.items.len(), 5);
        assert_eq!(third.next_last, None);
        let exact = page(items(20), &req(10, Some("t09"), ""));
        assert_eq!(exact.items.len(), 10);
        assert_eq!(exact.next_last, None);
    }

    #[test]
    fn pages_by_time() {
        // t00 is the newest.
        let desc = page(items(25), &req(3, None, "timedesc"));
        assert_eq!(desc.items, ["t00", "t01", "t02"].map(String::from));
        let asc = page(items(25), &req(3, None, "timeasc"));
        assert_eq!(asc.items, ["t24", "t23", "t22"].map(String::from));
        let next = page(items(25), &req(3, Some("t22"), "timeasc"));
        assert_eq!(next.items, ["t21", "t20", "t19"].map(String::from));
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
