//! The OCPP listener: accepts TCP, performs the WebSocket handshake itself
//! (so the OCPP checks — subprotocol, identity, credentials — can consult
//! the store before anything is upgraded), then hands the socket to its
//! connection task.
//!
//! What is checked before the upgrade, and the refusals, are in
//! [`crate::admit`].

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use booking::model::{Charger, OcppVersion};
use booking::rate::{Limiter, source_key};
use booking::store::PresenceUpdate;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use crate::admit::{Refusal, admit, refusal_label};
use crate::context::{Context, Deps};
use crate::password_gate::PasswordGate;
use crate::registry::Registry;
use crate::tls;

/// The request head is small; anything larger is refused.
const MAX_HEAD_BYTES: usize = 8 * 1024;
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The refusal of an address past `RATE_LIMIT_OCPP_HANDSHAKES_PER_SOURCE`.
const TOO_FAST: &str = "too many connection attempts from this address; retry shortly";

/// The CSMS: its dependencies and the registry of connected chargers.
#[derive(Debug, Clone)]
pub struct Csms {
    /// What every connection shares.
    pub deps: Deps,
    /// The chargers connected here; shared with [`crate::OcppChargers`].
    pub registry: Arc<Registry>,
    /// Basic-auth passwords, checked with bounded work.
    pub passwords: Arc<PasswordGate>,
    /// Connection attempts per source address.
    handshakes: Arc<Limiter<IpAddr>>,
    /// Connections open on every listener together (ws:// and wss://), held
    /// to `max_connections`: each is an open file, and the limit is fitted
    /// to the process's open-file limit.
    open: Arc<AtomicUsize>,
}

/// One open charger connection, counted until it is dropped.
struct OpenConnection(Arc<AtomicUsize>);

