//! [`Connection`]: the whole protocol of one WebSocket, with no I/O.
//!
//! Bytes read from the network go in with [`Connection::handle_input`];
//! events come out of [`Connection::poll_event`]; bytes to write come out of
//! [`Connection::poll_transmit`]. Time goes in as an argument, and the next
//! moment the connection needs attention comes out of
//! [`Connection::next_deadline`]. A driver owns the socket and the clock and
//! loops over these calls; every protocol decision is made here.

use super::close;
use super::config::Config;
use super::deflate::{DeflateParams, Deflater, Inflater};
use super::entropy::{Entropy, MaskKeys, SystemEntropy};
use super::frame::{self, FrameHeader, OpCode, MAX_CONTROL_PAYLOAD};
use super::handshake::{self, Agreement, ClientRequest, Response};
use super::input::InputBuffer;
use super::mask;
use super::message::MessageAssembler;
use super::outbox::Outbox;
use crate::error::{ConnectError, HandshakeError, ProtocolError, SendError};
use crate::event::{DisconnectReason, Event};
use crate::payload::Payload;
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::Instant;

/// Which end of the connection this is.
enum Role {
    /// Sends masked frames; validates the server's 101 against the request
    /// and key, which are dropped once the handshake is over.
    Client {
        handshake: Option<Box<(ClientRequest, String)>>,
    },
    /// Requires masked frames; answers the upgrade, choosing among `protocols`.
    Server { protocols: Vec<String> },
}

/// How far the connection has got.
enum Phase {
    /// Waiting for the other side's handshake message.
    Handshake,
    /// A non-101 answer: collecting its body, `remaining` bytes of it (or
    /// until the connection closes), then `Rejected`.
    RejectBody {
        error: HandshakeError,
        response: Box<Response>,
        body: BytesMut,
        remaining: Option<usize>,
    },
    /// Frames flow; `close_sent`/`close_received` track the close handshake.
    Open,
    /// Reading is over (close handshake done, or the connection failed);
    /// waiting for the server to close, then `Disconnected` with `reason`.
    Draining { reason: DisconnectReason },
    /// `Disconnected` has been emitted.
    Done,
}

/// Where the frame decoder is.
#[derive(Clone, Copy)]
enum ReadState {
    Header,
    /// `seen` payload bytes of `header`'s frame are already unmasked and
    /// validated in the input buffer.
    Payload {
        header: FrameHeader,
        seen: usize,
    },
}

/// Deadlines the driver must wake up for.
#[derive(Default)]
struct Timers {
    handshake: Option<Instant>,
    close: Option<Instant>,
    next_ping: Option<Instant>,
    next_poll: Option<Instant>,
    unresponsive: Option<Instant>,
}

/// One WebSocket connection's protocol state, client or server side.
pub struct Connection {
    role: Role,
    config: Config,
    entropy: Box<dyn Entropy>,
    mask_keys: MaskKeys,
    phase: Phase,
    input: InputBuffer,
    output: Vec<u8>,
    output_pos: usize,
    events: VecDeque<Event>,
    read: ReadState,
    message: MessageAssembler,
    close_sent: bool,
    close_received: bool,
    timers: Timers,
    /// Compresses outgoing messages, once permessage-deflate is agreed.
    deflater: Option<Deflater>,
    /// Reused buffer for a compressed payload before it is framed.
    scratch: Vec<u8>,
    /// The latest time a driver gave us; decoding done lazily in
    /// [`poll_event`](Connection::poll_event) happens "at" this time.
    now: Instant,
    /// End of stream seen, to act on once the buffered input is decoded.
    eof: bool,
}

impl Connection {
    /// A client connection that will send `request`. The upgrade request is
    /// queued at once: write [`poll_transmit`](Self::poll_transmit) first.
    pub fn client(
        request: ClientRequest,
        config: Config,
        now: Instant,
    ) -> Result<Connection, ConnectError> {
        Self::client_with_entropy(request, config, now, Box::new(SystemEntropy))
    }

