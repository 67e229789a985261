//! Listening: plain TCP or TLS (rustls), with graceful shutdown.
//!
//! TLS handshakes run in their own tasks so one slow or hostile client cannot hold up
//! the accept loop; only finished handshakes reach the HTTP server. When TLS is on,
//! every response carries `Strict-Transport-Security`.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::TlsConfig;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The certificate or key could not be read.
    #[error("cannot load the TLS {what} from `{path}`: {detail}")]
    Tls {
        /// `certificate` or `key`.
        what: &'static str,
        /// The file.
        path: String,
        /// What went wrong.
        detail: String,
    },
    /// The server stopped with an I/O error.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// A bound listener, plain or TLS, ready to serve.
pub struct Bound {
    inner: Inner,
    addr: SocketAddr,
}

enum Inner {
    Plain(TcpListener),
    Tls(TlsListener),
}

impl Bound {
    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether connections use TLS.
    pub fn is_tls(&self) -> bool {
        matches!(self.inner, Inner::Tls(_))
    }
}

/// Binds `addr`, with TLS when `tls` is given.
pub async fn bind(addr: SocketAddr, tls: Option<&TlsConfig>) -> Result<Bound, ServeError> {
    let tcp = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let addr = tcp.local_addr()?;
    let inner = match tls {
        None => Inner::Plain(tcp),
        Some(t) => Inner::Tls(TlsListener::new(tcp, acceptor(t)?)),
    };
    Ok(Bound { inner, addr })
}

/// Serves `router` until `shutdown` completes, then lets in-flight requests finish.
pub async fn serve(
    bound: Bound,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    match bound.inner {
        Inner::Plain(l) => axum::serve(l, router)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(ServeError::Io),
        Inner::Tls(l) => {
            let router = router.layer(SetResponseHeaderLayer::overriding(
                HeaderName::from_static("strict-transport-security"),
                HeaderValue::from_static("max-age=63072000; includeSubDomains"),
            ));
            axum::serve(l, router)
                .with_graceful_shutdown(shutdown)
                .await
                .map_err(ServeError::Io)
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

fn tls_err(what: &'static str, path: &Path, detail: impl ToString) -> ServeError {
    ServeError::Tls {
        what,
        path: path.display().to_string(),
        detail: detail.to_string(),
    }
}

fn acceptor(t: &TlsConfig) -> Result<TlsAcceptor, ServeError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&t.cert)
        .map_err(|e| tls_err("certificate", &t.cert, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| tls_err("certificate", &t.cert, e))?;
    if certs.is_empty() {
        return Err(tls_err(
            "certificate",
            &t.cert,
            "no certificate in the file",
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&t.key).map_err(|e| tls_err("key", &t.key, e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err("certificate", &t.cert, e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| tls_err("key", &t.key, e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Accepts TCP connections and hands finished TLS handshakes to the HTTP server.
struct TlsListener {
    rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    addr: SocketAddr,
}

/// A handshake that takes longer than this is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

impl TlsListener {
    fn new(tcp: TcpListener, acceptor: TlsAcceptor) -> Self {
        let addr = tcp
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (tx, rx) = mpsc::channel(256);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if tx.is_closed() {
                    break;
                }
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        // Failed handshakes are the client's problem; log without the
                        // peer address, which can be personal information.
                        Ok(Err(e)) => tracing::debug!(error = %e, "tls handshake failed"),
                        Err(_) => tracing::debug!("tls handshake timed out"),
                    }
                });
            }
        });
        Self { rx, addr }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(x) => x,
            // The accept task ended: no more connections will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}
