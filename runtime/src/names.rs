//! Validated names that travel in URL paths: repository names, references, digests and
//! upload locations, each parsed once against the OCI distribution-spec grammar.

use std::fmt;
use std::str::FromStr;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {value:?}: {reason}")]
pub struct NameError {
    kind: &'static str,
    value: String,
    reason: &'static str,
}

fn refuse(kind: &'static str, value: &str, reason: &'static str) -> NameError {
    NameError {
        kind,
        value: value.to_owned(),
        reason,
    }
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $check:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Parses and validates `value`.
            pub fn new(value: impl Into<String>) -> Result<Self, NameError> {
                let value = value.into();
                $check(&value).map_err(|reason| refuse($kind, &value, reason))?;
                Ok(Self(value))
            }

            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, NameError> {
                Self::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = NameError;
            fn try_from(s: &str) -> Result<Self, NameError> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;
            fn try_from(s: String) -> Result<Self, NameError> {
                Self::new(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::new(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

name_type!(
    /// A repository name, namespace included (`library/hello-world`): path components of
    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*` joined by `/`, at most 255 characters.
    RepositoryName, "repository name", check_repository
);
name_type!(
    /// A manifest reference: a tag (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`) or a [`Digest`].
    Reference, "reference", check_reference
);
name_type!(
    /// A content digest, `algorithm:hex` (`sha256:` followed by 64 lowercase hex digits,
    /// `sha512:` by 128; other algorithms are kept but cannot be computed).
    Digest, "digest", check_digest
);
name_type!(
    /// An upload session location as the registry returned it in `Location` (a path with an
    /// opaque query, or an absolute URL on the registry).
    UploadLocation, "upload location", check_location
);

impl Reference {
    /// Whether this reference is a digest rather than a tag.
    pub fn is_digest(&self) -> bool {
        self.0.contains(':')
    }
}

impl UploadLocation {
    /// A `Location` value resolved against `base`, the URL that answered (RFC 9110 §10.2.2,
    /// RFC 3986 §5: a relative reference such as `uploads/<id>` or `?_state=...` is relative
    /// to the response's own URL, not to the registry's root), then checked: an absolute path
    /// stays a path (sent to the registry's endpoint), anything else becomes an absolute URL.
    ///
    /// # Errors
    ///
    /// A [`NameError`] when the value is not a URL reference or the result is no valid
    /// upload location (dot segments, spaces, control characters).
    pub fn resolve(base: &url::Url, location: &str) -> Result<Self, NameError> {
        let location = location.trim();
        if location.starts_with('/') && !location.starts_with("//") {
            return Self::new(location);
        }
        match base.join(location) {
            Ok(url) => Self::new(url.to_string()),
            Err(_) => Err(refuse("upload location", location, "not a URL reference")),
        }
    }

    /// The repository the upload session belongs to, read from a location whose path is
    /// `<prefix><repository><suffix>…` (the generated operations pass the text around the
    /// repository in the spec's path of the operation that opens a session); `None` for a
    /// location of another shape.
    pub fn repository_between(&self, prefix: &str, suffix: &str) -> Option<&str> {
        let path = self.0.split('?').next().unwrap_or_default();
        let path = match path.split_once("://") {
            Some((_, rest)) => &rest[rest.find('/')?..],
            None => path,
        };
        let rest = path.strip_prefix(prefix)?;
        let end = rest.find(suffix)?;
        Some(&rest[..end]).filter(|n| !n.is_empty())
    }
}

impl From<Digest> for Reference {
    fn from(d: Digest) -> Self {
        Self(d.0)
    }
}

fn check_component(c: &str) -> Result<(), &'static str> {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() {
        return Err("empty path component");
    }
    if !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return Err("a path component must start and end with a lowercase letter or digit");
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        // a separator: ".", "_", "__" or "-"+
        let start = i;
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < b.len() && b[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return Err("only lowercase letters, digits, '.', '_', '-' and '/' are allowed"),
        }
        if i == start || i >= b.len() || !alnum(b[i]) {
            return Err("separators must sit between letters or digits");
        }
    }
    Ok(())
}

fn check_repository(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("empty");
    }
    if s.len() > 255 {
        return Err("longer than 255 characters");
    }
    s.split('/').try_for_each(check_component)
}