    /// [`client`](Self::client) with a chosen source of randomness (for
    /// reproducible tests and fuzzing; a connection with predictable masks
    /// defeats their purpose, so this is outside the API).
    #[doc(hidden)]
    pub fn client_with_entropy(
        request: ClientRequest,
        config: Config,
        now: Instant,
        mut entropy: Box<dyn Entropy>,
    ) -> Result<Connection, ConnectError> {
        let mut request = request;
        request.extensions.clear();
        if let Some(deflate) = &config.deflate {
            deflate.validate().map_err(ConnectError::InvalidOption)?;
            request.extensions.push(deflate.offer());
        }
        request.validate().map_err(ConnectError::InvalidOption)?;
        let mut nonce = [0u8; 16];
        entropy.fill(&mut nonce);
        let key = handshake::encode_key(nonce);
        let mut conn = Connection::new(Role::Client { handshake: None }, config, now, entropy);
        request.encode(&key, &mut conn.output);
        conn.role = Role::Client {
            handshake: Some(Box::new((request, key))),
        };
        Ok(conn)
    }

    /// A server connection that answers an upgrade request, choosing the
    /// first subprotocol the client offers that is in `protocols`.
    pub fn server(protocols: Vec<String>, config: Config, now: Instant) -> Connection {
        Connection::new(
            Role::Server { protocols },
            config,
            now,
            Box::new(SystemEntropy),
        )
    }

