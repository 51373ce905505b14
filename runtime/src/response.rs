//! The response the transport hands back to generated code.

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::Error;

/// A response with a success status, its body already read.
#[derive(Debug, Clone)]
pub struct Response {
    /// The operation that produced it.
    pub operation: &'static str,
    /// The status code.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Response {
    /// A header's value as text, if present and valid text.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Parses a header with `FromStr`; a present but unparsable header is an error.
    pub fn header<T>(&self, name: &str) -> crate::Result<Option<T>>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        typed_header(self.operation, &self.headers, name)
    }

    /// Parses the body as JSON.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidResponse`] when the body does not fit `T`; the message names the JSON
    /// path of the value (for example ``at `tags[3].digest`: ...``) and serde's reason
    /// ([`crate::json::from_slice`]).
    pub fn json<T: DeserializeOwned>(&self) -> crate::Result<T> {
        crate::json::from_slice(&self.body).map_err(|e| {
            Error::invalid_response(
                self.operation,
                format!("body is not the expected JSON: {e}"),
            )
        })
    }
}

/// A response with a success status whose body is still a stream (blob downloads).
pub struct StreamingResponse {
    /// The operation that produced it.
    pub operation: &'static str,
    /// The status code.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body, chunk by chunk; a broken connection is an `Err` item.
    pub body: crate::paging::BoxStream<Bytes>,
}

impl std::fmt::Debug for StreamingResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingResponse")
            .field("operation", &self.operation)
            .field("status", &self.status)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl StreamingResponse {
    /// A header's value as text, if present and valid text.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Parses a header with `FromStr`; a present but unparsable header is an error.
    pub fn header<T>(&self, name: &str) -> crate::Result<Option<T>>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        typed_header(self.operation, &self.headers, name)
    }

    /// Reads the whole body, refusing more than `limit` bytes.
    pub async fn bytes(mut self, limit: u64) -> crate::Result<Bytes> {
        use futures_util::StreamExt as _;
        let op = self.operation;
        if self
            .header_str("content-length")
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|n| n > limit)
        {
            return Err(Error::TooLarge {
                operation: op,
                limit,
            });
        }
        let mut buf = bytes::BytesMut::new();
        while let Some(chunk) = self.body.next().await {
            let chunk = chunk?;
            if (buf.len() + chunk.len()) as u64 > limit {
                return Err(Error::TooLarge {
                    operation: op,
                    limit,
                });
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    }
}

/// Parses header `name` of `headers` with `FromStr`; a present but unparsable header is an error
/// of `operation`.
fn typed_header<T>(
    operation: &'static str,
    headers: &HeaderMap,
    name: &str,
) -> crate::Result<Option<T>>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| Error::invalid_response(operation, format!("header {name} is not text")))?;
    text.parse::<T>()
        .map(Some)
        .map_err(|e| Error::invalid_response(operation, format!("header {name}: {e}")))
}
