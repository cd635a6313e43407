//! Where mask keys and handshake nonces come from.
//!
//! Kept behind a trait so tests can make every byte the core writes
//! reproducible, while real connections use a cryptographically secure
//! generator (RFC 6455 §10.3: mask keys must not be predictable).

/// A source of random bytes for mask keys and `Sec-WebSocket-Key` nonces.
pub trait Entropy: Send {
    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]);
}

/// The default source: `rand`'s thread-local ChaCha generator, seeded and
/// periodically reseeded from the operating system.
///
/// Small requests (a mask key is 4 bytes, one per frame sent) are served
/// from a per-thread pool of that generator's output, refilled 256 bytes at
/// a time: the generator's per-call overhead was an eighth of the CPU time
/// of sending small messages.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemEntropy;

/// Bytes drawn from the generator ahead of use, per thread.
struct Pool {
    bytes: [u8; POOL_SIZE],
    used: usize,
}

const POOL_SIZE: usize = 256;

thread_local! {
    static POOL: std::cell::RefCell<Pool> = const {
        std::cell::RefCell::new(Pool { bytes: [0; POOL_SIZE], used: POOL_SIZE })
    };
}

impl Entropy for SystemEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        if buf.len() > POOL_SIZE / 4 {
            return rand::RngCore::fill_bytes(&mut rand::rng(), buf);
        }
        POOL.with_borrow_mut(|pool| {
            if pool.used + buf.len() > POOL_SIZE {
                rand::RngCore::fill_bytes(&mut rand::rng(), &mut pool.bytes);
                pool.used = 0;
            }
            buf.copy_from_slice(&pool.bytes[pool.used..pool.used + buf.len()]);
            pool.used += buf.len();
        });
    }
}

/// Mask keys drawn from an [`Entropy`] 16 at a time, one per frame sent:
/// one call to the source per 16 frames instead of one per frame (the
/// call was a twentieth of the CPU time of sending 16-byte messages). The
/// keys come in the order the source yields them, as if drawn one by one.
pub(crate) struct MaskKeys {
    keys: [u8; KEYS_SIZE],
    used: usize,
}

const KEYS_SIZE: usize = 64;

impl MaskKeys {
    pub(crate) fn new() -> MaskKeys {
        MaskKeys {
            keys: [0; KEYS_SIZE],
            used: KEYS_SIZE,
        }
    }

    /// The next key, refilling from `entropy` when all are used.
    #[inline]
    pub(crate) fn next(&mut self, entropy: &mut dyn Entropy) -> [u8; 4] {
        if self.used == KEYS_SIZE {
            entropy.fill(&mut self.keys);
            self.used = 0;
        }
        let key = [
            self.keys[self.used],
            self.keys[self.used + 1],
            self.keys[self.used + 2],
            self.keys[self.used + 3],
        ];
        self.used += 4;
        key
    }
}

/// Deterministic bytes for tests: repeats the given pattern forever.
#[derive(Debug, Clone)]
pub struct FixedEntropy {
    pattern: Vec<u8>,
    pos: usize,
}

impl FixedEntropy {
    /// A source that yields `pattern` over and over (all zeroes if empty).
    pub fn new(pattern: impl Into<Vec<u8>>) -> Self {
        let mut pattern = pattern.into();
        if pattern.is_empty() {
            pattern.push(0);
        }
        FixedEntropy { pattern, pos: 0 }
    }
}

impl Entropy for FixedEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.pattern[self.pos];
            self.pos = (self.pos + 1) % self.pattern.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_keys_come_in_the_order_the_source_yields_them() {
        // A pattern longer than the 64-byte refill: the keys must continue
        // it across refills, exactly as one 4-byte draw per key would.
        let pattern: Vec<u8> = (0..=250).collect();
        let mut pooled = FixedEntropy::new(pattern.clone());
        let mut direct = FixedEntropy::new(pattern);
        let mut keys = MaskKeys::new();
        for _ in 0..100 {
            let mut want = [0u8; 4];
            direct.fill(&mut want);
            assert_eq!(keys.next(&mut pooled), want);
        }
    }

    #[test]
    fn system_entropy_never_repeats_a_pool_slice() {
        // 4-byte keys across several pool refills: all distinct (a repeat
        // of 32 random bits among 1,000 draws is a 1 in 10^4 event; of the
        // same 4 bytes from a reused pool slice, certain).
        let mut seen = std::collections::HashSet::new();
        let mut e = SystemEntropy;
        for _ in 0..1000 {
            let mut key = [0u8; 4];
            e.fill(&mut key);
            seen.insert(key);
        }
        assert!(seen.len() >= 999, "{} distinct of 1000", seen.len());
        // Odd sizes and large requests work too.
        let mut big = [0u8; 1000];
        e.fill(&mut big);
        assert!(big.iter().any(|&b| b != 0));
        let mut odd = [0u8; 7];
        for _ in 0..100 {
            e.fill(&mut odd);
        }
    }
}
