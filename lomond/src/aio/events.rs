//! [`EventStream`]: the tokio driver loop, as a `Stream` of events.

use super::sender::{AsyncSender, Slot};
use super::shared::Shared;
use crate::error::ConnectError;
use crate::event::Event;
use crate::options::Options;
use crate::persist::Control;
use crate::proto::Connection;
use crate::transport::lowat::RecvLowat;
use crate::transport::progress::{self, PeerProgress};
use crate::transport::{AsyncSocket, Plan, ReadHalf};
use futures_core::Stream;
use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use tokio::io::AsyncRead;
use tokio::time::Sleep;

/// How many messages the stream decodes ahead under one lock of the core
/// (the lock per event was a sixth of the CPU time of receiving 16-byte
/// messages).
const DECODE_AHEAD: usize = 16;

type Connected = (
    Connection,
    AsyncSocket,
    Option<SocketAddr>,
    Option<Box<str>>,
);
type Connecting = Pin<Box<dyn Future<Output = Result<Connected, ConnectError>> + Send>>;

enum State {
    /// With the stream the application brought, if it did.
    Start(Box<Options>, Option<AsyncSocket>),
    Connecting(Connecting),
    Running(Box<Running>),
    Done,
}

/// The events of one connection, as a [`Stream`]; polling drives the
/// connection.
///
/// The stream reads straight into the protocol core's buffer (no copy, and
/// no buffer kept once the connection has gone quiet), writes what the core
/// queues, and sleeps until the core's next deadline. It ends after
/// `ConnectFail` or `Disconnected`.
/// Dropping it mid-connection sends a Close (1001, going away) if the socket
/// takes it at once, and closes the socket.
pub struct EventStream {
    url: String,
    /// `Options::write_timeout`, for the connection once it is up.
    write_timeout: Option<std::time::Duration>,
    state: State,
    slot: Arc<Slot>,
    /// The exit handle's side, when one was taken.
    control: Option<Arc<Control>>,
    /// Whether the exit handle's stop was acted on.
    interrupted: bool,
    /// Whether the WebSocket has an outbox to drain into the connection.
    outbox: bool,
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

/// The time in the core's terms, from tokio's clock (which tests may pause).
pub(crate) fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

impl EventStream {
    /// The events of a connection to `url`, over `socket` when the
    /// application brought one, otherwise over TCP to the URL's host.
    pub(crate) fn new(
        url: String,
        options: Options,
        slot: Arc<Slot>,
        socket: Option<AsyncSocket>,
        control: Option<Arc<Control>>,
        outbox: bool,
        attempt: u64,
    ) -> EventStream {
        let _ = attempt;
        EventStream {
            #[cfg(feature = "tracing")]
            span: crate::trace::connection_span(&url, attempt),
            url,
            write_timeout: options.write_timeout,
            state: State::Start(Box::new(options), socket),
            slot,
            control: control.filter(|c| c.taken()),
            interrupted: false,
            outbox,
        }
    }

    /// Acts on the exit handle: a connect is abandoned (its event is
    /// returned), an open connection sent a Close (1001, going away), one
    /// still opening dropped; a closing one finishes within its timeout.
    #[cold]
    fn interrupt(&mut self) -> Option<Event> {
        self.interrupted = true;
        match &mut self.state {
            State::Start(..) | State::Connecting(_) => {
                self.state = State::Done;
                self.slot.connection_over();
                Some(Event::ConnectFail {
                    error: ConnectError::Stopped,
                })
            }
            State::Running(running) => {
                let mut core = running.shared.core();
                match core.check_can_send() {
                    Ok(()) => {
                        let _ = core.close(1001, "going away", now());
                    }
                    Err(crate::error::SendError::NotReady) => core.abandon(),
                    Err(_) => {}
                }
                None
            }
            State::Done => None,
        }
    }

    /// A cloneable, `Send` handle for sending from any task.
    pub fn sender(&self) -> AsyncSender {
        AsyncSender::new(self.slot.clone())
    }

