//! Test servers for lomond, on loopback.
//!
//! - [`EchoServer`]: a WebSocket echo server driven by lomond's own protocol
//!   core in the server role, one thread per connection.
//! - [`AsyncEchoServer`]: the same on tokio, for tests with many connections.
//! - [`ScriptServer`]: hands each accepted raw TCP stream to a closure, so a
//!   test can send exact (and hostile) bytes; [`upgrade`] completes a valid
//!   handshake first when the test wants one.
//! - [`FaultProxy`]: a TCP proxy that delays, throttles, dribbles, pauses,
//!   black-holes, resets or cuts the connections through it, on command.
//! - [`NetLab`] (Linux, as root): real kernel faults, two network
//!   namespaces joined by a veth pair, black-holed, lossy or slowed by
//!   iptables and tc.
//!
//! Every server binds 127.0.0.1 on a free port and stops when dropped.

#![warn(missing_docs)]

mod async_echo;
mod echo;
mod fault;
#[cfg(target_os = "linux")]
pub mod netlab;
mod script;
pub mod tls;

pub use async_echo::AsyncEchoServer;
pub use echo::{echo_on, EchoServer, EchoStream};
pub use fault::FaultProxy;
#[cfg(target_os = "linux")]
pub use netlab::{NetLab, Side};
pub use script::{read_frame, read_request, upgrade, ScriptServer};
pub use tls::{Ca, TlsEchoServer};

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};

/// Binds a listener with a backlog of 4096: bursts of connections (as the
/// many-connection tests make) would overflow std's 128, and every dropped
/// SYN costs the client a one-second retransmit.
pub(crate) fn listen(addr: &str) -> std::io::Result<TcpListener> {
    let addr: SocketAddr = addr
        .to_socket_addrs()?
        .next()
        .ok_or(std::io::ErrorKind::AddrNotAvailable)?;
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(4096)?;
    Ok(socket.into())
}

/// Locks `m`, recovering from poisoning: a test thread that panicked
/// leaves nothing half-done behind these locks.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
