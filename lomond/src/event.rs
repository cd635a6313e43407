//! The events a connection produces, in order: Lomond's event stream.
//!
//! A connection's life reads as a sequence: `Connecting`, then either
//! `ConnectFail` (the end) or `Connected`; after `Connected`, the last event is
//! always `Disconnected`. In between come `Rejected` or `Ready`, then messages,
//! pings, polls and the close handshake. `BackOff` is emitted between
//! connections by the reconnecting wrapper.
//!
//! The protocol core reports its part of this sequence (from `Rejected` or
//! `Ready` to `Disconnected`) as [`proto::Event`], which converts into
//! [`Event`] variant for variant; the connect events and `BackOff` come
//! from the layers above it.

use crate::error::{ConnectError, HandshakeError, ProtocolError};
use crate::payload::Payload;
use crate::proto;
use crate::proto::handshake::Response;
use crate::utf8_bytes::Utf8Bytes;
use bytes::Bytes;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

pub use crate::proto::DisconnectReason;

/// Something that happened on a WebSocket connection.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// About to resolve and connect to `url`.
    Connecting {
        /// The WebSocket URL, without a user name or password it held.
        url: String,
    },
    /// The connection could not be made; no further events follow.
    ConnectFail {
        /// Why.
        error: ConnectError,
    },
    /// The transport is up (TCP, the proxy tunnel, TLS) and the handshake
    /// request was sent.
    Connected {
        /// The WebSocket URL, without a user name or password it held.
        url: String,
        /// The address connected to (the proxy's, through a proxy); `None`
        /// over a stream the application brought that has no IP address
        /// (a Unix socket, say).
        addr: Option<SocketAddr>,
        /// The proxy tunnelled through, as a URL without credentials, if
        /// any (boxed: the event stays at 72 bytes).
        proxy: Option<Box<str>>,
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
    /// A pong from the server. `rtt` is the round-trip time when it
    /// answers one of lomond's own keepalive pings (see `ping_rate`; the
    /// latest eight are timed, so a pong that comes after later pings
    /// went, as on a slow link, is timed too).
    Pong {
        /// The pong's payload.
        data: Bytes,
        /// The time since that ping was sent, if it answers one.
        rtt: Option<Duration>,
    },
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
    /// A persistent WebSocket stopped: always its last event.
    Stopped {
        /// Why.
        reason: crate::persist::StopReason,
        /// What the outbox still held, oldest first, never sent.
        unsent: Vec<crate::persist::Unsent>,
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
            Event::Pong { .. } => "pong",
            Event::Poll => "poll",
            Event::Unresponsive => "unresponsive",
            Event::Closing { .. } => "closing",
            Event::Closed { .. } => "closed",
            Event::Disconnected { .. } => "disconnected",
            Event::ProtocolError { .. } => "protocol_error",
            Event::BackOff { .. } => "back_off",
            Event::Stopped { .. } => "stopped",
        }
    }
}

impl From<proto::Event> for Event {
    /// The core's event as the application sees it: each variant becomes
    /// its namesake.
    #[inline(always)]
    fn from(event: proto::Event) -> Self {
        match event {
            proto::Event::Text(text) => Event::Text(text),
            proto::Event::Binary(data) => Event::Binary(data),
            proto::Event::Ping(data) => Event::Ping(data),
            proto::Event::Pong { data, rtt } => Event::Pong { data, rtt },
            proto::Event::Poll => Event::Poll,
            proto::Event::Rejected { error, response } => Event::Rejected { error, response },
            proto::Event::Ready {
                response,
                protocol,
                extensions,
                deflate,
            } => Event::Ready {
                response,
                protocol,
                extensions,
                deflate,
            },
            proto::Event::Unresponsive => Event::Unresponsive,
            proto::Event::Closing { code, reason } => Event::Closing { code, reason },
            proto::Event::Closed { code, reason } => Event::Closed { code, reason },
            proto::Event::Disconnected { reason, graceful } => {
                Event::Disconnected { reason, graceful }
            }
            proto::Event::ProtocolError { error } => Event::ProtocolError { error },
        }
    }
}

impl proto::DriverEvent for Event {
    #[inline(always)]
    fn text(text: Utf8Bytes) -> Self {
        Event::Text(text)
    }

