//! JSON Web Tokens as the emulator mints them: HS256 (HMAC-SHA256, written out here on top of
//! `sha2`) over base64url JSON, so clients can read `exp` exactly as they would from ACR's tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

const BLOCK: usize = 64;

/// HMAC-SHA256 (RFC 2104).
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// Signs `claims` as an HS256 JWT with `key`.
pub(crate) fn sign(key: &[u8], claims: &Value) -> String {
    let header = serde_json::json!({"alg": "HS256", "typ": "JWT"});
    let mut token = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = hmac_sha256(key, token.as_bytes());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    token
}

/// Checks the signature and returns the claims; `None` if the token is malformed or forged.
pub(crate) fn verify(key: &[u8], token: &str) -> Option<Value> {
    let (signed, signature) = token.rsplit_once('.')?;
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    let expected = hmac_sha256(key, signed.as_bytes());
    // Constant-time enough for a test double; compare all bytes regardless.
    if signature.len() != expected.len()
        || signature
            .iter()
            .zip(expected.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            != 0
    {
        return None;
    }
    decode_claims(token)
}

/// The claims of any JWT, without checking its signature (what clients do to read `exp`).
pub fn decode_claims(token: &str) -> Option<Value> {
    let mut parts = token.split('.');
    let _header = parts.next()?;
    let payload = parts.next()?;
    parts.next()?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn signed_tokens_verify_and_forgeries_do_not() {
        let claims = serde_json::json!({"sub": "x", "exp": 42});
        let token = sign(b"key", &claims);
        assert_eq!(token.split('.').count(), 3);
        assert_eq!(verify(b"key", &token), Some(claims.clone()));
        assert_eq!(verify(b"other", &token), None);
        let forged = sign(b"other", &claims);
        assert_eq!(verify(b"key", &forged), None);
        assert_eq!(decode_claims(&forged), Some(claims));
    }
}
