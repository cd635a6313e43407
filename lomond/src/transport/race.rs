//! [`Race`]: Happy Eyeballs (RFC 8305) as a sans-IO plan. It says which
//! address to try next and when; the drivers make the attempts (threads for
//! the blocking driver, futures for tokio) and report how each ended.
//!
//! The addresses are interleaved by family, the first family first (RFC 8305
//! §4), so a host whose IPv6 route is black-holed still connects over IPv4
//! one stagger later, not after the connect timeout. A new attempt starts
//! every stagger, or at once when every running attempt has failed (§5).

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The plan for connecting to one host's addresses.
#[derive(Debug)]
pub(crate) struct Race {
    queue: VecDeque<SocketAddr>,
    stagger: Duration,
    /// When the next attempt may start; `None` before the first.
    next_at: Option<Instant>,
    running: usize,
    /// The last failure, reported when every attempt has failed.
    last_error: Option<(SocketAddr, io::Error)>,
}

impl Race {
    /// A race over `addrs`, in resolver order but interleaved by family.
    pub(crate) fn new(addrs: Vec<SocketAddr>, stagger: Duration) -> Race {
        Race {
            queue: interleave(addrs),
            stagger,
            next_at: None,
            running: 0,
            last_error: None,
        }
    }

    /// The next address to try now, if one is due.
    pub(crate) fn poll_start(&mut self, now: Instant) -> Option<SocketAddr> {
        let due = self.running == 0 || self.next_at.is_none_or(|at| at <= now);
        if !due {
            return None;
        }
        let addr = self.queue.pop_front()?;
        self.running += 1;
        self.next_at = Some(now + self.stagger);
        Some(addr)
    }

    /// An attempt failed; the next one may start at once if none is running.
    pub(crate) fn failed(&mut self, addr: SocketAddr, error: io::Error) {
        self.running = self.running.saturating_sub(1);
        self.last_error = Some((addr, error));
    }

    /// When the next attempt is due while others run; `None` when none is
    /// left to start (wait for the running ones only).
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        if self.queue.is_empty() {
            None
        } else {
            self.next_at
        }
    }

    /// Every address was tried and every attempt failed.
    pub(crate) fn is_lost(&self) -> bool {
        self.running == 0 && self.queue.is_empty()
    }

    /// The failure to report once the race is lost.
    pub(crate) fn take_error(&mut self) -> (SocketAddr, io::Error) {
        self.last_error.take().unwrap_or_else(|| {
            (
                SocketAddr::from(([0, 0, 0, 0], 0)),
                io::Error::new(io::ErrorKind::NotFound, "no addresses"),
            )
        })
    }
}

/// Alternates address families, starting with the first address's, keeping
/// the resolver's order within each family.
fn interleave(addrs: Vec<SocketAddr>) -> VecDeque<SocketAddr> {
    let Some(first) = addrs.first() else {
        return VecDeque::new();
    };
    let first_v6 = first.is_ipv6();
    let (mut lead, mut other): (VecDeque<_>, VecDeque<_>) =
        addrs.into_iter().partition(|a| a.is_ipv6() == first_v6);
    let mut out = VecDeque::with_capacity(lead.len() + other.len());
    loop {
        match (lead.pop_front(), other.pop_front()) {
            (None, None) => return out,
            (a, b) => out.extend(a.into_iter().chain(b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn families_alternate_from_the_first() {
        let addrs = vec![
            a("[::1]:1"),
            a("[::2]:1"),
            a("[::3]:1"),
            a("10.0.0.1:1"),
            a("10.0.0.2:1"),
        ];
        let order: Vec<_> = interleave(addrs).into_iter().collect();
        assert_eq!(
            order,
            [
                a("[::1]:1"),
                a("10.0.0.1:1"),
                a("[::2]:1"),
                a("10.0.0.2:1"),
                a("[::3]:1")
            ]
        );
        let order: Vec<_> = interleave(vec![a("10.0.0.1:1"), a("[::1]:1")])
            .into_iter()
            .collect();
        assert_eq!(order, [a("10.0.0.1:1"), a("[::1]:1")]);
    }

    #[test]
    fn attempts_are_staggered_and_a_failure_starts_the_next_at_once() {
        let t0 = Instant::now();
        let stagger = Duration::from_millis(250);
        let mut race = Race::new(
            vec![a("[::1]:1"), a("[::2]:1"), a("10.0.0.1:1"), a("10.0.0.2:1")],
            stagger,
        );
        assert_eq!(race.poll_start(t0), Some(a("[::1]:1")));
        assert_eq!(race.poll_start(t0), None, "the second waits its stagger");
        assert_eq!(race.next_deadline(), Some(t0 + stagger));
        let t1 = t0 + stagger;
        assert_eq!(race.poll_start(t1), Some(a("10.0.0.1:1")));
        assert_eq!(race.poll_start(t1), None);
        // Both running attempts fail: the next starts before its stagger.
        race.failed(a("[::1]:1"), io::ErrorKind::ConnectionRefused.into());
        assert_eq!(race.poll_start(t1), None, "one attempt still runs");
        race.failed(a("10.0.0.1:1"), io::ErrorKind::ConnectionRefused.into());
        assert_eq!(race.poll_start(t1), Some(a("[::2]:1")));
        assert!(!race.is_lost());
        let t2 = t1 + stagger;
        assert_eq!(race.poll_start(t2), Some(a("10.0.0.2:1")));
        assert_eq!(race.next_deadline(), None, "nothing left to start");
        assert_eq!(race.poll_start(t2 + stagger), None);
        race.failed(a("[::2]:1"), io::ErrorKind::TimedOut.into());
        assert!(!race.is_lost());
        race.failed(a("10.0.0.2:1"), io::ErrorKind::ConnectionRefused.into());
        assert!(race.is_lost());
        let (addr, e) = race.take_error();
        assert_eq!(addr, a("10.0.0.2:1"));
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
    }

    #[test]
    fn no_addresses_is_lost_at_once() {
        let mut race = Race::new(Vec::new(), Duration::from_millis(250));
        assert_eq!(race.poll_start(Instant::now()), None);
        assert!(race.is_lost());
        assert_eq!(race.take_error().1.kind(), io::ErrorKind::NotFound);
    }
}
