//! The opening handshake: the server's answer checked, the session
//! opened with what was agreed, or the rejection reported with its body.

use super::*;

impl Connection {
    /// Returns true when the phase moved on and there may be more to decode.
    #[cold]
    #[inline(never)]
    pub(super) fn process_handshake(&mut self, now: Instant) -> bool {
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

    pub(super) fn open(&mut self, response: Response, agreement: Agreement, now: Instant) {
        if let Role::Client { handshake } = &mut self.role {
            *handshake = None;
        }
        if self.input.is_empty() {
            // The buffer the handshake arrived in: most connections go quiet
            // after it, and should not keep it.
            self.input = InputBuffer::new();
        }
        // Traffic is counted from the open on (see `waiting`).
        self.busy = false;
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
    pub(super) fn enable_deflate(&mut self, p: DeflateParams) {
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
    pub(super) fn process_reject_body(&mut self) {
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

    pub(super) fn finish_reject(
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
    pub(super) fn reject(&mut self, error: HandshakeError, response: Option<Box<Response>>) {
        self.events.push_back(Event::Rejected { error, response });
        self.disconnect(DisconnectReason::Rejected);
    }
}
