//! The conventional `Stream` + `Sink<Message>` face, for code written for
//! tokio-tungstenite: [`connect_async`] returns a [`WsStream`] after the
//! handshake, which `futures::StreamExt::split` splits into halves.

use super::events::EventStream;
pub use super::message::{CloseFrame, Message};
use super::shared::{Direct, Shared};
use crate::error::SendError;
use crate::event::Event;
use crate::failure::Error;
use crate::proto::frame::OpCode;
use crate::proto::{DeflateParams, Outbox, Outgoing, Response};
use crate::utf8_bytes::Utf8Bytes;
use crate::websocket::WebSocket;
use futures_core::Stream;
use futures_sink::Sink;
use futures_util::StreamExt;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite};

/// Outgoing bytes past which `poll_ready` first writes what is queued (in
/// whole TCP segments; the short tail waits for more, or for a flush).
const SINK_HIGH_WATER: usize = 128 << 10;

/// Data messages up to this size are encoded as they are fed, into the
/// stream's [`Outbox`], which takes the core's lock once per 16 (for mask
/// keys; the lock per message was a sixth of the CPU time of sending
/// 16-byte messages) and reaches the core in one piece at a flush, at the
/// high-water mark, or when the stream waits for input; anything larger,
/// and every control message, takes the outbox with it at once.
const FEED_BATCH_MESSAGE: usize = 1 << 10;

/// One connection as a `Stream` of messages and a `Sink` of messages.
///
/// The stream ends after the close handshake (or yields the error that ended
/// the connection). Automatic pings, pongs and timeouts work as on the event
/// stream, which this wraps. Messages fed to the sink without a flush are
/// written by the stream before it waits for input, so a task that answers
/// what it reads can `feed` its replies and have them go out together.
///
/// Small messages are fed to the connection a batch at a time, so one that
/// cannot be sent (after the close handshake began, say) is reported by a
/// later sink call, at the latest by `flush`. Messages from an
/// [`AsyncSender`](super::AsyncSender) are ordered with the sink's from the
/// sink's next flush on.
#[derive(Debug)]
pub struct WsStream {
    events: EventStream,
    /// A `Closing` was seen, so the `Closed` that follows repeats it.
    close_reported: bool,
    finished: bool,
    /// The last `start_send` left more than the high-water mark queued:
    /// the next `poll_ready` writes first.
    over_high_water: bool,
    /// Fed messages encoded and not yet given to the core (see
    /// [`FEED_BATCH_MESSAGE`]), in order. A flush, a close, polling the
    /// stream and dropping all commit them first.
    outbox: Outbox,
    /// The failure of a batch committed by the stream side, for the sink's
    /// next call.
    batch_error: Option<Error>,
    /// The subprotocol the server chose.
    protocol: Option<Box<str>>,
    /// The permessage-deflate parameters in force.
    deflate: Option<DeflateParams>,
}

/// Connects to `request` (a URL as `&str`, `String`, `url::Url` or
/// `http::Uri`, an `http::Request` with headers, or a configured
/// [`WebSocket`]; see [`IntoClientRequest`](crate::IntoClientRequest)) and
/// completes the handshake.
pub async fn connect_async(
    request: impl crate::IntoClientRequest,
) -> Result<(WsStream, Response), Error> {
    connect_async_with(request.into_websocket()?).await
}

/// Connects with a configured [`WebSocket`] and completes the handshake.
pub async fn connect_async_with(ws: WebSocket) -> Result<(WsStream, Response), Error> {
    handshake(ws.event_stream()).await
}

/// Completes the handshake for `url` over `stream`, already connected to
/// the server (a Unix socket, an in-memory pipe, a tunnel made by hand),
/// as tokio-tungstenite's `client_async` does.
pub async fn client_async<S>(
    request: impl crate::IntoClientRequest,
    stream: S,
) -> Result<(WsStream, Response), Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    client_async_with(request.into_websocket()?, stream).await
}

/// [`client_async`] with a configured [`WebSocket`].
pub async fn client_async_with<S>(ws: WebSocket, stream: S) -> Result<(WsStream, Response), Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    handshake(ws.event_stream_on(stream)).await
}

