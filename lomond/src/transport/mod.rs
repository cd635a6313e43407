//! The connection pipeline, written once for both drivers: prepare (the URL
//! and options checked), resolve ([`Resolver`]), TCP connect (every address
//! raced, Happy Eyeballs), TLS for `wss://` (rustls), then the WebSocket
//! session. Proxy tunnels will stack between connect and TLS. Each stage fails with its own
//! [`ConnectError`](crate::ConnectError), naming its
//! [`Stage`](crate::error::Stage).

#[cfg(feature = "tokio")]
mod async_socket;
mod exchange;
pub(crate) mod lowat;
mod pipeline;
pub(crate) mod progress;
pub mod proxy;
mod race;
pub mod resolve;
pub(crate) mod segment;
mod socket;
pub(crate) mod tcp;
#[cfg(feature = "tls")]
pub(crate) mod tls;

#[cfg(feature = "tokio")]
pub(crate) use async_socket::{AsyncSocket, ReadHalf, WriteHalf};
pub use exchange::Next;
pub(crate) use pipeline::Plan;
pub use proxy::{Proxy, ProxySetting};
pub use resolve::{Resolve, Resolver, SystemResolver};
pub use socket::Duplex;
pub(crate) use socket::Socket;
#[cfg(feature = "tls")]
pub use tls::TlsOptions;

/// `stream` as a `T`, if it is one: how a brought stream that is a TCP
/// socket is put on the TCP path.
pub(crate) fn downcast<T: 'static, S: 'static>(stream: S) -> Result<T, S> {
    let mut stream = Some(stream);
    if let Some(t) = (&mut stream as &mut dyn std::any::Any).downcast_mut::<Option<T>>() {
        if let Some(t) = t.take() {
            return Ok(t);
        }
    }
    match stream {
        Some(stream) => Err(stream),
        None => unreachable!("the stream was taken only as a T"),
    }
}
