//! Reading response bodies with a size limit.

use bytes::{Bytes, BytesMut};

use crate::Error;

/// Reads `resp`'s body, refusing more than `limit` bytes (checked against `Content-Length`
/// first, then while reading).
pub(crate) async fn read_limited(
    mut resp: reqwest::Response,
    limit: u64,
    operation: &'static str,
) -> crate::Result<Bytes> {
    if resp.content_length().is_some_and(|n| n > limit) {
        return Err(Error::TooLarge { operation, limit });
    }
    let mut buf = BytesMut::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if (buf.len() + chunk.len()) as u64 > limit {
                    return Err(Error::TooLarge { operation, limit });
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(buf.freeze()),
            Err(e) => return Err(Error::transport(operation, None, 1, e)),
        }
    }
}
