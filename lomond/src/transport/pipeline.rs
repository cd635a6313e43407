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
use crate::trace::trace;
use std::net::IpAddr;
use std::time::Instant;

/// The checked target of one connection attempt and its connect deadline.
pub(crate) struct Plan {
    target: Target,
    /// When the connect timeout runs out (on the driver's clock).
    deadline: Option<Instant>,
    /// The proxy tunnelled through, without credentials, once connected.
    proxy: Option<Box<str>>,
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
        self.proxy.clone()
    }

    fn choose_proxy(&self, options: &Options) -> Result<Option<Proxy>, ConnectError> {
        let t = &self.target;
        options.proxy.choose(t.secure, &t.host, t.port)
    }

    /// The tunnel to open through `proxy`.
    fn opening(&self, proxy: &Proxy, to: Destination) -> Result<Opening, ConnectError> {
        Opening::new(proxy, to, self.target.port)
    }

    /// Keeps what follows the tunnel's answer for the session, which is
    /// the next stage after `tunnel` unless TLS is.
    fn tunnelled(&mut self, opening: &mut Opening) -> Vec<u8> {
        self.proxy = Some(opening.proxy.as_str().into());
        opening.take_leftover()
    }

    /// Resolves, connects, tunnels through a proxy if one applies, and
    /// (for `wss://`) runs the TLS handshake, blocking.
    pub(crate) fn connect(&mut self, options: &Options) -> Result<Socket, ConnectError> {
        let t = &self.target;
        let Some(proxy) = self.choose_proxy(options)? else {
            let (tcp, _addr) = tcp::connect(&t.host, t.port, options, self.deadline)?;
            trace!(debug, addr = %_addr, "tcp connected");
            return self.secure(tcp, options, Vec::new());
        };
        let to = match proxy.kind {
            ProxyKind::Socks5 => {
                let addrs = options.resolver.lookup(&t.host, t.port, self.deadline)?;
                Destination::Ip(addrs[0].ip())
            }
            _ => destination(&t.host),
        };
        let mut opening = self.opening(&proxy, to)?;
        let (tcp, _addr) = tcp::connect(&proxy.host, proxy.port, options, self.deadline)
            .map_err(|e| unreachable(&proxy, e))?;
        trace!(debug, addr = %_addr, "tcp connected to the proxy");
        #[cfg(feature = "tls")]
        if proxy.kind == ProxyKind::Https {
            use super::tls;
            let outer = tls::handshake(tcp, options.proxy_tls(), &proxy.host, &[], self.deadline)
                .map_err(|e| opening.tls_failed(e))?;
            exchange::run(&mut opening, &outer, self.deadline)?;
            let leftover = self.tunnelled(&mut opening);
            if !self.target.secure {
                self.leftover = leftover;
                return Ok(Socket::Tls(Box::new(outer)));
            }
            // TLS to the server inside TLS to the proxy: rare enough to
            // take the path of any other stream.
            let t = &self.target;
            let inner = tls::handshake(outer, &options.tls, &t.host, &leftover, self.deadline)?;
            return Ok(Socket::Other(Box::new(inner)));
        }
        exchange::run(&mut opening, &tcp, self.deadline)?;
        trace!(debug, "proxy tunnel open");
        let leftover = self.tunnelled(&mut opening);
        self.secure(tcp, options, leftover)
    }

    /// Runs TLS over `tcp` for `wss://`, taking `leftover` first; or keeps
    /// `leftover` for the session.
    fn secure(
        &mut self,
        tcp: std::net::TcpStream,
        options: &Options,
        leftover: Vec<u8>,
    ) -> Result<Socket, ConnectError> {
        #[cfg(feature = "tls")]
        if self.target.secure {
            let t = &self.target;
            let tls = super::tls::handshake(tcp, &options.tls, &t.host, &leftover, self.deadline)?;
            trace!(debug, "tls established");
            return Ok(Socket::Tls(Box::new(tls)));
        }
        let _ = options;
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
        let Some(proxy) = self.choose_proxy(options)? else {
            let (tcp, _addr) = tcp::connect_async(&t.host, t.port, options, self.deadline).await?;
            trace!(debug, addr = %_addr, "tcp connected");
            return self.secure_async(tcp, options, Vec::new()).await;
        };
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
        let mut opening = self.opening(&proxy, to)?;
        let (mut tcp, _addr) = tcp::connect_async(&proxy.host, proxy.port, options, self.deadline)
            .await
            .map_err(|e| unreachable(&proxy, e))?;
        trace!(debug, addr = %_addr, "tcp connected to the proxy");
        #[cfg(feature = "tls")]
        if proxy.kind == ProxyKind::Https {
            use super::tls;
            let (tcp, link) =
                tls::handshake_async(tcp, options.proxy_tls(), &proxy.host, &[], self.deadline)
                    .await
                    .map_err(|e| opening.tls_failed(e))?;
            let mut outer = tls::split(tcp, link);
            exchange::run_async(&mut opening, &mut outer, self.deadline).await?;
            let leftover = self.tunnelled(&mut opening);
            if !self.target.secure {
                self.leftover = leftover;
                return Ok(AsyncSocket::Tls(Box::new(outer)));
            }
            let t = &self.target;
            let (outer, link) =
                tls::handshake_async(outer, &options.tls, &t.host, &leftover, self.deadline)
                    .await?;
            let tls::TlsStream(r, w) = outer;
            return Ok(AsyncSocket::TlsInTls(Box::new(tls::split_over(r, w, link))));
        }
        exchange::run_async(&mut opening, &mut tcp, self.deadline).await?;
        trace!(debug, "proxy tunnel open");
        let leftover = self.tunnelled(&mut opening);
        self.secure_async(tcp, options, leftover).await
    }

    /// [`secure`](Self::secure) on tokio.
    #[cfg(feature = "tokio")]
    async fn secure_async(
        &mut self,
        tcp: tokio::net::TcpStream,
        options: &Options,
        leftover: Vec<u8>,
    ) -> Result<AsyncSocket, ConnectError> {
        #[cfg(feature = "tls")]
        if self.target.secure {
            let t = &self.target;
            let (tcp, link) =
                super::tls::handshake_async(tcp, &options.tls, &t.host, &leftover, self.deadline)
                    .await?;
            trace!(debug, "tls established");
            return Ok(AsyncSocket::Tls(Box::new(super::tls::split(tcp, link))));
        }
        let _ = options;
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

/// A failure to reach `proxy` (resolving or connecting to it), said as
/// the proxy's; a timeout stays a timeout of the stage that ran.
fn unreachable(proxy: &Proxy, e: ConnectError) -> ConnectError {
    match e {
        ConnectError::Resolve { .. } | ConnectError::Connect { .. } => ConnectError::Proxy {
            proxy: proxy.to_string(),
            source: crate::error::ProxyError::Unreachable(Box::new(e)),
        },
        other => other,
    }
}
