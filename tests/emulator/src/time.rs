//! Timestamps as ACR writes them: RFC 3339 UTC with 7 fractional digits
//! (`2022-12-13T09:17:12.6157503Z`), from a clock that never repeats a value.

use jiff::Timestamp;

/// ACR's resolution: 100 ns (7 fractional digits).
const TICK_NANOS: i64 = 100;

/// Formats `ts` the way ACR does, truncated to 100 ns.
pub fn format_acr(ts: Timestamp) -> String {
    let whole = ts.strftime("%Y-%m-%dT%H:%M:%S");
    let fraction = ts.subsec_nanosecond().max(0) / 100;
    format!("{whole}.{fraction:07}Z")
}

/// A clock whose readings strictly increase (by at least 100 ns), so that ordering by time is
/// deterministic even when two changes happen within one tick of the system clock.
#[derive(Debug)]
pub(crate) struct MonotonicClock {
    last: Timestamp,
}

impl MonotonicClock {
    pub(crate) fn new() -> Self {
        MonotonicClock {
            last: Timestamp::UNIX_EPOCH,
        }
    }

    /// The next reading: now, or 100 ns after the previous reading if now is not later.
    pub(crate) fn tick(&mut self) -> Timestamp {
        let now = truncate(Timestamp::now());
        let next = if now > self.last {
            now
        } else {
            let nanos = self.last.as_nanosecond() + i128::from(TICK_NANOS);
            Timestamp::from_nanosecond(nanos).unwrap_or(now)
        };
        self.last = next;
        next
    }
}

fn truncate(ts: Timestamp) -> Timestamp {
    let nanos = ts.as_nanosecond();
    let tick = i128::from(TICK_NANOS);
    Timestamp::from_nanosecond(nanos - nanos.rem_euclid(tick)).unwrap_or(ts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_seven_fraction_digits() {
        let ts: Timestamp = "2022-12-13T09:17:12.615750399Z".parse().unwrap();
        assert_eq!(format_acr(ts), "2022-12-13T09:17:12.6157503Z");
        let whole: Timestamp = "2022-12-13T09:17:12Z".parse().unwrap();
        assert_eq!(format_acr(whole), "2022-12-13T09:17:12.0000000Z");
    }

    #[test]
    fn clock_strictly_increases() {
        let mut clock = MonotonicClock::new();
        let readings: Vec<_> = (0..1000).map(|_| clock.tick()).collect();
        assert!(readings.windows(2).all(|w| w[0] < w[1]));
        let formatted: Vec<_> = readings.iter().map(|t| format_acr(*t)).collect();
        assert!(formatted.windows(2).all(|w| w[0] < w[1]));
    }
}
