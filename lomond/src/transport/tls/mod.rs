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

use super::exchange::{self, Exchange, Next, READ_SIZE};
use crate::error::{ConnectError, Stage, TlsError};
use crate::lock::lock;
use crate::proto::InputBuffer;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Plaintext encrypted per write to the socket: bounds the ciphertext
/// held at once for a large message.
const WRITE_CHUNK: usize = 64 * 1024;

impl Exchange for TlsLink {
    const STAGE: Stage = Stage::Tls;
    fn next(&self) -> Next {
        TlsLink::next(self)
    }
    fn take_output(&mut self, out: &mut Vec<u8>) {
        TlsLink::take_output(self, out)
    }
    fn feed(&mut self, input: &[u8]) -> Result<(), ConnectError> {
        TlsLink::feed(self, input).map_err(ConnectError::Tls)
    }
    fn closed(&self) -> ConnectError {
        ConnectError::Tls(TlsError::Closed)
    }
    fn io_error(&self, e: io::Error) -> ConnectError {
        ConnectError::Tls(TlsError::Io(Arc::new(e)))
    }
}

/// Starts TLS with `host`, taking first the bytes a tunnel read past its
/// own answer.
pub(crate) fn start(
    options: &TlsOptions,
    host: &str,
    leftover: &[u8],
) -> Result<TlsLink, ConnectError> {
    let link = TlsLink::new(options, host).map_err(ConnectError::Tls)?;
    if !leftover.is_empty() {
        link.feed(leftover).map_err(ConnectError::Tls)?;
    }
    Ok(link)
}

/// Runs the TLS handshake with `host` over `tcp`, blocking, by `deadline`.
pub(crate) fn handshake(
    tcp: TcpStream,
    options: &TlsOptions,
    host: &str,
    leftover: &[u8],
    deadline: Option<Instant>,
) -> Result<TlsSocket, ConnectError> {
    let mut link = start(options, host, leftover)?;
    exchange::run(&mut link, &tcp, deadline)?;
    Ok(TlsSocket {
        tcp,
        link,
        rx: Mutex::new(Rx {
            buf: vec![0; READ_SIZE].into_boxed_slice(),
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
            // Into uninitialized room, as the TCP path reads: zeroing the
            // room first was 14% of the instructions receiving 1 KiB
            // messages over wss (callgrind).
            let room = input.uninit_room();
            let result = self.link.decrypt(&mut pending, |plain| {
                let n = plain.len().min(room.len());
                for (to, from) in room[..n].iter_mut().zip(plain) {
                    to.write(*from);
                }
                n
            });
            *start += before - pending.len();
            match result {
                Ok(n) => {
                    // SAFETY: the closure wrote the first `n` bytes of the
                    // room `uninit_room` last handed out.
                    #[allow(unsafe_code)]
                    unsafe {
                        input.assume_filled(n)
                    };
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
