//! [`segment_size`]: the connection's TCP segment size, so that writes made
//! while more output is coming are whole segments.
//!
//! With Nagle off, a write that is not a multiple of the segment size ends
//! in a short segment, sent at once, and every segment costs the same
//! transmit, receive and acknowledgement work whatever its size. Coalesced
//! output is written at 64 KiB: on loopback (segments of 65,483 bytes) that
//! was two segments per write, one of them a few hundred bytes. Writing the
//! whole segments and keeping the tail for the next write halved the
//! segments (24,055 -> 12,459 sending 524,288 messages of 1 KiB) and cut
//! the CPU time of sending (bench, 7-run medians, blocking / tokio: 1 KiB
//! 0.092 / 0.104 -> 0.068 / 0.080 CPU s per 524,288 messages; 64 KiB
//! 0.123 / 0.108 -> 0.074 / 0.071 per 8,192; 1 MiB 0.255 / 0.270 -> 0.223
//! / 0.198 per 1,000). Sending 16-byte messages, 3,000 to a write, is
//! unchanged.
//!
//! The size is read again for each such write: Linux starts a connection
//! at half the peer's first window and raises it as the window grows.

/// The segment size the kernel is sending with, or 0 where it cannot say.
#[cfg(unix)]
pub(crate) fn segment_size(socket: &impl std::os::fd::AsFd) -> usize {
    socket2::SockRef::from(socket)
        .tcp_mss()
        .map_or(0, |mss| mss as usize)
}

/// The segment size the kernel is sending with, or 0 where it cannot say.
#[cfg(not(unix))]
pub(crate) fn segment_size<S>(_socket: &S) -> usize {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn a_connected_socket_has_a_segment_size() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let size = segment_size(&client);
        assert!((500..=65_535).contains(&size), "{size}");
    }
}
