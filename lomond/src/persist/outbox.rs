//! [`Outbox`]: messages sent while there is no open connection, kept in
//! order until the next one is `Ready` (opt-in, bounded).
//!
//! Not the protocol core's `proto::Outbox` (frames encoded ahead of a
//! lock): this one holds whole messages across reconnections.

use crate::error::SendError;
use crate::proto::Outgoing;
use std::collections::VecDeque;

/// The outbox's bounds: a send that would pass either fails with
/// [`SendError::OutboxFull`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxLimits {
    /// The most messages held.
    pub messages: usize,
    /// The most payload bytes held, all messages together.
    pub bytes: usize,
}

impl Default for OutboxLimits {
    /// 1,000 messages, 1 MiB.
    fn default() -> Self {
        OutboxLimits {
            messages: 1000,
            bytes: 1 << 20,
        }
    }
}

/// A message the outbox held that was never sent, handed back when the
/// WebSocket stops.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unsent {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

impl Unsent {
    fn len(&self) -> usize {
        match self {
            Unsent::Text(text) => text.len(),
            Unsent::Binary(data) => data.len(),
        }
    }
}

/// Whether a data message for a live connection, which answers
/// `can_send`, waits in a WebSocket's outbox (holding `empty` now): when
/// the connection is not open yet, when messages wait before it, and for a
/// persistent WebSocket when the connection is closing or over. `Some`
/// carries the error for what the outbox does not keep (control frames);
/// `None` sends on the connection, which takes it or refuses it itself.
/// Both drivers route their sends so.
pub(crate) fn keeps(
    can_send: Result<(), SendError>,
    empty: bool,
    persistent: bool,
) -> Option<SendError> {
    match can_send {
        Ok(()) if empty => None,
        Ok(()) | Err(SendError::NotReady) => Some(SendError::NotReady),
        Err(SendError::Closing | SendError::Closed) if persistent => Some(SendError::Disconnected),
        Err(_) => None,
    }
}

/// A connection's refusal as its sender sees it: for a persistent
/// WebSocket a connection that is closing or over is only one of many,
/// so it is between connections.
pub(crate) fn refusal(e: SendError, persistent: bool) -> SendError {
    match e {
        SendError::Closing | SendError::Closed if persistent => SendError::Disconnected,
        e => e,
    }
}

/// The queue itself (see the module docs).
#[derive(Debug)]
pub(crate) struct Outbox {
    limits: OutboxLimits,
    /// Each message and whether it may be compressed.
    queue: VecDeque<(Unsent, bool)>,
    bytes: usize,
}

