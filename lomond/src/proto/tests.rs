//! Byte-level tests of [`Connection`]: known input bytes in, exact events and
//! output bytes out, with a fake clock.

use super::event::Event;
use super::frame::{encode_header, parse_header, FrameHeader, OpCode};
use super::handshake::{accept_key, ClientRequest};
use super::internal::FixedEntropy;
use super::mask::apply_mask;
use super::{Config, Connection};
use crate::error::{HandshakeError, ProtocolError, SendError};
use std::time::{Duration, Instant};

/// Entropy pattern: the nonce is 16 bytes of 0x01, mask keys 01 01 01 01.
pub(super) const NONCE_KEY: &str = "AQEBAQEBAQEBAQEBAQEBAQ==";

pub(crate) fn request() -> ClientRequest {
    ClientRequest {
        host: "example.com".into(),
        resource: "/ws".into(),
        protocols: vec!["chat".into()],
        ..Default::default()
    }
}

pub(crate) fn upgrade_response(extra: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n{extra}\r\n",
        accept_key(NONCE_KEY)
    )
    .into_bytes()
}

pub(crate) fn new_client(config: Config, now: Instant) -> Connection {
    Connection::client_with_entropy(request(), config, now, Box::new(FixedEntropy::new([1])))
        .unwrap()
}

/// A client past the handshake, with its Ready event and request consumed.
pub(crate) fn open_client(config: Config, now: Instant) -> Connection {
    let mut c = new_client(config, now);
    let n = c.poll_transmit().len();
    c.consume_transmit(n);
    c.handle_input(&upgrade_response(""), now);
    assert!(matches!(c.poll_event(), Some(Event::Ready { .. })));
    c
}

/// An open client whose outgoing buffer holds at most `limit` bytes.
pub(super) fn write_limited_client(limit: usize, now: Instant) -> Connection {
    let config = Config {
        max_write_buffer: limit,
        ..Config::default()
    };
    open_client(config, now)
}

/// An unmasked frame, as a server sends it.
pub(super) fn frame(opcode: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut header = FrameHeader::new(opcode, None, payload.len() as u64);
    header.fin = fin;
    encode_header(&mut out, &header);
    out.extend_from_slice(payload);
    out
}

/// A frame as written: opcode, FIN, unmasked payload.
pub(super) type SentFrame = (OpCode, bool, Vec<u8>);

/// Decodes (and unmasks) every frame a connection has written, with headers.
pub(super) fn written_frames(c: &mut Connection) -> Vec<(FrameHeader, Vec<u8>)> {
    let mut out = c.poll_transmit().to_vec();
    c.consume_transmit(out.len());
    let mut frames = Vec::new();
    let mut pos = 0;
    while pos < out.len() {
        let (h, n) = parse_header(&out[pos..]).unwrap().unwrap();
        pos += n;
        let payload = &mut out[pos..pos + h.len as usize];
        if let Some(k) = h.mask {
            apply_mask(payload, k);
        }
        frames.push((h, payload.to_vec()));
        pos += h.len as usize;
    }
    frames
}

/// [`written_frames`] as opcode, FIN and payload.
pub(super) fn sent_frames(c: &mut Connection) -> Vec<SentFrame> {
    written_frames(c)
        .into_iter()
        .map(|(h, p)| (h.opcode, h.fin, p))
        .collect()
}

pub(super) fn events(c: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

/// A compact, comparable rendering of events.
pub(super) fn names(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            Event::Text(t) => format!("text:{t}"),
            Event::Binary(b) => format!("binary:{b:?}"),
            Event::Ping(b) => format!("ping:{b:?}"),
            Event::Pong { data, .. } => format!("pong:{data:?}"),
            Event::ProtocolError { error } => format!("error:{error:?}"),
            Event::Closing { code, reason } => format!("closing:{code:?}:{reason}"),
            Event::Closed { code, reason } => format!("closed:{code:?}:{reason}"),
            Event::Disconnected { reason, graceful } => format!("disconnected:{reason}:{graceful}"),
            Event::Rejected { error, .. } => format!("rejected:{error:?}"),
            other => crate::Event::from(other.clone()).name().to_string(),
        })
        .collect()
}

pub(super) fn close_code(payload: &[u8]) -> u16 {
    u16::from_be_bytes([payload[0], payload[1]])
}

#[test]
fn handshake_request_is_exact() {
    let c = new_client(Config::default(), Instant::now());
    assert_eq!(
        std::str::from_utf8(c.poll_transmit()).unwrap(),
        "GET /ws HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: AQEBAQEBAQEBAQEBAQEBAQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: chat\r\n\r\n"
    );
}

