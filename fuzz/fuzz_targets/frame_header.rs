//! The frame header parser: never panics, never claims more bytes than it
//! was given, and what it parses encodes back to a header that parses the
//! same.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lomond::proto::frame::{encode_header, parse_header};

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((header, n))) = parse_header(data) {
        assert!(n <= data.len() && n >= 2);
        let mut out = Vec::new();
        encode_header(&mut out, &header);
        assert_eq!(parse_header(&out), Ok(Some((header, out.len()))));
    }
});
