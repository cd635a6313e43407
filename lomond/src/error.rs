//! Typed errors: one enum for each way a connection can fail, so callers
//! can match on the cause instead of parsing messages.
//!
//! Where each one reaches you:
//!
//! | error | arrives as | means |
//! |---|---|---|
//! | [`ConnectError`] | `Event::ConnectFail { error }`, the last event | no connection: a bad URL or option ([`Stage::Prepare`]), DNS, TCP, the proxy tunnel ([`ProxyError`]) or TLS ([`TlsError`]) failed, or `connect_timeout` ran out; [`ConnectError::stage`] says which, `source()` holds the OS error |
//! | [`HandshakeError`] | `Event::Rejected { error, response }` | the server answered, but not with a valid upgrade: a status other than 101 (the [`Response`](crate::Response) has its headers and the start of its body), a wrong `Sec-WebSocket-Accept`, a subprotocol or extension never offered, an oversized answer |
//! | [`ProtocolError`] | `Event::ProtocolError { error }`, then `Disconnected` | the server broke RFC 6455 or a limit (`max_message_size`, `max_frame_size`); lomond sent Close with [`ProtocolError::close_code`] |
//! | [`SendError`] | the `Err` of a send | nothing was queued: not open yet, closing or closed, a payload or close code not allowed, the outgoing buffer full (a peer not reading), or (persist) disconnected or the outbox full |
//! | [`DisconnectReason`](crate::DisconnectReason) | `Event::Disconnected { reason, graceful }` | why a connection ended: the close handshake done, the connection lost without one, an I/O error (`write_timeout` is one, of kind `TimedOut`), `Unresponsive` (nothing within `ping_timeout`), the handshake or close timeout, a rejection, a protocol error |
//! | [`Error`](crate::Error) | the `Err` items of [`aio::WsStream`](crate::aio::WsStream) and `connect_async` | any of the above as one type, for code that wants one error |
//!
//! Display never repeats what `source()` returns, so `{:#}` in anyhow
//! prints each cause once, and no error shows a credential.
//! `cargo run --example limits` meets several of them on purpose.

use std::io;
use std::sync::Arc;

/// The peer broke RFC 6455 (or a configured limit) after the handshake.
/// The connection answers with a Close frame carrying [`close_code`](Self::close_code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// Opcode 0x3-0x7 or 0xB-0xF.
    #[error("reserved opcode {0:#x}")]
    ReservedOpCode(u8),
    /// A Close, Ping or Pong frame without FIN.
    #[error("fragmented control frame")]
    FragmentedControlFrame,
    /// A control frame with more than 125 bytes of payload.
    #[error("control frame payload longer than 125 bytes")]
    ControlFrameTooLong,
    /// A 64-bit payload length with its most significant bit set.
    #[error("frame length has its most significant bit set")]
    InvalidLength,
    /// RSV1, RSV2 or RSV3 set where no negotiated extension defines it.
    #[error("reserved bits {0:#05b} set without an extension that defines them")]
    ReservedBits(u8),
    /// A server sent a masked frame (RFC 6455 §5.1).
    #[error("masked frame from the server")]
    MaskedFrame,
    /// A client sent an unmasked frame (RFC 6455 §5.1).
    #[error("unmasked frame from the client")]
    UnmaskedFrame,
    /// A continuation frame with no fragmented message in progress.
    #[error("continuation frame without a message to continue")]
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message is unfinished.
    #[error("new data frame before the fragmented message finished")]
    ExpectedContinuation,
    /// A text message that is not UTF-8, detected at the first bad byte.
    #[error("invalid UTF-8 in a text message")]
    InvalidUtf8,
    /// A Close frame with a 1-byte payload.
    #[error("close frame payload of 1 byte")]
    InvalidClosePayload,
    /// A Close frame with a code that may not be sent on the wire.
    #[error("invalid close code {0}")]
    InvalidCloseCode(u16),
    /// A Close frame whose reason is not UTF-8.
    #[error("invalid UTF-8 in a close reason")]
    InvalidCloseReason,
    /// A frame longer than the configured maximum frame size.
    #[error("frame of {len} bytes exceeds the limit of {limit}")]
    FrameTooLarge {
        /// Declared payload length.
        len: u64,
        /// The configured limit.
        limit: usize,
    },
    /// A compressed message that does not inflate (RFC 7692 §6.2).
    #[error("compressed message does not inflate")]
    InvalidCompressedData,
    /// RSV1 set on a continuation or control frame of a compressed stream.
    #[error("compressed bit set on a continuation or control frame")]
    MisplacedCompressedBit,
    /// A message longer than the configured maximum message size.
    #[error("message exceeds the limit of {limit} bytes")]
    MessageTooLarge {
        /// The configured limit.
        limit: usize,
    },
}

