//! The proxy tunnel stage: HTTP CONNECT or SOCKS5, chosen explicitly or
//! from the environment as curl reads it, each a small sans-IO state
//! machine (bytes in, bytes out, what follows the proxy's answer handed to
//! the next stage) that both drivers run between TCP connect and TLS.
//!
//! ```
//! use lomond::{Proxy, WebSocket};
//!
//! // The default: http_proxy, https_proxy, all_proxy and no_proxy, as
//! // curl reads them.
//! let from_env = WebSocket::new("wss://example.com/feed")?;
//! // Always this one; the credentials go to the proxy and nowhere else.
//! let given = WebSocket::new("wss://example.com/feed")?
//!     .proxy("socks5h://alice:s3cret@10.0.0.1:1080");
//! // Never.
//! let direct = WebSocket::new("ws://127.0.0.1:9001/")?.no_proxy();
//!
//! let proxy = Proxy::parse("http://alice:s3cret@proxy.lan:3128")?;
//! assert_eq!((proxy.host.as_str(), proxy.port), ("proxy.lan", 3128));
//! assert!(!format!("{proxy} {proxy:?} {given:?}").contains("s3cret"));
//! # drop((from_env, direct));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A tunnel that fails is a `ConnectFail` whose [`ConnectError::Proxy`]
//! holds a [`ProxyError`]: the proxy's refusal with its status, an
//! authentication failure, a malformed answer. `examples/proxy.rs` runs
//! through a real one.

pub mod env;
pub mod http_connect;
pub mod socks5;

use super::exchange::{Exchange, Next};
use crate::error::{ConnectError, ProxyError, Stage};
use std::fmt;
use std::io;
use std::sync::Arc;

/// A username and password; never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name, percent-decoded.
    pub user: String,
    /// The password, percent-decoded.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(<redacted>)")
    }
}

/// The kind of proxy, from its URL's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyKind {
    /// `http://`: an HTTP proxy, asked to CONNECT.
    Http,
    /// `https://`: an HTTP proxy reached over TLS, asked to CONNECT; a
    /// `wss://` connection runs its own TLS inside that.
    Https,
    /// `socks5://`: SOCKS5, the target resolved here.
    Socks5,
    /// `socks5h://`: SOCKS5, the target's name resolved by the proxy.
    Socks5h,
}

/// A proxy to tunnel through: kind, address and credentials. Display and
/// Debug never show the credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    /// Its kind.
    pub kind: ProxyKind,
    /// Its host name or address (IPv6 without brackets).
    pub host: String,
    /// Its port (default 1080, or 80 for `http://` and 443 for
    /// `https://`).
    pub port: u16,
    /// Credentials from the URL's user info, if any.
    pub auth: Option<Credentials>,
}

impl Proxy {
    /// Parses a proxy URL: `http://`, `https://`, `socks5://` or
    /// `socks5h://`, with
    /// optional percent-encoded `user:password@`. A URL without a scheme
    /// is `http://`, as curl takes it.
    pub fn parse(url: &str) -> Result<Proxy, ProxyError> {
        let url = url.trim();
        let with_scheme;
        let url = if url.contains("://") {
            url
        } else {
            with_scheme = format!("http://{url}");
            &with_scheme
        };
        // The error never quotes the URL: it may hold a password.
        let parsed = url::Url::parse(url)
            .map_err(|e| ProxyError::InvalidUrl(format!("cannot be parsed: {e}")))?;
        let (kind, default_port) = match parsed.scheme() {
            "http" => (ProxyKind::Http, 80),
            "socks5" => (ProxyKind::Socks5, 1080),
            "socks5h" => (ProxyKind::Socks5h, 1080),
            "https" => (ProxyKind::Https, 443),
            other => {
                return Err(ProxyError::InvalidUrl(format!(
                    "unsupported proxy scheme {other:?}"
                )))
            }
        };
        let host = match parsed.host() {
            Some(url::Host::Domain(d)) => d.to_owned(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            None => return Err(ProxyError::InvalidUrl("no host".into())),
        };
        let decode = |s: &str| {
            percent_decode(s)
                .ok_or_else(|| ProxyError::InvalidUrl("credentials are not UTF-8".into()))
        };
        let auth = if parsed.username().is_empty() && parsed.password().is_none() {
            None
        } else {
            Some(Credentials {
                user: decode(parsed.username())?,
                password: decode(parsed.password().unwrap_or(""))?,
            })
        };
        Ok(Proxy {
            kind,
            host,
            port: parsed.port().unwrap_or(default_port),
            auth,
        })
    }
}

impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.kind {
            ProxyKind::Http => "http",
            ProxyKind::Https => "https",
            ProxyKind::Socks5 => "socks5",
            ProxyKind::Socks5h => "socks5h",
        };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Proxy({self}")?;
        if self.auth.is_some() {
            f.write_str(", with credentials")?;
        }
        f.write_str(")")
    }
}

