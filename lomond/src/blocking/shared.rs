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
use crate::lock::lock;
use crate::proto::Connection;
use crate::transport::segment::segment_size;
use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

/// Where the connection is in its life, as senders see it.
#[derive(Default)]
enum Link {
    /// Not connected yet: sends fail with `NotReady`.
    #[default]
    Waiting,
    /// Connected (from the upgrade request on).
    Live(Box<Connection>),
    /// Over: sends fail with `Closed`, and the core is released.
    Ended,
}

/// What the write lock guards: the socket's write side and a reused buffer
/// for bytes moved out of the core.
#[derive(Default)]
struct Writer {
    buf: Vec<u8>,
    /// None before the connection and after it ends.
    stream: Option<Arc<TcpStream>>,
}

/// One WebSocket's connection, shared by its event iterator and senders.
#[derive(Default)]
pub(crate) struct Shared {
    link: Mutex<Link>,
    writer: Mutex<Writer>,
    /// The first write failure, for the event thread to report.
    write_error: Mutex<Option<io::Error>>,
}

/// The locked protocol core of a live connection.
pub(crate) struct CoreGuard<'a>(MutexGuard<'a, Link>);

impl Deref for CoreGuard<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        match &*self.0 {
            Link::Live(core) => core,
            // CoreGuard is only made from a live link (see `live`).
            _ => unreachable!("core guard on a connection that is not live"),
        }
    }
}

impl DerefMut for CoreGuard<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        match &mut *self.0 {
            Link::Live(core) => core,
            _ => unreachable!("core guard on a connection that is not live"),
        }
    }
}

impl Shared {
    /// The connection is up: senders may use `core` and write to `stream`.
    pub(crate) fn start(&self, core: Connection, stream: Arc<TcpStream>) {
        *lock(&self.link) = Link::Live(Box::new(core));
        lock(&self.writer).stream = Some(stream);
    }

    /// The connection is over: its core is released, and senders are told
    /// it is closed. The socket must have been shut down first, so that no
    /// writer can be blocked on it while we wait for the write lock.
    pub(crate) fn end(&self) {
        *lock(&self.link) = Link::Ended;
        *lock(&self.writer) = Writer::default();
    }

    /// The live connection's core, locked; or why there is none.
    pub(crate) fn live(&self) -> Result<CoreGuard<'_>, SendError> {
        let link = lock(&self.link);
        match &*link {
            Link::Waiting => Err(SendError::NotReady),
            Link::Live(_) => Ok(CoreGuard(link)),
            Link::Ended => Err(SendError::Closed),
        }
    }

    /// The core, for the event thread while the connection runs (it alone
    /// ends the connection, so the core is there).
    pub(crate) fn core(&self) -> CoreGuard<'_> {
        CoreGuard(lock(&self.link))
    }

    pub(crate) fn take_write_error(&self) -> Option<io::Error> {
        lock(&self.write_error).take()
    }

    /// Runs `op` on the core, then writes what it queued. Used by senders:
    /// waits for the socket, so a fast sender is held back by a slow peer.
    pub(crate) fn send(
        &self,
        op: impl FnOnce(&mut Connection) -> Result<(), SendError>,
    ) -> Result<(), SendError> {
        op(&mut *self.live()?)?;
        self.flush(true).map_err(|e| SendError::Io(e.to_string()))
    }

    /// Writes everything the core has queued. With `wait` false, returns at
    /// once when another thread is writing: that thread will pick up what we
    /// queued, since it drains until the queue is empty and checks again
    /// after letting go of the write lock.
    pub(crate) fn flush(&self, wait: bool) -> io::Result<()> {
        self.write_queued(wait, false)
    }

    /// Writes what the core has queued in whole TCP segments, once, and
    /// leaves the short tail queued: for a sender that is feeding, whose
    /// next write or flush takes the tail along (see `transport::segment`).
    pub(crate) fn write_whole_segments(&self) -> io::Result<()> {
        self.write_queued(true, true)
    }

    fn write_queued(&self, mut wait: bool, whole: bool) -> io::Result<()> {
        loop {
            let mut writer = if wait {
                lock(&self.writer)
            } else {
                match self.writer.try_lock() {
                    Ok(g) => g,
                    Err(TryLockError::Poisoned(e)) => e.into_inner(),
                    Err(TryLockError::WouldBlock) => return Ok(()),
                }
            };
            let Writer { buf, stream } = &mut *writer;
            let Some(stream) = stream else {
                // Not connected, or over: nothing can be written.
                return Ok(());
            };
            let unit = if whole { segment_size(&**stream) } else { 0 };
            loop {
                match self.live() {
                    Ok(mut core) if whole => core.take_transmit_whole(buf, unit),
                    Ok(mut core) => core.take_transmit(buf),
                    Err(_) => buf.clear(),
                }
                if buf.is_empty() {
                    break;
                }
                if let Err(e) = (&**stream).write_all(buf) {
                    buf.clear();
                    self.fail_write(stream, &e);
                    return Err(e);
                }
                if whole {
                    // The tail waits for more; whoever queued while we
                    // wrote writes (or feeds) for themselves.
                    return Ok(());
                }
            }
            drop(writer);
            if self
                .live()
                .map_or(true, |core| core.poll_transmit().is_empty())
            {
                return Ok(());
            }
            wait = false;
        }
    }

    fn fail_write(&self, stream: &TcpStream, e: &io::Error) {
        let mut slot = lock(&self.write_error);
        if slot.is_none() {
            *slot = Some(io::Error::new(e.kind(), e.to_string()));
        }
        // Wake the event thread: its read ends, and it reports the error.
        let _ = stream.shutdown(Shutdown::Both);
    }
}