/// Runs `events` until the handshake's outcome.
async fn handshake(mut events: EventStream) -> Result<(WsStream, Response), Error> {
    while let Some(event) = events.next().await {
        match event {
            Event::Ready {
                response,
                protocol,
                deflate,
                ..
            } => {
                let stream = WsStream {
                    events,
                    close_reported: false,
                    finished: false,
                    over_high_water: false,
                    outbox: Outbox::new(FEED_BATCH_MESSAGE),
                    batch_error: None,
                    protocol: protocol.map(String::into_boxed_str),
                    deflate,
                };
                return Ok((stream, *response));
            }
            Event::ConnectFail { error } => return Err(Error::Connect(error)),
            Event::Rejected { error, response } => return Err(Error::Rejected { error, response }),
            Event::Disconnected { reason, .. } => return Err(Error::Disconnected(reason)),
            _ => {}
        }
    }
    Err(Error::Send(SendError::Closed))
}

impl WsStream {
    /// The underlying event stream's sender, for sending from other tasks.
    pub fn sender(&self) -> super::AsyncSender {
        self.events.sender()
    }

    /// The subprotocol the server chose, if any (its
    /// `Sec-WebSocket-Protocol`, checked against those offered).
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The permessage-deflate parameters in force, when compression was
    /// offered ([`WebSocket::compress`]) and the server accepted it.
    pub fn deflate(&self) -> Option<DeflateParams> {
        self.deflate
    }
}

impl Stream for WsStream {
    type Item = Result<Message, Error>;

    #[inline(never)]
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        // Most messages were decoded ahead: they take this short path,
        // which moves each once, from the queue to the caller (see
        // `pop_ahead`). The rest of the poll is out of line: its stack
        // frame and saved registers cost each message taken here 28
        // instructions (callgrind, receiving 16 B and 1 KiB), more than
        // the 12 that a poll going on to it pays for the extra call.
        if this.finished {
            return Poll::Ready(None);
        }
        match this.events.pop_ahead() {
            Some(Event::Binary(b)) => return Poll::Ready(Some(Ok(Message::Binary(b)))),
            Some(Event::Text(t)) => return Poll::Ready(Some(Ok(Message::Text(t)))),
            Some(other) => {
                if let Some(item) = this.item_cold(other) {
                    return Poll::Ready(item);
                }
            }
            None => {}
        }
        this.poll_next_after(cx)
    }
}

impl WsStream {
    /// An event decoded ahead that is not a message.
    #[cold]
    #[inline(never)]
    fn item_cold(&mut self, event: Event) -> Option<Option<Result<Message, Error>>> {
        self.item(event)
    }

    /// The stream's poll past the messages decoded ahead, while it has
    /// not finished (an event that finishes it returns at once).
    #[inline(never)]
    fn poll_next_after(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        // What was fed goes out before the stream waits for input, and
        // not before: a responder's replies to messages decoded ahead go
        // to the core together (committing at each message was a fifth of
        // the tokio echo with 64 in flight, by callgrind).
        if let Err(e) = self.commit_batch() {
            self.batch_error.get_or_insert(e);
        }
        loop {
            let event = match Pin::new(&mut self.events).poll_next(cx) {
                Poll::Ready(Some(e)) => e,
                Poll::Ready(None) => {
                    self.finished = true;
                    return Poll::Ready(None);
                }
                Poll::Pending => {
                    if self.events.is_quiet() {
                        self.outbox.shrink_idle();
                    }
                    return Poll::Pending;
                }
            };
            if let Some(item) = self.item(event) {
                return Poll::Ready(item);
            }
        }
    }
}

