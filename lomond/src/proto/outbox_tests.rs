//! [`Outbox`] through the connection: frames encoded ahead reach the wire
//! exactly as the connection's own would, in order, or not at all.

use super::deflate::DeflateConfig;
use super::entropy::FixedEntropy;
use super::event::Event;
use super::frame::OpCode;
use super::outbox::{Outbox, OUTBOX_FRAMES};
use super::tests::{
    events, names, open_client, pump, request, upgrade_response, write_limited_client,
    written_frames,
};
use super::{Config, Connection};
use crate::error::SendError;
use std::time::Instant;

/// An open client whose mask keys count up, so each differs (the nonce is
/// the tests' usual sixteen 0x01 bytes).
fn counting_client(config: Config, now: Instant) -> Connection {
    let pattern: Vec<u8> = [1; 16].into_iter().chain(0..=255).collect();
    let mut c = Connection::client_with_entropy(
        request(),
        config,
        now,
        Box::new(FixedEntropy::new(pattern)),
    )
    .unwrap();
    let n = c.poll_transmit().len();
    c.consume_transmit(n);
    c.handle_input(&upgrade_response(""), now);
    assert!(matches!(c.poll_event(), Some(Event::Ready { .. })));
    c
}

#[test]
fn an_outbox_takes_nothing_until_the_connection_lends_it_keys() {
    let now = Instant::now();
    let mut c = open_client(Config::default(), now);
    let mut outbox = Outbox::new(1024);
    assert!(!outbox.push(OpCode::Binary, b"x"));
    c.send_outbox(&mut outbox).unwrap();
    assert!(outbox.push(OpCode::Binary, b"x"));
    assert_eq!(outbox.len(), 1);
}

#[test]
fn an_outbox_takes_no_control_frame() {
    let now = Instant::now();
    let mut c = open_client(Config::default(), now);
    let mut outbox = Outbox::new(1024);
    c.send_outbox(&mut outbox).unwrap();
    for opcode in [
        OpCode::Ping,
        OpCode::Pong,
        OpCode::Close,
        OpCode::Continuation,
    ] {
        assert!(!outbox.push(opcode, &[0; 200]), "{opcode:?}");
    }
    assert!(outbox.is_empty());
}

#[test]
fn frames_from_the_outbox_go_out_in_order_with_the_connections_own() {
    let now = Instant::now();
    let mut c = counting_client(Config::default(), now);
    let mut outbox = Outbox::new(1024);
    c.send_outbox(&mut outbox).unwrap();
    c.send_text("before").unwrap();
    // Every length form a small frame takes, text and binary.
    let payloads: Vec<Vec<u8>> = [0usize, 1, 7, 8, 9, 16, 63, 64, 125, 126, 1024]
        .iter()
        .map(|&n| (0..n).map(|i| b'a' + (i % 26) as u8).collect())
        .collect();
    for (i, p) in payloads.iter().enumerate() {
        let opcode = if i % 2 == 0 {
            OpCode::Text
        } else {
            OpCode::Binary
        };
        assert!(outbox.push(opcode, p), "payload of {}", p.len());
    }
    assert!(!outbox.push(OpCode::Binary, &[0; 1025]), "over its max");
    c.send_outbox(&mut outbox).unwrap();
    assert!(outbox.is_empty());
    c.send_binary(b"after").unwrap();
    let frames = written_frames(&mut c);
    assert_eq!(frames.len(), payloads.len() + 2);
    assert_eq!(frames[0].1, b"before");
    assert_eq!(frames.last().unwrap().1, b"after");
    let mut keys = Vec::new();
    for (i, ((h, got), want)) in frames[1..].iter().zip(&payloads).enumerate() {
        let opcode = if i % 2 == 0 {
            OpCode::Text
        } else {
            OpCode::Binary
        };
        assert_eq!((h.opcode, h.fin, h.rsv1, got), (opcode, true, false, want));
        keys.push(h.mask.expect("masked"));
    }
    keys.dedup();
    assert_eq!(keys.len(), payloads.len(), "a fresh key for each frame");
}

#[test]
fn an_outbox_holds_one_batch_of_keys() {
    let now = Instant::now();
    let mut c = open_client(Config::default(), now);
    let mut outbox = Outbox::new(1024);
    c.send_outbox(&mut outbox).unwrap();
    for _ in 0..OUTBOX_FRAMES {
        assert!(outbox.push(OpCode::Binary, b"k"));
    }
    assert!(!outbox.push(OpCode::Binary, b"k"), "no key left");
    c.send_outbox(&mut outbox).unwrap();
    assert!(outbox.push(OpCode::Binary, b"k"), "keys lent again");
    assert_eq!(written_frames(&mut c).len(), OUTBOX_FRAMES);
}

