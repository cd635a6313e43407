//! [`Slot`]: where a sender handle finds the connection it sends on.

use crate::error::SendError;
use crate::lock::lock;
use std::sync::{Arc, Mutex};

/// Points at the current connection, if any. A sender made before the
/// connection exists (or kept across reconnections) follows it here.
pub(crate) struct Slot<T> {
    state: Mutex<SlotState<T>>,
    /// Told when the connection may have become ready to send, or ended.
    changed: tokio::sync::Notify,
}

enum SlotState<T> {
    Empty,
    Live(Arc<T>),
    Ended,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot {
            state: Mutex::new(SlotState::Empty),
            changed: tokio::sync::Notify::new(),
        }
    }
}

impl<T> Slot<T> {
    /// The connection is up.
    pub(crate) fn set(&self, value: Arc<T>) {
        *lock(&self.state) = SlotState::Live(value);
        self.changed.notify_waiters();
    }

    /// The connection is over: its resources are released, and senders are
    /// told it is closed.
    pub(crate) fn end(&self) {
        *lock(&self.state) = SlotState::Ended;
        self.changed.notify_waiters();
    }

    /// Wakes the tasks waiting in [`wait_for`](Self::wait_for).
    pub(crate) fn notify(&self) {
        self.changed.notify_waiters();
    }

    /// Waits until `ready` says something other than `NotReady` of the
    /// live connection (or the slot ends).
    pub(crate) async fn wait_for(
        &self,
        ready: impl Fn(&T) -> Result<(), SendError>,
    ) -> Result<(), SendError> {
        loop {
            // Registered before looking, so a change after the look wakes it.
            let changed = self.changed.notified();
            let mut changed = std::pin::pin!(changed);
            changed.as_mut().enable();
            match self.get() {
                Ok(live) => match ready(&live) {
                    Err(SendError::NotReady) => {}
                    done => return done,
                },
                Err(SendError::NotReady) => {}
                Err(e) => return Err(e),
            }
            changed.await;
        }
    }

    /// The live connection, or why there is none.
    pub(crate) fn get(&self) -> Result<Arc<T>, SendError> {
        match &*lock(&self.state) {
            SlotState::Empty => Err(SendError::NotReady),
            SlotState::Live(v) => Ok(v.clone()),
            SlotState::Ended => Err(SendError::Closed),
        }
    }
}
