//! [`Sender`]: sends on a WebSocket from any thread while another iterates it.

use super::shared::{Queued, Shared};
use crate::error::SendError;
use crate::proto::Outgoing;
use std::sync::Arc;

/// Queued bytes past which `feed_*` writes.
const FEED_FLUSH_AT: usize = 128 << 10;

/// A cloneable handle for sending on a [`WebSocket`](crate::WebSocket) from
/// any thread. Each call encodes the frame and writes it before returning,
/// so a peer that reads slowly slows the sender down instead of growing a
/// buffer.
///
/// ```
/// use lomond::{Event, WebSocket};
/// use std::time::Duration;
/// # let server = lomond_testkit::EchoServer::start()?;
/// # let url = server.url();
///
/// let ws = WebSocket::new(&url)?;
/// let sender = ws.sender();
/// let worker = std::thread::spawn(move || {
///     sender.wait_ready(Some(Duration::from_secs(5)))?;
///     for i in 0..3 {
///         sender.send_text(format!("reading {i}"))?;
///     }
///     sender.close(1000, "done")
/// });
/// let mut echoes = 0;
/// for event in ws {
///     match event {
///         Event::Text(text) => {
///             echoes += 1;
///             println!("echo: {text}")
///         }
///         Event::Disconnected { graceful, .. } => assert!(graceful),
///         _ => {}
///     }
/// }
/// worker.join().unwrap()?;
/// assert_eq!(echoes, 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Sender {
    pub(crate) shared: Arc<Shared>,
}

impl Sender {
    /// Sends `what` (each method below is one of these) and writes it.
    #[inline]
    pub fn send(&self, what: Outgoing<'_>) -> Result<(), SendError> {
        self.shared.send(what)
    }

    /// Sends a text message: a `&str`, `String`, `Utf8Bytes`... (it is
    /// copied once, as it is masked into the frame, so a reference costs
    /// no more than an owned value).
    pub fn send_text(&self, text: impl AsRef<str>) -> Result<(), SendError> {
        self.send(Outgoing::text(text.as_ref()))
    }

    /// Sends a binary message: a `&[u8]`, `Vec<u8>`, `Bytes`, `Payload`...
    pub fn send_binary(&self, data: impl AsRef<[u8]>) -> Result<(), SendError> {
        self.send(Outgoing::binary(data.as_ref()))
    }

    /// Sends a text message; `compress: false` skips compression for it.
    pub fn send_text_with(&self, text: impl AsRef<str>, compress: bool) -> Result<(), SendError> {
        let text = text.as_ref();
        self.send(Outgoing::Text { text, compress })
    }

    /// Sends a binary message; `compress: false` skips compression for it.
    pub fn send_binary_with(
        &self,
        data: impl AsRef<[u8]>,
        compress: bool,
    ) -> Result<(), SendError> {
        let data = data.as_ref();
        self.send(Outgoing::Binary { data, compress })
    }

    /// Queues a text message without writing it: the next
    /// [`flush`](Self::flush), or any send, writes everything queued in one
    /// go, and so does the event iterator before it waits for the network.
    /// So a thread that answers the events it iterates can feed its
    /// replies: they go out together once it has caught up with what has
    /// arrived. Past 128 KiB queued, it writes (so memory stays bounded):
    /// whole TCP segments, keeping a short tail for the next write.
    pub fn feed_text(&self, text: impl AsRef<str>) -> Result<(), SendError> {
        self.feed(Outgoing::text(text.as_ref()))
    }

    /// Queues a binary message without writing it, as
    /// [`feed_text`](Self::feed_text) does.
    pub fn feed_binary(&self, data: impl AsRef<[u8]>) -> Result<(), SendError> {
        self.feed(Outgoing::binary(data.as_ref()))
    }

    /// Writes everything queued.
    pub fn flush(&self) -> Result<(), SendError> {
        drop(self.shared.live()?);
        self.shared.flush(true).map_err(SendError::from)
    }

    // Inlined into each caller, so that `what` is known there and the
    // match on it disappears (12 instructions per 16-byte message).
    #[inline(always)]
    fn feed(&self, what: Outgoing<'_>) -> Result<(), SendError> {
        let queued = match self.shared.queue(what)? {
            Queued::Core(queued) => queued,
            Queued::Outbox => 0,
        };
        if queued >= FEED_FLUSH_AT {
            self.shared
                .write_whole_segments()
                .map_err(SendError::from)?;
        }
        Ok(())
    }

    /// Sends a ping (payload at most 125 bytes).
    pub fn ping(&self, payload: &[u8]) -> Result<(), SendError> {
        self.send(Outgoing::Ping(payload))
    }

    /// Sends a pong, e.g. when automatic pongs are off.
    pub fn pong(&self, payload: &[u8]) -> Result<(), SendError> {
        self.send(Outgoing::Pong(payload))
    }

    /// Starts the close handshake. The event iterator then yields `Closed`
    /// and `Disconnected` as the server answers (or the close timeout ends it).
    pub fn close(&self, code: u16, reason: &str) -> Result<(), SendError> {
        self.send(Outgoing::Close { code, reason })
    }

    /// Waits until the WebSocket is open for sending (the `Ready` event),
    /// for at most `timeout` (`None`: as long as it takes). Fails with
    /// `NotReady` when the timeout runs out, and with `Closing` or `Closed`
    /// when the connection will not open, or is over.
    pub fn wait_ready(&self, timeout: Option<std::time::Duration>) -> Result<(), SendError> {
        self.shared.wait_ready(timeout)
    }

    /// Whether the WebSocket is open for sending right now.
    pub fn is_open(&self) -> bool {
        self.shared.live().is_ok_and(|core| core.is_open())
    }

    /// The round-trip time of the connection's latest answered keepalive
    /// ping (see `ping_rate`); `None` before one is answered, and between
    /// connections.
    pub fn rtt(&self) -> Option<std::time::Duration> {
        self.shared.live().ok().and_then(|core| core.rtt())
    }

    /// Empties the outbox (see [`WebSocket::outbox`](crate::WebSocket::outbox)),
    /// handing back what it held, oldest first: for messages that should
    /// not wait for the next connection after all.
    pub fn take_unsent(&self) -> Vec<crate::Unsent> {
        self.shared.take_unsent()
    }
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("open", &self.is_open())
            .finish()
    }
}