#[test]
fn a_closing_connection_drops_the_outbox_and_lends_no_more() {
    // Handed over, or only refilled to gather more: the same refusal.
    type HandOver = fn(&mut Connection, &mut Outbox) -> Result<(), SendError>;
    let ways: [(&str, HandOver); 2] = [
        ("send", Connection::send_outbox),
        ("refill", Connection::refill_outbox),
    ];
    for (way, hand_over) in ways {
        let now = Instant::now();
        let mut c = open_client(Config::default(), now);
        let mut outbox = Outbox::new(1024);
        c.send_outbox(&mut outbox).unwrap();
        assert!(outbox.push(OpCode::Text, b"late"));
        c.close(1000, "", now).unwrap();
        assert_eq!(
            hand_over(&mut c, &mut outbox),
            Err(SendError::Closing),
            "{way}"
        );
        assert!(outbox.is_empty(), "{way}");
        assert!(!outbox.push(OpCode::Text, b"later"), "{way}");
        let frames = written_frames(&mut c);
        assert_eq!(frames.len(), 1, "{way}");
        assert_eq!(frames[0].0.opcode, OpCode::Close, "{way}");
    }
}

#[test]
fn the_write_limit_takes_all_of_an_outbox_or_none() {
    let now = Instant::now();
    let mut c = write_limited_client(100, now);
    let mut outbox = Outbox::new(1024);
    c.send_outbox(&mut outbox).unwrap();
    c.send_binary(&[0; 90]).unwrap();
    for _ in 0..3 {
        assert!(outbox.push(OpCode::Binary, &[1; 4]));
    }
    assert_eq!(
        c.send_outbox(&mut outbox),
        Err(SendError::WriteBufferFull { limit: 100 })
    );
    assert!(outbox.is_empty());
    assert_eq!(written_frames(&mut c).len(), 1, "only the first send");
    // Once written out, the same frames fit.
    for _ in 0..3 {
        assert!(outbox.push(OpCode::Binary, &[1; 4]));
    }
    c.send_outbox(&mut outbox).unwrap();
    assert_eq!(written_frames(&mut c).len(), 3);
}

#[test]
fn with_compression_only_messages_under_the_threshold_are_taken() {
    let now = Instant::now();
    let config = Config {
        deflate: Some(DeflateConfig {
            threshold: 20,
            ..DeflateConfig::default()
        }),
        ..Config::default()
    };
    let mut c = super::tests::new_client(config, now);
    let n = c.poll_transmit().len();
    c.consume_transmit(n);
    c.handle_input(
        &upgrade_response("Sec-WebSocket-Extensions: permessage-deflate\r\n"),
        now,
    );
    assert!(matches!(c.poll_event(), Some(Event::Ready { .. })));
    let mut outbox = Outbox::new(1024);
    c.send_outbox(&mut outbox).unwrap();
    assert!(outbox.push(OpCode::Text, &[b'a'; 19]));
    assert!(
        !outbox.push(OpCode::Text, &[b'a'; 20]),
        "would be compressed"
    );
    c.send_outbox(&mut outbox).unwrap();
    let frames = written_frames(&mut c);
    assert_eq!(frames.len(), 1);
    assert!(!frames[0].0.rsv1, "sent uncompressed, as send_text would");
}

/// A client and a server core past the handshake, their Ready events taken.
fn talking_pair(now: Instant) -> (Connection, Connection) {
    let mut client = Connection::client(request(), Config::default(), now).unwrap();
    let mut server = Connection::server(vec![], Config::default(), now);
    pump(&mut client, &mut server, now);
    assert!(matches!(client.poll_event(), Some(Event::Ready { .. })));
    assert!(matches!(server.poll_event(), Some(Event::Ready { .. })));
    (client, server)
}

#[test]
fn a_server_never_takes_from_an_outbox() {
    let (_, mut server) = talking_pair(Instant::now());
    let mut outbox = Outbox::new(1024);
    server.send_outbox(&mut outbox).unwrap();
    assert!(!outbox.push(OpCode::Binary, b"x"), "servers do not mask");
}