impl ProtocolError {
    /// The close code this error is answered with (RFC 6455 §7.4.1).
    pub fn close_code(&self) -> u16 {
        match self {
            ProtocolError::InvalidUtf8
            | ProtocolError::InvalidCloseReason
            | ProtocolError::InvalidCompressedData => 1007,
            ProtocolError::FrameTooLarge { .. } | ProtocolError::MessageTooLarge { .. } => 1009,
            _ => 1002,
        }
    }
}

/// The server's answer to the opening handshake was not a valid upgrade.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The server answered with a status other than 101.
    #[error("server answered {status} instead of 101 Switching Protocols")]
    Status {
        /// The HTTP status code.
        status: u16,
    },
    /// The response (or request, in the server role) is not valid HTTP/1.1.
    #[error("malformed HTTP: {0}")]
    Malformed(String),
    /// The header block did not end within the configured limit.
    #[error("header block exceeds the limit of {limit} bytes")]
    HeadersTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// More header lines than the parser accepts.
    #[error("more than {limit} header lines")]
    TooManyHeaders {
        /// Most header lines accepted.
        limit: usize,
    },
    /// `Upgrade: websocket` is missing.
    #[error("missing or wrong Upgrade header")]
    MissingUpgrade,
    /// `Connection: upgrade` is missing.
    #[error("missing or wrong Connection header")]
    MissingConnectionUpgrade,
    /// `Sec-WebSocket-Accept` is missing or does not match the key sent.
    #[error("Sec-WebSocket-Accept is missing or does not match the key")]
    AcceptMismatch,
    /// The server chose a subprotocol the client never offered.
    #[error("server chose subprotocol {0:?}, which was not offered")]
    UnexpectedProtocol(String),
    /// The server named more than one subprotocol.
    #[error("server named more than one subprotocol")]
    MultipleProtocols,
    /// The server answered with an extension the client never offered.
    #[error("server answered with extension {0:?}, which was not offered")]
    UnexpectedExtension(String),
    /// The server's permessage-deflate answer breaks RFC 7692 or the offer
    /// (a parameter not allowed, out of range, repeated, or missing).
    #[error("invalid permessage-deflate answer: {0}")]
    InvalidExtension(String),
    /// Server role: the request is not a WebSocket upgrade.
    #[error("not a WebSocket upgrade request: {0}")]
    BadRequest(&'static str),
}

/// An option that cannot be used, found before anything connects. Values
/// are quoted back only where they are no secret: a custom header's value
/// never is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionError {
    /// The `Host` is empty or not a valid header value.
    #[error("invalid host {0:?}")]
    Host(String),
    /// The request target does not start with `/` or has spaces or controls.
    #[error("invalid request target {0:?}")]
    Resource(String),
    /// A subprotocol is not an HTTP token.
    #[error("subprotocol {0:?} is not an HTTP token")]
    ProtocolNotToken(String),
    /// The same subprotocol is offered twice.
    #[error("subprotocol {0:?} offered twice")]
    ProtocolTwice(String),
    /// An extension offer is not a valid header value.
    #[error("invalid extension offer {0:?}")]
    Extension(String),
    /// The `Origin` or `User-Agent` is not a valid header value.
    #[error("invalid header value {0:?}")]
    HeaderValue(String),
    /// A custom header's name is not a valid header name.
    #[error("invalid header name {0:?}")]
    HeaderName(String),
    /// A custom header would replace one the handshake sets itself.
    #[error("header {0:?} is set by the handshake itself")]
    ManagedHeader(String),
    /// A custom header's value (not shown) is not a valid header value.
    #[error("invalid value for header {0:?}")]
    ValueOfHeader(String),
    /// A request whose method is not GET (a WebSocket opens with a GET).
    #[error("a WebSocket opens with GET, not {0}")]
    Method(String),
    /// A permessage-deflate window size outside 8-15 bits.
    #[error("window bits {0} outside 8 to 15")]
    WindowBits(u8),
    /// A zlib compression level outside 0-9.
    #[error("compression level {0} outside 0 to 9")]
    Level(u32),
}

/// The stage of the connection pipeline a [`ConnectError`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// Checking the URL and options, before any I/O.
    Prepare,
    /// Looking the host name up.
    Resolve,
    /// The TCP connect (every address, raced).
    Connect,
    /// The proxy tunnel (HTTP CONNECT or SOCKS5).
    Tunnel,
    /// The TLS handshake (`wss://`).
    Tls,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Prepare => "preparing",
            Stage::Resolve => "resolving",
            Stage::Connect => "connecting",
            Stage::Tunnel => "opening the proxy tunnel",
            Stage::Tls => "in the TLS handshake",
        })
    }
}