/// Percent-decodes `s` as UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Which proxy a connection uses: the environment's (the default), a
/// given one, or none. Debug never shows the credentials of a given URL.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxySetting {
    /// `http_proxy`, `https_proxy`, `all_proxy` and `no_proxy`, as curl
    /// reads them (see [`mod@env`]).
    #[default]
    FromEnvironment,
    /// Always this proxy (its URL, parsed when connecting).
    Url(String),
    /// Never a proxy.
    Off,
}

impl fmt::Debug for ProxySetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxySetting::FromEnvironment => f.write_str("FromEnvironment"),
            ProxySetting::Off => f.write_str("Off"),
            // Shown as parsed, so that user info is left out; a URL that
            // does not parse is not shown at all (it may hold a password).
            ProxySetting::Url(url) => match Proxy::parse(url) {
                Ok(proxy) => f.debug_tuple("Url").field(&proxy).finish(),
                Err(_) => f.write_str("Url(<invalid>)"),
            },
        }
    }
}

impl ProxySetting {
    /// The proxy for a connection to `host:port` (`secure` for `wss://`).
    pub(crate) fn choose(
        &self,
        secure: bool,
        host: &str,
        port: u16,
    ) -> Result<Option<Proxy>, ConnectError> {
        let fail = |proxy: String, source| ConnectError::Proxy { proxy, source };
        match self {
            ProxySetting::Off => Ok(None),
            ProxySetting::Url(url) => Proxy::parse(url)
                .map(Some)
                .map_err(|e| fail("(as given)".into(), e)),
            ProxySetting::FromEnvironment => {
                env::proxy_for(|name| std::env::var(name).ok(), secure, host, port)
                    .map_err(|e| fail("(from the environment)".into(), e))
            }
        }
    }
}

/// A tunnel being opened.
#[derive(Debug)]
pub(crate) enum Tunnel {
    Http(http_connect::HttpConnect),
    Socks(socks5::Socks5),
}

/// The tunnel through `proxy` and the label its errors carry.
pub(crate) struct Opening {
    pub(crate) tunnel: Tunnel,
    pub(crate) proxy: String,
}

impl Opening {
    /// A tunnel to `destination:port` through `proxy`.
    pub(crate) fn new(
        proxy: &Proxy,
        destination: socks5::Destination,
        port: u16,
    ) -> Result<Opening, ConnectError> {
        let label = proxy.to_string();
        #[cfg(not(feature = "tls"))]
        if proxy.kind == ProxyKind::Https {
            return Err(ConnectError::Proxy {
                proxy: label,
                source: ProxyError::InvalidUrl(
                    "https:// proxies need lomond's \"tls\" feature".into(),
                ),
            });
        }
        let tunnel = match proxy.kind {
            ProxyKind::Http | ProxyKind::Https => {
                let host = match &destination {
                    socks5::Destination::Name(n) => n.clone(),
                    socks5::Destination::Ip(ip) => ip.to_string(),
                };
                Tunnel::Http(http_connect::HttpConnect::new(
                    &host,
                    port,
                    proxy.auth.as_ref(),
                ))
            }
            ProxyKind::Socks5 | ProxyKind::Socks5h => Tunnel::Socks(
                socks5::Socks5::new(destination, port, proxy.auth.clone()).map_err(|source| {
                    ConnectError::Proxy {
                        proxy: label.clone(),
                        source,
                    }
                })?,
            ),
        };
        Ok(Opening {
            tunnel,
            proxy: label,
        })
    }

    /// The bytes after the proxy's last answer, for the next stage.
    pub(crate) fn take_leftover(&mut self) -> Vec<u8> {
        match &mut self.tunnel {
            Tunnel::Http(t) => t.take_leftover(),
            Tunnel::Socks(t) => t.take_leftover(),
        }
    }

    /// TLS to an `https://` proxy failed: the proxy's error, at the tunnel
    /// stage.
    #[cfg(feature = "tls")]
    pub(crate) fn tls_failed(&self, e: ConnectError) -> ConnectError {
        match e {
            ConnectError::Tls(e) => self.fail(ProxyError::Tls(e)),
            ConnectError::Timeout { .. } => ConnectError::Timeout {
                stage: Stage::Tunnel,
            },
            e => e,
        }
    }

