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
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemEntropy;

impl Entropy for SystemEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        rand::RngCore::fill_bytes(&mut rand::rng(), buf);
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
