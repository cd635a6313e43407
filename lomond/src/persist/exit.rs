//! [`ExitHandle`]: stops a WebSocket from any thread or task, whatever it
//! is doing.

use crate::lock::{lock, Condvar, Mutex};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// What an exit handle and the driver running the WebSocket share.
#[derive(Default)]
pub(crate) struct Control {
    exited: AtomicBool,
    /// Whether a handle was taken: only then must connects be interruptible.
    taken: AtomicBool,
    /// For a blocking driver waiting out a back-off or a connect.
    wait: Mutex<()>,
    woken: Condvar,
    /// For the tokio driver's task.
    #[cfg(feature = "tokio")]
    waker: futures_util::task::AtomicWaker,
}

impl Control {
    pub(crate) fn exited(&self) -> bool {
        self.exited.load(Ordering::SeqCst)
    }

    pub(crate) fn taken(&self) -> bool {
        self.taken.load(Ordering::Relaxed)
    }

    fn exit(&self) {
        self.exited.store(true, Ordering::SeqCst);
        // Under the lock, so that a waiter between its look and its wait
        // cannot miss the wake-up.
        drop(lock(&self.wait));
        self.woken.notify_all();
        #[cfg(feature = "tokio")]
        self.waker.wake();
    }

    /// Wakes blocking waiters without exiting (a connect finished).
    pub(crate) fn notify(&self) {
        drop(lock(&self.wait));
        self.woken.notify_all();
    }

    /// Blocks until `done` says so, the exit handle is used, or `until`
    /// passes; true when it returns because of the exit handle.
    pub(crate) fn wait(&self, until: Option<Instant>, done: impl Fn() -> bool) -> bool {
        let mut guard = lock(&self.wait);
        loop {
            if self.exited() {
                return true;
            }
            if done() {
                return false;
            }
            match until {
                None => self.woken.wait(&mut guard),
                Some(until) => {
                    let left = until.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return false;
                    }
                    self.woken.wait_for(&mut guard, left);
                }
            }
        }
    }

    /// Registers the tokio task to wake when the exit handle is used.
    #[cfg(feature = "tokio")]
    pub(crate) fn register(&self, waker: &std::task::Waker) {
        self.waker.register(waker);
    }
}

/// Stops a WebSocket at once, from any thread or task: mid-connect,
/// mid-handshake, mid-back-off, or mid-connection (with a Close 1001,
/// "going away", bounded by the close timeout). The event stream then
/// ends; a persistent one ends with `Stopped`, which says why and hands
/// back what the outbox still held. Cloning gives another handle to the
/// same WebSocket; using one twice does nothing more.
#[derive(Clone)]
pub struct ExitHandle {
    control: Arc<Control>,
    /// The blocking driver's connection, for a Close or a shutdown sent
    /// from this thread (tokio's task does both itself when woken).
    blocking: Arc<crate::blocking::Shared>,
}

impl ExitHandle {
    pub(crate) fn new(control: Arc<Control>, blocking: Arc<crate::blocking::Shared>) -> Self {
        control.taken.store(true, Ordering::Relaxed);
        ExitHandle { control, blocking }
    }

    /// Stops the WebSocket (see the type's docs).
    pub fn exit(&self) {
        self.control.exit();
        self.blocking.interrupt();
    }

    /// Whether [`exit`](Self::exit) was called.
    pub fn is_exited(&self) -> bool {
        self.control.exited()
    }
}

impl std::fmt::Debug for ExitHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExitHandle")
            .field("exited", &self.is_exited())
            .finish()
    }
}
