//! The frame header of RFC 6455 §5.2: parsing, checking and encoding.
//!
//! Parsing is allocation-free and incremental: [`parse_header`] answers
//! `Ok(None)` until the whole header is in the buffer, and never looks at the
//! payload, which the connection streams separately so that large frames are
//! checked against limits before a byte of them is buffered.

use super::mask;
use crate::error::ProtocolError;

/// Frame opcodes (RFC 6455 §5.2, §11.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpCode {
    /// Continues a fragmented message.
    Continuation,
    /// First frame of a text message.
    Text,
    /// First frame of a binary message.
    Binary,
    /// Close control frame.
    Close,
    /// Ping control frame.
    Ping,
    /// Pong control frame.
    Pong,
}

impl OpCode {
    /// Decodes the low nibble of the first header byte; reserved values fail.
    pub fn from_u8(v: u8) -> Result<Self, ProtocolError> {
        Ok(match v {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            other => return Err(ProtocolError::ReservedOpCode(other)),
        })
    }

    /// The opcode's wire value.
    pub fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Close, Ping and Pong: at most 125 bytes and never fragmented.
    pub fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// Largest payload a control frame may carry (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// Longest possible header: 2 bytes, 8 of extended length, 4 of mask key.
pub const MAX_HEADER_LEN: usize = 14;

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Last frame of its message.
    pub fin: bool,
    /// RSV1, claimed by permessage-deflate when negotiated.
    pub rsv1: bool,
    /// RSV2; no extension here claims it.
    pub rsv2: bool,
    /// RSV3; no extension here claims it.
    pub rsv3: bool,
    /// The frame's opcode.
    pub opcode: OpCode,
    /// Masking key, present on frames a client sends.
    pub mask: Option<[u8; 4]>,
    /// Payload length in bytes.
    pub len: u64,
}

impl FrameHeader {
    /// The header of a whole (FIN) frame with no RSV bits.
    pub fn new(opcode: OpCode, mask: Option<[u8; 4]>, len: u64) -> FrameHeader {
        FrameHeader {
            fin: true,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode,
            mask,
            len,
        }
    }
}

/// Parses a frame header from the front of `buf`.
///
/// Returns the header and how many bytes it took, or `Ok(None)` if `buf`
/// holds only part of a header. Fails on reserved opcodes, on a 64-bit length
/// with its top bit set, and on control frames that are fragmented or longer
/// than 125 bytes, as soon as the bytes that show it are present. Checks that
/// depend on the connection (masking direction, RSV bits, limits) are the
/// caller's.
pub fn parse_header(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
    let Some(&b0) = buf.first() else {
        return Ok(None);
    };
    let opcode = OpCode::from_u8(b0 & 0x0F)?;
    let fin = b0 & 0x80 != 0;
    if opcode.is_control() && !fin {
        return Err(ProtocolError::FragmentedControlFrame);
    }
    let Some(&b1) = buf.get(1) else {
        return Ok(None);
    };
    let masked = b1 & 0x80 != 0;
    let len7 = b1 & 0x7F;
    if opcode.is_control() && len7 as usize > MAX_CONTROL_PAYLOAD {
        return Err(ProtocolError::ControlFrameTooLong);
    }
    let (len, mut pos) = match len7 {
        126 => {
            let Some(b) = buf.get(2..4) else {
                return Ok(None);
            };
            (u16::from_be_bytes([b[0], b[1]]) as u64, 4)
        }
        127 => {
            let Some(b) = buf.get(2..10) else {
                return Ok(None);
            };
            let len = u64::from_be_bytes(b.try_into().expect("8 bytes"));
            if len >> 63 != 0 {
                return Err(ProtocolError::InvalidLength);
            }
            (len, 10)
        }
        n => (n as u64, 2),
    };
    let mask = if masked {
        let Some(k) = buf.get(pos..pos + 4) else {
            return Ok(None);
        };
        pos += 4;
        Some([k[0], k[1], k[2], k[3]])
    } else {
        None
    };
    Ok(Some((
        FrameHeader {
            fin,
            rsv1: b0 & 0x40 != 0,
            rsv2: b0 & 0x20 != 0,
            rsv3: b0 & 0x10 != 0,
            opcode,
            mask,
            len,
        },
        pos,
    )))
}

