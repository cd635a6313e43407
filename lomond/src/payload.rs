//! [`Payload`]: the bytes of a received message, held inline when small.
//!
//! A message handed out as a slice of the read buffer ([`Bytes`]) costs two
//! atomic reference-count updates and the buffer bookkeeping around them:
//! 35-40% of the CPU time of receiving 16-byte messages (perf). Copying a
//! small payload into the event instead costs a few stores; copying it into
//! a fresh allocation cost as much as the sharing did (malloc and free).
//! So payloads up to [`Payload::INLINE`] bytes (which covers the JSON
//! telemetry and echo messages of the benchmarks) travel inside the event,
//! and larger ones still share the buffer they were read into, uncopied.

use bytes::Bytes;
use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// An immutable byte string: a binary message's payload (and, through
/// [`Utf8Bytes`](crate::Utf8Bytes), a text message's).
///
/// It derefs to `&[u8]`. Small payloads are stored inline, larger ones share
/// the buffer they were received into; [`Payload::into_bytes`] gives
/// [`Bytes`] (copying only an inline payload). Cloning is cheap either way.
#[derive(Clone)]
pub struct Payload(Repr);

#[derive(Clone)]
enum Repr {
    Inline(Inline),
    Shared(Bytes),
}

/// An inline payload, aligned as the `Bytes` it stands in for: both
/// variants then start at offset 8, after the tag, and a payload is moved
/// in aligned words. With `len` and the bytes at offset 1 (as a plain
/// struct variant lays them out), each move wrote the tag and then the 39
/// bytes from offset 1, and the next move's 16-byte loads straddled those
/// stores: store forwarding failed at each hand-over (perf annotate), and
/// 16-byte messages cost 10-17% more CPU to receive and 9% more to send
/// (tokio).
#[derive(Clone, Copy)]
#[repr(C, align(8))]
struct Inline {
    len: u8,
    data: [u8; Payload::INLINE],
}

impl Payload {
    /// The largest payload held inline, without an allocation or a shared
    /// buffer: 39 keeps a payload at 48 bytes, so a message's event is no
    /// larger than the largest other event (72 bytes, `Connected`).
    pub const INLINE: usize = 39;

    /// An empty payload.
    pub const fn new() -> Payload {
        Payload(Repr::Inline(Inline {
            len: 0,
            data: [0; Payload::INLINE],
        }))
    }

    /// A copy of `data`: inline when small, else in a new buffer.
    #[inline]
    pub fn copy_from_slice(data: &[u8]) -> Payload {
        if data.len() <= Payload::INLINE {
            Payload(Repr::Inline(Inline {
                len: data.len() as u8,
                data: small_copy(data),
            }))
        } else {
            Payload(Repr::Shared(Bytes::copy_from_slice(data)))
        }
    }

    /// The first `len` bytes of `window` (at most [`Payload::INLINE`]),
    /// inline. The whole window is copied: a fixed-size copy is a few
    /// aligned moves, where a copy of `len` bytes is a call to `memcpy`
    /// whose stores the next move of the event cannot forward from. The
    /// bytes past `len` are kept but never shown.
    pub(crate) fn inline_prefix(window: &[u8; Payload::INLINE], len: usize) -> Payload {
        assert!(len <= Payload::INLINE);
        Payload(Repr::Inline(Inline {
            len: len as u8,
            data: *window,
        }))
    }

    /// A static byte string, without copying.
    pub const fn from_static(data: &'static [u8]) -> Payload {
        Payload(Repr::Shared(Bytes::from_static(data)))
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline(Inline { len, data }) => &data[..*len as usize],
            Repr::Shared(b) => b,
        }
    }

    /// The payload as [`Bytes`]: free for a shared payload, a copy (one
    /// small allocation) for an inline one.
    pub fn into_bytes(self) -> Bytes {
        match self.0 {
            Repr::Inline(Inline { len, data }) => Bytes::copy_from_slice(&data[..len as usize]),
            Repr::Shared(b) => b,
        }
    }

    /// The payload as a `Vec<u8>` (copies).
    pub fn to_vec(&self) -> Vec<u8> {
        self.as_slice().to_vec()
    }
}

impl Default for Payload {
    fn default() -> Payload {
        Payload::new()
    }
}