#[test]
fn a_peer_reads_what_the_outbox_sent() {
    let now = Instant::now();
    let (mut client, mut server) = talking_pair(now);
    let mut outbox = Outbox::new(1024);
    client.send_outbox(&mut outbox).unwrap();
    assert!(outbox.push(OpCode::Text, "héllo".as_bytes()));
    assert!(outbox.push(OpCode::Binary, &[0, 1, 2]));
    client.send_outbox(&mut outbox).unwrap();
    pump(&mut client, &mut server, now);
    assert_eq!(
        names(&events(&mut server)),
        ["text:héllo", "binary:b\"\\0\\x01\\x02\""]
    );
}

/// Counts the calls made to it; yields the tests' usual nonce (sixteen
/// 0x01 bytes), then bytes that count up.
struct CountingEntropy {
    calls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    nonce_left: usize,
    next: u8,
}

impl super::entropy::Entropy for CountingEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for b in buf {
            if self.nonce_left > 0 {
                self.nonce_left -= 1;
                *b = 1;
                continue;
            }
            *b = self.next;
            self.next = self.next.wrapping_add(1);
        }
    }
}

#[test]
fn committing_a_frame_at_a_time_draws_keys_once_per_half_batch() {
    let now = Instant::now();
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let entropy = CountingEntropy {
        calls: calls.clone(),
        nonce_left: 16,
        next: 0,
    };
    let mut c =
        Connection::client_with_entropy(request(), Config::default(), now, Box::new(entropy))
            .unwrap();
    let n = c.poll_transmit().len();
    c.consume_transmit(n);
    c.handle_input(&upgrade_response(""), now);
    assert!(matches!(c.poll_event(), Some(Event::Ready { .. })));
    let mut outbox = Outbox::new(1024);
    c.send_outbox(&mut outbox).unwrap();
    let before = calls.load(std::sync::atomic::Ordering::Relaxed);
    for _ in 0..64 {
        assert!(outbox.push(OpCode::Binary, b"request"));
        c.send_outbox(&mut outbox).unwrap();
    }
    let drawn = calls.load(std::sync::atomic::Ordering::Relaxed) - before;
    assert_eq!(drawn, 64 / (OUTBOX_FRAMES / 2), "one draw per half batch");
    // Each frame has a key of its own, in the order the source gave them.
    let keys: Vec<[u8; 4]> = written_frames(&mut c)
        .iter()
        .map(|(h, _)| h.mask.expect("masked"))
        .collect();
    assert_eq!(keys.len(), 64);
    let mut seen = keys.clone();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 64, "a fresh key for each frame");
    assert!(keys.windows(2).all(|w| w[0][0] < w[1][0] || w[1][0] < 4));
}

#[test]
fn an_unqueued_outbox_is_the_bytes_send_outbox_would_queue() {
    let now = Instant::now();
    let (mut queued, mut direct) = (
        counting_client(Config::default(), now),
        counting_client(Config::default(), now),
    );
    let (mut a, mut b) = (Outbox::new(1024), Outbox::new(1024));
    queued.send_outbox(&mut a).unwrap();
    assert!(direct.send_outbox_unqueued(&mut b).unwrap());
    for (i, outbox) in [&mut a, &mut b].into_iter().enumerate() {
        assert!(outbox.push(OpCode::Text, b"first"), "{i}");
        assert!(outbox.push(OpCode::Binary, &[7; 300]), "{i}");
    }
    queued.send_outbox(&mut a).unwrap();
    assert!(direct.send_outbox_unqueued(&mut b).unwrap());
    assert!(
        direct.poll_transmit().is_empty(),
        "nothing queued in the core"
    );
    assert_eq!(b.frames(), queued.poll_transmit());
    assert_eq!(b.len(), 2, "the frames stay for the driver to write");
    b.clear();
    assert!(b.is_empty());
    assert!(b.push(OpCode::Binary, b"next"), "keys lent again");
}

