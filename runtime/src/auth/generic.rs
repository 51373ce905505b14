//! A credential for any HTTP API: what a client generated from another LAP file
//! (`cargo xtask codegen --spec FILE --out DIR`) authenticates with, as its spec's `@auth`
//! names it.
//!
//! Unlike the registry credentials, nothing is negotiated: the credential goes up front on
//! every request to the endpoint's origin (never to another origin a redirect leads to, and
//! over plain http only to loopback unless allowed), and a 401 is the caller's error.
//!
//! - [`GenericCredential::Bearer`]: `Authorization: Bearer <token>` (RFC 6750 §2.1); also what
//!   an `OAuth2` scheme takes once you hold an access token;
//! - [`GenericCredential::ApiKey`] in a header (`X-API-Key: <key>`) or in the query
//!   (`?api_key=<key>`), the OpenAPI `apiKey` security scheme;
//! - [`GenericCredential::Basic`]: `Authorization: Basic base64(user:password)` (RFC 7617 §2).

use std::fmt;

use http::{HeaderName, HeaderValue};

use crate::{Error, Secret};

/// Where an API key travels.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyPlace {
    /// In the request header of this name.
    Header(String),
    /// In the query parameter of this name.
    Query(String),
}

/// A credential sent up front on every request: bearer token, API key or HTTP Basic.
#[derive(Clone)]
#[non_exhaustive]
pub enum GenericCredential {
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// An API key in a header or a query parameter.
    ApiKey {
        /// Where it travels.
        place: KeyPlace,
        /// The key.
        key: Secret,
    },
    /// `Authorization: Basic …`.
    Basic {
        /// The username.
        username: String,
        /// The password.
        password: Secret,
    },
}

impl fmt::Debug for GenericCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Self::ApiKey { place, .. } => f
                .debug_struct("ApiKey")
                .field("place", place)
                .field("key", &"<redacted>")
                .finish(),
            Self::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
        }
    }
}

impl GenericCredential {
    /// A bearer token.
    pub fn bearer(token: impl Into<Secret>) -> Self {
        Self::Bearer(token.into())
    }

    /// An API key sent in the header `name`.
    pub fn api_key_header(name: impl Into<String>, key: impl Into<Secret>) -> Self {
        Self::ApiKey {
            place: KeyPlace::Header(name.into()),
            key: key.into(),
        }
    }

    /// An API key sent in the query parameter `name`.
    pub fn api_key_query(name: impl Into<String>, key: impl Into<Secret>) -> Self {
        Self::ApiKey {
            place: KeyPlace::Query(name.into()),
            key: key.into(),
        }
    }