/// Why a connection could not be set up (before any HTTP was exchanged).
///
/// The OS error behind a failed lookup or connect is kept whole, as
/// [`source`](std::error::Error::source), and not repeated in Display.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL could not be parsed.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// The URL's scheme is not ws (or wss where TLS is available).
    #[error("unsupported URL scheme {0:?}{hint}", hint = scheme_hint(.0))]
    UnsupportedScheme(String),
    /// A handshake option (header, subprotocol, origin) is not valid on
    /// the wire, or a compression setting is out of range.
    #[error("invalid handshake option: {0}")]
    InvalidOption(OptionError),
    /// The host name did not resolve to any address.
    #[error("could not resolve {host}")]
    Resolve {
        /// The host looked up.
        host: String,
        /// What the resolver said.
        source: Arc<io::Error>,
    },
    /// Every address refused or failed the TCP connect.
    #[error("could not connect to {addr}")]
    Connect {
        /// The last address tried.
        addr: String,
        /// The last error seen.
        source: Arc<io::Error>,
    },
    /// The proxy would not open a tunnel, or its URL cannot be used.
    #[error("proxy {proxy} failed")]
    Proxy {
        /// The proxy's URL, without credentials.
        proxy: String,
        /// Why.
        source: ProxyError,
    },
    /// The TLS handshake failed, or the TLS settings cannot be used.
    #[error("TLS failed")]
    Tls(#[source] TlsError),
    /// The exit handle stopped the attempt before it connected.
    #[error("stopped by the exit handle")]
    Stopped,
    /// The connect timeout ran out during `stage`.
    #[error("connect timed out while {stage}")]
    Timeout {
        /// The stage that was running.
        stage: Stage,
    },
}

/// What to write instead of an unsupported scheme.
fn scheme_hint(scheme: &str) -> &'static str {
    match scheme.to_ascii_lowercase().as_str() {
        "http" => ": use ws:// for a WebSocket",
        "https" => ": use wss:// for a WebSocket",
        s if s.starts_with("wss") => "",
        _ => ": WebSocket URLs start with ws:// or wss://",
    }
}

impl ConnectError {
    /// The pipeline stage that failed.
    pub fn stage(&self) -> Stage {
        match self {
            ConnectError::InvalidUrl(_)
            | ConnectError::UnsupportedScheme(_)
            | ConnectError::InvalidOption(_) => Stage::Prepare,
            ConnectError::Resolve { .. } => Stage::Resolve,
            ConnectError::Connect { .. } => Stage::Connect,
            ConnectError::Proxy {
                source: ProxyError::InvalidUrl(_),
                ..
            } => Stage::Prepare,
            ConnectError::Proxy { .. } => Stage::Tunnel,
            ConnectError::Tls(TlsError::Settings(_)) => Stage::Prepare,
            ConnectError::Tls(_) => Stage::Tls,
            ConnectError::Timeout { stage } => *stage,
            ConnectError::Stopped => Stage::Connect,
        }
    }
}

