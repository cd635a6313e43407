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
pub(crate) use tls_async::{
    handshake_async, split, split_over, TlsInTls, TlsReadHalf, TlsStream, TlsWriteHalf,
};

use super::exchange::{self, Exchange, Next, READ_SIZE};
use super::Duplex;
use crate::error::{ConnectError, Stage, TlsError};
use crate::lock::{lock, Mutex};
use crate::proto::InputBuffer;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A direct read at least this long suggests more is waiting.
const DIRECT_READ: usize = 4096;

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

/// What TLS runs over in the blocking driver: TCP, or TLS to an
/// `https://` proxy (records inside records).
pub(crate) trait Carrier: Duplex {
    /// The TCP socket at the bottom.
    fn tcp(&self) -> &TcpStream;
    /// Writes what is taken at once, without waiting (`WouldBlock` if
    /// nothing is, or if the carrier cannot).
    fn send_now(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let _ = bufs;
        Err(io::ErrorKind::WouldBlock.into())
    }
    /// Reads what is there now, without waiting (`WouldBlock` if
    /// nothing is, or if the carrier cannot).
    fn recv_now(&self, buf: &mut [u8]) -> io::Result<usize> {
        let _ = buf;
        Err(io::ErrorKind::WouldBlock.into())
    }
}

impl Carrier for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
    #[cfg(target_os = "linux")]
    fn send_now(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        socket2::SockRef::from(self).send_vectored_with_flags(bufs, libc::MSG_DONTWAIT)
    }
    #[cfg(target_os = "linux")]
    fn recv_now(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: initialized bytes are valid `MaybeUninit`s, and recv
        // writes only initialized bytes into the room, so `buf` stays
        // initialized.
        #[allow(unsafe_code)]
        let room = unsafe { &mut *(buf as *mut [u8] as *mut [std::mem::MaybeUninit<u8>]) };
        super::lowat::recv_now(self, room)
    }
}

/// A carrier read and written without waiting, as rustls' `read_tls`
/// and `write_tls` take it.
struct Now<'a, L>(&'a L);

impl<L: Carrier> io::Write for Now<'_, L> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[io::IoSlice::new(buf)])
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.0.send_now(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<L: Carrier> io::Read for Now<'_, L> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.recv_now(buf) {
            // The reader then waits, as when nothing is there.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                Err(io::ErrorKind::WouldBlock.into())
            }
            read => read,
        }
    }
}

/// Runs the TLS handshake with `host` over `lower`, blocking, by
/// `deadline`.
pub(crate) fn handshake<L: Carrier>(
    lower: L,
    options: &TlsOptions,
    host: &str,
    leftover: &[u8],
    deadline: Option<Instant>,
) -> Result<TlsSocket<L>, ConnectError> {
    let mut link = start(options, host, leftover)?;
    exchange::run(&mut link, &lower, deadline)?;
    Ok(TlsSocket {
        lower,
        link,
        rx: Mutex::new(Rx {
            buf: vec![0; READ_SIZE].into_boxed_slice(),
            start: 0,
            end: 0,
            streaming: false,
        }),
        out: Mutex::new(Vec::new()),
    })
}

/// Ciphertext read from the socket and not yet decrypted.
struct Rx {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// Whether the last read found the socket full: then rustls reads
    /// from it directly, without waiting, saving the copy through `buf`,
    /// until the socket is empty. (When the socket is empty the reader
    /// must wait without holding the TLS lock, which the senders need:
    /// that wait reads into `buf`.)
    streaming: bool,
}

/// The blocking driver's TLS stream: the reader decrypts on its thread
/// while senders encrypt and write on theirs (their writes are serialized
/// by the driver's write lock, so records go out in the order sealed).
pub(crate) struct TlsSocket<L = TcpStream> {
    lower: L,
    link: TlsLink,
    /// The reader's alone: locked without contention.
    rx: Mutex<Rx>,
    /// Ciphertext being written; the writer's alone.
    out: Mutex<Vec<u8>>,
}

impl<L: Carrier> TlsSocket<L> {
    /// The TCP socket under TLS.
    pub(crate) fn tcp(&self) -> &TcpStream {
        self.lower.tcp()
    }

