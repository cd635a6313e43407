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
                protocol, deflate, ..
            } => {
                f.write_str(name)?;
                if let Some(protocol) = protocol {
                    write!(f, " protocol={protocol}")?;
                }
                match deflate {
                    Some(d) => {
                        write!(
                            f,
                            " permessage-deflate (server window 2^{}, client window 2^{}",
                            d.server_max_window_bits, d.client_max_window_bits
                        )?;
                        if d.server_no_context_takeover {
                            f.write_str(", server_no_context_takeover")?;
                        }
                        if d.client_no_context_takeover {
                            f.write_str(", client_no_context_takeover")?;
                        }
                        f.write_str(")")
                    }
                    None => Ok(()),
                }
            }
            Event::Text(t) => write!(f, "{name} {}", Preview(t.as_bytes())),
            Event::Binary(b) => write!(f, "{name} {}", Preview(b)),
            Event::Ping(b) => write!(f, "{name} {}", Preview(b)),
            Event::Pong { data, rtt } => {
                write!(f, "{name} {}", Preview(data))?;
                match rtt {
                    Some(rtt) => write!(f, " rtt={rtt:.1?}"),
                    None => Ok(()),
                }
            }
            Event::Poll | Event::Unresponsive => f.write_str(name),
            Event::Closing { code, reason } | Event::Closed { code, reason } => {
                match code {
                    Some(code) => write!(f, "{name} {}", crate::CloseCode::from(*code))?,
                    None => write!(f, "{name} (no code)")?,
                }
                if reason.is_empty() {
                    Ok(())
                } else {
                    write!(f, " {}", Preview(reason.as_bytes()))
                }
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

/// Shows a payload in a log line: as quoted, escaped text when it is
/// UTF-8 without control characters (other than tab and newlines), else
/// as hex; at most 64 bytes of it, then its length.
struct Preview<'a>(&'a [u8]);

/// How much of a payload a log line shows.
const PREVIEW: usize = 64;

impl fmt::Display for Preview<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0;
        let mut cut = bytes.len().min(PREVIEW);
        let text = std::str::from_utf8(bytes).ok().filter(|text| {
            !text
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        });
        match text {
            Some(text) => {
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                write!(f, "{:?}", &text[..cut])?;
            }
            None => {
                for (i, b) in bytes[..cut].iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{b:02x}")?;
                }
            }
        }
        if cut < bytes.len() {
            write!(f, "... ({} bytes)", bytes.len())?;
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

    #[test]
    fn display_shows_text_when_readable_hex_otherwise_and_plain_values() {
        let show = |e: Event| e.to_string();
        assert_eq!(
            show(Event::Text("hi \"you\"\n".into())),
            r#"text "hi \"you\"\n""#
        );
        assert_eq!(
            show(Event::Binary(Payload::from(&b"readable"[..]))),
            r#"binary "readable""#
        );
        assert_eq!(
            show(Event::Binary(Payload::from(&[0u8, 1, 0xff][..]))),
            "binary 00 01 ff"
        );
        assert_eq!(
            show(Event::Binary(Payload::from(&b"bell\x07"[..]))),
            "binary 62 65 6c 6c 07"
        );
        let long = "é".repeat(40); // 80 bytes: cut at 64, on a character
        assert_eq!(
            show(Event::Text(long.as_str().into())),
            format!("text {:?}... (80 bytes)", "é".repeat(32))
        );
        let big = Payload::from(vec![0xffu8; 100]);
        assert!(show(Event::Binary(big)).ends_with("ff ff... (100 bytes)"));
        assert_eq!(
            show(Event::Pong {
                data: Bytes::from_static(b"lm\0\0\0\x01"),
                rtt: Some(Duration::from_micros(1500)),
            }),
            "pong 6c 6d 00 00 00 01 rtt=1.5ms"
        );
        assert_eq!(show(Event::Ping(Bytes::new())), r#"ping """#);
        assert_eq!(
            show(Event::Closing {
                code: Some(1000),
                reason: "bye".into()
            }),
            r#"closing 1000 (normal) "bye""#
        );
        assert_eq!(
            show(Event::Closed {
                code: Some(4001),
                reason: Utf8Bytes::default()
            }),
            "closed 4001"
        );
        assert_eq!(
            show(Event::Closed {
                code: None,
                reason: Utf8Bytes::default()
            }),
            "closed (no code)"
        );
        let ready = |protocol: Option<&str>, deflate| Event::Ready {
            response: response(),
            protocol: protocol.map(String::from),
            extensions: vec![],
            deflate,
        };
        assert_eq!(show(ready(None, None)), "ready");
        let deflate = crate::proto::DeflateParams {
            server_no_context_takeover: true,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 12,
        };
        assert_eq!(
            show(ready(Some("chat"), Some(deflate))),
            "ready protocol=chat permessage-deflate (server window 2^15, client window 2^12, \
             server_no_context_takeover)"
        );
    }
}
