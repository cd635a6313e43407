//! [`Lifecycle`]: persist's decisions, with no I/O. It watches each
//! connection's events go by and, when one ends, says how long to wait
//! before the next or that persist stops. Both drivers run it.

use super::backoff::BackOff;
use super::policy::{Decision, Failure, RetryPolicy};
use super::retry_after;
use crate::event::Event;
use crate::proto::DisconnectReason;
use std::time::{Duration, Instant, SystemTime};

/// What follows a connection that ended.
#[derive(Debug)]
pub(crate) enum Next {
    /// Wait this long, then reconnect.
    BackOff(Duration),
    /// The policy said stop, after this failure.
    Stop(Box<Failure>),
}

/// Persist's state across connections (see the module docs).
#[derive(Debug)]
pub(crate) struct Lifecycle {
    back_off: BackOff,
    policy: RetryPolicy,
    /// Connections in a row that failed or did not stay up.
    retries: u32,
    /// Connection attempts begun.
    attempts: u64,
    /// When the current connection became `Ready`.
    ready_at: Option<Instant>,
    /// The current connection's close code, from `Closing` or `Closed`.
    close_code: Option<u16>,
    /// The refusal, once `Rejected` was seen.
    rejected: Option<Failure>,
    /// How the current connection ended, once it has.
    ended: Option<Failure>,
}

impl Lifecycle {
    pub(crate) fn new(back_off: BackOff, policy: RetryPolicy) -> Lifecycle {
        Lifecycle {
            back_off,
            policy,
            retries: 0,
            attempts: 0,
            ready_at: None,
            close_code: None,
            rejected: None,
            ended: None,
        }
    }

    /// Connection attempts begun so far (the first is 1).
    pub(crate) fn attempts(&self) -> u64 {
        self.attempts
    }

    /// Notes what `event` says about the connection. Messages say nothing:
    /// callers may skip them. `wall` is read only for an HTTP-date
    /// `Retry-After`.
    pub(crate) fn observe(
        &mut self,
        event: &Event,
        now: Instant,
        wall: impl FnOnce() -> SystemTime,
    ) {
        match event {
            Event::Connecting { .. } => {
                self.attempts += 1;
                self.ready_at = None;
                self.close_code = None;
                self.rejected = None;
                self.ended = None;
            }
            Event::ConnectFail { error } => self.ended = Some(Failure::Connect(error.clone())),
            Event::Ready { .. } => self.ready_at = Some(now),
            Event::Rejected { error, response } => {
                let status = response.as_ref().map(|r| r.status);
                let retry_after = response
                    .as_ref()
                    .and_then(|r| r.header("retry-after"))
                    .and_then(|v| retry_after::parse(v, wall()));
                self.rejected = Some(Failure::Rejected {
                    error: error.clone(),
                    status,
                    retry_after,
                });
            }
            Event::Closing { code, .. } | Event::Closed { code, .. } if code.is_some() => {
                self.close_code = *code;
            }
            Event::Disconnected { reason, graceful } => {
                self.ended = Some(match self.rejected.take() {
                    Some(rejected) => rejected,
                    None => Failure::Disconnected {
                        reason: reason.clone(),
                        graceful: *graceful,
                        close_code: self.close_code,
                        uptime: self.ready_at.map(|at| now.saturating_duration_since(at)),
                    },
                });
            }
            _ => {}
        }
    }

