//! [`Duplex`] and [`Socket`]: the byte stream under the blocking driver.
//!
//! The blocking driver reads on the event thread while senders write on
//! theirs, so its stream must take a read and a write at once from two
//! threads, through a shared reference, as a TCP or Unix socket does.
//! A stream that can only be used by one thread at a time could not give
//! that: a sender would wait for the reader's read, which lasts until the
//! server speaks. (The tokio driver takes any `AsyncRead + AsyncWrite`.)
//!
//! TCP, the usual case, keeps its own path: reads into uninitialized room,
//! the receive low-water mark and whole-segment writes are capabilities of
//! a TCP socket that other streams do without.

use super::lowat::{self, RecvLowat};
use crate::proto::InputBuffer;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

/// A connected byte stream the blocking driver can read on one thread
/// while other threads write to it: implemented for `TcpStream` and (on
/// Unix) `UnixStream`; implement it to run a WebSocket over your own.
/// Given to [`WebSocket::connect_on`](crate::WebSocket::connect_on).
pub trait Duplex: Send + Sync + 'static {
    /// Reads into `buf`, blocking until data arrives, the read timeout
    /// passes (`WouldBlock` or `TimedOut`), or the stream is shut down
    /// (`Ok(0)`).
    fn read(&self, buf: &mut [u8]) -> io::Result<usize>;
    /// Writes some of `buf`, blocking at most for the write timeout.
    fn write(&self, buf: &[u8]) -> io::Result<usize>;
    /// Bounds each later [`read`](Self::read) (`None`: no bound); the
    /// connection's timers depend on it.
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// Bounds each later [`write`](Self::write) (`None`: no bound).
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// Shuts both directions down, so that a read blocked on another
    /// thread returns.
    fn shutdown(&self) -> io::Result<()>;
    /// The peer's IP address, if it has one (for the `Connected` event).
    fn peer_addr(&self) -> Option<SocketAddr> {
        None
    }
}

impl Duplex for TcpStream {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        Read::read(&mut &*self, buf)
    }
    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        Write::write(&mut &*self, buf)
    }
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }
    fn shutdown(&self) -> io::Result<()> {
        TcpStream::shutdown(self, Shutdown::Both)
    }
    fn peer_addr(&self) -> Option<SocketAddr> {
        TcpStream::peer_addr(self).ok()
    }
}

#[cfg(unix)]
impl Duplex for std::os::unix::net::UnixStream {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        Read::read(&mut &*self, buf)
    }
    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        Write::write(&mut &*self, buf)
    }
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_read_timeout(self, timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_write_timeout(self, timeout)
    }
    fn shutdown(&self) -> io::Result<()> {
        std::os::unix::net::UnixStream::shutdown(self, Shutdown::Both)
    }
}

/// The blocking driver's stream: TCP with its capabilities, or any other
/// [`Duplex`].
pub(crate) enum Socket {
    Tcp(TcpStream),
    /// TLS over TCP: the TCP tricks are left out (lowat would count
    /// ciphertext, and whole segments of plaintext are not whole segments
    /// of records).
    #[cfg(feature = "tls")]
    Tls(Box<super::tls::TlsSocket>),
    Other(Box<dyn Duplex>),
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Socket::Tcp(s) => f.debug_tuple("Tcp").field(s).finish(),
            #[cfg(feature = "tls")]
            Socket::Tls(s) => f.debug_tuple("Tls").field(s.tcp()).finish(),
            Socket::Other(_) => f.write_str("Other"),
        }
    }
}

impl Socket {
    /// Wraps `stream`, keeping a `TcpStream` on the TCP path.
    pub(crate) fn new<S: Duplex>(stream: S) -> Socket {
        match super::downcast::<TcpStream, _>(stream) {
            Ok(tcp) => Socket::Tcp(tcp),
            Err(other) => Socket::Other(Box::new(other)),
        }
    }

