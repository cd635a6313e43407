//! Properties over generated inputs: any message sequence survives encoding
//! and decoding with any chunking, in both directions, with and without
//! compression; masking round-trips; the UTF-8 validator agrees with std.

use lomond::proto::deflate::DeflateConfig;
use lomond::proto::internal::FixedEntropy;
use lomond::proto::mask::{apply_mask, extend_masked, rotate_key};
use lomond::proto::utf8::Utf8Validator;
use lomond::proto::Event;
use lomond::proto::{ClientRequest, Config, Connection};
use proptest::prelude::*;
use std::time::Instant;

#[derive(Debug, Clone)]
enum Msg {
    Text(String),
    Binary(Vec<u8>),
}

fn message() -> impl Strategy<Value = Msg> {
    prop_oneof![
        any::<String>().prop_map(Msg::Text),
        prop::collection::vec(any::<u8>(), 0..3000).prop_map(Msg::Binary),
        // Compressible runs, so compression does real work.
        (any::<u8>(), 0..20_000usize).prop_map(|(b, n)| Msg::Binary(vec![b; n])),
    ]
}

fn config(deflate: bool) -> Config {
    let mut c = Config::default();
    c.ping_rate = None;
    c.poll = None;
    if deflate {
        let mut d = DeflateConfig::default();
        d.threshold = 0;
        c.deflate = Some(d);
    }
    c
}

fn request() -> ClientRequest {
    ClientRequest {
        host: "h".into(),
        resource: "/".into(),
        ..Default::default()
    }
}

/// Runs the opening handshake between `client` and a server on the same
/// configuration; both are open after it.
fn shake_hands(client: &mut Connection, deflate: bool, now: Instant) -> Connection {
    let mut server = Connection::server(vec![], config(deflate), now);
    let hello = client.poll_transmit().to_vec();
    client.consume_transmit(hello.len());
    server.handle_input(&hello, now);
    let answer = server.poll_transmit().to_vec();
    server.consume_transmit(answer.len());
    client.handle_input(&answer, now);
    assert!(matches!(client.poll_event(), Some(Event::Ready { .. })));
    assert!(matches!(server.poll_event(), Some(Event::Ready { .. })));
    server
}

fn pair(deflate: bool) -> (Connection, Connection) {
    let now = Instant::now();
    let mut client = Connection::client(request(), config(deflate), now).unwrap();
    let server = shake_hands(&mut client, deflate, now);
    (client, server)
}

