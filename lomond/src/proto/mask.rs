//! The XOR mask of RFC 6455 §5.3, applied a machine word at a time.
//!
//! Every client frame is masked, so this runs over every byte a client sends.
//! The masking copy works on 128-byte blocks (vector lanes: AVX2 where the
//! CPU has it, SSE2 otherwise), then 8-byte words, and falls back to single
//! bytes only for the tail.

use std::mem::MaybeUninit;

/// Returns `key` rotated so that byte 0 of the result masks payload byte
/// `offset`: what a streamed payload resumes with after `offset` bytes.
#[inline]
pub fn rotate_key(key: [u8; 4], offset: usize) -> [u8; 4] {
    let mut k = key;
    k.rotate_left(offset % 4);
    k
}

/// The key twice over, as the 8-byte word that masks 8 payload bytes.
/// Built from the key as one 32-bit word (the same in either byte
/// order): put together byte by byte it took some 30 instructions, half
/// of masking a 16-byte payload.
#[inline]
fn key_word(key: [u8; 4]) -> u64 {
    let k = u64::from(u32::from_ne_bytes(key));
    k | (k << 32)
}

/// XORs `data` in place with `key`, where `data[0]` is payload byte 0 of the
/// key's cycle (rotate the key with [`rotate_key`] to resume mid-payload).
pub fn apply_mask(data: &mut [u8], key: [u8; 4]) {
    let word = key_word(key);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let v = u64::from_ne_bytes((&*chunk).try_into().expect("8-byte chunk")) ^ word;
        chunk.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
}

/// Appends `src` XORed with `key` to `dst` in one pass: the copy into the
/// output buffer and the mask are the same loop, writing masked words
/// straight into the vector's spare capacity.
///
/// Measured with `cargo run --release -p lomond-bench --bin bench-mask`
/// (x86_64, data in cache): as fast as a plain copy from 64 KiB up, three
/// quarters of it at 1 KiB (docs/bench.md, "Figures behind the code's
/// choices", has the figures and the ones of the designs it replaced).
/// Below 64 bytes it masks with [`mask_small`], as a whole small frame
/// does ([`encode_frame`](super::frame::encode_frame)).
pub fn extend_masked(dst: &mut Vec<u8>, src: &[u8], key: [u8; 4]) {
    dst.reserve(src.len());
    let start = dst.len();
    let out = &mut dst.spare_capacity_mut()[..src.len()];
    if src.len() < SMALL {
        mask_small(out, src, key);
    } else {
        mask_words(out, src, key);
    }
    // SAFETY: `out` is the first `src.len()` bytes of spare capacity (the
    // slice above would have panicked otherwise), and both `mask_small`
    // and `mask_words` write every one of them.
    #[allow(unsafe_code)]
    unsafe {
        dst.set_len(start + src.len())
    };
}

/// Writes `src` XORed with `key` to `out`, which is exactly as long: whole
/// words, then the remainder byte by byte.
fn mask_words(out: &mut [MaybeUninit<u8>], src: &[u8], key: [u8; 4]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, the one requirement of the function.
        #[allow(unsafe_code)]
        unsafe {
            return mask_words_avx2(out, src, key);
        }
    }
    mask_words_any(out, src, key)
}

/// [`mask_words_any`] compiled for AVX2: the same blocks in 32-byte lanes,
/// about half the instructions of SSE2's 16-byte ones (docs/bench.md,
/// "Figures behind the code's choices").
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[target_feature(enable = "avx2")]
unsafe fn mask_words_avx2(out: &mut [MaybeUninit<u8>], src: &[u8], key: [u8; 4]) {
    mask_words_any(out, src, key)
}

/// The masking copy in safe code, for any CPU.
#[inline(always)]
fn mask_words_any(out: &mut [MaybeUninit<u8>], src: &[u8], key: [u8; 4]) {
    // Blocks first, written so that the compiler makes each one a few
    // vector loads, XORs and stores (SSE2, in every x86_64): 8-byte words
    // alone stayed scalar, three instructions per word. Blocks of 256
    // bytes, then at most one of 128: the loop's own counting and bounds
    // were 5 instructions a block, as many as the 8 that mask 128 bytes.
    let word = key_word(key);
    let (out, src) = mask_blocks::<{ 2 * BLOCK }>(out, src, word);
    let (out, src) = mask_blocks::<BLOCK>(out, src, word);
    let mut d = out.chunks_exact_mut(8);
    let mut s = src.chunks_exact(8);
    for (dc, sc) in (&mut d).zip(&mut s) {
        let v = u64::from_ne_bytes(sc.try_into().expect("8-byte chunk")) ^ word;
        let dc: &mut [MaybeUninit<u8>; 8] = dc.try_into().expect("8-byte chunk");
        *dc = v.to_ne_bytes().map(MaybeUninit::new);
    }
    for (i, (db, sb)) in d.into_remainder().iter_mut().zip(s.remainder()).enumerate() {
        db.write(sb ^ key[i % 4]);
    }
}

/// Masks whole blocks of `B` bytes (whole 8-byte words, so that every
/// block starts at key byte 0); returns what is left of both.
#[inline(always)]
fn mask_blocks<'a, 'b, const B: usize>(
    out: &'a mut [MaybeUninit<u8>],
    src: &'b [u8],
    word: u64,
) -> (&'a mut [MaybeUninit<u8>], &'b [u8]) {
    let mut bd = out.chunks_exact_mut(B);
    let mut bs = src.chunks_exact(B);
    for (dc, sc) in (&mut bd).zip(&mut bs) {
        let sc: &[u8; B] = sc.try_into().expect("a block");
        let dc: &mut [MaybeUninit<u8>; B] = dc.try_into().expect("a block");
        for (d, s) in dc.chunks_exact_mut(8).zip(sc.chunks_exact(8)) {
            let v = u64::from_ne_bytes(s.try_into().expect("8 bytes")) ^ word;
            let d: &mut [MaybeUninit<u8>; 8] = d.try_into().expect("8 bytes");
            *d = v.to_ne_bytes().map(MaybeUninit::new);
        }
    }
    (bd.into_remainder(), bs.remainder())
}

