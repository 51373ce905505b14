//! Fuzz target: repository names, references (tags and digests), digests and upload
//! locations. An accepted name never holds what could change a URL's meaning (`..`, `?`, `#`,
//! `%`, a space, upper case in a repository name) and reads back from its own text.
#![no_main]

use acr_runtime::{Digest, Reference, RepositoryName, UploadLocation};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let value = String::from_utf8_lossy(data);
    if let Ok(repo) = RepositoryName::new(value.as_ref()) {
        let s = repo.as_str();
        assert!(!s.is_empty() && s.len() <= 255, "{s:?}");
        assert!(!s.starts_with('/') && !s.ends_with('/') && !s.contains("//"), "{s:?}");
        assert!(!s.contains("..") && !s.contains(['?', '#', '%', ' ', '\\']), "{s:?}");
        assert!(!s.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii()), "{s:?}");
        assert_eq!(s.parse::<RepositoryName>().as_ref(), Ok(&repo));
    }
    if let Ok(reference) = Reference::new(value.as_ref()) {
        let s = reference.as_str();
        assert!(!s.is_empty() && !s.contains(['/', '?', '#', '%', ' ']), "{s:?}");
        assert_eq!(reference.is_digest(), reference.as_digest().is_some());
        if let Some(d) = reference.as_digest() {
            assert_eq!(Digest::new(d.as_str()).as_ref(), Ok(&d));
        }
    }
    if let Ok(digest) = Digest::new(value.as_ref()) {
        assert_eq!(
            format!("{}:{}", digest.algorithm(), digest.encoded()),
            digest.as_str()
        );
        assert!(Reference::new(digest.as_str()).is_ok(), "{digest:?}");
    }
    if let Ok(location) = UploadLocation::new(value.as_ref()) {
        let s = location.as_str();
        assert!(!s.contains(['#', ' ']), "{s:?}");
        if let Some(repo) = location.repository() {
            assert!(s.contains(repo), "{repo:?} not in {s:?}");
        }
    }
});
