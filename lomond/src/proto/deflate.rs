//! permessage-deflate (RFC 7692): the offer, strict checking of the server's
//! answer, and a bounded, streaming codec.
//!
//! Decompression runs as compressed bytes arrive and never produces more
//! than the message size limit allows, so a decompression bomb costs at most
//! the limit before it is refused. Compression uses zlib-rs through flate2.

use crate::error::{HandshakeError, OptionError, ProtocolError};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// Smallest LZ77 window RFC 7692 allows (2^8 bytes).
pub const MIN_WINDOW_BITS: u8 = 8;
/// Largest LZ77 window (2^15 bytes), the default.
pub const MAX_WINDOW_BITS: u8 = 15;

/// The bytes every compressed message ends with, removed on the wire.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Inflated bytes produced per step when the limit allows more.
const INFLATE_STEP: usize = 32 << 10;

/// What a client asks for when it offers permessage-deflate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateConfig {
    /// Ask the server to compress with a window of at most 2^N bytes
    /// (8-15); `None` leaves it to the server.
    pub server_max_window_bits: Option<u8>,
    /// Compress with a window of at most 2^N bytes (8-15); `None` offers the
    /// parameter without a value, letting the server choose.
    pub client_max_window_bits: Option<u8>,
    /// Ask the server to compress each message on its own (less memory for
    /// it, worse compression).
    pub server_no_context_takeover: bool,
    /// Compress each message on its own.
    pub client_no_context_takeover: bool,
    /// zlib compression level, 0-9 (default 6).
    pub level: u32,
    /// Messages shorter than this are sent uncompressed (default 64 bytes).
    pub threshold: usize,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig {
            server_max_window_bits: None,
            client_max_window_bits: None,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            level: 6,
            threshold: 64,
        }
    }
}

/// The parameters in force after negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateParams {
    /// The server resets its compression context after each message.
    pub server_no_context_takeover: bool,
    /// The client resets its compression context after each message.
    pub client_no_context_takeover: bool,
    /// The server's window is at most 2^N bytes.
    pub server_max_window_bits: u8,
    /// The client's window is at most 2^N bytes.
    pub client_max_window_bits: u8,
}

fn invalid(why: impl Into<String>) -> HandshakeError {
    HandshakeError::InvalidExtension(why.into())
}

/// The parameters of one extension element, strictly parsed.
#[derive(Default)]
struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: present without a value.
    client_max_window_bits: Option<Option<u8>>,
}

fn window_bits(name: &str, value: Option<&str>) -> Result<u8, HandshakeError> {
    let value = value.ok_or_else(|| invalid(format!("{name} needs a value")))?;
    let digits = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    match digits.parse::<u8>() {
        Ok(bits)
            if (MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&bits)
                && digits.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Ok(bits)
        }
        _ => Err(invalid(format!("{name}={value} is not 8 to 15"))),
    }
}

/// Parses `; name[=value]` parameters; unknown, repeated or malformed ones
/// fail.
fn parse_params(params: &str) -> Result<Params, HandshakeError> {
    let mut p = Params::default();
    let mut seen: Vec<&str> = Vec::new();
    for param in params.split(';').map(str::trim) {
        if param.is_empty() {
            return Err(invalid("empty parameter"));
        }
        let (name, value) = match param.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (param, None),
        };
        if seen.contains(&name) {
            return Err(invalid(format!("{name} repeated")));
        }
        seen.push(name);
        let flag = |value: Option<&str>| match value {
            None => Ok(true),
            Some(_) => Err(invalid(format!("{name} takes no value"))),
        };
        match name {
            "server_no_context_takeover" => p.server_no_context_takeover = flag(value)?,
            "client_no_context_takeover" => p.client_no_context_takeover = flag(value)?,
            "server_max_window_bits" => p.server_max_window_bits = Some(window_bits(name, value)?),
            "client_max_window_bits" => {
                p.client_max_window_bits = Some(match value {
                    None => None,
                    Some(_) => Some(window_bits(name, value)?),
                })
            }
            other => return Err(invalid(format!("unknown parameter {other}"))),
        }
    }
    Ok(p)
}

/// Splits `permessage-deflate; a; b=1` into the name and the parameters.
pub(crate) fn split_element(element: &str) -> (&str, Option<&str>) {
    match element.split_once(';') {
        Some((name, params)) => (name.trim(), Some(params)),
        None => (element.trim(), None),
    }
}

