//! Close frame payloads (RFC 6455 §5.5.1, §7.4): status codes and reasons.

use crate::error::{ProtocolError, SendError};
use crate::utf8_bytes::Utf8Bytes;
use bytes::Bytes;

/// Longest close reason that fits a control frame after the 2-byte code.
pub const MAX_REASON_LEN: usize = 123;

/// Whether `code` may appear in a Close frame on the wire.
///
/// 1000-1003 and 1007-1014 are defined by RFC 6455 and the IANA registry;
/// 3000-4999 are for libraries and applications. 1004-1006 and 1015 are
/// reserved and must never be sent; everything else is unassigned.
pub fn is_valid_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Parses a received Close payload into its code and reason.
pub fn parse_payload(payload: Bytes) -> Result<(Option<u16>, Utf8Bytes), ProtocolError> {
    match payload.len() {
        0 => Ok((None, Utf8Bytes::default())),
        1 => Err(ProtocolError::InvalidClosePayload),
        _ => {
            let code = u16::from_be_bytes([payload[0], payload[1]]);
            if !is_valid_code(code) {
                return Err(ProtocolError::InvalidCloseCode(code));
            }
            let reason = Utf8Bytes::try_from(payload.slice(2..))
                .map_err(|_| ProtocolError::InvalidCloseReason)?;
            Ok((Some(code), reason))
        }
    }
}

/// Builds a Close payload, checking what a user may send.
pub fn encode_payload(code: Option<u16>, reason: &str) -> Result<Vec<u8>, SendError> {
    let Some(code) = code else {
        return if reason.is_empty() {
            Ok(Vec::new())
        } else {
            // A reason needs a code in front of it.
            Err(SendError::InvalidCloseCode(0))
        };
    };
    if !is_valid_code(code) {
        return Err(SendError::InvalidCloseCode(code));
    }
    if reason.len() > MAX_REASON_LEN {
        return Err(SendError::ControlPayloadTooLong);
    }
    let mut out = Vec::with_capacity(2 + reason.len());
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(reason.as_bytes());
    Ok(out)
}

/// Cuts `reason` to at most [`MAX_REASON_LEN`] bytes, on a character
/// boundary (`String::truncate` panics inside a character).
pub fn truncate_reason(reason: &mut String) {
    if reason.len() > MAX_REASON_LEN {
        let mut end = MAX_REASON_LEN;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        for ok in [
            1000, 1001, 1002, 1003, 1007, 1011, 1012, 1014, 3000, 3999, 4000, 4999,
        ] {
            assert!(is_valid_code(ok), "{ok}");
        }
        for bad in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            assert!(!is_valid_code(bad), "{bad}");
        }
    }

    #[test]
    fn parse() {
        assert_eq!(
            parse_payload(Bytes::new()).unwrap(),
            (None, Utf8Bytes::default())
        );
        assert_eq!(
            parse_payload(Bytes::from_static(&[3])),
            Err(ProtocolError::InvalidClosePayload)
        );
        let (code, reason) = parse_payload(Bytes::from_static(b"\x03\xe8bye")).unwrap();
        assert_eq!((code, reason.as_str()), (Some(1000), "bye"));
        assert_eq!(
            parse_payload(Bytes::from_static(b"\x03\xed")),
            Err(ProtocolError::InvalidCloseCode(1005))
        );
        assert_eq!(
            parse_payload(Bytes::from_static(b"\x03\xe8\xff")),
            Err(ProtocolError::InvalidCloseReason)
        );
    }

    #[test]
    fn encode() {
        assert_eq!(encode_payload(None, "").unwrap(), b"");
        assert_eq!(encode_payload(Some(1001), "x").unwrap(), b"\x03\xe9x");
        assert_eq!(
            encode_payload(Some(1006), ""),
            Err(SendError::InvalidCloseCode(1006))
        );
        assert_eq!(
            encode_payload(Some(1000), &"a".repeat(124)),
            Err(SendError::ControlPayloadTooLong)
        );
        assert!(encode_payload(Some(1000), &"a".repeat(123)).is_ok());
        assert!(encode_payload(None, "why").is_err());
    }

    #[test]
    fn reasons_are_cut_on_a_character_boundary() {
        // 'é' is two bytes: byte 123 falls inside the 62nd.
        let mut reason = "é".repeat(70);
        truncate_reason(&mut reason);
        assert_eq!(reason, "é".repeat(61));
        let mut short = String::from("fine");
        truncate_reason(&mut short);
        assert_eq!(short, "fine");
        let mut ascii = "x".repeat(200);
        truncate_reason(&mut ascii);
        assert_eq!(ascii.len(), MAX_REASON_LEN);
    }
}
