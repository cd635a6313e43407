//! permessage-deflate through the whole connection: negotiation in the
//! handshake, RSV1 rules, streamed and bounded inflation, compressed sends.

use super::deflate::{DeflateConfig, DeflateParams, Deflater};
use super::event::Event;
use super::frame::{encode_header, FrameHeader, OpCode};
use super::tests::{
    events, frame, names, new_client, pump, request, upgrade_response, written_frames,
};
use super::{Config, Connection};
use crate::error::{HandshakeError, ProtocolError};
use std::time::Instant;

fn deflate_config(d: DeflateConfig) -> Config {
    Config {
        deflate: Some(d),
        ..Config::default()
    }
}

/// A client that offered `d` and got `answer` back.
fn compressed_client(d: DeflateConfig, answer: &str, now: Instant) -> (Connection, Vec<Event>) {
    let mut c = new_client(deflate_config(d), now);
    let n = c.poll_transmit().len();
    c.consume_transmit(n);
    c.handle_input(
        &upgrade_response(&format!("Sec-WebSocket-Extensions: {answer}\r\n")),
        now,
    );
    let evs = events(&mut c);
    (c, evs)
}

/// A server frame with RSV1 set, its payload deflated by `deflater`.
fn compressed_frame(deflater: &mut Deflater, opcode: OpCode, fin: bool, msg: &[u8]) -> Vec<u8> {
    let mut payload = Vec::new();
    deflater.compress(msg, &mut payload);
    raw_frame(opcode, fin, true, &payload)
}

fn raw_frame(opcode: OpCode, fin: bool, rsv1: bool, payload: &[u8]) -> Vec<u8> {
    let mut h = FrameHeader::new(opcode, None, payload.len() as u64);
    h.fin = fin;
    h.rsv1 = rsv1;
    let mut out = Vec::new();
    encode_header(&mut out, &h);
    out.extend_from_slice(payload);
    out
}

