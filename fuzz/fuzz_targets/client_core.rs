//! The whole client core fed arbitrary bytes in arbitrary chunks, with time
//! moving: no panic, no unbounded output, and the event stream keeps its
//! shape (nothing after Disconnected).
#![no_main]
use libfuzzer_sys::fuzz_target;
use lomond::proto::deflate::DeflateConfig;
use lomond::proto::handshake::accept_key;
use lomond::proto::internal::FixedEntropy;
use lomond::proto::Event;
use lomond::proto::{ClientRequest, Config, Connection};
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let now = Instant::now();
    let mut config = Config::default();
    config.max_message_size = 64 << 10;
    config.max_frame_size = 32 << 10;
    config.ping_timeout = Some(Duration::from_secs(60));
    if control & 1 != 0 {
        config.deflate = Some(DeflateConfig::default());
    }
    let request = ClientRequest {
        host: "h".into(),
        resource: "/".into(),
        protocols: vec!["chat".into()],
        ..Default::default()
    };
    let mut c =
        Connection::client_with_entropy(request, config, now, Box::new(FixedEntropy::new([1])))
            .unwrap();
    let n = c.poll_transmit().len();
    c.consume_transmit(n);
    // Half the runs start from a valid upgrade, to reach the frame decoder.
    if control & 2 != 0 {
        let ext = if control & 1 != 0 {
            "Sec-WebSocket-Extensions: permessage-deflate\r\n"
        } else {
            ""
        };
        let response = format!(
            "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n{ext}\r\n",
            accept_key("AQEBAQEBAQEBAQEBAQEBAQ==")
        );
        c.handle_input(response.as_bytes(), now);
    }
    let chunk = 1 + (control >> 2) as usize * 7;
    let mut disconnected = false;
    let mut t = now;
    for (i, piece) in rest.chunks(chunk).enumerate() {
        t += Duration::from_millis(997 * (i as u64 % 5));
        c.handle_input(piece, t);
        if i % 3 == 0 {
            let _ = c.send_text("x");
        }
        if let Some(d) = c.next_deadline() {
            if d <= t {
                c.handle_timeout(t);
            }
        }
        while let Some(event) = c.poll_event() {
            assert!(!disconnected, "an event after Disconnected: {event:?}");
            disconnected = matches!(event, Event::Disconnected { .. });
        }
        // Output is bounded: pongs are skipped past the write limit, and
        // sends fail; nothing grows with the input beyond that.
        assert!(c.poll_transmit().len() <= 64 << 20);
        let n = c.poll_transmit().len();
        c.consume_transmit(n);
    }
    c.handle_eof(t);
    while let Some(event) = c.poll_event() {
        assert!(!disconnected, "an event after Disconnected: {event:?}");
        disconnected = matches!(event, Event::Disconnected { .. });
    }
});
