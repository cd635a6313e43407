//! [`BackOff`]: how long persist waits before it reconnects.

use std::time::Duration;

/// The wait between connections: Lomond's formula,
/// `min_wait + random × min(max_wait − min_wait, 2^retries s)`, where
/// `retries` counts the connections in a row that failed or did not stay
/// up for `min_uptime`. The random factor (uniform in [0, 1)) spreads a
/// fleet of devices that lost the same server, so that they never
/// reconnect in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackOff {
    /// The shortest wait (default 5 s).
    pub min_wait: Duration,
    /// The longest wait the formula gives (default 30 s).
    pub max_wait: Duration,
    /// How long a connection must stay `Ready` before its end counts as a
    /// fresh start, resetting `retries` (default 5 s). A server that accepts
    /// and closes at once so still meets a growing wait, never a tight loop.
    pub min_uptime: Duration,
    /// The longest wait a server's `Retry-After` may ask for (default
    /// 10 min): a longer one is cut to this.
    pub max_retry_after: Duration,
}

impl Default for BackOff {
    fn default() -> Self {
        BackOff {
            min_wait: Duration::from_secs(5),
            max_wait: Duration::from_secs(30),
            min_uptime: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(600),
        }
    }
}

impl BackOff {
    /// Waits between `min_wait` and `max_wait` (a `max_wait` below
    /// `min_wait` counts as `min_wait`).
    pub fn new(min_wait: Duration, max_wait: Duration) -> BackOff {
        BackOff {
            min_wait,
            max_wait,
            ..BackOff::default()
        }
    }

    /// Sets `min_uptime`.
    pub fn min_uptime(mut self, uptime: Duration) -> BackOff {
        self.min_uptime = uptime;
        self
    }

    /// Sets `max_retry_after`.
    pub fn max_retry_after(mut self, cap: Duration) -> BackOff {
        self.max_retry_after = cap;
        self
    }

    /// The wait after `retries` failures in a row, for `random` in [0, 1).
    pub fn delay(&self, retries: u32, random: f64) -> Duration {
        let spread = self.max_wait.saturating_sub(self.min_wait);
        // 2^retries seconds, without overflow: past 2^40 s the cap rules.
        let growth = Duration::from_secs(1u64 << retries.min(40));
        let range = spread.min(growth);
        self.min_wait + range.mul_f64(random.clamp(0.0, 1.0))
    }

    /// The wait a server asked for, cut to `max_retry_after`, when it is
    /// longer than `delay`.
    pub(crate) fn honour(&self, delay: Duration, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(asked) => delay.max(asked.min(self.max_retry_after)),
            None => delay,
        }
    }
}

/// A uniform random number in [0, 1) from the system's randomness.
pub(crate) fn random_unit() -> f64 {
    rand::random::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lomonds_formula_grows_to_the_cap_and_stays_in_range() {
        let b = BackOff::default();
        let s = Duration::from_secs;
        // Each range: min_wait plus up to 2^retries s, at most 25 s more.
        let ranges = [(0, 1), (1, 2), (2, 4), (3, 8), (4, 16), (5, 25), (60, 25)];
        for (retries, width) in ranges {
            assert_eq!(b.delay(retries, 0.0), s(5), "retries {retries}");
            let top = b.delay(retries, 0.999_999);
            assert!(top < s(5 + width) && top > s(5 + width) - s(1) / 100);
            assert_eq!(b.delay(retries, 0.5), s(5) + s(width) / 2);
        }
        // A cap below the floor is the floor; randomness outside [0, 1)
        // cannot leave the range.
        let flat = BackOff::new(s(3), s(1));
        assert_eq!(flat.delay(9, 0.7), s(3));
        assert_eq!(b.delay(2, 7.0), s(9));
        assert_eq!(b.delay(2, -1.0), s(5));
    }

    #[test]
    fn retry_after_is_honoured_up_to_its_cap() {
        let s = Duration::from_secs;
        let b = BackOff::default().max_retry_after(s(60));
        assert_eq!(b.honour(s(6), None), s(6));
        assert_eq!(b.honour(s(6), Some(s(2))), s(6));
        assert_eq!(b.honour(s(6), Some(s(40))), s(40));
        assert_eq!(b.honour(s(6), Some(s(4000))), s(60));
    }

    #[test]
    fn system_randomness_spreads_over_the_unit_interval() {
        let draws: Vec<f64> = (0..2000).map(|_| random_unit()).collect();
        assert!(draws.iter().all(|r| (0.0..1.0).contains(r)));
        // Each tenth of the interval gets a share (expected 200 of 2000).
        for tenth in 0..10 {
            let lo = tenth as f64 / 10.0;
            let n = draws.iter().filter(|r| (lo..lo + 0.1).contains(*r)).count();
            assert!((100..300).contains(&n), "tenth {tenth}: {n}");
        }
    }
}