/// Sends `messages` from `from` and feeds the bytes to `to` in `chunks`
/// (cycled), collecting what `to` decodes.
fn transfer(
    from: &mut Connection,
    to: &mut Connection,
    messages: &[Msg],
    chunks: &[usize],
) -> Vec<Msg> {
    let now = Instant::now();
    for m in messages {
        match m {
            Msg::Text(t) => from.send_text(t).unwrap(),
            Msg::Binary(b) => from.send_binary(b).unwrap(),
        }
    }
    let wire = from.poll_transmit().to_vec();
    from.consume_transmit(wire.len());
    let mut got = Vec::new();
    let mut pos = 0;
    let mut i = 0;
    while pos < wire.len() {
        let n = chunks[i % chunks.len()].min(wire.len() - pos);
        to.handle_input(&wire[pos..pos + n], now);
        pos += n;
        i += 1;
        while let Some(event) = to.poll_event() {
            match event {
                Event::Text(t) => got.push(Msg::Text(t.into_string())),
                Event::Binary(b) => got.push(Msg::Binary(b.to_vec())),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    got
}

fn same(a: &[Msg], b: &[Msg]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|p| match p {
            (Msg::Text(x), Msg::Text(y)) => x == y,
            (Msg::Binary(x), Msg::Binary(y)) => x == y,
            _ => false,
        })
}

/// One frame from a server that may break any rule: opcode (reserved ones
/// included), FIN, RSV bits, a mask, the length in a longer form than
/// needed, and a payload that is text, UTF-8 or not.
#[derive(Debug, Clone)]
struct RawFrame {
    fin: bool,
    rsv: u8,
    opcode: u8,
    masked: bool,
    long_len: bool,
    payload: Vec<u8>,
}

fn raw_frame() -> impl Strategy<Value = RawFrame> {
    let opcode = prop_oneof![
        6 => Just(1u8),
        6 => Just(2u8),
        2 => Just(0u8),
        1 => Just(8u8),
        1 => Just(9u8),
        1 => Just(10u8),
        1 => 0u8..16,
    ];
    let payload = prop_oneof![
        any::<String>().prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..300),
        (any::<u8>(), 100..70_000usize).prop_map(|(b, n)| vec![b; n]),
    ];
    (
        prop::bool::weighted(0.85),
        prop_oneof![12 => Just(0u8), 1 => 0u8..8],
        opcode,
        prop::bool::weighted(0.05),
        prop::bool::weighted(0.1),
        payload,
    )
        .prop_map(|(fin, rsv, opcode, masked, long_len, payload)| RawFrame {
            fin,
            rsv,
            opcode,
            masked,
            long_len,
            payload,
        })
}

fn encode_raw(f: &RawFrame, out: &mut Vec<u8>) {
    out.push(u8::from(f.fin) << 7 | f.rsv << 4 | f.opcode);
    let mask_bit = u8::from(f.masked) << 7;
    let len = f.payload.len();
    if len < 126 && !f.long_len {
        out.push(mask_bit | len as u8);
    } else if len < 65_536 {
        out.push(mask_bit | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    if f.masked {
        out.extend_from_slice(&[0, 0, 0, 0]);
    }
    out.extend_from_slice(&f.payload);
}

/// An open client whose masks are reproducible, so two of them write the
/// same bytes for the same events.
fn reproducible_client(now: Instant) -> Connection {
    let mut client = Connection::client_with_entropy(
        request(),
        config(false),
        now,
        Box::new(FixedEntropy::new([9, 8, 7, 6, 5])),
    )
    .unwrap();
    shake_hands(&mut client, false, now);
    client
}

/// Feeds `wire` in `chunks` and drains events after each: through the
/// general decoder alone, or as the drivers do, with `poll_message` first.
/// Returns every event (as Debug text) and every byte the client wrote.
fn decode_all(wire: &[u8], chunks: &[usize], fast_path: bool) -> (Vec<String>, Vec<u8>) {
    let now = Instant::now();
    let mut c = reproducible_client(now);
    let mut events = Vec::new();
    let mut written = Vec::new();
    let mut pos = 0;
    let mut i = 0;
    while pos < wire.len() {
        let n = chunks[i % chunks.len()].min(wire.len() - pos);
        c.handle_input(&wire[pos..pos + n], now);
        pos += n;
        i += 1;
        loop {
            if fast_path {
                while let Some(e) = c.poll_message() {
                    events.push(format!("{e:?}"));
                }
            }
            let next = if fast_path {
                c.poll_event()
            } else {
                c.poll_event_general()
            };
            match next {
                Some(e) => events.push(format!("{e:?}")),
                None => break,
            }
        }
        let out = c.poll_transmit().to_vec();
        c.consume_transmit(out.len());
        written.extend_from_slice(&out);
    }
    (events, written)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// `poll_message`, the drivers' fast path, decodes any server stream,
    /// valid or not, to the same events and the same answers as the general
    /// frame decoder alone.
    #[test]
    fn the_fast_path_and_the_general_path_decode_every_stream_alike(
        frames in prop::collection::vec(raw_frame(), 0..24),
        chunks in prop::collection::vec(1..5000usize, 1..8),
    ) {
        let mut wire = Vec::new();
        for f in &frames {
            encode_raw(f, &mut wire);
        }
        let general = decode_all(&wire, &chunks, false);
        let fast = decode_all(&wire, &chunks, true);
        prop_assert_eq!(&fast.0, &general.0, "events");
        prop_assert!(fast.1 == general.1, "bytes written");
    }

    #[test]
    fn any_messages_any_chunking_both_ways(
        messages in prop::collection::vec(message(), 0..12),
        chunks in prop::collection::vec(1..4096usize, 1..8),
        deflate in any::<bool>(),
    ) {
        let (mut client, mut server) = pair(deflate);
        let got = transfer(&mut client, &mut server, &messages, &chunks);
        prop_assert!(same(&got, &messages), "client to server");
        let got = transfer(&mut server, &mut client, &messages, &chunks);
        prop_assert!(same(&got, &messages), "server to client");
    }

    #[test]
    fn masking_round_trips(data in prop::collection::vec(any::<u8>(), 0..600), key in any::<[u8; 4]>(), split in 0..600usize) {
        let mut out = Vec::new();
        extend_masked(&mut out, &data, key);
        let expected: Vec<u8> = data.iter().enumerate().map(|(i, b)| b ^ key[i % 4]).collect();
        prop_assert_eq!(&out, &expected);
        // Unmasking in two pieces, resuming mid-key, gives the data back.
        let split = split.min(out.len());
        let (a, b) = out.split_at_mut(split);
        apply_mask(a, key);
        apply_mask(b, rotate_key(key, split));
        prop_assert_eq!(out, data);
    }

    #[test]
    fn utf8_validator_agrees_with_std(
        data in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64),
            any::<String>().prop_map(String::into_bytes),
            (any::<String>(), any::<u8>(), any::<usize>()).prop_map(|(s, b, at)| {
                let mut v = s.into_bytes();
                let at = if v.is_empty() { 0 } else { at % v.len() };
                v.insert(at, b);
                v
            }),
        ],
        cuts in prop::collection::vec(any::<usize>(), 0..4),
    ) {
        let std_ok = std::str::from_utf8(&data);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| if data.is_empty() { 0 } else { c % data.len() }).collect();
        cuts.sort_unstable();
        let mut v = Utf8Validator::new();
        let mut prev = 0;
        let mut ok = true;
        for &c in cuts.iter().chain(std::iter::once(&data.len())) {
            ok &= v.feed(&data[prev..c]).is_ok();
            prev = c;
            if !ok {
                break;
            }
        }
        let complete = ok && v.finish().is_ok();
        prop_assert_eq!(complete, std_ok.is_ok());
        // Failing early means std also found an error that is not just a
        // truncated tail.
        if !ok {
            prop_assert!(std_ok.is_err());
        }
    }
}
