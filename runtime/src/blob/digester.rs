//! Incremental digests whose state can be saved and restored (upload resume rewinds it to
//! the bytes the registry holds).

use sha2::Digest as _;

use crate::Digest;

/// An incremental hash for one digest algorithm.
#[derive(Clone)]
pub enum Digester {
    /// `sha256`.
    Sha256(sha2::Sha256),
    /// `sha512`.
    Sha512(sha2::Sha512),
}

impl std::fmt::Debug for Digester {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sha256(_) => "Digester(sha256)",
            Self::Sha512(_) => "Digester(sha512)",
        })
    }
}

impl Digester {
    /// A `sha256` digester.
    pub fn sha256() -> Self {
        Self::Sha256(sha2::Sha256::new())
    }

    /// A digester for `digest`'s algorithm, if supported (`sha256`, `sha512`).
    pub fn for_digest(digest: &Digest) -> Option<Self> {
        match digest.algorithm() {
            "sha256" => Some(Self::sha256()),
            "sha512" => Some(Self::Sha512(sha2::Sha512::new())),
            _ => None,
        }
    }

    /// Feeds `data`.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha256(h) => h.update(data),
            Self::Sha512(h) => h.update(data),
        }
    }

    /// The digest of everything fed so far, as `algorithm:hex`.
    pub fn finish(self) -> String {
        match self {
            Self::Sha256(h) => format!("sha256:{}", hex::encode(h.finalize())),
            Self::Sha512(h) => format!("sha512:{}", hex::encode(h.finalize())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_can_be_saved_and_restored() {
        let mut a = Digester::sha256();
        a.update(b"hello ");
        let saved = a.clone();
        a.update(b"garbage");
        let mut b = saved;
        b.update(b"world");
        assert_eq!(b.finish(), Digest::sha256(b"hello world").to_string());
        let d512 = Digest::new(format!("sha512:{}", "a".repeat(128))).unwrap();
        assert!(Digester::for_digest(&d512).is_some());
        assert_eq!(d512.algorithm(), "sha512");
    }
}
