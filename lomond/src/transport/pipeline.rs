//! [`Plan`]: one connection attempt from URL to protocol core, as both
//! drivers run it; they differ only in how they wait.

#[cfg(feature = "tokio")]
use super::AsyncSocket;
use super::Socket;
use crate::error::ConnectError;
use crate::options::{Options, Target};
use crate::proto::Connection;
use std::time::Instant;

/// The checked target of one connection attempt and its connect deadline.
pub(crate) struct Plan {
    target: Target,
    /// When the connect timeout runs out (on the driver's clock).
    deadline: Option<Instant>,
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
        })
    }

    /// Resolves, connects and (for `wss://`) runs the TLS handshake,
    /// blocking.
    pub(crate) fn connect(&self, options: &Options) -> Result<Socket, ConnectError> {
        let (tcp, _) =
            super::tcp::connect(&self.target.host, self.target.port, options, self.deadline)?;
        #[cfg(feature = "tls")]
        if self.target.secure {
            let tls = super::tls::handshake(tcp, &options.tls, &self.target.host, self.deadline)?;
            return Ok(Socket::Tls(Box::new(tls)));
        }
        Ok(Socket::Tcp(tcp))
    }

    /// [`connect`](Self::connect) on tokio.
    #[cfg(feature = "tokio")]
    pub(crate) async fn connect_async(
        &self,
        options: &Options,
    ) -> Result<AsyncSocket, ConnectError> {
        let (tcp, _) =
            super::tcp::connect_async(&self.target.host, self.target.port, options, self.deadline)
                .await?;
        #[cfg(feature = "tls")]
        if self.target.secure {
            let (tcp, link) =
                super::tls::handshake_async(tcp, &options.tls, &self.target.host, self.deadline)
                    .await?;
            return Ok(AsyncSocket::Tls(Box::new((tcp, link))));
        }
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
        Connection::client(self.target.request, options.config.clone(), now)
            .map_err(ConnectError::InvalidOption)
    }
}
