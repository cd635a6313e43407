//! [`Slot`]: where a sender handle finds the connection it sends on, and
//! what outlives each connection (the outbox).

use super::shared::Shared;
use crate::error::SendError;
use crate::lock::{lock, Mutex};
use crate::persist::outbox::{self, Outbox};
use crate::persist::{OutboxLimits, Unsent};
use crate::proto::Outgoing;
use std::sync::Arc;

/// Points at the current connection, if any. A sender made before the
/// connection exists (or kept across reconnections) follows it here.
#[derive(Default)]
pub(crate) struct Slot {
    state: Mutex<State>,
    /// Told when the connection may have become ready to send, or ended.
    changed: tokio::sync::Notify,
}

#[derive(Default)]
struct State {
    link: Link,
    /// Messages kept for the next open connection, when enabled.
    outbox: Option<Outbox>,
    /// Reconnects follow: only `Ended` is final for `wait_for`.
    persistent: bool,
}

#[derive(Default)]
enum Link {
    #[default]
    Empty,
    Live(Arc<Shared>),
    /// A persistent WebSocket between connections.
    Between,
    Ended,
}

impl Slot {
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

    /// The connection is up.
    pub(crate) fn set(&self, value: Arc<Shared>) {
        lock(&self.state).link = Link::Live(value);
        self.changed.notify_waiters();
    }

    /// The connection is over; for a persistent WebSocket another follows.
    pub(crate) fn connection_over(&self) {
        let mut state = lock(&self.state);
        if !matches!(state.link, Link::Ended) {
            state.link = if state.persistent {
                Link::Between
            } else {
                Link::Ended
            };
        }
        drop(state);
        self.changed.notify_waiters();
    }

    /// The WebSocket is over: its resources are released, and senders are
    /// told it is closed.
    pub(crate) fn end(&self) {
        lock(&self.state).link = Link::Ended;
        self.changed.notify_waiters();
    }

    /// The handshake completed: the outbox goes first, before anything
    /// sent from now on; then waiting senders are woken.
    pub(crate) fn opened(&self) {
        self.drain_outbox();
        self.changed.notify_waiters();
    }

    /// Moves what the outbox holds into an open connection, as far as its
    /// write buffer takes it; whoever writes next writes it. Lock order:
    /// the slot, then the core, as in [`route`](Self::route).
    pub(crate) fn drain_outbox(&self) {
        let mut state = lock(&self.state);
        let state = &mut *state;
        if let (Link::Live(shared), Some(outbox)) = (&state.link, &mut state.outbox) {
            if !outbox.is_empty() {
                let mut core = shared.core();
                if core.is_open() {
                    outbox.drain(|what| core.send(what, super::events::now));
                }
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

    /// Queues `what` on the open connection and returns it, for the
    /// caller to write; or keeps it in the outbox while none is open
    /// (`None`); or says why it is refused.
    #[inline]
    pub(crate) fn route(&self, what: Outgoing<'_>) -> Result<Option<Arc<Shared>>, SendError> {
        let mut guard = lock(&self.state);
        let state = &mut *guard;
        let persistent = state.persistent;
        let Some(outbox) = &mut state.outbox else {
            let shared = match &state.link {
                Link::Live(shared) => shared.clone(),
                link => return Err(refusal(link)),
            };
            drop(guard);
            let sent = shared.core().send(what, super::events::now);
            return match sent {
                Ok(()) => Ok(Some(shared)),
                Err(e) => Err(outbox::refusal(e, persistent)),
            };
        };
        let not_open = match &state.link {
            Link::Live(shared) => {
                let mut core = shared.core();
                match outbox::keeps(core.check_can_send(), outbox.is_empty(), persistent) {
                    Some(not_open) => not_open,
                    None => {
                        core.send(what, super::events::now)?;
                        drop(core);
                        return Ok(Some(shared.clone()));
                    }
                }
            }
            Link::Empty => SendError::NotReady,
            Link::Between => SendError::Disconnected,
            Link::Ended => return Err(SendError::Closed),
        };
        outbox.push(what, not_open).map(|()| None)
    }

    /// Waits until `ready` says something other than `NotReady` of the
    /// live connection (or the slot ends; a persistent WebSocket's
    /// closing connection is waited out).
    pub(crate) async fn wait_for(
        &self,
        ready: impl Fn(&Shared) -> Result<(), SendError>,
    ) -> Result<(), SendError> {
        loop {
            // Registered before looking, so a change after the look wakes it.
            let changed = self.changed.notified();
            let mut changed = std::pin::pin!(changed);
            changed.as_mut().enable();
            let persistent = lock(&self.state).persistent;
            match self.get() {
                Ok(live) => match ready(&live) {
                    Err(SendError::NotReady) => {}
                    Err(_) if persistent => {}
                    done => return done,
                },
                Err(SendError::NotReady | SendError::Disconnected) => {}
                Err(e) => return Err(e),
            }
            changed.await;
        }
    }

    /// The live connection, or why there is none.
    pub(crate) fn get(&self) -> Result<Arc<Shared>, SendError> {
        match &lock(&self.state).link {
            Link::Live(v) => Ok(v.clone()),
            link => Err(refusal(link)),
        }
    }
}

/// Why a send finds no connection to go to.
fn refusal(link: &Link) -> SendError {
    match link {
        Link::Empty => SendError::NotReady,
        Link::Between => SendError::Disconnected,
        Link::Live(_) | Link::Ended => SendError::Closed,
    }
}