    /// A username and password, sent with HTTP Basic on every request.
    pub fn basic(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    /// What goes on each request. Errors ([`Error::Config`]) when a header name or value
    /// is not valid HTTP.
    pub(crate) fn placement(&self) -> crate::Result<Placement> {
        let sensitive = |text: String| {
            HeaderValue::try_from(text)
                .map(|mut v| {
                    v.set_sensitive(true);
                    v
                })
                .map_err(|_| Error::Config("the credential is not a valid header value".into()))
        };
        Ok(match self {
            Self::Bearer(token) => Placement::Header(
                http::header::AUTHORIZATION,
                sensitive(format!("Bearer {}", token.expose()))?,
            ),
            Self::Basic { username, password } => {
                use base64::Engine as _;
                let pair = base64::engine::general_purpose::STANDARD
                    .encode(format!("{username}:{}", password.expose()));
                Placement::Header(
                    http::header::AUTHORIZATION,
                    sensitive(format!("Basic {pair}"))?,
                )
            }
            Self::ApiKey {
                place: KeyPlace::Header(name),
                key,
            } => Placement::Header(
                HeaderName::try_from(name.as_str()).map_err(|_| {
                    Error::Config(format!("the API key header {name:?} is not a header name"))
                })?,
                sensitive(key.expose().to_owned())?,
            ),
            Self::ApiKey {
                place: KeyPlace::Query(name),
                key,
            } => Placement::Query(name.clone(), key.clone()),
        })
    }
}

/// Where a [`GenericCredential`] goes on a request.
#[derive(Debug, Clone)]
pub(crate) enum Placement {
    /// A header (value marked sensitive).
    Header(HeaderName, HeaderValue),
    /// A query pair appended to the URL.
    Query(String, Secret),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placements() {
        let Placement::Header(n, v) = GenericCredential::bearer("t0k").placement().unwrap() else {
            panic!("header")
        };
        assert_eq!(
            (n.as_str(), v.to_str().unwrap()),
            ("authorization", "Bearer t0k")
        );
        assert!(v.is_sensitive());
        let Placement::Header(n, v) = GenericCredential::basic("Aladdin", "open sesame")
            .placement()
            .unwrap()
        else {
            panic!("header")
        };
        // RFC 7617 §2's example.
        assert_eq!(
            (n.as_str(), v.to_str().unwrap()),
            ("authorization", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
        );
        let Placement::Header(n, v) = GenericCredential::api_key_header("X-API-Key", "k")
            .placement()
            .unwrap()
        else {
            panic!("header")
        };
        assert_eq!((n.as_str(), v.to_str().unwrap()), ("x-api-key", "k"));
        let Placement::Query(n, v) = GenericCredential::api_key_query("api_key", "k")
            .placement()
            .unwrap()
        else {
            panic!("query")
        };
        assert_eq!((n.as_str(), v.expose()), ("api_key", "k"));
        assert!(
            GenericCredential::api_key_header("bad name", "k")
                .placement()
                .is_err()
        );
        assert!(GenericCredential::bearer("a\nb").placement().is_err());
    }

    #[test]
    fn debug_redacts() {
        let text = format!(
            "{:?} {:?} {:?}",
            GenericCredential::bearer("s1"),
            GenericCredential::api_key_query("api_key", "s2"),
            GenericCredential::basic("u", "s3")
        );
        assert!(
            !text.contains("s1") && !text.contains("s2") && !text.contains("s3"),
            "{text}"
        );
        assert!(text.contains("api_key") && text.contains("\"u\""), "{text}");
    }
}

/// The credential on the wire, through a real transport and a loopback server.
#[cfg(test)]
mod wire_tests {
    use std::io::{Read as _, Write as _};

    use super::GenericCredential;
    use crate::{ClientBuilder, Request, Transport};

    /// Serves one request per connection on loopback, answering 200; returns each request's
    /// head (request line and headers).
    fn server(answers: usize) -> (String, std::thread::JoinHandle<Vec<String>>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let mut heads = Vec::new();
            for _ in 0..answers {
                let (mut s, _) = listener.accept().unwrap();
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = s.read(&mut chunk).unwrap();
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                heads.push(String::from_utf8_lossy(&buf).to_lowercase());
                s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .unwrap();
            }
            heads
        });
        (url, handle)
    }

    async fn send(endpoint: String, credential: GenericCredential) {
        let t: Transport = ClientBuilder::new(endpoint)
            .credential(credential.into())
            .build()
            .unwrap();
        t.send(Request::new("op", http::Method::GET, "/pets"))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn each_kind_arrives_where_it_should_under_the_endpoint_path() {
        let (url, server) = server(3);
        send(format!("{url}/v1"), GenericCredential::bearer("t0k")).await;
        send(
            format!("{url}/v1/"),
            GenericCredential::api_key_header("X-API-Key", "k1"),
        )
        .await;
        send(
            url.clone(),
            GenericCredential::api_key_query("api_key", "k2"),
        )
        .await;
        let heads = server.join().unwrap();
        assert!(
            heads[0].starts_with("get /v1/pets http/1.1"),
            "{}",
            heads[0]
        );
        assert!(
            heads[0].contains("\r\nauthorization: bearer t0k\r\n"),
            "{}",
            heads[0]
        );
        assert!(
            heads[1].starts_with("get /v1/pets http/1.1"),
            "{}",
            heads[1]
        );
        assert!(heads[1].contains("\r\nx-api-key: k1\r\n"), "{}", heads[1]);
        assert!(!heads[1].contains("authorization"), "{}", heads[1]);
        assert!(
            heads[2].starts_with("get /pets?api_key=k2 http/1.1"),
            "{}",
            heads[2]
        );
    }
}