    /// Reads and decrypts into `input`'s room: waits (for the socket's
    /// read timeout) until some plaintext is there; `Ok(0)` at the end.
    pub(crate) fn read_into(&self, input: &mut InputBuffer) -> io::Result<usize> {
        // Into uninitialized room, as the TCP path reads: zeroing the
        // room first was 14% of the instructions receiving 1 KiB
        // messages over wss (callgrind).
        let room = input.uninit_room();
        let n = self.read_with(|plain| {
            let n = plain.len().min(room.len());
            for (to, from) in room[..n].iter_mut().zip(plain) {
                to.write(*from);
            }
            n
        })?;
        // SAFETY: the closure wrote the first `n` bytes of the room
        // `uninit_room` last handed out (and nothing else wrote there).
        #[allow(unsafe_code)]
        unsafe {
            input.assume_filled(n)
        };
        Ok(n)
    }

    /// Reads and decrypts, handing the plaintext to `take`, which copies
    /// what it has room for and says how much.
    #[inline]
    fn read_with(&self, mut take: impl FnMut(&[u8]) -> usize) -> io::Result<usize> {
        let mut rx = lock(&self.rx);
        loop {
            let Rx {
                buf,
                start,
                end,
                streaming,
            } = &mut *rx;
            let mut pending = &buf[*start..*end];
            let before = pending.len();
            let feed = |conn: &mut rustls::ClientConnection| match pending {
                [] if *streaming => {
                    let read = conn.read_tls(&mut Now(&self.lower));
                    // A short read: the socket is (nearly) empty.
                    *streaming = matches!(read, Ok(n) if n >= DIRECT_READ);
                    read
                }
                [] => Err(io::ErrorKind::WouldBlock.into()),
                _ => conn.read_tls(&mut pending),
            };
            let result = self.link.decrypt(feed, &mut take);
            *start += before - pending.len();
            match result {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            // Everything read is decrypted: wait for more.
            let n = self.lower.read(buf)?;
            if n == 0 {
                return Ok(0);
            }
            (*start, *end) = (0, n);
            *streaming = n == buf.len();
        }
    }

    /// Encrypts and writes all of `buf`, and whatever TLS itself has to
    /// send (an empty `buf` writes only that). The records go from rustls'
    /// buffers straight to the socket while it takes them at once; when it
    /// is full, they are moved out and waited on without the TLS lock, so
    /// that the reader is never held up by a write that waits.
    pub(crate) fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        let mut out = lock(&self.out);
        loop {
            if !buf.is_empty() {
                let n = self.link.seal(buf)?;
                buf = &buf[n..];
            }
            if !self.link.send(&mut Now(&self.lower))? {
                out.clear();
                self.link.take_output(&mut out);
                exchange::write_all(&self.lower, &out)?;
            }
            if buf.is_empty() {
                return Ok(());
            }
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
        if let Some(_writing) = self.out.try_lock() {
            self.link.close();
            let _ = self.link.send(&mut Now(&self.lower));
        }
        let _ = self.lower.shutdown();
    }
}

/// TLS as the stream under more TLS (`wss://` through an `https://`
/// proxy), or under the bring-your-own path.
impl<L: Carrier> Duplex for TlsSocket<L> {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_with(|plain| {
            let n = plain.len().min(buf.len());
            buf[..n].copy_from_slice(&plain[..n]);
            n
        })
    }
    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf).map(|()| buf.len())
    }
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.lower.set_read_timeout(timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.lower.set_write_timeout(timeout)
    }
    fn shutdown(&self) -> io::Result<()> {
        TlsSocket::shutdown(self);
        Ok(())
    }
    fn peer_addr(&self) -> Option<SocketAddr> {
        self.lower.peer_addr()
    }
}

/// Under more TLS, nothing is read or written without waiting: a partial
/// record of the outer stream cannot be taken back.
impl<L: Carrier> Carrier for TlsSocket<L> {
    fn tcp(&self) -> &TcpStream {
        self.lower.tcp()
    }
}
