//! The blocking client: iterate a [`WebSocket`](crate::WebSocket) for its
//! [`Events`], and send from any thread with a [`Sender`].
//!
//! This driver owns a socket and the clock and nothing else: it reads into a
//! reused buffer, passes the bytes and the time to the protocol core, writes
//! what the core queues, and sleeps no longer than the core's next deadline.

mod events;
mod persist;
mod sender;
mod shared;

pub use events::Events;
pub use persist::Persist;
pub use sender::Sender;
pub(crate) use shared::Shared;
