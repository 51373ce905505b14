//! When and how long to wait before sending a request again.
//!
//! Idempotent requests (GET, HEAD, PUT, DELETE, OPTIONS; RFC 9110 §9.2.2) are sent again on
//! connection errors (including a connection cut while the response body is read) and on
//! 408, 429, 500, 502, 503 and 504. Every request, `POST` and `PATCH` included, is sent again
//! when the server answered 429 (RFC 6585 §4: the request was refused for its rate) or 503
//! (RFC 9110 §15.6.4: the server cannot handle it now): the server did nothing with it; and
//! when the connection could not be opened at all (nothing was sent). Otherwise `POST` and
//! `PATCH` are never resent blindly: the blob upload asks the registry's `Range` instead.
//!
//! The wait is an exponential backoff with full jitter (a uniform wait in
//! `[0, min(max_backoff, initial_backoff * 2^(n-1))]`), or the server's `Retry-After` when it
//! sends one ([`parse_retry_after`]: delay-seconds or an HTTP-date in any of the three forms
//! of RFC 9110 §5.6.7), within [`RetryPolicy::max_attempts`] and [`RetryPolicy::max_elapsed`]:
//! a `Retry-After` that does not fit the budget ends the retries at once.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use http::{Method, StatusCode};

/// How often and how long to retry a failing idempotent request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Sends at most this many times in all (1 = no retry).
    pub max_attempts: u32,
    /// Gives up when the next wait would end later than this after the first send of the
    /// request (an access token fetched before it is not counted: the token request has
    /// attempts of its own).
    pub max_elapsed: Duration,
    /// The backoff ceiling of the first retry.
    pub initial_backoff: Duration,
    /// The largest backoff ceiling.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            max_elapsed: Duration::from_secs(120),
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Sets the attempt count (at least 1).
    pub fn with_max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// Sets the total time budget.
    pub fn with_max_elapsed(mut self, d: Duration) -> Self {
        self.max_elapsed = d;
        self
    }

    /// Sets the first and the largest backoff ceiling.
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// The ceiling of the wait before retry number `retry` (1-based).
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1).min(30))
            .unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    /// A full-jitter wait before retry number `retry` (1-based): uniform in
    /// `[0, backoff_ceiling(retry)]`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self.backoff_ceiling(retry);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(random_u64() % (nanos + 1))
    }
}

/// Whether `method` may be sent again without asking the server what happened.
pub fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
    )
}

/// Whether a response status is worth retrying.
pub fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// Whether a request with `method` answered `status` may be sent again: any retryable status
/// for an idempotent method; 429 and 503 for every method (the server did nothing with it).
pub fn may_retry_status(method: &Method, status: StatusCode) -> bool {
    if is_idempotent(method) {
        is_retryable_status(status)
    } else {
        matches!(status.as_u16(), 429 | 503)
    }
}

/// Whether a transport error is worth retrying (connect, timeout, a dropped request or a
/// connection cut while reading the body).
///
/// reqwest reports every failure while reading a body as a "decode" error (its
/// `Response::bytes`/`chunk` map body errors so); the runtime enables no content decoder,
/// so such an error is always the connection's, and is retried.
pub fn is_retryable_transport(error: &reqwest::Error) -> bool {
    !error.is_builder() && !error.is_redirect()
}

/// Whether a transport error of a request with `method` may be sent again: every retryable
/// error for an idempotent method; for others only a failure to connect (nothing was sent).
pub fn may_retry_transport(method: &Method, error: &reqwest::Error) -> bool {
    is_retryable_transport(error) && (is_idempotent(method) || error.is_connect())
}

/// The wait the `Retry-After` field of an answer's `headers` asks for, from now (see
/// [`parse_retry_after`]); `None` without one, or with one that is not text or no form of it.
pub(crate) fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()))
}