impl DeflateConfig {
    /// Checks the configuration can be offered.
    pub fn validate(&self) -> Result<(), OptionError> {
        for bits in [self.server_max_window_bits, self.client_max_window_bits]
            .into_iter()
            .flatten()
        {
            if !(MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&bits) {
                return Err(OptionError::WindowBits(bits));
            }
        }
        if self.level > 9 {
            return Err(OptionError::Level(self.level));
        }
        Ok(())
    }

    /// The `Sec-WebSocket-Extensions` element offering this configuration.
    pub fn offer(&self) -> String {
        let mut offer = String::from("permessage-deflate");
        if let Some(bits) = self.server_max_window_bits {
            offer.push_str(&format!("; server_max_window_bits={bits}"));
        }
        match self.client_max_window_bits {
            Some(bits) => offer.push_str(&format!("; client_max_window_bits={bits}")),
            None => offer.push_str("; client_max_window_bits"),
        }
        if self.server_no_context_takeover {
            offer.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            offer.push_str("; client_no_context_takeover");
        }
        offer
    }

    /// Checks the parameters of the server's permessage-deflate answer
    /// against this offer (RFC 7692 §7.1) and returns what is in force.
    pub fn accept_response(&self, params: Option<&str>) -> Result<DeflateParams, HandshakeError> {
        let p = match params {
            Some(params) => parse_params(params)?,
            None => Params::default(),
        };
        if self.server_no_context_takeover && !p.server_no_context_takeover {
            return Err(invalid(
                "server_no_context_takeover was requested but not accepted",
            ));
        }
        let server_max_window_bits = match (self.server_max_window_bits, p.server_max_window_bits) {
            (None, got) => got.unwrap_or(MAX_WINDOW_BITS),
            (Some(_), None) => {
                return Err(invalid(
                    "server_max_window_bits was requested but not accepted",
                ))
            }
            (Some(asked), Some(got)) if got > asked => {
                return Err(invalid(format!(
                    "server_max_window_bits={got} is more than the {asked} requested"
                )))
            }
            (Some(_), Some(got)) => got,
        };
        let client_max_window_bits = match (self.client_max_window_bits, p.client_max_window_bits) {
            (_, Some(None)) => return Err(invalid("client_max_window_bits needs a value")),
            (None, got) => got.flatten().unwrap_or(MAX_WINDOW_BITS),
            (Some(ours), None) => ours,
            (Some(ours), Some(Some(got))) if got > ours => {
                return Err(invalid(format!(
                    "client_max_window_bits={got} is more than the {ours} offered"
                )))
            }
            (Some(_), Some(Some(got))) => got,
        };
        Ok(DeflateParams {
            server_no_context_takeover: p.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover
                || p.client_no_context_takeover,
            server_max_window_bits,
            client_max_window_bits,
        })
    }
}

/// Server role: answers a client's permessage-deflate offer, or `None` if
/// the offer's parameters are not acceptable. The server compresses with the
/// largest window the client allows and honours both context requests.
pub fn answer_offer(params: Option<&str>) -> Option<(String, DeflateParams)> {
    let p = match params {
        Some(params) => parse_params(params).ok()?,
        None => Params::default(),
    };
    let agreed = DeflateParams {
        server_no_context_takeover: p.server_no_context_takeover,
        client_no_context_takeover: p.client_no_context_takeover,
        server_max_window_bits: p.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS),
        client_max_window_bits: p
            .client_max_window_bits
            .flatten()
            .unwrap_or(MAX_WINDOW_BITS),
    };
    let mut answer = String::from("permessage-deflate");
    if agreed.server_no_context_takeover {
        answer.push_str("; server_no_context_takeover");
    }
    if agreed.client_no_context_takeover {
        answer.push_str("; client_no_context_takeover");
    }
    if let Some(bits) = p.server_max_window_bits {
        answer.push_str(&format!("; server_max_window_bits={bits}"));
    }
    if let Some(Some(bits)) = p.client_max_window_bits {
        answer.push_str(&format!("; client_max_window_bits={bits}"));
    }
    Some((answer, agreed))
}

/// Compresses outgoing messages.
pub(crate) struct Deflater {
    /// Created on the first compressed message: zlib's compressor state is
    /// hundreds of KiB, not worth holding for connections that never use it.
    compress: Option<Compress>,
    level: u32,
    window_bits: u8,
    no_context_takeover: bool,
    threshold: usize,
}

