//! State shared between the thread iterating events and threads sending.
//!
//! One [`Shared`] lives as long as the [`WebSocket`](crate::WebSocket) and
//! its senders: senders made before the connection exists find it here once
//! it is up, and learn here that it has ended. The connection's state and
//! the protocol core sit behind one mutex, so that queueing a message takes
//! one lock and nothing else: a sender that looked the connection up in a
//! slot of its own, then locked the core, spent half the CPU time of
//! sending 16-byte messages on those atomic operations.
//!
//! The socket's write side sits behind another mutex. Nobody holds the core
//! lock while touching the socket, so a sender blocked on a full socket
//! never stops the event thread from reading (which is what lets the peer
//! drain its side and unblock us). Writers hand off: whoever holds the
//! write lock drains everything queued, and looks again after releasing it.

use crate::error::SendError;
use crate::lock::{lock, Condvar, Mutex, MutexGuard};
use crate::persist::outbox::{self, Outbox};
use crate::persist::{OutboxLimits, Unsent};
use crate::proto::connection::whole_units;
use crate::proto::{Connection, Outgoing};
use crate::transport::segment::{SegmentSize, Tail};
use crate::transport::Socket;
use std::io;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where the connection is in its life, as senders see it.
#[derive(Default)]
enum Link {
    /// Not connected yet: sends fail with `NotReady`.
    #[default]
    Waiting,
    /// Connected (from the upgrade request on).
    Live(Box<Connection>),
    /// A persistent WebSocket between connections: sends fail with
    /// `Disconnected`.
    Between,
    /// Over: sends fail with `Closed`, and the core is released.
    Ended,
}

/// What the state lock guards: the connection, and what outlives it.
#[derive(Default)]
struct State {
    link: Link,
    /// Messages kept for the next open connection, when enabled.
    outbox: Option<Outbox>,
    /// Reconnects follow: only `Ended` is final for `wait_ready`.
    persistent: bool,
}

impl State {
    /// Where a send goes: straight to an open connection with nothing
    /// kept before it, or into the outbox while there is none; otherwise
    /// the reason it is refused.
    #[inline]
    fn route(&mut self) -> Route<'_> {
        let persistent = self.persistent;
        match (&mut self.link, &mut self.outbox) {
            (Link::Live(core), None) => Route::Core(core),
            (Link::Live(core), Some(outbox)) => {
                match outbox::keeps(core.check_can_send(), outbox.is_empty(), persistent) {
                    Some(not_open) => Route::Outbox(outbox, not_open),
                    None => Route::Core(core),
                }
            }
            (Link::Waiting, Some(outbox)) => Route::Outbox(outbox, SendError::NotReady),
            (Link::Between, Some(outbox)) => Route::Outbox(outbox, SendError::Disconnected),
            (Link::Waiting, None) => Route::Refused(SendError::NotReady),
            (Link::Between, None) => Route::Refused(SendError::Disconnected),
            (Link::Ended, _) => Route::Refused(SendError::Closed),
        }
    }
}

/// See [`State::route`]; an outbox route carries the error a control
/// frame, which it does not keep, meets.
enum Route<'a> {
    Core(&'a mut Connection),
    Outbox(&'a mut Outbox, SendError),
    Refused(SendError),
}

/// Where a send went.
pub(crate) enum Queued {
    /// Into the connection, which now has this many bytes to write.
    Core(usize),
    /// Into the outbox.
    Outbox,
}

/// What the write lock guards: the socket's write side and a reused buffer
/// for bytes moved out of the core.
#[derive(Default)]
struct Writer {
    buf: Vec<u8>,
    /// The short tail a whole-segment write kept back.
    tail: Tail,
    /// None before the connection and after it ends.
    stream: Option<Arc<Socket>>,
    segment: SegmentSize,
}

/// One WebSocket's connection, shared by its event iterator and senders.
#[derive(Default)]
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Signalled, with `state` locked, when the connection may have become
    /// ready to send or ended: for senders waiting for readiness.
    changed: Condvar,
    writer: Mutex<Writer>,
    /// The live connection's socket, for an exit handle to shut down
    /// without waiting for the write lock.
    socket: Mutex<Option<Arc<Socket>>>,
    /// The first write failure, for the event thread to report.
    write_error: Mutex<Option<io::Error>>,
    /// A flush that found the write lock taken left its bytes to the
    /// holder. A holder that drains everything looks at the queue again
    /// after letting go; one writing whole segments (which leaves a tail)
    /// looks here, and then writes everything.
    flush_wanted: AtomicBool,
}

/// The locked protocol core of a live connection.
pub(crate) struct CoreGuard<'a>(MutexGuard<'a, State>);

