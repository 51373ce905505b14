//! The `azure-identity` feature: an `azure_core` `TokenCredential` serves as the AAD source.
//! Run with `cargo test -p acr-runtime --features azure-identity --test azure_identity`.
#![cfg(feature = "azure-identity")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use acr_runtime::auth::AadTokenSource;
use acr_runtime::auth::azure::AzureTokenSource;
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::time::OffsetDateTime;

/// A credential that records the scopes it is asked for and answers a fixed token.
#[derive(Debug, Default)]
struct Fake {
    asked: Mutex<Vec<String>>,
    fail: bool,
}

#[async_trait::async_trait]
impl TokenCredential for Fake {
    async fn get_token(
        &self,
        scopes: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        self.asked
            .lock()
            .unwrap()
            .extend(scopes.iter().map(|s| (*s).to_owned()));
        if self.fail {
            return Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Credential,
                "no login",
            ));
        }
        Ok(AccessToken::new(
            "aad-secret",
            OffsetDateTime::from_unix_timestamp(2_000_000_000).unwrap(),
        ))
    }
}

#[tokio::test]
async fn a_token_credential_gives_the_aad_token_and_its_expiry() {
    let fake = Arc::new(Fake::default());
    let source = AzureTokenSource(fake.clone());
    let token = source
        .aad_token("https://management.azure.com/.default")
        .await
        .unwrap();
    assert_eq!(token.token.expose(), "aad-secret");
    assert_eq!(
        token.expires_at,
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000))
    );
    assert_eq!(
        *fake.asked.lock().unwrap(),
        vec!["https://management.azure.com/.default".to_owned()]
    );
}

#[tokio::test]
async fn a_failing_credential_is_an_auth_error_without_secrets() {
    let source = AzureTokenSource(Arc::new(Fake {
        fail: true,
        ..Fake::default()
    }));
    let err = source
        .aad_token("https://management.azure.com/.default")
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("could not get a token"), "{text}");
}
