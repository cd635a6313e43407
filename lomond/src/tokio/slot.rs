//! [`Slot`]: where a sender handle finds the connection it sends on.

use crate::error::SendError;
use crate::lock::lock;
use std::sync::{Arc, Mutex};

/// Points at the current connection, if any. A sender made before the
/// connection exists (or kept across reconnections) follows it here.
pub(crate) struct Slot<T>(Mutex<SlotState<T>>);

enum SlotState<T> {
    Empty,
    Live(Arc<T>),
    Ended,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot(Mutex::new(SlotState::Empty))
    }
}

impl<T> Slot<T> {
    /// The connection is up.
    pub(crate) fn set(&self, value: Arc<T>) {
        *lock(&self.0) = SlotState::Live(value);
    }

    /// The connection is over: its resources are released, and senders are
    /// told it is closed.
    pub(crate) fn end(&self) {
        *lock(&self.0) = SlotState::Ended;
    }

    /// The live connection, or why there is none.
    pub(crate) fn get(&self) -> Result<Arc<T>, SendError> {
        match &*lock(&self.0) {
            SlotState::Empty => Err(SendError::NotReady),
            SlotState::Live(v) => Ok(v.clone()),
            SlotState::Ended => Err(SendError::Closed),
        }
    }
}
