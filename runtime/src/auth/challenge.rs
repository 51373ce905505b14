//! Parsing `WWW-Authenticate` challenges (RFC 9110 §11.6.1).
//!
//! ACR answers `Bearer realm="https://r.azurecr.io/oauth2/token",service="r.azurecr.io",
//! scope="repository:hello:pull"` (plus `error="insufficient_scope"` when a token lacks the
//! scope); docker-registry with htpasswd answers `Basic realm="Registry Realm"`. Quoted values
//! may hold commas (`scope="repository:a:pull,push"`), and one header may carry several
//! challenges.

/// One authentication challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme, lowercased (`bearer`, `basic`).
    pub scheme: String,
    /// The parameters, names lowercased, values unquoted.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// A parameter's value.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether this is a `Bearer` challenge.
    pub fn is_bearer(&self) -> bool {
        self.scheme == "bearer"
    }

    /// Whether this is a `Basic` challenge.
    pub fn is_basic(&self) -> bool {
        self.scheme == "basic"
    }
}

/// Parses every challenge of one `WWW-Authenticate` value; unparsable tails are dropped.
pub fn parse(value: &str) -> Vec<Challenge> {
    let mut p = Parser {
        s: value.as_bytes(),
        i: 0,
    };
    let mut out: Vec<Challenge> = Vec::new();
    loop {
        p.skip(|c| c == b' ' || c == b'\t' || c == b',');
        let Some(word) = p.token() else { break };
        // `word` is a scheme unless `=` follows (then it is a parameter of the current one).
        p.skip_ws();
        if p.peek() == Some(b'=') && !out.is_empty() {
            p.i += 1;
            p.skip_ws();
            let value = p.value();
            if let Some(last) = out.last_mut() {
                last.params.push((word.to_ascii_lowercase(), value));
            }
            continue;
        }
        out.push(Challenge {
            scheme: word.to_ascii_lowercase(),
            params: Vec::new(),
        });
        // token68 form (`Negotiate abc==`) is not used by registries: skip it.
    }
    out
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip(&mut self, f: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
    }

    fn skip_ws(&mut self) {
        self.skip(|c| c == b' ' || c == b'\t');
    }

    fn token(&mut self) -> Option<String> {
        let start = self.i;
        self.skip(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/".contains(&c));
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn value(&mut self) -> String {
        if self.peek() == Some(b'"') {
            self.i += 1;
            let mut out = Vec::new();
            while let Some(c) = self.peek() {
                self.i += 1;
                match c {
                    b'\\' => {
                        if let Some(n) = self.peek() {
                            out.push(n);
                            self.i += 1;
                        }
                    }
                    b'"' => break,
                    _ => out.push(c),
                }
            }
            String::from_utf8_lossy(&out).into_owned()
        } else {
            let start = self.i;
            self.skip(|c| c != b',' && c != b' ' && c != b'\t');
            String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acr_bearer_challenge() {
        let c = parse(
            r#"Bearer realm="https://r.azurecr.io/oauth2/token",service="r.azurecr.io",scope="repository:hello:pull,push",error="insufficient_scope""#,
        );
        assert_eq!(c.len(), 1);
        assert!(c[0].is_bearer());
        assert_eq!(
            c[0].param("realm"),
            Some("https://r.azurecr.io/oauth2/token")
        );
        assert_eq!(c[0].param("service"), Some("r.azurecr.io"));
        assert_eq!(c[0].param("scope"), Some("repository:hello:pull,push"));
        assert_eq!(c[0].param("error"), Some("insufficient_scope"));
    }

    #[test]
    fn basic_and_multiple_challenges() {
        let c = parse(r#"Basic realm="Registry Realm""#);
        assert!(c[0].is_basic());
        assert_eq!(c[0].param("realm"), Some("Registry Realm"));
        let c = parse(r#"basic realm="a, b", Bearer realm="https://auth/token", service=reg"#);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].param("realm"), Some("a, b"));
        assert!(c[1].is_bearer());
        assert_eq!(c[1].param("service"), Some("reg"));
        assert_eq!(
            parse(r#"Bearer realm="a\"b""#)[0].param("realm"),
            Some("a\"b")
        );
        assert!(parse("").is_empty());
    }
}