impl WsStream {
    /// Starts the close handshake with `frame` (`None`: a normal closure,
    /// 1000) and writes it, as tokio-tungstenite's `close` does. Read on
    /// to see the server's answer (the stream ends after it), or drop the
    /// stream.
    pub async fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), Error> {
        futures_util::SinkExt::send(self, Message::Close(frame)).await
    }

    /// What the stream yields for `event`: `Some(Some(message or error))`,
    /// `Some(None)` at the end, `None` to skip the event.
    #[inline(always)]
    fn item(&mut self, event: Event) -> Option<Option<Result<Message, Error>>> {
        let close = |code: Option<u16>, reason: Utf8Bytes| {
            Message::Close(code.map(|code| CloseFrame {
                code: code.into(),
                reason,
            }))
        };
        let item = match event {
            Event::Text(t) => Ok(Message::Text(t)),
            Event::Binary(b) => Ok(Message::Binary(b)),
            Event::Ping(b) => Ok(Message::Ping(b)),
            Event::Pong { data, .. } => Ok(Message::Pong(data)),
            Event::Closing { code, reason } => {
                self.close_reported = true;
                Ok(close(code, reason))
            }
            Event::Closed { code, reason } if !self.close_reported => {
                self.close_reported = true;
                Ok(close(code, reason))
            }
            Event::ProtocolError { error } => {
                // The Disconnected that follows says nothing new.
                self.close_reported = true;
                self.finished = true;
                Err(Error::Protocol(error))
            }
            Event::Disconnected {
                graceful: false,
                reason,
            } => {
                self.finished = true;
                Err(Error::Disconnected(reason))
            }
            Event::Disconnected { .. } => {
                self.finished = true;
                return Some(None);
            }
            _ => return None,
        };
        Some(Some(item))
    }

    /// Gives the outbox's frames to the core, in order, under one lock. If
    /// the core cannot take them, they are all dropped and the error is
    /// returned: none is sent out of order. Inlined, so that the receive
    /// path pays only the emptiness check.
    #[inline]
    fn commit_batch(&mut self) -> Result<(), Error> {
        if self.outbox.is_empty() {
            return Ok(());
        }
        self.commit_with(None)
    }

    /// [`commit_batch`](Self::commit_batch), then `last` (a message that
    /// does not wait in the batch), under the same lock.
    fn commit_with(&mut self, last: Option<Message>) -> Result<(), Error> {
        let Some(shared) = self.events.shared() else {
            self.outbox.clear();
            return Err(Error::Send(SendError::Closed));
        };
        let mut core = shared.core();
        let mut result = core.send_outbox(&mut self.outbox);
        let last_sent = result.is_ok() && last.is_some();
        if let (Ok(()), Some(last)) = (&result, last) {
            result = core.send(last.outgoing(), || tokio::time::Instant::now().into_std());
        }
        if last_sent {
            // What the outbox may take next follows from `last` (a Close
            // ends it).
            let _ = core.send_outbox(&mut self.outbox);
        }
        self.over_high_water = core.poll_transmit().len() >= SINK_HIGH_WATER;
        result.map_err(Error::Send)
    }

    /// The outbox has used its keys: it gathers on with fresh ones up to
    /// the high-water mark, then goes to the core in one piece (which
    /// takes it without a copy when nothing is queued before it). Handing
    /// over each batch of [`OUTBOX_FRAMES`](crate::proto::outbox::OUTBOX_FRAMES)
    /// was a copy of every byte sent.
    fn refill_or_commit(&mut self) -> Result<(), Error> {
        if self.outbox.bytes_len() >= SINK_HIGH_WATER {
            return self.commit_batch();
        }
        let Some(shared) = self.events.shared() else {
            return self.refuse();
        };
        let refilled = shared.core().refill_outbox(&mut self.outbox);
        refilled.map_err(Error::Send)
    }

    /// Why a message cannot be fed: the failure of an earlier batch, or
    /// the connection is gone. Out of line, so feeding pays two checks.
    #[cold]
    #[inline(never)]
    fn refuse(&mut self) -> Result<(), Error> {
        if let Some(e) = self.batch_error.take() {
            return Err(e);
        }
        self.outbox.clear();
        Err(Error::Send(SendError::Closed))
    }

    /// Writes what is queued; with `whole`, only whole TCP segments (the
    /// sink is being fed more, and the short tail waits for it).
    fn poll_write_out(&mut self, cx: &mut Context<'_>, whole: bool) -> Poll<Result<(), Error>> {
        let Some(shared) = self.events.shared() else {
            return Poll::Ready(Err(Error::Send(SendError::Closed)));
        };
        let mut flushed = shared.poll_flush(cx, whole);
        if let Poll::Ready(Ok(false)) = flushed {
            // Another task holds the write half; it wakes us when done.
            // It may have let go before we registered: try once more.
            shared.sink_waker.register(cx.waker());
            flushed = shared.poll_flush(cx, whole);
        }
        match flushed {
            Poll::Ready(Ok(true)) => Poll::Ready(Ok(())),
            Poll::Ready(Ok(false)) => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(write_failed(shared, e))),
            Poll::Pending => {
                // The socket's readiness wakes the last task to poll it,
                // which may be another's; a sender that writes our bytes
                // wakes us through this.
                shared.sink_waker.register(cx.waker());
                Poll::Pending
            }
        }
    }

    /// Flushes what was fed: straight from the outbox when nothing waits
    /// before it (see [`Shared::poll_write_outbox`]), else through the core.
    fn poll_flush_fed(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if !self.outbox.is_empty() {
            if let Some(shared) = self.events.shared() {
                match shared.poll_write_outbox(cx, &mut self.outbox) {
                    Direct::Declined => {}
                    Direct::Refused(e) => return Poll::Ready(Err(Error::Send(e))),
                    Direct::Wrote(Poll::Ready(Ok(()))) => return Poll::Ready(Ok(())),
                    Direct::Wrote(Poll::Ready(Err(e))) => {
                        return Poll::Ready(Err(write_failed(shared, e)))
                    }
                    Direct::Wrote(Poll::Pending) => {
                        shared.sink_waker.register(cx.waker());
                        return Poll::Pending;
                    }
                }
            }
        }
        self.commit_batch()?;
        self.poll_write_out(cx, false)
    }
}

