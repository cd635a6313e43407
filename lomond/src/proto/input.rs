//! [`InputBuffer`]: received bytes waiting to be decoded, and room to read
//! more straight into.
//!
//! A driver that reads into this buffer saves the copy that
//! [`Connection::handle_input`](super::Connection::handle_input) makes, and
//! a large frame's payload lands where it will be handed to the
//! application. A reader that can write into uninitialized memory (a
//! socket's `recv`, tokio's `AsyncRead`) uses the spare capacity as it is
//! ([`InputBuffer::uninit_room`]); for a plain `Read`, which needs
//! initialized memory in safe Rust, [`InputBuffer::room`] is zeroed when it
//! is made and then reused across reads until it is filled: each byte of
//! buffer is zeroed once, not once per read. Even that zeroing shows in
//! the blocking client's receive profile (docs/bench.md, "Figures behind
//! the code's choices"), which is why it reads with `recv` into
//! uninitialized room.
//!
//! The room adapts to the traffic (as hyper's read buffer does): it doubles
//! while reads fill it, up to 256 KiB, and halves while they use little of
//! it, so a busy connection makes few syscalls and a quiet one holds little.

use bytes::{Buf, BytesMut};
use std::mem::MaybeUninit;

/// The least room offered for a read.
const MIN_ROOM: usize = 8 << 10;

/// The most room offered for a read (and zeroed at once): small enough to
/// still be in cache when the kernel copies into it, large enough for few
/// reads per big message.
const MAX_ROOM: usize = 256 << 10;

/// Received bytes (`buf[start..filled]`, after `start` bytes already
/// consumed) followed by zeroed room for the next read (`buf[filled..]`).
pub struct InputBuffer {
    buf: BytesMut,
    /// Consumed bytes still at the front of `buf`: dropped from it once,
    /// before the next read, rather than at each message (`BytesMut`'s
    /// `advance` was 23 to 35 instructions a small message, by callgrind).
    start: usize,
    filled: usize,
    /// How much room to offer: adapted to how much reads bring.
    want: usize,
    /// How much room the last read was offered.
    offered: usize,
    /// Bytes from the front that must fit without moving: a large frame
    /// being read into place.
    pinned: usize,
}

impl Default for InputBuffer {
    fn default() -> InputBuffer {
        InputBuffer {
            buf: BytesMut::new(),
            start: 0,
            filled: 0,
            want: MIN_ROOM,
            offered: 0,
            pinned: 0,
        }
    }
}

impl InputBuffer {
    /// An empty buffer that holds no memory.
    pub fn new() -> InputBuffer {
        InputBuffer::default()
    }

    /// Adapts the room to a read that brought `n` bytes into the room
    /// last offered (nothing to adapt when none was).
    fn adapt(&mut self, n: usize) {
        if self.offered == 0 {
            return;
        }
        if n >= self.offered {
            self.want = (self.want * 2).min(MAX_ROOM);
        } else if n < self.want / 4 {
            self.want = (self.want / 2).max(MIN_ROOM);
        }
        self.offered = 0;
    }

    /// Drops the consumed bytes from the front of `buf`: before anything
    /// that reads into it, reserves in it or splits it.
    #[inline]
    fn compact(&mut self) {
        if self.start > 0 {
            self.drop_consumed();
        }
    }

    #[inline(never)]
    fn drop_consumed(&mut self) {
        self.buf.advance(self.start);
        self.filled -= self.start;
        self.start = 0;
    }

    /// Whether the buffer must grow before a read: its spare capacity is
    /// under half the wanted room (under all of it when the buffer is
    /// empty, when growing moves nothing), and no frame is being read
    /// into place (that buffer must not move; its last reads may be small).
    fn must_grow(&self) -> bool {
        let pinned = self.pinned > self.filled;
        let least = if self.filled == 0 {
            self.want
        } else {
            self.want / 2
        };
        !pinned && self.buf.capacity() - self.filled < least
    }

