//! The sans-IO protocol core: RFC 6455 as a state machine.
//!
//! Nothing here touches a socket, a clock or a thread. [`Connection`] takes
//! bytes and time in, and gives events, bytes to send and its next deadline
//! out; the drivers in [`crate::blocking`] move bytes between it and the
//! network. Every protocol rule is enforced here, and tested here byte for
//! byte.
//!
//! A driver is a loop around four calls: write what
//! [`poll_transmit`](Connection::poll_transmit) holds (then
//! [`consume_transmit`](Connection::consume_transmit)), pass what arrives to
//! [`handle_input`](Connection::handle_input), take
//! [`poll_event`](Connection::poll_event)s, and call
//! [`handle_timeout`](Connection::handle_timeout) at
//! [`next_deadline`](Connection::next_deadline). Here a client and a server
//! talk with nothing but memory between them:
//!
//! ```
//! use lomond::proto::{ClientRequest, Config, Connection, Event};
//! use std::time::Instant;
//!
//! /// The network: what `from` has queued arrives at `to`.
//! fn pass(from: &mut Connection, to: &mut Connection, now: Instant) {
//!     let bytes = from.poll_transmit();
//!     let n = bytes.len();
//!     to.handle_input(bytes, now);
//!     from.consume_transmit(n);
//! }
//!
//! let now = Instant::now();
//! let request = ClientRequest {
//!     host: "example.com".into(),
//!     resource: "/chat".into(),
//!     ..ClientRequest::default()
//! };
//! let mut client = Connection::client(request, Config::default(), now)?;
//! let mut server = Connection::server(Vec::new(), Config::default(), now);
//!
//! pass(&mut client, &mut server, now); // the upgrade request
//! pass(&mut server, &mut client, now); // 101 Switching Protocols
//! assert!(matches!(client.poll_event(), Some(Event::Ready { .. })));
//!
//! client.send_text("hello")?;
//! pass(&mut client, &mut server, now);
//! let got = std::iter::from_fn(|| server.poll_event())
//!     .find_map(|event| match event {
//!         Event::Text(text) => Some(text),
//!         _ => None,
//!     });
//! assert_eq!(got.as_deref(), Some("hello"));
//!
//! // The first keepalive ping is due at the ping rate (30 s by default).
//! assert!(client.next_deadline().is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

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
pub use connection::{Connection, BUFFER_LINGER};
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