/// The smaller block [`mask_words`] masks per step (the larger is twice
/// this).
const BLOCK: usize = 128;

/// Payloads shorter than this are masked by [`mask_small`], which needs no
/// byte loop from 8 bytes up.
pub const SMALL: usize = 64;

/// Writes `src` (shorter than [`SMALL`]) XORed with `key` to `dst`, which
/// is exactly as long: whole words, then the last 8 bytes as one more word
/// that may overlap the ones before (with the same bytes), so only
/// payloads under 8 bytes go byte by byte. Every byte of `dst` is written.
#[inline]
pub fn mask_small(dst: &mut [MaybeUninit<u8>], src: &[u8], key: [u8; 4]) {
    let n = src.len();
    assert_eq!(dst.len(), n);
    debug_assert!(n < SMALL);
    if n < 8 {
        for (i, (d, s)) in dst.iter_mut().zip(src).enumerate() {
            d.write(s ^ key[i % 4]);
        }
        return;
    }
    let word = key_word(key);
    let mut put = |at: usize, w: u64| {
        let v = u64::from_ne_bytes(src[at..at + 8].try_into().expect("8 bytes")) ^ w;
        let d: &mut [MaybeUninit<u8>; 8] = (&mut dst[at..at + 8]).try_into().expect("8 bytes");
        *d = v.to_ne_bytes().map(MaybeUninit::new);
    };
    let mut at = 0;
    while at + 8 <= n {
        put(at, word);
        at += 8;
    }
    if at < n {
        let last = n - 8;
        put(last, key_word(rotate_key(key, last)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(data: &[u8], key: [u8; 4], offset: usize) -> Vec<u8> {
        data.iter()
            .enumerate()
            .map(|(i, b)| b ^ key[(i + offset) % 4])
            .collect()
    }

    #[test]
    fn the_key_word_is_the_key_twice_in_memory_order() {
        for key in [
            [1, 2, 3, 4],
            [0xff, 0, 0x80, 0x7f],
            [0x5a, 0xc3, 0x0f, 0x81],
        ] {
            let bytes = key_word(key).to_ne_bytes();
            assert_eq!(
                bytes,
                [key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]]
            );
        }
    }

    #[test]
    fn matches_bytewise_reference_at_every_length() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        for len in 0..200 {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let mut inplace = data.clone();
            apply_mask(&mut inplace, key);
            assert_eq!(inplace, reference(&data, key, 0), "len {len}");
            let mut out = vec![0xAA];
            extend_masked(&mut out, &data, key);
            assert_eq!(out[0], 0xAA);
            assert_eq!(&out[1..], &reference(&data, key, 0)[..], "len {len}");
        }
    }

    /// The spare-capacity path against the bytewise reference: after
    /// prefixes of every alignment, into vectors with and without room.
    #[test]
    fn extend_masked_writes_exactly_the_masked_bytes_after_any_prefix() {
        let key = [0x9c, 0x01, 0xe4, 0x7b];
        for len in (60..140).chain(250..400).chain([4095, 4096, 4097, 70001]) {
            let data: Vec<u8> = (0..len).map(|i| (i * 13 + 5) as u8).collect();
            for prefix in 0..9 {
                for room in [0, len + 100] {
                    let mut out = Vec::with_capacity(prefix + room);
                    out.extend(std::iter::repeat_n(0x55, prefix));
                    extend_masked(&mut out, &data, key);
                    assert_eq!(out.len(), prefix + len);
                    assert!(out[..prefix].iter().all(|&b| b == 0x55));
                    assert_eq!(&out[prefix..], &reference(&data, key, 0)[..], "len {len}");
                }
            }
        }
    }

    /// The masking copy the CPU runs (AVX2 where it has it) against the
    /// one for any CPU, at lengths around every block and word boundary.
    #[test]
    fn the_vector_path_matches_the_path_for_any_cpu() {
        let key = [0x5a, 0xc3, 0x0f, 0x81];
        for len in (0..520).chain([4095, 4096, 65_536, 65_539]) {
            let data: Vec<u8> = (0..len).map(|i| (i * 29 + 11) as u8).collect();
            let mut fast = vec![MaybeUninit::new(0u8); len];
            let mut any = vec![MaybeUninit::new(0u8); len];
            mask_words(&mut fast, &data, key);
            mask_words_any(&mut any, &data, key);
            // SAFETY: both were initialized above and written since.
            #[allow(unsafe_code)]
            let (fast, any): (Vec<u8>, Vec<u8>) = unsafe {
                (
                    fast.iter().map(|b| b.assume_init()).collect(),
                    any.iter().map(|b| b.assume_init()).collect(),
                )
            };
            assert_eq!(fast, reference(&data, key, 0), "len {len}");
            assert_eq!(any, fast, "len {len}");
        }
    }

    #[test]
    fn rotated_key_resumes_mid_payload() {
        let key = [1, 2, 3, 4];
        let data: Vec<u8> = (0..41).collect();
        for split in 0..data.len() {
            let mut buf = data.clone();
            let (a, b) = buf.split_at_mut(split);
            apply_mask(a, key);
            apply_mask(b, rotate_key(key, split));
            assert_eq!(buf, reference(&data, key, 0), "split {split}");
        }
    }

    #[test]
    fn rfc_example_hello() {
        // RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d.
        let mut out = Vec::new();
        extend_masked(&mut out, b"Hello", [0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(out, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }
}
