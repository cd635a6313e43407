//! State shared by a connection's event stream and its senders.
//!
//! The protocol core sits behind a short-held std mutex; the socket's write
//! half behind an async one, which a sender holds while it waits for the
//! socket (so sends are backpressured). Whoever holds the write half drains
//! everything queued, by anyone, in one write: many small messages from many
//! tasks go out in few syscalls. Partly written bytes stay in the [`Writer`],
//! so a send future dropped mid-write never leaves half a frame behind.

use crate::error::SendError;
use crate::lock::{lock, Mutex, MutexGuard};
use crate::proto::connection::whole_units;
use crate::proto::{Connection, Outbox};
use crate::transport::segment::{SegmentSize, Tail};
use crate::transport::WriteHalf;
use futures_util::task::AtomicWaker;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;
use tokio::io::AsyncWrite;
use tokio::time::Sleep;

/// The write side of the socket and the bytes being written: `held`, then
/// `buf[pos..end]`; `buf[end..]` is the short tail a whole-segment write
/// keeps back, which becomes `held` once the rest of `buf` is written.
pub(crate) struct Writer {
    half: Option<WriteHalf>,
    held: Tail,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// `Options::write_timeout`: how long a write may make no progress.
    timeout: Option<Duration>,
    /// Runs while the socket takes nothing; made at the first stall, so
    /// idle connections hold no timer.
    stall: Option<Pin<Box<Sleep>>>,
    /// Whether `stall` is armed for the current stall.
    stalled: bool,
    segment: SegmentSize,
}

impl Writer {
    /// Writes until nothing is queued in the core or the socket is full.
    /// With `whole`, takes from the core once, in whole TCP segments, and
    /// leaves the short tail queued (see `transport::segment`). Only the
    /// sink writes so, within one poll of the object that is also the
    /// stream, so no flush is ever left to it (unlike the blocking
    /// driver's `flush_wanted`): the stream cannot run meanwhile, and an
    /// `AsyncSender` waits for the write half and drains everything.
    fn poll_drain(
        &mut self,
        cx: &mut Context<'_>,
        core: &Mutex<Connection>,
        whole: bool,
        handoff: &AtomicBool,
    ) -> Poll<io::Result<()>> {
        let mut took = false;
        loop {
            if self.pos == self.end {
                if self.end < self.buf.len() {
                    // The tail kept back is due first from now on (what
                    // was held went before `buf`, so it is all written).
                    self.held.keep(&mut self.buf, self.end);
                    self.pos = 0;
                    self.end = 0;
                } else if self.held.is_empty() {
                    self.held.clear();
                }
                if whole && took {
                    if !self.held.is_empty() {
                        // Bytes wait here with no sign of them in the
                        // core: the stream writes them if nothing else does.
                        handoff.store(true, Ordering::Release);
                    }
                    return Poll::Ready(Ok(()));
                }
                // Unit 0 (not `whole`) takes everything.
                let unit = match &self.half {
                    Some(half) if whole => half.tcp().map_or(0, |tcp| self.segment.get(tcp)),
                    _ => 0,
                };
                lock(core).take_transmit(&mut self.buf);
                took = true;
                self.pos = 0;
                let held = self.held.bytes().len();
                let total = held + self.buf.len();
                self.end = whole_units(total, unit, held) - held;
                if total == 0 {
                    // Nothing in flight: keep no buffer while idle.
                    self.buf = Vec::new();
                    self.held = Tail::default();
                    self.end = 0;
                    return match &mut self.half {
                        Some(half) if half.pending() => self.poll_pending(cx),
                        _ => Poll::Ready(Ok(())),
                    };
                }
            }
            let Some(half) = self.half.as_mut() else {
                // The socket is gone: what is queued can never be sent.
                self.clear();
                return Poll::Ready(Ok(()));
            };
            let (first, second) = (self.held.bytes(), &self.buf[self.pos..self.end]);
            let written = if first.is_empty() {
                Pin::new(half).poll_write(cx, second)
            } else {
                let parts = [io::IoSlice::new(first), io::IoSlice::new(second)];
                Pin::new(half).poll_write_vectored(cx, &parts)
            };
            match written {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    let from_held = n.min(first.len());
                    self.held.advance(from_held);
                    self.pos += n - from_held;
                    self.stalled = false;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return self.poll_stall(cx),
            }
        }
    }

    /// Whether no byte waits in the writer.
    fn is_empty(&self) -> bool {
        self.pos == self.end && self.end == self.buf.len() && self.held.is_empty()
    }

    /// Forgets every byte the writer holds.
    fn clear(&mut self) {
        self.held.clear();
        self.buf.clear();
        self.pos = 0;
        self.end = 0;
    }

