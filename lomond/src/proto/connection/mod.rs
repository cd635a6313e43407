//! [`Connection`]: the whole protocol of one WebSocket, with no I/O.
//!
//! Bytes read from the network go in with [`Connection::handle_input`];
//! events come out of [`Connection::poll_event`]; bytes to write come out of
//! [`Connection::poll_transmit`]. Time goes in as an argument, and the next
//! moment the connection needs attention comes out of
//! [`Connection::next_deadline`]. A driver owns the socket and the clock and
//! loops over these calls; every protocol decision is made here.

mod opening;
mod receive;
mod send;
pub(crate) use send::whole_units;
mod timers;

use super::close;
use super::config::Config;
use super::deflate::{DeflateParams, Deflater, Inflater};
use super::entropy::{Entropy, MaskKeys, SystemEntropy};
use super::event::{DisconnectReason, DriverEvent, Event};
use super::frame::{self, FrameHeader, OpCode, MAX_CONTROL_PAYLOAD};
use super::handshake::{self, Agreement, ClientRequest, Response};
use super::input::InputBuffer;
use super::mask;
use super::message::MessageAssembler;
use super::outbox::Outbox;
use crate::error::{HandshakeError, OptionError, ProtocolError, SendError};
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
    /// When the buffers a busy connection keeps across waits are looked
    /// at again (see [`Connection::waiting`]).
    linger: Option<Instant>,
}

/// The connection's own keepalive pings, for round-trip times.
#[derive(Default)]
struct Pings {
    /// How many have been sent: the next one's payload.
    sent: u32,
    /// The count and send time of the latest few, each until answered:
    /// on a slow link a pong can come after the next ping has gone, and
    /// that is when its round-trip time matters most.
    waiting: [Option<(u32, Instant)>; PINGS_TIMED],
    /// The latest round-trip time measured.
    rtt: Option<std::time::Duration>,
}

/// How many unanswered keepalive pings are remembered for timing. (A
/// keepalive ping's payload is `lm` and a 32-bit count, so that its pong
/// is told apart from the answers to the application's own pings.)
const PINGS_TIMED: usize = 8;

/// How long a connection's buffers may outlive its traffic (see
/// [`Connection::waiting`]): long enough that a connection in steady
/// traffic keeps them, and that the deadline which looks again moves
/// once a second, not at every wait.
pub const BUFFER_LINGER: std::time::Duration = std::time::Duration::from_secs(1);

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
    pings: Pings,
    /// Compresses outgoing messages, once permessage-deflate is agreed.
    deflater: Option<Deflater>,
    /// Reused buffer for a compressed payload before it is framed.
    scratch: Vec<u8>,
    /// The latest time a driver gave us; decoding done lazily in
    /// [`poll_event`](Connection::poll_event) happens "at" this time.
    now: Instant,
    /// End of stream seen, to act on once the buffered input is decoded.
    eof: bool,
    /// Input arrived since the driver last said it was waiting.
    busy: bool,
}

impl Connection {
    /// A client connection that will send `request`. The upgrade request is
    /// queued at once: write [`poll_transmit`](Self::poll_transmit) first.
    /// Fails when the request or the compression settings are invalid.
    pub fn client(
        request: ClientRequest,
        config: Config,
        now: Instant,
    ) -> Result<Connection, OptionError> {
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
    ) -> Result<Connection, OptionError> {
        let mut request = request;
        request.extensions.clear();
        if let Some(deflate) = &config.deflate {
            deflate.validate()?;
            request.extensions.push(deflate.offer());
        }
        request.validate()?;
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
            pings: Pings::default(),
            deflater: None,
            scratch: Vec::new(),
            now,
            eof: false,
            busy: false,
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    // ----------------------------------------------------------- events out

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
            if self.input.is_empty() && !self.eof && matches!(self.phase, Phase::Open) {
                // Nothing to decode: what a driver asks before each read.
                return None;
            }
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
    /// lock of a shared core. The caller hands out `ahead` first. Events
    /// come out as the driver's own type, whole messages built in it
    /// directly, so that its queue holds what it hands out.
    #[inline]
    pub fn poll_event_ahead<E: DriverEvent>(
        &mut self,
        ahead: &mut VecDeque<E>,
        limit: usize,
    ) -> Option<E> {
        let event = match self.decode_message() {
            Some(event) => event,
            None => self.poll_event_general()?.into(),
        };
        while ahead.len() < limit {
            let Some(next) = self.decode_message() else {
                break;
            };
            ahead.push_back(next);
        }
        Some(event)
    }

    /// The next event if it is a message that decodes on its own: a whole
    /// unfragmented, uncompressed text or binary frame from the server,
    /// when nothing else is pending. `None` says only that the next event
    /// (if any) is something else, or a binary message not all here yet:
    /// ask [`poll_event`](Self::poll_event).
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
