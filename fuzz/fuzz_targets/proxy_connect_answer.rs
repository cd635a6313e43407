//! An HTTP proxy's answer to CONNECT, fed in pieces of every size: never a
//! panic, never more kept than the limit, and what follows a 2xx handed on
//! whole.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lomond::transport::proxy::http_connect::{HttpConnect, MAX_ANSWER};
use lomond::transport::Next;

fuzz_target!(|data: &[u8]| {
    let Some((&piece, data)) = data.split_first() else {
        return;
    };
    let piece = piece.max(1) as usize;
    let mut c = HttpConnect::new("example.com", 443, None);
    c.take_output(&mut Vec::new());
    let mut fed = 0;
    for chunk in data.chunks(piece) {
        if c.next() != Next::Read {
            break;
        }
        if c.feed(chunk).is_err() {
            assert!(fed <= MAX_ANSWER + piece);
            return;
        }
        fed += chunk.len();
    }
    if c.next() == Next::Done {
        assert!(c.take_leftover().len() <= fed);
    }
});
