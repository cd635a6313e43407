//! [`Exchange`]: a sans-IO handshake (a proxy tunnel, TLS) and the two
//! loops that run one over a socket, blocking or on tokio, by the connect
//! deadline. The handshakes say what they need; only these loops do I/O.

use super::Duplex;
use crate::error::{ConnectError, Stage};
use std::io;
use std::time::{Duration, Instant};

/// What a handshake needs next.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Bytes to send (the handshake's `take_output`).
    Write,
    /// Bytes from the peer (for the handshake's `feed`).
    Read,
    /// The handshake is over.
    Done,
}

/// A handshake with no I/O of its own.
pub(crate) trait Exchange {
    /// The stage it is, for timeouts.
    const STAGE: Stage;
    /// What it needs next.
    fn next(&self) -> Next;
    /// Appends what it has to send to `out`.
    fn take_output(&mut self, out: &mut Vec<u8>);
    /// Takes bytes from the peer.
    fn feed(&mut self, input: &[u8]) -> Result<(), ConnectError>;
    /// The error for a peer that closed the connection mid-handshake.
    fn closed(&self) -> ConnectError;
    /// The error for a failed read or write.
    fn io_error(&self, e: io::Error) -> ConnectError;
}

/// The most read at once during a handshake.
pub(crate) const READ_SIZE: usize = 18 * 1024;

fn timed_out<E: Exchange>() -> ConnectError {
    ConnectError::Timeout { stage: E::STAGE }
}

/// The time left before `deadline`, or the stage's timeout.
fn left<E: Exchange>(deadline: Option<Instant>) -> Result<Option<Duration>, ConnectError> {
    match deadline {
        None => Ok(None),
        Some(d) => match d.checked_duration_since(Instant::now()) {
            Some(left) if !left.is_zero() => Ok(Some(left)),
            _ => Err(timed_out::<E>()),
        },
    }
}

/// An I/O failure: a socket that stalled is the deadline.
fn io_failure<E: Exchange>(exchange: &E, e: io::Error) -> ConnectError {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => timed_out::<E>(),
        _ => exchange.io_error(e),
    }
}

/// Writes all of `buf` to `stream`.
pub(crate) fn write_all<D: Duplex + ?Sized>(stream: &D, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match stream.write(buf) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Runs `exchange` over `tcp` (TCP, or TLS to a proxy), blocking, by
/// `deadline`; the socket's timeouts are cleared after.
pub(crate) fn run<E: Exchange, D: Duplex>(
    exchange: &mut E,
    tcp: &D,
    deadline: Option<Instant>,
) -> Result<(), ConnectError> {
    let mut out = Vec::new();
    let mut rx = vec![0; READ_SIZE];
    loop {
        match exchange.next() {
            Next::Write => {
                out.clear();
                exchange.take_output(&mut out);
                tcp.set_write_timeout(left::<E>(deadline)?)
                    .map_err(|e| io_failure(exchange, e))?;
                write_all(tcp, &out).map_err(|e| io_failure(exchange, e))?;
            }
            Next::Read => {
                tcp.set_read_timeout(left::<E>(deadline)?)
                    .map_err(|e| io_failure(exchange, e))?;
                let n = tcp.read(&mut rx).map_err(|e| io_failure(exchange, e))?;
                if n == 0 {
                    return Err(exchange.closed());
                }
                if let Err(e) = exchange.feed(&rx[..n]) {
                    // Say why, if the peer still listens (a TLS alert).
                    out.clear();
                    exchange.take_output(&mut out);
                    let _ = write_all(tcp, &out);
                    return Err(e);
                }
            }
            Next::Done => break,
        }
    }
    tcp.set_read_timeout(None)
        .and_then(|()| tcp.set_write_timeout(None))
        .map_err(|e| exchange.io_error(e))
}

/// [`run`] on tokio.
#[cfg(feature = "tokio")]
pub(crate) async fn run_async<E: Exchange, S>(
    exchange: &mut E,
    tcp: &mut S,
    deadline: Option<Instant>,
) -> Result<(), ConnectError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use futures_util::FutureExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    async fn by<T, E: Exchange>(
        exchange: &E,
        deadline: Option<Instant>,
        io: impl std::future::Future<Output = io::Result<T>>,
    ) -> Result<T, ConnectError> {
        let result = match deadline {
            None => io.await,
            Some(d) => match tokio::time::timeout_at(d.into(), io).await {
                Ok(result) => result,
                Err(_) => return Err(timed_out::<E>()),
            },
        };
        result.map_err(|e| io_failure(exchange, e))
    }
    let mut out = Vec::new();
    let mut rx = vec![0; READ_SIZE];
    loop {
        match exchange.next() {
            Next::Write => {
                out.clear();
                exchange.take_output(&mut out);
                by(exchange, deadline, tcp.write_all(&out)).await?;
                by(exchange, deadline, tcp.flush()).await?;
            }
            Next::Read => {
                let n = by(exchange, deadline, tcp.read(&mut rx)).await?;
                if n == 0 {
                    return Err(exchange.closed());
                }
                if let Err(e) = exchange.feed(&rx[..n]) {
                    out.clear();
                    exchange.take_output(&mut out);
                    // Without waiting for it.
                    let _ = tcp.write(&out).now_or_never();
                    return Err(e);
                }
            }
            Next::Done => return Ok(()),
        }
    }
}
