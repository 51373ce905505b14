//! The accept loop. Each connection is served by hyper (HTTP/1.1) with the axum router, inside a
//! task that also watches a per-connection token: a handler that wants to "drop the connection"
//! cancels it and the task drops the socket mid-request. A shutdown token stops everything.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Lets a handler drop the connection its request arrived on.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionControl(CancellationToken);

impl ConnectionControl {
    /// Closes the connection without a response; the current handler is dropped with it.
    pub(crate) fn drop_connection(&self) {
        self.0.cancel();
    }
}

/// A running server.
#[derive(Debug)]
pub(crate) struct ServerHandle {
    pub addr: SocketAddr,
    pub task: JoinHandle<()>,
}

/// Serves `router` on `listener` until `shutdown` is cancelled.
pub(crate) fn spawn(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> ServerHandle {
    let addr = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
    let task = tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            let stream = match accepted {
                Ok((stream, _peer)) => stream,
                Err(err) => {
                    tracing::debug!(%err, "accept failed");
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(serve_connection(stream, router.clone(), shutdown.clone()));
        }
    });
    ServerHandle { addr, task }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    router: Router,
    shutdown: CancellationToken,
) {
    let kill = CancellationToken::new();
    let control = ConnectionControl(kill.clone());
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(control.clone());
        let mut router = router.clone();
        async move {
            let response =
                tower_service::Service::call(&mut router, request.map(axum::body::Body::new)).await;
            Ok::<_, Infallible>(match response {
                Ok(response) => response,
                Err(never) => match never {},
            })
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        result = connection => {
            if let Err(err) = result {
                tracing::debug!(%err, "connection ended with an error");
            }
        }
        _ = kill.cancelled() => tracing::debug!("connection dropped on purpose"),
        _ = shutdown.cancelled() => {}
    }
}
