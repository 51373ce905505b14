//! A string that never shows itself in `Debug` or `Display`.

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// A password, token or other secret: registry passwords, ACR refresh and access tokens, AAD
/// tokens, wherever the client holds them (credentials, the generated token models and
/// request builders, form bodies).
///
/// `Debug` and `Display` print `<redacted>`, so a `{:?}` of any value holding one, a log line
/// or an error message never shows it; read the value with [`Secret::expose`] only where it
/// goes on the wire. Serde reads and writes the plain string (a token endpoint's JSON answer
/// deserializes straight into it), so serializing a model that holds a secret writes the
/// secret: do that only to send it.
///
/// The value is shared behind an [`Arc`]: clones are cheap and do not copy the text. Memory is
/// not wiped when the last clone drops.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Arc::from(value.into()))
    }

    /// The secret value, for the wire only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string (an anonymous pull sends an empty refresh
    /// token).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl From<&String> for Secret {
    fn from(value: &String) -> Self {
        Self::new(value.as_str())
    }
}

impl From<&Secret> for Secret {
    fn from(value: &Secret) -> Self {
        value.clone()
    }
}

impl FromStr for Secret {
    type Err = Infallible;
    fn from_str(s: &str) -> Result<Self, Infallible> {
        Ok(Self::new(s))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.expose())
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_itself() {
        let s = Secret::new("hunter2");
        assert_eq!(
            format!("{s} {s:?} {:?} {s:#?} {s:>20}", Some(s.clone())),
            "<redacted> <redacted> Some(<redacted>) <redacted> <redacted>"
        );
        assert_eq!(s.expose(), "hunter2");
        assert!(!s.is_empty() && Secret::default().is_empty());
    }

    #[test]
    fn serde_reads_and_writes_the_plain_value() {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Answer {
            access_token: Secret,
        }
        let a: Answer = serde_json::from_str(r#"{"access_token":"tok-123"}"#).unwrap();
        assert_eq!(a.access_token.expose(), "tok-123");
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"access_token":"tok-123"}"#
        );
        assert!(serde_json::from_str::<Answer>(r#"{"access_token":7}"#).is_err());
    }
}