    pub(crate) fn shared(&self) -> Option<&Arc<Shared>> {
        match &self.state {
            State::Running(r) => Some(&r.shared),
            _ => None,
        }
    }
}

async fn connect(
    url: String,
    options: Options,
    brought: Option<AsyncSocket>,
) -> Result<Connected, ConnectError> {
    let mut plan = Plan::new(&url, &options, now())?;
    let socket = match brought {
        Some(socket) => socket,
        None => plan.connect_async(&options).await?,
    };
    let addr = socket.peer_addr();
    let proxy = plan.proxy();
    let core = plan.session(&options, now())?;
    Ok((core, socket, addr, proxy))
}

struct Running {
    shared: Arc<Shared>,
    /// Messages decoded ahead (see [`Connection::poll_message`]), in order;
    /// freed with the core's buffers once the connection goes quiet.
    ahead: VecDeque<Event>,
    read: ReadHalf,
    timer: Timer,
    lowat: RecvLowat,
    /// What the server's TCP had acknowledged at the last deadline.
    progress: PeerProgress,
    /// Our last write found the socket full: bytes wait in the writer.
    write_waiting: bool,
    /// The waker the read half and the timer are polled with (see
    /// [`StreamWake`](super::shared::StreamWake)).
    relay: Waker,
    /// The last read found nothing, and its registration stands: until
    /// the relay is woken or the receive mark moves, another read would
    /// find nothing too.
    read_armed: bool,
    /// The last wait found the connection quiet: the core freed its
    /// buffers (see [`Connection::waiting`]), and a wrapper frees its own.
    quiet: bool,
}

impl Running {
    /// One lock of the core covers decoding, the read and the wait's
    /// bookkeeping; the write half is taken only when there is something to
    /// write (the core queued bytes, an earlier write was left waiting for
    /// the socket, a dropped send left the rest of its bytes, or the
    /// transport may buffer bytes of its own, as TLS does). Each lock and
    /// each look at the writer was a few dozen instructions, several times
    /// per message.
    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let shared = &*self.shared;
        let wake = &*shared.stream_waker;
        // Held from one decode to the next: a read and the decode of what
        // it brought share one lock.
        let mut core = shared.core();
        loop {
            // `ahead` is empty here: `EventStream::poll_next` took what it
            // held, and it is filled only with an event returned at once.
            if let Some(event) = core.poll_event_ahead(&mut self.ahead, DECODE_AHEAD) {
                return Poll::Ready(Some(event));
            }
            // Decoding may have queued pongs or a Close; senders may have
            // left bytes when they let go of the write half.
            let mut flush_busy = false;
            // Plain TCP holds no bytes to write of its own.
            if self.read.tcp().is_none()
                || self.write_waiting
                || core.is_done()
                || !core.poll_transmit().is_empty()
                || shared.take_handoff()
            {
                drop(core);
                match shared.poll_flush(cx, false) {
                    Poll::Ready(Err(e)) => {
                        self.write_waiting = false;
                        core = shared.core();
                        core.handle_io_error(e);
                        continue;
                    }
                    Poll::Ready(Ok(wrote)) => {
                        self.write_waiting = false;
                        flush_busy = !wrote;
                    }
                    // The socket is full; its readiness wakes us.
                    Poll::Pending => self.write_waiting = true,
                }
                core = shared.core();
            }
            if core.is_done() {
                drop(core);
                shared.close_now();
                return Poll::Ready(None);
            }
            if let Some(tcp) = self.read.tcp() {
                if self.lowat.update(tcp, core.input_wanted()) {
                    self.read_armed = false;
                }
            }
            // A read that found nothing is not tried again before the relay
            // is woken: each try was a fifth of a responder's round trip,
            // which waits twice (see `StreamWake`). A new mark may make
            // bytes readable that were not, so it is read at once.
            let read = if self.read_armed && !wake.input_woken() {
                Poll::Pending
            } else {
                wake.take_input();
                let mut relay = Context::from_waker(&self.relay);
                let read = poll_read_into(&mut self.read, &mut relay, core.input_buffer());
                self.read_armed = read.is_pending();
                read
            };
            match read {
                Poll::Ready(Ok(0)) => core.handle_eof(now()),
                Poll::Ready(Ok(_)) => core.input_written(now()),
                Poll::Ready(Err(e)) => core.handle_io_error(e),
                Poll::Pending => {
                    let quiet = core.waiting();
                    let deadline = core.next_deadline();
                    if let Some(deadline) = deadline {
                        if self.timer.elapsed(deadline, &self.relay) {
                            deadline_passed(&mut core, &self.read, &self.lowat, &mut self.progress);
                            continue;
                        }
                    }
                    // Going to sleep: from here on, a sender that leaves
                    // bytes for us or ends the connection must wake us, and
                    // so must the read and the timer, through the relay.
                    // Registering only now keeps the per-event path free of
                    // it, and registering under the core's lock means a
                    // sender that changes the core after we looked at it
                    // sees the registration. Missed: a sender that let go
                    // of the write half (`flush_busy`: it held it when we
                    // tried) before leaving bytes could not wake us, nor a
                    // read or timer that woke the relay before we
                    // registered.
                    wake.register(cx.waker());
                    let missed =
                        (flush_busy && !core.poll_transmit().is_empty() && !shared.writer_busy())
                            || wake.input_woken();
                    drop(core);
                    self.quiet = quiet;
                    if quiet && self.ahead.capacity() > 0 {
                        self.ahead = VecDeque::new();
                    }
                    if missed {
                        cx.waker().wake_by_ref();
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

/// Reads into the spare capacity of `buf` (the core's input buffer),
/// returning how many bytes came: `tokio_util::io::poll_read_buf` without
/// the checks a `BufMut` in general needs (57 instructions of a tokio
/// round trip's two reads, by callgrind).
#[inline]
fn poll_read_into<R: AsyncRead + Unpin>(
    read: &mut R,
    cx: &mut Context<'_>,
    buf: &mut bytes::BytesMut,
) -> Poll<std::io::Result<usize>> {
    if buf.capacity() == buf.len() {
        // Never offer an empty room: a read into it looks like the end.
        buf.reserve(64);
    }
    let mut room = tokio::io::ReadBuf::uninit(buf.spare_capacity_mut());
    let start = room.filled().as_ptr();
    match Pin::new(read).poll_read(cx, &mut room) {
        Poll::Ready(Ok(())) => {}
        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
        Poll::Pending => return Poll::Pending,
    }
    if room.filled().as_ptr() != start {
        // The reader put a buffer of its own in place of the one lent.
        return Poll::Ready(Err(std::io::Error::other(
            "the reader replaced the buffer it was lent",
        )));
    }
    let n = room.filled().len();
    // SAFETY: `ReadBuf` holds that its filled part is initialized, and it
    // is the first `n` bytes of `buf`'s spare capacity (the pointer check
    // above rules out a `ReadBuf` over another buffer put in its place);
    // so the first `buf.len() + n` bytes of `buf` are initialized.
    #[allow(unsafe_code)]
    unsafe {
        buf.set_len(buf.len() + n)
    };
    Poll::Ready(Ok(n))
}

/// The connection's one timer, for the core's next deadline. It is polled
/// with the relay (see `StreamWake`), so only when the deadline moves
/// (about once a second), not at each wait: polling it at every wait cost
/// a tenth of the instructions of one.
struct Timer {
    sleep: Pin<Box<Sleep>>,
    at: Option<std::time::Instant>,
}

impl Timer {
    fn new() -> Timer {
        Timer {
            sleep: Box::pin(tokio::time::sleep_until(tokio::time::Instant::now())),
            at: None,
        }
    }

    /// Whether `deadline` has passed; if not, the timer is armed for it,
    /// to wake `relay`.
    fn elapsed(&mut self, deadline: std::time::Instant, relay: &Waker) -> bool {
        if self.at == Some(deadline) {
            return self.sleep.is_elapsed();
        }
        self.sleep
            .as_mut()
            .reset(tokio::time::Instant::from_std(deadline));
        self.at = Some(deadline);
        // Outside the task's budget: a `Pending` for a spent budget would
        // leave the timer unregistered, and it is not polled again until
        // the deadline moves.
        let mut cx = Context::from_waker(relay);
        let armed = tokio::task::coop::unconstrained(self.sleep.as_mut());
        std::pin::pin!(armed).poll(&mut cx).is_ready()
    }
}

/// At a deadline: takes what arrived below the receive mark first, so
/// that a large frame on a slow link is not taken for silence (see
/// `transport::lowat`); acts on the deadline when nothing did, counting
/// the server's TCP taking our bytes as a sign of life (see
/// `transport::progress`).
#[cold]
fn deadline_passed(
    core: &mut Connection,
    read: &ReadHalf,
    lowat: &RecvLowat,
    peer: &mut PeerProgress,
) {
    #[cfg(target_os = "linux")]
    if let Some(tcp) = read.tcp().filter(|_| lowat.is_raised()) {
        let most = core.input_wanted();
        match crate::transport::lowat::take_below_mark(tcp, core.input_buffer(), most) {
            Ok(0) => return core.handle_eof(now()),
            Ok(_) => return core.input_written(now()),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return core.handle_io_error(e),
        }
    }
    progress::on_deadline(core, peer, read.tcp_under(), now());
}

impl EventStream {
    /// Whether the last wait found the connection quiet, its buffers
    /// freed: a wrapper holding buffers of its own frees them then.
    pub(crate) fn is_quiet(&self) -> bool {
        match &self.state {
            State::Running(running) => running.quiet,
            _ => true,
        }
    }

    /// The next message decoded ahead, if any: the path most events take,
    /// inlined into the caller so the event is moved once, from the queue
    /// to where the caller keeps it (each return of an event through
    /// memory costs a store-forwarding stall).
    #[inline(always)]
    pub(crate) fn pop_ahead(&mut self) -> Option<Event> {
        match &mut self.state {
            State::Running(running) => running.ahead.pop_front(),
            _ => None,
        }
    }
}

impl Stream for EventStream {
    type Item = Event;

    #[inline]
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        #[cfg(feature = "tracing")]
        {
            let span = self.span.clone();
            let _entered = span.enter();
            let polled = self.poll_event(cx);
            if let Poll::Ready(Some(event)) = &polled {
                crate::trace::event(event);
            }
            polled
        }
        #[cfg(not(feature = "tracing"))]
        self.poll_event(cx)
    }
}

impl EventStream {
    #[inline(always)]
    fn poll_event(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let this = &mut *self;
        if let Some(event) = this.pop_ahead() {
            return Poll::Ready(Some(event));
        }
        if let Some(control) = &this.control {
            control.register(cx.waker());
            if control.exited() && !this.interrupted {
                if let Some(event) = this.interrupt() {
                    return Poll::Ready(Some(event));
                }
            }
        }
        loop {
            match &mut this.state {
                State::Start(options, socket) => {
                    let options = std::mem::take(options);
                    let connecting = connect(this.url.clone(), *options, socket.take());
                    this.state = State::Connecting(Box::pin(connecting));
                    return Poll::Ready(Some(Event::Connecting {
                        url: crate::trace::redact(&this.url),
                    }));
                }
                State::Connecting(fut) => {
                    let result = match fut.as_mut().poll(cx) {
                        Poll::Ready(r) => r,
                        Poll::Pending => return Poll::Pending,
                    };
                    return Poll::Ready(Some(match result {
                        Ok((core, stream, addr, proxy)) => {
                            let (read, write) = stream.split();
                            let shared = Arc::new(Shared::new(core, write, this.write_timeout));
                            this.slot.set(shared.clone());
                            let relay = shared.stream_waker.relay();
                            this.state = State::Running(Box::new(Running {
                                shared,
                                ahead: VecDeque::new(),
                                write_waiting: false,
                                read,
                                timer: Timer::new(),
                                relay,
                                read_armed: false,
                                quiet: false,
                                lowat: RecvLowat::new(),
                                progress: PeerProgress::default(),
                            }));
                            Event::Connected {
                                url: crate::trace::redact(&this.url),
                                addr,
                                proxy,
                            }
                        }
                        Err(error) => {
                            this.slot.connection_over();
                            this.state = State::Done;
                            Event::ConnectFail { error }
                        }
                    }));
                }
                State::Running(running) => {
                    if this.outbox {
                        this.slot.drain_outbox();
                    }
                    match running.poll_event(cx) {
                        Poll::Ready(None) => {
                            this.slot.connection_over();
                            this.state = State::Done;
                        }
                        Poll::Ready(Some(event @ Event::Ready { .. })) => {
                            this.slot.opened();
                            return Poll::Ready(Some(event));
                        }
                        other => return other,
                    }
                }
                State::Done => return Poll::Ready(None),
            }
        }
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        if let State::Running(running) = &self.state {
            let shared = &running.shared;
            shared.core().go_away(now());
            shared.close_now();
            self.slot.connection_over();
        }
    }
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Start(..) => "start",
            State::Connecting(_) => "connecting",
            State::Running(_) => "running",
            State::Done => "done",
        };
        f.debug_struct("EventStream")
            .field("url", &self.url)
            .field("state", &state)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::poll_read_into;
    use bytes::BytesMut;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio::io::{AsyncRead, ReadBuf};

    /// Hands out `data` in pieces of the given sizes in turn, as a socket
    /// might, then nothing (the end).
    struct Pieces {
        data: Vec<u8>,
        sizes: Vec<usize>,
        turn: usize,
    }

    impl AsyncRead for Pieces {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            let this = &mut *self;
            let size = this.sizes[this.turn % this.sizes.len()];
            let n = size.min(this.data.len()).min(buf.remaining());
            buf.put_slice(&this.data[..n]);
            this.data.drain(..n);
            this.turn += 1;
            Poll::Ready(Ok(()))
        }
    }

    fn read_all(
        mut reader: Pieces,
        read: impl Fn(&mut Pieces, &mut Context<'_>, &mut BytesMut) -> Poll<std::io::Result<usize>>,
    ) -> (BytesMut, Vec<usize>) {
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut buf = BytesMut::with_capacity(7);
        let mut counts = Vec::new();
        loop {
            match read(&mut reader, &mut cx, &mut buf) {
                Poll::Ready(Ok(0)) => return (buf, counts),
                Poll::Ready(Ok(n)) => counts.push(n),
                other => panic!("{other:?}"),
            }
            if buf.len() > 100 {
                // Consumed as the core does, so the room moves.
                let _ = buf.split_to(buf.len() / 2);
            }
        }
    }

    #[test]
    fn reads_the_same_bytes_as_tokio_utils_poll_read_buf() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
        for sizes in [vec![1], vec![3, 64, 1], vec![100, 7, 4096, 13], vec![9000]] {
            let pieces = || Pieces {
                data: data.clone(),
                sizes: sizes.clone(),
                turn: 0,
            };
            let ours = read_all(pieces(), poll_read_into);
            let reference = read_all(pieces(), |r, cx, b| {
                tokio_util::io::poll_read_buf(Pin::new(r), cx, b)
            });
            assert_eq!(ours.1, reference.1, "read sizes, pieces {sizes:?}");
            assert_eq!(ours.0, reference.0, "bytes, pieces {sizes:?}");
        }
    }

    /// Replaces the buffer it is lent with one of its own, filled.
    struct Swapper;

    impl AsyncRead for Swapper {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            let own: &'static mut [u8] = Box::leak(vec![1u8; 64].into_boxed_slice());
            *buf = ReadBuf::new(own);
            buf.advance(64);
            Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn a_reader_that_swaps_its_buffer_is_an_error() {
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut buf = BytesMut::with_capacity(128);
        match poll_read_into(&mut Swapper, &mut cx, &mut buf) {
            Poll::Ready(Err(e)) => assert_eq!(e.kind(), std::io::ErrorKind::Other),
            other => panic!("{other:?}"),
        }
        assert!(buf.is_empty(), "nothing taken as read");
    }
}
