//! The events a connection produces, in order: Lomond's event stream.
//!
//! A connection's life reads as a sequence: `Connecting`, then either
//! `ConnectFail` (the end) or `Connected`; after `Connected`, the last event is
//! always `Disconnected`. In between come `Rejected` or `Ready`, then messages,
//! pings, polls and the close handshake. `BackOff` is emitted between
//! connections by the reconnecting wrapper.

use crate::error::{ConnectError, HandshakeError, ProtocolError};
use crate::payload::Payload;
use crate::proto::handshake::Response;
use crate::utf8_bytes::Utf8Bytes;
use bytes::Bytes;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Something that happened on a WebSocket connection.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// About to resolve and connect to `url`.
    Connecting {
        /// The WebSocket URL.
        url: String,
    },
    /// The connection could not be made; no further events follow.
    ConnectFail {
        /// Why.
        error: ConnectError,
    },
    /// A TCP connection is open and the handshake request was sent.
    Connected {
        /// The WebSocket URL.
        url: String,
        /// The address connected to; `None` over a stream the application
        /// brought that has no IP address (a Unix socket, say).
        addr: Option<SocketAddr>,
    },
    /// The server did not accept the upgrade. `Disconnected` follows.
    Rejected {
        /// What was wrong with the answer.
        error: HandshakeError,
        /// The response, with up to the configured limit of its body, when
        /// one was parsed.
        response: Option<Box<Response>>,
    },
    /// The handshake completed: messages may be sent.
    Ready {
        /// The server's 101 response.
        response: Box<Response>,
        /// The subprotocol the server chose, if any.
        protocol: Option<String>,
        /// The extensions in force, as the server named them.
        extensions: Vec<String>,
        /// The permessage-deflate parameters, when compression is in force.
        deflate: Option<crate::proto::DeflateParams>,
    },
    /// A complete text message.
    Text(Utf8Bytes),
    /// A complete binary message.
    Binary(Payload),
    /// A ping from the server (answered automatically unless `auto_pong` is off).
    Ping(Bytes),
    /// A pong from the server.
    Pong(Bytes),
    /// Emitted every `poll` interval while the connection is open.
    Poll,
    /// Nothing arrived within `ping_timeout`; `Disconnected` follows.
    Unresponsive,
    /// The server started the close handshake; lomond answers it.
    Closing {
        /// The server's close code, if it sent one.
        code: Option<u16>,
        /// The server's close reason.
        reason: Utf8Bytes,
    },
    /// Both sides have sent Close frames: the close handshake is complete.
    Closed {
        /// The close code the server sent, if any.
        code: Option<u16>,
        /// The close reason the server sent.
        reason: Utf8Bytes,
    },
    /// The connection is gone; this is always the last event of a connection.
    Disconnected {
        /// Why it ended.
        reason: DisconnectReason,
        /// Whether the close handshake completed first.
        graceful: bool,
    },
    /// The server broke the protocol; lomond sent a Close with the matching
    /// code, and `Disconnected` follows.
    ProtocolError {
        /// What was wrong.
        error: ProtocolError,
    },
    /// Waiting before the next reconnection attempt.
    BackOff {
        /// How long.
        delay: Duration,
    },
}

impl Event {
    /// The event's name in Lomond's snake case (`"text"`, `"ready"`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Event::Connecting { .. } => "connecting",
            Event::ConnectFail { .. } => "connect_fail",
            Event::Connected { .. } => "connected",
            Event::Rejected { .. } => "rejected",
            Event::Ready { .. } => "ready",
            Event::Text(_) => "text",
            Event::Binary(_) => "binary",
            Event::Ping(_) => "ping",
            Event::Pong(_) => "pong",
            Event::Poll => "poll",
            Event::Unresponsive => "unresponsive",
            Event::Closing { .. } => "closing",
            Event::Closed { .. } => "closed",
            Event::Disconnected { .. } => "disconnected",
            Event::ProtocolError { .. } => "protocol_error",
            Event::BackOff { .. } => "back_off",
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name();
        match self {
            Event::Connecting { url } => write!(f, "{name} {url}"),
            Event::ConnectFail { error } => write!(f, "{name}: {}", Chain(error)),
            Event::Connected {
                url,
                addr: Some(addr),
            } => write!(f, "{name} {url} ({addr})"),
            Event::Connected { url, addr: None } => write!(f, "{name} {url}"),
            Event::Rejected { error, .. } => write!(f, "{name}: {error}"),
            Event::Ready {
                protocol,
                extensions,
                ..
            } => write!(f, "{name} protocol={protocol:?} extensions={extensions:?}"),
            Event::Text(t) => write!(f, "{name} {:?}", Preview(t.as_bytes(), true)),
            Event::Binary(b) => write!(f, "{name} {:?}", Preview(b, false)),
            Event::Ping(b) | Event::Pong(b) => write!(f, "{name} {:?}", Preview(b, false)),
            Event::Poll | Event::Unresponsive => f.write_str(name),
            Event::Closing { code, reason } | Event::Closed { code, reason } => {
                write!(f, "{name} code={code:?} reason={reason:?}")
            }
            Event::Disconnected { reason, graceful } => {
                write!(f, "{name} ({reason}) graceful={graceful}")
            }
            Event::ProtocolError { error } => write!(f, "{name}: {error}"),
            Event::BackOff { delay } => write!(f, "{name} {delay:?}"),
        }
    }
}

/// An error and each of its sources, `: `-separated, as a log line wants
/// it (each error's own Display leaves its source out).
struct Chain<'a>(&'a dyn std::error::Error);

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut next = self.0.source();
        while let Some(e) = next {
            write!(f, ": {e}")?;
            next = e.source();
        }
        Ok(())
    }
}

/// Shows at most 64 bytes of a payload, and its length.
struct Preview<'a>(&'a [u8], bool);

impl fmt::Debug for Preview<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = &self.0[..self.0.len().min(64)];
        if self.1 {
            write!(f, "{:?}", String::from_utf8_lossy(shown))?;
        } else {
            write!(f, "{shown:02x?}")?;
        }
        if shown.len() < self.0.len() {
            write!(f, "... ({} bytes)", self.0.len())?;
        }
        Ok(())
    }
}

/// Why a connection ended.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The close handshake completed and the server closed the connection.
    Closed,
    /// The connection closed without a completed close handshake.
    ConnectionLost,
    /// A read or write failed.
    Io(Arc<io::Error>),
    /// A Close was sent and the server did not finish the close within
    /// `close_timeout`.
    CloseTimeout,
    /// Nothing arrived within `ping_timeout`.
    Unresponsive,
    /// The server did not complete the opening handshake within
    /// `handshake_timeout`.
    HandshakeTimeout,
    /// The handshake was rejected (see the `Rejected` event).
    Rejected,
    /// lomond failed the connection because of the server's protocol error.
    ProtocolError(ProtocolError),
    /// The connection was dropped by the application.
    Dropped,
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisconnectReason::Closed => f.write_str("closed"),
            DisconnectReason::ConnectionLost => f.write_str("connection lost"),
            DisconnectReason::Io(e) => write!(f, "i/o error: {e}"),
            DisconnectReason::CloseTimeout => f.write_str("close timeout"),
            DisconnectReason::Unresponsive => f.write_str("unresponsive"),
            DisconnectReason::HandshakeTimeout => f.write_str("handshake timeout"),
            DisconnectReason::Rejected => f.write_str("rejected"),
            DisconnectReason::ProtocolError(e) => write!(f, "protocol error: {e}"),
            DisconnectReason::Dropped => f.write_str("dropped"),
        }
    }
}
