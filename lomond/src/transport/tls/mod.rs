//! The TLS stage (`wss://`): rustls over the connected TCP socket, for
//! both drivers.
//!
//! `TlsLink` holds the record layer, sans-IO; `TlsSocket` is the
//! blocking driver's stream over it, and the tokio driver's halves are in
//! `tls_async`. The handshake runs here as a pipeline stage under the
//! connect deadline, so that every TLS failure is a `ConnectFail`.

mod link;
mod settings;
#[cfg(feature = "tokio")]
mod tls_async;

pub(crate) use link::TlsLink;
pub use settings::TlsOptions;
#[cfg(feature = "tokio")]
pub(crate) use tls_async::{handshake_async, split, TlsReadHalf, TlsWriteHalf};

use crate::error::{ConnectError, Stage, TlsError};
use crate::lock::lock;
use crate::proto::InputBuffer;
use link::{Next, READ_SIZE};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Plaintext encrypted per write to the socket: bounds the ciphertext
/// held at once for a large message.
const WRITE_CHUNK: usize = 64 * 1024;

/// The time left before `deadline`, or the stage's timeout error.
fn left(deadline: Option<Instant>) -> Result<Option<Duration>, ConnectError> {
    match deadline {
        None => Ok(None),
        Some(d) => match d.checked_duration_since(Instant::now()) {
            Some(left) if !left.is_zero() => Ok(Some(left)),
            _ => Err(timed_out()),
        },
    }
}

fn timed_out() -> ConnectError {
    ConnectError::Timeout { stage: Stage::Tls }
}

/// An I/O failure of the handshake: a stalled socket is the deadline.
fn handshake_io(e: io::Error) -> ConnectError {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => timed_out(),
        _ => ConnectError::Tls(TlsError::Io(Arc::new(e))),
    }
}

/// Runs the TLS handshake with `host` over `tcp`, blocking, by `deadline`.
pub(crate) fn handshake(
    tcp: TcpStream,
    options: &TlsOptions,
    host: &str,
    deadline: Option<Instant>,
) -> Result<TlsSocket, ConnectError> {
    let link = TlsLink::new(options, host).map_err(ConnectError::Tls)?;
    let mut out = Vec::new();
    let mut rx = vec![0; READ_SIZE];
    loop {
        match link.next() {
            Next::Write => {
                out.clear();
                link.take_output(&mut out);
                tcp.set_write_timeout(left(deadline)?)
                    .map_err(handshake_io)?;
                (&tcp).write_all(&out).map_err(handshake_io)?;
            }
            Next::Read => {
                tcp.set_read_timeout(left(deadline)?)
                    .map_err(handshake_io)?;
                let n = (&tcp).read(&mut rx).map_err(handshake_io)?;
                if n == 0 {
                    return Err(ConnectError::Tls(TlsError::Closed));
                }
                if let Err(e) = link.feed(&rx[..n]) {
                    // Tell the server why, if it still listens.
                    out.clear();
                    link.take_output(&mut out);
                    let _ = (&tcp).write_all(&out);
                    return Err(ConnectError::Tls(e));
                }
            }
            Next::Done => break,
        }
    }
    tcp.set_read_timeout(None).map_err(handshake_io)?;
    tcp.set_write_timeout(None).map_err(handshake_io)?;
    Ok(TlsSocket {
        tcp,
        link,
        rx: Mutex::new(Rx {
            buf: rx.into_boxed_slice(),
            start: 0,
            end: 0,
        }),
        out: Mutex::new(Vec::new()),
    })
}

/// Ciphertext read from the socket and not yet decrypted.
struct Rx {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

/// The blocking driver's TLS stream: the reader decrypts on its thread
/// while senders encrypt and write on theirs (their writes are serialized
/// by the driver's write lock, so records go out in the order sealed).
pub(crate) struct TlsSocket {
    tcp: TcpStream,
    link: TlsLink,
    /// The reader's alone: locked without contention.
    rx: Mutex<Rx>,
    /// Ciphertext being written; the writer's alone.
    out: Mutex<Vec<u8>>,
}

impl TlsSocket {
    /// The TCP socket under TLS.
    pub(crate) fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    /// Reads and decrypts into `input`'s room: waits (for the socket's
    /// read timeout) until some plaintext is there; `Ok(0)` at the end.
    pub(crate) fn read_into(&self, input: &mut InputBuffer) -> io::Result<usize> {
        let mut rx = lock(&self.rx);
        loop {
            let Rx { buf, start, end } = &mut *rx;
            let mut pending = &buf[*start..*end];
            let before = pending.len();
            let result = self.link.decrypt(&mut pending, input.room());
            *start += before - pending.len();
            match result {
                Ok(n) => {
                    input.filled(n);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            // Everything read is decrypted: read more.
            let n = (&self.tcp).read(buf)?;
            if n == 0 {
                return Ok(0);
            }
            (*start, *end) = (0, n);
        }
    }

    /// Encrypts and writes all of `buf`, and whatever TLS itself has to
    /// send (an empty `buf` writes only that).
    pub(crate) fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        let mut out = lock(&self.out);
        let mut chunks = buf.chunks(WRITE_CHUNK);
        loop {
            out.clear();
            match chunks.next() {
                Some(chunk) => self.link.encrypt(chunk, &mut out)?,
                None => self.link.take_output(&mut out),
            }
            if out.is_empty() {
                return Ok(());
            }
            (&self.tcp).write_all(&out)?;
        }
    }

    /// Whether TLS has bytes of its own to send (an answer to a key
    /// update, an alert): the driver's next flush writes them.
    pub(crate) fn wants_write(&self) -> bool {
        self.link.wants_write()
    }

    /// Sends close_notify if the socket takes it at once and no write is
    /// in progress, then shuts the TCP socket down.
    pub(crate) fn shutdown(&self) {
        if let Ok(mut out) = self.out.try_lock() {
            self.link.close();
            out.clear();
            self.link.take_output(&mut out);
            let _ = send_now(&self.tcp, &out);
        }
        let _ = self.tcp.shutdown(std::net::Shutdown::Both);
    }
}

/// Writes what the socket takes without waiting.
fn send_now(tcp: &TcpStream, buf: &[u8]) -> io::Result<usize> {
    #[cfg(target_os = "linux")]
    return socket2::SockRef::from(tcp).send_with_flags(buf, libc::MSG_DONTWAIT);
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (tcp, buf);
        Ok(0)
    }
}
