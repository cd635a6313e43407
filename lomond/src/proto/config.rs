//! Limits and timers of one connection, with defaults fit for the internet.

use super::deflate::DeflateConfig;
use std::time::Duration;

/// Protocol settings of a [`Connection`](super::Connection).
///
/// Every buffer the core keeps is bounded by one of these limits; every wait
/// it asks of a driver is bounded by one of these timeouts (when set).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Largest frame payload accepted (default 16 MiB). Larger frames close
    /// the connection with 1009 as soon as their header arrives.
    pub max_frame_size: usize,
    /// Largest message accepted, summed over its fragments (default 64 MiB).
    pub max_message_size: usize,
    /// Largest handshake header block accepted (default 16 KiB).
    pub max_handshake_size: usize,
    /// Most bytes of a rejection's body kept for the `Rejected` event
    /// (default 64 KiB).
    pub max_rejected_body: usize,
    /// Outgoing bytes that may wait for the socket before sends are refused
    /// (default 64 MiB); automatic pongs are skipped past it.
    pub max_write_buffer: usize,
    /// Answer pings with pongs automatically (default true).
    pub auto_pong: bool,
    /// Send a ping this often once open (default 30 s).
    pub ping_rate: Option<Duration>,
    /// Declare the server unresponsive when nothing arrived for this long
    /// (default none).
    pub ping_timeout: Option<Duration>,
    /// Emit a `Poll` event this often once open (default 5 s).
    pub poll: Option<Duration>,
    /// How long to wait for the server to finish the close handshake and
    /// close the connection after a Close is sent (default 30 s).
    pub close_timeout: Option<Duration>,
    /// How long the server may take to answer the upgrade request
    /// (default 30 s).
    pub handshake_timeout: Option<Duration>,
    /// Offer (client) or accept (server) permessage-deflate with these
    /// settings (default: off).
    pub deflate: Option<DeflateConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            max_handshake_size: 16 << 10,
            max_rejected_body: 64 << 10,
            max_write_buffer: 64 << 20,
            auto_pong: true,
            ping_rate: Some(Duration::from_secs(30)),
            ping_timeout: None,
            poll: Some(Duration::from_secs(5)),
            close_timeout: Some(Duration::from_secs(30)),
            handshake_timeout: Some(Duration::from_secs(30)),
            deflate: None,
        }
    }
}