/// Why a proxy did not open a tunnel. Nothing here holds credentials.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The proxy URL cannot be used (scheme, host, port, credentials).
    #[error("invalid proxy URL: {0}")]
    InvalidUrl(String),
    /// The HTTP proxy wants credentials, or refused the ones given: a 407,
    /// or the 401 some proxies (tinyproxy) send instead.
    #[error("the proxy requires authentication ({status})")]
    AuthRequired {
        /// The HTTP status, 407 or 401.
        status: u16,
    },
    /// The HTTP proxy answered CONNECT with a status other than 2xx.
    #[error("the proxy answered CONNECT with {status}")]
    Status {
        /// The HTTP status.
        status: u16,
    },
    /// The proxy's answer is not valid HTTP or SOCKS5.
    #[error("malformed proxy answer: {0}")]
    Malformed(String),
    /// The proxy's answer did not end within the limit.
    #[error("the proxy's answer exceeds {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// The proxy closed the connection before the tunnel was open.
    #[error("the proxy closed the connection")]
    Closed,
    /// The SOCKS5 proxy accepts none of the authentication methods offered.
    #[error("the SOCKS5 proxy accepts none of the methods offered")]
    NoAcceptableMethod,
    /// The SOCKS5 proxy refused the username and password.
    #[error("the SOCKS5 proxy refused the credentials")]
    AuthFailed,
    /// The SOCKS5 proxy refused the connect; `code` is its reply code
    /// (RFC 1928 §6), named by the message.
    #[error("the SOCKS5 proxy refused: {}", socks_reply(*.code))]
    Socks {
        /// The reply code, 0x01 to 0xFF.
        code: u8,
    },
    /// The host name is too long for SOCKS5 (over 255 bytes).
    #[error("host name too long for SOCKS5")]
    HostTooLong,
    /// The proxy itself could not be reached: its name did not resolve,
    /// or it refused the TCP connect (a stale `http_proxy` says so here,
    /// not as a failure of the server's address).
    #[error("could not reach the proxy")]
    Unreachable(#[source] Box<ConnectError>),
    /// Reading or writing the proxy's socket failed.
    #[error("i/o error talking to the proxy")]
    Io(#[source] Arc<io::Error>),
    /// TLS to an `https://` proxy failed: its certificate, or the
    /// handshake.
    #[error("TLS to the proxy failed")]
    Tls(#[source] TlsError),
}

/// RFC 1928's names for SOCKS5 reply codes.
fn socks_reply(code: u8) -> &'static str {
    match code {
        0x01 => "general SOCKS server failure",
        0x02 => "connection not allowed by ruleset",
        0x03 => "network unreachable",
        0x04 => "host unreachable",
        0x05 => "connection refused",
        0x06 => "TTL expired",
        0x07 => "command not supported",
        0x08 => "address type not supported",
        _ => "unassigned reply code",
    }
}

/// Why TLS failed: each common failure of a certificate or a handshake by
/// name, the rest with rustls' own error kept as the source.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The server's certificate chain does not lead to a trusted root.
    #[error("the server's certificate was issued by an unknown authority")]
    UnknownIssuer,
    /// The server's certificate (or one in its chain) has expired or is
    /// not valid yet.
    #[error("the server's certificate has expired or is not yet valid")]
    Expired,
    /// The server's certificate is not valid for the host in the URL.
    #[error("the server's certificate is not valid for {host}")]
    NotValidForName {
        /// The host name (or address) connected to.
        host: String,
    },
    /// The server's certificate was revoked.
    #[error("the server's certificate was revoked")]
    Revoked,
    /// The server demanded a client certificate and none was configured
    /// (or it refused the one given).
    #[error("the server requires a client certificate")]
    ClientCertificateRequired,
    /// The server ended the handshake with a TLS alert.
    #[error("the server sent TLS alert {alert}")]
    Alert {
        /// The alert's name, as rustls gives it (`HandshakeFailure`, ...).
        alert: String,
    },
    /// The server closed the connection during the TLS handshake.
    #[error("the server closed the connection during the TLS handshake")]
    Closed,
    /// Reading or writing the socket failed during the handshake.
    #[error("i/o error in the TLS handshake")]
    Io(#[source] Arc<io::Error>),
    /// The TLS settings cannot be used: a PEM file that holds no
    /// certificate or key, a key that does not match, no trust store.
    #[error("TLS settings: {0}")]
    Settings(String),
    /// Anything else rustls reports.
    #[error("TLS error")]
    Other(#[source] Arc<dyn std::error::Error + Send + Sync>),
}

/// Why a send was refused. Nothing was queued when this is returned,
/// except for [`Io`](Self::Io), where the write of what was queued failed.
///
/// Equality compares [`Io`](Self::Io) errors by their kind.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The opening handshake has not completed.
    #[error("the WebSocket is not open yet")]
    NotReady,
    /// A Close frame was already sent; no more data may follow it.
    #[error("the WebSocket is closing")]
    Closing,
    /// The connection is gone.
    #[error("the WebSocket is closed")]
    Closed,
    /// Ping, pong and close payloads are limited to 125 bytes.
    #[error("control frame payload longer than 125 bytes")]
    ControlPayloadTooLong,
    /// Close codes 1004-1006, 1015 and those outside 1000-4999 cannot be sent.
    #[error("close code {0} may not be sent")]
    InvalidCloseCode(u16),
    /// The outgoing buffer is over its limit: the peer is not reading.
    #[error("outgoing buffer is over its limit of {limit} bytes")]
    WriteBufferFull {
        /// The configured limit.
        limit: usize,
    },
    /// Writing to the socket failed (the OS error is the source).
    #[error("write failed")]
    Io(#[source] Arc<io::Error>),
    /// A persistent WebSocket is between connections (no outbox is set,
    /// or this is not a message the outbox keeps).
    #[error("the WebSocket is disconnected and reconnecting")]
    Disconnected,
    /// The outbox is full: the message was not kept.
    #[error("the outbox is full (at most {messages} messages, {bytes} bytes)")]
    OutboxFull {
        /// Its limit in messages.
        messages: usize,
        /// Its limit in payload bytes.
        bytes: usize,
    },
}

impl From<io::Error> for SendError {
    fn from(e: io::Error) -> SendError {
        SendError::Io(Arc::new(e))
    }
}

impl PartialEq for SendError {
    fn eq(&self, other: &SendError) -> bool {
        use SendError::*;
        match (self, other) {
            (NotReady, NotReady)
            | (Closing, Closing)
            | (Closed, Closed)
            | (Disconnected, Disconnected)
            | (ControlPayloadTooLong, ControlPayloadTooLong) => true,
            (
                OutboxFull {
                    messages: a,
                    bytes: b,
                },
                OutboxFull {
                    messages: c,
                    bytes: d,
                },
            ) => a == c && b == d,
            (InvalidCloseCode(a), InvalidCloseCode(b)) => a == b,
            (WriteBufferFull { limit: a }, WriteBufferFull { limit: b }) => a == b,
            (Io(a), Io(b)) => a.kind() == b.kind(),
            _ => false,
        }
    }
}

impl Eq for SendError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    /// Down every error's chain of sources, no Display holds its
    /// source's: `{:#}` in anyhow, which prints the chain, says each thing
    /// once.
    #[test]
    fn no_display_repeats_its_source() {
        let os = || Arc::new(io::Error::from_raw_os_error(111));
        let tls = || TlsError::Io(os());
        let errors: Vec<Box<dyn std::error::Error>> = vec![
            Box::new(ConnectError::Resolve {
                host: "example.invalid".into(),
                source: Arc::new(io::Error::other("no such host")),
            }),
            Box::new(ConnectError::Connect {
                addr: "127.0.0.1:1".into(),
                source: os(),
            }),
            Box::new(ConnectError::Proxy {
                proxy: "http://proxy:3128".into(),
                source: ProxyError::Io(os()),
            }),
            Box::new(ConnectError::Proxy {
                proxy: "https://proxy:3129".into(),
                source: ProxyError::Tls(tls()),
            }),
            Box::new(ConnectError::Proxy {
                proxy: "http://proxy:3128".into(),
                source: ProxyError::Unreachable(Box::new(ConnectError::Connect {
                    addr: "10.0.0.1:3128".into(),
                    source: os(),
                })),
            }),
            Box::new(ConnectError::Tls(tls())),
            Box::new(ConnectError::Tls(TlsError::Other(Arc::new(
                io::Error::other("rustls says so"),
            )))),
            Box::new(SendError::from(io::Error::from_raw_os_error(32))),
            Box::new(crate::Error::Connect(ConnectError::Tls(tls()))),
            Box::new(crate::Error::Send(SendError::Io(os()))),
            Box::new(crate::Error::Disconnected(
                crate::DisconnectReason::Io(os()),
            )),
        ];
        for error in &errors {
            let mut chain = vec![error.to_string()];
            let mut next = error.source();
            while let Some(source) = next {
                chain.push(source.to_string());
                next = source.source();
            }
            assert!(
                chain.len() >= 2
                    || matches!(
                        error.downcast_ref::<crate::Error>(),
                        Some(crate::Error::Disconnected(_))
                    ),
                "{chain:?} has no source"
            );
            for pair in chain.windows(2) {
                assert!(!pair[0].contains(&pair[1]), "{chain:?}");
            }
            // Each text once in the whole chain, as anyhow's {:#} joins it.
            let joined = chain.join(": ");
            for part in &chain {
                assert_eq!(joined.matches(part.as_str()).count(), 1, "{joined}");
            }
        }
    }

    #[test]
    fn os_errors_survive_as_sources_and_display_says_each_thing_once() {
        let refused = io::Error::from_raw_os_error(111);
        let e = ConnectError::Connect {
            addr: "127.0.0.1:1".into(),
            source: Arc::new(refused),
        };
        assert_eq!(e.to_string(), "could not connect to 127.0.0.1:1");
        let source = e.source().unwrap().downcast_ref::<Arc<io::Error>>();
        let os = source.map(|s| s.raw_os_error());
        assert_eq!(os, Some(Some(111)));
        let send = SendError::from(io::Error::from_raw_os_error(32));
        assert_eq!(send.to_string(), "write failed");
        assert!(send.source().unwrap().to_string().contains("pipe"));
        assert_eq!(
            send,
            SendError::from(io::Error::from(io::ErrorKind::BrokenPipe))
        );
        assert_ne!(send, SendError::Closed);
        assert_eq!(
            ConnectError::Timeout {
                stage: Stage::Resolve
            }
            .to_string(),
            "connect timed out while resolving"
        );
    }
}
