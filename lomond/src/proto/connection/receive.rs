//! Input: bytes from the network decoded into events, frame by frame
//! (and the fast path for whole small messages), and how the connection
//! ends when input ends or fails.

use super::*;

impl Connection {
    // ----------------------------------------------------------------- input

    /// Feeds bytes read from the network.
    ///
    /// Frame decoding is lazy: it runs as [`poll_event`](Self::poll_event)
    /// is called, one event at a time. So every message that
    /// arrived whole before a protocol error is delivered (and can be
    /// answered) before the connection fails, and no more is decoded than
    /// the application has asked for.
    pub fn handle_input(&mut self, data: &[u8], now: Instant) {
        if !matches!(self.phase, Phase::Draining { .. } | Phase::Done) {
            self.input.extend_from_slice(data);
        }
        self.input_arrived(now);
    }

    /// The input buffer as a `BytesMut` with spare capacity sized to the
    /// traffic (see [`InputBuffer`]), for a driver that reads straight into
    /// that (saving the copy [`handle_input`](Self::handle_input) makes).
    /// The driver may only append to it, then must call
    /// [`input_written`](Self::input_written).
    pub fn input_buffer(&mut self) -> &mut BytesMut {
        self.input.spare_capacity()
    }

    /// Bytes were appended to [`input_buffer`](Self::input_buffer).
    pub fn input_written(&mut self, now: Instant) {
        self.input.sync();
        self.input_arrived(now);
    }

    /// Lends the input buffer to a driver that reads into its
    /// [`room`](InputBuffer::room) or [`uninit_room`](InputBuffer::uninit_room)
    /// without holding the connection (so that other threads can send
    /// meanwhile). Give it back with [`return_input`](Self::return_input);
    /// until then there is nothing to decode.
    pub fn lend_input(&mut self) -> InputBuffer {
        std::mem::take(&mut self.input)
    }

    /// Takes back the input buffer lent by [`lend_input`](Self::lend_input),
    /// into which the driver read `read` bytes (0 when the read failed or
    /// timed out) and recorded them with [`filled`](InputBuffer::filled) or
    /// [`assume_filled`](InputBuffer::assume_filled).
    pub fn return_input(&mut self, input: InputBuffer, read: usize, now: Instant) {
        if matches!(self.phase, Phase::Draining { .. } | Phase::Done) {
            // The connection stopped reading meanwhile.
            self.input = InputBuffer::new();
        } else {
            self.input = input;
        }
        if read > 0 {
            self.input_arrived(now);
        }
    }

    pub(super) fn input_arrived(&mut self, now: Instant) {
        self.now = now;
        self.busy = true;
        match self.phase {
            Phase::Draining { .. } | Phase::Done => self.input = InputBuffer::new(),
            Phase::Open => {
                if let Some(t) = self.config.ping_timeout {
                    self.timers.unresponsive = Some(now + t);
                }
            }
            // The handshake is settled as soon as its bytes are here, so
            // that sends work right after the 101 is fed in; frames are
            // decoded as events are polled.
            Phase::Handshake | Phase::RejectBody { .. } => {
                if let Some(event) = self.process() {
                    self.events.push_back(event);
                }
            }
        }
    }

    /// The driver has read all there is and is about to wait for more.
    /// A connection with traffic keeps its buffers, for the next read and
    /// the next send: freeing them at each wait and making them again after
    /// it cost the tokio echo round trip a tenth of its instructions
    /// (docs/bench.md, "Figures behind the code's choices"). Whether there
    /// was traffic is looked at once per [`BUFFER_LINGER`], at a deadline,
    /// not at each wait (a task may wait several times per message). A
    /// connection that has had no input for that long frees them
    /// ([`shrink_idle_buffers`](Self::shrink_idle_buffers)) and this returns
    /// `true`, for the driver to free its own too: an idle connection costs
    /// only its state, and buffers outlive the traffic by one to two
    /// lingers.
    pub fn waiting(&mut self) -> bool {
        if self.timers.linger.is_some() {
            return false;
        }
        if std::mem::take(&mut self.busy) && matches!(self.phase, Phase::Open) {
            self.timers.linger = Some(self.now + BUFFER_LINGER);
            return false;
        }
        self.shrink_idle_buffers();
        true
    }

    /// The memory the connection's buffers hold, for tests of when they
    /// are freed.
    #[cfg(test)]
    pub(crate) fn buffer_capacity(&self) -> usize {
        self.input.capacity() + self.output.capacity() + self.scratch.capacity()
    }

