//! `Link`-paged results as a `Stream` of items.

use std::pin::Pin;

use futures_core::Stream;

use crate::{Request, Response, Transport};

/// A boxed, `Send` stream of results, as the generated paged operations return it.
pub type BoxStream<T> = Pin<Box<dyn Stream<Item = crate::Result<T>> + Send + 'static>>;

/// The `rel="next"` target of a `Link` header value (`</acr/v1/_catalog?last=a&n=1>; rel="next"`).
pub fn next_link(value: &str) -> Option<String> {
    value.split(',').find_map(|part| {
        let part = part.trim();
        let (target, params) = part.strip_prefix('<')?.split_once('>')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p.strip_prefix("rel=")
                .map(|v| {
                    v.trim_matches('"')
                        .split_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
                })
                .unwrap_or(false)
        });
        is_next.then(|| target.to_owned())
    })
}

/// Follows `Link` headers from `first` until the last page, yielding each page's items as
/// `items` extracts them from the response.
pub fn paginate<T, F>(transport: Transport, first: Request, items: F) -> BoxStream<T>
where
    T: Send + 'static,
    F: FnMut(&Response) -> crate::Result<Vec<T>> + Send + 'static,
{
    struct State<T, F> {
        transport: Transport,
        next: Option<Request>,
        buffer: std::vec::IntoIter<T>,
        items: F,
    }
    let state = State {
        transport,
        next: Some(first),
        buffer: Vec::new().into_iter(),
        items,
    };
    Box::pin(futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(item) = st.buffer.next() {
                return Some((Ok(item), st));
            }
            let request = st.next.take()?;
            let template = request.clone();
            let response = match st.transport.send(request).await {
                Ok(r) => r,
                Err(e) => return Some((Err(e), st)),
            };
            match (st.items)(&response) {
                Ok(v) => st.buffer = v.into_iter(),
                Err(e) => return Some((Err(e), st)),
            }
            if let Some(link) = response.header_str("link").and_then(next_link) {
                let mut next = template;
                next.path = link;
                next.query.clear();
                st.next = Some(next);
            }
        }
    }))
}
