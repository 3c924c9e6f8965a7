//! Opening a charger's WebSocket: from a chosen loopback source address
//! (10,000 connections stay clear of one address's ephemeral ports), over
//! TLS when the URL is `wss://` (security profiles 2 and 3), with Basic
//! credentials (profiles 1 and 2) and the OCPP subprotocol.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use base64::Engine;
use rustls_pki_types::ServerName;
use rustls_pki_types::pem::PemObject;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpSocket;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Any byte stream a WebSocket runs over.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A charger's WebSocket, over plain TCP or TLS.
pub type Socket = WebSocketStream<Box<dyn Io>>;

/// How a charger proves who it is.
#[derive(Clone, Default)]
pub struct Security {
    /// Basic-auth password (profiles 1 and 2); the identity is the user name.
    pub password: Option<String>,
    /// For `wss://`: trusted CAs and, for profile 3, the client certificate.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Security")
            .field("password", &self.password.as_ref().map(|_| "…"))
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// A rustls client trusting `ca_pem`, presenting `client` (certificate
/// chain PEM, key PEM) when given.
pub fn tls_config(
    ca_pem: &[u8],
    client: Option<(&[u8], &[u8])>,
) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_slice_iter(ca_pem) {
        roots
            .add(cert.map_err(|e| format!("CA file: {e}"))?)
            .map_err(|e| format!("CA file: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let config = match client {
        None => builder.with_no_client_auth(),
        Some((chain, key)) => {
            let chain = rustls_pki_types::CertificateDer::pem_slice_iter(chain)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("client certificate: {e}"))?;
            let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(key)
                .map_err(|e| format!("client key: {e}"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("client certificate: {e}"))?
        }
    };
    Ok(Arc::new(config))
}

/// Why a connection attempt failed, as the report counts it.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL, or something it needs (a CA file for `wss://`), is unusable.
    #[error("bad url: {0}")]
    Url(String),
    /// Name lookup, binding the source address, or the TCP connect failed.
    #[error("tcp: {0}")]
    Tcp(std::io::Error),
    /// The TLS handshake failed.
    #[error("tls: {0}")]
    Tls(std::io::Error),
    /// The gateway refused the upgrade with this HTTP status (e.g. 401, 404,
    /// 503).
    #[error("refused with HTTP {0}")]
    Refused(u16),
    /// Any other failure of the WebSocket handshake.
    #[error("websocket: {0}")]
    WebSocket(String),
}

impl ConnectError {
    /// A short name for the error table.
    pub fn kind(&self) -> String {
        match self {
            ConnectError::Url(_) => "connect: bad url".into(),
            ConnectError::Tcp(e) => format!("connect: tcp {:?}", e.kind()),
            ConnectError::Tls(_) => "connect: tls".into(),
            ConnectError::Refused(s) => format!("connect: http {s}"),
            ConnectError::WebSocket(e) if e.contains("alert") => "connect: tls".into(),
            ConnectError::WebSocket(_) => "connect: websocket".into(),
        }
    }
}

/// Opens `url` (`ws://host:port/path/IDENTITY` or `wss://…`).
pub async fn connect(
    url: &str,
    identity: &str,
    subprotocol: &str,
    security: &Security,
    source: Option<IpAddr>,
) -> Result<Socket, ConnectError> {
    let (tls, rest) = if let Some(rest) = url.strip_prefix("wss://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("ws://") {
        (false, rest)
    } else {
        return Err(ConnectError::Url(format!("{url} is not ws:// or wss://")));
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(h, _)| h)
        .trim_matches(['[', ']']);
    let port: u16 = authority
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(if tls { 443 } else { 80 });
    // The source address's family, else IPv4 first (`localhost` may list
    // ::1 first while the gateway listens on 127.0.0.1).
    let want_v4 = source.is_none_or(|s| s.is_ipv4());
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(ConnectError::Tcp)?
        .collect();
    let addr = addrs
        .iter()
        .find(|a| a.is_ipv4() == want_v4)
        .or(addrs.first().filter(|_| source.is_none()))
        .copied()
        .ok_or_else(|| ConnectError::Url(format!("{host} has no usable address")))?;
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(ConnectError::Tcp)?;
    if let Some(source) = source {
        socket
            .bind(SocketAddr::new(source, 0))
            .map_err(ConnectError::Tcp)?;
    }
    let tcp = socket.connect(addr).await.map_err(ConnectError::Tcp)?;
    let _ = tcp.set_nodelay(true);
    let stream: Box<dyn Io> = if tls {
        let config = security
            .tls
            .clone()
            .ok_or_else(|| ConnectError::Url("wss:// needs a CA file (--ca-file)".into()))?;
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| ConnectError::Url(format!("{host}: {e}")))?;
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(ConnectError::Tls)?;
        Box::new(tls)
    } else {
        Box::new(tcp)
    };
    let mut request = url
        .into_client_request()
        .map_err(|e| ConnectError::Url(e.to_string()))?;
    let headers = request.headers_mut();
    headers.insert(
        "Sec-WebSocket-Protocol",
        subprotocol
            .parse()
            .map_err(|_| ConnectError::Url("subprotocol".into()))?,
    );
    if let Some(password) = &security.password {
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("{identity}:{password}"));
        headers.insert(
            "Authorization",
            format!("Basic {token}")
                .parse()
                .map_err(|_| ConnectError::Url("credentials".into()))?,
        );
    }
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0);
    match tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(ConnectError::Refused(response.status().as_u16()))
        }
        Err(e) => Err(ConnectError::WebSocket(e.to_string())),
    }
}
