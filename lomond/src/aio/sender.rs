//! [`AsyncSender`]: sends on a connection from any task.

use crate::error::SendError;
use crate::proto::Outgoing;
use std::sync::Arc;

/// Where async senders find the live connection.
pub(crate) use super::slot::Slot;

/// A cloneable, `Send` handle for sending on an
/// [`EventStream`](super::EventStream) from any task.
///
/// Each send encodes its frame and resolves once the frame is written to the
/// socket, so a slow peer slows senders down instead of growing a buffer.
/// Sends from many tasks at once are coalesced into few writes. Dropping a
/// send future part-way is safe: the rest of its frame is still written.
///
/// ```
/// use futures_util::StreamExt;
/// use lomond::{Event, WebSocket};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = lomond_testkit::EchoServer::start()?;
/// # let url = server.url();
///
/// let ws = WebSocket::new(&url)?;
/// let sender = ws.async_sender(); // taken before it runs
/// let mut events = ws.event_stream();
/// let writer = tokio::spawn(async move {
///     sender.ready().await?;
///     for i in 0..3 {
///         sender.send_text(format!("reading {i}")).await?;
///     }
///     sender.close(1000, "done").await
/// });
/// let mut echoes = 0;
/// while let Some(event) = events.next().await {
///     if let Event::Text(text) = event {
///         echoes += 1;
///         println!("echo: {text}");
///     }
/// }
/// writer.await??;
/// assert_eq!(echoes, 3);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct AsyncSender {
    slot: Arc<Slot>,
}

impl AsyncSender {
    pub(crate) fn new(slot: Arc<Slot>) -> AsyncSender {
        AsyncSender { slot }
    }

    /// Sends `what` (each method below is one of these); resolves once
    /// it is written.
    pub async fn send(&self, what: Outgoing<'_>) -> Result<(), SendError> {
        match self.slot.route(what)? {
            Some(shared) => shared.flush().await.map_err(SendError::from),
            // Kept in the outbox for the next connection.
            None => Ok(()),
        }
    }

    /// Sends a text message: a `&str`, `String`, `Utf8Bytes`... (it is
    /// copied once, as it is masked into the frame, so a reference costs
    /// no more than an owned value).
    pub async fn send_text(&self, text: impl AsRef<str>) -> Result<(), SendError> {
        self.send(Outgoing::text(text.as_ref())).await
    }

    /// Sends a binary message: a `&[u8]`, `Vec<u8>`, `Bytes`, `Payload`...
    pub async fn send_binary(&self, data: impl AsRef<[u8]>) -> Result<(), SendError> {
        self.send(Outgoing::binary(data.as_ref())).await
    }

    /// Sends a text message; `compress: false` skips compression for it.
    pub async fn send_text_with(
        &self,
        text: impl AsRef<str>,
        compress: bool,
    ) -> Result<(), SendError> {
        let text = text.as_ref();
        self.send(Outgoing::Text { text, compress }).await
    }

    /// Sends a binary message; `compress: false` skips compression for it.
    pub async fn send_binary_with(
        &self,
        data: impl AsRef<[u8]>,
        compress: bool,
    ) -> Result<(), SendError> {
        let data = data.as_ref();
        self.send(Outgoing::Binary { data, compress }).await
    }

    /// Sends a ping (payload at most 125 bytes).
    pub async fn ping(&self, payload: &[u8]) -> Result<(), SendError> {
        self.send(Outgoing::Ping(payload)).await
    }

    /// Sends a pong, e.g. when automatic pongs are off.
    pub async fn pong(&self, payload: &[u8]) -> Result<(), SendError> {
        self.send(Outgoing::Pong(payload)).await
    }

    /// Starts the close handshake; the event stream then yields `Closed` and
    /// `Disconnected` as the server answers (or the close timeout ends it).
    pub async fn close(&self, code: u16, reason: &str) -> Result<(), SendError> {
        self.send(Outgoing::Close { code, reason }).await
    }

    /// Waits until the connection is open for sending (the `Ready` event).
    /// Fails with `Closing` or `Closed` when it will not open, or is over;
    /// wrap it in `tokio::time::timeout` to bound the wait.
    pub async fn ready(&self) -> Result<(), SendError> {
        self.slot.wait_for(|s| s.core().check_can_send()).await
    }

    /// Whether the connection is open for sending right now.
    pub fn is_open(&self) -> bool {
        self.slot.get().is_ok_and(|s| s.core().is_open())
    }

    /// The round-trip time of the connection's latest answered keepalive
    /// ping (see `ping_rate`); `None` before one is answered, and between
    /// connections.
    pub fn rtt(&self) -> Option<std::time::Duration> {
        self.slot.get().ok().and_then(|s| s.core().rtt())
    }

    /// Empties the outbox (see [`WebSocket::outbox`](crate::WebSocket::outbox)),
    /// handing back what it held, oldest first.
    pub fn take_unsent(&self) -> Vec<crate::Unsent> {
        self.slot.take_unsent()
    }
}

impl std::fmt::Debug for AsyncSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncSender")
            .field("open", &self.is_open())
            .finish()
    }
}
