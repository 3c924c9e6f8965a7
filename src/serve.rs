//! The HTTP listener's connection rules, which `axum::serve` does not
//! offer: a request head must arrive within a time limit (and an idle
//! keep-alive connection is closed after the same time), and at most so
//! many connections are open at once — beyond that a client is answered
//! 503 with `Retry-After` and closed, so trickling or half-open
//! connections can neither hold sockets for ever nor starve the OCPP
//! listener of file descriptors.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

/// How the HTTP listener treats connections.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// A request head (and the next one on a kept-alive connection) must
    /// arrive within this.
    pub header_timeout: Duration,
    /// Connections open at once; more are answered 503.
    pub max_connections: usize,
}

/// How long shutdown waits for requests in progress.
const DRAIN: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown` resolves, then lets
/// requests in progress finish (at most [`DRAIN`]).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (closing, closed) = watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors, most often: wait a moment.
                        tracing::warn!(error = %e, "HTTP accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                match slots.clone().try_acquire_owned() {
                    Ok(slot) => {
                        let (app, closed) = (app.clone(), closed.clone());
                        connections.spawn(async move {
                            serve_connection(stream, peer, app, limits, closed).await;
                            drop(slot);
                        });
                    }
                    Err(_) => {
                        connections.spawn(refuse_busy(stream));
                    }
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    let _ = closing.send(true);
    let drained = tokio::time::timeout(DRAIN, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "HTTP connections still open after the drain; closing them"
        );
        connections.shutdown().await;
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: ConnectionLimits,
    mut closed: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    // The peer's address, for handlers and limits that key on it.
    let service = app.map_request(move |mut req: axum::http::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        req.map(axum::body::Body::new)
    });
    let service = TowerToHyperService::new(service);
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .enable_connect_protocol();
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(peer = %peer, error = %e, "HTTP connection ended with an error");
            }
        }
        () = async { let _ = closed.wait_for(|closed| *closed).await; } => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// Every connection slot is taken: one 503 in the error envelope, then
/// close (without reading the request; bounded so a slow reader cannot
/// hold the refusal either).
async fn refuse_busy(mut stream: TcpStream) {
    let body = r#"{"success":false,"error":{"code":"SERVICE_UNAVAILABLE","message":"too many connections; retry shortly"}}"#;
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
        // Read what the client sent: closing with it unread would reset
        // the connection, and the reset can overtake the answer.
        let mut sink = [0u8; 1024];
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}