impl OpenConnection {
    fn new(open: &Arc<AtomicUsize>) -> Self {
        open.fetch_add(1, Ordering::Relaxed);
        Self(open.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Csms {
    /// `registry` is shared with the [`crate::OcppChargers`] the booking
    /// core was built with.
    pub fn new(deps: Deps, registry: Arc<Registry>) -> Self {
        let handshakes = Arc::new(Limiter::new(deps.config.handshakes_per_source));
        Self {
            deps,
            registry,
            passwords: Arc::new(PasswordGate::default()),
            handshakes,
            open: Arc::new(AtomicUsize::new(0)),
        }
    }
}

/// How the charger reached us.
#[derive(Debug, Clone, Default)]
pub(crate) struct Transport {
    /// Where the connection comes from (failed passwords slow it down).
    pub(crate) peer: Option<std::net::IpAddr>,
    pub(crate) tls: bool,
    /// Subject CN of a client certificate the TLS layer verified.
    pub(crate) client_cn: Option<String>,
}

/// What the accept loop needs of a listener: after TCP, the handshake of
/// its transport (none for `ws://`, rustls or OpenSSL for `wss://`), giving
/// the stream the WebSocket runs on and the DER of the client certificate
/// the TLS layer verified. Everything else — limits, rates, timeouts, the
/// OCPP handshake — is the loop's, the same for every listener.
pub(crate) trait Handshake: Clone + Send + Sync + 'static {
    /// The stream after the handshake.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// Whether the stream is encrypted (profiles 2 and 3 need it).
    const TLS: bool;
    /// Bounded by the loop ([`HANDSHAKE_TIMEOUT`]).
    fn handshake(
        &self,
        tcp: TcpStream,
    ) -> impl Future<Output = std::io::Result<(Self::Stream, Option<Vec<u8>>)>> + Send;
}

/// `ws://`: no handshake below the WebSocket's.
#[derive(Debug, Clone, Copy)]
struct Plain;

impl Handshake for Plain {
    type Stream = TcpStream;
    const TLS: bool = false;

    async fn handshake(&self, tcp: TcpStream) -> std::io::Result<(TcpStream, Option<Vec<u8>>)> {
        Ok((tcp, None))
    }
}

/// Serves chargers on plain `ws://` until `shutdown` resolves.
pub async fn serve(listener: TcpListener, csms: Csms, shutdown: impl Future<Output = ()>) {
    accept_loop(listener, csms, Plain, shutdown).await;
}

/// Serves chargers on `wss://`, with the configured backend's acceptor,
/// until `shutdown` resolves.
pub async fn serve_tls(
    listener: TcpListener,
    acceptor: tls::Acceptor,
    csms: Csms,
    shutdown: impl Future<Output = ()>,
) {
    match acceptor {
        tls::Acceptor::Rustls(acceptor) => {
            tracing::info!(
                ocpp.tls_backend = "rustls",
                "wss:// on rustls: TLS 1.2 and 1.3, ECDHE suites only"
            );
            accept_loop(listener, csms, acceptor, shutdown).await;
        }
        #[cfg(feature = "openssl-tls")]
        tls::Acceptor::OpenSsl(acceptor) => {
            tracing::info!(
                ocpp.tls_backend = "openssl",
                "wss:// on OpenSSL: TLS 1.2 and 1.3, ECDHE suites first, then static RSA \
                 (AES128-GCM-SHA256, AES256-GCM-SHA384)"
            );
            accept_loop(listener, csms, acceptor, shutdown).await;
        }
    }
}

async fn accept_loop<H: Handshake>(
    listener: TcpListener,
    csms: Csms,
    handshake: H,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    // Every connection's task, owned: shutdown waits for them.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) if csms.open.load(Ordering::Relaxed) >= csms.deps.config.max_connections => {
                    tracing::warn!(peer = %peer, open = csms.open.load(Ordering::Relaxed),
                        "charger connection refused: OCPP_MAX_CONNECTIONS reached");
                    connections.spawn(refuse_early(stream, Early::Busy));
                }
                // Behind a trusted proxy the charger's own address is only
                // known from the request head: checked in `open`.
                Ok((stream, peer)) if !csms.deps.config.trusted_proxies.contains(peer.ip())
                    && csms.handshakes.check(&source_key(peer.ip())).is_err() => {
                    tracing::info!(peer = %peer, "charger connection refused: handshake rate of its address");
                    connections.spawn(refuse_early(stream, Early::TooFast));
                }
                Ok((stream, peer)) => {
                    let counted = OpenConnection::new(&csms.open);
                    let csms = csms.clone();
                    let handshake = handshake.clone();
                    connections.spawn(async move {
                        let _counted = counted;
                        let _ = stream.set_nodelay(true);
                        let ended = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake.handshake(stream)).await {
                            Ok(Ok((stream, client_cert))) => {
                                let client_cn = client_cert.as_deref().and_then(crate::tls::common_name);
                                let transport = Transport { peer: Some(peer.ip()), tls: H::TLS, client_cn };
                                connect(stream, csms, transport).await
                            }
                            Ok(Err(e)) => Err(e),
                            Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
                        };
                        if let Err(e) = ended {
                            tracing::debug!(peer = %peer, error = %e, "OCPP connection ended early");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            // Reap finished connections as they end.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    drain(&csms.registry, connections).await;
}

/// Why a connection is refused before its handshake is read.
#[derive(Debug, Clone, Copy)]
enum Early {
    /// Every connection slot is taken (`OCPP_MAX_CONNECTIONS`).
    Busy,
    /// Its address opens connections faster than its rate.
    TooFast,
}

/// A refusal before the handshake is read: 503 when every slot is taken,
/// 429 when the address connects too fast, both with Retry-After and
/// bounded, so a slow reader cannot hold the slot either. Over TLS the
/// client sees the connection close instead (no TLS handshake is spent).
async fn refuse_early(mut stream: TcpStream, why: Early) {
    let (label, status, reason, wait) = match why {
        Early::Busy => (
            "connection_limit",
            "503 Service Unavailable",
            "too many charger connections; retry shortly",
            5,
        ),
        Early::TooFast => ("rate_limited", "429 Too Many Requests", TOO_FAST, 1),
    };
    crate::metrics::refused(label);
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let refused = refuse(&mut stream, status, reason, Some(Duration::from_secs(wait)));
        if refused.await.is_ok() {
            // Read what the charger sent: closing with it unread would
            // reset the connection, and the reset can overtake the answer.
            let _ = stream.shutdown().await;
            let mut sink = [0u8; 1024];
            while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
        }
    })
    .await;
}

/// How long shutdown waits for chargers to take their Close frames.
const DRAIN: Duration = Duration::from_secs(5);

/// Shutdown: tells every connection to close (chargers see a clean close
/// and reconnect, to another instance if there is one) and waits for the
/// tasks to end, at most [`DRAIN`]; what is left then is aborted.
async fn drain(registry: &Registry, mut connections: tokio::task::JoinSet<()>) {
    let closed = registry.close_all();
    let all_ended = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(DRAIN, all_ended).await.is_err() {
        tracing::warn!(
            left = connections.len(),
            "charger connections still open; dropping them"
        );
        connections.abort_all();
    }
    if closed > 0 {
        tracing::info!(chargers = closed, "closed charger connections");
    }
}

/// The parts of the upgrade request the OCPP rules look at.
#[derive(Debug, Default)]
pub(crate) struct Head {
    pub(crate) path: String,
    pub(crate) key: Option<String>,
    pub(crate) protocols: Option<String>,
    pub(crate) authorization: Option<String>,
    pub(crate) upgrade: bool,
    /// `Sec-WebSocket-Version`: RFC 6455 servers speak 13 only.
    pub(crate) ws_version: Option<String>,
    /// `X-Forwarded-For`, believed only from a trusted proxy.
    pub(crate) forwarded_for: Option<String>,
}

pub(crate) async fn read_head<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> std::io::Result<(Head, Vec<u8>)> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return parse_head(&buf).map(|h| (h, rest));
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Err(std::io::Error::other("request head too large"));
        }
    }
}