/// Appends a whole frame: `header`, then `payload`, masked with the
/// header's key if it has one.
///
/// A masked frame with a payload under [`mask::SMALL`] bytes, what a
/// client sends most, is written straight into the buffer's spare
/// capacity: one capacity check and one length update instead of one per
/// 8-byte word, and nothing assembled on the stack to be copied again.
#[inline]
pub fn encode_frame(out: &mut Vec<u8>, header: &FrameHeader, payload: &[u8]) {
    debug_assert_eq!(header.len, payload.len() as u64);
    match header.mask {
        Some(key) if payload.len() < mask::SMALL => {
            let n = payload.len();
            // Two bytes more than the frame: the header is stored as one
            // 8-byte word (six byte stores were a tenth of sending a 16-byte
            // message), whose last two bytes the payload overwrites or that
            // lie past the frame's end, in spare capacity.
            out.reserve(8 + n);
            let start = out.len();
            let frame = &mut out.spare_capacity_mut()[..8 + n];
            let word = u64::from(first_byte(header))
                | u64::from(0x80 | n as u8) << 8
                | u64::from(u32::from_le_bytes(key)) << 16;
            for (slot, byte) in frame[..8].iter_mut().zip(word.to_le_bytes()) {
                slot.write(byte);
            }
            mask::mask_small(&mut frame[6..6 + n], payload, key);
            // SAFETY: `frame` is the first `8 + n` bytes of spare capacity
            // (the slice above would have panicked otherwise): the header
            // wrote its 6 (and 2 more), and `mask_small` writes every one
            // of the `n` after the 6.
            #[allow(unsafe_code)]
            unsafe {
                out.set_len(start + 6 + n)
            };
        }
        Some(key) => {
            encode_header(out, header);
            mask::extend_masked(out, payload, key);
        }
        None => {
            encode_header(out, header);
            out.extend_from_slice(payload);
        }
    }
}

/// Appends the encoded `header` to `out`, using the shortest length form.
///
/// The header a client sends most, masked with a payload under 126 bytes,
/// is written inline where this is called, in one 6-byte copy; the others
/// go through the general encoder.
#[inline]
pub fn encode_header(out: &mut Vec<u8>, header: &FrameHeader) {
    match header.mask {
        Some(key) if header.len < 126 => out.extend_from_slice(&[
            first_byte(header),
            0x80 | header.len as u8,
            key[0],
            key[1],
            key[2],
            key[3],
        ]),
        _ => encode_any_header(out, header),
    }
}

/// FIN, the RSV bits and the opcode.
#[inline]
fn first_byte(header: &FrameHeader) -> u8 {
    let mut b0 = header.opcode.as_u8();
    if header.fin {
        b0 |= 0x80;
    }
    if header.rsv1 {
        b0 |= 0x40;
    }
    if header.rsv2 {
        b0 |= 0x20;
    }
    if header.rsv3 {
        b0 |= 0x10;
    }
    b0
}

