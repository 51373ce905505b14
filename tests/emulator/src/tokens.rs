//! Minting and checking the emulator's refresh and access tokens (HS256 JWTs shaped like ACR's:
//! `jti, sub, nbf, exp, iat, iss, aud, version, grant_type`, plus `access` on access tokens and
//! `permissions` on refresh tokens). Two emulator-specific claims make the checks possible:
//! `grants` (what a refresh token may be exchanged for) and `gen` (the generation that
//! [`TokenIssuer::expire_all`] bumps to revoke every token minted before).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::ids::IdSource;
use super::jwt;
use super::scope::{Grants, Scope};

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenError {
    /// Not a JWT the emulator signed, or the wrong kind of token.
    Invalid,
    /// Past its `exp`, or revoked by [`TokenIssuer::expire_all`].
    Expired,
}

/// What a valid refresh token carries.
#[derive(Debug, Clone)]
pub(crate) struct RefreshClaims {
    pub subject: String,
    pub grants: Grants,
}

/// Mints and verifies tokens with one signing key.
#[derive(Debug)]
pub(crate) struct TokenIssuer {
    key: [u8; 32],
    audience: String,
    access_lifetime: Duration,
    refresh_lifetime: Duration,
    access_generation: AtomicU64,
    refresh_generation: AtomicU64,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl TokenIssuer {
    pub(crate) fn new(
        ids: &IdSource,
        audience: String,
        access_lifetime: Duration,
        refresh_lifetime: Duration,
    ) -> Self {
        TokenIssuer {
            key: ids.bytes(),
            audience,
            access_lifetime,
            refresh_lifetime,
            access_generation: AtomicU64::new(0),
            refresh_generation: AtomicU64::new(0),
        }
    }

    fn base_claims(&self, ids: &IdSource, subject: &str, lifetime: Duration) -> Value {
        let now = unix_now();
        // Round a sub-second lifetime up so `exp` is never before `iat`.
        let exp = now + lifetime.as_secs() + u64::from(lifetime.subsec_nanos() > 0);
        json!({
            "jti": ids.uuid(),
            "sub": subject,
            "nbf": now,
            "exp": exp,
            "iat": now,
            "iss": "Azure Container Registry",
            "aud": self.audience,
        })
    }

    /// A refresh token for `subject` that can be exchanged for what `grants` allows.
    pub(crate) fn mint_refresh(&self, ids: &IdSource, subject: &str, grants: &Grants) -> String {
        let mut claims = self.base_claims(ids, subject, self.refresh_lifetime);
        let actions = match grants {
            Grants::All => json!(["read", "write", "delete"]),
            Grants::Only(_) => json!(["read"]),
        };
        if let Some(map) = claims.as_object_mut() {
            map.insert("version".into(), json!("1.0"));
            map.insert("grant_type".into(), json!("refresh_token"));
            map.insert(
                "permissions".into(),
                json!({"actions": actions, "notActions": []}),
            );
            map.insert("grants".into(), grants.to_claim());
            map.insert(
                "gen".into(),
                json!(self.refresh_generation.load(Ordering::SeqCst)),
            );
        }
        jwt::sign(&self.key, &claims)
    }

    /// An access token carrying exactly `scopes` in its `access` claim.
    pub(crate) fn mint_access(&self, ids: &IdSource, subject: &str, scopes: &[Scope]) -> String {
        let mut claims = self.base_claims(ids, subject, self.access_lifetime);
        let access: Vec<Value> = scopes
            .iter()
            .map(|s| json!({"type": s.resource_type, "name": s.name, "actions": s.actions}))
            .collect();
        if let Some(map) = claims.as_object_mut() {
            map.insert("version".into(), json!("2.0"));
            map.insert("grant_type".into(), json!("access_token"));
            map.insert("access".into(), Value::Array(access));
            map.insert(
                "gen".into(),
                json!(self.access_generation.load(Ordering::SeqCst)),
            );
        }
        jwt::sign(&self.key, &claims)
    }

    fn check(
        &self,
        token: &str,
        grant_type: &str,
        generation: &AtomicU64,
    ) -> Result<Value, TokenError> {
        let claims = jwt::verify(&self.key, token).ok_or(TokenError::Invalid)?;
        if claims.get("grant_type").and_then(Value::as_str) != Some(grant_type)
            || claims.get("aud").and_then(Value::as_str) != Some(self.audience.as_str())
        {
            return Err(TokenError::Invalid);
        }
        let exp = claims
            .get("exp")
            .and_then(Value::as_u64)
            .ok_or(TokenError::Invalid)?;
        let gen_claim = claims.get("gen").and_then(Value::as_u64);
        if unix_now() >= exp || gen_claim != Some(generation.load(Ordering::SeqCst)) {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    /// Checks a refresh token.
    pub(crate) fn verify_refresh(&self, token: &str) -> Result<RefreshClaims, TokenError> {
        let claims = self.check(token, "refresh_token", &self.refresh_generation)?;
        let grants = claims
            .get("grants")
            .and_then(Grants::from_claim)
            .ok_or(TokenError::Invalid)?;
        Ok(RefreshClaims {
            subject: claims
                .get("sub")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            grants,
        })
    }

    /// Checks an access token and returns the scopes it grants.
    pub(crate) fn verify_access(&self, token: &str) -> Result<Vec<Scope>, TokenError> {
        let claims = self.check(token, "access_token", &self.access_generation)?;
        let access = claims
            .get("access")
            .and_then(Value::as_array)
            .ok_or(TokenError::Invalid)?;
        Ok(access
            .iter()
            .filter_map(|entry| {
                Some(Scope {
                    resource_type: entry.get("type")?.as_str()?.to_owned(),
                    name: entry.get("name")?.as_str()?.to_owned(),
                    actions: entry
                        .get("actions")?
                        .as_array()?
                        .iter()
                        .filter_map(|a| a.as_str().map(str::to_owned))
                        .collect(),
                })
            })
            .collect())
    }

    /// Revokes every access token minted so far.
    pub(crate) fn expire_access(&self) {
        self.access_generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Revokes every access and refresh token minted so far.
    pub(crate) fn expire_all(&self) {
        self.expire_access();
        self.refresh_generation.fetch_add(1, Ordering::SeqCst);
    }

    /// An HMAC over `message` with the signing key (used for upload `_state` and storage URLs).
    pub(crate) fn mac(&self, message: &[u8]) -> [u8; 32] {
        jwt::hmac_sha256(&self.key, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> (IdSource, TokenIssuer) {
        let ids = IdSource::new();
        let issuer = TokenIssuer::new(
            &ids,
            "127.0.0.1:1".into(),
            Duration::from_secs(60),
            Duration::from_secs(600),
        );
        (ids, issuer)
    }

    #[test]
    fn tokens_round_trip_and_expire_on_demand() {
        let (ids, issuer) = issuer();
        let refresh = issuer.mint_refresh(&ids, "me", &Grants::pull_only());
        assert_eq!(
            issuer.verify_refresh(&refresh).unwrap().grants,
            Grants::pull_only()
        );
        let access = issuer.mint_access(&ids, "me", &[Scope::repository("a", &["pull"])]);
        assert_eq!(issuer.verify_access(&access).unwrap()[0].name, "a");
        assert_eq!(
            issuer.verify_refresh(&access).unwrap_err(),
            TokenError::Invalid
        );
        issuer.expire_access();
        assert_eq!(
            issuer.verify_access(&access).unwrap_err(),
            TokenError::Expired
        );
        assert!(issuer.verify_refresh(&refresh).is_ok());
        issuer.expire_all();
        assert_eq!(
            issuer.verify_refresh(&refresh).unwrap_err(),
            TokenError::Expired
        );
    }

    #[test]
    fn tokens_carry_exp_after_iat() {
        let (ids, issuer) = issuer();
        let token = issuer.mint_access(&ids, "me", &[]);
        let claims = jwt::decode_claims(&token).unwrap();
        let exp = claims["exp"].as_u64().unwrap();
        let iat = claims["iat"].as_u64().unwrap();
        assert_eq!(exp - iat, 60);
    }
}