    /// Frees buffers that hold nothing, so an idle connection costs only its
    /// state. [`waiting`](Self::waiting) calls it once the connection has
    /// gone quiet; call it directly to free them at once.
    pub fn shrink_idle_buffers(&mut self) {
        self.input.release();
        if self.pending_output() == 0 && self.output.capacity() > 0 {
            self.output = Vec::new();
            self.output_pos = 0;
        }
        if self.events.is_empty() && self.events.capacity() > 0 {
            self.events = VecDeque::new();
        }
        if self.scratch.capacity() > 0 {
            self.scratch = Vec::new();
        }
    }

    /// The network said end-of-stream. Takes effect once the input before
    /// it has been decoded.
    pub fn handle_eof(&mut self, now: Instant) {
        self.now = now;
        self.eof = true;
        if self.events.is_empty() {
            if let Some(event) = self.process() {
                self.events.push_back(event);
            } else if self.events.is_empty() {
                self.eof = false;
                self.apply_eof();
            }
        }
    }

    pub(super) fn apply_eof(&mut self) {
        match std::mem::replace(&mut self.phase, Phase::Handshake) {
            Phase::Done => self.phase = Phase::Done,
            Phase::RejectBody {
                error,
                response,
                body,
                ..
            } => self.finish_reject(error, response, body),
            Phase::Draining { reason } => self.disconnect(reason),
            Phase::Handshake | Phase::Open => self.disconnect(DisconnectReason::ConnectionLost),
        }
    }

    /// The application dropped the connection, as both drivers handle it:
    /// a Close (1001, going away) is queued when the connection is open,
    /// then it ends as [`abandon`](Self::abandon) ends it. Returns whether a
    /// Close was queued, to be written before the socket closes.
    pub fn go_away(&mut self, now: Instant) -> bool {
        let queued = self.close(1001, "going away", now).is_ok();
        self.abandon();
        queued
    }

    /// The application dropped the connection: it ends now, with
    /// `Disconnected(Dropped)`. Queue a Close first if one should go out.
    pub fn abandon(&mut self) {
        if !matches!(self.phase, Phase::Done) {
            self.disconnect(DisconnectReason::Dropped);
        }
    }

    /// A read or write on the network failed.
    pub fn handle_io_error(&mut self, error: io::Error) {
        if !matches!(self.phase, Phase::Done) {
            self.disconnect(DisconnectReason::Io(Arc::new(error)));
        }
    }

    /// Decodes the buffered input up to the next event. A message, ping or
    /// pong is returned directly (the common case skips the queue); other
    /// events go to the queue.
    pub(super) fn process(&mut self) -> Option<Event> {
        let now = self.now;
        loop {
            match self.phase {
                Phase::Handshake => {
                    if !self.process_handshake(now) {
                        return None;
                    }
                }
                Phase::RejectBody { .. } => {
                    self.process_reject_body();
                    return None;
                }
                Phase::Open => return self.process_frames(now),
                Phase::Draining { .. } | Phase::Done => {
                    self.input = InputBuffer::new();
                    return None;
                }
            }
        }
    }

    pub(super) fn process_frames(&mut self, now: Instant) -> Option<Event> {
        while matches!(self.phase, Phase::Open) && self.events.is_empty() {
            match self.read {
                ReadState::Header => {
                    // A binary message waited for whole: its room is made
                    // here, in the general decoder, so only once the
                    // messages decoded ahead of it are taken, when the
                    // buffer can move what it holds instead of copying it
                    // to a new one (room made while decoding ahead copied
                    // a third of the frames received).
                    if let Some(total) = self.awaited_frame() {
                        self.input.reserve_total(total);
                        return None;
                    }
                    match frame::parse_header(self.input.data()) {
                        Ok(None) => return None,
                        Ok(Some((header, n))) => {
                            if let Err(e) = self.check_header(&header) {
                                return self.fail(e, now);
                            }
                            self.input.advance(n);
                            self.read = ReadState::Payload { header, seen: 0 };
                        }
                        Err(e) => return self.fail(e, now),
                    }
                }
                ReadState::Payload { header, seen } if self.message.frame_is_compressed() => {
                    // Deflate data is inflated as it arrives and not kept:
                    // memory is bounded by the inflated message, not the frame.
                    let len = header.len as usize;
                    let take = self.input.len().min(len - seen);
                    if take > 0 {
                        let chunk = &mut self.input.data_mut()[..take];
                        if let Some(key) = header.mask {
                            mask::apply_mask(chunk, mask::rotate_key(key, seen));
                        }
                        if let Err(e) = self.message.frame_data(chunk) {
                            return self.fail(e, now);
                        }
                        self.input.advance(take);
                    }
                    let seen = seen + take;
                    self.read = ReadState::Payload { header, seen };
                    if seen < len {
                        return None;
                    }
                    self.read = ReadState::Header;
                    match self.handle_frame(header, Bytes::new(), now) {
                        Ok(Some(event)) => return Some(event),
                        Ok(None) => {}
                        Err(e) => return self.fail(e, now),
                    }
                }
                ReadState::Payload { header, seen } => {
                    // check_header bounded the length by max_frame_size.
                    let len = header.len as usize;
                    let available = self.input.len().min(len);
                    if available > seen {
                        let chunk = &mut self.input.data_mut()[seen..available];
                        if let Some(key) = header.mask {
                            mask::apply_mask(chunk, mask::rotate_key(key, seen));
                        }
                        if !header.opcode.is_control() {
                            if let Err(e) = self.message.frame_data(chunk) {
                                return self.fail(e, now);
                            }
                        }
                        self.read = ReadState::Payload {
                            header,
                            seen: available,
                        };
                    }
                    if available < len {
                        // The rest of the frame is read into place.
                        self.input.reserve_total(len);
                        return None;
                    }
                    let payload = self.input.split_frame(0, len);
                    self.read = ReadState::Header;
                    match self.handle_frame(header, payload, now) {
                        Ok(Some(event)) => return Some(event),
                        Ok(None) => {}
                        Err(e) => return self.fail(e, now),
                    }
                }
            }
        }
        None
    }