    /// The connection's events are over: what now, with `random`
    /// in [0, 1) for the jitter.
    pub(crate) fn next(&mut self, random: f64) -> Next {
        let failure = self.ended.take().unwrap_or(Failure::Disconnected {
            reason: DisconnectReason::ConnectionLost,
            graceful: false,
            close_code: None,
            uptime: None,
        });
        // A connection that stayed up long enough was a fresh start.
        if let Failure::Disconnected {
            uptime: Some(up), ..
        } = failure
        {
            if up >= self.back_off.min_uptime {
                self.retries = 0;
            }
        }
        let delay = match self.policy.decide(&failure) {
            Decision::Stop => return Next::Stop(Box::new(failure)),
            Decision::RetryAfter(delay) => delay,
            Decision::Retry => {
                let delay = self.back_off.delay(self.retries, random);
                match &failure {
                    Failure::Rejected { retry_after, .. } => {
                        self.back_off.honour(delay, *retry_after)
                    }
                    _ => delay,
                }
            }
        };
        self.retries = self.retries.saturating_add(1);
        Next::BackOff(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ConnectError, HandshakeError};
    use crate::proto::Response;
    use crate::utf8_bytes::Utf8Bytes;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn connecting() -> Event {
        Event::Connecting {
            url: "ws://h/".into(),
        }
    }

    fn ready() -> Event {
        Event::Ready {
            response: Box::new(response(101, &[])),
            protocol: None,
            extensions: vec![],
            deflate: None,
        }
    }

    fn response(status: u16, headers: &[(&'static str, &str)]) -> Response {
        let mut map = http::HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, value.parse().unwrap());
        }
        Response {
            status,
            reason: String::new(),
            headers: map,
            body: bytes::Bytes::new(),
        }
    }

    fn lost() -> Event {
        Event::Disconnected {
            reason: DisconnectReason::ConnectionLost,
            graceful: false,
        }
    }

    fn delay(next: Next) -> Duration {
        match next {
            Next::BackOff(d) => d,
            Next::Stop(f) => panic!("stopped after {f}"),
        }
    }

    /// Runs one connection's `events`, `up` seconds after the first, and
    /// the decision after it (random factor 1/2).
    fn run(l: &mut Lifecycle, t: Instant, up: u64, events: &[Event]) -> Next {
        for (i, e) in events.iter().enumerate() {
            let at = if i + 1 == events.len() { t + s(up) } else { t };
            l.observe(e, at, SystemTime::now);
        }
        l.next(0.5)
    }

    #[test]
    fn failures_in_a_row_grow_the_wait_and_a_long_uptime_resets_it() {
        let mut l = Lifecycle::new(BackOff::default(), RetryPolicy::default());
        let t = Instant::now();
        let refused = Event::ConnectFail {
            error: ConnectError::Stopped,
        };
        // 5 s plus half of 2^retries s, up to half of 25 s.
        let mut waits = Vec::new();
        for _ in 0..6 {
            waits.push(delay(run(&mut l, t, 0, &[connecting(), refused.clone()])));
        }
        let ms = Duration::from_millis;
        assert_eq!(waits, [ms(5500), s(6), s(7), s(9), s(13), ms(17500)]);
        // Accepted and dropped at once: no fresh start, the wait stays long.
        let brief = delay(run(&mut l, t, 1, &[connecting(), ready(), lost()]));
        assert_eq!(brief, ms(17500));
        // Up for the minimum uptime: the next failure starts again at 5 s.
        let long = delay(run(&mut l, t, 5, &[connecting(), ready(), lost()]));
        assert_eq!(long, ms(5500));
        assert_eq!(l.attempts(), 8);
    }

    #[test]
    fn retry_after_lengthens_the_wait_up_to_the_cap() {
        let back_off = BackOff::default().max_retry_after(s(60));
        let mut l = Lifecycle::new(back_off, RetryPolicy::default());
        let t = Instant::now();
        let rejected = |after: &str| Event::Rejected {
            error: HandshakeError::Status { status: 429 },
            response: Some(Box::new(response(429, &[("retry-after", after)]))),
        };
        let closed = Event::Disconnected {
            reason: DisconnectReason::Rejected,
            graceful: false,
        };
        let wait = |l: &mut Lifecycle, after| {
            delay(run(
                l,
                t,
                0,
                &[connecting(), rejected(after), closed.clone()],
            ))
        };
        assert_eq!(wait(&mut l, "20"), s(20));
        assert_eq!(wait(&mut l, "3600"), s(60));
        // Shorter than the back-off, or unreadable: the back-off rules.
        assert_eq!(wait(&mut l, "1"), s(7));
        assert_eq!(wait(&mut l, "whenever"), s(9));
    }

    #[test]
    fn the_policy_sees_each_failure_and_decides() {
        let policy = RetryPolicy::new(|f| match (f.status(), f.close_code()) {
            (Some(401), _) => Decision::Stop,
            (_, Some(4000)) => Decision::RetryAfter(Duration::from_millis(1)),
            _ => Decision::Retry,
        });
        let mut l = Lifecycle::new(BackOff::default(), policy);
        let t = Instant::now();
        let bye = Utf8Bytes::from_static("bye");
        let closed = [
            connecting(),
            ready(),
            Event::Closing {
                code: Some(4000),
                reason: bye.clone(),
            },
            Event::Closed {
                code: Some(4000),
                reason: bye,
            },
            Event::Disconnected {
                reason: DisconnectReason::Closed,
                graceful: true,
            },
        ];
        assert_eq!(delay(run(&mut l, t, 9, &closed)), Duration::from_millis(1));
        let unauthorized = [
            connecting(),
            Event::Rejected {
                error: HandshakeError::Status { status: 401 },
                response: Some(Box::new(response(401, &[]))),
            },
            Event::Disconnected {
                reason: DisconnectReason::Rejected,
                graceful: false,
            },
        ];
        match run(&mut l, t, 0, &unauthorized) {
            Next::Stop(f) => assert!(matches!(
                *f,
                Failure::Rejected {
                    status: Some(401),
                    ..
                }
            )),
            other => panic!("{other:?}"),
        }
    }
}