impl Deref for CoreGuard<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        match &self.0.link {
            Link::Live(core) => core,
            // CoreGuard is only made from a live link (see `live`).
            _ => unreachable!("core guard on a connection that is not live"),
        }
    }
}

impl DerefMut for CoreGuard<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        match &mut self.0.link {
            Link::Live(core) => core,
            _ => unreachable!("core guard on a connection that is not live"),
        }
    }
}

impl Shared {
    /// Keeps messages sent while no connection is open in an outbox
    /// bounded by `limits`: set when the WebSocket is built, so that
    /// senders taken before it starts already use it.
    pub(crate) fn set_outbox(&self, limits: OutboxLimits) {
        lock(&self.state).outbox = Some(Outbox::new(limits));
    }

    /// Reconnections follow each connection (set before the first).
    pub(crate) fn set_persistent(&self) {
        lock(&self.state).persistent = true;
    }

    /// The connection is up: senders may use `core` and write to `stream`.
    pub(crate) fn start(&self, core: Connection, stream: Arc<Socket>) {
        lock(&self.state).link = Link::Live(Box::new(core));
        *lock(&self.socket) = Some(stream.clone());
        lock(&self.writer).stream = Some(stream);
    }

    /// The connection is over; for a persistent WebSocket another follows
    /// (senders are told `Disconnected` meanwhile), otherwise this is
    /// [`end`](Self::end). The socket must have been shut down first, so
    /// that no writer can be blocked on it while we wait for the write lock.
    pub(crate) fn connection_over(&self) {
        let mut state = lock(&self.state);
        if !state.persistent {
            drop(state);
            return self.end();
        }
        if !matches!(state.link, Link::Ended) {
            state.link = Link::Between;
        }
        drop(state);
        self.release();
    }

    /// The WebSocket is over: its core is released, and senders are told
    /// it is closed (the socket shut down first, as for `connection_over`).
    pub(crate) fn end(&self) {
        lock(&self.state).link = Link::Ended;
        self.release();
    }

    fn release(&self) {
        self.changed.notify_all();
        *lock(&self.socket) = None;
        *lock(&self.writer) = Writer::default();
    }

    /// Wakes senders waiting for readiness: the handshake has completed.
    /// The outbox goes first, before anything sent from now on.
    pub(crate) fn opened(&self) {
        self.drain_outbox();
        self.changed.notify_all();
    }

    /// Moves what the outbox holds into an open connection, as far as its
    /// write buffer takes it; whoever writes next writes it.
    pub(crate) fn drain_outbox(&self) {
        let mut state = lock(&self.state);
        let state = &mut *state;
        if let (Link::Live(core), Some(outbox)) = (&mut state.link, &mut state.outbox) {
            if !outbox.is_empty() && core.is_open() {
                outbox.drain(|what| core.send(what, Instant::now));
            }
        }
    }

    /// Empties the outbox, handing back what it held.
    pub(crate) fn take_unsent(&self) -> Vec<Unsent> {
        lock(&self.state)
            .outbox
            .as_mut()
            .map_or_else(Vec::new, Outbox::take)
    }

    /// Queues `what` on the connection, or in the outbox while none is
    /// open; see [`State::route`].
    #[inline]
    pub(crate) fn queue(&self, what: Outgoing<'_>) -> Result<Queued, SendError> {
        let mut state = lock(&self.state);
        let persistent = state.persistent;
        match state.route() {
            Route::Core(core) => match core.send(what, Instant::now) {
                Ok(()) => Ok(Queued::Core(core.poll_transmit().len())),
                Err(e) => Err(outbox::refusal(e, persistent)),
            },
            Route::Outbox(outbox, not_open) => outbox.push(what, not_open).map(|()| Queued::Outbox),
            Route::Refused(e) => Err(e),
        }
    }

    /// For an exit handle, from any thread: an open connection is sent a
    /// Close (1001, going away); one still opening is dropped, its socket
    /// shut down to wake the event thread. A closing one is left to finish
    /// within its close timeout.
    pub(crate) fn interrupt(&self) {
        let mut state = lock(&self.state);
        let Link::Live(core) = &mut state.link else {
            return;
        };
        match core.check_can_send() {
            Ok(()) => {
                let _ = core.close(1001, "going away", Instant::now());
                drop(state);
                let _ = self.flush(false);
            }
            Err(SendError::NotReady) => {
                core.abandon();
                drop(state);
                if let Some(socket) = lock(&self.socket).clone() {
                    socket.shutdown();
                }
            }
            Err(_) => {}
        }
    }

