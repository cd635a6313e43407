//! [`Options`]: everything a driver needs to open one connection, shared by
//! every driver so that they cannot disagree on defaults.

use crate::error::ConnectError;
use crate::proto::{ClientRequest, Config};
use crate::transport::resolve::Resolver;
use std::time::Duration;

/// The default `User-Agent`.
pub const USER_AGENT: &str = concat!("lomond-rs/", env!("CARGO_PKG_VERSION"));

/// Connection options: handshake contents, protocol [`Config`], and the
/// driver's own timeouts.
#[derive(Clone)]
#[non_exhaustive]
pub struct Options {
    /// Protocol limits and timers.
    pub config: Config,
    /// Subprotocols to offer, in order of preference.
    pub protocols: Vec<String>,
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
    /// `Origin` header.
    pub origin: Option<String>,
    /// `User-Agent` header (default `lomond-rs/VERSION`; `None` sends none).
    pub user_agent: Option<String>,
    /// Limit on the whole connect pipeline before the upgrade request:
    /// DNS, TCP connect (default 30 s). The handshake has its own,
    /// [`Config::handshake_timeout`], from the request on.
    pub connect_timeout: Option<Duration>,
    /// Limit on a socket write making no progress (default 30 s), in both
    /// drivers: a peer that stops reading ends the connection.
    pub write_timeout: Option<Duration>,
    /// How host names are looked up (default: the system's resolver).
    pub resolver: Resolver,
    /// Happy Eyeballs' stagger: how long an attempt to connect to one
    /// address runs before the next address is tried beside it
    /// (default 250 ms, as RFC 8305 recommends).
    pub happy_eyeballs_delay: Duration,
    /// TCP keepalive: probe after the connection is idle this long
    /// (default off; the WebSocket pings of [`Config::ping_rate`] are the
    /// usual keepalive).
    pub tcp_keepalive: Option<Duration>,
    /// Which proxy to tunnel through (default: from the environment, as
    /// curl reads it).
    pub proxy: crate::transport::ProxySetting,
    /// How `wss://` connections are secured (default: the operating
    /// system's trust store).
    #[cfg(feature = "tls")]
    pub tls: crate::transport::TlsOptions,
    /// How TLS to an `https://` proxy is secured (default: as `tls`).
    #[cfg(feature = "tls")]
    pub proxy_tls: Option<crate::transport::TlsOptions>,
}

/// Header values are left out (an `Authorization` header carries a
/// credential); everything else is shown.
impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        struct Names<'a>(&'a [(String, String)]);
        impl std::fmt::Debug for Names<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_list()
                    .entries(self.0.iter().map(|(name, _)| format!("{name}: <hidden>")))
                    .finish()
            }
        }
        let mut d = f.debug_struct("Options");
        d.field("config", &self.config)
            .field("protocols", &self.protocols)
            .field("headers", &Names(&self.headers))
            .field("origin", &self.origin)
            .field("user_agent", &self.user_agent)
            .field("connect_timeout", &self.connect_timeout)
            .field("write_timeout", &self.write_timeout)
            .field("resolver", &self.resolver)
            .field("happy_eyeballs_delay", &self.happy_eyeballs_delay)
            .field("tcp_keepalive", &self.tcp_keepalive)
            .field("proxy", &self.proxy);
        #[cfg(feature = "tls")]
        d.field("tls", &self.tls)
            .field("proxy_tls", &self.proxy_tls);
        d.finish()
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            config: Config::default(),
            protocols: Vec::new(),
            headers: Vec::new(),
            origin: None,
            user_agent: Some(USER_AGENT.to_owned()),
            connect_timeout: Some(Duration::from_secs(30)),
            write_timeout: Some(Duration::from_secs(30)),
            resolver: Resolver::system(),
            happy_eyeballs_delay: Duration::from_millis(250),
            tcp_keepalive: None,
            proxy: Default::default(),
            #[cfg(feature = "tls")]
            tls: Default::default(),
            #[cfg(feature = "tls")]
            proxy_tls: None,
        }
    }
}

impl Options {
    /// The TLS settings for an `https://` proxy.
    #[cfg(feature = "tls")]
    pub(crate) fn proxy_tls(&self) -> &crate::transport::TlsOptions {
        self.proxy_tls.as_ref().unwrap_or(&self.tls)
    }
}

/// Where to connect and what to ask for, from a URL and [`Options`].
#[derive(Debug, Clone)]
pub struct Target {
    /// Host name or address literal (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// `wss` (TLS).
    pub secure: bool,
    /// The upgrade request.
    pub request: ClientRequest,
}