#[test]
fn ready_reports_protocol_and_frames_in_same_read_are_decoded() {
    let now = Instant::now();
    let mut c = new_client(Config::default(), now);
    let mut input = upgrade_response("Sec-WebSocket-Protocol: chat\r\n");
    input.extend(frame(OpCode::Text, true, b"hi"));
    c.handle_input(&input, now);
    match c.poll_event() {
        Some(Event::Ready {
            protocol, response, ..
        }) => {
            assert_eq!(protocol.as_deref(), Some("chat"));
            assert_eq!(response.status, 101);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(names(&events(&mut c)), ["text:hi"]);
    assert!(c.is_open());
}

/// A server stream exercising every frame kind, ending in a close.
fn reference_stream() -> Vec<u8> {
    let mut s = upgrade_response("");
    s.extend(frame(OpCode::Text, true, "héllo wörld".as_bytes()));
    s.extend(frame(OpCode::Binary, true, &[0, 1, 2, 255]));
    s.extend(frame(OpCode::Text, false, "κό".as_bytes()));
    s.extend(frame(OpCode::Ping, true, b"p1"));
    s.extend(frame(OpCode::Continuation, false, &"σμε".as_bytes()[..3]));
    s.extend(frame(OpCode::Pong, true, b""));
    s.extend(frame(OpCode::Continuation, true, &"σμε".as_bytes()[3..]));
    s.extend(frame(OpCode::Binary, true, &vec![7u8; 300]));
    s.extend(frame(OpCode::Binary, true, &vec![9u8; 70000]));
    s.extend(frame(OpCode::Text, true, b""));
    s.extend(frame(OpCode::Close, true, b"\x03\xe8done"));
    s
}

fn run_chunks(stream: &[u8], chunks: &[usize]) -> (Vec<Event>, Vec<SentFrame>) {
    let now = Instant::now();
    let mut c = new_client(Config::default(), now);
    let _ = sent_frames_after_request(&mut c);
    let mut pos = 0;
    for &n in chunks {
        c.handle_input(&stream[pos..pos + n], now);
        pos += n;
    }
    c.handle_input(&stream[pos..], now);
    c.handle_eof(now);
    // Decoding is lazy: take the events first, then what they caused.
    let evs = events(&mut c);
    (evs, sent_frames(&mut c))
}

fn sent_frames_after_request(c: &mut Connection) -> usize {
    let n = c.poll_transmit().len();
    c.consume_transmit(n);
    n
}

#[test]
fn stream_split_at_every_byte_boundary_gives_the_same_events() {
    let stream = reference_stream();
    let (expected, expected_out) = run_chunks(&stream, &[]);
    let expected_names = names(&expected);
    assert_eq!(
        expected_names[..4],
        [
            "ready",
            "text:héllo wörld",
            "binary:b\"\\0\\x01\\x02\\xff\"",
            "ping:b\"p1\""
        ]
    );
    assert_eq!(expected_names[4], "pong:b\"\"");
    assert_eq!(expected_names[5], "text:κόσμε");
    assert_eq!(
        expected_names[8..],
        [
            "text:",
            "closing:Some(1000):done",
            "closed:Some(1000):done",
            "disconnected:closed:true"
        ]
    );
    match (&expected[6], &expected[7]) {
        (Event::Binary(a), Event::Binary(b)) => {
            assert_eq!(&a[..], &[7u8; 300][..]);
            assert_eq!(&b[..], &vec![9u8; 70000][..]);
        }
        other => panic!("{other:?}"),
    }
    // The client answered the ping and echoed the close code.
    assert_eq!(
        expected_out,
        [
            (OpCode::Pong, true, b"p1".to_vec()),
            (OpCode::Close, true, vec![0x03, 0xe8])
        ]
    );
    // Every boundary, except inside the 70000-byte payload where every
    // 997th is enough (the quadratic cost would dominate the suite).
    let big = stream.len() - 2 - 8 - 70000 - 2 - 6;
    let splits = (1..stream.len()).filter(|&s| s <= big + 16 || s >= big + 70000 || s % 997 == 0);
    for split in splits {
        let (evs, out) = run_chunks(&stream, &[split]);
        assert_eq!(names(&evs), expected_names, "split at {split}");
        assert_eq!(out, expected_out, "split at {split}");
    }
    // Byte at a time.
    let ones = vec![1; stream.len()];
    let (evs, out) = run_chunks(&stream, &ones);
    assert_eq!(names(&evs), expected_names);
    assert_eq!(out, expected_out);
}

/// How the drivers batch: after each event, the messages `poll_message`
/// decodes ahead, up to a limit. The events, their order and what the
/// client writes are those of `poll_event` alone.
#[test]
fn decoding_messages_ahead_changes_nothing() {
    let stream = reference_stream();
    let (expected, expected_out) = run_chunks(&stream, &[]);
    let now = Instant::now();
    for limit in [1, 2, 16] {
        let mut c = new_client(Config::default(), now);
        sent_frames_after_request(&mut c);
        c.handle_input(&stream, now);
        c.handle_eof(now);
        let mut evs = Vec::new();
        let mut ahead = std::collections::VecDeque::new();
        let mut decoded_ahead = 0;
        while let Some(event) = c.poll_event_ahead(&mut ahead, limit) {
            evs.push(event);
            assert!(ahead.len() <= limit);
            decoded_ahead += ahead.len();
            for next in ahead.drain(..) {
                assert!(
                    matches!(next, Event::Text(_) | Event::Binary(_)),
                    "{next:?}"
                );
                evs.push(next);
            }
        }
        assert_eq!(names(&evs), names(&expected), "limit {limit}");
        assert_eq!(sent_frames(&mut c), expected_out, "limit {limit}");
        if limit == 16 {
            // Five whole messages were decoded ahead, the one with a 64-bit
            // length among them; the fragmented one, the ping and the close
            // were not.
            assert_eq!(decoded_ahead, 5);
        }
    }
    // Nothing is decoded ahead of a control frame or a fragment.
    let mut c = open_client(Config::default(), now);
    let mut input = frame(OpCode::Ping, true, b"x");
    input.extend(frame(OpCode::Text, true, b"a"));
    c.handle_input(&input, now);
    assert!(c.poll_message().is_none());
    assert_eq!(names(&events(&mut c)), ["ping:b\"x\"", "text:a"]);
}

/// Small payloads are copied with the bytes that follow them in the read
/// buffer (a fixed-size copy); each event shows exactly its own bytes,
/// whether more input follows it or it ends the buffer.
#[test]
fn small_messages_show_only_their_own_bytes() {
    let now = Instant::now();
    let payloads: Vec<Vec<u8>> = (0..=45u8)
        .map(|n| (0..n).map(|i| b'a' + (n + i) % 26).collect())
        .collect();
    let mut input = Vec::new();
    for (i, p) in payloads.iter().enumerate() {
        let op = if i % 2 == 0 {
            OpCode::Text
        } else {
            OpCode::Binary
        };
        input.extend(frame(op, true, p));
    }
    for limit in [0, 16] {
        let mut c = open_client(Config::default(), now);
        c.handle_input(&input, now);
        let mut got = Vec::new();
        let mut ahead = std::collections::VecDeque::new();
        while let Some(event) = c.poll_event_ahead(&mut ahead, limit) {
            got.push(event);
            got.extend(ahead.drain(..));
        }
        assert_eq!(got.len(), payloads.len(), "limit {limit}");
        for (i, (event, p)) in got.iter().zip(&payloads).enumerate() {
            match event {
                Event::Text(t) if i % 2 == 0 => assert_eq!(t.as_bytes(), &p[..]),
                Event::Binary(b) if i % 2 == 1 => {
                    assert_eq!(b, p);
                    assert_eq!(b, &crate::Payload::copy_from_slice(p));
                }
                other => panic!("message {i}: {other:?}"),
            }
        }
    }
}

/// Feeds `bytes` to an open client, returning events and the close code sent.
fn fail_with(bytes: &[u8]) -> (Vec<String>, Option<u16>) {
    let now = Instant::now();
    let mut c = open_client(Config::default(), now);
    c.handle_input(bytes, now);
    let evs = names(&events(&mut c));
    let code = sent_frames(&mut c)
        .into_iter()
        .find(|f| f.0 == OpCode::Close)
        .map(|f| close_code(&f.2));
    (evs, code)
}

#[test]
fn every_rejection_closes_with_its_code() {
    let masked = {
        let mut f = frame(OpCode::Text, true, b"abcd");
        f[1] |= 0x80;
        f.splice(2..2, [1, 2, 3, 4]);
        f
    };
    let mut rsv = frame(OpCode::Text, true, b"a");
    rsv[0] |= 0x40;
    let cases: Vec<(Vec<u8>, ProtocolError, u16)> = vec![
        (masked, ProtocolError::MaskedFrame, 1002),
        (rsv, ProtocolError::ReservedBits(0b100), 1002),
        (vec![0x83, 0], ProtocolError::ReservedOpCode(3), 1002),
        (vec![0x8B, 0], ProtocolError::ReservedOpCode(0xB), 1002),
        (vec![0x09, 0], ProtocolError::FragmentedControlFrame, 1002),
        (
            vec![0x89, 126, 0, 126],
            ProtocolError::ControlFrameTooLong,
            1002,
        ),
        (
            frame(OpCode::Continuation, true, b"x"),
            ProtocolError::UnexpectedContinuation,
            1002,
        ),
        (
            [
                frame(OpCode::Text, false, b"a"),
                frame(OpCode::Text, true, b"b"),
            ]
            .concat(),
            ProtocolError::ExpectedContinuation,
            1002,
        ),
        (
            frame(OpCode::Close, true, b"\x03"),
            ProtocolError::InvalidClosePayload,
            1002,
        ),
        (
            frame(OpCode::Close, true, b"\x03\xed"),
            ProtocolError::InvalidCloseCode(1005),
            1002,
        ),
        (
            frame(OpCode::Close, true, b"\x03\xe8\xc0\xaf"),
            ProtocolError::InvalidCloseReason,
            1007,
        ),
        (
            frame(OpCode::Text, true, b"ok \xff"),
            ProtocolError::InvalidUtf8,
            1007,
        ),
        (
            [
                frame(OpCode::Text, false, b"ok \xe2\x82"),
                frame(OpCode::Continuation, true, b""),
            ]
            .concat(),
            ProtocolError::InvalidUtf8,
            1007,
        ),
        (
            vec![0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0],
            ProtocolError::InvalidLength,
            1002,
        ),
        (
            vec![0x82, 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ProtocolError::FrameTooLarge {
                len: (1 << 63) - 1,
                limit: 16 << 20,
            },
            1009,
        ),
    ];
    for (bytes, error, code) in cases {
        let (evs, sent) = fail_with(&bytes);
        assert_eq!(evs, [format!("error:{error:?}")], "{error:?}");
        assert_eq!(sent, Some(code), "{error:?}");
        assert_eq!(error.close_code(), code);
    }
}

#[test]
fn invalid_utf8_fails_before_the_frame_is_complete() {
    let now = Instant::now();
    let mut c = open_client(Config::default(), now);
    // A 100-byte text frame: only its first bytes arrive, the 4th invalid.
    let mut f = frame(OpCode::Text, true, &[b'a'; 100]);
    f[2 + 3] = 0xff;
    c.handle_input(&f[..2 + 3], now);
    assert!(events(&mut c).is_empty());
    c.handle_input(&f[5..6], now);
    assert_eq!(names(&events(&mut c)), ["error:InvalidUtf8"]);
    // And across fragments with a ping between them (Autobahn 6.4.*).
    let mut c = open_client(Config::default(), now);
    c.handle_input(&frame(OpCode::Text, false, "κόσμε".as_bytes()), now);
    c.handle_input(&frame(OpCode::Ping, true, b""), now);
    c.handle_input(
        &frame(OpCode::Continuation, false, b"\xf4\x90\x80\x80"),
        now,
    );
    assert_eq!(names(&events(&mut c)), ["ping:b\"\"", "error:InvalidUtf8"]);
}

/// A binary message that comes in pieces waits whole for its last piece,
/// read into place, with each header length; the end of the input inside
/// one ends the connection as it would inside any frame.
#[test]
fn a_binary_message_in_pieces_is_taken_whole_or_ended_by_eof() {
    let now = Instant::now();
    for len in [100usize, 300, 70_000] {
        let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let f = frame(OpCode::Binary, true, &payload);
        let mut c = open_client(Config::default(), now);
        let mut at = 0;
        for piece in [1, 2, 7, len / 3, len / 2] {
            c.handle_input(&f[at..at + piece], now);
            at += piece;
            assert!(c.poll_event().is_none(), "{len}: at {at}");
            if at >= 10 {
                assert_eq!(c.input_wanted(), f.len() - at, "{len}: at {at}");
            }
        }
        c.handle_input(&f[at..], now);
        assert!(matches!(c.poll_event(), Some(Event::Binary(b)) if b[..] == payload[..]));
        assert_eq!(c.input_wanted(), 1);
        // The end of the input halfway through the same message.
        let mut c = open_client(Config::default(), now);
        c.handle_input(&f[..f.len() / 2], now);
        assert!(c.poll_event().is_none());
        c.handle_eof(now);
        let got = names(&events(&mut c));
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].starts_with("disconnected:"), "{got:?}");
    }
}

#[test]
fn limits_fail_at_the_header_without_buffering() {
    let now = Instant::now();
    let config = Config {
        max_frame_size: 1000,
        max_message_size: 1500,
        ..Config::default()
    };
    let mut c = open_client(config.clone(), now);
    // Only the header of a frame one byte over the limit.
    c.handle_input(&[0x82, 126, 0x03, 0xe9], now);
    assert_eq!(
        names(&events(&mut c)),
        ["error:FrameTooLarge { len: 1001, limit: 1000 }"]
    );
    let mut c = open_client(config.clone(), now);
    c.handle_input(&frame(OpCode::Binary, true, &[0; 1000]), now);
    assert_eq!(events(&mut c).len(), 1, "exactly at the limit is accepted");
    // A message over the limit across fragments.
    let mut c = open_client(config, now);
    c.handle_input(&frame(OpCode::Binary, false, &[0; 1000]), now);
    c.handle_input(&[0x00, 126, 0x01, 0xf5], now);
    assert_eq!(
        names(&events(&mut c)),
        ["error:MessageTooLarge { limit: 1500 }"]
    );
    assert_eq!(close_code(&sent_frames(&mut c)[0].2), 1009);
}

#[test]
fn after_a_protocol_error_input_is_ignored_until_the_server_closes() {
    let now = Instant::now();
    let mut c = open_client(Config::default(), now);
    c.handle_input(&[0x83, 0], now);
    let _ = events(&mut c);
    c.handle_input(&frame(OpCode::Text, true, b"ignored"), now);
    assert!(events(&mut c).is_empty());
    c.handle_eof(now);
    assert_eq!(
        names(&events(&mut c)),
        ["disconnected:protocol error: reserved opcode 0x3:false"]
    );
    assert!(c.is_done());
}

#[test]
fn going_away_queues_a_close_and_ends_the_connection() {
    let now = Instant::now();
    let mut c = open_client(Config::default(), now);
    assert!(c.go_away(now));
    assert_eq!(
        sent_frames(&mut c),
        [(OpCode::Close, true, b"\x03\xe9going away".to_vec())]
    );
    assert!(c.is_done());
    assert!(events(&mut c).iter().any(|e| matches!(
        e,
        Event::Disconnected {
            reason: crate::event::DisconnectReason::Dropped,
            ..
        }
    )));
    // Not open yet: nothing to say goodbye with, but it ends all the same.
    let mut c = Connection::client(request(), Config::default(), now).unwrap();
    let hello = c.poll_transmit().len();
    c.consume_transmit(hello);
    assert!(!c.go_away(now));
    assert!(c.poll_transmit().is_empty());
    assert!(c.is_done());
}

#[test]
fn client_initiated_close() {
    let now = Instant::now();
    let mut c = open_client(Config::default(), now);
    c.close(1000, "bye", now).unwrap();
    assert_eq!(
        sent_frames(&mut c),
        [(OpCode::Close, true, b"\x03\xe8bye".to_vec())]
    );
    assert!(!c.is_open());
    assert_eq!(c.send_text("late"), Err(SendError::Closing));
    // Idempotent.
    c.close(1000, "again", now).unwrap();
    assert!(sent_frames(&mut c).is_empty());
    // Data still arriving before the server's Close is delivered.
    c.handle_input(&frame(OpCode::Text, true, b"in flight"), now);
    c.handle_input(&frame(OpCode::Close, true, b"\x03\xe8"), now);
    c.handle_eof(now);
    assert_eq!(
        names(&events(&mut c)),
        [
            "text:in flight",
            "closed:Some(1000):",
            "disconnected:closed:true"
        ]
    );
    assert!(sent_frames(&mut c).is_empty(), "no second Close");
}

#[test]
fn close_without_code_is_echoed_without_code() {
    let now = Instant::now();
    let mut c = open_client(Config::default(), now);
    c.handle_input(&frame(OpCode::Close, true, b""), now);
    assert_eq!(names(&events(&mut c)), ["closing:None:", "closed:None:"]);
    assert_eq!(sent_frames(&mut c), [(OpCode::Close, true, vec![])]);
}

#[test]
fn close_timeouts() {
    let now = Instant::now();
    let config = Config {
        close_timeout: Some(Duration::from_secs(5)),
        ping_rate: None,
        poll: None,
        ..Config::default()
    };
    // The server never answers our Close.
    let mut c = open_client(config.clone(), now);
    c.close(1000, "", now).unwrap();
    assert_eq!(c.next_deadline(), Some(now + Duration::from_secs(5)));
    c.handle_timeout(now + Duration::from_secs(4));
    assert!(events(&mut c).is_empty());
    c.handle_timeout(now + Duration::from_secs(5));
    assert_eq!(names(&events(&mut c)), ["disconnected:close timeout:false"]);
    assert!(c.is_done());
    assert_eq!(c.next_deadline(), None);
    // The server answers the close but never closes the TCP connection.
    let mut c = open_client(config, now);
    c.handle_input(&frame(OpCode::Close, true, b"\x03\xe9"), now);
    let _ = events(&mut c);
    c.handle_timeout(now + Duration::from_secs(5));
    assert_eq!(names(&events(&mut c)), ["disconnected:closed:true"]);
}

#[test]
fn pings_polls_and_unresponsive() {
    let now = Instant::now();
    let s = Duration::from_secs;
    let config = Config {
        ping_rate: Some(s(10)),
        ping_timeout: Some(s(25)),
        poll: Some(s(4)),
        ..Config::default()
    };
    let mut c = open_client(config, now);
    assert_eq!(c.next_deadline(), Some(now + s(4)));
    c.handle_timeout(now + s(4));
    assert_eq!(names(&events(&mut c)), ["poll"]);
    assert_eq!(c.next_deadline(), Some(now + s(8)));
    c.handle_timeout(now + s(10));
    assert_eq!(names(&events(&mut c)), ["poll"]);
    assert_eq!(
        sent_frames(&mut c),
        [(OpCode::Ping, true, b"lm\0\0\0\0".to_vec())]
    );
    // A pong (any input) resets the unresponsive timer.
    c.handle_input(&frame(OpCode::Pong, true, b""), now + s(11));
    let _ = events(&mut c);
    c.handle_timeout(now + s(30));
    assert!(!c.is_done());
    let _ = events(&mut c);
    let _ = sent_frames(&mut c);
    c.handle_timeout(now + s(36));
    assert_eq!(
        names(&events(&mut c)),
        ["unresponsive", "disconnected:unresponsive:false"]
    );
}

#[test]
fn buffers_outlive_the_traffic_by_a_linger_and_no_more() {
    use super::BUFFER_LINGER as LINGER;
    let now = Instant::now();
    let ms = Duration::from_millis;
    let config = Config {
        ping_rate: None,
        ping_timeout: None,
        poll: None,
        ..Config::default()
    };
    let mut c = open_client(config, now);
    // Quiet from the open on: the first wait frees what the handshake used.
    assert!(c.waiting());
    assert_eq!(c.buffer_capacity(), 0);
    assert_eq!(c.next_deadline(), None);
    // Traffic: a message in, one out; the buffers stay across waits.
    c.handle_input(&frame(OpCode::Text, true, b"hi"), now + ms(10));
    let _ = events(&mut c);
    c.send_text("yo").unwrap();
    let n = c.poll_transmit().len();
    c.consume_transmit(n);
    assert!(!c.waiting());
    assert!(!c.waiting(), "a second wait without input keeps them too");
    assert!(c.buffer_capacity() > 0);
    assert_eq!(c.next_deadline(), Some(now + ms(10) + LINGER));
    // More traffic within the linger: the deadline does not move...
    c.handle_input(&frame(OpCode::Text, true, b"hi"), now + ms(500));
    let _ = events(&mut c);
    assert!(!c.waiting());
    assert_eq!(c.next_deadline(), Some(now + ms(10) + LINGER));
    // ...and at it the buffers are kept for another linger.
    c.handle_timeout(now + ms(10) + LINGER);
    assert!(!c.waiting());
    assert!(c.buffer_capacity() > 0);
    assert_eq!(c.next_deadline(), Some(now + ms(10) + LINGER * 2));
    // A linger without input: the next wait frees them, and no deadline
    // is left to wake an idle connection.
    c.handle_timeout(now + ms(10) + LINGER * 2);
    assert_eq!(c.next_deadline(), None);
    assert!(c.waiting());
    assert_eq!(c.buffer_capacity(), 0);
    assert_eq!(c.next_deadline(), None);
}

#[test]
fn a_server_taking_our_bytes_is_not_unresponsive() {
    let now = Instant::now();
    let s = Duration::from_secs;
    let config = Config {
        ping_rate: None,
        ping_timeout: Some(s(2)),
        poll: None,
        ..Config::default()
    };
    let mut c = open_client(config, now);
    assert!(!c.unresponsive_due(now + s(1)));
    assert!(c.unresponsive_due(now + s(2)));
    // The driver saw the server's TCP acknowledge our bytes: the deadline
    // moves on from then, as it would for input.
    c.peer_took_data(now + s(2));
    assert!(!c.unresponsive_due(now + s(3)));
    assert_eq!(c.next_deadline(), Some(now + s(4)));
    c.handle_timeout(now + s(3));
    assert!(names(&events(&mut c)).is_empty());
    c.handle_timeout(now + s(4));
    assert_eq!(
        names(&events(&mut c)),
        ["unresponsive", "disconnected:unresponsive:false"]
    );
    // Once the connection is over, nothing is due and nothing moves.
    assert!(!c.unresponsive_due(now + s(9)));
    c.peer_took_data(now + s(9));
    assert_eq!(c.next_deadline(), None);
}

#[test]
fn keepalive_pongs_carry_the_round_trip_time() {
    let now = Instant::now();
    let s = Duration::from_secs;
    let ms = Duration::from_millis;
    let config = Config {
        ping_rate: Some(s(10)),
        poll: None,
        ..Config::default()
    };
    let mut c = open_client(config, now);
    let pong_rtts = |c: &mut Connection| -> Vec<Option<Duration>> {
        events(c)
            .into_iter()
            .filter_map(|e| match e {
                Event::Pong { rtt, .. } => Some(rtt),
                _ => None,
            })
            .collect()
    };
    assert_eq!(c.rtt(), None);
    c.handle_timeout(now + s(10));
    let sent = sent_frames(&mut c);
    assert_eq!(sent, [(OpCode::Ping, true, b"lm\0\0\0\0".to_vec())]);
    // A pong to someone else's ping carries no time; ours does, once.
    // (Input is decoded at the time of the latest input: poll each.)
    let mut rtts = Vec::new();
    for (payload, at) in [(&b"mine"[..], 5), (&sent[0].2, 40), (&sent[0].2, 90)] {
        c.handle_input(&frame(OpCode::Pong, true, payload), now + s(10) + ms(at));
        rtts.extend(pong_rtts(&mut c));
    }
    assert_eq!(rtts, [None, Some(ms(40)), None]);
    assert_eq!(c.rtt(), Some(ms(40)));
    // The next ping has the next count. Answers may come late, after
    // later pings went (a slow link): each is timed, once.
    c.handle_timeout(now + s(20));
    let sent = sent_frames(&mut c);
    assert_eq!(sent, [(OpCode::Ping, true, b"lm\0\0\0\x01".to_vec())]);
    c.handle_timeout(now + s(30));
    let later = sent_frames(&mut c);
    assert_eq!(later, [(OpCode::Ping, true, b"lm\0\0\0\x02".to_vec())]);
    let mut rtts = Vec::new();
    for (payload, at) in [(&sent[0].2, 31), (&sent[0].2, 32), (&later[0].2, 33)] {
        c.handle_input(&frame(OpCode::Pong, true, payload), now + s(at));
        rtts.extend(pong_rtts(&mut c));
    }
    assert_eq!(rtts, [Some(s(11)), None, Some(s(3))]);
    assert_eq!(c.rtt(), Some(s(3)));
    // Pings 3 to 11 go at 40 s to 120 s. The latest eight are remembered;
    // an answer to an older one is not timed, nor is one to a count never
    // sent.
    for i in 4..=12 {
        c.handle_timeout(now + s(i * 10));
    }
    sent_frames(&mut c);
    let at = now + s(121);
    for count in [3u32, 4, 5, 12, 11] {
        let mut payload = b"lm".to_vec();
        payload.extend_from_slice(&count.to_be_bytes());
        c.handle_input(&frame(OpCode::Pong, true, &payload), at);
    }
    let rtts = pong_rtts(&mut c);
    assert_eq!(rtts, [None, Some(s(71)), Some(s(61)), None, Some(s(1))]);
}

#[test]
fn auto_pong_can_be_turned_off() {
    let now = Instant::now();
    let mut c = open_client(
        Config {
            auto_pong: false,
            ..Config::default()
        },
        now,
    );
    c.handle_input(&frame(OpCode::Ping, true, b"x"), now);
    assert_eq!(names(&events(&mut c)), ["ping:b\"x\""]);
    assert!(sent_frames(&mut c).is_empty());
    c.pong(b"x").unwrap();
    assert_eq!(sent_frames(&mut c), [(OpCode::Pong, true, b"x".to_vec())]);
}

#[test]
fn handshake_timeout_and_eof() {
    let now = Instant::now();
    let mut c = new_client(
        Config {
            handshake_timeout: Some(Duration::from_secs(3)),
            ..Config::default()
        },
        now,
    );
    assert_eq!(c.next_deadline(), Some(now + Duration::from_secs(3)));
    c.handle_input(b"HTTP/1.1 101 ", now);
    c.handle_timeout(now + Duration::from_secs(3));
    assert_eq!(
        names(&events(&mut c)),
        ["disconnected:handshake timeout:false"]
    );
    let mut c = new_client(Config::default(), now);
    c.handle_eof(now);
    assert_eq!(
        names(&events(&mut c)),
        ["disconnected:connection lost:false"]
    );
}

#[test]
fn rejection_carries_status_headers_and_bounded_body() {
    let now = Instant::now();
    let mut c = new_client(Config::default(), now);
    let raw = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\nX-Why: no\r\n\r\nnope!trailing";
    for b in raw.chunks(3) {
        c.handle_input(b, now);
    }
    let evs = events(&mut c);
    match &evs[0] {
        Event::Rejected {
            error: HandshakeError::Status { status: 403 },
            response: Some(r),
        } => {
            assert_eq!(r.reason, "Forbidden");
            assert_eq!(r.header("x-why"), Some("no"));
            assert_eq!(&r.body[..], b"nope!");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(names(&evs[1..]), ["disconnected:rejected:false"]);
    // No length: read to EOF, keeping at most max_rejected_body bytes.
    let mut c = new_client(
        Config {
            max_rejected_body: 4,
            ..Config::default()
        },
        now,
    );
    c.handle_input(b"HTTP/1.1 500 Oops\r\n\r\nab", now);
    assert!(events(&mut c).is_empty());
    c.handle_input(b"cdefgh", now);
    match c.poll_event() {
        Some(Event::Rejected {
            response: Some(r), ..
        }) => assert_eq!(&r.body[..], b"abcd"),
        other => panic!("{other:?}"),
    }
    let mut c = new_client(Config::default(), now);
    c.handle_input(b"HTTP/1.1 502 Bad Gateway\r\n\r\npartial", now);
    c.handle_eof(now);
    match c.poll_event() {
        Some(Event::Rejected {
            response: Some(r), ..
        }) => assert_eq!(&r.body[..], b"partial"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn invalid_upgrades_are_rejected() {
    let now = Instant::now();
    let cases: Vec<(Vec<u8>, HandshakeError)> = vec![
        (
            b"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: xxxx\r\n\r\n"
                .to_vec(),
            HandshakeError::AcceptMismatch,
        ),
        (
            upgrade_response("Sec-WebSocket-Protocol: other\r\n"),
            HandshakeError::UnexpectedProtocol("other".into()),
        ),
        (
            upgrade_response("Sec-WebSocket-Extensions: permessage-deflate\r\n"),
            HandshakeError::UnexpectedExtension("permessage-deflate".into()),
        ),
        (
            format!("HTTP/1.1 101 OK\r\n{}", format!("X: {}\r\n", "y".repeat(400)).repeat(50))
                .into_bytes(),
            HandshakeError::HeadersTooLarge { limit: 16384 },
        ),
    ];
    for (input, error) in cases {
        let mut c = new_client(Config::default(), now);
        c.handle_input(&input, now);
        let evs = events(&mut c);
        assert_eq!(
            names(&evs),
            [
                format!("rejected:{error:?}"),
                "disconnected:rejected:false".into()
            ]
        );
        assert!(c.is_done());
    }
}

#[test]
fn send_errors_by_state() {
    let now = Instant::now();
    let mut c = new_client(Config::default(), now);
    assert_eq!(c.send_text("x"), Err(SendError::NotReady));
    assert_eq!(c.close(1000, "", now), Err(SendError::NotReady));
    let mut c = open_client(Config::default(), now);
    assert_eq!(c.ping(&[0; 126]), Err(SendError::ControlPayloadTooLong));
    assert_eq!(
        c.close(1005, "", now),
        Err(SendError::InvalidCloseCode(1005))
    );
    c.send_binary(b"b").unwrap();
    c.send_text("t").unwrap();
    c.ping(b"p").unwrap();
    assert_eq!(
        sent_frames(&mut c),
        [
            (OpCode::Binary, true, b"b".to_vec()),
            (OpCode::Text, true, b"t".to_vec()),
            (OpCode::Ping, true, b"p".to_vec())
        ]
    );
    c.handle_eof(now);
    assert_eq!(c.send_text("x"), Err(SendError::Closed));
}

#[test]
fn client_frames_are_masked_with_the_entropy_key() {
    let now = Instant::now();
    let mut c = Connection::client_with_entropy(
        request(),
        Config::default(),
        now,
        Box::new(FixedEntropy::new([0x37, 0xfa, 0x21, 0x3d])),
    )
    .unwrap();
    let n = c.poll_transmit().len();
    c.consume_transmit(n);
    // The nonce took 16 bytes (4 cycles), so the next key is the pattern.
    let key = "N/ohPTf6IT03+iE9N/ohPQ==";
    let resp = format!(
        "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key)
    );
    c.handle_input(resp.as_bytes(), now);
    c.send_text("Hello").unwrap();
    // RFC 6455 §5.7: a masked "Hello".
    assert_eq!(
        c.poll_transmit(),
        [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
    );
}

#[test]
fn write_buffer_limit_refuses_sends_and_skips_pongs() {
    let now = Instant::now();
    let mut c = write_limited_client(100, now);
    c.send_binary(&[0; 200]).unwrap(); // alone, it may exceed the limit
    assert_eq!(
        c.send_binary(&[0; 1]),
        Err(SendError::WriteBufferFull { limit: 100 })
    );
    let before = c.poll_transmit().len();
    c.handle_input(&frame(OpCode::Ping, true, b""), now);
    assert_eq!(c.poll_transmit().len(), before, "no pong queued");
    c.consume_transmit(before);
    c.send_binary(&[0; 1]).unwrap();
}

#[test]
fn transmit_can_be_written_in_parts_or_taken() {
    let now = Instant::now();
    let mut c = open_client(Config::default(), now);
    c.send_text("abc").unwrap();
    let all = c.poll_transmit().to_vec();
    c.consume_transmit(2);
    assert_eq!(c.poll_transmit(), &all[2..]);
    c.send_text("d").unwrap();
    let mut buf = Vec::new();
    c.take_transmit(&mut buf);
    assert_eq!(&buf[..all.len() - 2], &all[2..]);
    assert!(c.poll_transmit().is_empty());
    c.send_text("e").unwrap();
    c.take_transmit(&mut buf);
    assert_eq!(buf.len(), 2 + 4 + 1);
}

#[test]
fn taking_nothing_leaves_the_output_its_capacity() {
    let now = Instant::now();
    let mut c = open_client(Config::default(), now);
    c.send_text("abc").unwrap();
    let mut buf = Vec::new();
    c.take_transmit(&mut buf); // the frame's buffer goes to the writer
    c.take_transmit(&mut buf); // and comes back, emptied
    assert!(buf.is_empty());
    let kept = c.buffer_capacity();
    assert!(kept > 0);
    let mut writer = Vec::new();
    c.take_transmit(&mut writer); // nothing to take: nothing moves
    assert_eq!(c.buffer_capacity(), kept);
    assert_eq!(writer.capacity(), 0);
}

#[test]
fn whole_units_leave_less_than_a_unit_and_never_cut_what_goes_first() {
    use super::connection::whole_units;
    assert_eq!(whole_units(1054, 0, 0), 1054, "no unit: everything");
    assert_eq!(
        whole_units(400, 500, 0),
        400,
        "one unit or less: everything"
    );
    assert_eq!(whole_units(500, 500, 0), 500);
    assert_eq!(whole_units(1054, 500, 0), 1000);
    assert_eq!(
        whole_units(1054, 500, 300),
        1000,
        "a first part inside the units"
    );
    assert_eq!(whole_units(1054, 100, 0), 1000);
    assert_eq!(
        whole_units(1054, 300, 950),
        950,
        "a unit shrunk under the first part"
    );
}

#[test]
fn whole_units_are_taken_and_the_tail_stays_in_order() {
    let now = Instant::now();
    let mut c = open_client(Config::default(), now);
    for _ in 0..10 {
        c.send_binary(&[7; 100]).unwrap(); // 106 bytes a frame
    }
    c.consume_transmit(6); // taken from a partly written output too
    let all = c.poll_transmit().to_vec();
    assert_eq!(all.len(), 1054);
    let mut buf = Vec::new();
    c.take_transmit_whole(&mut buf, 500);
    assert_eq!(buf, &all[..1000]);
    assert_eq!(c.poll_transmit(), &all[1000..]);
    // What is queued next follows the tail.
    c.send_binary(&[8; 100]).unwrap();
    let mut sent = buf.clone();
    c.take_transmit_whole(&mut buf, 50);
    assert_eq!(buf.len(), 150);
    sent.extend_from_slice(&buf);
    c.take_transmit(&mut buf);
    assert_eq!(buf.len(), 10);
    sent.extend_from_slice(&buf);
    assert_eq!(&sent[..1054], &all[..]);
    assert_eq!(sent.len(), 1054 + 106);

    // Everything, when the unit is unknown (0) or not exceeded.
    for unit in [0, 318, 400] {
        for _ in 0..3 {
            c.send_binary(&[9; 100]).unwrap();
        }
        c.take_transmit_whole(&mut buf, unit);
        assert_eq!(buf.len(), 318, "unit {unit}");
        assert!(c.poll_transmit().is_empty(), "unit {unit}");
    }
}

/// Runs a client and a server core against each other in memory.
pub(super) fn pump(a: &mut Connection, b: &mut Connection, now: Instant) {
    for _ in 0..10 {
        let out = a.poll_transmit().to_vec();
        a.consume_transmit(out.len());
        b.handle_input(&out, now);
        let out = b.poll_transmit().to_vec();
        b.consume_transmit(out.len());
        a.handle_input(&out, now);
    }
}

#[test]
fn client_and_server_cores_talk() {
    let now = Instant::now();
    let mut client = Connection::client(request(), Config::default(), now).unwrap();
    let mut server = Connection::server(vec!["chat".into()], Config::default(), now);
    pump(&mut client, &mut server, now);
    match client.poll_event() {
        Some(Event::Ready { protocol, .. }) => assert_eq!(protocol.as_deref(), Some("chat")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(server.poll_event(), Some(Event::Ready { .. })));
    client.send_text("from client").unwrap();
    server.send_binary(b"from server").unwrap();
    pump(&mut client, &mut server, now);
    assert_eq!(names(&events(&mut server)), ["text:from client"]);
    assert_eq!(names(&events(&mut client)), ["binary:b\"from server\""]);
    client.close(1001, "going", now).unwrap();
    pump(&mut client, &mut server, now);
    assert_eq!(
        names(&events(&mut server)),
        [
            "closing:Some(1001):going",
            "closed:Some(1001):going",
            "disconnected:closed:true"
        ]
    );
    assert!(server.is_done());
    // Decoding is lazy: the server's echo exists once its events are polled.
    pump(&mut client, &mut server, now);
    client.handle_eof(now);
    assert_eq!(
        names(&events(&mut client)),
        ["closed:Some(1001):", "disconnected:closed:true"]
    );
}

#[test]
fn server_requires_masked_frames() {
    let now = Instant::now();
    let mut client = Connection::client(request(), Config::default(), now).unwrap();
    let mut server = Connection::server(vec![], Config::default(), now);
    pump(&mut client, &mut server, now);
    let _ = events(&mut server);
    server.handle_input(&frame(OpCode::Text, true, b"plain"), now);
    assert_eq!(
        names(&events(&mut server)),
        [
            "error:UnmaskedFrame",
            "disconnected:protocol error: unmasked frame from the client:false"
        ]
    );
    // Close 1002 with the error as its reason, unmasked.
    assert_eq!(server.poll_transmit()[..4], [0x88, 0x20, 0x03, 0xea]);
}

#[test]
fn server_answers_a_bad_request_with_400() {
    let now = Instant::now();
    let mut server = Connection::server(vec![], Config::default(), now);
    server.handle_input(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", now);
    assert!(server.poll_transmit().starts_with(b"HTTP/1.1 400 "));
    assert_eq!(
        names(&events(&mut server)),
        ["rejected:MissingUpgrade", "disconnected:rejected:false"]
    );
}

#[test]
fn messages_before_an_error_are_delivered_and_can_be_answered() {
    // Autobahn 3.2: a good message, a bad frame and a ping in one read. The
    // good message is delivered before the failure, and the echo the
    // application sends in response goes out before the Close.
    let now = Instant::now();
    let mut c = open_client(Config::default(), now);
    let mut input = frame(OpCode::Text, true, b"Hello, world!");
    let mut bad = frame(OpCode::Text, true, b"x");
    bad[0] |= 0x20;
    input.extend(bad);
    input.extend(frame(OpCode::Ping, true, b""));
    c.handle_input(&input, now);
    let first = c.poll_event();
    assert!(matches!(&first, Some(Event::Text(t)) if t == "Hello, world!"));
    c.send_text("Hello, world!").unwrap();
    assert_eq!(names(&events(&mut c)), ["error:ReservedBits(2)"]);
    let out = sent_frames(&mut c);
    assert_eq!(out[0], (OpCode::Text, true, b"Hello, world!".to_vec()));
    assert_eq!(out[1].0, OpCode::Close);
    assert_eq!(out.len(), 2, "no pong for the ping after the bad frame");
}

#[test]
fn input_wanted_is_the_rest_of_the_frame_being_received() {
    let now = Instant::now();
    let mut c = new_client(Config::default(), now);
    assert_eq!(c.input_wanted(), 1, "in the handshake");
    c.handle_input(&upgrade_response(""), now);
    assert!(matches!(c.poll_event(), Some(Event::Ready { .. })));
    assert_eq!(c.input_wanted(), 1, "between frames");
    let payload: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
    let f = frame(OpCode::Binary, true, &payload);
    // Part of the header: how much more is not known yet.
    c.handle_input(&f[..3], now);
    assert!(c.poll_event().is_none());
    assert_eq!(c.input_wanted(), 1);
    // The header and 30,000 bytes of payload, in two reads.
    let h = f.len() - payload.len();
    c.handle_input(&f[3..h + 20_000], now);
    assert!(c.poll_event().is_none());
    c.handle_input(&f[h + 20_000..h + 30_000], now);
    assert!(c.poll_event().is_none());
    assert_eq!(c.input_wanted(), 70_000);
    c.handle_input(&f[h + 30_000..f.len() - 1], now);
    assert!(c.poll_event().is_none());
    assert_eq!(c.input_wanted(), 1);
    c.handle_input(&f[f.len() - 1..], now);
    assert!(matches!(c.poll_event(), Some(Event::Binary(b)) if b[..] == payload[..]));
    assert_eq!(c.input_wanted(), 1);
}
