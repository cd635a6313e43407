//! Time: what the connection waits for next, and what happens when a
//! deadline passes (pings, the unresponsive peer, the handshake and close
//! timeouts).

use super::*;
use std::time::Duration;

impl Connection {
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
            // At most a header here: nothing waited for.
            ReadState::Header if self.input.len() < 2 => 1,
            ReadState::Header => self.awaited_input(),
        }
    }

    /// The rest of a binary message waited for whole (see
    /// `awaited_frame`), or 1. Out of line: most waits find no input.
    #[inline(never)]
    fn awaited_input(&self) -> usize {
        self.awaited_frame()
            .map_or(1, |total| total - self.input.len())
    }

    /// The next instant at which [`handle_timeout`](Self::handle_timeout)
    /// must be called, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        let t = &self.timers;
        match self.phase {
            Phase::Handshake | Phase::RejectBody { .. } => t.handshake,
            Phase::Open => {
                let ping = if self.close_sent { None } else { t.next_ping };
                // Pairwise, not an array folded: this runs at every wait
                // (58 instructions that way, by callgrind).
                earliest(
                    earliest(t.close, ping),
                    earliest(earliest(t.next_poll, t.unresponsive), t.linger),
                )
            }
            Phase::Draining { .. } => t.close,
            Phase::Done => None,
        }
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
                if due(self.timers.linger) {
                    // The driver's next `waiting` keeps the buffers for
                    // another linger if there was input since the last
                    // look, or frees them.
                    self.timers.linger = None;
                }
                if due(self.timers.next_ping) {
                    if !self.close_sent && !self.write_buffer_full(0) {
                        self.send_keepalive_ping(now);
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

    /// Whether the server is due to be declared unresponsive at `now`
    /// (nothing arrived for `ping_timeout`), once
    /// [`handle_timeout`](Self::handle_timeout) is called.
    pub fn unresponsive_due(&self, now: Instant) -> bool {
        matches!(self.phase, Phase::Open) && self.timers.unresponsive.is_some_and(|d| d <= now)
    }

    /// The server's transport acknowledged some of our bytes while more
    /// of ours are outstanding: it lives, though our pings may be waiting
    /// behind a large send and cannot have been answered. Counts as input
    /// at `now` for the ping timeout; a driver that can see this says so
    /// at each deadline, before [`handle_timeout`](Self::handle_timeout).
    pub fn peer_took_data(&mut self, now: Instant) {
        if let (Phase::Open, Some(t)) = (&self.phase, self.config.ping_timeout) {
            self.timers.unresponsive = Some(now + t);
        }
    }

    /// Sends a keepalive ping whose pong will carry the round-trip time.
    fn send_keepalive_ping(&mut self, now: Instant) {
        let count = self.pings.sent;
        let mut payload = [b'l', b'm', 0, 0, 0, 0];
        payload[2..].copy_from_slice(&count.to_be_bytes());
        self.pings.sent = count.wrapping_add(1);
        self.pings.waiting[count as usize % PINGS_TIMED] = Some((count, now));
        self.queue_frame(OpCode::Ping, &payload);
    }

    /// The round-trip time if `payload` answers one of the latest
    /// keepalive pings (each is timed once).
    pub(super) fn pong_rtt(&mut self, payload: &[u8], now: Instant) -> Option<Duration> {
        let count = match payload {
            [b'l', b'm', a, b, c, d] => u32::from_be_bytes([*a, *b, *c, *d]),
            _ => return None,
        };
        let slot = &mut self.pings.waiting[count as usize % PINGS_TIMED];
        match *slot {
            Some((sent, at)) if sent == count => {
                *slot = None;
                let rtt = now.saturating_duration_since(at);
                self.pings.rtt = Some(rtt);
                Some(rtt)
            }
            _ => None,
        }
    }

    /// The latest round-trip time of a keepalive ping, if one was answered.
    pub fn rtt(&self) -> Option<Duration> {
        self.pings.rtt
    }
}

/// The earlier of two optional deadlines.
#[inline]
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}
