//! The transport: the one place requests are sent.

use std::marker::PhantomData;
use std::sync::Arc;

use url::Url;

use crate::{Body, Error, Request, Response};

/// A client type that can be made from a [`Transport`] (the generated `Client` is one).
pub trait FromTransport {
    /// Wraps the transport.
    fn from_transport(transport: Transport) -> Self;
}

impl FromTransport for Transport {
    fn from_transport(transport: Transport) -> Self {
        transport
    }
}

/// Configures and builds a client (`C`) on a new [`Transport`].
#[derive(Debug)]
pub struct ClientBuilder<C = Transport> {
    endpoint: String,
    http: Option<reqwest::Client>,
    _client: PhantomData<fn() -> C>,
}

impl<C: FromTransport> ClientBuilder<C> {
    /// A builder for the registry at `endpoint` (`https://myregistry.azurecr.io`).
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            http: None,
            _client: PhantomData,
        }
    }

    /// Uses your own `reqwest::Client` instead of the default one.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Builds the client.
    pub fn build(self) -> crate::Result<C> {
        let endpoint = Url::parse(&self.endpoint).map_err(|e| {
            Error::Config(format!("endpoint {:?} is not a URL: {e}", self.endpoint))
        })?;
        let http = match self.http {
            Some(h) => h,
            None => reqwest::Client::builder()
                .build()
                .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?,
        };
        Ok(C::from_transport(Transport {
            inner: Arc::new(Inner { endpoint, http }),
        }))
    }
}

#[derive(Debug)]
struct Inner {
    endpoint: Url,
    http: reqwest::Client,
}

/// Sends requests to one registry; cheap to clone.
#[derive(Debug, Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

impl Transport {
    /// The registry endpoint.
    pub fn endpoint(&self) -> &Url {
        &self.inner.endpoint
    }

    /// Sends `request` and returns the response if its status is a success.
    pub async fn send(&self, request: Request) -> crate::Result<Response> {
        let op = request.operation;
        let mut url =
            self.inner.endpoint.join(&request.path).map_err(|e| {
                Error::invalid_input(op, format!("bad path {:?}: {e}", request.path))
            })?;
        if !request.query.is_empty() {
            url.query_pairs_mut().extend_pairs(request.query.iter());
        }
        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), url)
            .headers(request.headers);
        builder = match request.body {
            Body::Empty => builder,
            Body::Bytes { content_type, data } => builder
                .header(http::header::CONTENT_TYPE, content_type)
                .body(data),
            Body::Json(data) => builder
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(data),
            Body::Form(fields) => builder.form(&fields),
        };
        let resp = builder.send().await.map_err(|source| Error::Transport {
            operation: op,
            source,
        })?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(|source| Error::Transport {
            operation: op,
            source,
        })?;
        if status.is_success() || status.is_redirection() {
            Ok(Response {
                operation: op,
                status,
                headers,
                body,
            })
        } else {
            Err(Error::Status {
                operation: op,
                status,
                message: String::from_utf8_lossy(&body).into_owned(),
            })
        }
    }
}
