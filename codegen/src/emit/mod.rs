//! The emitters: one small module per fragment of the generated crate.
//!
//! | file | emitter |
//! | --- | --- |
//! | `lib.rs` | [`lib_rs`] |
//! | `client.rs` | [`client`] |
//! | `models.rs` | [`models`] ([`model_struct`], [`model_enum`], [`model_tests`]) |
//! | `operations/mod.rs` | [`operation::index`] |
//! | `operations/<op>.rs` | [`operation::file`]: [`operation::method`], [`operation::builder`], [`operation::setters`], [`operation::send`] (with `into_request` from [`operation::request`]), [`operation::paging`], [`operation::response`] |
//! | `support.rs` | [`support`] (only the helpers in use) |

pub mod client;
pub mod file;
pub mod lib_rs;
pub mod model_enum;
pub mod model_struct;
pub mod model_tests;
pub mod models;
pub mod operation;
pub mod support;
pub mod wire;

use crate::context::Context;
use crate::{CodegenError, GeneratedFile};

/// All files of the crate, sorted by path.
pub fn crate_files(ctx: &Context<'_>) -> Result<Vec<GeneratedFile>, CodegenError> {
    let ops: Vec<(String, proc_macro2::TokenStream)> = ctx
        .ops
        .iter()
        .map(|plan| {
            (
                format!("operations/{}.rs", plan.ident),
                operation::file(ctx, plan),
            )
        })
        .collect();
    let needs = support::Needs::of(&ops.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>());
    let mut files = vec![
        file::format("lib.rs", lib_rs::file(ctx, needs.any()))?,
        file::format("client.rs", client::file(ctx))?,
        file::format("models.rs", models::file(ctx))?,
        file::format("operations/mod.rs", operation::index(ctx))?,
    ];
    if needs.any() {
        files.push(file::format("support.rs", support::file(ctx, &needs))?);
    }
    for (path, tokens) in ops {
        files.push(file::format(&path, tokens)?);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}
