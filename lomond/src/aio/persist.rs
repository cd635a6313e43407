//! [`PersistStream`]: the tokio driver's persistent WebSocket, as a
//! `Stream` of the events of connection after connection.

use super::events::{now, EventStream};
use super::sender::{AsyncSender, Slot};
use crate::event::Event;
use crate::options::Options;
use crate::persist::lifecycle::{Lifecycle, Next};
use crate::persist::{random_unit, Control, Settings, StopReason};
use crate::trace::trace;
use futures_core::Stream;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;
use tokio::time::Sleep;

enum State {
    Connection(EventStream),
    /// Backing off.
    Waiting(Pin<Box<Sleep>>),
    Done,
}

/// The events of a WebSocket that reconnects forever, as a [`Stream`]: the
/// same sequence as the blocking [`Persist`](crate::blocking::Persist),
/// ending with `Stopped` only when the retry policy says stop or the exit
/// handle is used. [`AsyncSender`]s taken from it or from the WebSocket
/// send on whichever connection is up.
pub struct PersistStream {
    url: String,
    options: Options,
    slot: Arc<Slot>,
    control: Arc<Control>,
    settings: Settings,
    lifecycle: Lifecycle,
    state: State,
}

impl PersistStream {
    pub(crate) fn new(
        url: String,
        options: Options,
        slot: Arc<Slot>,
        control: Arc<Control>,
        settings: Settings,
    ) -> PersistStream {
        slot.set_persistent();
        let lifecycle = Lifecycle::new(settings.back_off, settings.policy.clone());
        let mut persist = PersistStream {
            url,
            options,
            slot,
            control,
            settings,
            lifecycle,
            state: State::Done,
        };
        persist.state = State::Connection(persist.connection());
        persist
    }

    fn connection(&self) -> EventStream {
        EventStream::new(
            self.url.clone(),
            self.options.clone(),
            self.slot.clone(),
            None,
            Some(self.control.clone()),
            self.settings.outbox.is_some(),
            self.lifecycle.attempts() + 1,
        )
    }

    /// A cloneable, `Send` handle for sending from any task, on whichever
    /// connection is up.
    pub fn sender(&self) -> AsyncSender {
        AsyncSender::new(self.slot.clone())
    }

    /// The connection attempts begun so far (the first is 1).
    pub fn attempts(&self) -> u64 {
        self.lifecycle.attempts()
    }

    fn stop(&mut self, reason: StopReason) -> Event {
        self.state = State::Done;
        let unsent = self.slot.take_unsent();
        self.slot.end();
        trace!(info, %reason, unsent = unsent.len(), "persist stopped");
        Event::Stopped { reason, unsent }
    }
}

impl Stream for PersistStream {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                State::Connection(events) => match Pin::new(events).poll_next(cx) {
                    Poll::Ready(Some(event)) => {
                        if !matches!(event, Event::Text(_) | Event::Binary(_)) {
                            this.lifecycle.observe(&event, now(), SystemTime::now);
                        }
                        return Poll::Ready(Some(event));
                    }
                    Poll::Ready(None) => {
                        if this.control.exited() {
                            return Poll::Ready(Some(this.stop(StopReason::Exit)));
                        }
                        return Poll::Ready(Some(match this.lifecycle.next(random_unit()) {
                            Next::BackOff(delay) => {
                                trace!(info, ?delay, "backing off");
                                let sleep = tokio::time::sleep(delay);
                                this.state = State::Waiting(Box::pin(sleep));
                                Event::BackOff { delay }
                            }
                            Next::Stop(failure) => this.stop(StopReason::Policy(failure)),
                        }));
                    }
                    Poll::Pending => return Poll::Pending,
                },
                State::Waiting(sleep) => {
                    this.control.register(cx.waker());
                    if this.control.exited() {
                        return Poll::Ready(Some(this.stop(StopReason::Exit)));
                    }
                    match sleep.as_mut().poll(cx) {
                        Poll::Ready(()) => this.state = State::Connection(this.connection()),
                        Poll::Pending => return Poll::Pending,
                    }
                }
                State::Done => return Poll::Ready(None),
            }
        }
    }
}

impl Drop for PersistStream {
    /// Dropping it mid-connection says goodbye as dropping an
    /// `EventStream` does; senders are then told the WebSocket is closed.
    fn drop(&mut self) {
        self.state = State::Done;
        self.slot.end();
    }
}

impl std::fmt::Debug for PersistStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Connection(_) => "connection",
            State::Waiting(_) => "backing off",
            State::Done => "done",
        };
        f.debug_struct("PersistStream")
            .field("url", &self.url)
            .field("state", &state)
            .field("attempts", &self.attempts())
            .finish()
    }
}