#[test]
fn an_outbox_is_not_unqueued_behind_pending_output_nor_when_closing() {
    let now = Instant::now();
    let mut c = open_client(Config::default(), now);
    let mut outbox = Outbox::new(1024);
    c.send_outbox(&mut outbox).unwrap();
    assert!(outbox.push(OpCode::Binary, b"after the ping"));
    c.ping(b"p").unwrap();
    assert_eq!(c.send_outbox_unqueued(&mut outbox), Ok(false));
    assert_eq!(outbox.len(), 1, "kept, for send_outbox to queue in order");
    c.send_outbox(&mut outbox).unwrap();
    let frames = written_frames(&mut c);
    assert_eq!(frames[0].0.opcode, OpCode::Ping);
    assert_eq!(frames[1].1, b"after the ping");
    assert!(outbox.push(OpCode::Text, b"late"));
    c.close(1000, "", now).unwrap();
    let _ = written_frames(&mut c);
    assert_eq!(c.send_outbox_unqueued(&mut outbox), Err(SendError::Closing));
    assert!(outbox.is_empty(), "dropped");
    assert!(!outbox.push(OpCode::Text, b"later"), "no more keys");
}

/// What a client writes for `batches` of 16 frames fed to an outbox, each
/// batch sent on its own (`gather` false) or all gathered with
/// `refill_outbox` and sent at once.
fn outbox_bytes(batches: usize, gather: bool) -> Vec<u8> {
    let now = Instant::now();
    let mut c = counting_client(Config::default(), now);
    let mut outbox = Outbox::new(1024);
    c.send_outbox(&mut outbox).unwrap();
    let mut i = 0;
    for _ in 0..batches {
        while !outbox.needs_keys() {
            assert!(outbox.push(OpCode::Binary, &vec![i as u8; i * 13 % 300]));
            i += 1;
        }
        match gather {
            true => c.refill_outbox(&mut outbox).unwrap(),
            false => c.send_outbox(&mut outbox).unwrap(),
        }
        assert!(!outbox.needs_keys(), "keys lent again");
    }
    if gather {
        assert_eq!(outbox.len(), batches * OUTBOX_FRAMES, "kept in the outbox");
        assert!(c.poll_transmit().is_empty(), "nothing in the core yet");
        c.send_outbox(&mut outbox).unwrap();
    }
    assert!(outbox.is_empty());
    c.poll_transmit().to_vec()
}

#[test]
fn a_gathered_outbox_sends_the_bytes_of_its_batches_sent_one_by_one() {
    let (gathered, one_by_one) = (outbox_bytes(5, true), outbox_bytes(5, false));
    assert_eq!(gathered.len(), one_by_one.len());
    let differ = gathered.iter().zip(&one_by_one).position(|(a, b)| a != b);
    assert_eq!(differ, None, "the first byte that differs");
    // And they are the frames fed, each with a key of its own.
    let now = Instant::now();
    let (_, mut server) = talking_pair(now);
    server.handle_input(&gathered, now);
    let got = events(&mut server);
    assert_eq!(got.len(), 5 * OUTBOX_FRAMES);
    for (i, event) in got.iter().enumerate() {
        match event {
            Event::Binary(b) => assert_eq!(&b[..], &vec![i as u8; i * 13 % 300][..], "{i}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn an_outbox_handed_over_behind_queued_output_is_appended_after_it() {
    let now = Instant::now();
    let mut c = open_client(Config::default(), now);
    let mut outbox = Outbox::new(1024);
    c.send_outbox(&mut outbox).unwrap();
    assert!(outbox.push(OpCode::Binary, b"gathered"));
    c.refill_outbox(&mut outbox).unwrap();
    c.ping(b"p").unwrap();
    assert!(outbox.push(OpCode::Text, b"more"));
    c.send_outbox(&mut outbox).unwrap();
    let frames = written_frames(&mut c);
    let got: Vec<_> = frames.iter().map(|(h, p)| (h.opcode, &p[..])).collect();
    assert_eq!(
        got,
        [
            (OpCode::Ping, &b"p"[..]),
            (OpCode::Binary, &b"gathered"[..]),
            (OpCode::Text, &b"more"[..])
        ]
    );
}

#[test]
fn refilling_checks_the_write_limit_against_everything_gathered() {
    let now = Instant::now();
    let mut c = write_limited_client(100, now);
    let mut outbox = Outbox::new(1024);
    c.send_outbox(&mut outbox).unwrap();
    c.send_binary(&[0; 60]).unwrap();
    assert!(outbox.push(OpCode::Binary, &[1; 20]));
    c.refill_outbox(&mut outbox).unwrap();
    assert!(outbox.push(OpCode::Binary, &[1; 20]));
    assert_eq!(
        c.refill_outbox(&mut outbox),
        Err(SendError::WriteBufferFull { limit: 100 })
    );
    assert!(outbox.is_empty(), "all of it dropped");
    assert_eq!(written_frames(&mut c).len(), 1, "only the first send");
}
