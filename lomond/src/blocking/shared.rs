//! State shared between the thread iterating events and threads sending.
//!
//! The core sits behind one mutex and the socket's write side behind
//! another. Nobody holds the core lock while touching the socket, so a
//! sender blocked on a full socket never stops the event thread from reading
//! (which is what lets the peer drain its side and unblock us). Writers hand
//! off: whoever holds the write lock drains everything queued, and looks
//! again after releasing it.

use crate::error::SendError;
use crate::proto::Connection;
use crate::slot::lock;
use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Mutex, MutexGuard, TryLockError};

/// One live connection's core and socket.
pub(crate) struct Shared {
    core: Mutex<Connection>,
    /// Reused buffer for bytes moved out of the core; its lock is the right
    /// to write to the socket.
    writer: Mutex<Vec<u8>>,
    stream: TcpStream,
    /// The first write failure, for the event thread to report.
    write_error: Mutex<Option<io::Error>>,
}

impl Shared {
    pub(crate) fn new(core: Connection, stream: TcpStream) -> Shared {
        Shared {
            core: Mutex::new(core),
            writer: Mutex::new(Vec::new()),
            stream,
            write_error: Mutex::new(None),
        }
    }

    pub(crate) fn core(&self) -> MutexGuard<'_, Connection> {
        lock(&self.core)
    }

    pub(crate) fn stream(&self) -> &TcpStream {
        &self.stream
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
        op(&mut self.core())?;
        self.flush(true).map_err(|e| SendError::Io(e.to_string()))
    }

    /// Writes everything the core has queued. With `wait` false, returns at
    /// once when another thread is writing: that thread will pick up what we
    /// queued, since it drains until the queue is empty and checks again
    /// after letting go of the write lock.
    pub(crate) fn flush(&self, mut wait: bool) -> io::Result<()> {
        loop {
            let mut buf = if wait {
                lock(&self.writer)
            } else {
                match self.writer.try_lock() {
                    Ok(g) => g,
                    Err(TryLockError::Poisoned(e)) => e.into_inner(),
                    Err(TryLockError::WouldBlock) => return Ok(()),
                }
            };
            loop {
                self.core().take_transmit(&mut buf);
                if buf.is_empty() {
                    break;
                }
                if let Err(e) = (&self.stream).write_all(&buf) {
                    buf.clear();
                    self.fail_write(&e);
                    return Err(e);
                }
            }
            drop(buf);
            if self.core().poll_transmit().is_empty() {
                return Ok(());
            }
            wait = false;
        }
    }

    fn fail_write(&self, e: &io::Error) {
        let mut slot = lock(&self.write_error);
        if slot.is_none() {
            *slot = Some(io::Error::new(e.kind(), e.to_string()));
        }
        // Wake the event thread: its read ends, and it reports the error.
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}
