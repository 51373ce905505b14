//! The resume decisions of an upload, as pure functions: given what was sent and what the
//! registry answered, go on, ask the registry, resume at byte N, rewind, start over, or fail.
//!
//! No HTTP here: the session protocol (the `acr` crate's `Client::push_blob`) turns responses into the
//! [`PatchAnswer`] and [`StatusAnswer`] facts below and carries out the [`Step`] it gets back.
//!
//! The facts these decisions rest on:
//! - **`Range: 0-<end>`** (OCI distribution spec, "Pushing a blob in chunks": the inclusive
//!   range of bytes received) means `end + 1` bytes held, except that `0-0` is also what an
//!   empty session answers (docker-registry writes `0-0` for both; the OCI spec has no form for
//!   "nothing"). So `0-0` means one byte once the registry surely holds one, zero bytes before
//!   the client has sent any, and is ambiguous in between ([`Held::ZeroOrOne`]).
//! - **The session rule** (CNCF distribution, `registry/handlers/blobupload.go`): every upload
//!   URL carries a `_state` with the offset the client last saw; a request whose offset differs
//!   from the bytes the registry stores is answered 404 `BLOB_UPLOAD_INVALID` and the session is
//!   cancelled. After a connection cut mid-`PATCH` the registry has usually stored part of the
//!   chunk, so the status request itself finds the session gone (404): the only way on is a new
//!   session. Where the status request answers consistently (the cut `PATCH` never reached the
//!   registry, or a registry that keeps sessions), the upload resumes at the registry's `Range`.
//! - **One budget** bounds the recoveries of one upload: each resume, rewind or restart takes
//!   one. A restart needs the blob's bytes from its first byte again: a seekable source, or a
//!   one-pass source whose unconfirmed chunk still starts at byte 0 (it is in memory).

use crate::UploadRange;

/// What a `Range: 0-<end>` header says the registry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// Exactly this many bytes.
    Exactly(u64),
    /// `0-0` while the client cannot tell an empty session from one holding the first byte.
    ZeroOrOne,
}

/// Reads a `Range` value (`0-<end>`, a `bytes=` prefix tolerated). `surely_held`: bytes the
/// registry is known to hold (confirmed earlier); `sent_any`: whether any byte was ever sent
/// in this session. `None` for a missing, unparsable or not-from-zero range.
pub fn held(range: Option<&str>, surely_held: u64, sent_any: bool) -> Option<Held> {
    held_range(range?.parse().ok(), surely_held, sent_any)
}

/// [`held`] of a `Range` already read as an [`UploadRange`] (a typed response header).
pub fn held_range(range: Option<UploadRange>, surely_held: u64, sent_any: bool) -> Option<Held> {
    let r = range?;
    if r.start != 0 {
        return None;
    }
    if r.end > 0 || surely_held > 0 {
        return Some(Held::Exactly(r.end + 1));
    }
    Some(if sent_any {
        Held::ZeroOrOne
    } else {
        Held::Exactly(0)
    })
}

/// One `PATCH`: the registry had confirmed `confirmed` bytes, and `len` more were sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// Bytes held before this request (where its `Content-Range` starts).
    pub confirmed: u64,
    /// Bytes in this request's body.
    pub len: u64,
}

impl Attempt {
    /// One past the last byte sent.
    pub fn end(&self) -> u64 {
        self.confirmed + self.len
    }
}

/// How the registry answered a `PATCH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchAnswer {
    /// A success status, with the `Range` it reported (`None`: none usable).
    Accepted(Option<Held>),
    /// An error status (after the transport's own handling).
    Status(u16),
    /// No answer: the connection broke or timed out.
    NoAnswer,
}

/// How the registry answered the status request (`GET <Location>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusAnswer {
    /// A success status, with the `Range` it reported (`None`: none usable).
    Held(Option<Held>),
    /// 404: the session is gone (`BLOB_UPLOAD_UNKNOWN`, or `BLOB_UPLOAD_INVALID` after the
    /// session rule cancelled it).
    Gone,
    /// Any other failure, or no answer.
    Failed,
}

/// What the upload can do to recover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Means {
    /// Recoveries left in the caller's budget.
    pub budget_left: u32,
    /// Whether the source can be read again from an earlier offset.
    pub seekable: bool,
}

