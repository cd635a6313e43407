//! What the protocol core reports: the events of one connection from the
//! moment its upgrade request is sent.
//!
//! These are the events a [`Connection`](super::Connection) itself can
//! produce. The driver-level ones (connecting, connected, a failed connect,
//! back-off between connections) belong to the layers above, which wrap
//! these in [`crate::Event`] with `From`.

use crate::error::{HandshakeError, ProtocolError};
use crate::payload::Payload;
use crate::proto::handshake::Response;
use crate::proto::DeflateParams;
use crate::utf8_bytes::Utf8Bytes;
use bytes::Bytes;
use std::fmt;
use std::io;
use std::sync::Arc;

/// Something the protocol core reports, in order. Each variant has the
/// same name and meaning as its twin in [`crate::Event`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// The other side did not accept the upgrade. `Disconnected` follows.
    Rejected {
        /// What was wrong with the answer.
        error: HandshakeError,
        /// The response, with up to the configured limit of its body, when
        /// one was parsed.
        response: Option<Box<Response>>,
    },
    /// The handshake completed: messages may be sent.
    Ready {
        /// The 101 response (on the server side, the request's headers).
        response: Box<Response>,
        /// The subprotocol chosen, if any.
        protocol: Option<String>,
        /// The extensions in force, as they were named.
        extensions: Vec<String>,
        /// The permessage-deflate parameters, when compression is in force.
        deflate: Option<DeflateParams>,
    },
    /// A complete text message.
    Text(Utf8Bytes),
    /// A complete binary message.
    Binary(Payload),
    /// A ping (answered automatically unless `auto_pong` is off).
    Ping(Bytes),
    /// A pong. `rtt` is the round-trip time when it answers the
    /// connection's own latest keepalive ping.
    Pong {
        /// The pong's payload.
        data: Bytes,
        /// The time since that ping was sent, if it answers one.
        rtt: Option<std::time::Duration>,
    },
    /// Emitted every `poll` interval while the connection is open.
    Poll,
    /// Nothing arrived within `ping_timeout`; `Disconnected` follows.
    Unresponsive,
    /// The other side started the close handshake; the core answers it.
    Closing {
        /// The close code received, if any.
        code: Option<u16>,
        /// The close reason received.
        reason: Utf8Bytes,
    },
    /// Both sides have sent Close frames: the close handshake is complete.
    Closed {
        /// The close code received, if any.
        code: Option<u16>,
        /// The close reason received.
        reason: Utf8Bytes,
    },
    /// The connection is over; always the core's last event.
    Disconnected {
        /// Why it ended.
        reason: DisconnectReason,
        /// Whether the close handshake completed first.
        graceful: bool,
    },
    /// The other side broke the protocol; the core queued a Close with the
    /// matching code, and `Disconnected` follows.
    ProtocolError {
        /// What was wrong.
        error: ProtocolError,
    },
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

/// An event type a driver hands out: the core's events convert into it,
/// and the core's fast path for whole messages
/// ([`Connection::poll_event_ahead`](super::Connection::poll_event_ahead))
/// builds its messages in it directly, with no conversion on the path every
/// small message takes.
pub trait DriverEvent: From<Event> {
    /// A complete text message.
    fn text(text: Utf8Bytes) -> Self;
    /// A complete binary message.
    fn binary(data: Payload) -> Self;
}

impl DriverEvent for Event {
    #[inline(always)]
    fn text(text: Utf8Bytes) -> Self {
        Event::Text(text)
    }

    #[inline(always)]
    fn binary(data: Payload) -> Self {
        Event::Binary(data)
    }
}
