//! [`RecvLowat`]: the socket's receive low-water mark (`SO_RCVLOWAT`), kept
//! at what the protocol core needs next.
//!
//! While a large frame arrives, the reader is woken once the rest of it is
//! there instead of for every segment: a 1 MiB frame arrives in about 16
//! segments, and each wakeup is a context switch and a read. With the mark,
//! the tokio client received 1 MiB messages for half the CPU (bench, recv
//! 1 MiB: 0.159 -> 0.082 CPU s per 1,500 messages, context switches per
//! 2,000 messages 7,053 -> 1,940).
//!
//! The mark must only be waited on through readiness (poll, epoll), then
//! read without blocking. Linux wakes a reader when the *unread* bytes reach
//! the mark, so a blocking `recv` that has copied part of the mark and sleeps
//! for the rest is never woken: a client hung that way with the last 130
//! bytes of a stream unread.
//!
//! A mark also hides bytes from the reader until it is reached. On a slow
//! link a large frame takes longer to arrive than the ping timeout, and
//! the bytes trickling in are the only sign that the server lives; so at
//! each deadline a driver takes what has arrived below the mark
//! ([`recv_now`], [`take_below_mark`]) before the core decides that nothing
//! came. Without that a 1 MiB message at 256 kbit/s (33 s) was declared
//! unresponsive 2 s in with a 2 s ping timeout (tests/netlab.rs).
//!
//! Only Linux gets a mark; elsewhere it stays at the default of 1 and these
//! functions behave as plain reads.

use std::io;
use std::mem::MaybeUninit;
use std::time::Duration;

/// Needs below this keep the default mark: the setsockopts (one to raise
/// the mark, one to lower it for the next header) would cost more than the
/// wakeups they save. A 64 KiB frame arrives in one or two loopback
/// segments (or GRO batches), so a mark saved almost no wakeups there: with
/// marks from 32 KiB, receiving 64 KiB messages cost 4-6% more CPU (three
/// 15-25-run A/Bs, both drivers), and 1 MiB messages the same.
const MARK_FROM: usize = 128 << 10;

/// The highest mark (the kernel grows the receive buffer to twice the mark).
const MARK_MAX: usize = 1 << 20;

/// What a socket must offer to take a mark: a descriptor on Linux.
#[cfg(target_os = "linux")]
pub(crate) trait Socket: std::os::fd::AsFd {}
#[cfg(target_os = "linux")]
impl<T: std::os::fd::AsFd> Socket for T {}
/// What a socket must offer to take a mark: nothing, where there is none.
#[cfg(not(target_os = "linux"))]
pub(crate) trait Socket {}
#[cfg(not(target_os = "linux"))]
impl<T> Socket for T {}

/// The mark last set on one socket.
#[derive(Debug)]
pub(crate) struct RecvLowat {
    /// 1 is the kernel's default.
    set: usize,
}

impl RecvLowat {
    pub(crate) fn new() -> RecvLowat {
        RecvLowat { set: 1 }
    }

    /// Sets the mark for a read that can make progress only once `wanted`
    /// more bytes have arrived; returns whether the mark moved (bytes
    /// already received may be readable now, or no longer). Must be called
    /// before every wait for input: a mark left above what is still wanted
    /// would wait for bytes that may never come.
    pub(crate) fn update(&mut self, socket: &impl Socket, wanted: usize) -> bool {
        let mark = if wanted >= MARK_FROM {
            wanted.min(MARK_MAX)
        } else {
            1
        };
        let moved = mark != self.set && set_rcvlowat(socket, mark).is_ok();
        if moved {
            self.set = mark;
        }
        moved
    }

    /// Whether a mark above 1 is in force: bytes may be waiting below it.
    pub(crate) fn is_raised(&self) -> bool {
        self.set > 1
    }
}

#[cfg(target_os = "linux")]
fn set_rcvlowat(socket: &impl Socket, mark: usize) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let value = libc::c_int::try_from(mark).unwrap_or(libc::c_int::MAX);
    // SAFETY: the descriptor is borrowed from a live socket; the option
    // value points at a c_int that outlives the call, and its size is given.
    #[allow(unsafe_code)]
    let r = unsafe {
        libc::setsockopt(
            socket.as_fd().as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVLOWAT,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn set_rcvlowat(_socket: &impl Socket, _mark: usize) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

/// Waits until the socket is readable (its mark reached, end of stream or
/// an error) or `timeout` passes: `Ok(false)` on timeout.
#[cfg(target_os = "linux")]
pub(crate) fn wait_readable(socket: &impl Socket, timeout: Option<Duration>) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    let mut fds = libc::pollfd {
        fd: socket.as_fd().as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // Rounded up, so that a wait never ends before the deadline.
    let ms = timeout.map_or(-1, |t| {
        libc::c_int::try_from(t.as_nanos().div_ceil(1_000_000)).unwrap_or(libc::c_int::MAX)
    });
    // SAFETY: one pollfd, valid and exclusively borrowed for the call.
    #[allow(unsafe_code)]
    let r = unsafe { libc::poll(&mut fds, 1, ms) };
    match r {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(false),
        _ => Ok(true),
    }
}

/// Without marks the read itself waits.
#[cfg(not(target_os = "linux"))]
pub(crate) fn wait_readable(_socket: &impl Socket, _timeout: Option<Duration>) -> io::Result<bool> {
    Ok(true)
}

/// Reads what is there without waiting (after [`wait_readable`]).
#[cfg(target_os = "linux")]
pub(crate) fn recv_now(
    socket: &std::net::TcpStream,
    buf: &mut [MaybeUninit<u8>],
) -> io::Result<usize> {
    socket2::SockRef::from(socket).recv_with_flags(buf, libc::MSG_DONTWAIT)
}

/// Without marks the read itself waits.
#[cfg(not(target_os = "linux"))]
pub(crate) fn recv_now(
    socket: &std::net::TcpStream,
    buf: &mut [MaybeUninit<u8>],
) -> io::Result<usize> {
    socket2::SockRef::from(socket).recv(buf)
}

/// Appends what has arrived on a non-blocking socket, below its mark or
/// not, to `into`, up to `most` bytes; `Ok(0)` at end of stream and
/// `WouldBlock` when nothing is there. For a driver at a deadline (see the
/// module docs); it bypasses the runtime's readiness, which the mark holds
/// back, so it is only for that rare path (a copy through the stack keeps
/// it free of `unsafe`).
#[cfg(all(target_os = "linux", feature = "tokio"))]
pub(crate) fn take_below_mark(
    socket: &impl std::os::fd::AsFd,
    into: &mut bytes::BytesMut,
    most: usize,
) -> io::Result<usize> {
    use std::io::Read;
    let socket = socket2::SockRef::from(socket);
    let mut chunk = [0u8; 16 << 10];
    let mut taken = 0;
    while taken < most {
        let want = chunk.len().min(most - taken);
        match (&*socket).read(&mut chunk[..want]) {
            Ok(0) if taken == 0 => return Ok(0),
            Ok(0) => break,
            Ok(n) => {
                into.extend_from_slice(&chunk[..n]);
                taken += n;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && taken > 0 => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(taken)
}