/// Parses a `Retry-After` value (RFC 9110 §10.2.3): delay-seconds, or an HTTP-date in any of
/// the forms a recipient must accept (RFC 9110 §5.6.7: IMF-fixdate
/// `Sun, 06 Nov 1994 08:49:37 GMT`, the obsolete RFC 850 form `Sunday, 06-Nov-94 08:49:37 GMT`
/// and asctime `Sun Nov  6 08:49:37 1994`). A date gives its distance from `now` (zero when
/// past). `None` when the value is none of these.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // delay-seconds = 1*DIGIT; a huge value saturates (it will not fit any budget)
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    let now_secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let at = parse_http_date(value, now_secs)?;
    Some(Duration::from_secs(
        at.saturating_sub(now_secs).max(0) as u64
    ))
}

/// Parses an HTTP-date (RFC 9110 §5.6.7) to Unix seconds; `now` (Unix seconds) decides the
/// century of an RFC 850 two-digit year.
pub fn parse_http_date(value: &str, now: i64) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const LONG_DAYS: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    let month = |m: &str| MONTHS.iter().position(|x| *x == m).map(|i| i as i8 + 1);
    let num = |s: &str, len: std::ops::RangeInclusive<usize>| -> Option<i64> {
        (len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let time = |s: &str| -> Option<(i64, i64, i64)> {
        let mut it = s.split(':');
        let h = num(it.next()?, 2..=2)?;
        let m = num(it.next()?, 2..=2)?;
        let sec = num(it.next()?, 2..=2)?;
        it.next().is_none().then_some((h, m, sec))
    };
    let (year, mon, day, (h, m, s)) = if let Some((wd, rest)) = value.split_once(", ") {
        let parts: Vec<&str> = rest.split(' ').collect();
        if DAYS.contains(&wd) {
            // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
            let [d, mo, y, t, "GMT"] = parts[..] else {
                return None;
            };
            (num(y, 4..=4)?, month(mo)?, num(d, 2..=2)?, time(t)?)
        } else if LONG_DAYS.contains(&wd) {
            // rfc850-date: Sunday, 06-Nov-94 08:49:37 GMT
            let [date, t, "GMT"] = parts[..] else {
                return None;
            };
            let mut dp = date.split('-');
            let (d, mo, yy) = (dp.next()?, dp.next()?, dp.next()?);
            if dp.next().is_some() {
                return None;
            }
            let yy = num(yy, 2..=2)?;
            // RFC 9110 §5.6.7: a two-digit year more than 50 years in the future is the
            // most recent past year with the same last two digits
            let this_year = jiff::Timestamp::from_second(now)
                .ok()?
                .to_zoned(jiff::tz::TimeZone::UTC)
                .year() as i64;
            let mut y = this_year - this_year.rem_euclid(100) + yy;
            if y > this_year + 50 {
                y -= 100;
            }
            (y, month(mo)?, num(d, 2..=2)?, time(t)?)
        } else {
            return None;
        }
    } else {
        // asctime-date: Sun Nov  6 08:49:37 1994 (day padded with a space)
        let wd = value.get(..3)?;
        let rest = value.get(3..)?.strip_prefix(' ')?;
        if !DAYS.contains(&wd) {
            return None;
        }
        let mo = rest.get(..3)?;
        let rest = rest.get(3..)?.strip_prefix(' ')?;
        let d = rest.get(..2)?;
        let d = d.strip_prefix(' ').unwrap_or(d);
        let rest = rest.get(2..)?.strip_prefix(' ')?;
        let (t, y) = rest.split_once(' ')?;
        (num(y, 4..=4)?, month(mo)?, num(d, 1..=2)?, time(t)?)
    };
    let date =
        jiff::civil::Date::new(i16::try_from(year).ok()?, mon, i8::try_from(day).ok()?).ok()?;
    // leap seconds (:60) are not in HTTP-dates' grammar of real servers; refuse them
    let dt = date.to_datetime(
        jiff::civil::Time::new(
            i8::try_from(h).ok()?,
            i8::try_from(m).ok()?,
            i8::try_from(s).ok()?,
            0,
        )
        .ok()?,
    );
    Some(
        dt.to_zoned(jiff::tz::TimeZone::UTC)
            .ok()?
            .timestamp()
            .as_second(),
    )
}

static STATE: AtomicU64 = AtomicU64::new(0);

/// A fast non-cryptographic random number (splitmix64 over a randomly seeded counter).
fn random_u64() -> u64 {
    let mut seed = STATE.load(Ordering::Relaxed);
    if seed == 0 {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(0x9e37_79b9_7f4a_7c15);
        seed = h.finish() | 1;
        let _ = STATE.compare_exchange(0, seed, Ordering::Relaxed, Ordering::Relaxed);
    }
    let mut z = STATE
        .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
        .wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_within_full_jitter_bounds() {
        let p =
            RetryPolicy::default().with_backoff(Duration::from_millis(100), Duration::from_secs(1));
        assert_eq!(p.backoff_ceiling(1), Duration::from_millis(100));
        assert_eq!(p.backoff_ceiling(2), Duration::from_millis(200));
        assert_eq!(p.backoff_ceiling(4), Duration::from_millis(800));
        assert_eq!(p.backoff_ceiling(5), Duration::from_secs(1));
        assert_eq!(p.backoff_ceiling(64), Duration::from_secs(1));
        let mut below_half = 0;
        for retry in 1..=6 {
            for _ in 0..500 {
                let d = p.backoff(retry);
                assert!(d <= p.backoff_ceiling(retry));
                if d < p.backoff_ceiling(retry) / 2 {
                    below_half += 1;
                }
            }
        }
        // full jitter: about half of the waits are below half the ceiling
        assert!((1000..2000).contains(&below_half), "{below_half}");
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:27 GMT", now),
            Some(Duration::ZERO)
        );
        for bad in [
            "soon",
            "-5",
            "+5",
            "1.5",
            "",
            "Sun, 06 Nov 1994 08:49:47 UTC",
        ] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn retry_after_in_every_http_date_form() {
        // RFC 9110 §5.6.7: the three forms of one instant
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777 - 60);
        for form in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(
                parse_retry_after(form, now),
                Some(Duration::from_secs(60)),
                "{form}"
            );
        }
        // a second instance of each obsolete form: a two-digit day in asctime, another month
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000); // 2023-11-14 22:13:20
        assert_eq!(
            parse_retry_after("Tue Nov 14 22:13:25 2023", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            parse_retry_after("Tuesday, 14-Nov-23 22:13:30 GMT", now),
            Some(Duration::from_secs(10))
        );
        // RFC 850 years: more than 50 years ahead means the past century
        assert_eq!(
            parse_http_date("Friday, 01-Jan-99 00:00:00 GMT", 1_700_000_000),
            Some(915_148_800)
        );
        assert_eq!(
            parse_http_date("Saturday, 01-Jan-50 00:00:00 GMT", 1_700_000_000),
            Some(2_524_608_000)
        );
        for bad in [
            "Sun Nov 6 08:49:37 1994",
            "Sun, 31 Feb 1994 08:49:37 GMT",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 8:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(bad, 1_700_000_000), None, "{bad:?}");
        }
    }

    #[test]
    fn methods_and_statuses() {
        assert!(is_idempotent(&Method::PUT));
        assert!(!is_idempotent(&Method::POST));
        assert!(!is_idempotent(&Method::PATCH));
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(is_retryable_status(StatusCode::from_u16(s).unwrap()));
        }
        for s in [400, 401, 403, 404, 501] {
            assert!(!is_retryable_status(StatusCode::from_u16(s).unwrap()));
        }
        for m in [Method::POST, Method::PATCH] {
            for s in [429, 503] {
                assert!(may_retry_status(&m, StatusCode::from_u16(s).unwrap()));
            }
            for s in [408, 500, 502, 504] {
                assert!(!may_retry_status(&m, StatusCode::from_u16(s).unwrap()));
            }
        }
        assert!(may_retry_status(&Method::GET, StatusCode::BAD_GATEWAY));
    }
}
