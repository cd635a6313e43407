//! Output: messages and control frames queued as masked frames, the
//! write limit, and the bytes handed to the driver.

use super::*;

impl Connection {
    // --------------------------------------------------------------- output

    /// Queues a text message, compressed when permessage-deflate is in
    /// force and the message reaches the compression threshold.
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.send_data(OpCode::Text, text.as_bytes(), true)
    }

    /// Queues a binary message, compressed as [`send_text`](Self::send_text) says.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send_data(OpCode::Binary, data, true)
    }

    /// Queues a text message; `compress: false` sends it uncompressed even
    /// when compression is in force (e.g. for data already compressed).
    pub fn send_text_with(&mut self, text: &str, compress: bool) -> Result<(), SendError> {
        self.send_data(OpCode::Text, text.as_bytes(), compress)
    }

    /// Queues a binary message, with the choice of
    /// [`send_text_with`](Self::send_text_with).
    pub fn send_binary_with(&mut self, data: &[u8], compress: bool) -> Result<(), SendError> {
        self.send_data(OpCode::Binary, data, compress)
    }

    pub(super) fn send_data(
        &mut self,
        opcode: OpCode,
        payload: &[u8],
        compress: bool,
    ) -> Result<(), SendError> {
        self.check_can_queue(payload.len())?;
        match &mut self.deflater {
            Some(deflater) if compress && deflater.wants(payload.len()) => {
                let mut scratch = std::mem::take(&mut self.scratch);
                scratch.clear();
                if deflater.compress(payload, &mut scratch) {
                    self.queue_frame_rsv1(opcode, &scratch, true);
                } else {
                    self.queue_frame(opcode, payload);
                }
                self.scratch = scratch;
            }
            _ => self.queue_frame(opcode, payload),
        }
        Ok(())
    }

    /// Appends the frames waiting in `outbox` to the output, after what is
    /// queued, and lends it mask keys for its next frames. All or none: if
    /// the connection may not send, or the frames would pass the write
    /// limit, they are dropped and the error says why (as
    /// [`send_binary`](Self::send_binary) would have for the first).
    #[doc(hidden)]
    pub fn send_outbox(&mut self, outbox: &mut Outbox) -> Result<(), SendError> {
        let mut result = Ok(());
        if !outbox.is_empty() {
            result = self.check_can_queue(outbox.bytes_len());
            match result {
                Ok(()) => {
                    self.reuse_sent_output();
                    outbox.drain_into(&mut self.output);
                }
                Err(_) => outbox.clear(),
            }
        }
        self.lend_outbox_keys(outbox);
        result
    }

    /// As [`send_outbox`](Self::send_outbox), for a driver that writes the
    /// frames itself, straight from the outbox, when nothing is queued
    /// before them: sparing the copy into the output and the taking of it
    /// back. Returns `Ok(true)` when the frames may be written now, in
    /// order, before anything queued after this call; the driver then
    /// empties the outbox ([`Outbox::clear`]) and keeps what the socket
    /// does not take at once, writing it before the next output.
    /// `Ok(false)`, taking nothing, when output is pending: send the
    /// outbox with [`send_outbox`](Self::send_outbox), which keeps the
    /// order. An error drops the frames, as `send_outbox` does.
    #[doc(hidden)]
    pub fn send_outbox_unqueued(&mut self, outbox: &mut Outbox) -> Result<bool, SendError> {
        if self.pending_output() > 0 {
            return Ok(false);
        }
        self.refill_outbox(outbox).map(|()| true)
    }

    /// Lends `outbox` fresh mask keys and leaves its frames in it, for a
    /// driver that gathers more than one batch before sending them (with
    /// [`send_outbox`](Self::send_outbox) or
    /// [`send_outbox_unqueued`](Self::send_outbox_unqueued)): each batch
    /// handed over was a copy of its bytes into the output. Checks, as
    /// those do, that the connection may queue the frames so far; an error
    /// drops them.
    #[doc(hidden)]
    pub fn refill_outbox(&mut self, outbox: &mut Outbox) -> Result<(), SendError> {
        let result = self.check_can_queue(outbox.bytes_len());
        if result.is_err() {
            outbox.clear();
        }
        self.lend_outbox_keys(outbox);
        result
    }

    /// Lends `outbox` mask keys for its next frames, and says what it may
    /// take: only a client masks, and only an open connection takes frames.
    fn lend_outbox_keys(&mut self, outbox: &mut Outbox) {
        let below = match (&self.role, self.check_can_send(), &self.deflater) {
            (Role::Client { .. }, Ok(()), None) => usize::MAX,
            (Role::Client { .. }, Ok(()), Some(deflater)) => deflater.uncompressed_below(),
            _ => 0,
        };
        let entropy = &mut *self.entropy;
        outbox.refill(|keys| entropy.fill(keys), below);
    }

    /// Queues a ping with up to 125 bytes of payload.
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.send_control(OpCode::Ping, payload)
    }

    /// Queues an unsolicited pong (or a manual answer when `auto_pong` is off).
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.send_control(OpCode::Pong, payload)
    }

    pub(super) fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlPayloadTooLong);
        }
        self.check_can_send()?;
        self.queue_frame(opcode, payload);
        Ok(())
    }

    /// Starts the close handshake with `code` and `reason` (at most 123
    /// bytes). Calling it again once a Close was sent does nothing.
    pub fn close(&mut self, code: u16, reason: &str, now: Instant) -> Result<(), SendError> {
        let payload = close::encode_payload(Some(code), reason)?;
        if self.close_sent {
            return Ok(());
        }
        self.check_can_send()?;
        self.queue_frame(OpCode::Close, &payload);
        self.close_sent = true;
        self.timers.close = self.config.close_timeout.map(|t| now + t);
        Ok(())
    }

    /// Whether data may be sent now, and if not, why: `NotReady` until the
    /// handshake completes (a sender waiting for readiness waits on that
    /// alone), then `Closing` or `Closed` for good.
    pub fn check_can_send(&self) -> Result<(), SendError> {
        match self.phase {
            Phase::Handshake | Phase::RejectBody { .. } => Err(SendError::NotReady),
            Phase::Open if !self.close_sent => Ok(()),
            Phase::Open | Phase::Draining { .. } => Err(SendError::Closing),
            Phase::Done => Err(SendError::Closed),
        }
    }

    /// Whether a message of `more` bytes may be queued: the connection is
    /// open for sending, and the write limit leaves room for it.
    #[inline]
    pub(super) fn check_can_queue(&self, more: usize) -> Result<(), SendError> {
        self.check_can_send()?;
        if self.write_buffer_full(more) {
            return Err(SendError::WriteBufferFull {
                limit: self.config.max_write_buffer,
            });
        }
        Ok(())
    }

    /// Once every output byte is written, the buffer starts over from its
    /// front instead of growing.
    #[inline]
    pub(super) fn reuse_sent_output(&mut self) {
        if self.output_pos == self.output.len() {
            self.output.clear();
            self.output_pos = 0;
        }
    }

    pub(super) fn pending_output(&self) -> usize {
        self.output.len() - self.output_pos
    }

    /// Whether adding `more` bytes would pass the write limit. A single
    /// message larger than the limit may still go out on an idle connection.
    pub(super) fn write_buffer_full(&self, more: usize) -> bool {
        let pending = self.pending_output();
        pending > 0 && pending.saturating_add(more) > self.config.max_write_buffer
    }

    pub(super) fn queue_frame(&mut self, opcode: OpCode, payload: &[u8]) {
        self.queue_frame_rsv1(opcode, payload, false)
    }

    pub(super) fn queue_frame_rsv1(&mut self, opcode: OpCode, payload: &[u8], rsv1: bool) {
        self.reuse_sent_output();
        let mask = match self.role {
            Role::Client { .. } => Some(self.mask_keys.next(&mut *self.entropy)),
            Role::Server { .. } => None,
        };
        let mut header = FrameHeader::new(opcode, mask, payload.len() as u64);
        header.rsv1 = rsv1;
        frame::encode_frame(&mut self.output, &header, payload);
    }

    /// Bytes waiting to be written to the network (empty when none).
    pub fn poll_transmit(&self) -> &[u8] {
        &self.output[self.output_pos..]
    }

    /// Marks `n` bytes of [`poll_transmit`](Self::poll_transmit) as written.
    pub fn consume_transmit(&mut self, n: usize) {
        self.output_pos = (self.output_pos + n).min(self.output.len());
        self.reuse_sent_output();
    }

    /// Moves every pending output byte into `buf` (cleared first), swapping
    /// buffers when possible so neither side allocates in steady state.
    /// With nothing pending, capacity only comes back to the core: handing
    /// the core's to a writer that frees its empty buffer made the next
    /// send allocate again (one allocation and one free per round trip, by
    /// callgrind).
    pub fn take_transmit(&mut self, buf: &mut Vec<u8>) {
        buf.clear();
        if self.output_pos == self.output.len() {
            self.output.clear();
            self.output_pos = 0;
            if buf.capacity() > self.output.capacity() {
                std::mem::swap(&mut self.output, buf);
            }
        } else if self.output_pos == 0 {
            std::mem::swap(&mut self.output, buf);
        } else {
            buf.extend_from_slice(&self.output[self.output_pos..]);
            self.output.clear();
            self.output_pos = 0;
        }
    }

    /// As [`take_transmit`](Self::take_transmit), for a writer that knows
    /// more output is coming: when more than `unit` bytes are pending, only
    /// a multiple of `unit` is taken, and the tail stays queued for the
    /// next write. With `unit` the connection's TCP segment size, each
    /// write then goes out as whole segments, without a short one after
    /// it (see `transport::segment`). All is taken when `unit` is 0. The
    /// tail is less than half of what was pending, so memory stays bound.
    pub fn take_transmit_whole(&mut self, buf: &mut Vec<u8>, unit: usize) {
        let pending = self.pending_output();
        let tail = pending - whole_units(pending, unit, 0);
        self.take_transmit(buf);
        if tail > 0 {
            // `take_transmit` left the output empty: the tail goes back
            // alone, so it is the only byte copy made here.
            self.output.extend_from_slice(&buf[pending - tail..]);
            buf.truncate(pending - tail);
        }
    }
}

/// How many of `total` waiting bytes to write now, for a writer that knows
/// more output is coming: all of them when `unit` is 0 (no unit) or no
/// more than one unit waits, else only whole units, so that each write
/// goes out as whole TCP segments (see `transport::segment`); never fewer
/// than `first`, bytes that must go before the rest (a tail a writer kept
/// from its last write, which a shrunken unit may no longer cover). What is
/// left is less than a unit.
#[inline]
pub(crate) fn whole_units(total: usize, unit: usize, first: usize) -> usize {
    match unit {
        0 => total,
        _ if total <= unit => total,
        _ => (total - total % unit).max(first),
    }
}
