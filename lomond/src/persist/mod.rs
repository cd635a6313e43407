//! Persist: one WebSocket that reconnects forever, as Lomond's `persist()`.
//!
//! [`WebSocket::persist`](crate::WebSocket::persist) (blocking) and
//! `persist_async` (tokio) run connection after connection, yielding every
//! event of each; after each `ConnectFail` or `Disconnected` comes
//! `BackOff { delay }`, and after the delay the next `Connecting`. What
//! decides lives here, shared by both drivers and free of I/O: the
//! [`BackOff`] formula, the [`RetryPolicy`], the lifecycle that watches
//! the events and decides what follows each connection, the bounded
//! outbox ([`OutboxLimits`]) and the [`ExitHandle`].

mod backoff;
mod exit;
pub(crate) mod lifecycle;
pub(crate) mod outbox;
mod policy;
mod retry_after;

pub(crate) use backoff::random_unit;
pub use backoff::BackOff;
pub(crate) use exit::Control;
pub use exit::ExitHandle;
pub use outbox::{OutboxLimits, Unsent};
pub use policy::{Decision, Failure, RetryPolicy};

/// The wait a `Retry-After` value asks for at wall-clock time `now` (for
/// the fuzz target: the parser reads what a server sent).
#[doc(hidden)]
pub fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<std::time::Duration> {
    retry_after::parse(value, now)
}

/// Why a persistent WebSocket stopped (see `Event::Stopped`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StopReason {
    /// The exit handle was used.
    Exit,
    /// The retry policy said stop after this failure.
    Policy(Box<Failure>),
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Exit => f.write_str("exit handle"),
            StopReason::Policy(failure) => write!(f, "retry policy, after {failure}"),
        }
    }
}

/// How a WebSocket persists: its back-off, retry policy and outbox.
#[derive(Debug, Clone, Default)]
pub(crate) struct Settings {
    pub(crate) back_off: BackOff,
    pub(crate) policy: RetryPolicy,
    pub(crate) outbox: Option<OutboxLimits>,
}
