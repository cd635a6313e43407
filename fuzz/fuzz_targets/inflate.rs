//! The inflater, through the client core: any bytes as the payload of
//! compressed messages never panic, and never produce a message past the
//! limit.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lomond::proto::deflate::DeflateConfig;
use lomond::proto::handshake::accept_key;
use lomond::proto::internal::FixedEntropy;
use lomond::proto::Event;
use lomond::proto::{ClientRequest, Config, Connection};
use std::time::Instant;

const LIMIT: usize = 64 << 10;

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let mut config = Config::default();
    config.deflate = Some(DeflateConfig::default());
    config.max_message_size = LIMIT;
    let request = ClientRequest {
        host: "h".into(),
        resource: "/".into(),
        ..Default::default()
    };
    let mut c =
        Connection::client_with_entropy(request, config, now, Box::new(FixedEntropy::new([1])))
            .unwrap();
    let response = format!(
        "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
        accept_key("AQEBAQEBAQEBAQEBAQEBAQ==")
    );
    c.handle_input(response.as_bytes(), now);
    assert!(matches!(c.poll_event(), Some(Event::Ready { .. })));
    // The input, cut into compressed binary frames of up to 200 bytes.
    for chunk in data.chunks(200) {
        let mut frame = vec![0xc2, 126];
        frame.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
        frame.extend_from_slice(chunk);
        c.handle_input(&frame, now);
        while let Some(event) = c.poll_event() {
            if let Event::Binary(b) = event {
                assert!(b.len() <= LIMIT);
            }
        }
    }
});
