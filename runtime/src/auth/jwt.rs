//! Reading the `exp` claim of a JWT without verifying it (the registry verifies; we only
//! want to know when to fetch a new one).

use base64::Engine as _;

/// The `exp` claim (Unix seconds) of a JWT, or `None` when `token` is not a JWT with one.
pub fn expiry(token: &str) -> Option<i64> {
    let mut parts = token.split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let payload = payload.trim_end_matches('=');
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(payload))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    match claims.get("exp")? {
        serde_json::Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) fn make(exp: i64) -> String {
    let enc = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    format!(
        "{}.{}.c2ln",
        enc(&serde_json::json!({"alg":"RS256","typ":"JWT"})),
        enc(
            &serde_json::json!({"exp": exp, "iss": "Azure Container Registry", "access": [{"type":"repository","name":"a/b~c","actions":["pull"]}]})
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_exp() {
        assert_eq!(expiry(&make(1_700_000_000)), Some(1_700_000_000));
        // padded payloads are accepted too
        let t = make(42);
        let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
        while !parts[1].len().is_multiple_of(4) {
            parts[1].push('=');
        }
        assert_eq!(expiry(&parts.join(".")), Some(42));
    }

    #[test]
    fn opaque_tokens_have_none() {
        assert_eq!(expiry("opaque-token"), None);
        assert_eq!(expiry("a.b.c"), None);
        assert_eq!(expiry("a.e30.c"), None); // {} has no exp
        assert_eq!(expiry("a.b.c.d"), None);
    }
}