impl Means {
    /// Whether a new session can be fed from byte 0 after `a` failed.
    fn can_restart(&self, a: &Attempt) -> bool {
        self.seekable || a.confirmed == 0
    }
}

/// Why an upload gives up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The registry refused the chunk with a status that no retry changes.
    Refused,
    /// The caller's recovery budget is spent.
    OutOfBudget,
    /// The session is lost (or unusable) and a one-pass stream cannot be read from the start.
    OnePassCannotRestart,
    /// The registry holds fewer bytes than it confirmed and a one-pass stream cannot go back.
    OnePassCannotRewind,
    /// The status request failed: the registry's state is unknown.
    StatusUnavailable,
    /// The completing `PUT` was refused.
    CompletionRefused,
    /// A request whose body was streamed from a one-pass stream failed: the bytes are gone.
    OnePassCannotResend,
}

impl Failure {
    /// What to tell the caller.
    pub fn message(self) -> &'static str {
        match self {
            Failure::Refused => "the registry refused a chunk",
            Failure::OutOfBudget => {
                "the recovery budget (max_resumes) is spent; try later or raise it"
            }
            Failure::OnePassCannotRestart => {
                "the registry lost the upload session and the source is a one-pass stream, so it cannot start over; upload again from a file or a seekable source"
            }
            Failure::OnePassCannotRewind => {
                "the registry holds fewer bytes than it confirmed and a one-pass stream cannot be re-read; upload again from a file or a seekable source"
            }
            Failure::StatusUnavailable => "cannot ask the registry how much it holds",
            Failure::CompletionRefused => "completing the upload failed",
            Failure::OnePassCannotResend => {
                "a one-request upload streamed from a one-pass source cannot start over"
            }
        }
    }
}

/// The next thing to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The chunk is held: go on with the next.
    Done,
    /// Ask the registry how much it holds (then [`after_status`]).
    AskStatus,
    /// Go on in this session from byte `at` (`confirmed <= at <= end`): the first
    /// `at - confirmed` bytes of the chunk are held. Takes one from the budget.
    Resume {
        /// The byte to continue from.
        at: u64,
    },
    /// The registry holds `at < confirmed` bytes: rewind the (seekable) source and the hash to
    /// `at` and go on in this session. Takes one from the budget.
    Rewind {
        /// The byte to continue from.
        at: u64,
    },
    /// Start a new session from byte 0. Takes one from the budget.
    Restart {
        /// Whether the old session may still exist and should be cancelled first.
        cancel_old: bool,
    },
    /// Give up.
    Fail(Failure),
}

/// A restart, if the means allow one.
fn restart(a: &Attempt, m: &Means, cancel_old: bool) -> Step {
    if !m.can_restart(a) {
        Step::Fail(Failure::OnePassCannotRestart)
    } else if m.budget_left == 0 {
        Step::Fail(Failure::OutOfBudget)
    } else {
        Step::Restart { cancel_old }
    }
}

/// What to do after a `PATCH` of attempt `a` answered `answer`.
pub fn after_patch(a: &Attempt, answer: PatchAnswer, m: &Means) -> Step {
    let consistent = match answer {
        PatchAnswer::Accepted(Some(Held::Exactly(h))) => h == a.end(),
        // a success for a body that held the first byte: `0-0` is that byte
        PatchAnswer::Accepted(Some(Held::ZeroOrOne)) => a.end() == 1,
        _ => false,
    };
    if consistent {
        return Step::Done;
    }
    match answer {
        PatchAnswer::Status(404) => restart(a, m, false),
        // 408/429/5xx, 416 (the registry's idea of the offset differs), no answer, or a
        // success with a Range that does not fit: ask before sending anything again
        PatchAnswer::Status(408 | 416 | 429 | 500..=599)
        | PatchAnswer::NoAnswer
        | PatchAnswer::Accepted(_) => {
            if m.budget_left == 0 {
                Step::Fail(Failure::OutOfBudget)
            } else {
                Step::AskStatus
            }
        }
        PatchAnswer::Status(_) => Step::Fail(Failure::Refused),
    }
}

