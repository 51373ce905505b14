//! Unpredictable identifiers and secrets without a random-number crate: SHA-256 over a
//! per-emulator seed (from the standard library's randomly keyed hasher, the clock and the
//! process id) and a counter.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest as _, Sha256};

/// A source of fresh identifiers (upload UUIDs, JWT ids, correlation ids, signing keys).
#[derive(Debug)]
pub(crate) struct IdSource {
    seed: [u8; 32],
    counter: AtomicU64,
}

impl IdSource {
    pub(crate) fn new() -> Self {
        let mut hasher = Sha256::new();
        for _ in 0..4 {
            let mut h = RandomState::new().build_hasher();
            h.write_u64(0x5eed);
            hasher.update(h.finish().to_le_bytes());
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        hasher.update(now.to_le_bytes());
        hasher.update(std::process::id().to_le_bytes());
        IdSource {
            seed: hasher.finalize().into(),
            counter: AtomicU64::new(0),
        }
    }

    /// 32 fresh bytes.
    pub(crate) fn bytes(&self) -> [u8; 32] {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut hasher = Sha256::new();
        hasher.update(self.seed);
        hasher.update(n.to_le_bytes());
        hasher.finalize().into()
    }

    /// A version-4-shaped UUID string (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`).
    pub(crate) fn uuid(&self) -> String {
        let mut b = self.bytes();
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex::encode(&b[..16]);
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_fresh_and_well_formed() {
        let ids = IdSource::new();
        let a = ids.uuid();
        let b = ids.uuid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert_ne!(IdSource::new().uuid(), a);
    }
}
