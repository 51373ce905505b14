//! The `azure-identity` feature: any `azure_core::credentials::TokenCredential` (the trait the
//! `azure_identity` crate implements: `DeveloperToolsCredential`, `ManagedIdentityCredential`,
//! `ClientSecretCredential`, …) as an [`AadTokenSource`].

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use azure_core::credentials::TokenCredential;

use super::credential::{AadToken, AadTokenFuture, AadTokenSource, Credential};
use crate::{Error, Secret};

/// Adapts an `azure_core` [`TokenCredential`] to [`AadTokenSource`].
#[derive(Debug, Clone)]
pub struct AzureTokenSource(pub Arc<dyn TokenCredential>);

impl AadTokenSource for AzureTokenSource {
    fn aad_token<'a>(&'a self, scope: &'a str) -> AadTokenFuture<'a> {
        Box::pin(async move {
            let token = self
                .0
                .get_token(&[scope], None)
                .await
                .map_err(|e| Error::Auth {
                    operation: "aad_token",
                    message: format!("the Azure credential could not get a token for {scope}: {e}"),
                    source: None,
                })?;
            let expires = token.expires_on.unix_timestamp().max(0) as u64;
            Ok(AadToken {
                token: Secret::new(token.token.secret()),
                expires_at: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(expires)),
            })
        })
    }
}

impl Credential {
    /// An Azure identity (default audience `https://management.azure.com`).
    pub fn azure(credential: Arc<dyn TokenCredential>) -> Self {
        Self::aad(Arc::new(AzureTokenSource(credential)))
    }

    /// An Azure identity with an explicit audience (sovereign clouds) and tenant.
    pub fn azure_with(
        credential: Arc<dyn TokenCredential>,
        audience: impl Into<String>,
        tenant: Option<String>,
    ) -> Self {
        Self::aad_with(Arc::new(AzureTokenSource(credential)), audience, tenant)
    }
}
