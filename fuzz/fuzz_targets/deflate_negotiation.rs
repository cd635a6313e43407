//! permessage-deflate parameters: the client's check of any answer, and the
//! server's answer to any offer, never panic, and what they accept is in
//! range.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lomond::proto::deflate::{answer_offer, DeflateConfig};

fuzz_target!(|data: &[u8]| {
    let Ok(params) = std::str::from_utf8(data) else {
        return;
    };
    let mut strict = DeflateConfig::default();
    strict.server_max_window_bits = Some(10);
    strict.client_max_window_bits = Some(12);
    strict.server_no_context_takeover = true;
    for config in [DeflateConfig::default(), strict] {
        if let Ok(p) = config.accept_response(Some(params)) {
            assert!((8..=15).contains(&p.server_max_window_bits));
            assert!((8..=15).contains(&p.client_max_window_bits));
        }
    }
    if let Some((answer, p)) = answer_offer(Some(params)) {
        assert!(answer.starts_with("permessage-deflate"));
        assert!((8..=15).contains(&p.server_max_window_bits));
    }
});
