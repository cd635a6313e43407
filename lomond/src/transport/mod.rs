//! The connection pipeline, written once for both drivers: prepare (the URL
//! and options checked), resolve ([`Resolver`]), TCP connect (every address
//! raced, Happy Eyeballs), then the WebSocket session. TLS and proxy
//! tunnels stack between connect and session. Each stage fails with its own
//! [`ConnectError`](crate::ConnectError), naming its
//! [`Stage`](crate::error::Stage).

#[cfg(feature = "tokio")]
mod async_socket;
pub(crate) mod lowat;
mod pipeline;
mod race;
pub mod resolve;
pub(crate) mod segment;
mod socket;
pub(crate) mod tcp;

#[cfg(feature = "tokio")]
pub(crate) use async_socket::{AsyncSocket, ReadHalf, WriteHalf};
pub(crate) use pipeline::Plan;
pub use resolve::{Resolve, Resolver, SystemResolver};
pub use socket::Duplex;
pub(crate) use socket::Socket;