#[test]
fn the_offer_is_in_the_request_and_ready_reports_the_agreement() {
    let now = Instant::now();
    let c = new_client(deflate_config(DeflateConfig::default()), now);
    let request = String::from_utf8(c.poll_transmit().to_vec()).unwrap();
    assert!(request
        .contains("\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"));
    let (_, evs) = compressed_client(
        DeflateConfig::default(),
        "permessage-deflate; server_no_context_takeover; client_max_window_bits=10",
        now,
    );
    match &evs[0] {
        Event::Ready {
            deflate,
            extensions,
            ..
        } => {
            assert_eq!(
                *deflate,
                Some(DeflateParams {
                    server_no_context_takeover: true,
                    client_no_context_takeover: false,
                    server_max_window_bits: 15,
                    client_max_window_bits: 10,
                })
            );
            assert_eq!(extensions.len(), 1);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_bad_answer_is_a_rejection() {
    let now = Instant::now();
    let asked = DeflateConfig {
        server_no_context_takeover: true,
        ..DeflateConfig::default()
    };
    let (c, evs) = compressed_client(asked, "permessage-deflate", now);
    assert_eq!(
        names(&evs),
        [
            "rejected:InvalidExtension(\"server_no_context_takeover was requested but not accepted\")",
            "disconnected:rejected:false"
        ]
    );
    assert!(c.is_done());
    let (_, evs) = compressed_client(
        DeflateConfig::default(),
        "permessage-deflate; server_max_window_bits=16",
        now,
    );
    assert!(matches!(
        &evs[0],
        Event::Rejected {
            error: HandshakeError::InvalidExtension(_),
            ..
        }
    ));
}

#[test]
fn compressed_messages_are_inflated_across_fragments_and_reads() {
    let now = Instant::now();
    let (mut c, _) = compressed_client(DeflateConfig::default(), "permessage-deflate", now);
    let mut server = Deflater::new(6, 15, false, 0);
    let text = "Ünïcödé text, repeated. ".repeat(40);
    // One message in one frame, then one split over three frames with a ping
    // between, fed a byte at a time.
    let mut stream = compressed_frame(&mut server, OpCode::Text, true, text.as_bytes());
    let mut payload = Vec::new();
    server.compress(text.as_bytes(), &mut payload);
    let third = payload.len() / 3;
    stream.extend(raw_frame(OpCode::Text, false, true, &payload[..third]));
    stream.extend(frame(OpCode::Ping, true, b"!"));
    stream.extend(raw_frame(
        OpCode::Continuation,
        false,
        false,
        &payload[third..2 * third],
    ));
    stream.extend(raw_frame(
        OpCode::Continuation,
        true,
        false,
        &payload[2 * third..],
    ));
    // Uncompressed messages still work between compressed ones.
    stream.extend(frame(OpCode::Binary, true, b"plain"));
    for b in &stream {
        c.handle_input(std::slice::from_ref(b), now);
    }
    let evs = events(&mut c);
    assert_eq!(evs.len(), 4, "{:?}", names(&evs));
    assert!(matches!(&evs[0], Event::Text(t) if *t == *text));
    assert!(matches!(&evs[1], Event::Ping(_)));
    assert!(matches!(&evs[2], Event::Text(t) if *t == *text));
    assert!(matches!(&evs[3], Event::Binary(b) if &b[..] == b"plain"));
}

#[test]
fn a_decompression_bomb_closes_with_1009_at_the_limit() {
    let now = Instant::now();
    let config = DeflateConfig {
        level: 9,
        ..DeflateConfig::default()
    };
    let mut client_config = deflate_config(config);
    client_config.max_message_size = 1 << 20;
    let mut c = new_client(client_config, now);
    let n = c.poll_transmit().len();
    c.consume_transmit(n);
    c.handle_input(
        &upgrade_response("Sec-WebSocket-Extensions: permessage-deflate\r\n"),
        now,
    );
    let _ = events(&mut c);
    // 64 MiB of zeroes in a frame of about 64 KiB.
    let mut server = Deflater::new(9, 15, false, 0);
    let bomb = compressed_frame(&mut server, OpCode::Binary, true, &vec![0u8; 64 << 20]);
    assert!(bomb.len() < 100 << 10, "{}", bomb.len());
    c.handle_input(&bomb, now);
    assert_eq!(
        names(&events(&mut c)),
        ["error:MessageTooLarge { limit: 1048576 }"]
    );
    let out = written_frames(&mut c);
    assert_eq!(out[0].0.opcode, OpCode::Close);
    assert_eq!(out[0].1[..2], 1009u16.to_be_bytes());
}

#[test]
fn invalid_utf8_in_inflated_text_fails_fast() {
    let now = Instant::now();
    let (mut c, _) = compressed_client(DeflateConfig::default(), "permessage-deflate", now);
    let mut server = Deflater::new(6, 15, false, 0);
    let mut bad = "valid start ".repeat(100).into_bytes();
    bad.extend_from_slice(b"\xff and more");
    let mut payload = Vec::new();
    server.compress(&bad, &mut payload);
    // Without its last fragment, the message is incomplete: still, the bad
    // byte is already inflated and refused.
    c.handle_input(&raw_frame(OpCode::Text, false, true, &payload), now);
    assert_eq!(names(&events(&mut c)), ["error:InvalidUtf8"]);
    assert_eq!(written_frames(&mut c)[0].1[..2], 1007u16.to_be_bytes());
}

#[test]
fn rsv1_rules() {
    let now = Instant::now();
    // Without negotiation, RSV1 is reserved.
    let mut c = super::tests::open_client(Config::default(), now);
    c.handle_input(&raw_frame(OpCode::Text, true, true, b"x"), now);
    assert_eq!(names(&events(&mut c)), ["error:ReservedBits(4)"]);
    // With it, never on a continuation or control frame.
    for bad in [
        [
            raw_frame(OpCode::Text, false, false, b"a"),
            raw_frame(OpCode::Continuation, true, true, b"b"),
        ]
        .concat(),
        raw_frame(OpCode::Ping, true, true, b""),
    ] {
        let (mut c, _) = compressed_client(DeflateConfig::default(), "permessage-deflate", now);
        c.handle_input(&bad, now);
        assert_eq!(names(&events(&mut c)), ["error:MisplacedCompressedBit"]);
    }
    // Garbage deflate data.
    let (mut c, _) = compressed_client(DeflateConfig::default(), "permessage-deflate", now);
    c.handle_input(&raw_frame(OpCode::Binary, true, true, &[0xff; 8]), now);
    assert_eq!(names(&events(&mut c)), ["error:InvalidCompressedData"]);
    assert_eq!(ProtocolError::InvalidCompressedData.close_code(), 1007);
}

#[test]
fn sends_are_compressed_above_the_threshold_unless_opted_out() {
    let now = Instant::now();
    let (mut c, _) = compressed_client(DeflateConfig::default(), "permessage-deflate", now);
    let long = "compress me ".repeat(50);
    c.send_text(&long).unwrap();
    c.send_text("short").unwrap();
    c.send_text_with(&long, false).unwrap();
    c.send_binary(&[]).unwrap();
    let out = written_frames(&mut c);
    assert!(out[0].0.rsv1 && out[0].1.len() < long.len() / 4);
    assert!(!out[1].0.rsv1 && out[1].1 == b"short");
    assert!(!out[2].0.rsv1 && out[2].1 == long.as_bytes());
    assert!(!out[3].0.rsv1, "below the threshold");
}

#[test]
fn a_demanded_8_bit_window_means_uncompressed_sends() {
    let now = Instant::now();
    let (mut c, _) = compressed_client(
        DeflateConfig::default(),
        "permessage-deflate; client_max_window_bits=8",
        now,
    );
    c.send_text(&"x".repeat(1000)).unwrap();
    assert!(!written_frames(&mut c)[0].0.rsv1);
}

fn server_with_deflate(now: Instant) -> Connection {
    Connection::server(vec![], deflate_config(DeflateConfig::default()), now)
}

#[test]
fn client_and_server_cores_compress_both_ways() {
    for (client_nct, server_nct) in [(false, false), (true, false), (false, true), (true, true)] {
        let now = Instant::now();
        let offer = DeflateConfig {
            client_no_context_takeover: client_nct,
            server_no_context_takeover: server_nct,
            server_max_window_bits: Some(12),
            ..DeflateConfig::default()
        };
        let mut client = Connection::client(request(), deflate_config(offer), now).unwrap();
        let mut server = server_with_deflate(now);
        pump(&mut client, &mut server, now);
        let ready = client.poll_event();
        match &ready {
            Some(Event::Ready {
                deflate: Some(p), ..
            }) => {
                assert_eq!(p.server_no_context_takeover, server_nct);
                assert_eq!(p.client_no_context_takeover, client_nct);
                assert_eq!(p.server_max_window_bits, 12);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            server.poll_event(),
            Some(Event::Ready {
                deflate: Some(_),
                ..
            })
        ));
        for i in 0..20 {
            let msg = format!("message number {i} {}", "padding ".repeat(i * 10));
            client.send_text(&msg).unwrap();
            server.send_binary(msg.as_bytes()).unwrap();
            pump(&mut client, &mut server, now);
            assert!(matches!(server.poll_event(), Some(Event::Text(t)) if *t == *msg));
            assert!(matches!(client.poll_event(), Some(Event::Binary(b)) if b == msg.as_bytes()));
        }
    }
}

#[test]
fn input_wanted_counts_a_compressed_frame_inflated_as_it_arrives() {
    let now = Instant::now();
    let (mut c, _) = compressed_client(DeflateConfig::default(), "permessage-deflate", now);
    let mut server = Deflater::new(6, 15, false, 0);
    // Incompressible bytes, so that the frame is large.
    let mut x: u32 = 1;
    let msg: Vec<u8> = (0..200_000)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect();
    let f = compressed_frame(&mut server, OpCode::Binary, true, &msg);
    let mut payload = Vec::new();
    let mut again = Deflater::new(6, 15, false, 0);
    again.compress(&msg, &mut payload);
    let h = f.len() - payload.len();
    c.handle_input(&f[..h + 50_000], now);
    assert!(c.poll_event().is_none());
    c.handle_input(&f[h + 50_000..h + 60_000], now);
    assert!(c.poll_event().is_none());
    assert_eq!(c.input_wanted(), payload.len() - 60_000);
    c.handle_input(&f[h + 60_000..], now);
    assert!(matches!(c.poll_event(), Some(Event::Binary(b)) if b[..] == msg[..]));
    assert_eq!(c.input_wanted(), 1);
}