    /// The received bytes not yet consumed.
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..self.filled]
    }

    #[inline]
    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.filled]
    }

    /// How many received bytes are waiting.
    #[inline]
    pub fn len(&self) -> usize {
        self.filled - self.start
    }

    /// Whether no received bytes are waiting.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.filled == self.start
    }

    /// Room to read into: zeroed, reused until filled, at least 4 KiB (or
    /// the rest of a frame being read into place).
    /// Call [`filled`](Self::filled) with the number of bytes read.
    pub fn room(&mut self) -> &mut [u8] {
        self.compact();
        if self.buf.len() - self.filled < self.want / 2 {
            if self.must_grow() {
                self.buf.truncate(self.filled);
                // May move the waiting bytes to the front of a buffer the
                // application no longer shares, instead of allocating.
                self.buf.reserve(self.want.max(self.filled));
            }
            // Zeroes only the bytes not yet in the room.
            let end = self.buf.capacity().min(self.filled + self.want);
            if end > self.buf.len() {
                self.buf.resize(end, 0);
            }
        }
        self.offered = self.buf.len() - self.filled;
        &mut self.buf[self.filled..]
    }

    /// `n` bytes were read into the front of [`room`](Self::room).
    ///
    /// # Panics
    /// If `n` is more than the room there is.
    pub fn filled(&mut self, n: usize) {
        assert!(n <= self.buf.len() - self.filled, "filled past the room");
        self.filled += n;
        self.adapt(n);
    }

    /// Appends a copy of `data`.
    pub fn extend_from_slice(&mut self, data: &[u8]) {
        self.compact();
        self.buf.truncate(self.filled);
        self.buf.extend_from_slice(data);
        self.filled = self.buf.len();
    }

    /// The buffer as a `BytesMut` whose length is the waiting bytes, for a
    /// reader that appends into its spare capacity (at least 4 KiB, or the
    /// rest of a frame being read into place); then [`sync`](Self::sync)
    /// must be called.
    pub(crate) fn spare_capacity(&mut self) -> &mut BytesMut {
        self.compact();
        self.buf.truncate(self.filled);
        if self.must_grow() {
            self.buf.reserve(self.want);
        }
        self.offered = self.buf.capacity() - self.filled;
        &mut self.buf
    }

    /// Room to read into without zeroing it first: the buffer's spare
    /// capacity (at least 4 KiB, or the rest of a frame being read into
    /// place). Call [`assume_filled`](Self::assume_filled) with the number
    /// of bytes the read wrote.
    pub fn uninit_room(&mut self) -> &mut [MaybeUninit<u8>] {
        self.spare_capacity().spare_capacity_mut()
    }

    /// `n` bytes were written to the front of
    /// [`uninit_room`](Self::uninit_room).
    ///
    /// # Safety
    /// The first `n` bytes of the room last handed out by `uninit_room` must
    /// have been initialized since.
    ///
    /// # Panics
    /// If `n` is more than the room there is.
    #[allow(unsafe_code)]
    #[doc(hidden)]
    pub unsafe fn assume_filled(&mut self, n: usize) {
        assert!(
            n <= self.buf.capacity() - self.buf.len(),
            "filled past the room"
        );
        // SAFETY: `buf.len()..buf.len() + n` is within the capacity (checked
        // above) and initialized (the caller's promise).
        unsafe { self.buf.set_len(self.buf.len() + n) };
        self.sync();
    }

    /// Takes in what was appended to [`spare_capacity`](Self::spare_capacity).
    pub(crate) fn sync(&mut self) {
        let n = self.buf.len() - self.filled;
        self.filled = self.buf.len();
        self.adapt(n);
    }

    /// Makes sure `total` received bytes fit without moving: called when a
    /// large frame starts arriving, so that it is read into place. Room for
    /// a read's worth more is reserved with it, so that reads carry on past
    /// the frame's end instead of stopping there (one syscall per frame),
    /// and the next frames need no new buffer.
    pub(crate) fn reserve_total(&mut self, total: usize) {
        self.compact();
        if self.buf.capacity() < total {
            self.buf.truncate(self.filled);
            self.buf.reserve(total - self.filled + self.want);
        }
        self.pinned = total;
    }

    /// Consumes `n` waiting bytes from the front: they stay in the buffer,
    /// counted by `start`, until the next read, reservation or split drops
    /// them all at once (see `compact`). When they are all the buffer
    /// holds (a read consumed whole, as a round trip's is), it is emptied
    /// in place: the next read lands at the same front.
    #[inline]
    pub(crate) fn advance(&mut self, n: usize) {
        assert!(n <= self.len(), "advanced past the data");
        if self.start + n == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            self.filled = 0;
        } else {
            self.start += n;
        }
        self.pinned = self.pinned.saturating_sub(n);
    }

    /// The first `head + len` waiting bytes (a frame), without copying,
    /// as `Bytes` of the last `len` (its payload): the bytes consumed
    /// before the frame are split off with it, and those and its header
    /// skipped in the `Bytes` at once, a pointer bump.
    #[inline(always)]
    pub(crate) fn split_frame(&mut self, head: usize, len: usize) -> bytes::Bytes {
        let n = head + len;
        assert!(n <= self.len(), "split past the data");
        let end = self.start + n;
        let mut frame = self.buf.split_to(end).freeze();
        frame.advance(self.start + head);
        self.filled -= end;
        self.start = 0;
        self.pinned = self.pinned.saturating_sub(n);
        frame
    }

    /// The bytes of memory the buffer holds.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Frees the memory of an empty buffer (an idle connection should hold
    /// none), remembering how much room reads have been bringing.
    pub(crate) fn release(&mut self) {
        if self.is_empty() {
            self.buf = BytesMut::new();
            self.start = 0;
            self.filled = 0;
            self.pinned = 0;
            self.offered = 0;
        }
    }
}