    fn fail(&self, source: ProxyError) -> ConnectError {
        ConnectError::Proxy {
            proxy: self.proxy.clone(),
            source,
        }
    }
}

impl Exchange for Opening {
    const STAGE: Stage = Stage::Tunnel;
    fn next(&self) -> Next {
        match &self.tunnel {
            Tunnel::Http(t) => t.next(),
            Tunnel::Socks(t) => t.next(),
        }
    }
    fn take_output(&mut self, out: &mut Vec<u8>) {
        match &mut self.tunnel {
            Tunnel::Http(t) => t.take_output(out),
            Tunnel::Socks(t) => t.take_output(out),
        }
    }
    fn feed(&mut self, input: &[u8]) -> Result<(), ConnectError> {
        let result = match &mut self.tunnel {
            Tunnel::Http(t) => t.feed(input),
            Tunnel::Socks(t) => t.feed(input),
        };
        result.map_err(|e| self.fail(e))
    }
    fn closed(&self) -> ConnectError {
        self.fail(ProxyError::Closed)
    }
    fn io_error(&self, e: io::Error) -> ConnectError {
        self.fail(ProxyError::Io(Arc::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A proxy's password never shows in the Debug of its setting, nor
    /// of the options and WebSocket that hold it, parsed or not.
    #[test]
    fn settings_debug_without_credentials() {
        for url in [
            "socks5h://alice:s3cret@10.0.0.1:1080",
            "alice:s3cret@proxy.lan:3128",
            "ftp://alice:s3cret@proxy.lan/",
            "http://alice:s3cret@[::1/",
        ] {
            let setting = ProxySetting::Url(url.into());
            let ws = crate::WebSocket::new("ws://example.com/")
                .unwrap()
                .proxy(url);
            let shown = format!("{setting:?} {ws:?} {:?}", ws.options());
            assert!(!shown.contains("s3cret"), "{shown}");
        }
        assert_eq!(
            format!("{:?}", ProxySetting::Url("http://a:b@p:1".into())),
            "Url(Proxy(http://p:1, with credentials))"
        );
        assert_eq!(
            format!("{:?}", ProxySetting::Url("gopher://p".into())),
            "Url(<invalid>)"
        );
        assert_eq!(format!("{:?}", ProxySetting::Off), "Off");
    }

    #[test]
    fn proxy_urls() {
        let p = Proxy::parse("http://al%40ice:p%3Ass@proxy.example:3128").unwrap();
        assert_eq!(p.kind, ProxyKind::Http);
        assert_eq!((p.host.as_str(), p.port), ("proxy.example", 3128));
        let auth = p.auth.clone().unwrap();
        assert_eq!(
            (auth.user.as_str(), auth.password.as_str()),
            ("al@ice", "p:ss")
        );
        // Credentials are never shown.
        assert_eq!(p.to_string(), "http://proxy.example:3128");
        let debug = format!("{p:?} {:?}", p.auth);
        assert!(!debug.contains("p:ss") && !debug.contains("ice"), "{debug}");
        let p = Proxy::parse("proxy:8080").unwrap();
        assert_eq!((p.kind, p.port), (ProxyKind::Http, 8080));
        let p = Proxy::parse("socks5h://[::1]").unwrap();
        assert_eq!(
            (p.kind, p.host.as_str(), p.port),
            (ProxyKind::Socks5h, "::1", 1080)
        );
        assert_eq!(p.to_string(), "socks5h://[::1]:1080");
        assert_eq!(
            Proxy::parse("socks5://h:9").unwrap().kind,
            ProxyKind::Socks5
        );
        let p = Proxy::parse("https://u:p@proxy.example").unwrap();
        assert_eq!((p.kind, p.port), (ProxyKind::Https, 443));
        assert_eq!(p.to_string(), "https://proxy.example:443");
        for bad in ["ftp://h", "http://", "socks4://h", "https://"] {
            assert!(
                matches!(Proxy::parse(bad), Err(ProxyError::InvalidUrl(_))),
                "{bad}"
            );
        }
        let e = Proxy::parse("http://user:secret@[bad").unwrap_err();
        assert!(!e.to_string().contains("secret"));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b%2").as_deref(), Some("a b%2"));
        assert_eq!(percent_decode("%zz%41").as_deref(), Some("%zzA"));
        assert_eq!(percent_decode("%ff"), None);
    }
}
