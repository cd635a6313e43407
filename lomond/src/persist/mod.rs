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
//!
//! ```
//! use lomond::{Event, OutboxLimits, StopReason, WebSocket};
//! # let server = lomond_testkit::EchoServer::start()?;
//! # let url = server.url();
//!
//! let ws = WebSocket::new(&url)?.outbox(OutboxLimits::default());
//! let sender = ws.sender();
//! let exit = ws.exit_handle(); // Clone + Send: stop it from anywhere
//! // Not connected yet: the outbox keeps it, and it goes after Ready.
//! sender.send_text("kept for the connection")?;
//! for event in ws.persist() {
//!     match event {
//!         Event::Text(text) => {
//!             assert_eq!(text, "kept for the connection");
//!             exit.exit(); // Close 1001, then Stopped
//!         }
//!         Event::BackOff { delay } => println!("reconnecting in {delay:?}"),
//!         Event::Stopped { reason, unsent } => {
//!             assert!(matches!(reason, StopReason::Exit));
//!             assert!(unsent.is_empty()); // what the outbox still held
//!         }
//!         _ => {}
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `examples/persist.rs` adds a retry policy that gives up on 401, and
//! restarts its embedded server to show the back-off and the outbox
//! carrying a message across.

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