impl Deflater {
    pub(crate) fn new(
        level: u32,
        window_bits: u8,
        no_context_takeover: bool,
        threshold: usize,
    ) -> Self {
        Deflater {
            compress: None,
            level,
            window_bits,
            no_context_takeover,
            threshold,
        }
    }

    /// Whether a message of `len` bytes should be compressed. zlib cannot
    /// compress raw deflate with an 8-bit window; a peer that demands one
    /// gets uncompressed messages, which RFC 7692 allows.
    pub(crate) fn wants(&self, len: usize) -> bool {
        len >= self.uncompressed_below()
    }

    /// Messages shorter than this go uncompressed: those [`wants`](Self::wants)
    /// refuses.
    pub(crate) fn uncompressed_below(&self) -> usize {
        if self.window_bits > MIN_WINDOW_BITS {
            self.threshold
        } else {
            usize::MAX
        }
    }

    /// Appends `payload`, compressed, to `out` (with the trailing
    /// 00 00 ff ff removed, as RFC 7692 §7.2.1 says). Returns false, with
    /// `out` as it was, if zlib failed: the message then goes uncompressed.
    pub(crate) fn compress(&mut self, payload: &[u8], out: &mut Vec<u8>) -> bool {
        if payload.is_empty() {
            // zlib emits nothing for an empty sync flush after another one;
            // a lone empty block is the message (RFC 7692 §7.2.3.6).
            out.push(0x00);
            return true;
        }
        let (level, bits) = (self.level, self.window_bits);
        let c = self.compress.get_or_insert_with(|| {
            Compress::new_with_window_bits(Compression::new(level), false, bits)
        });
        let start = out.len();
        let before = c.total_in();
        loop {
            let consumed = (c.total_in() - before) as usize;
            out.reserve((payload.len() - consumed) / 2 + 64);
            if c.compress_vec(&payload[consumed..], out, FlushCompress::Sync)
                .is_err()
            {
                out.truncate(start);
                // The stream state is unknown: start afresh.
                self.compress = None;
                return false;
            }
            // Done when all input is in and the flush did not fill the buffer.
            let all_in = (c.total_in() - before) as usize == payload.len();
            if all_in && out.len() < out.capacity() {
                break;
            }
        }
        if out[start..].ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if self.no_context_takeover {
            c.reset();
        }
        true
    }
}

/// Decompresses incoming messages, streamed and bounded.
pub(crate) struct Inflater {
    /// Created on the first compressed message (its window is 32 KiB).
    decompress: Option<Decompress>,
    no_context_takeover: bool,
}

impl Inflater {
    pub(crate) fn new(no_context_takeover: bool) -> Self {
        Inflater {
            decompress: None,
            no_context_takeover,
        }
    }

    /// Inflates `input` onto `out`, failing once `out` would pass `limit`.
    /// Always inflates with a 15-bit window: it reads any smaller window.
    ///
    /// `out`'s capacity grows geometrically but never past `limit + 1` (the
    /// one byte shows the limit was passed), so a bomb costs at most the
    /// limit. `out` must only ever be grown here.
    pub(crate) fn inflate(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), ProtocolError> {
        let d = self
            .decompress
            .get_or_insert_with(|| Decompress::new_with_window_bits(false, MAX_WINDOW_BITS));
        loop {
            if out.len() == out.capacity() {
                let room = limit.saturating_sub(out.len()).saturating_add(1);
                out.reserve_exact(room.min(INFLATE_STEP.max(out.len())));
            }
            let (in_before, out_before) = (d.total_in(), out.len());
            let status = d
                .decompress_vec(input, out, FlushDecompress::Sync)
                .map_err(|_| ProtocolError::InvalidCompressedData)?;
            input = &input[(d.total_in() - in_before) as usize..];
            if out.len() > limit {
                return Err(ProtocolError::MessageTooLarge { limit });
            }
            if status == Status::StreamEnd {
                // A final block ends the deflate stream; the next message
                // starts a new one, and nothing may follow in this one.
                d.reset(false);
                return match input.is_empty() {
                    true => Ok(()),
                    false => Err(ProtocolError::InvalidCompressedData),
                };
            }
            let full = out.len() == out.capacity();
            let stuck = d.total_in() == in_before && out.len() == out_before;
            if !full && (input.is_empty() || stuck) {
                return Ok(());
            }
        }
    }