    /// Writes what the transport holds of its own (sealed TLS records).
    #[cold]
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(half) = self.half.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        match Pin::new(half).poll_flush(cx) {
            Poll::Ready(result) => {
                self.stalled = false;
                Poll::Ready(result)
            }
            Poll::Pending => self.poll_stall(cx),
        }
    }

    /// The socket took nothing: waits, unless it has taken nothing for
    /// the write timeout, which fails the write (whoever drives the writer
    /// next, a sender, the sink or the event stream, is woken for it).
    fn poll_stall(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(timeout) = self.timeout else {
            return Poll::Pending;
        };
        let deadline = tokio::time::Instant::now() + timeout;
        let stall = self
            .stall
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if !self.stalled {
            stall.as_mut().reset(deadline);
            self.stalled = true;
        }
        match stall.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the server took no data for {timeout:?}"),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Shuts the write half down and drops it (a TCP half sends FIN once
    /// the read half is gone too).
    fn close(&mut self) {
        if let Some(half) = &mut self.half {
            half.shutdown_now();
        }
        self.half = None;
        self.clear();
        self.stall = None;
    }
}

/// What [`Shared::poll_write_outbox`] did.
pub(crate) enum Direct {
    /// Bytes wait before the outbox's, or the transport is not plain
    /// TCP, or another task holds the write half: nothing was done.
    Declined,
    /// The connection may not send; the outbox's frames were dropped.
    Refused(SendError),
    /// The frames were written, or wait in the writer (`Pending`).
    Wrote(Poll<io::Result<()>>),
}

/// Wakes the event stream and a waiting sink unless forgotten: for a
/// flush dropped before it finished.
struct WakeOnDrop<'a>(&'a Shared);

impl Drop for WakeOnDrop<'_> {
    fn drop(&mut self) {
        self.0.handed_off.store(true, Ordering::Release);
        self.0.stream_waker.notify();
        self.0.sink_waker.wake();
    }
}

/// One live connection.
pub(crate) struct Shared {
    core: Mutex<Connection>,
    /// futures' async mutex rather than tokio's: unlocking it without
    /// waiters is one atomic operation, where tokio's takes its waiter
    /// list's lock every time (408 of the 7,400 instructions of a tokio
    /// echo round trip, by callgrind).
    writer: futures_util::lock::Mutex<Writer>,
    /// The event stream's task: woken when a sender leaves work for it,
    /// or by its read or timer.
    pub(crate) stream_waker: Arc<StreamWake>,
    /// A sink waiting for the write half: woken when a sender releases it.
    pub(crate) sink_waker: AtomicWaker,
    /// Bytes wait in the writer with no sign of them in the core: a flush
    /// was dropped mid-write, or a whole-segment write kept its tail.
    handed_off: AtomicBool,
}

/// How the event stream is woken. It registers its task's waker here each
/// time it waits; senders wake it when they leave work for it. Its socket
/// read and its timer are polled with this as their waker (see
/// [`StreamWake::relay`]), so they wake whichever task waits now, and the
/// stream need not poll them again each time the task's waker changes
/// (a responder polls with `now_or_never`'s no-op waker, then its own).
/// Kept apart from [`Shared`]: the read half's registration holds the
/// relay, and the write half, which [`Shared`] holds, shares that
/// registration, so a relay holding [`Shared`] would never be freed.
pub(crate) struct StreamWake {
    waker: AtomicWaker,
    /// The read or the timer woke us since the stream last read.
    input: AtomicBool,
}

impl StreamWake {
    pub(crate) fn new() -> Arc<StreamWake> {
        Arc::new(StreamWake {
            waker: AtomicWaker::new(),
            input: AtomicBool::new(false),
        })
    }

    /// The waker for the read half and the timer.
    pub(crate) fn relay(self: &Arc<Self>) -> Waker {
        Waker::from(self.clone())
    }

    /// Wakes the stream's task (for work a sender left).
    pub(crate) fn notify(&self) {
        self.waker.wake();
    }

    /// The stream's task waits from now on.
    pub(crate) fn register(&self, waker: &Waker) {
        self.waker.register(waker);
    }

    /// Whether the read or the timer woke us since the last
    /// [`take_input`](Self::take_input).
    #[inline]
    pub(crate) fn input_woken(&self) -> bool {
        self.input.load(Ordering::Acquire)
    }

    /// Clears [`input_woken`](Self::input_woken), before a read.
    #[inline]
    pub(crate) fn take_input(&self) {
        if self.input.load(Ordering::Relaxed) {
            self.input.store(false, Ordering::Relaxed);
        }
    }
}

impl Wake for StreamWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.input.store(true, Ordering::Release);
        self.waker.wake();
    }
}

impl Shared {
    pub(crate) fn new(
        core: Connection,
        half: WriteHalf,
        write_timeout: Option<Duration>,
    ) -> Shared {
        Shared {
            core: Mutex::new(core),
            writer: futures_util::lock::Mutex::new(Writer {
                half: Some(half),
                held: Tail::default(),
                buf: Vec::new(),
                pos: 0,
                end: 0,
                timeout: write_timeout,
                stall: None,
                stalled: false,
                segment: SegmentSize::default(),
            }),
            stream_waker: StreamWake::new(),
            sink_waker: AtomicWaker::new(),
            handed_off: AtomicBool::new(false),
        }
    }

