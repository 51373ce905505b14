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
    /// Hashes nothing and finishes as this digest: for bytes from a source that checks them
    /// against it itself ([`UploadSource::verified`](super::UploadSource::verified)), so an
    /// upload does not hash them a second time.
    Trusted(Digest),
}

impl std::fmt::Debug for Digester {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sha256(_) => "Digester(sha256)",
            Self::Sha512(_) => "Digester(sha512)",
            Self::Trusted(_) => "Digester(trusted)",
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

    /// Whether feeding it computes anything (`false` for [`Digester::Trusted`]).
    pub fn hashes(&self) -> bool {
        !matches!(self, Self::Trusted(_))
    }

    /// Feeds `data`.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha256(h) => h.update(data),
            Self::Sha512(h) => h.update(data),
            Self::Trusted(_) => {}
        }
    }

    /// The digest of everything fed so far, as `algorithm:hex`.
    pub fn finish(self) -> String {
        match self {
            Self::Sha256(h) => format!("sha256:{}", hex::encode(h.finalize())),
            Self::Sha512(h) => format!("sha512:{}", hex::encode(h.finalize())),
            Self::Trusted(d) => d.to_string(),
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

    #[test]
    fn a_trusted_digester_hashes_nothing_and_finishes_as_its_digest() {
        let d = Digest::sha256(b"the source checks these bytes");
        let mut t = Digester::Trusted(d.clone());
        assert!(!t.hashes());
        assert!(Digester::sha256().hashes());
        t.update(b"anything");
        assert_eq!(t.finish(), d.to_string());
    }
}
