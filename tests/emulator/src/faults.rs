//! Fault injection: make the Nth request matching a method and path pattern fail, stall, get
//! throttled, or lose its connection part-way through a body.
//!
//! ```
//! use std::time::Duration;
//! use acr_emulator::Fault;
//! // The second chunk upload answers 503.
//! let f = Fault::on("PATCH", "/v2/*/blobs/uploads/*").nth(2).fail_with(503);
//! // Every blob download stops after 100 bytes, three times in a row.
//! let g = Fault::on("GET", "/v2/*/blobs/*").times(3).drop_after(100);
//! // Throttle the catalog once.
//! let h = Fault::on("GET", "/acr/v1/_catalog").too_many_requests(Duration::from_secs(2));
//! // Answer one request in ten, whatever it is, with 503.
//! let i = Fault::on("*", "*").every(10).always().fail_with(503);
//! # let _ = (f, g, h, i);
//! ```
//!
//! Patterns are globs over the percent-decoded path (`*` matches any characters, `/` included;
//! the query is not part of the match). The method `*` matches any method. A fault counts the
//! requests it matches and fires on matches `nth, nth + every, nth + 2 * every, …`, `times`
//! times (`nth` starts at 1; `every` is 1 unless set, so by default it fires on the `times`
//! consecutive matches from the `nth`). Faults are checked in the order they were injected;
//! the first that fires wins.

use std::fmt;
use std::time::Duration;

use super::log::Server;

/// What a fault does when it fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer with this status and an ACR error body (`UNKNOWN` code, or `TOOMANYREQUESTS` for
    /// 429) instead of handling the request.
    Status(u16),
    /// Answer 429 `TOOMANYREQUESTS` with `Retry-After: <seconds>`.
    TooManyRequests {
        /// The `Retry-After` value, in whole seconds.
        retry_after_secs: u64,
    },
    /// Answer this status (429 or 503) with this `Retry-After` value verbatim: delay-seconds
    /// or an HTTP-date in any form of RFC 9110 §5.6.7 (IMF-fixdate, RFC 850, asctime).
    Throttled {
        /// The status.
        status: u16,
        /// The `Retry-After` value.
        retry_after: String,
    },
    /// Wait this long, then handle the request normally.
    Delay(Duration),
    /// Drop the connection part-way: for `GET`, after sending `bytes` bytes of the response body
    /// (headers, including the full `Content-Length`, are sent first); for other methods, after
    /// reading `bytes` bytes of the request body, without answering. With `keep_partial`, an
    /// upload `PATCH` keeps the bytes it read in the session (its offset advances, so the
    /// client's old `Location` goes stale); without it the session is unchanged.
    DropAfter {
        /// How many body bytes pass before the connection is dropped.
        bytes: usize,
        /// Whether an interrupted `PATCH` keeps the bytes it received.
        keep_partial: bool,
    },
}

/// One injected fault; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub(crate) method: String,
    pub(crate) pattern: String,
    pub(crate) server: Server,
    pub(crate) nth: u32,
    pub(crate) times: u32,
    pub(crate) every: u32,
    pub(crate) action: FaultAction,
}

impl Fault {
    /// A fault on requests with `method` (`*` = any) whose path matches `pattern`. It fires on
    /// the first match and answers 500 until told otherwise.
    pub fn on(method: &str, pattern: &str) -> Fault {
        Fault {
            method: method.to_ascii_uppercase(),
            pattern: pattern.to_owned(),
            server: Server::Registry,
            nth: 1,
            times: 1,
            every: 1,
            action: FaultAction::Status(500),
        }
    }

    /// Fire on the `n`th matching request (1-based) instead of the first.
    pub fn nth(mut self, n: u32) -> Fault {
        self.nth = n.max(1);
        self
    }

    /// Fire on `times` consecutive matches (default 1).
    pub fn times(mut self, times: u32) -> Fault {
        self.times = times;
        self
    }

    /// Fire on one match in `n` (the `nth`, then every `n`th after it): a share of the
    /// traffic, deterministic.
    pub fn every(mut self, n: u32) -> Fault {
        self.every = n.max(1);
        self
    }

    /// Fire on every match from the `nth` on.
    pub fn always(self) -> Fault {
        self.times(u32::MAX)
    }