    pub(crate) fn core(&self) -> MutexGuard<'_, Connection> {
        lock(&self.core)
    }

    /// Writes everything queued, waiting for the write half and the socket.
    pub(crate) async fn flush(&self) -> io::Result<()> {
        // A send dropped mid-write leaves the rest of its frame in the
        // writer, and the socket's readiness would wake only the dropped
        // task: the stream, which writes whatever is left, must be woken.
        let handoff = WakeOnDrop(self);
        let result = {
            let mut w = self.writer.lock().await;
            let result = poll_fn(|cx| w.poll_drain(cx, &self.core, false, &self.handed_off)).await;
            if let Err(e) = &result {
                self.core()
                    .handle_io_error(io::Error::new(e.kind(), e.to_string()));
            }
            if result.is_err() || self.core().is_done() {
                w.close();
            }
            result
        };
        // Bytes the stream queued while we held the writer are its to write.
        let leftover = {
            let core = self.core();
            !core.poll_transmit().is_empty() || core.is_done()
        };
        std::mem::forget(handoff);
        if leftover {
            self.stream_waker.notify();
        }
        self.sink_waker.wake();
        result
    }

    /// Writes what it can without waiting. `Ready(Ok)` also when another
    /// task holds the write half: that task drains our bytes too, and wakes
    /// the stream and the sink when it lets go. With `whole`, writes whole
    /// TCP segments only, once, for a sink that is being fed more.
    pub(crate) fn poll_flush(&self, cx: &mut Context<'_>, whole: bool) -> Poll<io::Result<bool>> {
        match self.writer.try_lock() {
            Some(mut w) => match w.poll_drain(cx, &self.core, whole, &self.handed_off) {
                Poll::Ready(Ok(())) => Poll::Ready(Ok(true)),
                Poll::Ready(Err(e)) => {
                    w.close();
                    Poll::Ready(Err(e))
                }
                Poll::Pending => Poll::Pending,
            },
            None => Poll::Ready(Ok(false)),
        }
    }

    /// Writes the frames fed to a sink straight from its outbox, when
    /// nothing waits before them (in the writer or the core) and the
    /// transport is plain TCP: they skip the copy into the core, and the
    /// core's lock at each take of its output (with a message at a time,
    /// a tenth of a tokio round trip's instructions, by callgrind). What
    /// the socket does not take at once stays in the writer, written
    /// before anything else, as for any write.
    pub(crate) fn poll_write_outbox(&self, cx: &mut Context<'_>, outbox: &mut Outbox) -> Direct {
        let Some(mut guard) = self.writer.try_lock() else {
            return Direct::Declined;
        };
        let w = &mut *guard;
        if !w.is_empty() {
            return Direct::Declined;
        }
        let Some(half) = w.half.as_mut().filter(|half| half.tcp().is_some()) else {
            return Direct::Declined;
        };
        match self.core().send_outbox_unqueued(outbox) {
            Ok(true) => {}
            Ok(false) => return Direct::Declined,
            Err(e) => return Direct::Refused(e),
        }
        let frames = outbox.frames();
        let written = match Pin::new(half).poll_write(cx, frames) {
            Poll::Ready(Ok(0)) => Err(io::ErrorKind::WriteZero.into()),
            Poll::Ready(Ok(n)) => Ok(n),
            Poll::Ready(Err(e)) => Err(e),
            Poll::Pending => Ok(0),
        };
        let result = match written {
            Ok(n) if n == frames.len() => {
                w.stalled = false;
                Poll::Ready(Ok(()))
            }
            Ok(n) => {
                // The socket is full: the rest waits in the writer, which
                // takes the outbox's buffer as it is.
                let len = frames.len();
                outbox.swap_frames(&mut w.buf);
                w.pos = n;
                w.end = len;
                w.poll_drain(cx, &self.core, false, &self.handed_off)
            }
            Err(e) => Poll::Ready(Err(e)),
        };
        outbox.clear();
        if matches!(result, Poll::Ready(Err(_))) {
            w.close();
        }
        Direct::Wrote(result)
    }

    /// Whether a dropped flush left bytes in the writer since the last call
    /// (the event stream then writes them).
    #[inline]
    pub(crate) fn take_handoff(&self) -> bool {
        self.handed_off.load(Ordering::Relaxed) && self.handed_off.swap(false, Ordering::Acquire)
    }

    /// Whether a task holds the write half (and will wake the stream when
    /// it lets go).
    pub(crate) fn writer_busy(&self) -> bool {
        self.writer.try_lock().is_none()
    }

    /// Sends what fits in the socket now and closes the write half, without
    /// waiting: for `Drop`, where nothing can be awaited.
    pub(crate) fn close_now(&self) {
        if let Some(mut w) = self.writer.try_lock() {
            // Rare (a drop): what is due is joined, in order, by copying.
            let w = &mut *w;
            let mut due = w.held.bytes().to_vec();
            due.extend_from_slice(&w.buf[w.pos..]);
            due.extend_from_slice(self.core().poll_transmit());
            if let Some(half) = &mut w.half {
                let _ = half.try_write(&due);
            }
            w.close();
        }
        // Otherwise a sender holds the write half; it closes it after its
        // write, seeing the core is done.
    }
}
