//! [`Events`]: the blocking driver loop, as an iterator.

use super::shared::Shared;
use crate::error::ConnectError;
use crate::event::Event;
use crate::lock::{lock, Mutex};
use crate::options::Options;
use crate::persist::Control;
use crate::proto::Connection;
use crate::transport::lowat::RecvLowat;
use crate::transport::progress::{self, PeerProgress};
use crate::transport::{Plan, Socket};
use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How late a read may return after the core's deadline. Resetting the
/// socket timeout on every read would cost a syscall per read; the core's
/// timers are seconds apart, so 10 ms of slack is invisible.
const TIMEOUT_SLACK: Duration = Duration::from_millis(10);

/// How many messages the iterator decodes ahead under one lock of the core.
/// The lock and unlock were a quarter of the CPU time of receiving 16-byte
/// messages one event per lock.
const DECODE_AHEAD: usize = 16;

enum State {
    /// With the stream the application brought, if it did.
    Start(Option<Socket>),
    Connect(Option<Socket>),
    /// Connected: the socket (its write side is shared with senders).
    Run(Arc<Socket>),
    Done,
}

/// The events of one connection, in order; iterating drives the connection.
///
/// Each call to `next` blocks until there is an event: it reads from the
/// socket, waiting no longer than the connection's next timer, and moves the
/// bytes through the protocol core. The last event is `ConnectFail` or
/// `Disconnected`, after which `next` returns `None`.
pub struct Events {
    url: String,
    options: Options,
    shared: Arc<Shared>,
    state: State,
    /// The socket's read timeout as last set (outer `None`: never set).
    timeout_set: Option<Option<Duration>>,
    /// The socket's receive low-water mark.
    lowat: RecvLowat,
    /// What the server's TCP had acknowledged at the last deadline.
    progress: PeerProgress,
    /// Messages decoded ahead (see [`Connection::poll_message`]), in order.
    ahead: VecDeque<Event>,
    /// The exit handle's side, when one was taken: connects then run on a
    /// helper thread, so that the exit handle need not wait for them.
    control: Option<Arc<Control>>,
    /// Whether the WebSocket has an outbox to drain into the connection.
    outbox: bool,
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

type Connected = (Connection, Socket, Event);

impl Events {
    /// The events of a connection to `url`, over `socket` when the
    /// application brought one, otherwise over TCP to the URL's host.
    pub(crate) fn new(
        url: String,
        options: Options,
        shared: Arc<Shared>,
        socket: Option<Socket>,
        control: Option<Arc<Control>>,
        outbox: bool,
        attempt: u64,
    ) -> Events {
        let _ = attempt;
        Events {
            #[cfg(feature = "tracing")]
            span: crate::trace::connection_span(&url, attempt),
            url,
            options,
            shared,
            state: State::Start(socket),
            timeout_set: None,
            lowat: RecvLowat::new(),
            progress: PeerProgress::default(),
            ahead: VecDeque::new(),
            control: control.filter(|c| c.taken()),
            outbox,
        }
    }

    /// Runs the connect pipeline, on a helper thread when an exit handle
    /// may cut it short: the thread is then left to finish on its own
    /// (within the connect timeout) and drop what it made.
    fn connect(&self, brought: Option<Socket>) -> Result<Connected, Event> {
        // A brought stream is connected already: nothing to wait for.
        let Some(control) = self.control.as_ref().filter(|_| brought.is_none()) else {
            return connect(&self.url, &self.options, brought);
        };
        let stopped = || Event::ConnectFail {
            error: ConnectError::Stopped,
        };
        if control.exited() {
            return Err(stopped());
        }
        let done: Arc<Mutex<Option<Result<Connected, Event>>>> = Arc::default();
        let spawned = {
            let (url, options) = (self.url.clone(), self.options.clone());
            let (done, control) = (done.clone(), control.clone());
            #[cfg(feature = "tracing")]
            let span = self.span.clone();
            std::thread::Builder::new()
                .name("lomond-connect".into())
                .spawn(move || {
                    #[cfg(feature = "tracing")]
                    let _entered = span.enter();
                    let result = connect(&url, &options, None);
                    *lock(&done) = Some(result);
                    control.notify();
                })
        };
        if spawned.is_err() {
            // No thread to be had: connect here, uninterruptibly.
            return connect(&self.url, &self.options, None);
        }
        if control.wait(None, || lock(&done).is_some()) {
            return Err(stopped());
        }
        let result = lock(&done).take();
        result.unwrap_or_else(|| Err(stopped()))
    }

    /// Waits for input or the next deadline and feeds what happened to the core.
    fn step(&mut self, stream: &Socket) {
        let shared = &*self.shared;
        if let Some(e) = shared.take_write_error() {
            shared.core().handle_io_error(e);
            return;
        }
        let now = Instant::now();
        let deadline = shared.core().next_deadline();
        let timeout = match deadline {
            Some(d) if d <= now => {
                progress::on_deadline(
                    &mut shared.core(),
                    &mut self.progress,
                    stream.tcp_under(),
                    now,
                );
                return;
            }
            // A zero timeout means "block forever" to the OS: keep it positive.
            Some(d) => Some((d - now).max(Duration::from_millis(1))),
            None => None,
        };
        if self.timeout_needs_reset(timeout) {
            if let Err(e) = stream.set_read_timeout(timeout) {
                shared.core().handle_io_error(e);
                return;
            }
            self.timeout_set = Some(timeout);
        }
        // Read straight into the core's buffer, lent out so that senders can
        // use the core meanwhile.
        let (mut input, wanted) = {
            let mut core = shared.core();
            let wanted = core.input_wanted();
            (core.lend_input(), wanted)
        };
        let result = stream.read_into(&mut input, &mut self.lowat, wanted, timeout);
        let read = *result.as_ref().unwrap_or(&0);
        let now = Instant::now();
        let mut core = shared.core();
        core.return_input(input, read, now);
        match result {
            // A failed write shuts the socket down: report that cause.
            Ok(0) => match shared.take_write_error() {
                Some(e) => core.handle_io_error(e),
                None => core.handle_eof(now),
            },
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                progress::on_deadline(&mut core, &mut self.progress, stream.tcp_under(), now)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                drop(core);
                // A write failure shuts the socket down; report that cause.
                let e = shared.take_write_error().unwrap_or(e);
                shared.core().handle_io_error(e);
            }
        }
    }

