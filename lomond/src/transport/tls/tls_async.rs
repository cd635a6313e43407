//! The tokio driver's TLS: the handshake as a pipeline stage, then a read
//! half and a write half over the TCP socket's owned halves, sharing one
//! [`TlsLink`] and no lock between their I/O.

use super::super::exchange;
use super::{TlsLink, TlsOptions};
use crate::error::ConnectError;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// Runs the TLS handshake with `host` over `lower` (TCP, or TLS to an
/// `https://` proxy) by `deadline` (on tokio's clock, as a std `Instant`).
pub(crate) async fn handshake_async<S: AsyncRead + AsyncWrite + Unpin>(
    mut lower: S,
    options: &TlsOptions,
    host: &str,
    leftover: &[u8],
    deadline: Option<Instant>,
) -> Result<(S, TlsLink), ConnectError> {
    let mut link = super::start(options, host, leftover)?;
    exchange::run_async(&mut link, &mut lower, deadline).await?;
    Ok((lower, link))
}

/// Splits a TCP connection that has done its handshake.
pub(crate) fn split(tcp: TcpStream, link: TlsLink) -> TlsStream {
    let (r, w) = tcp.into_split();
    split_over(r, w, link)
}

/// TLS over the halves of what carries it.
pub(crate) fn split_over<R, W>(r: R, w: W, link: TlsLink) -> TlsStream<R, W> {
    let link = Arc::new(link);
    TlsStream(
        TlsReadHalf {
            tcp: r,
            link: link.clone(),
        },
        TlsWriteHalf { tcp: w, link },
    )
}

/// A TLS connection's two halves, whole again: a stream for what runs
/// inside it before the session (a tunnel, TLS to the server through an
/// `https://` proxy), and for the session itself when that is nested.
pub(crate) struct TlsStream<R = OwnedReadHalf, W = OwnedWriteHalf>(
    pub(crate) TlsReadHalf<R>,
    pub(crate) TlsWriteHalf<W>,
);

/// TLS to the server inside TLS to an `https://` proxy.
pub(crate) type TlsInTls = TlsStream<TlsReadHalf, TlsWriteHalf>;

impl TlsStream {
    /// The TCP peer's address.
    pub(crate) fn peer_addr(&self) -> Option<std::net::SocketAddr> {
        self.0.tcp.peer_addr().ok()
    }
}

impl TlsInTls {
    /// The TCP peer's (the proxy's) address.
    pub(crate) fn peer_addr(&self) -> Option<std::net::SocketAddr> {
        self.0.tcp.tcp.peer_addr().ok()
    }
}

impl<R: AsyncRead + Unpin, W: Unpin> AsyncRead for TlsStream<R, W> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl<R: Unpin, W: Lower> AsyncWrite for TlsStream<R, W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().1).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().1).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().1).poll_shutdown(cx)
    }
}

/// The write side TLS runs over: a TCP half, or TLS to a proxy.
pub(crate) trait Lower: AsyncWrite + Unpin {
    /// Writes what is taken now, without waiting.
    fn try_write(&mut self, buf: &[u8]) -> io::Result<usize>;
    /// Whether bytes of its own wait to be written.
    fn pending(&self) -> bool;
}

impl Lower for OwnedWriteHalf {
    fn try_write(&mut self, buf: &[u8]) -> io::Result<usize> {
        OwnedWriteHalf::try_write(self, buf)
    }
    #[inline]
    fn pending(&self) -> bool {
        false
    }
}

impl<W: Lower> Lower for TlsWriteHalf<W> {
    fn try_write(&mut self, buf: &[u8]) -> io::Result<usize> {
        TlsWriteHalf::try_write(self, buf)
    }
    fn pending(&self) -> bool {
        TlsWriteHalf::pending(self)
    }
}

/// Reads ciphertext and hands out plaintext.
pub(crate) struct TlsReadHalf<R = OwnedReadHalf> {
    tcp: R,
    link: Arc<TlsLink>,
}

