//! Response bodies: byte ranges (`Range: bytes=s-e`), and bodies cut short to simulate a dropped
//! connection.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use futures_util::stream;

/// A parsed single `Range: bytes=...` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ByteRange {
    /// `bytes=start-end` (end inclusive, clamped) or `bytes=start-`.
    From { start: u64, end: Option<u64> },
    /// `bytes=-n`: the last n bytes.
    Suffix(u64),
}

/// Parses a `Range` header; `None` for absent, multi-range or malformed values (served whole).
pub(crate) fn parse_range(value: Option<&str>) -> Option<ByteRange> {
    let spec = value?.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    if start.is_empty() {
        return end.parse().ok().map(ByteRange::Suffix);
    }
    let start = start.parse().ok()?;
    let end = if end.is_empty() {
        None
    } else {
        let end: u64 = end.parse().ok()?;
        if end < start {
            return None;
        }
        Some(end)
    };
    Some(ByteRange::From { start, end })
}

/// Serves `content` whole (200) or the requested range (206 with `Content-Range: bytes s-e/total`),
/// or 416 with `Content-Range: bytes */total` when the range starts past the end.
pub(crate) fn ranged(content: Bytes, range: Option<ByteRange>, head: bool) -> Response {
    let total = content.len() as u64;
    let (status, slice) = match range {
        None => (StatusCode::OK, None),
        Some(_) if total == 0 => return unsatisfiable(total),
        Some(ByteRange::Suffix(0)) => return unsatisfiable(total),
        Some(ByteRange::Suffix(n)) => (
            StatusCode::PARTIAL_CONTENT,
            Some((total.saturating_sub(n), total.saturating_sub(1))),
        ),
        Some(ByteRange::From { start, .. }) if start >= total => return unsatisfiable(total),
        Some(ByteRange::From { start, end }) => {
            let end = end.map_or(total - 1, |e| e.min(total - 1));
            (StatusCode::PARTIAL_CONTENT, Some((start, end)))
        }
    };
    let body = match slice {
        None => content,
        Some((s, e)) => content.slice(s as usize..=e as usize),
    };
    let length = body.len();
    let mut response = Response::new(if head {
        Body::empty()
    } else {
        Body::from(body)
    });
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if let Some((s, e)) = slice
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {s}-{e}/{total}"))
    {
        headers.insert(header::CONTENT_RANGE, v);
    }
    response
}

fn unsatisfiable(total: u64) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
    if let Ok(v) = HeaderValue::from_str(&format!("bytes */{total}")) {
        response.headers_mut().insert(header::CONTENT_RANGE, v);
    }
    response
}

/// Replaces `response`'s body with its first `keep` bytes followed by an error, so hyper aborts
/// the connection after sending them (the headers, `Content-Length` included, are unchanged).
pub(crate) async fn truncate(response: Response, keep: usize) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let head = bytes.slice(..keep.min(bytes.len()));
    // Yield the head, then let hyper flush it (the stream is pending for a moment) before the
    // error that makes it abort the connection; otherwise the head could be lost unsent.
    let chunks = stream::unfold(Some(Some(head)), |state| async move {
        match state {
            Some(Some(head)) => Some((Ok::<Bytes, std::io::Error>(head), Some(None))),
            Some(None) => {
                tokio::task::yield_now().await;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                let error = std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "injected fault: connection dropped",
                );
                Some((Err(error), None))
            }
            None => None,
        }
    });
    let mut response = Response::from_parts(parts, Body::from_stream(chunks));
    // Keep the original length so the client notices the short body.
    if !response.headers().contains_key(header::CONTENT_LENGTH) {
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges() {
        assert_eq!(
            parse_range(Some("bytes=0-9")),
            Some(ByteRange::From {
                start: 0,
                end: Some(9)
            })
        );
        assert_eq!(
            parse_range(Some("bytes=5-")),
            Some(ByteRange::From {
                start: 5,
                end: None
            })
        );
        assert_eq!(parse_range(Some("bytes=-3")), Some(ByteRange::Suffix(3)));
        assert_eq!(parse_range(Some("bytes=9-0")), None);
        assert_eq!(parse_range(Some("bytes=0-1,3-4")), None);
        assert_eq!(parse_range(Some("0-9")), None);
    }

    #[tokio::test]
    async fn serves_ranges() {
        let content = Bytes::from_static(b"0123456789");
        let r = ranged(content.clone(), parse_range(Some("bytes=2-4")), false);
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(r.headers()[header::CONTENT_RANGE], "bytes 2-4/10");
        let body = axum::body::to_bytes(r.into_body(), 100).await.unwrap();
        assert_eq!(&body[..], b"234");
        let r = ranged(content.clone(), parse_range(Some("bytes=8-100")), false);
        assert_eq!(r.headers()[header::CONTENT_RANGE], "bytes 8-9/10");
        let r = ranged(content, parse_range(Some("bytes=10-")), false);
        assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(r.headers()[header::CONTENT_RANGE], "bytes */10");
    }
}