fn parse_head(bytes: &[u8]) -> std::io::Result<Head> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    req.parse(bytes).map_err(std::io::Error::other)?;
    let mut head = Head {
        path: req.path.unwrap_or("/").to_owned(),
        ..Head::default()
    };
    for h in req.headers.iter() {
        let value = String::from_utf8_lossy(h.value).trim().to_owned();
        match h.name.to_ascii_lowercase().as_str() {
            "sec-websocket-key" => head.key = Some(value),
            "sec-websocket-protocol" => head.protocols = Some(value),
            "authorization" => head.authorization = Some(value),
            "upgrade" => head.upgrade = value.eq_ignore_ascii_case("websocket"),
            "sec-websocket-version" => head.ws_version = Some(value),
            "x-forwarded-for" => head.forwarded_for = Some(value),
            _ => {}
        }
    }
    Ok(head)
}

async fn refuse<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: &str,
    reason: &str,
    retry_after: Option<Duration>,
) -> std::io::Result<()> {
    let mut extra = String::new();
    if status.starts_with("401") {
        extra.push_str("WWW-Authenticate: Basic realm=\"evgate\"\r\n");
    }
    if status.starts_with("426") {
        extra.push_str("Sec-WebSocket-Version: 13\r\n");
    }
    if let Some(wait) = retry_after {
        // Whole seconds, rounded up: never "0".
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        extra.push_str(&format!("Retry-After: {}\r\n", secs.max(1)));
    }
    let response = format!(
        "HTTP/1.1 {status}\r\n{extra}Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reason}",
        reason.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// The HTTP handshake: reads the request, admits or refuses the charger,
/// and on admission answers 101 and opens the WebSocket. `None`: refused
/// (the refusal was sent).
async fn open<S>(
    mut stream: S,
    csms: &Csms,
    transport: Transport,
) -> std::io::Result<Option<(WebSocketStream<S>, Charger, OcppVersion)>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (head, rest) = tokio::time::timeout(HANDSHAKE_TIMEOUT, read_head(&mut stream))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    // Through a trusted proxy: the charger's address is the one it names,
    // for the handshake rate and the password backoff alike.
    let mut transport = transport;
    let trusted = &csms.deps.config.trusted_proxies;
    if let Some(proxy) = transport.peer.filter(|p| trusted.contains(*p)) {
        let charger_ip = trusted.client(proxy, head.forwarded_for.as_deref());
        transport.peer = Some(charger_ip);
        if csms.handshakes.check(&source_key(charger_ip)).is_err() {
            tracing::info!(peer = %charger_ip, via = %proxy,
                "charger connection refused: handshake rate of its address");
            crate::metrics::refused("rate_limited");
            refuse(
                &mut stream,
                "429 Too Many Requests",
                TOO_FAST,
                Some(Duration::from_secs(1)),
            )
            .await?;
            return Ok(None);
        }
    }
    let (charger, version) = match admit(&head, &transport, csms).await {
        Ok(admitted) => admitted,
        Err(Refusal {
            status,
            reason,
            retry_after,
        }) => {
            tracing::info!(path = %head.path, status, reason = %reason, "OCPP connection refused");
            crate::metrics::refused(refusal_label(status));
            refuse(&mut stream, status, &reason, retry_after).await?;
            return Ok(None);
        }
    };
    let accept = derive_accept_key(head.key.as_deref().unwrap_or_default().as_bytes());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: {}\r\n\r\n",
        version.as_str()
    );
    stream.write_all(response.as_bytes()).await?;
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_message_size(Some(csms.deps.config.max_message_bytes))
        .max_frame_size(Some(csms.deps.config.max_message_bytes));
    let ws = WebSocketStream::from_partially_read(stream, rest, Role::Server, Some(config)).await;
    Ok(Some((ws, charger, version)))
}

/// What each connection reads into. Every idle charger holds one for as
/// long as it stays connected, and OCPP frames are mostly far smaller (a
/// Heartbeat is ~40 bytes, a status ~200); a larger frame is read whole
/// into room reserved for its length, this many bytes per read.
const READ_BUFFER: usize = 1024;

