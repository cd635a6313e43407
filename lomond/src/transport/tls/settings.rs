//! [`TlsOptions`]: whom to trust and who we are, turned into one rustls
//! `ClientConfig` that every connection of a [`WebSocket`](crate::WebSocket)
//! shares (building a verifier reads the trust store from disk).

use crate::error::TlsError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// Where the server's certificate must lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trust {
    /// The operating system's store, plus any roots added.
    Platform,
    /// The Mozilla roots built into lomond, plus any roots added.
    #[cfg(feature = "webpki-roots")]
    Mozilla,
    /// Only the roots added.
    Added,
}

/// How `wss://` connections are secured: the roots trusted (the operating
/// system's store by default), a client certificate for mutual TLS, or a
/// whole rustls `ClientConfig` for full control. SNI comes from the URL's
/// host and ALPN offers `http/1.1`.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let tls = lomond::TlsOptions::new().add_root_file("ca.pem")?;
/// let ws = lomond::WebSocket::new("wss://example.com/")?.tls(tls);
/// for event in ws.connect() {
///     println!("{event}");
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TlsOptions {
    trust: Trust,
    added: Vec<CertificateDer<'static>>,
    identity: Option<Arc<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>>,
    config: Option<Arc<ClientConfig>>,
    no_verification: bool,
    /// The config built from the above, once, shared by clones.
    built: Arc<OnceLock<Result<Arc<ClientConfig>, TlsError>>>,
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions {
            trust: Trust::Platform,
            added: Vec::new(),
            identity: None,
            config: None,
            no_verification: false,
            built: Arc::default(),
        }
    }
}

impl fmt::Debug for TlsOptions {
    // No key material, and no certificate bytes: only what was chosen.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsOptions")
            .field("trust", &self.trust)
            .field("added_roots", &self.added.len())
            .field("client_certificate", &self.identity.is_some())
            .field("custom_config", &self.config.is_some())
            .field("no_verification", &self.no_verification)
            .finish()
    }
}

impl TlsOptions {
    /// The defaults: the operating system's trust store, no client
    /// certificate.
    pub fn new() -> TlsOptions {
        TlsOptions::default()
    }

    /// A changed copy: the config is built again.
    fn changed(mut self) -> TlsOptions {
        self.built = Arc::default();
        self
    }

    /// Trusts the Mozilla roots built into lomond instead of the operating
    /// system's store: for devices that have none.
    #[cfg(feature = "webpki-roots")]
    pub fn mozilla_roots(mut self) -> TlsOptions {
        self.trust = Trust::Mozilla;
        self.changed()
    }

    /// Trusts only the roots added with [`add_root_pem`](Self::add_root_pem)
    /// and [`add_root_file`](Self::add_root_file), not the system's.
    pub fn only_added_roots(mut self) -> TlsOptions {
        self.trust = Trust::Added;
        self.changed()
    }

    /// Also trusts the CA certificates in `pem` (one or more PEM blocks).
    /// Fails when it holds no certificate.
    pub fn add_root_pem(mut self, pem: &[u8]) -> Result<TlsOptions, TlsError> {
        let certs = parse_certs(pem, "root certificate")?;
        self.added.extend(certs);
        Ok(self.changed())
    }

    /// Also trusts the CA certificates in the PEM file at `path`.
    pub fn add_root_file(self, path: impl AsRef<Path>) -> Result<TlsOptions, TlsError> {
        let pem = read(path.as_ref())?;
        self.add_root_pem(&pem)
    }

    /// Presents a client certificate (mutual TLS): `cert_pem` holds the
    /// certificate and any intermediates, `key_pem` its private key
    /// (PKCS#8, PKCS#1 or SEC1). Whether the key matches is checked when
    /// the config is built, before connecting.
    pub fn client_cert_pem(
        mut self,
        cert_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<TlsOptions, TlsError> {
        let chain = parse_certs(cert_pem, "client certificate")?;
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|_| TlsError::Settings("no private key in the PEM given".into()))?;
        self.identity = Some(Arc::new((chain, key)));
        Ok(self.changed())
    }