    #[inline(always)]
    fn binary(data: Payload) -> Self {
        Event::Binary(data)
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name();
        match self {
            Event::Connecting { url } => write!(f, "{name} {url}"),
            Event::ConnectFail { error } => write!(f, "{name}: {}", Chain(error)),
            Event::Connected { url, addr, proxy } => {
                write!(f, "{name} {url}")?;
                match (addr, proxy) {
                    (Some(addr), Some(proxy)) => write!(f, " (through {proxy}, {addr})"),
                    (None, Some(proxy)) => write!(f, " (through {proxy})"),
                    (Some(addr), None) => write!(f, " ({addr})"),
                    (None, None) => Ok(()),
                }
            }
            Event::Rejected { error, .. } => write!(f, "{name}: {error}"),
            Event::Ready {
                protocol,
                extensions,
                ..
            } => write!(f, "{name} protocol={protocol:?} extensions={extensions:?}"),
            Event::Text(t) => write!(f, "{name} {:?}", Preview(t.as_bytes(), true)),
            Event::Binary(b) => write!(f, "{name} {:?}", Preview(b, false)),
            Event::Ping(b) => write!(f, "{name} {:?}", Preview(b, false)),
            Event::Pong { data, rtt } => {
                write!(f, "{name} {:?}", Preview(data, false))?;
                match rtt {
                    Some(rtt) => write!(f, " rtt={rtt:?}"),
                    None => Ok(()),
                }
            }
            Event::Poll | Event::Unresponsive => f.write_str(name),
            Event::Closing { code, reason } | Event::Closed { code, reason } => {
                write!(f, "{name} code={code:?} reason={reason:?}")
            }
            Event::Disconnected { reason, graceful } => {
                write!(f, "{name} ({reason}) graceful={graceful}")
            }
            Event::ProtocolError { error } => write!(f, "{name}: {error}"),
            Event::BackOff { delay } => write!(f, "{name} {delay:?}"),
            Event::Stopped { reason, unsent } => {
                write!(f, "{name} ({reason}), {} unsent", unsent.len())
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::DriverEvent;

    fn response() -> Box<Response> {
        Box::new(Response {
            status: 101,
            reason: "Switching Protocols".into(),
            headers: Default::default(),
            body: Bytes::new(),
        })
    }

    /// Each event of the core, converted, is its namesake with the same
    /// fields: the Debug forms match, as do the names.
    #[test]
    fn core_events_become_their_namesakes() {
        let reason = || Utf8Bytes::from_validated(Payload::from(Bytes::from_static(b"bye")));
        let core = vec![
            proto::Event::Rejected {
                error: HandshakeError::Status { status: 403 },
                response: Some(response()),
            },
            proto::Event::Ready {
                response: response(),
                protocol: Some("chat".into()),
                extensions: vec!["permessage-deflate".into()],
                deflate: None,
            },
            proto::Event::Text(reason()),
            proto::Event::Binary(Payload::from(Bytes::from_static(&[1, 2, 3]))),
            proto::Event::Ping(Bytes::from_static(b"pi")),
            proto::Event::Pong {
                data: Bytes::from_static(b"po"),
                rtt: Some(Duration::from_millis(3)),
            },
            proto::Event::Poll,
            proto::Event::Unresponsive,
            proto::Event::Closing {
                code: Some(1001),
                reason: reason(),
            },
            proto::Event::Closed {
                code: None,
                reason: reason(),
            },
            proto::Event::Disconnected {
                reason: DisconnectReason::CloseTimeout,
                graceful: true,
            },
            proto::Event::ProtocolError {
                error: ProtocolError::ReservedOpCode(3),
            },
        ];
        let names = [
            "rejected",
            "ready",
            "text",
            "binary",
            "ping",
            "pong",
            "poll",
            "unresponsive",
            "closing",
            "closed",
            "disconnected",
            "protocol_error",
        ];
        assert_eq!(core.len(), names.len());
        for (event, name) in core.into_iter().zip(names) {
            let before = format!("{event:?}");
            let after = Event::from(event);
            assert_eq!(after.name(), name);
            assert_eq!(format!("{after:?}"), before);
        }
        // The fast path's constructors agree with the conversion.
        let text = Utf8Bytes::from_validated(Payload::from(Bytes::from_static(b"hi")));
        assert_eq!(
            format!("{:?}", <Event as DriverEvent>::text(text.clone())),
            format!("{:?}", Event::from(proto::Event::text(text)))
        );
        let data = Payload::from(Bytes::from_static(b"\x00"));
        assert_eq!(
            format!("{:?}", <Event as DriverEvent>::binary(data.clone())),
            format!("{:?}", Event::from(proto::Event::binary(data)))
        );
    }
}