    /// Waits until data may be sent, or until `timeout`: `NotReady` when it
    /// runs out, `Closing`/`Closed` when the connection will never be ready
    /// (for a persistent WebSocket, only once it has stopped).
    pub(crate) fn wait_ready(&self, timeout: Option<Duration>) -> Result<(), SendError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut state = lock(&self.state);
        loop {
            let persistent = state.persistent;
            match &state.link {
                Link::Waiting | Link::Between => {}
                Link::Live(core) => match core.check_can_send() {
                    Err(SendError::NotReady) => {}
                    Err(_) if persistent => {}
                    done => return done,
                },
                Link::Ended => return Err(SendError::Closed),
            }
            match deadline {
                None => self.changed.wait(&mut state),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(SendError::NotReady);
                    }
                    self.changed.wait_for(&mut state, left);
                }
            }
        }
    }

    /// The live connection's core, locked; or why there is none.
    pub(crate) fn live(&self) -> Result<CoreGuard<'_>, SendError> {
        let state = lock(&self.state);
        match &state.link {
            Link::Waiting => Err(SendError::NotReady),
            Link::Live(_) => Ok(CoreGuard(state)),
            Link::Between => Err(SendError::Disconnected),
            Link::Ended => Err(SendError::Closed),
        }
    }

    /// The core, for the event thread while the connection runs (it alone
    /// ends the connection, so the core is there).
    pub(crate) fn core(&self) -> CoreGuard<'_> {
        CoreGuard(lock(&self.state))
    }

    pub(crate) fn take_write_error(&self) -> Option<io::Error> {
        lock(&self.write_error).take()
    }

    /// Queues `what` (see [`queue`](Self::queue)), then writes what is
    /// queued. Used by senders: waits for the socket, so a fast sender is
    /// held back by a slow peer.
    #[inline]
    pub(crate) fn send(&self, what: Outgoing<'_>) -> Result<(), SendError> {
        if let Queued::Core(_) = self.queue(what)? {
            self.flush(true)?;
        }
        Ok(())
    }

    /// Writes everything the core has queued. With `wait` false, returns at
    /// once when another thread is writing: that thread will pick up what we
    /// queued, since it drains until the queue is empty and checks again
    /// after letting go of the write lock (or, writing whole segments, sees
    /// `flush_wanted` and then drains).
    pub(crate) fn flush(&self, wait: bool) -> io::Result<()> {
        self.write_queued(wait, false)
    }

    /// Writes what the core has queued in whole TCP segments, once, and
    /// keeps the short tail in the writer: for a sender that is feeding,
    /// whose next write or flush takes the tail along (see
    /// `transport::segment`).
    pub(crate) fn write_whole_segments(&self) -> io::Result<()> {
        self.write_queued(true, true)
    }

    fn write_queued(&self, mut wait: bool, mut whole: bool) -> io::Result<()> {
        loop {
            let mut writer = if wait {
                lock(&self.writer)
            } else if let Some(writer) = self.try_writer() {
                writer
            } else {
                // Said before the second try, so a holder that lets go
                // between the two tries is caught by the second, and one
                // that lets go after it sees the flag.
                self.flush_wanted.store(true, Ordering::SeqCst);
                match self.try_writer() {
                    Some(writer) => writer,
                    None => return Ok(()),
                }
            };
            if !whole {
                // This drain covers whoever asked before it began.
                self.flush_wanted.store(false, Ordering::SeqCst);
            }
            let Writer {
                buf,
                tail,
                stream,
                segment,
            } = &mut *writer;
            let Some(stream) = stream else {
                // Not connected, or over: nothing can be written.
                return Ok(());
            };
            let unit = if whole {
                stream.segment_size(segment)
            } else {
                0
            };
            loop {
                match self.live() {
                    Ok(mut core) => core.take_transmit(buf),
                    Err(_) => {
                        buf.clear();
                        tail.clear();
                    }
                }
                let held = tail.bytes();
                let total = held.len() + buf.len();
                // An empty write still sends what the transport holds of
                // its own (TLS answering a key update).
                if total == 0 && !stream.wants_write() {
                    break;
                }
                // Unit 0, when not `whole`: everything.
                let n = whole_units(total, unit, held.len());
                if let Err(e) = stream.write_all_two(held, &buf[..n - held.len()]) {
                    buf.clear();
                    tail.clear();
                    self.fail_write(stream, &e);
                    return Err(e);
                }
                // What is left is the end of `buf`: it becomes the tail, in
                // place, and the emptied tail buffer the next to swap.
                let left = total - n;
                if left > 0 {
                    tail.keep(buf, buf.len() - left);
                } else {
                    tail.clear();
                }
                if whole {
                    break;
                }
            }
            drop(writer);
            if whole {
                // The tail waits for the feeder's next write, unless a
                // flush was left to us meanwhile: then everything goes.
                if !self.flush_wanted.swap(false, Ordering::SeqCst) {
                    return Ok(());
                }
                whole = false;
                wait = false;
                continue;
            }
            if self
                .live()
                .map_or(true, |core| core.poll_transmit().is_empty())
                // A flush left to us during the drain may be for bytes of
                // the transport's own, which the queue does not show.
                && !self.flush_wanted.load(Ordering::SeqCst)
            {
                return Ok(());
            }
            wait = false;
        }
    }

    fn try_writer(&self) -> Option<MutexGuard<'_, Writer>> {
        self.writer.try_lock()
    }

    // Kept out of `write_queued`, whose every call paid for it inlined (a
    // larger frame to set up: +32 instructions per echo round trip).
    #[cold]
    #[inline(never)]
    fn fail_write(&self, stream: &Socket, e: &io::Error) {
        let mut slot = lock(&self.write_error);
        if slot.is_none() {
            // SO_SNDTIMEO ends a write that made no progress with EAGAIN.
            *slot = Some(match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the server took no data within the write timeout",
                ),
                _ => io::Error::new(e.kind(), e.to_string()),
            });
        }
        // Wake the event thread: its read ends, and it reports the error.
        stream.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::tests::open_client;
    use crate::proto::Config;
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};
    use std::time::{Duration, Instant};

    /// An open connection whose socket is one end of a loopback TCP
    /// pair; the other end, for the test to read as the server.
    fn open_over_loopback() -> (Arc<Shared>, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let shared = Arc::new(Shared::default());
        shared.start(
            open_client(Config::default(), Instant::now()),
            Arc::new(Socket::new(client)),
        );
        (shared, server)
    }

    #[test]
    fn a_flush_left_to_a_whole_segment_writer_is_written_by_it() {
        let (shared, mut server) = open_over_loopback();
        // More than the socket takes while the server does not read, so
        // the feeder blocks in its write, holding the write lock.
        for _ in 0..400 {
            shared.core().send_binary(&[7; 50_000]).unwrap();
        }
        let mut expected = shared.core().poll_transmit().len();
        let feeder = {
            let shared = shared.clone();
            std::thread::spawn(move || shared.write_whole_segments().unwrap())
        };
        while shared.try_writer().is_some() {
            assert!(!feeder.is_finished(), "the socket took 20 MB unread");
            std::thread::yield_now();
        }
        // The event thread queues a frame (a pong, say) and flushes before
        // it waits for input: the lock is taken, so the feeder must write
        // it, though it writes only whole segments for itself.
        let pong = {
            let mut core = shared.core();
            let before = core.poll_transmit().len();
            core.send_binary(b"pong").unwrap();
            core.poll_transmit().len() - before
        };
        expected += pong;
        shared.flush(false).unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut got = 0;
        let mut buf = vec![0; 1 << 16];
        while got < expected {
            match server.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) => panic!("after {got} of {expected} bytes: {e}"),
            }
        }
        assert_eq!(got, expected);
        feeder.join().unwrap();
    }

    #[test]
    fn whole_segment_writes_send_every_byte_in_order_with_their_tails() {
        let (shared, mut server) = open_over_loopback();
        // What the server must read: every byte the core queued, in order.
        let expected = Arc::new(Mutex::new(Vec::new()));
        let feeder = {
            let (shared, expected) = (shared.clone(), expected.clone());
            std::thread::spawn(move || {
                for i in 0..300u32 {
                    // Sizes that leave every kind of tail against the unit.
                    let size = 20_000 + (i as usize * 7_919) % 90_000;
                    let payload: Vec<u8> = (0..size).map(|j| (i as usize + j) as u8).collect();
                    {
                        let mut core = shared.core();
                        let before = core.poll_transmit().len();
                        core.send_binary(&payload).unwrap();
                        let queued = core.poll_transmit();
                        lock(&expected).extend_from_slice(&queued[before..]);
                    }
                    if i % 3 == 0 {
                        shared.write_whole_segments().unwrap();
                    }
                }
                shared.flush(true).unwrap();
            })
        };
        // Read slowly at first, so that writes are cut short; look often
        // whether the feeder is done and everything has come.
        server
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut got = Vec::new();
        let mut buf = vec![0; 1 << 12];
        while !(feeder.is_finished() && got.len() >= lock(&expected).len()) {
            assert!(Instant::now() < deadline, "after {} bytes", got.len());
            if got.len() < 1 << 20 {
                std::thread::sleep(Duration::from_micros(200));
            }
            match server.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("after {} bytes: {e}", got.len()),
            }
        }
        feeder.join().unwrap();
        let expected = lock(&expected);
        assert_eq!(got.len(), expected.len());
        assert!(got == *expected, "the bytes differ");
    }
}
