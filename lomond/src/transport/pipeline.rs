//! [`Plan`]: one connection attempt from URL to protocol core, as both
//! drivers run it; they differ only in how they wait.

use super::exchange;
use super::proxy::socks5::Destination;
use super::proxy::{Opening, Proxy, ProxyKind};
#[cfg(feature = "tokio")]
use super::AsyncSocket;
use super::{tcp, Socket};
use crate::error::ConnectError;
use crate::options::{Options, Target};
use crate::proto::Connection;
use std::net::IpAddr;
use std::time::Instant;

/// The checked target of one connection attempt and its connect deadline.
pub(crate) struct Plan {
    target: Target,
    /// When the connect timeout runs out (on the driver's clock).
    deadline: Option<Instant>,
    /// The proxy tunnelled through, without credentials, once connected.
    proxy: Option<String>,
    /// Bytes that arrived after the tunnel's answer: the session's first.
    leftover: Vec<u8>,
}

/// Where the tunnel is asked to go, and whether it is the name or an
/// address looked up here (`socks5://`).
fn destination(host: &str) -> Destination {
    match host.parse::<IpAddr>() {
        Ok(ip) => Destination::Ip(ip),
        Err(_) => Destination::Name(host.to_owned()),
    }
}

impl Plan {
    /// Checks the URL and options; the connect timeout starts at `now`.
    pub(crate) fn new(url: &str, options: &Options, now: Instant) -> Result<Plan, ConnectError> {
        let target = Target::new(url, options)?;
        #[cfg(not(feature = "tls"))]
        if target.secure {
            return Err(ConnectError::UnsupportedScheme(
                "wss (lomond was built without its \"tls\" feature)".into(),
            ));
        }
        Ok(Plan {
            target,
            deadline: options.connect_timeout.map(|t| now + t),
            proxy: None,
            leftover: Vec::new(),
        })
    }

    /// The proxy the connection went through, without credentials.
    pub(crate) fn proxy(&self) -> Option<Box<str>> {
        self.proxy.as_deref().map(Box::from)
    }

    fn choose_proxy(&self, options: &Options) -> Result<Option<Proxy>, ConnectError> {
        let t = &self.target;
        options.proxy.choose(t.secure, &t.host, t.port)
    }

    /// Resolves, connects, tunnels through a proxy if one applies, and
    /// (for `wss://`) runs the TLS handshake, blocking.
    pub(crate) fn connect(&mut self, options: &Options) -> Result<Socket, ConnectError> {
        let t = &self.target;
        let (tcp, leftover) = match self.choose_proxy(options)? {
            None => (
                tcp::connect(&t.host, t.port, options, self.deadline)?.0,
                Vec::new(),
            ),
            Some(proxy) => {
                let to = match proxy.kind {
                    ProxyKind::Socks5 => {
                        let addrs = options.resolver.lookup(&t.host, t.port, self.deadline)?;
                        Destination::Ip(addrs[0].ip())
                    }
                    _ => destination(&t.host),
                };
                let mut opening = Opening::new(&proxy, to, t.port)?;
                let (tcp, _) = tcp::connect(&proxy.host, proxy.port, options, self.deadline)?;
                exchange::run(&mut opening, &tcp, self.deadline)?;
                self.proxy = Some(opening.proxy.clone());
                (tcp, opening.take_leftover())
            }
        };
        #[cfg(feature = "tls")]
        if t.secure {
            let tls = super::tls::handshake(tcp, &options.tls, &t.host, &leftover, self.deadline)?;
            return Ok(Socket::Tls(Box::new(tls)));
        }
        self.leftover = leftover;
        Ok(Socket::Tcp(tcp))
    }

    /// [`connect`](Self::connect) on tokio.
    #[cfg(feature = "tokio")]
    pub(crate) async fn connect_async(
        &mut self,
        options: &Options,
    ) -> Result<AsyncSocket, ConnectError> {
        let t = &self.target;
        let (mut tcp, leftover) = match self.choose_proxy(options)? {
            None => (
                tcp::connect_async(&t.host, t.port, options, self.deadline)
                    .await?
                    .0,
                Vec::new(),
            ),
            Some(proxy) => {
                let to = match proxy.kind {
                    ProxyKind::Socks5 => {
                        let resolver = &options.resolver;
                        let addrs = resolver
                            .lookup_async(&t.host, t.port, self.deadline)
                            .await?;
                        Destination::Ip(addrs[0].ip())
                    }
                    _ => destination(&t.host),
                };
                let mut opening = Opening::new(&proxy, to, t.port)?;
                let (mut tcp, _) =
                    tcp::connect_async(&proxy.host, proxy.port, options, self.deadline).await?;
                exchange::run_async(&mut opening, &mut tcp, self.deadline).await?;
                self.proxy = Some(opening.proxy.clone());
                (tcp, opening.take_leftover())
            }
        };
        #[cfg(feature = "tls")]
        if t.secure {
            let (tcp, link) =
                super::tls::handshake_async(tcp, &options.tls, &t.host, &leftover, self.deadline)
                    .await?;
            return Ok(AsyncSocket::Tls(Box::new((tcp, link))));
        }
        let _ = &mut tcp;
        self.leftover = leftover;
        Ok(AsyncSocket::Tcp(tcp))
    }

    /// The protocol core for the session, made once the transport is up,
    /// so that the handshake timeout counts from the upgrade request, not
    /// from before DNS.
    pub(crate) fn session(
        self,
        options: &Options,
        now: Instant,
    ) -> Result<Connection, ConnectError> {
        let mut core = Connection::client(self.target.request, options.config.clone(), now)
            .map_err(ConnectError::InvalidOption)?;
        if !self.leftover.is_empty() {
            core.handle_input(&self.leftover, now);
        }
        Ok(core)
    }
}
