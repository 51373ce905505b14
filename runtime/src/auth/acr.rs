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

/// The realm (`<origin>/oauth2/token`) and service (host, with the port when it is not the
/// scheme's default) of the ACR at `endpoint`.
pub fn token_endpoint(endpoint: &Url) -> Option<(Url, String)> {
    let host = endpoint.host_str()?;
    let service = match endpoint.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let realm = endpoint.join("/oauth2/token").ok()?;
    Some((realm, service))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn realm_and_service_come_from_the_endpoint() {
        let (realm, service) = token_endpoint(&url("https://MyReg.azurecr.io/some/path")).unwrap();
        assert_eq!(realm.as_str(), "https://myreg.azurecr.io/oauth2/token");
        assert_eq!(service, "myreg.azurecr.io");
        let (realm, service) = token_endpoint(&url("http://127.0.0.1:5000")).unwrap();
        assert_eq!(realm.as_str(), "http://127.0.0.1:5000/oauth2/token");
        assert_eq!(service, "127.0.0.1:5000");
        // the scheme's default port is not part of the service
        let (_, service) = token_endpoint(&url("https://r.azurecr.io:443/")).unwrap();
        assert_eq!(service, "r.azurecr.io");
        let (realm, service) = token_endpoint(&url("https://[::1]:8443")).unwrap();
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