    /// Match requests to the blob storage server instead of the registry.
    pub fn on_storage(mut self) -> Fault {
        self.server = Server::Storage;
        self
    }

    /// Answer with `status`.
    pub fn fail_with(mut self, status: u16) -> Fault {
        self.action = FaultAction::Status(status);
        self
    }

    /// Answer 429 with `Retry-After` (whole seconds, rounded up).
    pub fn too_many_requests(mut self, retry_after: Duration) -> Fault {
        let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        self.action = FaultAction::TooManyRequests {
            retry_after_secs: secs,
        };
        self
    }

    /// Answer `status` (429 or 503) with `Retry-After: <retry_after>` as given (see
    /// [`FaultAction::Throttled`]).
    pub fn throttle(mut self, status: u16, retry_after: &str) -> Fault {
        self.action = FaultAction::Throttled {
            status,
            retry_after: retry_after.to_owned(),
        };
        self
    }

    /// Wait `delay` before handling the request.
    pub fn delay(mut self, delay: Duration) -> Fault {
        self.action = FaultAction::Delay(delay);
        self
    }

    /// Drop the connection after `bytes` body bytes (see [`FaultAction::DropAfter`]).
    pub fn drop_after(mut self, bytes: usize) -> Fault {
        self.action = FaultAction::DropAfter {
            bytes,
            keep_partial: false,
        };
        self
    }

    /// Like [`Fault::drop_after`], but an interrupted upload `PATCH` keeps what it read.
    pub fn drop_after_keeping_partial(mut self, bytes: usize) -> Fault {
        self.action = FaultAction::DropAfter {
            bytes,
            keep_partial: true,
        };
        self
    }

    /// The action it takes.
    pub fn action(&self) -> &FaultAction {
        &self.action
    }

    fn matches(&self, server: Server, method: &str, path: &str) -> bool {
        self.server == server
            && (self.method == "*" || self.method.eq_ignore_ascii_case(method))
            && glob(&self.pattern, path)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} #{}: {:?}",
            self.method, self.pattern, self.nth, self.action
        )
    }
}

/// The injected faults with their match counters.
#[derive(Debug, Default)]
pub(crate) struct FaultSet {
    entries: Vec<(Fault, u32)>,
}

impl FaultSet {
    pub(crate) fn push(&mut self, fault: Fault) {
        self.entries.push((fault, 0));
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }

    /// Counts the request against every matching fault and returns the first that fires.
    pub(crate) fn hit(&mut self, server: Server, method: &str, path: &str) -> Option<Fault> {
        let mut fired = None;
        for (fault, count) in &mut self.entries {
            if !fault.matches(server, method, path) {
                continue;
            }
            *count = count.saturating_add(1);
            let fires = count
                .checked_sub(fault.nth)
                .is_some_and(|since| since % fault.every == 0 && since / fault.every < fault.times);
            if fired.is_none() && fires {
                fired = Some(fault.clone());
            }
        }
        fired
    }
}

/// Glob match where `*` matches any run of characters.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("/v2/*/blobs/*", "/v2/library/hello/blobs/sha256:ab"));
        assert!(glob("/v2/", "/v2/"));
        assert!(!glob("/v2/", "/v2/x"));
        assert!(glob("*", ""));
        assert!(!glob("/acr/*/_tags", "/acr/v1/x/_tags/y"));
    }

    #[test]
    fn fires_on_the_nth_match_for_times_matches() {
        let mut set = FaultSet::default();
        set.push(Fault::on("GET", "/x*").nth(2).times(2).fail_with(503));
        let fired: Vec<bool> = (0..5)
            .map(|_| set.hit(Server::Registry, "GET", "/x1").is_some())
            .collect();
        assert_eq!(fired, [false, true, true, false, false]);
        assert!(set.hit(Server::Registry, "PUT", "/x1").is_none());
        assert!(set.hit(Server::Storage, "GET", "/x1").is_none());
    }

    #[test]
    fn fires_on_a_share_of_the_matches() {
        let mut set = FaultSet::default();
        set.push(Fault::on("*", "*").nth(2).every(3).times(2).fail_with(503));
        let fired: Vec<bool> = (0..10)
            .map(|_| set.hit(Server::Registry, "GET", "/x").is_some())
            .collect();
        assert_eq!(
            fired,
            [
                false, true, false, false, true, false, false, false, false, false
            ]
        );
    }
}
