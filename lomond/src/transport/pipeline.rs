//! [`Plan`]: one connection attempt from URL to protocol core, as both
//! drivers run it; they differ only in how they wait.

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
        if target.secure {
            return Err(ConnectError::UnsupportedScheme(
                "wss (TLS is not built into this version)".into(),
            ));
        }
        Ok(Plan {
            target,
            deadline: options.connect_timeout.map(|t| now + t),
        })
    }

    /// Resolves and connects, blocking.
    pub(crate) fn connect(&self, options: &Options) -> Result<std::net::TcpStream, ConnectError> {
        super::tcp::connect(&self.target.host, self.target.port, options, self.deadline)
            .map(|(stream, _)| stream)
    }

    /// Resolves and connects on tokio.
    #[cfg(feature = "tokio")]
    pub(crate) async fn connect_async(
        &self,
        options: &Options,
    ) -> Result<::tokio::net::TcpStream, ConnectError> {
        super::tcp::connect_async(&self.target.host, self.target.port, options, self.deadline)
            .await
            .map(|(stream, _)| stream)
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
