//! Fuzz target: a `Link` value (lossy UTF-8) into the `rel="next"` reader and the typed
//! `Link` header. A found target is a piece of the input, and the typed header prints a value
//! that reads back to the same target.
#![no_main]

use acr_runtime::Link;
use acr_runtime::__fuzz::next_link;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let value = String::from_utf8_lossy(data);
    let next = next_link(&value);
    if let Some(target) = &next {
        assert!(value.contains(target.as_str()), "{target:?} not in {value:?}");
    }
    match value.parse::<Link>() {
        Ok(link) => {
            assert_eq!(Some(&link.next), next.as_ref());
            // a target holding `>` or `,` cannot be printed back in angle brackets
            if !link.next.contains(['>', ',']) {
                let again: Link = link.to_string().parse().expect("printed Link reads back");
                assert_eq!(again, link);
            }
        }
        Err(_) => assert!(next.is_none()),
    }
});
