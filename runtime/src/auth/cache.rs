//! A cache of tokens keyed by (kind, service, scope), one fetch at a time per key.
//!
//! Each key has its own async mutex: the first caller that finds no fresh token fetches
//! one while holding it, and every concurrent caller for the same key waits and then reads
//! the fresh token; so 100 concurrent first calls for one scope make one token request.
//! Times are `tokio::time::Instant`, so tests can move the clock with `tokio::time::pause`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::Secret;

/// Which kind of token a cache entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// A scoped access token.
    Access,
    /// An ACR refresh token (from an AAD exchange).
    Refresh,
}

/// A cache key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub kind: Kind,
    pub service: String,
    pub scope: String,
}

/// A freshly fetched token and how long it may be used.
#[derive(Debug, Clone)]
pub(crate) struct Fetched {
    pub token: Secret,
    /// How long from now the token stays valid (before the safety margin).
    pub lifetime: Duration,
}

#[derive(Debug, Clone)]
struct Cached {
    token: Secret,
    /// Use until this instant (lifetime minus margin).
    use_until: Instant,
}

type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

/// The cache.
#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    slots: Mutex<HashMap<Key, Slot>>,
    /// The key looked up last and the token its slot gave then, so that a warm client's next
    /// lookup of the same key neither hashes nor copies it, nor waits on its slot. Written
    /// and cleared under the slot's lock: it never holds a token its slot no longer has.
    last: Mutex<Option<(Arc<Key>, Cached)>>,
}

/// How long before its end a token of `lifetime` stops being used: a minute, or a tenth of
/// short lifetimes.
pub(crate) fn margin(lifetime: Duration) -> Duration {
    Duration::from_secs(60).min(lifetime / 10)
}