    /// Checks that depend on this connection: RSV bits, masking direction,
    /// and limits. Runs before any payload is buffered.
    pub(super) fn check_header(&mut self, header: &FrameHeader) -> Result<(), ProtocolError> {
        let rsv = (header.rsv1 as u8) << 2 | (header.rsv2 as u8) << 1 | header.rsv3 as u8;
        // RSV1 means "compressed" once permessage-deflate is agreed, and
        // then only on the first frame of a message (RFC 7692 §6).
        if rsv & 0b011 != 0 || (header.rsv1 && !self.message.inflates()) {
            return Err(ProtocolError::ReservedBits(rsv));
        }
        if header.rsv1 && !matches!(header.opcode, OpCode::Text | OpCode::Binary) {
            return Err(ProtocolError::MisplacedCompressedBit);
        }
        match (&self.role, header.mask) {
            (Role::Client { .. }, Some(_)) => return Err(ProtocolError::MaskedFrame),
            (Role::Server { .. }, None) => return Err(ProtocolError::UnmaskedFrame),
            _ => {}
        }
        if header.len > self.config.max_frame_size as u64 {
            return Err(ProtocolError::FrameTooLarge {
                len: header.len,
                limit: self.config.max_frame_size,
            });
        }
        if !header.opcode.is_control() {
            self.message
                .begin_frame(header, header.rsv1, self.config.max_message_size)?;
        }
        Ok(())
    }

    /// Acts on a whole frame; returns a message, ping or pong event.
    pub(super) fn handle_frame(
        &mut self,
        header: FrameHeader,
        payload: Bytes,
        now: Instant,
    ) -> Result<Option<Event>, ProtocolError> {
        match header.opcode {
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {
                return self.message.end_frame(header.fin, payload);
            }
            OpCode::Ping => {
                if self.config.auto_pong && !self.close_sent && !self.write_buffer_full(0) {
                    self.queue_frame(OpCode::Pong, &payload);
                }
                return Ok(Some(Event::Ping(payload)));
            }
            OpCode::Pong => {
                let rtt = self.pong_rtt(&payload, now);
                return Ok(Some(Event::Pong { data: payload, rtt }));
            }
            OpCode::Close => {
                let (code, reason) = close::parse_payload(payload)?;
                self.close_received = true;
                if !self.close_sent {
                    self.events.push_back(Event::Closing {
                        code,
                        reason: reason.clone(),
                    });
                    // Echo the status code (RFC 6455 §5.5.1).
                    let echo = code.map(u16::to_be_bytes);
                    self.queue_frame(OpCode::Close, echo.as_ref().map_or(&[][..], |c| &c[..]));
                    self.close_sent = true;
                }
                self.events.push_back(Event::Closed { code, reason });
                self.drain(DisconnectReason::Closed, now);
            }
        }
        Ok(None)
    }

    /// Fails the connection (RFC 6455 §7.1.7): report, send a Close with the
    /// error's code, and read nothing more.
    #[cold]
    #[inline(never)]
    pub(super) fn fail(&mut self, error: ProtocolError, now: Instant) -> Option<Event> {
        self.events.push_back(Event::ProtocolError {
            error: error.clone(),
        });
        if !self.close_sent {
            let mut reason = error.to_string();
            close::truncate_reason(&mut reason);
            let payload = close::encode_payload(Some(error.close_code()), &reason)
                .expect("protocol error codes are valid close codes");
            self.queue_frame(OpCode::Close, &payload);
            self.close_sent = true;
        }
        self.drain(DisconnectReason::ProtocolError(error), now);
        None
    }