/// A write failed: the connection ends with it, and the event stream is
/// woken to say so.
fn write_failed(shared: &Shared, e: std::io::Error) -> Error {
    shared
        .core()
        .handle_io_error(std::io::Error::new(e.kind(), e.to_string()));
    shared.stream_waker.notify();
    Error::Send(SendError::from(e))
}

impl Sink<Message> for WsStream {
    type Error = Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if let Some(e) = self.batch_error.take() {
            return Poll::Ready(Err(e));
        }
        if !self.over_high_water {
            return Poll::Ready(Ok(()));
        }
        let written = self.poll_write_out(cx, true);
        if written.is_ready() {
            self.over_high_water = false;
        }
        written
    }

    /// Queues `item`. Text and binary messages up to 1 KiB (that go
    /// uncompressed) are encoded at once and reach the connection in
    /// batches, so an error such as [`SendError::Closed`] may be returned
    /// by a later call: a later `start_send`, `poll_ready`, `poll_flush`
    /// or `poll_close`.
    fn start_send(mut self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        let this = &mut *self;
        if this.batch_error.is_some() || this.events.shared().is_none() {
            return this.refuse();
        }
        let taken = match &item {
            Message::Binary(b) => this.outbox.push(OpCode::Binary, b),
            Message::Text(t) => this.outbox.push(OpCode::Text, t.as_bytes()),
            _ => false,
        };
        if !taken {
            return this.commit_with(Some(item));
        }
        if !this.outbox.needs_keys() {
            return Ok(());
        }
        this.refill_or_commit()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if let Some(e) = self.batch_error.take() {
            return Poll::Ready(Err(e));
        }
        self.poll_flush_fed(cx)
    }

    /// Starts the close handshake (1000) if it has not started, and writes
    /// what is queued. The stream side then sees the server's answer.
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let committed = self.commit_batch();
        if let Some(shared) = self.events.shared() {
            let now = tokio::time::Instant::now().into_std();
            let _ = shared.core().send(Outgoing::normal_close(), || now);
        } else {
            return Poll::Ready(Ok(()));
        }
        committed?;
        self.poll_write_out(cx, false)
    }
}

impl Drop for WsStream {
    /// Messages fed and never flushed are committed, so the event stream's
    /// own drop writes them out (as far as the socket takes them at once)
    /// before its Close (1001).
    fn drop(&mut self) {
        let _ = self.commit_batch();
    }
}

#[cfg(test)]
mod tests {
    use super::{connect_async, Message};
    use futures_util::{SinkExt, StreamExt};
    use std::time::Duration;

    #[tokio::test]
    async fn the_outbox_is_kept_while_busy_and_freed_once_quiet() {
        let server = lomond_testkit::EchoServer::start().unwrap();
        let (mut ws, _) = connect_async(&server.url()).await.unwrap();
        // The first send lends the outbox its keys.
        ws.send(Message::text("first")).await.unwrap();
        assert!(matches!(ws.next().await, Some(Ok(Message::Text(_)))));
        for round in 0..3u8 {
            for i in 0..3u8 {
                ws.feed(Message::binary(vec![round ^ i; 100]))
                    .await
                    .unwrap();
            }
            // Written straight from the outbox, which keeps its buffer.
            ws.flush().await.unwrap();
            for _ in 0..3 {
                assert!(matches!(ws.next().await, Some(Ok(Message::Binary(_)))));
            }
            assert!(ws.outbox.capacity() > 0, "freed while busy, round {round}");
        }
        // Traffic stops: within two lingers the stream finds the
        // connection quiet at a wait, and the outbox goes with the core's
        // buffers.
        let wait = 2 * crate::proto::BUFFER_LINGER + Duration::from_millis(500);
        assert!(tokio::time::timeout(wait, ws.next()).await.is_err());
        assert_eq!(ws.outbox.capacity(), 0);
    }
}