impl TokenCache {
    fn slot(&self, key: &Key) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = slots.get(key) {
            return Arc::clone(slot);
        }
        slots.entry(key.clone()).or_default().clone()
    }

    /// The cached token for `key` if fresh, without waiting for a fetch in progress.
    #[cfg(test)]
    pub fn peek(&self, key: &Key) -> Option<Secret> {
        let slot = self.slot(key);
        let guard = slot.try_lock().ok()?;
        guard
            .as_ref()
            .filter(|c| c.use_until > Instant::now())
            .map(|c| c.token.clone())
    }

    /// The fresh token for `key`, fetching it with `fetch` when there is none. Concurrent
    /// callers for one key share one fetch. `stale` is a token the caller found wanting (it
    /// got a 401 with it): if the cache still holds it, it is fetched anew.
    pub async fn get<F, Fut>(
        &self,
        key: &Arc<Key>,
        stale: Option<&Secret>,
        fetch: F,
    ) -> crate::Result<(Secret, bool)>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = crate::Result<Fetched>>,
    {
        let slot = self.slot(key);
        let mut guard = slot.lock().await;
        if let Some(c) = guard.as_ref() {
            let is_stale = stale.is_some_and(|s| *s == c.token);
            if !is_stale && c.use_until > Instant::now() {
                self.remember(key, c);
                return Ok((c.token.clone(), false));
            }
        }
        *guard = None;
        self.forget(key);
        let fetched = fetch().await?;
        let use_until = Instant::now() + fetched.lifetime.saturating_sub(margin(fetched.lifetime));
        let cached = guard.insert(Cached {
            token: fetched.token.clone(),
            use_until,
        });
        self.remember(key, cached);
        Ok((fetched.token, true))
    }

    /// The fresh token of the key looked up last, with that key, when it is (`kind`,
    /// `service`, `scope`): what [`get`](Self::get) would give without a fetch.
    pub fn last_fresh(&self, kind: Kind, service: &str, scope: &str) -> Option<(Arc<Key>, Secret)> {
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let (key, cached) = last.as_ref()?;
        let hit = key.kind == kind
            && key.scope == scope
            && key.service == service
            && cached.use_until > Instant::now();
        hit.then(|| (Arc::clone(key), cached.token.clone()))
    }

    fn remember(&self, key: &Arc<Key>, cached: &Cached) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((Arc::clone(key), cached.clone()));
    }

    /// Forgets the last lookup if it was of `key` (its slot was emptied).
    fn forget(&self, key: &Key) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.as_ref().is_some_and(|(k, _)| **k == *key) {
            *last = None;
        }
    }

    /// Forgets the token of `key` if it is still `token`.
    #[cfg(test)]
    pub fn invalidate(&self, key: &Key, token: &Secret) {
        let slot = self.slot(key);
        if let Ok(mut guard) = slot.try_lock()
            && guard.as_ref().is_some_and(|c| c.token == *token)
        {
            *guard = None;
            self.forget(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn key(scope: &str) -> Arc<Key> {
        Arc::new(Key {
            kind: Kind::Access,
            service: "r.io".into(),
            scope: scope.into(),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn expires_shortly_before_the_end_of_life() {
        let cache = TokenCache::default();
        let fetches = AtomicUsize::new(0);
        let fetch = || async {
            let n = fetches.fetch_add(1, Ordering::SeqCst);
            Ok(Fetched {
                token: Secret::new(format!("t{n}")),
                lifetime: Duration::from_secs(600),
            })
        };
        let (t, fresh) = cache.get(&key("a"), None, fetch).await.unwrap();
        assert_eq!((t.expose(), fresh), ("t0", true));
        tokio::time::advance(Duration::from_secs(500)).await;
        let (t, fresh) = cache.get(&key("a"), None, fetch).await.unwrap();
        assert_eq!((t.expose(), fresh), ("t0", false));
        assert_eq!(cache.peek(&key("a")).unwrap().expose(), "t0");
        // 600 s lifetime, 60 s margin: at 541 s the token is no longer used
        tokio::time::advance(Duration::from_secs(41)).await;
        assert!(cache.peek(&key("a")).is_none());
        let (t, _) = cache.get(&key("a"), None, fetch).await.unwrap();
        assert_eq!(t.expose(), "t1");
        // another scope is another entry
        let (t, _) = cache.get(&key("b"), None, fetch).await.unwrap();
        assert_eq!(t.expose(), "t2");
        assert_eq!(fetches.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn stale_tokens_are_refetched_once_and_concurrent_callers_share_a_fetch() {
        let cache = Arc::new(TokenCache::default());
        let fetches = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let cache = cache.clone();
            let fetches = fetches.clone();
            tasks.push(tokio::spawn(async move {
                cache
                    .get(&key("a"), None, || async move {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        let n = fetches.fetch_add(1, Ordering::SeqCst);
                        Ok(Fetched {
                            token: Secret::new(format!("t{n}")),
                            lifetime: Duration::from_secs(3600),
                        })
                    })
                    .await
                    .unwrap()
                    .0
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().expose(), "t0");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        let refetch = || async {
            Ok(Fetched {
                token: Secret::new("t9"),
                lifetime: Duration::from_secs(3600),
            })
        };
        let (t, _) = cache
            .get(&key("a"), Some(&Secret::new("t0")), refetch)
            .await
            .unwrap();
        assert_eq!(t.expose(), "t9");
        // a caller holding the older stale token gets the new one without a fetch
        let (t, fresh) = cache
            .get(&key("a"), Some(&Secret::new("t0")), refetch)
            .await
            .unwrap();
        assert_eq!((t.expose(), fresh), ("t9", false));
        cache.invalidate(&key("a"), &Secret::new("t9"));
        assert!(cache.peek(&key("a")).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn the_last_lookup_is_read_back_only_while_its_slot_still_holds_it() {
        let cache = TokenCache::default();
        let fetched = |t: &'static str| {
            move || async move {
                Ok(Fetched {
                    token: Secret::new(t),
                    lifetime: Duration::from_secs(600),
                })
            }
        };
        let last = |scope: &str| {
            cache
                .last_fresh(Kind::Access, "r.io", scope)
                .map(|(k, t)| (k.scope.clone(), t.expose().to_owned()))
        };
        assert_eq!(last("a"), None);
        cache.get(&key("a"), None, fetched("t0")).await.unwrap();
        assert_eq!(last("a"), Some(("a".into(), "t0".into())));
        // another scope, service or kind is not it
        assert_eq!(last("b"), None);
        assert!(cache.last_fresh(Kind::Access, "other.io", "a").is_none());
        assert!(cache.last_fresh(Kind::Refresh, "r.io", "a").is_none());
        // refetched as stale: the new token
        cache
            .get(&key("a"), Some(&Secret::new("t0")), fetched("t1"))
            .await
            .unwrap();
        assert_eq!(last("a"), Some(("a".into(), "t1".into())));
        // a refetch that fails empties the slot, and the last lookup with it
        let failed = cache
            .get(&key("a"), Some(&Secret::new("t1")), || async {
                Err(crate::Error::Config("down".into()))
            })
            .await;
        assert!(failed.is_err());
        assert_eq!(last("a"), None);
        assert!(cache.peek(&key("a")).is_none());
        // and it ends when the token stops being used (600 s, 60 s margin)
        cache.get(&key("a"), None, fetched("t2")).await.unwrap();
        tokio::time::advance(Duration::from_secs(541)).await;
        assert_eq!(last("a"), None);
    }
}