fn check_tag(s: &str) -> Result<(), &'static str> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 128 {
        return Err("a tag has 1 to 128 characters");
    }
    if !(b[0].is_ascii_alphanumeric() || b[0] == b'_') {
        return Err("a tag starts with a letter, digit or '_'");
    }
    if !b
        .iter()
        .all(|&x| x.is_ascii_alphanumeric() || matches!(x, b'_' | b'.' | b'-'))
    {
        return Err("a tag holds only letters, digits, '_', '.' and '-'");
    }
    Ok(())
}

fn check_digest(s: &str) -> Result<(), &'static str> {
    let Some((alg, hex)) = s.split_once(':') else {
        return Err("a digest is algorithm:hex");
    };
    let alg_ok = !alg.is_empty()
        && alg.bytes().all(|x| {
            x.is_ascii_lowercase() || x.is_ascii_digit() || matches!(x, b'+' | b'.' | b'_' | b'-')
        });
    if !alg_ok {
        return Err("bad algorithm");
    }
    let hex_ok = |n: usize| {
        hex.len() == n
            && hex
                .bytes()
                .all(|x| x.is_ascii_digit() || (b'a'..=b'f').contains(&x))
    };
    match alg {
        "sha256" if !hex_ok(64) => Err("sha256 wants 64 lowercase hex digits"),
        "sha512" if !hex_ok(128) => Err("sha512 wants 128 lowercase hex digits"),
        _ if hex.len() < 32
            || !hex
                .bytes()
                .all(|x| x.is_ascii_alphanumeric() || matches!(x, b'=' | b'_' | b'-')) =>
        {
            Err("bad encoded part")
        }
        _ => Ok(()),
    }
}

fn check_reference(s: &str) -> Result<(), &'static str> {
    if s.contains(':') {
        check_digest(s)
    } else {
        check_tag(s)
    }
}

fn check_location(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("empty");
    }
    if s.bytes()
        .any(|b| b.is_ascii_control() || b == b' ' || b == b'#')
    {
        return Err("control characters, spaces and '#' are not allowed");
    }
    let path = s.split('?').next().unwrap_or_default();
    let path = match path.split_once("://") {
        Some((_, rest)) => rest.find('/').map(|i| &rest[i..]).unwrap_or("/"),
        None if path.starts_with('/') => path,
        None => return Err("an upload location is an absolute path or URL"),
    };
    if path.split('/').any(|seg| seg == ".." || seg == ".") {
        return Err("dot segments are not allowed");
    }
    Ok(())
}

impl Digest {
    /// The `sha256` digest of `data`.
    pub fn sha256(data: &[u8]) -> Self {
        use sha2::Digest as _;
        Self(format!(
            "sha256:{}",
            hex::encode(sha2::Sha256::digest(data))
        ))
    }

    /// The `sha512` digest of `data`.
    pub fn sha512(data: &[u8]) -> Self {
        use sha2::Digest as _;
        Self(format!(
            "sha512:{}",
            hex::encode(sha2::Sha512::digest(data))
        ))
    }

    /// The digest of `data` in `algorithm` (`sha256` or `sha512`, the algorithms the OCI
    /// image spec registers, §"Registered algorithms"); `None` for another algorithm.
    pub fn compute(algorithm: &str, data: &[u8]) -> Option<Self> {
        match algorithm {
            "sha256" => Some(Self::sha256(data)),
            "sha512" => Some(Self::sha512(data)),
            _ => None,
        }
    }

    /// The digest of `data` in this digest's algorithm (the digest to compare this one
    /// with); `None` when the algorithm is not one [`Digest::compute`] knows.
    pub fn recompute(&self, data: &[u8]) -> Option<Self> {
        Self::compute(self.algorithm(), data)
    }

    /// The algorithm (`sha256`).
    pub fn algorithm(&self) -> &str {
        self.0.split_once(':').map(|(a, _)| a).unwrap_or_default()
    }

