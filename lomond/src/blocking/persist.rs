//! [`Persist`]: the blocking driver's persistent WebSocket, as an iterator
//! of the events of connection after connection.

use super::events::Events;
use super::shared::Shared;
use crate::event::Event;
use crate::options::Options;
use crate::persist::lifecycle::{Lifecycle, Next};
use crate::persist::{random_unit, Control, Settings, StopReason};
use crate::trace::trace;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

enum State {
    Connection(Box<Events>),
    /// Backing off until then.
    Waiting(Instant),
    Done,
}

/// The events of a WebSocket that reconnects forever, in order: each
/// connection's, from `Connecting` to `ConnectFail` or `Disconnected`, then
/// `BackOff { delay }`, then the next connection's after the delay. It ends
/// only when the retry policy says stop or the exit handle is used, with
/// `Stopped` as its last event.
///
/// Senders taken from the WebSocket send on whichever connection is up;
/// between connections they fail with `Disconnected`, or fill the outbox
/// when one is set.
pub struct Persist {
    url: String,
    options: Options,
    shared: Arc<Shared>,
    control: Arc<Control>,
    settings: Settings,
    lifecycle: Lifecycle,
    state: State,
}

impl Persist {
    pub(crate) fn new(
        url: String,
        options: Options,
        shared: Arc<Shared>,
        control: Arc<Control>,
        settings: Settings,
    ) -> Persist {
        shared.set_persistent();
        let lifecycle = Lifecycle::new(settings.back_off, settings.policy.clone());
        let mut persist = Persist {
            url,
            options,
            shared,
            control,
            settings,
            lifecycle,
            state: State::Done,
        };
        persist.state = State::Connection(Box::new(persist.connection()));
        persist
    }

    fn connection(&self) -> Events {
        Events::new(
            self.url.clone(),
            self.options.clone(),
            self.shared.clone(),
            None,
            Some(self.control.clone()),
            self.settings.outbox.is_some(),
            self.lifecycle.attempts() + 1,
        )
    }

    /// The connection attempts begun so far (the first is 1).
    pub fn attempts(&self) -> u64 {
        self.lifecycle.attempts()
    }

    fn stop(&mut self, reason: StopReason) -> Event {
        self.state = State::Done;
        let unsent = self.shared.take_unsent();
        self.shared.end();
        trace!(info, %reason, unsent = unsent.len(), "persist stopped");
        Event::Stopped { reason, unsent }
    }
}

impl Iterator for Persist {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        loop {
            match &mut self.state {
                State::Connection(events) => match events.next() {
                    Some(event) => {
                        if !matches!(event, Event::Text(_) | Event::Binary(_)) {
                            self.lifecycle
                                .observe(&event, Instant::now(), SystemTime::now);
                        }
                        return Some(event);
                    }
                    None => {
                        if self.control.exited() {
                            return Some(self.stop(StopReason::Exit));
                        }
                        return Some(match self.lifecycle.next(random_unit()) {
                            Next::BackOff(delay) => {
                                trace!(info, ?delay, "backing off");
                                self.state = State::Waiting(Instant::now() + delay);
                                Event::BackOff { delay }
                            }
                            Next::Stop(failure) => self.stop(StopReason::Policy(failure)),
                        });
                    }
                },
                State::Waiting(until) => {
                    if self.control.wait(Some(*until), || false) {
                        return Some(self.stop(StopReason::Exit));
                    }
                    self.state = State::Connection(Box::new(self.connection()));
                }
                State::Done => return None,
            }
        }
    }
}

impl Drop for Persist {
    /// Dropping it mid-connection says goodbye as dropping `Events` does;
    /// senders are then told the WebSocket is closed.
    fn drop(&mut self) {
        self.state = State::Done;
        self.shared.end();
    }
}

impl std::fmt::Debug for Persist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Connection(_) => "connection",
            State::Waiting(_) => "backing off",
            State::Done => "done",
        };
        f.debug_struct("Persist")
            .field("url", &self.url)
            .field("state", &state)
            .field("attempts", &self.attempts())
            .finish()
    }
}