    /// Whether the socket's read timeout must change for a read that
    /// should end within `wanted`: when the current one could end more than
    /// the slack later (or never), or is so short that reads would keep
    /// waking early.
    fn timeout_needs_reset(&self, wanted: Option<Duration>) -> bool {
        match (self.timeout_set, wanted) {
            (None, _) => true,
            (Some(None), None) => false,
            (Some(None), Some(_)) | (Some(Some(_)), None) => true,
            (Some(Some(set)), Some(wanted)) => set > wanted + TIMEOUT_SLACK || set < wanted / 2,
        }
    }

    fn finish(&mut self, stream: &Socket) {
        let _ = self.shared.flush(false);
        stream.shutdown();
        self.shared.connection_over();
        self.state = State::Done;
    }
}

/// The connect pipeline, then the session, for `url`: the transport, the
/// core with the upgrade request queued, and the `Connected` event.
fn connect(url: &str, options: &Options, brought: Option<Socket>) -> Result<Connected, Event> {
    let fail = |error| Event::ConnectFail { error };
    let mut plan = Plan::new(url, options, Instant::now()).map_err(fail)?;
    let socket = match brought {
        Some(socket) => socket,
        None => plan.connect(options).map_err(fail)?,
    };
    // Best effort: a stream that cannot bound its writes still works.
    let _ = socket.set_write_timeout(options.write_timeout);
    let addr = socket.peer_addr();
    let proxy = plan.proxy();
    let core = plan.session(options, Instant::now()).map_err(fail)?;
    let connected = Event::Connected {
        url: crate::trace::redact(url),
        addr,
        proxy,
    };
    Ok((core, socket, connected))
}

impl Iterator for Events {
    type Item = Event;

    #[inline]
    fn next(&mut self) -> Option<Event> {
        #[cfg(feature = "tracing")]
        {
            let span = self.span.clone();
            let _entered = span.enter();
            let event = self.next_event();
            if let Some(event) = &event {
                crate::trace::event(event);
            }
            event
        }
        #[cfg(not(feature = "tracing"))]
        self.next_event()
    }
}

impl Events {
    #[inline(always)]
    fn next_event(&mut self) -> Option<Event> {
        // Most messages were decoded ahead: a path of their own, so each is
        // moved once, from the queue to the caller.
        if let Some(event) = self.ahead.pop_front() {
            return Some(event);
        }
        loop {
            match &mut self.state {
                State::Start(socket) => {
                    self.state = State::Connect(socket.take());
                    return Some(Event::Connecting {
                        url: crate::trace::redact(&self.url),
                    });
                }
                State::Connect(socket) => {
                    let brought = socket.take();
                    match self.connect(brought) {
                        Ok((core, stream, event)) => {
                            let stream = Arc::new(stream);
                            self.shared.start(core, stream.clone());
                            // An exit handle used before `start` found
                            // nothing to stop: stop it now.
                            if self.control.as_ref().is_some_and(|c| c.exited()) {
                                self.shared.interrupt();
                            }
                            // Write the upgrade request; a failure surfaces as
                            // the first step's error.
                            let _ = self.shared.flush(true);
                            self.state = State::Run(stream);
                            return Some(event);
                        }
                        Err(event) => {
                            self.shared.connection_over();
                            self.state = State::Done;
                            return Some(event);
                        }
                    }
                }
                State::Run(stream) => {
                    // `ahead` is empty here: it is filled only with an
                    // event that is returned at once, and emptied above.
                    let event = self
                        .shared
                        .core()
                        .poll_event_ahead(&mut self.ahead, DECODE_AHEAD);
                    if let Some(event) = event {
                        if let Event::Ready { .. } = event {
                            self.shared.opened();
                        }
                        return Some(event);
                    }
                    let stream = stream.clone();
                    if self.outbox {
                        self.shared.drain_outbox();
                    }
                    // Decoding may have queued pongs or a Close: write them
                    // before blocking on the next read.
                    let _ = self.shared.flush(false);
                    if self.shared.core().is_done() {
                        self.finish(&stream);
                        continue;
                    }
                    self.step(&stream);
                }
                State::Done => return None,
            }
        }
    }
}

impl Drop for Events {
    /// Dropping mid-connection says goodbye with a Close (1001, going away)
    /// when the connection is open, then closes the socket.
    fn drop(&mut self) {
        if let State::Run(stream) = &self.state {
            let stream = stream.clone();
            let closed = self.shared.core().go_away(Instant::now());
            if closed {
                let _ = self.shared.flush(false);
            }
            self.finish(&stream);
        }
    }
}
