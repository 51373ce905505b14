//! Fuzz target: a `WWW-Authenticate` value (lossy UTF-8) into the challenge parser. Beyond not
//! panicking: schemes are non-empty lowercase tokens and parameter names are lowercase.
#![no_main]

use acr_runtime::__fuzz::www_authenticate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let value = String::from_utf8_lossy(data);
    for challenge in www_authenticate(&value) {
        assert!(!challenge.scheme.is_empty(), "empty scheme from {value:?}");
        assert_eq!(challenge.scheme, challenge.scheme.to_ascii_lowercase());
        for (name, _) in &challenge.params {
            assert!(!name.is_empty(), "empty parameter name from {value:?}");
            assert_eq!(*name, name.to_ascii_lowercase());
        }
        let _ = (challenge.is_bearer(), challenge.param("realm"));
    }
});
