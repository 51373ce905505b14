//! The request log: one entry per request either server saw, for assertions.

use std::collections::BTreeMap;

/// The headers copied into the log (lower-case). `Authorization` is never copied: only its
/// scheme is kept, in [`LoggedRequest::authorization`].
pub const LOGGED_HEADERS: &[&str] = &[
    "accept",
    "content-type",
    "content-length",
    "content-range",
    "range",
    "transfer-encoding",
    "user-agent",
    "x-ms-client-request-id",
];

/// The status logged for a request whose connection the emulator dropped without answering.
pub const DROPPED: u16 = 0;

/// What [`LoggedRequest::form`] shows in place of a non-empty secret field.
pub const SECRET_LOGGED_AS: &str = "<secret>";

/// Which server saw a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Server {
    /// The registry endpoint ([`crate::Emulator::endpoint`]).
    Registry,
    /// The blob storage server that redirected blob GETs go to.
    Storage,
}

/// One logged request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// Which server answered.
    pub server: Server,
    /// The method (`GET`, `PATCH`, ...).
    pub method: String,
    /// The path exactly as received (still percent-encoded).
    pub path: String,
    /// The raw query string, without `?`.
    pub query: Option<String>,
    /// The headers in [`LOGGED_HEADERS`] that were present.
    pub headers: BTreeMap<String, String>,
    /// The scheme of the `Authorization` header (`Bearer`, `Basic`, ...) when one was sent.
    pub authorization: Option<String>,
    /// The status sent, or [`DROPPED`].
    pub status: u16,
    /// A description of the injected fault that hit this request, if any.
    pub fault: Option<String>,
    /// The fields of a `POST /oauth2/exchange` or `POST /oauth2/token` form, in the order sent
    /// (`grant_type`, `service`, `scope`, `tenant`, ...); the values of `refresh_token`,
    /// `access_token` and `password` are [`SECRET_LOGGED_AS`] unless empty. Empty for every
    /// other request.
    pub form: Vec<(String, String)>,
}

impl LoggedRequest {
    /// Whether an `Authorization` header arrived.
    pub fn has_authorization(&self) -> bool {
        self.authorization.is_some()
    }

    /// A logged header by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The values of a form field, in order (`scope` may repeat).
    pub fn form_values(&self, key: &str) -> Vec<&str> {
        self.form
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The path and query as one string (`/v2/x/blobs/uploads/1?_state=...`).
    pub fn path_and_query(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }
}