async fn connect<S>(stream: S, csms: Csms, transport: Transport) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // Boxed: the handshake's state (request head, admission, password
    // check) is freed once the charger is in, not carried by every idle
    // connection's task.
    let Some((ws, charger, version)) = Box::pin(open(stream, &csms, transport)).await? else {
        return Ok(());
    };
    let registration = csms.registry.register(&charger.charge_point_id, version);
    let counted = crate::metrics::Connected::new(version, charger.security_profile);
    csms.registry.announce(&charger, version);
    let connection = registration.connection;
    let journal = registration.journal.clone();
    let ctx = Context {
        charger: charger.clone(),
        version,
        connectors: Default::default(),
        deps: csms.deps.clone(),
    };
    if let Err(e) = csms.deps.presence.record(ctx.presence(None)).await {
        tracing::warn!(error = %e, "cannot record the charger online");
    }
    tracing::info!(charger.id = %charger.charge_point_id, ocpp.version = version.as_str(), "charger connected");
    after_connect(&csms, &ctx);
    crate::connection::run(ctx, ws, registration).await;
    drop(counted);
    if let Some(journal) = journal {
        csms.registry
            .journals()
            .depart(&charger.charge_point_id, &journal, connection);
    }
    if csms
        .registry
        .unregister(&charger.charge_point_id, connection)
        && !csms
            .deps
            .elsewhere
            .held_elsewhere(&charger.charge_point_id)
            .await
    {
        let gone = PresenceUpdate {
            charger_id: charger.id,
            online: false,
            version: None,
            seen_at: csms.deps.clock.now(),
            boot: None,
        };
        if let Err(e) = csms.deps.presence.record(gone).await {
            tracing::warn!(error = %e, "cannot record the charger offline");
        }
        offline_after_grace(csms.clone(), charger.clone());
    }
    tracing::info!(charger.id = %charger.charge_point_id, "charger disconnected");
    Ok(())
}

/// If the charger does not come back within the grace period, its
/// connectors turn OFFLINE.
fn offline_after_grace(csms: Csms, charger: Charger) {
    tokio::spawn(async move {
        tokio::time::sleep(csms.deps.config.offline_grace).await;
        if csms.registry.is_connected(&charger.charge_point_id)
            || csms
                .deps
                .elsewhere
                .held_elsewhere(&charger.charge_point_id)
                .await
        {
            return;
        }
        let now = csms.deps.clock.now();
        match csms.deps.bookings.charger_offline(charger.id, now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(charger.id = %charger.charge_point_id, connectors = n,
                "charger away past the grace period: connectors OFFLINE"),
            Err(e) => tracing::warn!(error = %e, "cannot mark the charger's connectors OFFLINE"),
        }
    });
}

/// Once per connection, in the background: the charger's connectors are
/// read and kept by the connection; then, for a charger that was connected
/// before, its statuses are asked for again if it was away long enough to
/// show OFFLINE (it may not re-send them on its own), and a 2.0.1 station
/// is asked about the transactions evgate still has open.
fn after_connect(csms: &Csms, ctx: &Context) {
    let (csms, charger, version) = (csms.clone(), ctx.charger.clone(), ctx.version);
    let known = ctx.connectors.clone();
    tokio::spawn(async move {
        let connectors = match csms.deps.store.connectors_of_charger(charger.id).await {
            Ok(connectors) => connectors,
            Err(e) => {
                tracing::warn!(charger.id = %charger.charge_point_id, error = %e,
                    "cannot read the charger's connectors");
                return;
            }
        };
        known.remember(&connectors);
        if charger.last_seen_at.is_none() {
            return;
        }
        let away = connectors
            .iter()
            .any(|c| c.status == booking::model::ConnectorStatus::Offline);
        tokio::join!(
            async {
                if away {
                    resynchronise(&csms, &charger, version).await;
                }
            },
            crate::v201::transaction_status::after_reconnect(&csms, &charger, version, &connectors),
        );
    });
}

/// Asks the charger to re-send its statuses (TriggerMessage).
async fn resynchronise(csms: &Csms, charger: &Charger, version: OcppVersion) {
    let payload = match version {
        OcppVersion::V16 => crate::v16::calls::trigger_status_notifications(),
        OcppVersion::V201 => crate::v201::calls::trigger_status_notifications(),
    };
    let Ok(payload) = payload else {
        return;
    };
    let answer = csms
        .registry
        .call(&charger.charge_point_id, "TriggerMessage", payload)
        .await;
    tracing::info!(charger.id = %charger.charge_point_id, ok = answer.is_ok(),
            "asked the charger to resend its statuses (TriggerMessage)");
}
