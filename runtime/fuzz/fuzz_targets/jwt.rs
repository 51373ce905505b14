//! Fuzz target: JWT claims. Raw input as a token, and the input as the claims JSON of a
//! well-formed token (so the fuzzer reaches the claim reading, not only the base64 layer).
//! Beyond not panicking: an integer `exp` reads back as itself.
#![no_main]

use acr_runtime::__fuzz::jwt_expiry;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    let _ = jwt_expiry(&token);
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let framed = format!("{}.{}.c2ln", b64(br#"{"alg":"RS256"}"#), b64(data));
    let exp = jwt_expiry(&framed);
    if let Ok(serde_json::Value::Object(claims)) = serde_json::from_slice::<serde_json::Value>(data)
        && let Some(n) = claims.get("exp").and_then(|e| e.as_i64())
    {
        assert_eq!(exp, Some(n), "{token:?}");
    }
});
