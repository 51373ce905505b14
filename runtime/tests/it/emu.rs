//! The ACR emulator (package `acr-emulator`) for the tests that need a registry which behaves:
//! ACR's token challenge and scopes, uploads, manifests, listings, blob redirects and injected
//! faults. What it cannot do (answers that break the protocol on purpose) stays in `support`.

use acr_emulator::{Emulator, Grants, LoggedRequest, Server};

pub const ADMIN_USER: &str = "admin";
pub const ADMIN_PASSWORD: &str = "s3cr3t-pa55";

/// An emulator with the admin user.
pub async fn start() -> Emulator {
    Emulator::builder()
        .admin(ADMIN_USER, ADMIN_PASSWORD)
        .start()
        .await
        .unwrap()
}

/// A refresh token for every permission.
pub fn refresh_token(emulator: &Emulator) -> String {
    emulator.refresh_token_for("runtime-tests", Grants::All)
}

/// The registry requests `keep` accepts.
pub fn requests(emulator: &Emulator, keep: impl Fn(&LoggedRequest) -> bool) -> Vec<LoggedRequest> {
    emulator
        .log()
        .into_iter()
        .filter(|r| r.server == Server::Registry && keep(r))
        .collect()
}

/// How many access-token requests the registry saw.
pub fn token_requests(emulator: &Emulator) -> usize {
    requests(emulator, |r| r.path == "/oauth2/token").len()
}

/// How many data-plane requests were answered 401.
pub fn challenges(emulator: &Emulator) -> usize {
    requests(emulator, |r| {
        r.status == 401 && (r.path.starts_with("/v2") || r.path.starts_with("/acr/"))
    })
    .len()
}

/// The value of `header` on each `method` request to `server`, `-` where it was absent.
pub fn header_of(emulator: &Emulator, server: Server, method: &str, header: &str) -> Vec<String> {
    emulator
        .log()
        .into_iter()
        .filter(|r| r.server == server && r.method == method)
        .map(|r| r.header(header).unwrap_or("-").to_owned())
        .collect()
}
