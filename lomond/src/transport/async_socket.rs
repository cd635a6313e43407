//! [`AsyncSocket`]: the byte stream under the tokio driver, split into a
//! half the event stream reads and a half the writers share.
//!
//! Any `AsyncRead + AsyncWrite` will do. TCP keeps its own path: its
//! owned halves need no lock between them (a stream split by
//! `tokio::io::split` takes one at every poll), and it offers the receive
//! low-water mark and whole-segment writes that other streams do without.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// A stream the tokio driver can run on.
pub(crate) trait AsyncIo: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> AsyncIo for T {}

type Boxed = Box<dyn AsyncIo>;

/// The tokio driver's stream: TCP with its capabilities, or any other.
pub(crate) enum AsyncSocket {
    Tcp(TcpStream),
    /// TLS over TCP, after the handshake.
    #[cfg(feature = "tls")]
    Tls(Box<super::tls::TlsStream>),
    /// TLS to the server inside TLS to an `https://` proxy: split as any
    /// other stream.
    #[cfg(feature = "tls")]
    TlsInTls(Box<super::tls::TlsInTls>),
    Other(Boxed),
}

impl AsyncSocket {
    /// Wraps `stream`, keeping a tokio `TcpStream` on the TCP path.
    pub(crate) fn new<S: AsyncIo>(stream: S) -> AsyncSocket {
        match super::downcast::<TcpStream, _>(stream) {
            Ok(tcp) => AsyncSocket::Tcp(tcp),
            Err(other) => AsyncSocket::Other(Box::new(other)),
        }
    }

    /// The peer's IP address, where the stream has one.
    pub(crate) fn peer_addr(&self) -> Option<SocketAddr> {
        match self {
            AsyncSocket::Tcp(s) => s.peer_addr().ok(),
            #[cfg(feature = "tls")]
            AsyncSocket::Tls(s) => s.peer_addr(),
            #[cfg(feature = "tls")]
            AsyncSocket::TlsInTls(s) => s.peer_addr(),
            AsyncSocket::Other(_) => None,
        }
    }

    /// The read half and the write half.
    pub(crate) fn split(self) -> (ReadHalf, WriteHalf) {
        match self {
            AsyncSocket::Tcp(s) => {
                let (r, w) = s.into_split();
                (ReadHalf::Tcp(r), WriteHalf::Tcp(w))
            }
            #[cfg(feature = "tls")]
            AsyncSocket::Tls(s) => {
                let super::tls::TlsStream(r, w) = *s;
                (ReadHalf::Tls(r), WriteHalf::Tls(w))
            }
            #[cfg(feature = "tls")]
            AsyncSocket::TlsInTls(s) => AsyncSocket::Other(s).split(),
            AsyncSocket::Other(s) => {
                let (r, w) = tokio::io::split(s);
                (ReadHalf::Other(r), WriteHalf::Other(w))
            }
        }
    }
}

/// The half the event stream reads from.
pub(crate) enum ReadHalf {
    Tcp(OwnedReadHalf),
    #[cfg(feature = "tls")]
    Tls(super::tls::TlsReadHalf),
    Other(tokio::io::ReadHalf<Boxed>),
}

impl ReadHalf {
    /// The TCP socket, where the stream is one.
    pub(crate) fn tcp(&self) -> Option<&TcpStream> {
        match self {
            ReadHalf::Tcp(r) => Some(r.as_ref()),
            _ => None,
        }
    }

    /// The TCP socket under the stream (TLS or not), where there is one.
    pub(crate) fn tcp_under(&self) -> Option<&TcpStream> {
        match self {
            ReadHalf::Tcp(r) => Some(r.as_ref()),
            #[cfg(feature = "tls")]
            ReadHalf::Tls(r) => Some(r.tcp()),
            ReadHalf::Other(_) => None,
        }
    }
}

impl AsyncRead for ReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ReadHalf::Tcp(r) => Pin::new(r).poll_read(cx, buf),
            #[cfg(feature = "tls")]
            ReadHalf::Tls(r) => Pin::new(r).poll_read(cx, buf),
            ReadHalf::Other(r) => Pin::new(r).poll_read(cx, buf),
        }
    }
}

