//! What a caller needs to consume the streams paged listings and downloads return, without
//! depending on `futures` themselves: the [`Stream`] trait and its extension traits.
//!
//! ```no_run
//! # async fn demo(items: acr_runtime::paging::BoxStream<String>) -> acr_runtime::Result<()> {
//! use acr_runtime::stream::TryStreamExt as _;
//! let all: Vec<String> = items.try_collect().await?;
//! # Ok(()) }
//! ```

pub use futures_core::Stream;
pub use futures_util::stream::{StreamExt, TryStreamExt};