impl TlsReadHalf {
    /// The TCP socket underneath.
    pub(crate) fn tcp(&self) -> &tokio::net::TcpStream {
        self.tcp.as_ref()
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for TlsReadHalf<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let mut socket = Polled {
            io: &mut this.tcp,
            cx,
        };
        let result = this.link.decrypt(
            |conn| conn.read_tls(&mut socket),
            |plain| {
                let n = plain.len().min(buf.remaining());
                buf.put_slice(&plain[..n]);
                n
            },
        );
        match result {
            Ok(_) => Poll::Ready(Ok(())),
            // The socket had nothing: its poll_read has registered the
            // waker.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Poll::Pending,
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

/// A socket polled as a `Read`, so that rustls reads the ciphertext into
/// its own buffer (no copy through one of ours); `WouldBlock` when the
/// poll is pending. The lock on the TLS state is held meanwhile, but
/// only for a read that does not wait.
struct Polled<'a, 'b, R> {
    io: &'a mut R,
    cx: &'a mut Context<'b>,
}

impl<R: AsyncRead + Unpin> io::Read for Polled<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut rb = ReadBuf::new(buf);
        match Pin::new(&mut *self.io).poll_read(self.cx, &mut rb) {
            Poll::Ready(Ok(())) => Ok(rb.filled().len()),
            Poll::Ready(Err(e)) => Err(e),
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

/// Encrypts plaintext and writes the records, straight from rustls'
/// buffers.
pub(crate) struct TlsWriteHalf<W = OwnedWriteHalf> {
    tcp: W,
    link: Arc<TlsLink>,
}

impl<W: Lower> TlsWriteHalf<W> {
    /// Whether sealed records or TLS's own bytes (an answer to a key
    /// update) wait to be written: the driver flushes them.
    pub(crate) fn pending(&self) -> bool {
        self.link.wants_write() || self.tcp.pending()
    }

    /// Writes the sealed records, waiting for the socket (the TLS lock is
    /// held only for writes that do not wait).
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut socket = PolledWrite {
            io: &mut self.tcp,
            cx,
        };
        match self.link.send(&mut socket) {
            Ok(true) => Poll::Ready(Ok(())),
            // Its poll_write has registered the waker.
            Ok(false) => Poll::Pending,
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    /// Writes what the socket takes now, without waiting: for `Drop`.
    pub(crate) fn try_write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.link.seal(buf)?;
        self.link.send(&mut TryWrite(&mut self.tcp))?;
        Ok(n)
    }

    /// Sends close_notify if the socket takes it at once.
    pub(crate) fn shutdown_now(&mut self) {
        self.link.close();
        let _ = self.link.send(&mut TryWrite(&mut self.tcp));
    }
}

/// A write half polled as a `Write`, for rustls' `write_tls`;
/// `WouldBlock` when the poll is pending.
struct PolledWrite<'a, 'b, W> {
    io: &'a mut W,
    cx: &'a mut Context<'b>,
}

impl<W: AsyncWrite + Unpin> io::Write for PolledWrite<'_, '_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match Pin::new(&mut *self.io).poll_write(self.cx, buf) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match Pin::new(&mut *self.io).poll_write_vectored(self.cx, bufs) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A write half written without waiting, as a `Write`.
struct TryWrite<'a, W>(&'a mut W);

impl<W: Lower> io::Write for TryWrite<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Lower> AsyncWrite for TlsWriteHalf<W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_send(cx))?;
        let n = this.link.seal(buf)?;
        // Start writing at once; what the socket does not take now waits
        // for the next write or flush (the driver flushes while `pending`).
        if let Poll::Ready(Err(e)) = this.poll_send(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_send(cx))?;
        Pin::new(&mut this.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.link.close();
        ready!(self.as_mut().poll_flush(cx))?;
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}
