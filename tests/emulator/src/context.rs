//! The state every handler shares: configuration, the store, tokens, faults and the log.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use super::faults::FaultSet;
use super::ids::IdSource;
use super::log::LoggedRequest;
use super::scope::Grants;
use super::store::Store;
use super::tokens::TokenIssuer;

/// Locks a mutex, recovering the data if a panicking thread poisoned it (a test double must keep
/// answering).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Fixed settings chosen by the builder.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub admin: Option<(String, String)>,
    pub aad_tokens: Vec<(String, Grants)>,
    pub access_lifetime: Duration,
    pub refresh_lifetime: Duration,
    pub strict_upload_state: bool,
}

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub settings: Settings,
    pub anonymous_pull: AtomicBool,
    pub redirect_blobs: AtomicBool,
    /// `host:port` of the registry (the token `service` and `aud`).
    pub host: String,
    /// `http://host:port` of the storage server, set once it is bound.
    pub storage_origin: OnceLock<String>,
    pub ids: IdSource,
    pub tokens: TokenIssuer,
    pub store: Mutex<Store>,
    pub faults: Mutex<FaultSet>,
    pub log: Mutex<Vec<LoggedRequest>>,
}

impl Shared {
    pub(crate) fn new(settings: Settings, host: String) -> Self {
        let ids = IdSource::new();
        let tokens = TokenIssuer::new(
            &ids,
            host.clone(),
            settings.access_lifetime,
            settings.refresh_lifetime,
        );
        Shared {
            settings,
            anonymous_pull: AtomicBool::new(false),
            redirect_blobs: AtomicBool::new(false),
            host,
            storage_origin: OnceLock::new(),
            ids,
            tokens,
            store: Mutex::new(Store::new()),
            faults: Mutex::new(FaultSet::default()),
            log: Mutex::new(Vec::new()),
        }
    }

    /// `http://host:port`.
    pub(crate) fn origin(&self) -> String {
        format!("http://{}", self.host)
    }

    pub(crate) fn anonymous_pull(&self) -> bool {
        self.anonymous_pull.load(Ordering::SeqCst)
    }

    pub(crate) fn redirect_blobs(&self) -> bool {
        self.redirect_blobs.load(Ordering::SeqCst)
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    /// Whether `user` / `password` are the admin user's.
    pub(crate) fn is_admin(&self, user: &str, password: &str) -> bool {
        self.settings
            .admin
            .as_ref()
            .is_some_and(|(u, p)| u == user && p == password)
    }
}
