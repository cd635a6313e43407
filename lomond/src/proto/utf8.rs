//! Incremental UTF-8 validation that fails on the first bad byte.
//!
//! A text message may arrive in many frames, and each frame in many reads,
//! with control frames in between. The validator keeps only the (at most three)
//! bytes of a code point split across chunks, so it can say "invalid" the
//! moment an impossible byte arrives, not when the message ends. Bulk checking
//! is SIMD (simdutf8); its errors match `std`'s exactly, including that an
//! incomplete tail is reported only when it is a valid prefix of a code point.

/// The input is not UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidUtf8;

/// Validates UTF-8 fed in arbitrary pieces.
#[derive(Debug, Default, Clone)]
pub struct Utf8Validator {
    partial: [u8; 4],
    partial_len: u8,
}

impl Utf8Validator {
    /// A validator at the start of a text.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the next piece of text. Fails if `data` (after what came
    /// before) can no longer be the start of valid UTF-8.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), InvalidUtf8> {
        if self.partial_len > 0 {
            // Complete the split code point one byte at a time: std tells a
            // valid prefix (error_len None) from an impossible one.
            while let Some((&b, rest)) = data.split_first() {
                self.partial[self.partial_len as usize] = b;
                self.partial_len += 1;
                data = rest;
                match std::str::from_utf8(&self.partial[..self.partial_len as usize]) {
                    Ok(_) => {
                        self.partial_len = 0;
                        break;
                    }
                    Err(e) if e.error_len().is_some() => return Err(InvalidUtf8),
                    Err(_) => {}
                }
            }
            if self.partial_len > 0 {
                return Ok(());
            }
        }
        match simdutf8::compat::from_utf8(data) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_some() => Err(InvalidUtf8),
            Err(e) => {
                let tail = &data[e.valid_up_to()..];
                self.partial[..tail.len()].copy_from_slice(tail);
                self.partial_len = tail.len() as u8;
                Ok(())
            }
        }
    }

    /// Ends the text: fails if a code point was left incomplete. The
    /// validator is reset either way.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let complete = self.partial_len == 0;
        self.partial_len = 0;
        if complete {
            Ok(())
        } else {
            Err(InvalidUtf8)
        }
    }

    /// Forgets any partial code point.
    pub fn reset(&mut self) {
        self.partial_len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: the longest prefix std accepts as "valid so far".
    fn std_verdict(data: &[u8]) -> (bool, bool) {
        match std::str::from_utf8(data) {
            Ok(_) => (true, true),
            Err(e) => (e.error_len().is_none(), false),
        }
    }

    fn check_all_splits(data: &[u8]) {
        let (prefix_ok, complete_ok) = std_verdict(data);
        for split in 0..=data.len() {
            let mut v = Utf8Validator::new();
            let ok = v.feed(&data[..split]).is_ok() && v.feed(&data[split..]).is_ok();
            assert_eq!(ok, prefix_ok, "{data:x?} split {split}");
            if ok {
                assert_eq!(v.finish().is_ok(), complete_ok, "{data:x?}");
            }
        }
        // Byte at a time.
        let mut v = Utf8Validator::new();
        let ok = data.iter().all(|b| v.feed(std::slice::from_ref(b)).is_ok());
        assert_eq!(ok, prefix_ok, "{data:x?} bytewise");
    }

    #[test]
    fn agrees_with_std_on_samples_at_every_split() {
        let samples: &[&[u8]] = &[
            b"",
            b"Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!",
            "κόσμε".as_bytes(),
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
            b"\xf4\x8f\xbf\xbf",
            b"\xf4\x90\x80\x80",
            b"\xf0\x90\x80\x80",
            b"\xf8\x88\x80\x80\x80",
            b"\xc0\xaf",
            b"\xe0\x80\xaf",
            b"\xed\xa0\x80",
            b"\xef\xbf\xbf",
            b"\x80",
            b"\xc2",
            b"\xe2\x82",
            b"abc\xf0\x9f\x98",
            b"\xf0\x9f\x98\x80 smile",
            b"\xff",
        ];
        for s in samples {
            check_all_splits(s);
        }
    }

    #[test]
    fn agrees_with_std_on_all_short_sequences() {
        // Every 1- and 2-byte input, and 3-byte inputs over interesting bytes.
        let interesting: Vec<u8> = vec![
            0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0,
            0xe1, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xff,
        ];
        for a in 0..=255u8 {
            check_all_splits(&[a]);
            for b in 0..=255u8 {
                let (p, c) = std_verdict(&[a, b]);
                let mut v = Utf8Validator::new();
                let ok = v.feed(&[a]).is_ok() && v.feed(&[b]).is_ok();
                assert_eq!(ok, p, "{a:x} {b:x}");
                if ok {
                    assert_eq!(v.finish().is_ok(), c);
                }
            }
        }
        for &a in &interesting {
            for &b in &interesting {
                for &c in &interesting {
                    for &d in &[0x80u8, 0xbf, 0x41] {
                        check_all_splits(&[a, b, c, d]);
                    }
                }
            }
        }
    }

    #[test]
    fn fails_on_the_byte_that_makes_it_invalid() {
        // Autobahn 6.4.1: the code point 0x110000 is invalid at its 2nd byte.
        let mut v = Utf8Validator::new();
        assert!(v.feed("κόσμε".as_bytes()).is_ok());
        assert!(v.feed(b"\xf4").is_ok());
        assert_eq!(v.feed(b"\x90"), Err(InvalidUtf8));
    }
}