    /// The TCP socket, where the stream is one.
    pub(crate) fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Socket::Tcp(s) => Some(s),
            _ => None,
        }
    }

    /// The TCP socket under the stream (TLS or not), where there is one.
    pub(crate) fn tcp_under(&self) -> Option<&TcpStream> {
        match self {
            Socket::Tcp(s) => Some(s),
            #[cfg(feature = "tls")]
            Socket::Tls(s) => Some(s.tcp()),
            Socket::Other(_) => None,
        }
    }

    fn duplex(&self) -> &dyn Duplex {
        match self {
            Socket::Tcp(s) => s,
            #[cfg(feature = "tls")]
            Socket::Tls(s) => s.tcp(),
            Socket::Other(s) => &**s,
        }
    }

    /// Reads into `input`'s room, waiting at most `timeout` (the read
    /// timeout must already be set to it) and, on TCP, until `wanted`
    /// bytes are there when that is many (see `lowat`).
    #[inline]
    pub(crate) fn read_into(
        &self,
        input: &mut InputBuffer,
        lowat: &mut RecvLowat,
        wanted: usize,
        timeout: Option<Duration>,
    ) -> io::Result<usize> {
        let tcp = match self {
            Socket::Tcp(tcp) => tcp,
            #[cfg(feature = "tls")]
            Socket::Tls(tls) => return read_tls(tls, input),
            Socket::Other(other) => return read_other(&**other, input),
        };
        // Reading into uninitialized room saves zeroing every byte received
        // first (memset was 5-7% of a 1 KiB or 64 KiB receive).
        lowat.update(tcp, wanted);
        let result = if lowat.is_raised() {
            // A blocking read cannot wait for a mark (see `lowat`).
            match lowat::wait_readable(tcp, timeout) {
                Ok(true) => lowat::recv_now(tcp, input.uninit_room()),
                // At the deadline, what came below the mark still counts
                // as a sign of life (see `lowat`).
                Ok(false) => match lowat::recv_now(tcp, input.uninit_room()) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        Err(io::ErrorKind::TimedOut.into())
                    }
                    other => other,
                },
                Err(e) => Err(e),
            }
        } else {
            socket2::SockRef::from(tcp).recv(input.uninit_room())
        };
        let read = *result.as_ref().unwrap_or(&0);
        // SAFETY: recv wrote the first `read` bytes of the room it was given.
        #[allow(unsafe_code)]
        unsafe {
            input.assume_filled(read)
        };
        result
    }

    /// Writes all of `buf`.
    #[inline]
    pub(crate) fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        match self {
            Socket::Tcp(tcp) => (&*tcp).write_all(buf),
            #[cfg(feature = "tls")]
            Socket::Tls(tls) => write_all_tls(tls, buf),
            Socket::Other(other) => write_all_other(&**other, buf),
        }
    }

    /// Writes `first`, then `second`: one system call for both over TCP
    /// (a whole-segment write's held tail and the core's next output, so
    /// neither is copied to join them).
    pub(crate) fn write_all_two(&self, mut first: &[u8], mut second: &[u8]) -> io::Result<()> {
        let Socket::Tcp(tcp) = self else {
            // Only TCP writes whole segments, so only TCP keeps a tail:
            // `first` is empty here, and an empty write would cost TLS a
            // look at what it holds.
            if !first.is_empty() {
                self.write_all(first)?;
            }
            return self.write_all(second);
        };
        while !first.is_empty() {
            let n = match (&*tcp)
                .write_vectored(&[io::IoSlice::new(first), io::IoSlice::new(second)])
            {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let from_first = n.min(first.len());
            first = &first[from_first..];
            second = &second[n - from_first..];
        }
        (&*tcp).write_all(second)
    }

    /// Whether the transport has bytes of its own to send (TLS answering
    /// a key update): a flush with nothing queued writes them.
    #[inline]
    pub(crate) fn wants_write(&self) -> bool {
        match self {
            #[cfg(feature = "tls")]
            Socket::Tls(tls) => tls.wants_write(),
            _ => false,
        }
    }

    /// The TCP segment size to write whole segments of, or 0 (no unit),
    /// read through the connection's `cache`.
    pub(crate) fn segment_size(&self, cache: &mut super::segment::SegmentSize) -> usize {
        self.tcp().map_or(0, |tcp| cache.get(tcp))
    }

    pub(crate) fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.duplex().set_read_timeout(timeout)
    }

    pub(crate) fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.duplex().set_write_timeout(timeout)
    }

    /// Shuts both directions down (waking a blocked read); errors ignored,
    /// since the socket may be gone already.
    pub(crate) fn shutdown(&self) {
        match self {
            #[cfg(feature = "tls")]
            Socket::Tls(tls) => tls.shutdown(),
            _ => {
                let _ = self.duplex().shutdown();
            }
        }
    }

    pub(crate) fn peer_addr(&self) -> Option<SocketAddr> {
        self.duplex().peer_addr()
    }
}

// The other streams' paths are kept out of line, so that the TCP path
// inlined into the driver's loops stays as small as it was before there
// were other streams (inlined, they cost the blocking echo round trip
// about 80 instructions).

#[inline(never)]
fn read_other(other: &dyn Duplex, input: &mut InputBuffer) -> io::Result<usize> {
    let result = other.read(input.room());
    input.filled(*result.as_ref().unwrap_or(&0));
    result
}

#[cfg(feature = "tls")]
#[inline(never)]
fn read_tls(tls: &super::tls::TlsSocket, input: &mut InputBuffer) -> io::Result<usize> {
    tls.read_into(input)
}

#[cfg(feature = "tls")]
#[inline(never)]
fn write_all_tls(tls: &super::tls::TlsSocket, buf: &[u8]) -> io::Result<()> {
    tls.write_all(buf)
}

#[inline(never)]
fn write_all_other(other: &dyn Duplex, buf: &[u8]) -> io::Result<()> {
    super::exchange::write_all(other, buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn a_tcp_stream_keeps_the_tcp_path() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let socket = Socket::new(client);
        assert!(socket.tcp().is_some());
        assert_eq!(socket.peer_addr(), Some(listener.local_addr().unwrap()));
    }

    #[cfg(unix)]
    #[test]
    fn another_stream_reads_and_writes_through_its_duplex() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let a = Socket::new(a);
        assert!(a.tcp().is_none());
        assert_eq!(a.segment_size(&mut Default::default()), 0);
        a.write_all(b"hello").unwrap();
        let mut got = [0; 5];
        (&b).read_exact(&mut got).unwrap();
        assert_eq!(&got, b"hello");
        (&b).write_all(b"back").unwrap();
        let mut input = InputBuffer::new();
        let read = a
            .read_into(&mut input, &mut RecvLowat::new(), 1 << 20, None)
            .unwrap();
        assert_eq!(&input.data()[..read], b"back");
        a.shutdown();
        assert_eq!(Read::read(&mut &b, &mut got).unwrap(), 0);
    }
}