fn encode_any_header(out: &mut Vec<u8>, header: &FrameHeader) {
    let mask_bit = if header.mask.is_some() { 0x80 } else { 0 };
    let mut buf = [0u8; MAX_HEADER_LEN];
    buf[0] = first_byte(header);
    let mut n = 2;
    if header.len < 126 {
        buf[1] = mask_bit | header.len as u8;
    } else if header.len <= u16::MAX as u64 {
        buf[1] = mask_bit | 126;
        buf[2..4].copy_from_slice(&(header.len as u16).to_be_bytes());
        n = 4;
    } else {
        buf[1] = mask_bit | 127;
        buf[2..10].copy_from_slice(&header.len.to_be_bytes());
        n = 10;
    }
    if let Some(key) = header.mask {
        buf[n..n + 4].copy_from_slice(&key);
        n += 4;
    }
    // One fixed-size copy per header shape: the compiler inlines each as a
    // couple of moves instead of calling memmove with a variable length.
    match n {
        2 => out.extend_from_slice(&buf[..2]),
        4 => out.extend_from_slice(&buf[..4]),
        6 => out.extend_from_slice(&buf[..6]),
        8 => out.extend_from_slice(&buf[..8]),
        10 => out.extend_from_slice(&buf[..10]),
        _ => out.extend_from_slice(&buf[..14]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(opcode: OpCode, len: u64, mask: Option<[u8; 4]>) -> FrameHeader {
        FrameHeader::new(opcode, mask, len)
    }

    #[test]
    fn rfc_examples_parse() {
        // RFC 6455 §5.7.
        let unmasked = [0x81, 0x05, b'H', b'e', b'l', b'l', b'o'];
        let (h, n) = parse_header(&unmasked).unwrap().unwrap();
        assert_eq!((h, n), (header(OpCode::Text, 5, None), 2));
        let masked = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d];
        let (h, n) = parse_header(&masked).unwrap().unwrap();
        assert_eq!(n, 6);
        assert_eq!(h.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
        let fragment = [0x01, 0x03];
        let (h, _) = parse_header(&fragment).unwrap().unwrap();
        assert!(!h.fin);
        assert_eq!(h.opcode, OpCode::Text);
        let ping = [0x89, 0x05];
        assert_eq!(parse_header(&ping).unwrap().unwrap().0.opcode, OpCode::Ping);
        let bin256 = [0x82, 0x7E, 0x01, 0x00];
        assert_eq!(parse_header(&bin256).unwrap().unwrap().0.len, 256);
        let bin64k = [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0];
        let (h, n) = parse_header(&bin64k).unwrap().unwrap();
        assert_eq!((h.len, n), (65536, 10));
    }

    #[test]
    fn every_length_form_round_trips() {
        for &len in &[0u64, 1, 125, 126, 127, 65535, 65536, 1 << 40, (1 << 63) - 1] {
            for mask in [None, Some([9, 8, 7, 6])] {
                let h = header(OpCode::Binary, len, mask);
                let mut out = Vec::new();
                encode_header(&mut out, &h);
                let expected_len = match len {
                    0..=125 => 2,
                    126..=65535 => 4,
                    _ => 10,
                } + if mask.is_some() { 4 } else { 0 };
                assert_eq!(out.len(), expected_len, "len {len}");
                assert_eq!(parse_header(&out).unwrap(), Some((h, out.len())));
                // Every strict prefix is incomplete, never an error.
                for cut in 0..out.len() {
                    assert_eq!(parse_header(&out[..cut]).unwrap(), None, "cut {cut}");
                }
            }
        }
    }

    #[test]
    fn flags_round_trip() {
        // Unmasked, and masked (the short form a client writes inline).
        for (mask, expected) in [
            (None, &[0x70, 0x03][..]),
            (Some([1, 2, 3, 4]), &[0x70, 0x83, 1, 2, 3, 4][..]),
        ] {
            let h = FrameHeader {
                fin: false,
                rsv1: true,
                rsv2: true,
                rsv3: true,
                opcode: OpCode::Continuation,
                mask,
                len: 3,
            };
            let mut out = Vec::new();
            encode_header(&mut out, &h);
            assert_eq!(out, expected);
            assert_eq!(parse_header(&out).unwrap().unwrap().0, h);
        }
    }

    /// Every frame a client may send, through the small-frame path and the
    /// general one, against the header encoder and a bytewise mask; each
    /// appended after a prefix, into vectors with and without room.
    #[test]
    fn whole_frames_match_header_then_masked_payload() {
        let key = [0x9c, 0x01, 0xe4, 0x7b];
        for len in (0..140).chain([65_535, 65_536]) {
            let payload: Vec<u8> = (0..len).map(|i| (i * 29 + 11) as u8).collect();
            for mask in [None, Some(key)] {
                let mut h = FrameHeader::new(OpCode::Binary, mask, len as u64);
                h.rsv1 = len % 2 == 1;
                let mut expected = vec![0x55; 3];
                encode_header(&mut expected, &h);
                expected.extend(payload.iter().enumerate().map(|(i, b)| match mask {
                    Some(k) => b ^ k[i % 4],
                    None => *b,
                }));
                for room in [0, len + 20] {
                    let mut out = Vec::with_capacity(room);
                    out.extend_from_slice(&[0x55; 3]);
                    encode_frame(&mut out, &h, &payload);
                    assert_eq!(out, expected, "len {len}, mask {mask:?}");
                    let (parsed, at) = parse_header(&out[3..]).unwrap().unwrap();
                    assert_eq!((parsed, out.len() - 3 - at), (h, len));
                }
            }
        }
    }

    #[test]
    fn rejections() {
        for op in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
            assert_eq!(
                parse_header(&[0x80 | op]),
                Err(ProtocolError::ReservedOpCode(op))
            );
        }
        assert_eq!(
            parse_header(&[0x09]),
            Err(ProtocolError::FragmentedControlFrame)
        );
        assert_eq!(
            parse_header(&[0x89, 126]),
            Err(ProtocolError::ControlFrameTooLong)
        );
        assert_eq!(
            parse_header(&[0x88, 127]),
            Err(ProtocolError::ControlFrameTooLong)
        );
        assert_eq!(
            parse_header(&[0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            Err(ProtocolError::InvalidLength)
        );
        assert!(parse_header(&[0x89, 125]).unwrap().is_some());
    }
}