    fn new(role: Role, config: Config, now: Instant, entropy: Box<dyn Entropy>) -> Connection {
        let timers = Timers {
            handshake: config.handshake_timeout.map(|t| now + t),
            ..Timers::default()
        };
        Connection {
            role,
            config,
            entropy,
            mask_keys: MaskKeys::new(),
            phase: Phase::Handshake,
            input: InputBuffer::new(),
            output: Vec::new(),
            output_pos: 0,
            events: VecDeque::new(),
            read: ReadState::Header,
            message: MessageAssembler::default(),
            close_sent: false,
            close_received: false,
            timers,
            deflater: None,
            scratch: Vec::new(),
            now,
            eof: false,
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

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

    fn input_arrived(&mut self, now: Instant) {
        self.now = now;
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

    /// Frees buffers that hold nothing, so an idle connection costs only its
    /// state. Call when the network has nothing more to read for now.
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

    fn apply_eof(&mut self) {
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
    fn process(&mut self) -> Option<Event> {
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

    /// Returns true when the phase moved on and there may be more to decode.
    #[cold]
    #[inline(never)]
    fn process_handshake(&mut self, now: Instant) -> bool {
        let max = self.config.max_handshake_size;
        match &self.role {
            Role::Client { handshake: None } => false,
            Role::Client {
                handshake: Some(handshake),
            } => {
                let (request, key) = &**handshake;
                let (response, n) = match handshake::parse_response(self.input.data(), max) {
                    Ok(Some(parsed)) => parsed,
                    Ok(None) => return false,
                    Err(e) => {
                        self.reject(e, None);
                        return false;
                    }
                };
                self.input.advance(n);
                let deflate = self.config.deflate.as_ref();
                match handshake::validate_response(&response, key, request, deflate) {
                    Ok(agreement) => {
                        self.open(response, agreement, now);
                        true
                    }
                    Err(error @ HandshakeError::Status { status }) => {
                        let remaining = if matches!(status, 100..=199 | 204 | 304) {
                            Some(0)
                        } else if response.headers.contains_key("transfer-encoding") {
                            None
                        } else {
                            response
                                .header("content-length")
                                .and_then(|v| v.trim().parse().ok())
                        };
                        self.phase = Phase::RejectBody {
                            error,
                            response: Box::new(response),
                            body: BytesMut::new(),
                            remaining,
                        };
                        true
                    }
                    Err(e) => {
                        self.reject(e, Some(Box::new(response)));
                        false
                    }
                }
            }
            Role::Server { protocols } => {
                let result = handshake::parse_request(self.input.data(), max).and_then(|parsed| {
                    parsed
                        .map(|(request, n)| {
                            handshake::accept_request(
                                &request,
                                protocols,
                                self.config.deflate.is_some(),
                            )
                            .map(|a| (a, n))
                        })
                        .transpose()
                });
                match result {
                    Ok(None) => false,
                    Ok(Some(((answer, agreement), n))) => {
                        self.input.advance(n);
                        self.output.extend_from_slice(&answer);
                        let response = handshake::parse_response(&answer, answer.len())
                            .ok()
                            .flatten()
                            .map(|(r, _)| r)
                            .expect("own 101 answer parses");
                        self.open(response, agreement, now);
                        true
                    }
                    Err(e) => {
                        self.output.extend_from_slice(
                            b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                        );
                        self.reject(e, None);
                        false
                    }
                }
            }
        }
    }

    fn open(&mut self, response: Response, agreement: Agreement, now: Instant) {
        if let Role::Client { handshake } = &mut self.role {
            *handshake = None;
        }
        if self.input.is_empty() {
            // The buffer the handshake arrived in: most connections go quiet
            // after it, and should not keep it.
            self.input = InputBuffer::new();
        }
        self.phase = Phase::Open;
        self.timers.handshake = None;
        self.timers.next_ping = self.config.ping_rate.map(|t| now + t);
        self.timers.next_poll = self.config.poll.map(|t| now + t);
        self.timers.unresponsive = self.config.ping_timeout.map(|t| now + t);
        if let Some(params) = agreement.deflate {
            self.enable_deflate(params);
        }
        self.events.push_back(Event::Ready {
            response: Box::new(response),
            protocol: agreement.protocol,
            extensions: agreement.extensions,
            deflate: agreement.deflate,
        });
    }

    /// Sets up the codec: our side compresses with our window and context
    /// rule, and inflates what the other side sends.
    fn enable_deflate(&mut self, p: DeflateParams) {
        let (level, threshold) = self
            .config
            .deflate
            .as_ref()
            .map_or((6, 64), |d| (d.level, d.threshold));
        let client = matches!(self.role, Role::Client { .. });
        let (ours, theirs) = if client {
            (
                (p.client_max_window_bits, p.client_no_context_takeover),
                p.server_no_context_takeover,
            )
        } else {
            (
                (p.server_max_window_bits, p.server_no_context_takeover),
                p.client_no_context_takeover,
            )
        };
        self.deflater = Some(Deflater::new(level, ours.0, ours.1, threshold));
        self.message.enable_inflate(Inflater::new(theirs));
    }

    #[cold]
    #[inline(never)]
    fn process_reject_body(&mut self) {
        let Phase::RejectBody {
            body, remaining, ..
        } = &mut self.phase
        else {
            return;
        };
        let room = self.config.max_rejected_body - body.len();
        let take = self
            .input
            .len()
            .min(remaining.unwrap_or(usize::MAX))
            .min(room);
        body.extend_from_slice(&self.input.data()[..take]);
        self.input.advance(take);
        if let Some(r) = remaining {
            *r -= take;
        }
        if *remaining == Some(0) || body.len() >= self.config.max_rejected_body {
            if let Phase::RejectBody {
                error,
                response,
                body,
                ..
            } = std::mem::replace(&mut self.phase, Phase::Handshake)
            {
                self.finish_reject(error, response, body);
            }
        }
    }

    fn finish_reject(
        &mut self,
        error: HandshakeError,
        mut response: Box<Response>,
        body: BytesMut,
    ) {
        response.body = body.freeze();
        self.reject(error, Some(response));
    }

    #[cold]
    #[inline(never)]
    fn reject(&mut self, error: HandshakeError, response: Option<Box<Response>>) {
        self.events.push_back(Event::Rejected { error, response });
        self.disconnect(DisconnectReason::Rejected);
    }

    fn process_frames(&mut self, now: Instant) -> Option<Event> {
        while matches!(self.phase, Phase::Open) && self.events.is_empty() {
            match self.read {
                ReadState::Header => match frame::parse_header(self.input.data()) {
                    Ok(None) => return None,
                    Ok(Some((header, n))) => {
                        if let Err(e) = self.check_header(&header) {
                            return self.fail(e, now);
                        }
                        self.input.advance(n);
                        self.read = ReadState::Payload { header, seen: 0 };
                    }
                    Err(e) => return self.fail(e, now),
                },
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
                    let payload = self.input.split_to(len).freeze();
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
    fn check_header(&mut self, header: &FrameHeader) -> Result<(), ProtocolError> {
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
    fn handle_frame(
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
            OpCode::Pong => return Ok(Some(Event::Pong(payload))),
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
    fn fail(&mut self, error: ProtocolError, now: Instant) -> Option<Event> {
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
    fn drain(&mut self, reason: DisconnectReason, now: Instant) {
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

    fn disconnect(&mut self, reason: DisconnectReason) {
        self.events.push_back(Event::Disconnected {
            reason,
            graceful: self.close_sent && self.close_received,
        });
        self.phase = Phase::Done;
        self.input = InputBuffer::new();
        self.message = MessageAssembler::default();
        self.timers = Timers::default();
    }

    // ---------------------------------------------------------------- timers

    /// How many more bytes must arrive before decoding can go on: the rest
    /// of the frame being received, or 1 when that is not known (between
    /// frames, in the handshake). A driver may wait for this much before it
    /// wakes (`SO_RCVLOWAT`), saving wakeups on large frames.
    pub fn input_wanted(&self) -> usize {
        match self.read {
            ReadState::Payload { header, seen } if self.message.frame_is_compressed() => {
                (header.len as usize - seen)
                    .saturating_sub(self.input.len())
                    .max(1)
            }
            ReadState::Payload { header, .. } => (header.len as usize)
                .saturating_sub(self.input.len())
                .max(1),
            ReadState::Header => 1,
        }
    }

    /// The next instant at which [`handle_timeout`](Self::handle_timeout)
    /// must be called, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        let t = &self.timers;
        let candidates: [Option<Instant>; 5] = match self.phase {
            Phase::Handshake | Phase::RejectBody { .. } => [t.handshake, None, None, None, None],
            Phase::Open => [
                t.close,
                if self.close_sent { None } else { t.next_ping },
                t.next_poll,
                t.unresponsive,
                None,
            ],
            Phase::Draining { .. } => [t.close, None, None, None, None],
            Phase::Done => [None; 5],
        };
        candidates.into_iter().flatten().min()
    }

    /// Acts on every deadline that has passed by `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        let due = |d: Option<Instant>| d.is_some_and(|d| d <= now);
        match std::mem::replace(&mut self.phase, Phase::Handshake) {
            Phase::Done => self.phase = Phase::Done,
            Phase::Handshake if due(self.timers.handshake) => {
                self.disconnect(DisconnectReason::HandshakeTimeout)
            }
            Phase::RejectBody {
                error,
                response,
                body,
                ..
            } if due(self.timers.handshake) => self.finish_reject(error, response, body),
            Phase::Draining { reason } if due(self.timers.close) => self.disconnect(reason),
            Phase::Open if due(self.timers.close) => {
                self.disconnect(DisconnectReason::CloseTimeout)
            }
            Phase::Open if due(self.timers.unresponsive) => {
                self.events.push_back(Event::Unresponsive);
                self.disconnect(DisconnectReason::Unresponsive);
            }
            Phase::Open => {
                self.phase = Phase::Open;
                if due(self.timers.next_ping) {
                    if !self.close_sent && !self.write_buffer_full(0) {
                        self.queue_frame(OpCode::Ping, b"");
                    }
                    self.timers.next_ping = self.config.ping_rate.map(|t| now + t);
                }
                if due(self.timers.next_poll) {
                    self.events.push_back(Event::Poll);
                    self.timers.next_poll = self.config.poll.map(|t| now + t);
                }
            }
            other => self.phase = other,
        }
    }

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

    fn send_data(
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
                Err(_) => outbox.discard(),
            }
        }
        // Only a client masks, and only an open connection takes frames.
        let below = match (&self.role, self.check_can_send(), &self.deflater) {
            (Role::Client { .. }, Ok(()), None) => usize::MAX,
            (Role::Client { .. }, Ok(()), Some(deflater)) => deflater.uncompressed_below(),
            _ => 0,
        };
        let entropy = &mut *self.entropy;
        outbox.refill(|keys| entropy.fill(keys), below);
        result
    }

    /// Queues a ping with up to 125 bytes of payload.
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.send_control(OpCode::Ping, payload)
    }

    /// Queues an unsolicited pong (or a manual answer when `auto_pong` is off).
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.send_control(OpCode::Pong, payload)
    }

    fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
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
    fn check_can_queue(&self, more: usize) -> Result<(), SendError> {
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
    fn reuse_sent_output(&mut self) {
        if self.output_pos == self.output.len() {
            self.output.clear();
            self.output_pos = 0;
        }
    }

    fn pending_output(&self) -> usize {
        self.output.len() - self.output_pos
    }

    /// Whether adding `more` bytes would pass the write limit. A single
    /// message larger than the limit may still go out on an idle connection.
    fn write_buffer_full(&self, more: usize) -> bool {
        let pending = self.pending_output();
        pending > 0 && pending.saturating_add(more) > self.config.max_write_buffer
    }

    fn queue_frame(&mut self, opcode: OpCode, payload: &[u8]) {
        self.queue_frame_rsv1(opcode, payload, false)
    }

    fn queue_frame_rsv1(&mut self, opcode: OpCode, payload: &[u8], rsv1: bool) {
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
    pub fn take_transmit(&mut self, buf: &mut Vec<u8>) {
        buf.clear();
        if self.output_pos == 0 {
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
        let tail = pending.checked_rem(unit).unwrap_or(0);
        self.take_transmit(buf);
        if tail > 0 && pending > unit {
            // `take_transmit` left the output empty: the tail goes back
            // alone, so it is the only byte copy made here.
            self.output.extend_from_slice(&buf[pending - tail..]);
            buf.truncate(pending - tail);
        }
    }

    // ---------------------------------------------------------------- state

    /// The next event, in order, decoding buffered input as needed.
    pub fn poll_event(&mut self) -> Option<Event> {
        if let Some(event) = self.poll_message() {
            return Some(event);
        }
        self.poll_event_general()
    }

    /// [`poll_event`](Self::poll_event) without the fast path of
    /// [`poll_message`](Self::poll_message): every frame through the
    /// general decoder. For the test that both decode every stream alike.
    #[doc(hidden)]
    #[inline]
    pub fn poll_event_general(&mut self) -> Option<Event> {
        if self.events.is_empty() {
            if let Some(event) = self.process() {
                return Some(event);
            }
            if self.events.is_empty() && self.eof {
                self.eof = false;
                self.apply_eof();
            }
        }
        self.events.pop_front()
    }

    /// [`poll_event`](Self::poll_event), and when it gives an event, up to
    /// `limit` messages after it decoded ahead into `ahead` with
    /// [`poll_message`](Self::poll_message): what a driver takes under one
    /// lock of a shared core. The caller hands out `ahead` first.
    pub fn poll_event_ahead(&mut self, ahead: &mut VecDeque<Event>, limit: usize) -> Option<Event> {
        let event = self.poll_event()?;
        while ahead.len() < limit {
            let Some(next) = self.decode_message() else {
                break;
            };
            ahead.push_back(next);
        }
        Some(event)
    }

    /// The next event if it is a message that decodes on its own: a whole
    /// unfragmented, uncompressed text or binary frame, with a short
    /// header, from the server, when nothing else is pending. `None` says
    /// only that the next event (if any) is something else: ask
    /// [`poll_event`](Self::poll_event).
    ///
    /// Decoding such a message changes nothing but the input consumed, so a
    /// driver may decode several ahead of its application under one lock,
    /// and senders still see the connection as the application does.
    /// Anything else, including every frame that breaks a rule, is left to
    /// the general path of `poll_event`, which decodes the same frames to
    /// the same events.
    #[inline]
    pub fn poll_message(&mut self) -> Option<Event> {
        self.decode_message()
    }

    /// [`poll_message`](Self::poll_message), inlined into the driver's
    /// loop: an event returned through memory is written in 8-byte words
    /// and read back in 16-byte ones, which stalls store forwarding (perf
    /// annotate; inlining cut the CPU time of receiving 16-byte messages by
    /// 13% with tokio, 19% blocking).
    #[inline(always)]
    fn decode_message(&mut self) -> Option<Event> {
        let idle = self.events.is_empty()
            && matches!(self.phase, Phase::Open)
            && matches!(self.read, ReadState::Header)
            && matches!(self.role, Role::Client { .. })
            && self.message.is_idle();
        let data = self.input.data();
        if !idle || data.len() < 2 {
            return None;
        }
        // FIN, no RSV bits, text (1) or binary (2), not masked.
        let (first, second) = (data[0], data[1]);
        if (first != 0x81 && first != 0x82) || second & 0x80 != 0 {
            return None;
        }
        let (head, len) = match second {
            0..=125 => (2, second as usize),
            126 if data.len() >= 4 => (4, u16::from_be_bytes([data[2], data[3]]) as usize),
            _ => return None,
        };
        let limit = self.config.max_frame_size.min(self.config.max_message_size);
        if len > limit || data.len() < head + len {
            return None;
        }
        let text = first == 0x81;
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
            self.input.advance(head);
            Payload::from(self.input.split_to(len).freeze())
        };
        Some(if text {
            Event::Text(crate::utf8_bytes::Utf8Bytes::from_validated(payload))
        } else {
            Event::Binary(payload)
        })
    }

    /// The handshake completed and no Close has been sent: data may be sent.
    pub fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Open) && !self.close_sent
    }

    /// `Disconnected` was emitted: once the output is written (when the
    /// network still takes it), the driver closes the socket.
    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("client", &matches!(self.role, Role::Client { .. }))
            .field("open", &self.is_open())
            .field("done", &self.is_done())
            .field("close_sent", &self.close_sent)
            .field("close_received", &self.close_received)
            .field("buffered_input", &self.input.len())
            .field("pending_output", &self.pending_output())
            .finish()
    }
}