impl Target {
    /// Parses a `ws://` or `wss://` URL and checks every handshake option, so
    /// that nothing invalid is found only after connecting.
    pub fn new(url: &str, options: &Options) -> Result<Target, ConnectError> {
        if !url.contains("://") {
            // `example.com` (relative) and `example.com:8080` (a scheme
            // `example.com`!) both lack one; say what to add. Anything
            // before an `@` is left out: it may be a user name.
            let shown = url.rsplit_once('@').map_or(url, |(_, rest)| rest);
            return Err(ConnectError::InvalidUrl(format!(
                "{shown:?} has no scheme: WebSocket URLs start with ws:// or wss:// \
                 (for example ws://{shown})"
            )));
        }
        let parsed = url::Url::parse(url).map_err(|e| ConnectError::InvalidUrl(e.to_string()))?;
        let (secure, default_port) = match parsed.scheme() {
            "ws" => (false, 80),
            "wss" => (true, 443),
            other => return Err(ConnectError::UnsupportedScheme(other.to_owned())),
        };
        let host = match parsed.host() {
            Some(url::Host::Domain(d)) => d.to_owned(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            None => {
                return Err(ConnectError::InvalidUrl(format!(
                    "{}: no host",
                    crate::trace::redact(url)
                )))
            }
        };
        if parsed.fragment().is_some() {
            return Err(ConnectError::InvalidUrl(format!(
                "{}: WebSocket URLs have no fragment",
                crate::trace::redact(url)
            )));
        }
        let port = parsed.port().unwrap_or(default_port);
        let host_header = match (parsed.host_str(), parsed.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => unreachable!("host checked above"),
        };
        let mut resource = parsed.path().to_owned();
        if let Some(q) = parsed.query() {
            resource.push('?');
            resource.push_str(q);
        }
        let request = ClientRequest {
            host: host_header,
            resource,
            origin: options.origin.clone(),
            protocols: options.protocols.clone(),
            extensions: Vec::new(),
            headers: options.headers.clone(),
            user_agent: options.user_agent.clone(),
        };
        request.validate().map_err(ConnectError::InvalidOption)?;
        if let Some(deflate) = &options.config.deflate {
            deflate.validate().map_err(ConnectError::InvalidOption)?;
        }
        Ok(Target {
            host,
            port,
            secure,
            request,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let o = Options::default();
        let t = Target::new("ws://example.com/chat?x=1", &o).unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.secure),
            ("example.com", 80, false)
        );
        assert_eq!(t.request.host, "example.com");
        assert_eq!(t.request.resource, "/chat?x=1");
        let t = Target::new("wss://example.com:8443", &o).unwrap();
        assert_eq!((t.port, t.secure), (8443, true));
        assert_eq!(t.request.host, "example.com:8443");
        assert_eq!(t.request.resource, "/");
        let t = Target::new("ws://[::1]:9001/", &o).unwrap();
        assert_eq!(
            (t.host.as_str(), t.request.host.as_str()),
            ("::1", "[::1]:9001")
        );
        // A default port given explicitly is left out of Host.
        let t = Target::new("ws://h:80/", &o).unwrap();
        assert_eq!(t.request.host, "h");
        assert!(matches!(
            Target::new("http://h/", &o),
            Err(ConnectError::UnsupportedScheme(s)) if s == "http"
        ));
        assert!(matches!(
            Target::new("not a url", &o),
            Err(ConnectError::InvalidUrl(_))
        ));
        // A missing scheme gets a hint, whether the rest would parse as a
        // relative URL or as a scheme of its own; a user name is left out.
        let hint = |url: &str| Target::new(url, &o).err().unwrap().to_string();
        assert_eq!(
            hint("example.com/feed"),
            "invalid URL: \"example.com/feed\" has no scheme: WebSocket URLs start \
             with ws:// or wss:// (for example ws://example.com/feed)"
        );
        assert!(hint("example.com:8080").ends_with("(for example ws://example.com:8080)"));
        assert!(!hint("alice@example.com").contains("alice"));
        assert_eq!(
            hint("http://h/"),
            "unsupported URL scheme \"http\": use ws:// for a WebSocket"
        );
        assert_eq!(
            hint("ftp://h/"),
            "unsupported URL scheme \"ftp\": WebSocket URLs start with ws:// or wss://"
        );
        assert!(matches!(
            Target::new("ws://h/#frag", &o),
            Err(ConnectError::InvalidUrl(_))
        ));
        // No error quotes a password from the URL.
        for url in [
            "ws://alice:s3cret@h/#frag",
            "ws://alice:s3cret@/",
            "wss://alice:s3cret@[::1/",
        ] {
            let shown = format!("{:?} {}", Target::new(url, &o).err(), hint(url));
            assert!(!shown.contains("s3cret"), "{shown}");
        }
        let bad = Options {
            headers: vec![("X".into(), "a\r\nb".into())],
            ..Options::default()
        };
        assert!(matches!(
            Target::new("ws://h/", &bad),
            Err(ConnectError::InvalidOption(_))
        ));
    }
}