impl Outbox {
    pub(crate) fn new(limits: OutboxLimits) -> Outbox {
        Outbox {
            limits,
            queue: VecDeque::new(),
            bytes: 0,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Keeps `what` for later when it is a data message and fits; other
    /// sends fail with `not_open`, the error they would have met.
    pub(crate) fn push(
        &mut self,
        what: Outgoing<'_>,
        not_open: SendError,
    ) -> Result<(), SendError> {
        let (message, compress) = match what {
            Outgoing::Text { text, compress } => (Unsent::Text(text.to_owned()), compress),
            Outgoing::Binary { data, compress } => (Unsent::Binary(data.to_owned()), compress),
            _ => return Err(not_open),
        };
        let len = message.len();
        if self.queue.len() >= self.limits.messages
            || len > self.limits.bytes.saturating_sub(self.bytes)
        {
            return Err(SendError::OutboxFull {
                messages: self.limits.messages,
                bytes: self.limits.bytes,
            });
        }
        self.bytes += len;
        self.queue.push_back((message, compress));
        Ok(())
    }

    /// Hands messages, oldest first, to `send` until it refuses one (the
    /// connection's write buffer is full, or it closed): that one stays
    /// first in the queue. Returns how many were sent.
    pub(crate) fn drain(
        &mut self,
        mut send: impl FnMut(Outgoing<'_>) -> Result<(), SendError>,
    ) -> usize {
        let mut sent = 0;
        while let Some((message, compress)) = self.queue.front() {
            let what = match message {
                Unsent::Text(text) => Outgoing::Text {
                    text,
                    compress: *compress,
                },
                Unsent::Binary(data) => Outgoing::Binary {
                    data,
                    compress: *compress,
                },
            };
            if send(what).is_err() {
                break;
            }
            self.bytes -= message.len();
            self.queue.pop_front();
            sent += 1;
        }
        sent
    }

    /// Empties the queue, handing back what it held, in order.
    pub(crate) fn take(&mut self) -> Vec<Unsent> {
        self.bytes = 0;
        self.queue.drain(..).map(|(message, _)| message).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_in_messages_and_bytes_and_kept_in_order() {
        let mut o = Outbox::new(OutboxLimits {
            messages: 3,
            bytes: 10,
        });
        let full = Err(SendError::OutboxFull {
            messages: 3,
            bytes: 10,
        });
        assert_eq!(
            o.push(Outgoing::text("abcd"), SendError::Disconnected),
            Ok(())
        );
        assert_eq!(
            o.push(Outgoing::binary(&[1; 7]), SendError::Disconnected),
            full
        );
        assert_eq!(
            o.push(Outgoing::binary(&[1; 6]), SendError::Disconnected),
            Ok(())
        );
        assert_eq!(o.push(Outgoing::text(""), SendError::Disconnected), Ok(()));
        assert_eq!(o.push(Outgoing::text(""), SendError::Disconnected), full);
        // Control frames are never kept: they mean nothing later.
        let ping = o.push(Outgoing::Ping(b""), SendError::Disconnected);
        assert_eq!(ping, Err(SendError::Disconnected));
        // The connection takes one, then refuses: the rest stay, in order.
        let mut sent = Vec::new();
        let n = o.drain(|what| {
            if sent.len() == 1 {
                return Err(SendError::WriteBufferFull { limit: 1 });
            }
            sent.push(format!("{what:?}"));
            Ok(())
        });
        assert_eq!(n, 1);
        assert_eq!(sent, [format!("{:?}", Outgoing::text("abcd"))]);
        // Room freed by the drain is room again.
        assert_eq!(
            o.push(Outgoing::text("wxyz"), SendError::Disconnected),
            Ok(())
        );
        assert_eq!(
            o.take(),
            [
                Unsent::Binary(vec![1; 6]),
                Unsent::Text(String::new()),
                Unsent::Text("wxyz".into())
            ]
        );
        assert!(o.is_empty());
        assert_eq!(
            o.push(Outgoing::text("0123456789"), SendError::Disconnected),
            Ok(())
        );
    }

    #[test]
    fn what_waits_in_the_outbox_and_what_goes_to_the_connection() {
        use SendError::*;
        let cases = [
            // (can send, outbox empty, persistent) -> kept with, or sent
            (Ok(()), true, false, None),
            (Ok(()), false, false, Some(NotReady)),
            (Err(NotReady), true, false, Some(NotReady)),
            (Err(Closing), true, false, None),
            (Err(Closing), true, true, Some(Disconnected)),
            (Err(Closed), false, true, Some(Disconnected)),
            (Err(Closed), false, false, None),
        ];
        for (can_send, empty, persistent, kept) in cases {
            let case = format!("{can_send:?} {empty} {persistent}");
            assert_eq!(keeps(can_send, empty, persistent), kept, "{case}");
        }
        assert_eq!(refusal(Closed, true), Disconnected);
        assert_eq!(refusal(Closed, false), Closed);
        assert_eq!(refusal(NotReady, true), NotReady);
    }

    #[test]
    fn compression_choices_survive_the_wait() {
        let mut o = Outbox::new(OutboxLimits::default());
        let quiet = Outgoing::Binary {
            data: b"z",
            compress: false,
        };
        o.push(quiet, SendError::Disconnected).unwrap();
        let mut got = Vec::new();
        o.drain(|what| {
            got.push(format!("{what:?}"));
            Ok(())
        });
        assert_eq!(got, [format!("{quiet:?}")]);
    }
}
