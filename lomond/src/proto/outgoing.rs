//! [`Outgoing`]: one send operation, as every sender asks for it.

use super::Connection;
use crate::error::SendError;
use std::time::Instant;

/// One thing to send. The blocking [`Sender`](crate::Sender), the async
/// sender and the `Sink` face all hand their sends to
/// [`Connection::send`] as one of these, so what each operation does (which
/// frame, what compression, when the close timer starts) is decided once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outgoing<'a> {
    /// A text message; `compress: false` sends it uncompressed even when
    /// permessage-deflate is in force.
    Text {
        /// The message.
        text: &'a str,
        /// Whether it may be compressed.
        compress: bool,
    },
    /// A binary message, with the same choice.
    Binary {
        /// The message.
        data: &'a [u8],
        /// Whether it may be compressed.
        compress: bool,
    },
    /// A ping (payload at most 125 bytes).
    Ping(&'a [u8]),
    /// A pong (payload at most 125 bytes).
    Pong(&'a [u8]),
    /// The start of the close handshake.
    Close {
        /// The status code.
        code: u16,
        /// The reason (at most 123 bytes).
        reason: &'a str,
    },
}

impl<'a> Outgoing<'a> {
    /// A text message, compressed when compression is in force.
    pub fn text(text: &'a str) -> Outgoing<'a> {
        Outgoing::Text {
            text,
            compress: true,
        }
    }

    /// A binary message, compressed when compression is in force.
    pub fn binary(data: &'a [u8]) -> Outgoing<'a> {
        Outgoing::Binary {
            data,
            compress: true,
        }
    }

    /// A Close with no status code given: 1000, normal closure.
    pub fn normal_close() -> Outgoing<'a> {
        Outgoing::Close {
            code: 1000,
            reason: "",
        }
    }
}

impl Connection {
    /// Queues `what`. `now` is asked for the time only for a Close, which
    /// starts the close timer: reading the clock for every message was a
    /// fifth of the instructions of sending a 16-byte one.
    #[inline]
    pub fn send(
        &mut self,
        what: Outgoing<'_>,
        now: impl FnOnce() -> Instant,
    ) -> Result<(), SendError> {
        match what {
            Outgoing::Text { text, compress } => self.send_text_with(text, compress),
            Outgoing::Binary { data, compress } => self.send_binary_with(data, compress),
            Outgoing::Ping(payload) => self.ping(payload),
            Outgoing::Pong(payload) => self.pong(payload),
            Outgoing::Close { code, reason } => self.close(code, reason, now()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::tests::open_client;
    use crate::proto::Config;

    type Direct = fn(&mut Connection, Instant) -> Result<(), SendError>;

    /// What `act` queues on a fresh open client with predictable masks.
    fn queued(act: impl FnOnce(&mut Connection, Instant) -> Result<(), SendError>) -> Vec<u8> {
        let now = Instant::now();
        let config = Config {
            deflate: None,
            ..Config::default()
        };
        let mut c = open_client(config, now);
        act(&mut c, now).unwrap();
        c.poll_transmit().to_vec()
    }

    #[test]
    fn each_operation_queues_what_its_own_method_does() {
        let cases: [(Outgoing, Direct); 6] = [
            (Outgoing::text("hi"), |c, _| c.send_text("hi")),
            (Outgoing::binary(b"\x01\x02"), |c, _| {
                c.send_binary(b"\x01\x02")
            }),
            (Outgoing::Ping(b"p"), |c, _| c.ping(b"p")),
            (Outgoing::Pong(b"q"), |c, _| c.pong(b"q")),
            (
                Outgoing::Close {
                    code: 4000,
                    reason: "x",
                },
                |c, now| c.close(4000, "x", now),
            ),
            (Outgoing::normal_close(), |c, now| c.close(1000, "", now)),
        ];
        for (what, direct) in cases {
            let via = queued(|c, now| c.send(what, || now));
            let want = queued(direct);
            // The test client's masks are fixed: the bytes are the same.
            assert_eq!(via, want, "{what:?}");
        }
    }

    #[test]
    fn a_close_after_the_handshake_began_is_refused_as_the_method_refuses_it() {
        let now = Instant::now();
        let mut c = open_client(Config::default(), now);
        c.send(Outgoing::normal_close(), || now).unwrap();
        assert_eq!(
            c.send(Outgoing::text("late"), || now),
            Err(SendError::Closing)
        );
        assert_eq!(
            c.send(Outgoing::Ping(&[0; 126]), || now),
            Err(SendError::ControlPayloadTooLong)
        );
    }
}