/// What to do after the status request following a failed attempt `a` answered `answer`.
pub fn after_status(a: &Attempt, answer: StatusAnswer, m: &Means) -> Step {
    let h = match answer {
        StatusAnswer::Gone => return restart(a, m, false),
        StatusAnswer::Failed => return Step::Fail(Failure::StatusUnavailable),
        // no usable Range, or "0-0" that may mean either: the session cannot be trusted
        StatusAnswer::Held(None | Some(Held::ZeroOrOne)) => return restart(a, m, true),
        StatusAnswer::Held(Some(Held::Exactly(h))) => h,
    };
    if m.budget_left == 0 {
        return Step::Fail(Failure::OutOfBudget);
    }
    if h > a.end() {
        // more than was ever sent: the session holds something else
        restart(a, m, true)
    } else if h >= a.confirmed {
        Step::Resume { at: h }
    } else if m.seekable {
        Step::Rewind { at: h }
    } else {
        Step::Fail(Failure::OnePassCannotRewind)
    }
}

/// How the registry answered a completing `PUT` that did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompleteAnswer {
    /// 404: the session is gone.
    Gone,
    /// No answer: the connection broke or timed out.
    NoAnswer,
    /// 400 `DIGEST_INVALID` for the digest of the bytes we sent: the registry holds other
    /// bytes than we think (distribution cancels the session on a failed `PUT`).
    DigestRefused,
    /// Any other error status.
    Status(u16),
}

/// What to do after the completing `PUT` of a session holding `a.confirmed` bytes, with `a.len`
/// more in its body, was answered `answer` and the blob is not in the repository (a retried
/// `PUT` may have completed it: the caller checks that first).
pub fn after_complete(a: &Attempt, answer: CompleteAnswer, m: &Means) -> Step {
    match answer {
        // the session is gone, or the body may have been cut (and the registry kept part of
        // it), or the registry's bytes are not ours: only a new session goes on
        CompleteAnswer::Gone | CompleteAnswer::NoAnswer => restart(a, m, false),
        CompleteAnswer::DigestRefused => restart(a, m, true),
        CompleteAnswer::Status(_) => Step::Fail(Failure::CompletionRefused),
    }
}

