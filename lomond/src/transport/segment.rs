//! [`segment_size`]: the connection's TCP segment size, so that writes made
//! while more output is coming are whole segments.
//!
//! With Nagle off, a write that is not a multiple of the segment size ends
//! in a short segment, sent at once, and every segment costs the same
//! transmit, receive and acknowledgement work whatever its size. Coalesced
//! output was written at 64 KiB (128 KiB now): on loopback (segments of 65,483 bytes) that
//! was two segments per write, one of them a few hundred bytes. Writing the
//! whole segments and keeping the tail for the next write halved the
//! segments (24,055 -> 12,459 sending 524,288 messages of 1 KiB) and cut
//! the CPU time of sending (bench, 7-run medians, blocking / tokio: 1 KiB
//! 0.092 / 0.104 -> 0.068 / 0.080 CPU s per 524,288 messages; 64 KiB
//! 0.123 / 0.108 -> 0.074 / 0.071 per 8,192; 1 MiB 0.255 / 0.270 -> 0.223
//! / 0.198 per 1,000). Sending 16-byte messages, 3,000 to a write, is
//! unchanged.
//!
//! Linux starts a connection at half the peer's first window and raises
//! the size as the window grows, so it is read again after [`READ_EVERY`]
//! whole writes, and less often while it stays the same ([`SegmentSize`]);
//! reading it at every write was one `getsockopt` per `sendto`, twice the
//! system calls of sending.

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

/// How many whole writes use one reading of the segment size at first;
/// each reading that finds it unchanged doubles that, up to
/// [`READ_EVERY_MOST`].
pub(crate) const READ_EVERY: u32 = 32;
/// The most writes one reading serves.
pub(crate) const READ_EVERY_MOST: u32 = 4096;

/// A connection's segment size, read from the kernel at the first whole
/// write and again after [`READ_EVERY`] writes, less often while it stays
/// the same.
#[derive(Debug, Default)]
pub(crate) struct SegmentSize {
    size: usize,
    /// Writes left before the size is read again.
    left: u32,
    /// Writes the last reading serves.
    every: u32,
}

impl SegmentSize {
    /// The segment size for the next whole write on `socket`.
    #[cfg(unix)]
    pub(crate) fn get(&mut self, socket: &impl std::os::fd::AsFd) -> usize {
        if self.left == 0 {
            let size = segment_size(socket);
            self.every = if size == self.size && self.every > 0 {
                (self.every * 2).min(READ_EVERY_MOST)
            } else {
                READ_EVERY
            };
            self.size = size;
            self.left = self.every;
        }
        self.left -= 1;
        self.size
    }

    /// The segment size for the next whole write on `socket`.
    #[cfg(not(unix))]
    pub(crate) fn get<S>(&mut self, _socket: &S) -> usize {
        0
    }
}

/// The short tail a whole-segment write kept back, `buf[pos..]`: taken
/// from the core already, so it goes out before anything the core holds.
/// It stays in the buffer it was written from and goes out with the next
/// output by one vectored write: copying it back into the core was a sixth
/// of the instructions of sending 64 KiB messages.
#[derive(Debug, Default)]
pub(crate) struct Tail {
    buf: Vec<u8>,
    pos: usize,
}

impl Tail {
    /// The bytes still to write.
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Whether every byte is written (the tokio writer writes a tail in
    /// parts; the blocking one whole).
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.pos == self.buf.len()
    }

    /// `n` of [`bytes`](Self::bytes) were written.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    #[inline]
    pub(crate) fn advance(&mut self, n: usize) {
        self.pos += n;
    }

    /// Forgets the bytes, keeping the buffer.
    #[inline]
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.pos = 0;
    }

    /// Keeps `buf[from..]` as the tail, where it lies; `buf` gets this
    /// tail's buffer, emptied, for the next take from the core.
    #[inline]
    pub(crate) fn keep(&mut self, buf: &mut Vec<u8>, from: usize) {
        self.clear();
        std::mem::swap(&mut self.buf, buf);
        self.pos = from;
    }
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

    #[test]
    #[cfg(unix)]
    fn the_size_is_read_again_less_often_while_it_stays_the_same() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let mut cache = SegmentSize::default();
        let size = segment_size(&client);
        assert_eq!(cache.get(&client), size);
        // A stale reading stays in use until the next read is due; the
        // changed size found then is read again as soon as at first.
        cache.size = 7;
        for _ in 1..READ_EVERY {
            assert_eq!(cache.get(&client), 7);
        }
        assert_eq!(cache.get(&client), size);
        assert_eq!(cache.every, READ_EVERY);
        // Unchanged readings double the writes each serves.
        for _ in 1..READ_EVERY {
            cache.get(&client);
        }
        cache.get(&client);
        assert_eq!(cache.every, READ_EVERY * 2);
        for _ in 0..READ_EVERY_MOST * 4 {
            cache.get(&client);
        }
        assert_eq!(cache.every, READ_EVERY_MOST);
    }

    #[test]
    fn a_tail_is_kept_where_it_lies_and_the_buffer_handed_back() {
        let mut tail = Tail::default();
        let mut buf = b"written|kept".to_vec();
        tail.keep(&mut buf, 8);
        assert_eq!(tail.bytes(), b"kept");
        assert!(buf.is_empty(), "the old tail's buffer, emptied");
        tail.advance(3);
        assert_eq!(tail.bytes(), b"t");
        tail.advance(1);
        assert!(tail.is_empty());
        buf.extend_from_slice(b"more|rest");
        tail.keep(&mut buf, 5);
        assert_eq!(tail.bytes(), b"rest");
        assert!(buf.is_empty());
        tail.clear();
        assert!(tail.is_empty());
    }
}