/// The half the writers share.
pub(crate) enum WriteHalf {
    Tcp(OwnedWriteHalf),
    #[cfg(feature = "tls")]
    Tls(super::tls::TlsWriteHalf),
    Other(tokio::io::WriteHalf<Boxed>),
}

impl WriteHalf {
    /// The TCP socket, where the stream is one.
    pub(crate) fn tcp(&self) -> Option<&TcpStream> {
        match self {
            WriteHalf::Tcp(w) => Some(w.as_ref()),
            _ => None,
        }
    }

    /// Whether the transport may hold bytes to write of its own (sealed
    /// TLS records, an answer to a key update, whatever another stream
    /// buffers): a drain with nothing queued flushes them.
    #[inline]
    pub(crate) fn pending(&self) -> bool {
        match self {
            WriteHalf::Tcp(_) => false,
            #[cfg(feature = "tls")]
            WriteHalf::Tls(w) => w.pending(),
            WriteHalf::Other(_) => true,
        }
    }

    /// Writes what the stream takes now, without waiting: for `Drop`.
    pub(crate) fn try_write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            WriteHalf::Tcp(w) => w.try_write(buf),
            #[cfg(feature = "tls")]
            WriteHalf::Tls(w) => w.try_write(buf),
            WriteHalf::Other(w) => {
                let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
                match Pin::new(w).poll_write(&mut cx, buf) {
                    Poll::Ready(r) => r,
                    Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
                }
            }
        }
    }

    /// Starts shutting the stream's write side down, without waiting
    /// (a TCP half does so when dropped).
    pub(crate) fn shutdown_now(&mut self) {
        match self {
            WriteHalf::Tcp(_) => {}
            #[cfg(feature = "tls")]
            WriteHalf::Tls(w) => w.shutdown_now(),
            WriteHalf::Other(w) => {
                let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
                let _ = Pin::new(w).poll_shutdown(&mut cx);
            }
        }
    }
}

impl AsyncWrite for WriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WriteHalf::Tcp(w) => Pin::new(w).poll_write(cx, buf),
            #[cfg(feature = "tls")]
            WriteHalf::Tls(w) => Pin::new(w).poll_write(cx, buf),
            WriteHalf::Other(w) => Pin::new(w).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WriteHalf::Tcp(w) => Pin::new(w).poll_write_vectored(cx, bufs),
            #[cfg(feature = "tls")]
            WriteHalf::Tls(w) => Pin::new(w).poll_write_vectored(cx, bufs),
            WriteHalf::Other(w) => Pin::new(w).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            WriteHalf::Tcp(w) => w.is_write_vectored(),
            #[cfg(feature = "tls")]
            WriteHalf::Tls(w) => w.is_write_vectored(),
            WriteHalf::Other(w) => w.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteHalf::Tcp(w) => Pin::new(w).poll_flush(cx),
            #[cfg(feature = "tls")]
            WriteHalf::Tls(w) => Pin::new(w).poll_flush(cx),
            WriteHalf::Other(w) => Pin::new(w).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteHalf::Tcp(w) => Pin::new(w).poll_shutdown(cx),
            #[cfg(feature = "tls")]
            WriteHalf::Tls(w) => Pin::new(w).poll_shutdown(cx),
            WriteHalf::Other(w) => Pin::new(w).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_tcp_stream_keeps_the_tcp_path() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        let socket = AsyncSocket::new(client);
        assert_eq!(socket.peer_addr(), Some(addr));
        let (r, w) = socket.split();
        assert!(r.tcp().is_some() && w.tcp().is_some());
    }

    #[tokio::test]
    async fn another_stream_is_split_and_shut_down() {
        let (a, mut b) = tokio::io::duplex(64);
        let socket = AsyncSocket::new(a);
        assert_eq!(socket.peer_addr(), None);
        let (mut r, mut w) = socket.split();
        assert!(r.tcp().is_none() && w.tcp().is_none());
        assert_eq!(w.try_write(b"hello").unwrap(), 5);
        let mut got = [0; 5];
        b.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"hello");
        b.write_all(b"back").await.unwrap();
        let mut got = [0; 4];
        r.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"back");
        w.shutdown_now();
        assert_eq!(b.read(&mut got).await.unwrap(), 0);
    }
}