/// What to do after a request whose body was streamed from the source (the whole blob in one
/// request, its bytes sent once and never held) failed with `answer`, the same cases as a
/// completion's; `completing` when that request was the completing `PUT` itself. A client
/// error that the registry would give again (any 4xx but 404, 408, 416, 429 and
/// `DIGEST_INVALID`: a 403, a 413 from a proxy that limits a body) fails at once; anything
/// else (the session lost, the connection, throttling, a server error) starts over in a new
/// session, when the source can be read from byte 0 again and the budget allows.
pub fn after_streamed(answer: CompleteAnswer, completing: bool, m: &Means) -> Step {
    let for_good = matches!(
        answer,
        CompleteAnswer::Status(s) if (400..500).contains(&s) && !matches!(s, 404 | 408 | 416 | 429)
    );
    if for_good {
        Step::Fail(if completing {
            Failure::CompletionRefused
        } else {
            Failure::Refused
        })
    } else if !m.seekable {
        Step::Fail(Failure::OnePassCannotResend)
    } else if m.budget_left == 0 {
        Step::Fail(Failure::OutOfBudget)
    } else {
        Step::Restart { cancel_old: true }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: Means = Means {
        budget_left: 8,
        seekable: true,
    };
    const ONE_PASS: Means = Means {
        budget_left: 8,
        seekable: false,
    };
    const SPENT: Means = Means {
        budget_left: 0,
        seekable: true,
    };

    fn at(confirmed: u64, len: u64) -> Attempt {
        Attempt { confirmed, len }
    }

    #[test]
    fn range_reads_as_bytes_held() {
        assert_eq!(held(Some("0-1238"), 0, true), Some(Held::Exactly(1239)));
        assert_eq!(held(Some("bytes=0-99"), 50, true), Some(Held::Exactly(100)));
        assert_eq!(held(Some("5-99"), 0, true), None);
        assert_eq!(held(Some("junk"), 0, true), None);
        assert_eq!(held(None, 0, true), None);
    }

    #[test]
    fn zero_zero_is_empty_before_any_byte_one_byte_once_held_and_ambiguous_between() {
        assert_eq!(held(Some("0-0"), 0, false), Some(Held::Exactly(0)));
        assert_eq!(held(Some("0-0"), 1, true), Some(Held::Exactly(1)));
        assert_eq!(held(Some("0-0"), 0, true), Some(Held::ZeroOrOne));
    }

    #[test]
    fn a_one_byte_patch_answered_zero_zero_is_done_not_resent() {
        // chunk_size(1): the first byte's PATCH answers 0-0
        let a = at(0, 1);
        let answer = PatchAnswer::Accepted(held(Some("0-0"), 0, true));
        assert_eq!(after_patch(&a, answer, &FULL), Step::Done);
        // the second and third bytes
        let answer = PatchAnswer::Accepted(held(Some("0-1"), 1, true));
        assert_eq!(after_patch(&at(1, 1), answer, &FULL), Step::Done);
        let answer = PatchAnswer::Accepted(held(Some("0-2"), 2, true));
        assert_eq!(after_patch(&at(2, 1), answer, &FULL), Step::Done);
        // but 0-0 after a two-byte body is not consistent
        let answer = PatchAnswer::Accepted(held(Some("0-0"), 0, true));
        assert_eq!(after_patch(&at(0, 2), answer, &FULL), Step::AskStatus);
    }

    #[test]
    fn failed_patches_ask_before_resending_and_only_within_budget() {
        let a = at(100, 100);
        for answer in [
            PatchAnswer::NoAnswer,
            PatchAnswer::Status(500),
            PatchAnswer::Status(503),
            PatchAnswer::Status(429),
            PatchAnswer::Status(416),
            PatchAnswer::Accepted(None),
            PatchAnswer::Accepted(Some(Held::Exactly(150))),
        ] {
            assert_eq!(
                after_patch(&a, answer, &FULL),
                Step::AskStatus,
                "{answer:?}"
            );
            assert_eq!(
                after_patch(&a, answer, &SPENT),
                Step::Fail(Failure::OutOfBudget),
                "{answer:?}"
            );
        }
        assert_eq!(
            after_patch(&a, PatchAnswer::Status(400), &FULL),
            Step::Fail(Failure::Refused)
        );
        assert_eq!(
            after_patch(&a, PatchAnswer::Status(403), &FULL),
            Step::Fail(Failure::Refused)
        );
    }

    #[test]
    fn a_patch_answered_404_restarts_a_seekable_source_and_fails_a_one_pass_one() {
        let a = at(100, 100);
        let gone = PatchAnswer::Status(404);
        assert_eq!(
            after_patch(&a, gone, &FULL),
            Step::Restart { cancel_old: false }
        );
        assert_eq!(
            after_patch(&a, gone, &ONE_PASS),
            Step::Fail(Failure::OnePassCannotRestart)
        );
        assert_eq!(
            after_patch(&a, gone, &SPENT),
            Step::Fail(Failure::OutOfBudget)
        );
        // the first chunk of a one-pass stream is still in memory: it can start over
        assert_eq!(
            after_patch(&at(0, 100), gone, &ONE_PASS),
            Step::Restart { cancel_old: false }
        );
    }

    #[test]
    fn a_consistent_status_resumes_at_its_range() {
        let a = at(100, 100);
        let s = |h| StatusAnswer::Held(Some(Held::Exactly(h)));
        assert_eq!(
            after_status(&a, s(150), &ONE_PASS),
            Step::Resume { at: 150 }
        );
        assert_eq!(
            after_status(&a, s(100), &ONE_PASS),
            Step::Resume { at: 100 }
        );
        assert_eq!(
            after_status(&a, s(200), &ONE_PASS),
            Step::Resume { at: 200 }
        );
        assert_eq!(
            after_status(&a, s(150), &SPENT),
            Step::Fail(Failure::OutOfBudget)
        );
    }

    #[test]
    fn a_status_below_what_was_confirmed_rewinds_only_a_seekable_source() {
        let a = at(200_000, 100_000);
        let s = StatusAnswer::Held(Some(Held::Exactly(50_000)));
        assert_eq!(after_status(&a, s, &FULL), Step::Rewind { at: 50_000 });
        assert_eq!(
            after_status(&a, s, &ONE_PASS),
            Step::Fail(Failure::OnePassCannotRewind)
        );
    }

    #[test]
    fn a_gone_or_untrustworthy_session_restarts() {
        let a = at(100, 100);
        // the session rule: the stale Location's status request finds the session cancelled
        assert_eq!(
            after_status(&a, StatusAnswer::Gone, &FULL),
            Step::Restart { cancel_old: false }
        );
        assert_eq!(
            after_status(&a, StatusAnswer::Gone, &ONE_PASS),
            Step::Fail(Failure::OnePassCannotRestart)
        );
        // more than was sent, or no Range: cancel and start over
        let more = StatusAnswer::Held(Some(Held::Exactly(201)));
        assert_eq!(
            after_status(&a, more, &FULL),
            Step::Restart { cancel_old: true }
        );
        assert_eq!(
            after_status(&a, StatusAnswer::Held(None), &FULL),
            Step::Restart { cancel_old: true }
        );
        // the first byte may or may not have arrived: start over (the chunk is in memory)
        let ambiguous = StatusAnswer::Held(held(Some("0-0"), 0, true));
        assert_eq!(
            after_status(&at(0, 1), ambiguous, &ONE_PASS),
            Step::Restart { cancel_old: true }
        );
        assert_eq!(
            after_status(&a, StatusAnswer::Failed, &FULL),
            Step::Fail(Failure::StatusUnavailable)
        );
    }

    #[test]
    fn a_failed_completion_restarts_when_the_session_is_gone_or_holds_other_bytes() {
        let a = at(100, 10);
        assert_eq!(
            after_complete(&a, CompleteAnswer::Gone, &FULL),
            Step::Restart { cancel_old: false }
        );
        assert_eq!(
            after_complete(&a, CompleteAnswer::NoAnswer, &ONE_PASS),
            Step::Fail(Failure::OnePassCannotRestart)
        );
        assert_eq!(
            after_complete(&at(0, 10), CompleteAnswer::NoAnswer, &ONE_PASS),
            Step::Restart { cancel_old: false }
        );
        assert_eq!(
            after_complete(&a, CompleteAnswer::DigestRefused, &FULL),
            Step::Restart { cancel_old: true }
        );
        assert_eq!(
            after_complete(&a, CompleteAnswer::DigestRefused, &SPENT),
            Step::Fail(Failure::OutOfBudget)
        );
        assert_eq!(
            after_complete(&a, CompleteAnswer::Status(400), &FULL),
            Step::Fail(Failure::CompletionRefused)
        );
    }

    #[test]
    fn three_cuts_within_a_budget_of_three_then_the_fourth_fails() {
        // the 256 MiB case: every cut finds the session gone; each restart takes one
        let mut m = Means {
            budget_left: 3,
            seekable: true,
        };
        for _ in 0..3 {
            let a = at(32 << 20, 16 << 20);
            assert_eq!(after_patch(&a, PatchAnswer::NoAnswer, &m), Step::AskStatus);
            assert_eq!(
                after_status(&a, StatusAnswer::Gone, &m),
                Step::Restart { cancel_old: false }
            );
            m.budget_left -= 1;
        }
        let a = at(0, 16 << 20);
        assert_eq!(
            after_patch(&a, PatchAnswer::NoAnswer, &m),
            Step::Fail(Failure::OutOfBudget)
        );
    }

    #[test]
    fn a_streamed_request_refused_for_good_fails_and_anything_else_starts_over() {
        for status in [403, 413] {
            assert_eq!(
                after_streamed(CompleteAnswer::Status(status), true, &FULL),
                Step::Fail(Failure::CompletionRefused),
                "{status}"
            );
            assert_eq!(
                after_streamed(CompleteAnswer::Status(status), false, &FULL),
                Step::Fail(Failure::Refused),
                "{status}"
            );
        }
        for answer in [
            CompleteAnswer::Gone,
            CompleteAnswer::NoAnswer,
            CompleteAnswer::DigestRefused,
            CompleteAnswer::Status(429),
            CompleteAnswer::Status(503),
        ] {
            assert_eq!(
                after_streamed(answer, true, &FULL),
                Step::Restart { cancel_old: true },
                "{answer:?}"
            );
            // the bytes of a one-pass stream are gone, even before any was confirmed
            assert_eq!(
                after_streamed(answer, true, &ONE_PASS),
                Step::Fail(Failure::OnePassCannotResend),
                "{answer:?}"
            );
            assert_eq!(
                after_streamed(answer, false, &SPENT),
                Step::Fail(Failure::OutOfBudget),
                "{answer:?}"
            );
        }
    }
}