impl std::fmt::Debug for InputBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputBuffer")
            .field("waiting", &self.len())
            .field("room", &(self.buf.len() - self.filled))
            .field("want", &self.want)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `chunks` through `room`/`filled` (or, with `uninit`, through
    /// `uninit_room`/`assume_filled`, alternating with `room`), consuming
    /// `take` bytes after each, and checks the waiting bytes against a
    /// plain Vec model.
    fn run(chunks: &[Vec<u8>], take: usize, uninit: bool) {
        let mut input = InputBuffer::new();
        let mut model: Vec<u8> = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            let n = if uninit && i % 3 != 0 {
                let room = input.uninit_room();
                assert!(room.len() >= MIN_ROOM / 2);
                let n = chunk.len().min(room.len());
                for (dst, &src) in room.iter_mut().zip(&chunk[..n]) {
                    dst.write(src);
                }
                // SAFETY: the loop above initialized the first `n` bytes.
                #[allow(unsafe_code)]
                unsafe {
                    input.assume_filled(n)
                };
                n
            } else {
                let room = input.room();
                assert!(room.len() >= MIN_ROOM / 2);
                let n = chunk.len().min(room.len());
                room[..n].copy_from_slice(&chunk[..n]);
                input.filled(n);
                n
            };
            model.extend_from_slice(&chunk[..n]);
            assert_eq!(input.data(), &model[..]);
            // Consumed by turns as the decoder does: a small message
            // advanced past, then a large one split off (after the bytes
            // advanced past, which stay in the buffer until then).
            let t = take.min(model.len());
            let small = (t / 3).min(39);
            input.advance(small);
            model.drain(..small);
            assert_eq!(input.data(), &model[..]);
            let t = t - small;
            let front = input.split_frame(0, t);
            assert_eq!(&front[..], &model[..t]);
            model.drain(..t);
            assert_eq!(input.data(), &model[..]);
            assert_eq!(input.len(), model.len());
        }
    }

    #[test]
    fn room_and_uninit_room_reads_match_a_plain_buffer() {
        let chunks: Vec<Vec<u8>> = (0..200u32)
            .map(|i| (0..(i * 977 % 20_000)).map(|b| (b ^ i) as u8).collect())
            .collect();
        for take in [0, 1, 100, 4096, 70_000] {
            run(&chunks, take, false);
            run(&chunks, take, true);
        }
    }

    #[test]
    fn room_is_at_least_the_minimum_and_reused() {
        let mut input = InputBuffer::new();
        assert!(input.room().len() >= MIN_ROOM);
        input.room()[..3].copy_from_slice(b"abc");
        input.filled(3);
        let before = input.room().as_ptr();
        input.room()[..2].copy_from_slice(b"de");
        input.filled(2);
        assert_eq!(input.data(), b"abcde");
        // The second read went just after the first, in the same room.
        assert_eq!(input.room().as_ptr(), before.wrapping_add(2));
    }

    #[test]
    fn copies_and_spare_capacity_reads_mix_with_room_reads() {
        let mut input = InputBuffer::new();
        input.room()[..2].copy_from_slice(b"ab");
        input.filled(2);
        input.extend_from_slice(b"cd");
        input.spare_capacity().extend_from_slice(b"ef");
        input.sync();
        input.room()[..1].copy_from_slice(b"g");
        input.filled(1);
        assert_eq!(input.data(), b"abcdefg");
        input.advance(3);
        assert_eq!(input.data(), b"defg");
    }

    #[test]
    fn a_reserved_frame_is_read_into_place() {
        let mut input = InputBuffer::new();
        input.extend_from_slice(&[7; 10]);
        input.reserve_total(1 << 20);
        let start = input.data().as_ptr();
        let mut total = 10;
        while total < 1 << 20 {
            let room = input.room();
            let n = room.len().min((1 << 20) - total);
            room[..n].fill(9);
            input.filled(n);
            total += n;
        }
        assert_eq!(input.data().as_ptr(), start, "no reallocation");
        let frame = input.split_frame(0, 1 << 20);
        assert_eq!(&frame[..10], &[7; 10]);
        assert!(frame[10..].iter().all(|&b| b == 9));

        // The same through spare capacity, in reads of 100,000 bytes.
        input.extend_from_slice(&[7; 10]);
        input.reserve_total(1 << 20);
        let start = input.data().as_ptr();
        let mut total = 10;
        while total < 1 << 20 {
            let buf = input.spare_capacity();
            let n = (buf.capacity() - buf.len())
                .min((1 << 20) - total)
                .min(100_000);
            buf.extend_from_slice(&vec![9; n]);
            input.sync();
            total += n;
        }
        assert_eq!(input.data().as_ptr(), start, "no reallocation");
        assert_eq!(input.split_frame(0, 1 << 20).len(), 1 << 20);
    }

    #[test]
    fn room_grows_while_reads_fill_it_and_shrinks_when_they_do_not() {
        let mut input = InputBuffer::new();
        let mut offered = Vec::new();
        for _ in 0..8 {
            let n = input.room().len();
            offered.push(n);
            input.filled(n);
            input.advance(n);
        }
        assert_eq!(offered[0], MIN_ROOM);
        assert!(
            offered[..6].windows(2).all(|w| w[1] == 2 * w[0]),
            "{offered:?}"
        );
        assert!(offered.contains(&MAX_ROOM), "{offered:?}");
        assert!(offered.iter().all(|&n| n <= MAX_ROOM));
        for _ in 0..8 {
            input.room();
            input.filled(10);
            input.advance(10);
        }
        assert_eq!(input.want, MIN_ROOM);
        // The same through spare capacity.
        for _ in 0..8 {
            let buf = input.spare_capacity();
            let n = buf.capacity() - buf.len();
            buf.extend_from_slice(&vec![1; n]);
            input.sync();
            input.advance(n);
        }
        assert_eq!(input.want, MAX_ROOM);
    }

    #[test]
    #[should_panic(expected = "filled past the room")]
    fn filling_past_the_room_panics() {
        let mut input = InputBuffer::new();
        let n = input.room().len();
        input.filled(n + 1);
    }
}
