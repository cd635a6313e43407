//! The sans-IO protocol core: RFC 6455 as a state machine.
//!
//! Nothing here touches a socket, a clock or a thread. [`Connection`] takes
//! bytes and time in, and gives events, bytes to send and its next deadline
//! out; the drivers in [`crate::blocking`] move bytes between it and the
//! network. Every protocol rule is enforced here, and tested here byte for
//! byte.

pub mod close;
pub mod config;
pub mod connection;
pub mod deflate;
mod entropy;
mod event;
// Raw frames and masking: for lomond's test servers, benches and fuzz
// targets, not for sending (only the connection sends, with keys of its
// own drawing).
#[doc(hidden)]
pub mod frame;
pub mod handshake;
pub mod input;
#[doc(hidden)]
pub mod mask;
pub(crate) mod message;
// The tokio sink's batch of small frames; public only for the benches.
#[doc(hidden)]
pub mod outbox;
mod outgoing;
pub mod utf8;

/// Internals for lomond's own fuzz targets and benches, outside the API:
/// what they need to be reproducible, which no connection should use.
/// Unstable; may change in any release.
#[doc(hidden)]
pub mod internal {
    pub use super::entropy::FixedEntropy;
}

pub use config::Config;
pub use connection::Connection;
pub use deflate::{DeflateConfig, DeflateParams};
pub use entropy::{Entropy, SystemEntropy};
pub use event::{DisconnectReason, DriverEvent, Event};
pub use handshake::{ClientRequest, Response};
pub use input::InputBuffer;
#[doc(hidden)]
pub use outbox::Outbox;
pub use outgoing::Outgoing;

#[cfg(test)]
pub(crate) mod tests;

#[cfg(test)]
mod deflate_tests;

#[cfg(test)]
mod outbox_tests;