    /// The encoded part after the `:`.
    pub fn encoded(&self) -> &str {
        self.0.split_once(':').map(|(_, h)| h).unwrap_or_default()
    }
}

impl Reference {
    /// The reference as a digest, when it is one.
    pub fn as_digest(&self) -> Option<Digest> {
        self.is_digest().then(|| Digest(self.0.clone()))
    }
}

/// Borrowed conversions, so an operation takes `&name` as well as `name` and `"text"`
/// (its arguments are `impl TryInto<RepositoryName>` and the like): no `.clone()` at the
/// call site.
macro_rules! borrowed_conversions {
    ($($name:ident),*) => {$(
        impl From<&$name> for $name {
            fn from(value: &$name) -> Self {
                value.clone()
            }
        }

        impl TryFrom<&String> for $name {
            type Error = NameError;
            fn try_from(s: &String) -> Result<Self, NameError> {
                Self::new(s.as_str())
            }
        }
    )*};
}

borrowed_conversions!(RepositoryName, Reference, Digest, UploadLocation);

impl From<&Digest> for Reference {
    fn from(d: &Digest) -> Self {
        Self(d.0.clone())
    }
}

#[cfg(test)]
mod borrowed_tests {
    use super::*;

    #[test]
    fn an_upload_location_names_its_repository_where_the_spec_says() {
        let at = |l: &str| {
            UploadLocation::new(l)
                .unwrap()
                .repository_between("/v2/", "/blobs/uploads")
                .map(str::to_owned)
        };
        assert_eq!(
            at("/v2/library/hello/blobs/uploads/u1?_state=x").as_deref(),
            Some("library/hello")
        );
        assert_eq!(
            at("https://r.example/v2/a/blobs/uploads/u").as_deref(),
            Some("a")
        );
        assert_eq!(at("/upload/u"), None);
        assert_eq!(at("/v2//blobs/uploads/u"), None);
    }

    /// (Moved with `checked_location` of the upload, now [`UploadLocation::resolve`].)
    #[test]
    fn locations_are_validated_and_resolved_against_the_answering_url() {
        let base = url::Url::parse("https://r.example/v2/a/blobs/uploads/").unwrap();
        let at = |l: &str| UploadLocation::resolve(&base, l).map(|l| l.as_str().to_owned());
        assert_eq!(
            at("/v2/a/blobs/uploads/u?_state=x%3D").unwrap(),
            "/v2/a/blobs/uploads/u?_state=x%3D"
        );
        // Relative references are relative to the URL that answered, not the root.
        assert_eq!(
            at("u1?_state=y").unwrap(),
            "https://r.example/v2/a/blobs/uploads/u1?_state=y"
        );
        assert_eq!(
            at("?_state=z").unwrap(),
            "https://r.example/v2/a/blobs/uploads/?_state=z"
        );
        assert!(at("/v2/../x").is_err());
        assert!(at("/v2/a b").is_err());
    }

    fn takes<T: TryInto<RepositoryName, Error: fmt::Display>>(value: T) -> String {
        value.try_into().map(|n| n.to_string()).unwrap_or_default()
    }

    fn takes_reference<T: TryInto<Reference, Error: fmt::Display>>(value: T) -> String {
        value.try_into().map(|n| n.to_string()).unwrap_or_default()
    }

    #[test]
    fn names_convert_from_references_owned_values_and_text() {
        let repo = RepositoryName::new("library/hello").unwrap();
        assert_eq!(takes(&repo), "library/hello");
        assert_eq!(takes(repo.clone()), "library/hello");
        assert_eq!(takes("library/hello"), "library/hello");
        let text = "library/hello".to_owned();
        assert_eq!(takes(&text), "library/hello");
        assert_eq!(text, "library/hello");
        assert_eq!(takes("Bad"), "");
        let digest = Digest::sha256(b"x");
        assert_eq!(takes_reference(&digest), digest.as_str());
        assert_eq!(takes_reference(digest.clone()), digest.as_str());
        let tag = Reference::new("v1").unwrap();
        assert_eq!(takes_reference(&tag), "v1");
    }
}
