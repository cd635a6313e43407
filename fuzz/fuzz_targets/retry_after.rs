//! A rejected handshake's `Retry-After`, as a server sent it: never a
//! panic, and a value of digits means that many seconds.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lomond::persist::parse_retry_after;
use std::time::{Duration, SystemTime};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let wait = parse_retry_after(value, now);
    let digits = value.trim();
    if !digits.is_empty() && digits.len() < 19 && digits.bytes().all(|b| b.is_ascii_digit()) {
        assert_eq!(wait, Some(Duration::from_secs(digits.parse().unwrap())));
    }
});
