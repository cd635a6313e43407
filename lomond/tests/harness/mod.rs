//! The persist tests' harness: a persistent WebSocket on either driver,
//! its events on a channel with their times.

use futures_util::StreamExt;
use lomond::{BackOff, Event, ExitHandle, SendError, StopReason, Unsent, WebSocket};
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

pub const DRIVERS: [Driver; 2] = [Driver::Blocking, Driver::Tokio];

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Driver {
    Blocking,
    Tokio,
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A WebSocket with quick back-off and timers, so that no test waits long.
pub fn quick(url: &str) -> WebSocket {
    super::common::ws(url).back_off(BackOff::new(ms(50), ms(200)).min_uptime(ms(500)))
}

/// Sends from the test thread on either driver.
pub enum Send {
    Blocking(lomond::Sender),
    Tokio(lomond::aio::AsyncSender, tokio::runtime::Handle),
}

impl Send {
    pub fn text(&self, text: &str) -> Result<(), SendError> {
        match self {
            Send::Blocking(s) => s.send_text(text),
            Send::Tokio(s, rt) => rt.block_on(s.send_text(text)),
        }
    }

    pub fn binary(&self, data: &[u8]) -> Result<(), SendError> {
        match self {
            Send::Blocking(s) => s.send_binary(data),
            Send::Tokio(s, rt) => rt.block_on(s.send_binary(data)),
        }
    }

    pub fn rtt(&self) -> Option<Duration> {
        match self {
            Send::Blocking(s) => s.rtt(),
            Send::Tokio(s, _) => s.rtt(),
        }
    }
}

/// A persistent WebSocket running on its own thread (or runtime): its
/// events, each with the time it came, and handles to send and exit.
pub struct Running {
    pub events: Receiver<(Instant, Event)>,
    pub send: Send,
    pub exit: ExitHandle,
    /// Everything received so far, for messages on failure.
    seen: Vec<&'static str>,
    _rt: Option<tokio::runtime::Runtime>,
}

pub fn run(ws: WebSocket, driver: Driver) -> Running {
    let (tx, events) = mpsc::channel();
    let exit = ws.exit_handle();
    match driver {
        Driver::Blocking => {
            let send = Send::Blocking(ws.sender());
            thread::spawn(move || {
                for event in ws.persist() {
                    let _ = tx.send((Instant::now(), event));
                }
            });
            Running {
                events,
                send,
                exit,
                seen: vec![],
                _rt: None,
            }
        }
        Driver::Tokio => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            let send = Send::Tokio(ws.async_sender(), rt.handle().clone());
            rt.spawn(async move {
                let mut stream = ws.persist_async();
                while let Some(event) = stream.next().await {
                    let _ = tx.send((Instant::now(), event));
                }
            });
            Running {
                events,
                send,
                exit,
                seen: vec![],
                _rt: Some(rt),
            }
        }
    }
}

impl Running {
    /// The next event, within `within`.
    pub fn next(&mut self, within: Duration) -> (Instant, Event) {
        match self.events.recv_timeout(within) {
            Ok((at, event)) => {
                self.seen.push(event.name());
                (at, event)
            }
            Err(e) => panic!("no event within {within:?} ({e}) after {:?}", self.seen),
        }
    }

    /// The next events, which must be named `names` in order; returns them.
    pub fn expect(&mut self, names: &[&str], within: Duration) -> Vec<(Instant, Event)> {
        let mut got = Vec::new();
        for name in names {
            let (at, event) = self.next(within);
            assert_eq!(event.name(), *name, "{event} after {:?}", self.seen);
            got.push((at, event));
        }
        got
    }

    /// Skips events until one named `name`; returns it and the names skipped.
    pub fn until(&mut self, name: &str, within: Duration) -> ((Instant, Event), Vec<&'static str>) {
        let deadline = Instant::now() + within;
        let mut skipped = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let (at, event) = self.next(left.max(ms(1)));
            if event.name() == name {
                return ((at, event), skipped);
            }
            skipped.push(event.name());
        }
    }

    /// Uses the exit handle and checks the stream ends with `Stopped
    /// { Exit }` within `within`; returns what it handed back.
    pub fn exit_and_stop(&mut self, within: Duration) -> Vec<Unsent> {
        self.exit.exit();
        let ((_, stopped), _) = self.until("stopped", within);
        let Event::Stopped { reason, unsent } = stopped else {
            unreachable!()
        };
        assert!(matches!(reason, StopReason::Exit), "{reason}");
        // Nothing follows the last event.
        assert!(self.events.recv_timeout(ms(300)).is_err());
        unsent
    }
}

pub fn delay_of(event: &Event) -> Duration {
    match event {
        Event::BackOff { delay } => *delay,
        other => panic!("{other} is not a back-off"),
    }
}

/// An address nothing listens on.
pub fn closed_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}
