//! Fuzz target: a `Retry-After` value (delay seconds or an HTTP date) read against a clock
//! the input also chooses. Beyond not panicking: delay seconds read as exactly that delay.
#![no_main]

use std::time::{Duration, SystemTime};

use acr_runtime::__fuzz::parse_retry_after;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (clock, text) = match data.split_first_chunk::<8>() {
        Some((clock, rest)) => (u64::from_le_bytes(*clock), rest),
        None => (0, data),
    };
    let value = String::from_utf8_lossy(text);
    // any instant from 1970 to far beyond 2038, and the real clock
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(clock % (1 << 40));
    let _ = parse_retry_after(&value, now);
    if let Some(d) = parse_retry_after(&value, SystemTime::now())
        && let Ok(secs) = value.trim().parse::<u64>()
    {
        assert_eq!(d, Duration::from_secs(secs));
    }
});