    /// [`client_cert_pem`](Self::client_cert_pem) from two PEM files.
    pub fn client_cert_files(
        self,
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<TlsOptions, TlsError> {
        let (cert, key) = (read(cert.as_ref())?, read(key.as_ref())?);
        self.client_cert_pem(&cert, &key)
    }

    /// Uses `config` as it is, ignoring every other setting here: for full
    /// control (protocol versions, cipher suites, a verifier of your own).
    /// Set its ALPN to `http/1.1` if the server needs one.
    pub fn client_config(mut self, config: Arc<ClientConfig>) -> TlsOptions {
        self.config = Some(config);
        self.changed()
    }

    /// Accepts any certificate for any host name: **the connection can be
    /// read and changed by anyone on the path**. For tests against a
    /// server with a throwaway certificate only.
    pub fn dangerous_accept_any_certificate(mut self) -> TlsOptions {
        self.no_verification = true;
        self.changed()
    }

    /// The rustls config these options make, built at the first call and
    /// shared by every connection (and by clones of these options): to
    /// inspect it, or to give other rustls clients the very same.
    pub fn config(&self) -> Result<Arc<ClientConfig>, TlsError> {
        self.built.get_or_init(|| self.build()).clone()
    }

    fn build(&self) -> Result<Arc<ClientConfig>, TlsError> {
        if let Some(config) = &self.config {
            return Ok(config.clone());
        }
        let provider = provider();
        let verifier: Arc<dyn ServerCertVerifier> = if self.no_verification {
            Arc::new(AnyCertificate(provider.clone()))
        } else {
            match self.trust {
                Trust::Platform => Arc::new(
                    rustls_platform_verifier::Verifier::new_with_extra_roots(
                        self.added.iter().cloned(),
                        provider.clone(),
                    )
                    .map_err(|e| TlsError::Settings(format!("the system's trust store: {e}")))?,
                ),
                #[cfg(feature = "webpki-roots")]
                Trust::Mozilla => {
                    let mut roots = RootCertStore {
                        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                    };
                    add_roots(&mut roots, &self.added)?;
                    webpki(roots, &provider)?
                }
                Trust::Added => {
                    if self.added.is_empty() {
                        return Err(TlsError::Settings(
                            "only added roots are trusted, and none was added".into(),
                        ));
                    }
                    let mut roots = RootCertStore::empty();
                    add_roots(&mut roots, &self.added)?;
                    webpki(roots, &provider)?
                }
            }
        };
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Settings(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let mut config = match &self.identity {
            Some(identity) => builder
                .with_client_auth_cert(identity.0.clone(), identity.1.clone_key())
                .map_err(|e| TlsError::Settings(format!("client certificate: {e}")))?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// The name the server's certificate must be valid for: the URL's host.
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, TlsError> {
    ServerName::try_from(host.to_owned())
        .map_err(|_| TlsError::Settings(format!("{host:?} is not a valid TLS server name")))
}

/// The crypto provider chosen by cargo feature: aws-lc-rs when asked for
/// (it is the opt-in), ring otherwise.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    #[cfg(feature = "aws-lc-rs")]
    return Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    #[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
    return Arc::new(rustls::crypto::ring::default_provider());
    #[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
    compile_error!("lomond's \"tls\" feature needs \"ring\" or \"aws-lc-rs\" for its crypto");
}

fn parse_certs(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Settings(format!("{what} PEM: {e}")))?;
    if certs.is_empty() {
        return Err(TlsError::Settings(format!("no {what} in the PEM given")));
    }
    Ok(certs)
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::Settings(format!("{}: {e}", path.display())))
}

fn add_roots(roots: &mut RootCertStore, added: &[CertificateDer<'static>]) -> Result<(), TlsError> {
    for cert in added {
        roots
            .add(cert.clone())
            .map_err(|e| TlsError::Settings(format!("root certificate: {e}")))?;
    }
    Ok(())
}

fn webpki(
    roots: RootCertStore,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, TlsError> {
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| TlsError::Settings(e.to_string()))?;
    Ok(verifier)
}

/// Takes any certificate, but still checks the handshake's signatures, so
/// that the connection at least talks to whoever holds the key shown.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