    /// Ends a message: inflates the removed tail, then resets the context
    /// if the peer does not keep it.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>, limit: usize) -> Result<(), ProtocolError> {
        self.inflate(&TAIL, out, limit)?;
        if self.no_context_takeover {
            if let Some(d) = &mut self.decompress {
                d.reset(false);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> DeflateConfig {
        DeflateConfig::default()
    }

    #[test]
    fn offers() {
        assert_eq!(cfg().offer(), "permessage-deflate; client_max_window_bits");
        let all = DeflateConfig {
            server_max_window_bits: Some(10),
            client_max_window_bits: Some(12),
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            ..cfg()
        };
        assert_eq!(
            all.offer(),
            "permessage-deflate; server_max_window_bits=10; client_max_window_bits=12; \
             server_no_context_takeover; client_no_context_takeover"
        );
        assert!(all.validate().is_ok());
        let bad = DeflateConfig {
            server_max_window_bits: Some(7),
            ..cfg()
        };
        assert!(bad.validate().is_err());
        let bad = DeflateConfig { level: 10, ..cfg() };
        assert!(bad.validate().is_err());
    }

    fn params(s: bool, c: bool, sb: u8, cb: u8) -> DeflateParams {
        DeflateParams {
            server_no_context_takeover: s,
            client_no_context_takeover: c,
            server_max_window_bits: sb,
            client_max_window_bits: cb,
        }
    }

    #[test]
    fn every_parameter_combination_of_the_answer() {
        // RFC 7692 §7.1, for each parameter: what was asked x what came back.
        let ok = |c: &DeflateConfig, answer: Option<&str>| c.accept_response(answer).unwrap();
        let err = |c: &DeflateConfig, answer: Option<&str>| c.accept_response(answer).unwrap_err();
        assert_eq!(ok(&cfg(), None), params(false, false, 15, 15));

        // server_no_context_takeover: may come unasked; must come if asked.
        let asked = DeflateConfig {
            server_no_context_takeover: true,
            ..cfg()
        };
        assert!(ok(&cfg(), Some("server_no_context_takeover")).server_no_context_takeover);
        assert!(ok(&asked, Some("server_no_context_takeover")).server_no_context_takeover);
        err(&asked, None);

        // client_no_context_takeover: may come unasked; in force if asked.
        let asked = DeflateConfig {
            client_no_context_takeover: true,
            ..cfg()
        };
        assert!(ok(&cfg(), Some("client_no_context_takeover")).client_no_context_takeover);
        assert!(ok(&asked, None).client_no_context_takeover);

        // server_max_window_bits.
        let asked = DeflateConfig {
            server_max_window_bits: Some(10),
            ..cfg()
        };
        assert_eq!(
            ok(&cfg(), Some("server_max_window_bits=9")).server_max_window_bits,
            9
        );
        assert_eq!(
            ok(&asked, Some("server_max_window_bits=10")).server_max_window_bits,
            10
        );
        assert_eq!(
            ok(&asked, Some("server_max_window_bits=8")).server_max_window_bits,
            8
        );
        err(&asked, None);
        err(&asked, Some("server_max_window_bits=11"));

        // client_max_window_bits: offered without a value by default.
        assert_eq!(
            ok(&cfg(), Some("client_max_window_bits=8")).client_max_window_bits,
            8
        );
        assert_eq!(ok(&cfg(), None).client_max_window_bits, 15);
        let asked = DeflateConfig {
            client_max_window_bits: Some(12),
            ..cfg()
        };
        assert_eq!(ok(&asked, None).client_max_window_bits, 12);
        assert_eq!(
            ok(&asked, Some("client_max_window_bits=9")).client_max_window_bits,
            9
        );
        err(&asked, Some("client_max_window_bits=13"));
        err(&cfg(), Some("client_max_window_bits"));

        // Everything at once, with a quoted value.
        assert_eq!(
            ok(
                &cfg(),
                Some(" server_no_context_takeover ; client_no_context_takeover; server_max_window_bits=\"12\"; client_max_window_bits=11")
            ),
            params(true, true, 12, 11)
        );
    }

    #[test]
    fn malformed_answers() {
        for answer in [
            "server_max_window_bits",
            "server_max_window_bits=7",
            "server_max_window_bits=16",
            "server_max_window_bits=0x0a",
            "server_max_window_bits=+9",
            "server_max_window_bits=10; server_max_window_bits=10",
            "server_no_context_takeover; server_no_context_takeover",
            "server_no_context_takeover=1",
            "client_no_context_takeover=yes",
            "mystery",
            "client_max_window_bits=99",
            "",
            "server_no_context_takeover;",
        ] {
            assert!(
                matches!(
                    cfg().accept_response(Some(answer)),
                    Err(HandshakeError::InvalidExtension(_))
                ),
                "{answer:?}"
            );
        }
    }

    #[test]
    fn server_answers() {
        let (answer, p) =
            answer_offer(Some(" client_max_window_bits; server_no_context_takeover")).unwrap();
        assert_eq!(answer, "permessage-deflate; server_no_context_takeover");
        assert_eq!(p, params(true, false, 15, 15));
        assert!(answer_offer(Some("bogus")).is_none());
        let (answer, _) = answer_offer(None).unwrap();
        assert_eq!(
            cfg().accept_response(split_element(&answer).1).unwrap(),
            params(false, false, 15, 15)
        );
    }

    fn round_trip(deflater: &mut Deflater, inflater: &mut Inflater, msg: &[u8]) -> Vec<u8> {
        let mut wire = Vec::new();
        deflater.compress(msg, &mut wire);
        let mut out = Vec::new();
        inflater.inflate(&wire, &mut out, usize::MAX / 2).unwrap();
        inflater.finish(&mut out, usize::MAX / 2).unwrap();
        out
    }

    #[test]
    fn codec_round_trips_with_and_without_context_takeover() {
        let messages: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"hello hello hello hello".to_vec(),
            (0..100_000u32).map(|i| (i % 7) as u8).collect(),
            (0..5000u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect(),
        ];
        for no_context in [false, true] {
            for bits in [9, 12, 15] {
                let mut d = Deflater::new(6, bits, no_context, 0);
                let mut i = Inflater::new(no_context);
                for m in messages.iter().chain(messages.iter()) {
                    assert_eq!(&round_trip(&mut d, &mut i, m), m);
                }
            }
        }
    }

    #[test]
    fn context_takeover_compresses_repeats_better() {
        let msg = b"a fairly long message that repeats itself exactly".repeat(4);
        let mut keep = Deflater::new(6, 15, false, 0);
        let mut reset = Deflater::new(6, 15, true, 0);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        keep.compress(&msg, &mut a);
        reset.compress(&msg, &mut b);
        assert_eq!(a, b, "the first message is the same either way");
        a.clear();
        b.clear();
        keep.compress(&msg, &mut a);
        reset.compress(&msg, &mut b);
        assert!(a.len() < b.len() / 2, "{} vs {}", a.len(), b.len());
    }

    #[test]
    fn inflating_streams_in_pieces() {
        let msg: Vec<u8> = (0..50_000u32).map(|i| (i % 13) as u8).collect();
        let mut d = Deflater::new(6, 15, false, 0);
        let mut wire = Vec::new();
        d.compress(&msg, &mut wire);
        for piece in [1, 7, 1000] {
            let mut i = Inflater::new(false);
            let mut out = Vec::new();
            for chunk in wire.chunks(piece) {
                i.inflate(chunk, &mut out, 1 << 20).unwrap();
            }
            i.finish(&mut out, 1 << 20).unwrap();
            assert_eq!(out, msg, "pieces of {piece}");
        }
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        // 10 MiB of zeroes compresses to about 10 KiB.
        let bomb = vec![0u8; 10 << 20];
        let mut d = Deflater::new(9, 15, false, 0);
        let mut wire = Vec::new();
        d.compress(&bomb, &mut wire);
        assert!(wire.len() < 20_000, "{}", wire.len());
        let limit = 64 << 10;
        let mut i = Inflater::new(false);
        let mut out = Vec::new();
        assert_eq!(
            i.inflate(&wire, &mut out, limit),
            Err(ProtocolError::MessageTooLarge { limit })
        );
        assert!(out.len() <= limit + 1, "{}", out.len());
        assert!(out.capacity() <= limit + 1, "{}", out.capacity());
    }

    #[test]
    fn garbage_is_an_error() {
        let mut i = Inflater::new(false);
        let mut out = Vec::new();
        assert_eq!(
            i.inflate(&[0xff, 0xff, 0xff, 0xff], &mut out, 1000),
            Err(ProtocolError::InvalidCompressedData)
        );
    }

    #[test]
    fn window_8_is_never_compressed() {
        assert!(!Deflater::new(6, 8, false, 0).wants(1000));
        assert!(Deflater::new(6, 9, false, 0).wants(1000));
        assert!(!Deflater::new(6, 15, false, 64).wants(63));
    }
}