    /// Stops reading. A client waits (up to the close timeout) for the
    /// server to close the TCP connection, as RFC 6455 §7.1.1 asks; a server
    /// is done at once and closes it.
    pub(super) fn drain(&mut self, reason: DisconnectReason, now: Instant) {
        self.input = InputBuffer::new();
        match self.role {
            Role::Server { .. } => self.disconnect(reason),
            Role::Client { .. } => {
                self.phase = Phase::Draining { reason };
                let deadline = self.config.close_timeout.map(|t| now + t);
                self.timers.close = match (self.timers.close, deadline) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
        }
    }

    pub(super) fn disconnect(&mut self, reason: DisconnectReason) {
        self.events.push_back(Event::Disconnected {
            reason,
            graceful: self.close_sent && self.close_received,
        });
        self.phase = Phase::Done;
        self.input = InputBuffer::new();
        self.message = MessageAssembler::default();
        self.timers = Timers::default();
    }

    /// The length, header and all, of the binary message at the front of
    /// the input when the fast path will take it whole but it is not all
    /// here yet. Such a message is waited for, read into place, rather
    /// than begun by the general decoder: receiving 64 KiB messages, which
    /// come in more than one read, the general path's frame state and
    /// message assembly were a fifth of a tokio client's instructions.
    /// Text still goes to the general decoder as it comes, so that invalid
    /// UTF-8 fails before the rest of the frame arrives; so does all input
    /// once the end of it is known (`eof`).
    #[inline]
    pub(super) fn awaited_frame(&self) -> Option<usize> {
        if self.eof {
            return None;
        }
        let (text, head, len) = self.message_frame()?;
        (!text && self.input.len() < head + len).then_some(head + len)
    }

    /// The message at the front of the input, if it is one the fast path
    /// takes (see [`poll_message`](Self::poll_message)): whether it is
    /// text, its header's length and its payload's, whether or not the
    /// payload is all here yet.
    #[inline(always)]
    fn message_frame(&self) -> Option<(bool, usize, usize)> {
        let data = self.input.data();
        if data.len() < 2 {
            return None;
        }
        let idle = self.events.is_empty()
            && matches!(self.phase, Phase::Open)
            && matches!(self.read, ReadState::Header)
            && matches!(self.role, Role::Client { .. })
            && self.message.is_idle();
        // FIN, no RSV bits, text (1) or binary (2), not masked.
        let (first, second) = (data[0], data[1]);
        if !idle || (first != 0x81 && first != 0x82) || second & 0x80 != 0 {
            return None;
        }
        let (head, len) = match second {
            0..=125 => (2, second as usize),
            126 if data.len() >= 4 => (4, u16::from_be_bytes([data[2], data[3]]) as usize),
            127 if data.len() >= 10 => {
                let len = u64::from_be_bytes(data[2..10].try_into().expect("8 bytes"));
                (10, usize::try_from(len).ok()?)
            }
            _ => return None,
        };
        let limit = self.config.max_frame_size.min(self.config.max_message_size);
        if len > limit {
            return None;
        }
        Some((first == 0x81, head, len))
    }

    /// [`poll_message`](Self::poll_message), inlined into the driver's
    /// loop: an event returned through memory is written in 8-byte words
    /// and read back in 16-byte ones, which stalls store forwarding (perf
    /// annotate; inlining cut the CPU time of receiving 16-byte messages by
    /// 13% with tokio, 19% blocking).
    #[inline(always)]
    pub(super) fn decode_message<E: DriverEvent>(&mut self) -> Option<E> {
        let (text, head, len) = self.message_frame()?;
        let data = self.input.data();
        if data.len() < head + len {
            return None;
        }
        if text && simdutf8::basic::from_utf8(&data[head..head + len]).is_err() {
            return None;
        }
        // A small payload is copied into the event; a larger one shares the
        // buffer it was read into (see `Payload`).
        let payload = if len <= Payload::INLINE {
            let payload = match data.get(head..head + Payload::INLINE) {
                Some(window) => Payload::inline_prefix(window.try_into().unwrap(), len),
                None => Payload::copy_from_slice(&data[head..head + len]),
            };
            self.input.advance(head + len);
            payload
        } else {
            // One split of the buffer for header and payload together: the
            // header is then skipped in the `Bytes`, a pointer bump, where
            // `BytesMut::advance` was another 20 instructions a message.
            Payload::from(self.input.split_frame(head, len))
        };
        Some(if text {
            E::text(crate::utf8_bytes::Utf8Bytes::from_validated(payload))
        } else {
            E::binary(payload)
        })
    }
}