impl Deref for Payload {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Payload {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Borrow<[u8]> for Payload {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl fmt::Debug for Payload {
    /// Exactly as [`Bytes`] prints (`b"..."` with its escapes): an inline
    /// payload is copied into one to print, rather than its escaping
    /// written again here.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Inline(_) => fmt::Debug::fmt(&Bytes::copy_from_slice(self), f),
            Repr::Shared(b) => fmt::Debug::fmt(b, f),
        }
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Payload) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Payload {}

impl PartialOrd for Payload {
    fn partial_cmp(&self, other: &Payload) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Payload {
    fn cmp(&self, other: &Payload) -> std::cmp::Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl Hash for Payload {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state)
    }
}

impl PartialEq<[u8]> for Payload {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl PartialEq<&[u8]> for Payload {
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_slice() == *other
    }
}

impl<const N: usize> PartialEq<[u8; N]> for Payload {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.as_slice() == other
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Payload {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.as_slice() == *other
    }
}

impl PartialEq<Vec<u8>> for Payload {
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<Bytes> for Payload {
    fn eq(&self, other: &Bytes) -> bool {
        self.as_slice() == other.as_ref()
    }
}

/// `data` (at most [`Payload::INLINE`] bytes) zero-padded, gathered by a
/// few loads that may overlap and stored in fixed words. The `memcpy` of
/// `data.len()` bytes this replaces was a call whose stores the loads right
/// after it could not forward from: that one stall was three quarters of
/// the conversion's samples when sending 16-byte messages (perf annotate).
#[inline]
fn small_copy(data: &[u8]) -> [u8; Payload::INLINE] {
    let n = data.len();
    debug_assert!(n <= Payload::INLINE);
    let u16s = |at: usize| u128::from_le_bytes(data[at..at + 16].try_into().unwrap());
    let u8s = |at: usize| u64::from_le_bytes(data[at..at + 8].try_into().unwrap());
    let u4s = |at: usize| u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
    // Each pair of loads overlaps in bytes that are the same in both, so OR
    // joins them; the shifts move the second load to where its bytes go.
    let (w0, w1, w2): (u128, u128, u64) = match n {
        0 => (0, 0, 0),
        1..=3 => {
            let v = data[0] as u128
                | (data[n / 2] as u128) << (n / 2 * 8)
                | (data[n - 1] as u128) << ((n - 1) * 8);
            (v, 0, 0)
        }
        4..=7 => (u4s(0) as u128 | (u4s(n - 4) as u128) << ((n - 4) * 8), 0, 0),
        8..=16 => (u8s(0) as u128 | (u8s(n - 8) as u128) << ((n - 8) * 8), 0, 0),
        17..=32 => (u16s(0), u16s(n - 16) >> ((32 - n) * 8), 0),
        _ => (u16s(0), u16s(16), u8s(n - 8) >> ((40 - n) * 8)),
    };
    let mut out = [0; Payload::INLINE];
    out[..16].copy_from_slice(&w0.to_le_bytes());
    out[16..32].copy_from_slice(&w1.to_le_bytes());
    out[32..].copy_from_slice(&w2.to_le_bytes()[..7]);
    out
}

impl From<Bytes> for Payload {
    /// Takes the bytes as they are (never copies, even when small).
    fn from(b: Bytes) -> Payload {
        Payload(Repr::Shared(b))
    }
}

impl From<&Bytes> for Payload {
    /// Shares the bytes, or copies them inline when small: sending one
    /// `Bytes` many times then costs no reference counting for small
    /// payloads (docs/bench.md, "Figures behind the code's choices").
    fn from(b: &Bytes) -> Payload {
        if b.len() <= Payload::INLINE {
            Payload::copy_from_slice(b)
        } else {
            Payload(Repr::Shared(b.clone()))
        }
    }
}

impl From<Vec<u8>> for Payload {
    fn from(v: Vec<u8>) -> Payload {
        Payload(Repr::Shared(Bytes::from(v)))
    }
}

impl From<&[u8]> for Payload {
    fn from(s: &[u8]) -> Payload {
        Payload::copy_from_slice(s)
    }
}

impl<const N: usize> From<&[u8; N]> for Payload {
    fn from(s: &[u8; N]) -> Payload {
        Payload::copy_from_slice(s)
    }
}

impl From<Payload> for Bytes {
    fn from(p: Payload) -> Bytes {
        p.into_bytes()
    }
}

impl From<Payload> for Vec<u8> {
    fn from(p: Payload) -> Vec<u8> {
        match p.0 {
            Repr::Inline(Inline { len, data }) => data[..len as usize].to_vec(),
            Repr::Shared(b) => Vec::from(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_length_round_trips_inline_or_shared() {
        let data: Vec<u8> = (0..=255u8).cycle().take(200).collect();
        for n in 0..data.len() {
            let p = Payload::copy_from_slice(&data[..n]);
            assert_eq!(matches!(p.0, Repr::Inline(_)), n <= Payload::INLINE);
            assert_eq!(&*p, &data[..n]);
            assert_eq!(p.len(), n);
            assert_eq!(p.clone(), p);
            assert_eq!(p.clone().into_bytes(), &data[..n]);
            assert_eq!(Vec::from(p.clone()), &data[..n]);
            let bytes = Bytes::copy_from_slice(&data[..n]);
            assert_eq!(Payload::from(bytes.clone()), p);
            let borrowed = Payload::from(&bytes);
            assert_eq!(matches!(borrowed.0, Repr::Inline(_)), n <= Payload::INLINE);
            assert_eq!(borrowed, p);
            if n > Payload::INLINE {
                // Shared, not copied.
                assert_eq!(borrowed.as_ptr(), bytes.as_ptr());
            }
        }
    }

    #[test]
    fn small_copies_match_the_slice_and_pad_with_zeros() {
        let data: Vec<u8> = (1..=Payload::INLINE as u8).collect();
        for n in 0..=Payload::INLINE {
            let mut want = [0; Payload::INLINE];
            want[..n].copy_from_slice(&data[..n]);
            assert_eq!(small_copy(&data[..n]), want, "length {n}");
        }
    }

    #[test]
    fn compares_and_prints_as_its_bytes() {
        let inline = Payload::from(b"a\x00b");
        let shared = Payload::from(Bytes::from_static(b"a\x00b"));
        assert_eq!(inline, shared);
        assert_eq!(inline, b"a\x00b");
        assert_eq!(inline, &b"a\x00b"[..]);
        assert_eq!(inline, Bytes::from_static(b"a\x00b"));
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(
            format!("{:?}", Payload::from(all.clone())),
            format!("{:?}", Bytes::from(all.clone()))
        );
        for chunk in all.chunks(Payload::INLINE) {
            let p = Payload::copy_from_slice(chunk);
            assert!(matches!(p.0, Repr::Inline(_)));
            assert_eq!(
                format!("{p:?}"),
                format!("{:?}", Bytes::copy_from_slice(chunk))
            );
        }
        let (a, b) = (Payload::from(b"a"), Payload::from(b"b"));
        assert!(a < b);
        assert_eq!(Payload::default(), Payload::from_static(b""));
        let hash = |p: &Payload| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            p.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&inline), hash(&shared));
    }

    #[test]
    fn an_inline_prefix_is_only_its_prefix() {
        let window: [u8; Payload::INLINE] = std::array::from_fn(|i| b'a' + i as u8);
        for n in 0..=Payload::INLINE {
            let p = Payload::inline_prefix(&window, n);
            let q = Payload::copy_from_slice(&window[..n]);
            assert_eq!(&*p, &window[..n]);
            assert_eq!(p, q);
            assert_eq!(format!("{p:?}"), format!("{q:?}"));
            assert_eq!(p.clone().into_bytes(), &window[..n]);
            assert_eq!(Vec::from(p.clone()), &window[..n]);
            let hash = |p: &Payload| {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                p.hash(&mut h);
                h.finish()
            };
            assert_eq!(hash(&p), hash(&q));
        }
    }

    #[test]
    fn keeps_an_event_at_72_bytes() {
        assert_eq!(std::mem::size_of::<Payload>(), 48);
        assert_eq!(std::mem::align_of::<Inline>(), 8);
        // 64 until `Connected` named its proxy; callgrind showed no cost
        // per message at 72 (recv 16 B, both drivers).
        assert_eq!(std::mem::size_of::<crate::Event>(), 72);
    }
}
