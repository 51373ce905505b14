//! Fuzz target: the registry's `Range` answer (`0-1238`, `bytes=0-1238`) and the
//! `Content-Range` of a `206` (`bytes 5-9/10`). Accepted ranges are ordered, fit their
//! length, and `Range` prints a value that reads back the same.
#![no_main]

use acr_runtime::UploadRange;
use acr_runtime::__fuzz::content_range;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let value = String::from_utf8_lossy(data);
    if let Ok(range) = value.parse::<UploadRange>() {
        assert!(range.start <= range.end, "{value:?} -> {range:?}");
        assert!(range.received() >= 1);
        let again: UploadRange = range.to_string().parse().expect("printed range reads back");
        assert_eq!(again, range);
    }
    if let Some((first, last, total)) = content_range(&value) {
        assert!(first <= last, "{value:?}");
        if let Some(total) = total {
            assert!(last < total, "{value:?}");
        }
        let printed = match total {
            Some(t) => format!("bytes {first}-{last}/{t}"),
            None => format!("bytes {first}-{last}/*"),
        };
        assert_eq!(content_range(&printed), Some((first, last, total)));
    }
});
