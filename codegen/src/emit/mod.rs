//! The emitters: one small module per fragment of the generated crate.
//!
//! | file | emitter |
//! | --- | --- |
//! | `lib.rs` | [`lib_rs`] |
//! | `client.rs` | [`client`] |
//! | `models.rs` | [`models`] ([`model_struct`], [`model_enum`], [`model_tests`]) |
//! | `operations/mod.rs` | [`operation::index`] |
//! | `operations/group_<n>.rs` | more than [`operation::GROUP_ABOVE`] operations: [`operation::GROUP`] operation modules inline per file ([`operation::file_at`]), re-exported by `operations/mod.rs` |
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

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use crate::context::Context;
use crate::ir::Api;
use crate::types::TypeEntry;
use crate::{CodegenError, GeneratedFile, Options};

/// All files of the crate for `api`, sorted by path.
pub fn crate_files(api: &Api, opts: &Options) -> Result<Vec<GeneratedFile>, CodegenError> {
    let mut files = Vec::new();
    each_file(api, opts, |f| files.push(f))?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// One piece of work: a file, or a part of `models.rs` (formatted apart, assembled in order).
#[derive(Debug, Clone, Copy)]
enum Job {
    Client,
    Index,
    /// Models `[i * PART, (i + 1) * PART)`.
    ModelItems(usize),
    /// The tests of struct models `[i * PART, (i + 1) * PART)`.
    ModelTests(usize),
    /// Operation file `i` (see [`operation::file_at`]).
    Operation(usize),
}

/// What a job gives back.
enum Done {
    File(GeneratedFile),
    /// Slot `.0` of `models.rs`, formatted.
    ModelsPart(usize, String),
}

/// A worker's own view: its context, and the model lists, made on first use.
struct Worker<'c, 'a> {
    ctx: &'c Context<'a>,
    models: Option<(Vec<&'c TypeEntry<'a>>, Vec<&'c TypeEntry<'a>>)>,
}

impl<'c, 'a> Worker<'c, 'a> {
    fn models(&mut self) -> &(Vec<&'c TypeEntry<'a>>, Vec<&'c TypeEntry<'a>>) {
        let ctx = self.ctx;
        self.models.get_or_insert_with(|| {
            let entries = models::entries(ctx);
            let tested = model_tests::tested(&entries);
            (entries, tested)
        })
    }

    /// Emits and formats one job.
    fn run(&mut self, job: Job, parts: (usize, usize)) -> Result<Done, CodegenError> {
        let ctx = self.ctx;
        let part = |list: &[&'c TypeEntry<'a>], i: usize| -> Vec<&'c TypeEntry<'a>> {
            list.iter()
                .skip(i * models::PART)
                .take(models::PART)
                .copied()
                .collect()
        };
        Ok(match job {
            Job::Client => Done::File(file::format("client.rs", client::file(ctx))?),
            Job::Index => Done::File(file::format("operations/mod.rs", operation::index(ctx))?),
            Job::ModelItems(i) => {
                let items = part(&self.models().0, i);
                let text = file::pretty("models.rs", models::items(ctx, &items))?;
                Done::ModelsPart(1 + i, text)
            }
            Job::ModelTests(i) => {
                let tested = part(&self.models().1, i);
                let text = file::pretty("models.rs", model_tests::part(ctx, i, &tested))?;
                Done::ModelsPart(1 + parts.0 + i, text)
            }
            Job::Operation(i) => Done::File(operation::file_at(ctx, i)?),
        })
    }
}

/// Emits and formats every file of the crate, handing each to `sink` as soon as it is
/// formatted, in no fixed order. The work is spread over the machine's cores (at most 8
/// threads); what is held at once is a few formatted files per thread, not the whole crate.
/// `lib.rs` and `support.rs` come last: they depend on which helpers the operations call.
///
/// Each thread plans its own [`Context`] (token streams are not shared between threads).
///
/// Errors: the first [`CodegenError`] of any file; files already handed over stay handed over.
pub fn each_file(
    api: &Api,
    opts: &Options,
    mut sink: impl FnMut(GeneratedFile),
) -> Result<(), CodegenError> {
    let ctx = &Context::new(api, opts)?;
    let (entries, tested) = {
        let entries = models::entries(ctx);
        let tested = model_tests::tested(&entries).len();
        (entries.len(), tested)
    };
    let parts = (
        entries.div_ceil(models::PART),
        tested.div_ceil(models::PART),
    );
    let mut jobs = vec![Job::Client, Job::Index];
    jobs.extend((0..parts.0).map(Job::ModelItems));
    jobs.extend((0..parts.1).map(Job::ModelTests));
    jobs.extend((0..operation::file_count(ctx)).map(Job::Operation));
    // models.rs: its head, then the parts in order
    let mut models_text: Vec<Option<String>> = vec![None; 1 + parts.0 + parts.1];
    models_text[0] = Some(file::pretty("models.rs", models::head())?);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
        .min(jobs.len());
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let (tx, rx) = mpsc::sync_channel::<Result<Done, CodegenError>>(threads * 2);
    let needs = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let tx = tx.clone();
                let (jobs, next, failed) = (&jobs, &next, &failed);
                scope.spawn(move || -> Result<support::Needs, CodegenError> {
                    let ctx = &Context::new(api, opts)?;
                    let mut worker = Worker { ctx, models: None };
                    let mut needs = support::Needs::default();
                    while !failed.load(Ordering::Relaxed) {
                        let Some(job) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) else {
                            break;
                        };
                        let file = worker.run(*job, parts);
                        if let (Job::Operation(_), Ok(Done::File(f))) = (job, &file) {
                            needs.add_text(&f.contents);
                        }
                        if file.is_err() {
                            failed.store(true, Ordering::Relaxed);
                        }
                        if tx.send(file).is_err() {
                            break;
                        }
                    }
                    Ok(needs)
                })
            })
            .collect();
        drop(tx);
        let mut first_error = None;
        for done in rx {
            match done {
                Ok(_) if first_error.is_some() => {}
                Ok(Done::File(f)) => sink(f),
                Ok(Done::ModelsPart(slot, text)) => models_text[slot] = Some(text),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let mut needs = support::Needs::default();
        for w in workers {
            // A worker only panics on a bug in an emitter; say so instead of hiding it.
            match w.join() {
                Ok(Ok(n)) => needs = needs.union(n),
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        first_error.map_or(Ok(needs), Err)
    })?;
    let models: String = models_text.into_iter().flatten().collect();
    sink(file::assemble("models.rs", &models));
    sink(file::format("lib.rs", lib_rs::file(ctx, needs.any()))?);
    if needs.any() {
        sink(file::format("support.rs", support::file(ctx, &needs))?);
    }
    Ok(())
}
