//! Progress of transfers: one value type ([`Progress`]) and one observer type
//! ([`OnProgress`]) for every transfer of the `acr` crate (blob push and pull, image push and
//! pull).
//!
//! An observer is a callback. It is called from the task that runs the transfer, once per
//! change: a value is never reported twice in a row for the same blob. Keep it quick (update
//! a counter, send on a channel); several blobs of an image may report from parallel tasks.

use std::sync::{Arc, Mutex};

use crate::Digest;

/// How far the transfer of one blob has come.
///
/// For a push, `bytes` are the bytes the registry has confirmed holding; they go back when the
/// registry holds less than it confirmed (the upload rewinds) or loses the session (the upload
/// starts over from 0). For a pull, `bytes` are the bytes received (and, for a download to a
/// file, written); a pull that resumes with `Range` goes on from where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// The blob, when its digest is known (a push without a digest learns it only at the end).
    pub digest: Option<Digest>,
    /// The bytes done so far.
    pub bytes: u64,
    /// The blob's size in bytes, when known.
    pub total: Option<u64>,
}

impl Progress {
    /// A value for blob `digest` with `bytes` of `total` done.
    pub fn new(digest: Option<Digest>, bytes: u64, total: Option<u64>) -> Self {
        Self {
            digest,
            bytes,
            total,
        }
    }

    /// Whether the blob is complete (`bytes` reached a known `total`).
    pub fn is_complete(&self) -> bool {
        self.total.is_some_and(|t| self.bytes >= t)
    }
}

/// The observer of a transfer's [`Progress`]: a callback, cheap to clone (clones share it).
#[derive(Clone)]
pub struct OnProgress(Arc<dyn Fn(Progress) + Send + Sync>);

impl OnProgress {
    /// An observer that calls `f` with each value.
    pub fn new(f: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// Calls the observer with `value`.
    pub fn report(&self, value: Progress) {
        (self.0)(value)
    }
}

impl std::fmt::Debug for OnProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnProgress")
    }
}

impl<F: Fn(Progress) + Send + Sync + 'static> From<F> for OnProgress {
    fn from(f: F) -> Self {
        Self::new(f)
    }
}

/// The reporter of one blob's transfer: reports a value to the observer (if any) only when it
/// differs from the last one reported, so each value arrives once.
#[derive(Debug, Default)]
pub struct Reporter {
    observer: Option<OnProgress>,
    last: Mutex<Option<Progress>>,
}

impl Reporter {
    /// A reporter to `observer` (none: reports go nowhere).
    pub fn new(observer: Option<OnProgress>) -> Self {
        Self {
            observer,
            last: Mutex::new(None),
        }
    }

    /// Reports `bytes` of `total` done for blob `digest`, unless that is the value reported
    /// last.
    pub fn report(&self, digest: Option<&Digest>, bytes: u64, total: Option<u64>) {
        let Some(observer) = &self.observer else {
            return;
        };
        let value = Progress::new(digest.cloned(), bytes, total);
        {
            let mut last = match self.last.lock() {
                Ok(l) => l,
                Err(poisoned) => poisoned.into_inner(),
            };
            if last.as_ref() == Some(&value) {
                return;
            }
            *last = Some(value.clone());
        }
        observer.report(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_reported_once() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let r = Reporter::new(Some(OnProgress::new(move |p| {
            s.lock().unwrap().push(p.bytes)
        })));
        r.report(None, 0, Some(10));
        r.report(None, 5, Some(10));
        r.report(None, 10, Some(10));
        r.report(None, 10, Some(10));
        r.report(None, 0, Some(10));
        assert_eq!(*seen.lock().unwrap(), vec![0, 5, 10, 0]);
    }
}
