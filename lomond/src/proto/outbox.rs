//! [`Outbox`]: small data frames encoded away from the connection, handed
//! to it in one piece.
//!
//! A driver whose connection sits behind a lock (the tokio sink shares it
//! with every `AsyncSender`) would otherwise take the lock, or queue the
//! message for a later one, for each message it is fed. An outbox encodes
//! each frame the moment it is fed, straight from the caller's bytes, with
//! mask keys the connection lent it, 16 at a time
//! ([`Connection::refill_outbox`] lends more and leaves the frames here);
//! [`Connection::send_outbox`] then checks once that the connection may
//! send and takes every frame: the outbox's buffer itself when nothing is
//! queued before it, else with one copy.
//! It only takes what the connection would send the same way: uncompressed
//! data messages (below the compression threshold, or with no compression
//! agreed), each one whole frame.
//!
//! [`Connection::send_outbox`]: super::Connection::send_outbox
//! [`Connection::refill_outbox`]: super::Connection::refill_outbox

use super::frame::{encode_frame, FrameHeader, OpCode};

/// How many frames an outbox holds: one mask key for each.
pub const OUTBOX_FRAMES: usize = 16;

/// Frames encoded ahead of the connection (see the module docs).
pub struct Outbox {
    /// The encoded frames, in order.
    frames: Vec<u8>,
    count: usize,
    /// Mask keys lent by the connection, 4 bytes each; `keys_used` taken.
    keys: [u8; OUTBOX_FRAMES * 4],
    keys_used: usize,
    /// Payloads shorter than this are taken (0: none). The connection sets
    /// it to what it sends uncompressed, at most `max_payload + 1`.
    below: usize,
    /// The most a driver lets one message carry here.
    max_payload: usize,
}

impl Outbox {
    /// An empty outbox for payloads of up to `max_payload` bytes. It takes
    /// nothing until the connection lends it keys
    /// ([`Connection::send_outbox`](super::Connection::send_outbox) does).
    pub fn new(max_payload: usize) -> Outbox {
        Outbox {
            frames: Vec::new(),
            count: 0,
            keys: [0; OUTBOX_FRAMES * 4],
            keys_used: OUTBOX_FRAMES,
            below: 0,
            max_payload,
        }
    }

    /// Encodes a whole data message as one masked frame, if the outbox can
    /// take it: `opcode` is Text or Binary (text already valid UTF-8), the
    /// payload is small enough to go uncompressed, and a key is left.
    /// Returns false, taking nothing, otherwise: send the outbox and the
    /// message through the connection instead.
    #[inline]
    pub fn push(&mut self, opcode: OpCode, payload: &[u8]) -> bool {
        // Control frames go through the connection, which checks them.
        let data = matches!(opcode, OpCode::Text | OpCode::Binary);
        if !data || payload.len() >= self.below || self.keys_used == OUTBOX_FRAMES {
            return false;
        }
        let k = self.keys_used * 4;
        let key = [
            self.keys[k],
            self.keys[k + 1],
            self.keys[k + 2],
            self.keys[k + 3],
        ];
        self.keys_used += 1;
        let header = FrameHeader::new(opcode, Some(key), payload.len() as u64);
        encode_frame(&mut self.frames, &header, payload);
        self.count += 1;
        true
    }

    /// How many frames wait in the outbox.
    pub fn len(&self) -> usize {
        self.count
    }

    /// How many bytes the waiting frames take.
    pub(crate) fn bytes_len(&self) -> usize {
        self.frames.len()
    }

    /// Whether no frame waits.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether every key lent is used: the outbox takes no more frames
    /// until the connection lends it more, with
    /// [`Connection::send_outbox`] or, keeping the frames here,
    /// [`Connection::refill_outbox`].
    ///
    /// [`Connection::send_outbox`]: super::Connection::send_outbox
    /// [`Connection::refill_outbox`]: super::Connection::refill_outbox
    pub fn needs_keys(&self) -> bool {
        self.keys_used == OUTBOX_FRAMES
    }

    /// Frees the frame buffer if no frame waits in it (for a driver whose
    /// connection has gone quiet).
    pub fn shrink_idle(&mut self) {
        if self.count == 0 && self.frames.capacity() > 0 {
            self.frames = Vec::new();
        }
    }

    /// The memory the frame buffer holds, for tests of when it is freed.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.frames.capacity()
    }

    /// The encoded frames, for the connection to append; leaves the outbox
    /// empty. Into an empty `out` the buffers trade places instead, so a
    /// batch of any size reaches the connection without a copy.
    pub(crate) fn drain_into(&mut self, out: &mut Vec<u8>) {
        if out.is_empty() {
            self.swap_frames(out);
        } else {
            out.extend_from_slice(&self.frames);
            self.clear();
        }
    }

    /// Trades the encoded frames for `buf`'s buffer, emptied: for a driver
    /// that keeps frames the socket did not take at once, without copying
    /// them. Leaves the outbox empty.
    pub fn swap_frames(&mut self, buf: &mut Vec<u8>) {
        std::mem::swap(&mut self.frames, buf);
        self.clear();
    }

    /// The encoded frames, in order, for a driver that writes them itself
    /// (see [`Connection::send_outbox_unqueued`]).
    ///
    /// [`Connection::send_outbox_unqueued`]: super::Connection::send_outbox_unqueued
    pub fn frames(&self) -> &[u8] {
        &self.frames
    }

    /// Empties the outbox, keeping its buffer: once its frames are written
    /// (by a driver, see [`frames`](Self::frames)), or when they are
    /// dropped because the connection could not take them.
    pub fn clear(&mut self) {
        self.frames.clear();
        self.count = 0;
    }

    /// Replaces the keys used with fresh ones from `keys` once half or more
    /// are used (unused ones stay, in order, so keys are used in the order
    /// the source yields them), and sets what the outbox may take: payloads
    /// shorter than `uncompressed_below` (and at most `max_payload`); 0
    /// takes none. Drawing at every commit made a message at a time (a
    /// request and its answer) call the entropy source once per message.
    pub(crate) fn refill(&mut self, keys: impl FnOnce(&mut [u8]), uncompressed_below: usize) {
        if self.keys_used * 2 >= OUTBOX_FRAMES {
            let used = self.keys_used * 4;
            self.keys.copy_within(used.., 0);
            let kept = self.keys.len() - used;
            keys(&mut self.keys[kept..]);
            self.keys_used = 0;
        }
        self.below = uncompressed_below.min(self.max_payload.saturating_add(1));
    }
}

impl std::fmt::Debug for Outbox {
    /// The frame count and size, never the mask keys waiting to be used.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("frames", &self.count)
            .field("bytes", &self.frames.len())
            .finish()
    }
}
