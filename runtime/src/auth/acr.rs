//! What is known about an Azure Container Registry without asking it: its token endpoint.
//!
//! ACR's challenge always names the realm `https://<login server>/oauth2/token` and the
//! service `<login server>`, so a client that knows it talks to ACR can fetch the token of a
//! request's scope before sending the request, and never sees the 401 a cold client gets.
//! A client is in this "ACR mode" when [`ClientBuilder::acr`](crate::ClientBuilder::acr) says
//! so, or by default when the credential only makes sense for ACR (an ACR refresh token or an
//! Azure AD identity) or the endpoint's host is an ACR login server (`*.azurecr.io`,
//! `*.azurecr.cn`, `*.azurecr.us`).

use url::Url;

use super::Credential;

/// The host suffixes of ACR login servers (Azure public, China and US Government clouds).
pub const ACR_HOST_SUFFIXES: &[&str] = &[".azurecr.io", ".azurecr.cn", ".azurecr.us"];

/// Whether `endpoint`'s host is an ACR login server.
pub fn is_acr_host(endpoint: &Url) -> bool {
    let host = endpoint.host_str().unwrap_or_default().to_ascii_lowercase();
    let host = host.trim_end_matches('.');
    ACR_HOST_SUFFIXES
        .iter()
        .any(|s| host.len() > s.len() && host.ends_with(s))
}

/// Whether a client of `endpoint` with `credential` is in ACR mode when the builder does
/// not say.
pub(crate) fn by_default(credential: &Credential, endpoint: &Url) -> bool {
    matches!(
        credential,
        Credential::RefreshToken(_) | Credential::Aad { .. }
    ) || is_acr_host(endpoint)
}

/// Where a registry's token service answers, as the spec of its API states it (the generated
/// client passes it; [`FromTransport::TOKEN_SERVICE`](crate::FromTransport::TOKEN_SERVICE)):
/// the paths, on the registry's origin, of the access-token endpoint (ACR: `POST` and `GET
/// /oauth2/token`, Azure Container Registry REST reference, "Access Tokens") and of the
/// exchange of an Azure AD token for a refresh token (ACR: `POST /oauth2/exchange`, "Refresh
/// Tokens - Get From Exchange"). The runtime itself knows no path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenService {
    /// The path of the access-token endpoint: the realm a client in ACR mode asks up front.
    pub access_token: &'static str,
    /// The path of the AAD exchange, when the API has one.
    pub refresh_token: Option<&'static str>,
}

/// The realm (`<origin><access token path>`) and service (host, with the port when it is not
/// the scheme's default) of the ACR at `endpoint` whose token service is `service`.
pub fn token_endpoint(endpoint: &Url, service: &TokenService) -> Option<(Url, String)> {
    let host = endpoint.host_str()?;
    let name = match endpoint.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let realm = endpoint.join(service.access_token).ok()?;
    Some((realm, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    const ACR: TokenService = TokenService {
        access_token: "/oauth2/token",
        refresh_token: Some("/oauth2/exchange"),
    };

    #[test]
    fn realm_and_service_come_from_the_endpoint() {
        let (realm, service) =
            token_endpoint(&url("https://MyReg.azurecr.io/some/path"), &ACR).unwrap();
        assert_eq!(realm.as_str(), "https://myreg.azurecr.io/oauth2/token");
        assert_eq!(service, "myreg.azurecr.io");
        let (realm, service) = token_endpoint(&url("http://127.0.0.1:5000"), &ACR).unwrap();
        assert_eq!(realm.as_str(), "http://127.0.0.1:5000/oauth2/token");
        assert_eq!(service, "127.0.0.1:5000");
        // the scheme's default port is not part of the service
        let (_, service) = token_endpoint(&url("https://r.azurecr.io:443/"), &ACR).unwrap();
        assert_eq!(service, "r.azurecr.io");
        let (realm, service) = token_endpoint(&url("https://[::1]:8443"), &ACR).unwrap();
        assert_eq!(realm.as_str(), "https://[::1]:8443/oauth2/token");
        assert_eq!(service, "[::1]:8443");
    }

    #[test]
    fn acr_mode_by_credential_or_host() {
        let local = url("http://127.0.0.1:5000");
        assert!(by_default(&Credential::refresh_token("rt"), &local));
        assert!(!by_default(&Credential::Anonymous, &local));
        assert!(!by_default(
            &Credential::basic("u", Secret::new("p")),
            &local
        ));
        for acr in [
            "https://r.azurecr.io",
            "https://R.AZURECR.CN/",
            "https://r.azurecr.us.",
        ] {
            assert!(by_default(&Credential::Anonymous, &url(acr)), "{acr}");
        }
        for other in [
            "https://azurecr.io",
            "https://r.azurecr.io.example.com",
            "https://mcr.microsoft.com",
            "https://ghcr.io",
        ] {
            assert!(!is_acr_host(&url(other)), "{other}");
        }
    }
}
