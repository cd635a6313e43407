//! [`RetryPolicy`]: the application's say on whether persist goes on after
//! a failure.

use crate::error::{ConnectError, HandshakeError, Stage};
use crate::proto::DisconnectReason;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// How a connection ended, as the retry policy sees it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Failure {
    /// The connection could not be made (`ConnectFail`): see
    /// [`ConnectError::stage`] for where.
    Connect(ConnectError),
    /// The server refused the upgrade (`Rejected`).
    Rejected {
        /// What was wrong with the answer.
        error: HandshakeError,
        /// The HTTP status, when the answer had one.
        status: Option<u16>,
        /// The wait the server asked for with `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
    /// The connection ended after it was made (`Disconnected`), cleanly or
    /// not.
    Disconnected {
        /// Why.
        reason: DisconnectReason,
        /// Whether the close handshake completed first.
        graceful: bool,
        /// The close code the server sent, if it sent one.
        close_code: Option<u16>,
        /// How long the connection was `Ready`; `None` if it never was.
        uptime: Option<Duration>,
    },
}

impl Failure {
    /// The pipeline stage, for a connection that could not be made.
    pub fn stage(&self) -> Option<Stage> {
        match self {
            Failure::Connect(error) => Some(error.stage()),
            _ => None,
        }
    }

    /// The HTTP status of a refused upgrade.
    pub fn status(&self) -> Option<u16> {
        match self {
            Failure::Rejected { status, .. } => *status,
            _ => None,
        }
    }

    /// The close code the server sent.
    pub fn close_code(&self) -> Option<u16> {
        match self {
            Failure::Disconnected { close_code, .. } => *close_code,
            _ => None,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Connect(error) => write!(f, "connect failed: {error}"),
            Failure::Rejected { error, .. } => write!(f, "rejected: {error}"),
            Failure::Disconnected {
                reason, close_code, ..
            } => match close_code {
                Some(code) => write!(f, "disconnected ({reason}, close code {code})"),
                None => write!(f, "disconnected ({reason})"),
            },
        }
    }
}

/// What persist does after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Reconnect after the back-off delay (honouring `Retry-After`).
    Retry,
    /// Reconnect after this delay instead.
    RetryAfter(Duration),
    /// Stop: the event stream ends with `Stopped`.
    Stop,
}

/// Decides, for each failure, whether persist reconnects. The default
/// retries everything, as Lomond does.
#[derive(Clone, Default)]
pub struct RetryPolicy(Option<Arc<Decide>>);

/// The application's decision function.
type Decide = dyn Fn(&Failure) -> Decision + Send + Sync;

impl RetryPolicy {
    /// A policy that asks `decide`.
    pub fn new(decide: impl Fn(&Failure) -> Decision + Send + Sync + 'static) -> RetryPolicy {
        RetryPolicy(Some(Arc::new(decide)))
    }

    /// The decision for `failure`.
    pub fn decide(&self, failure: &Failure) -> Decision {
        match &self.0 {
            Some(decide) => decide(failure),
            None => Decision::Retry,
        }
    }
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Some(_) => "RetryPolicy(custom)",
            None => "RetryPolicy(retry always)",
        })
    }
}
