//! Certificates made at test time, and a `wss://` echo server on them.
//!
//! [`Ca`] is a throwaway certificate authority (rcgen); it issues server
//! certificates for given names, expired ones, and client certificates.
//! [`TlsEchoServer`] runs lomond's echo server behind rustls on loopback,
//! optionally demanding a client certificate from a given CA.

use crate::echo::{serve_on, EchoStream};
use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertifiedIssuer, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection, StreamOwned};
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// A certificate and its private key, as PEM and as rustls wants them.
pub struct Identity {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Its private key, PKCS#8 PEM.
    pub key_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: PrivatePkcs8KeyDer<'static>,
}

impl Identity {
    fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key.clone_key())
    }
}

/// A throwaway certificate authority.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    /// A new CA named `name`.
    pub fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Ca { issuer }
    }

    /// The CA's certificate, PEM: what a client adds to its roots.
    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    fn issue(&self, names: &[&str], client: bool, expired: bool) -> Identity {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "lomond test");
        params.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        if expired {
            params.not_before = date_time_ymd(2020, 1, 1);
            params.not_after = date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Identity {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            chain: vec![cert.der().clone()],
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        }
    }

    /// A server certificate valid for `names` (host names or IP addresses).
    pub fn server(&self, names: &[&str]) -> Identity {
        self.issue(names, false, false)
    }

    /// A server certificate for `names` that expired in 2021.
    pub fn expired_server(&self, names: &[&str]) -> Identity {
        self.issue(names, false, true)
    }

    /// A client certificate, for mutual TLS.
    pub fn client(&self) -> Identity {
        self.issue(&["client.lomond.test"], true, false)
    }

    fn roots(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots.add(self.issuer.der().clone()).unwrap();
        roots
    }
}

/// The rustls server config for `identity`, demanding a client
/// certificate from `client_ca` when given.
pub fn server_config(identity: &Identity, client_ca: Option<&Ca>) -> Arc<ServerConfig> {
    server_config_with(identity, client_ca, rustls::DEFAULT_VERSIONS)
}

/// [`server_config`] speaking only TLS 1.2: to meet a client that speaks
/// only 1.3 with an alert, or to refuse a missing client certificate
/// within the handshake (TLS 1.3 refuses it only after).
pub fn server_config_tls12_only(identity: &Identity, client_ca: Option<&Ca>) -> Arc<ServerConfig> {
    server_config_with(identity, client_ca, &[&rustls::version::TLS12])
}

fn server_config_with(
    identity: &Identity,
    client_ca: Option<&Ca>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .unwrap();
    let builder = match client_ca {
        Some(ca) => builder.with_client_cert_verifier(
            WebPkiClientVerifier::builder_with_provider(Arc::new(ca.roots()), provider)
                .build()
                .unwrap(),
        ),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(identity.chain.clone(), identity.key())
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

impl EchoStream for StreamOwned<ServerConnection, TcpStream> {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.sock.set_read_timeout(timeout)
    }
}

/// A TLS stream that rolls its keys (a TLS 1.3 key update, asking the
/// peer to roll its own) before every write: to test that a client answers
/// key updates and keeps its records in order.
struct KeyUpdating(StreamOwned<ServerConnection, TcpStream>);

impl io::Read for KeyUpdating {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl io::Write for KeyUpdating {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .conn
            .refresh_traffic_keys()
            .map_err(io::Error::other)?;
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl EchoStream for KeyUpdating {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.0.sock.set_read_timeout(timeout)
    }
}

/// lomond's echo server (see [`EchoServer`](crate::EchoServer)) behind
/// TLS, on a loopback port; each connection on a thread of its own.
pub struct TlsEchoServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl TlsEchoServer {
    /// Serves with `config` (see [`server_config`]).
    pub fn start(config: Arc<ServerConfig>) -> TlsEchoServer {
        Self::serve(config, false)
    }

    /// [`start`](Self::start), with a TLS 1.3 key update before every
    /// message the server writes.
    pub fn start_with_key_updates(config: Arc<ServerConfig>) -> TlsEchoServer {
        Self::serve(config, true)
    }

    fn serve(config: Arc<ServerConfig>, key_updates: bool) -> TlsEchoServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let stop = stop.clone();
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((tcp, _)) => {
                            let config = config.clone();
                            let stop = stop.clone();
                            thread::spawn(move || {
                                let _ = serve_tls(tcp, config, key_updates, &stop);
                            });
                        }
                        Err(_) => thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        TlsEchoServer {
            addr,
            stop,
            accept: Some(accept),
        }
    }

    /// The address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `wss://` URL of this server, with `host` as the host name (a name
    /// must resolve to loopback: give the connection a resolver for it).
    pub fn url(&self, host: &str) -> String {
        format!("wss://{host}:{}/", self.addr.port())
    }
}

fn serve_tls(
    tcp: TcpStream,
    config: Arc<ServerConfig>,
    key_updates: bool,
    stop: &AtomicBool,
) -> io::Result<()> {
    tcp.set_nonblocking(false)?;
    tcp.set_nodelay(true)?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut conn = ServerConnection::new(config).map_err(io::Error::other)?;
    let mut tcp = tcp;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp)?;
    }
    let stream = StreamOwned::new(conn, tcp);
    if key_updates {
        serve_on(KeyUpdating(stream), stop)
    } else {
        serve_on(stream, stop)
    }
}

impl Drop for TlsEchoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}
