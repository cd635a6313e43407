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
pub mod entropy;
pub mod frame;
pub mod handshake;
pub mod input;
pub mod mask;
pub(crate) mod message;
pub mod outbox;
pub mod utf8;

pub use config::Config;
pub use connection::Connection;
pub use deflate::{DeflateConfig, DeflateParams};
pub use entropy::{Entropy, FixedEntropy, SystemEntropy};
pub use handshake::{ClientRequest, Response};
pub use input::InputBuffer;
pub use outbox::Outbox;

#[cfg(test)]
pub(crate) mod tests;

#[cfg(test)]
mod deflate_tests;

#[cfg(test)]
mod outbox_tests;
