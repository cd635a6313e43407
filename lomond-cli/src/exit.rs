//! The exit status: how the connection ended, as a number scripts can
//! test (the table is in `lomond --help` and the README).

use crate::client::Stops;
use lomond::error::Stage;
use lomond::{Event, StopReason};
use std::sync::atomic::Ordering;

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The close handshake completed (or, with `--persist`, the run was
    /// ended on purpose and nothing was left unsent).
    Clean,
    /// Another error: reading standard input, messages never sent.
    Other,
    /// Bad usage: an option, a URL, a file named by an option.
    Usage,
    /// The connection could not be made (DNS, TCP, proxy, TLS).
    ConnectFail,
    /// The server did not accept the WebSocket handshake.
    Rejected,
    /// The server broke the protocol or a limit.
    ProtocolError,
    /// Nothing arrived within `--ping-timeout`.
    Unresponsive,
    /// The connection ended without a close handshake.
    Lost,
    /// `--timeout` ran out.
    Timeout,
    /// Ctrl-C.
    Interrupted,
}

impl Status {
    /// The process exit code.
    pub fn code(self) -> i32 {
        match self {
            Status::Clean => 0,
            Status::Other => 1,
            Status::Usage => 2,
            Status::ConnectFail => 3,
            Status::Rejected => 4,
            Status::ProtocolError => 5,
            Status::Unresponsive => 6,
            Status::Lost => 7,
            Status::Timeout => 8,
            Status::Interrupted => 130,
        }
    }
}

/// Watches the events for what decides the exit status.
#[derive(Debug, Default)]
pub struct Ending {
    /// The first failure of the current connection, and what it was.
    failure: Option<(Status, String)>,
    /// How the last connection ended.
    last: Option<(Status, String)>,
    /// Messages persist never sent.
    unsent: usize,
    /// Persist stopped by its retry policy, and why.
    policy: Option<String>,
}

impl Ending {
    /// Takes note of one event.
    pub fn see(&mut self, event: &Event) {
        let fail = |status, why: String| Some((status, why));
        match event {
            Event::Connecting { .. } => self.failure = None,
            Event::ConnectFail { error } => {
                let status = if error.stage() == Stage::Prepare {
                    Status::Usage
                } else {
                    Status::ConnectFail
                };
                self.last = fail(status, crate::output::chain(error));
            }
            Event::Rejected { error, .. } if self.failure.is_none() => {
                self.failure = fail(Status::Rejected, format!("handshake rejected: {error}"))
            }
            Event::ProtocolError { error } if self.failure.is_none() => {
                self.failure = fail(Status::ProtocolError, format!("protocol error: {error}"))
            }
            Event::Unresponsive if self.failure.is_none() => {
                self.failure = fail(Status::Unresponsive, "the server was unresponsive".into())
            }
            Event::Disconnected { graceful, reason } => {
                self.last = self.failure.take().or_else(|| {
                    if *graceful {
                        Some((Status::Clean, "closed cleanly".into()))
                    } else {
                        Some((Status::Lost, format!("connection lost: {reason}")))
                    }
                })
            }
            Event::Stopped { reason, unsent } => {
                self.unsent = unsent.len();
                if let StopReason::Policy(failure) = reason {
                    self.policy = Some(format!("stopped by the retry policy after {failure}"));
                }
            }
            _ => {}
        }
    }

    /// The status and why, once the events are over.
    pub fn status(&self, stops: &Stops) -> (Status, String) {
        if stops.interrupted.load(Ordering::SeqCst) {
            return (Status::Interrupted, "interrupted".into());
        }
        if stops.timed_out.load(Ordering::SeqCst) {
            return (Status::Timeout, "--timeout ran out".into());
        }
        if self.unsent > 0 {
            return (
                Status::Other,
                format!("{} messages never sent", self.unsent),
            );
        }
        if let Some(why) = &self.policy {
            return (
                self.last.as_ref().map_or(Status::Other, |l| l.0),
                why.clone(),
            );
        }
        if stops.finished.load(Ordering::SeqCst) && self.last.is_none() {
            // We stopped persist between connections.
            return (Status::Clean, "stopped".into());
        }
        self.last
            .clone()
            .unwrap_or((Status::Other, "ended without a connection".into()))
    }
}
