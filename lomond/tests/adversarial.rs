//! A hostile server, one attack per case: each asserts the exact event the
//! client reports, the close code it sends, and that the client's memory
//! stayed within its configured limits plus a fixed margin (measured by a
//! counting allocator, not assumed).

use lomond::proto::deflate::DeflateConfig;
use lomond::proto::frame::{encode_header, FrameHeader, OpCode};
use lomond::{ConnectError, DisconnectReason, Event, HandshakeError, ProtocolError, WebSocket};
use lomond_testkit::{read_frame, read_request, upgrade, ScriptServer};
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Counts live heap bytes and their peak, for the whole test process.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counters are only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as our caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// A server script, boxed so that cases can differ.
type Script = Box<dyn Fn(TcpStream) -> std::io::Result<()> + Send + Sync>;

/// Cases run one at a time, so each one's peak is its own.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The client's limits in these tests: memory may not pass them by more
/// than `MARGIN`.
const LIMIT: usize = 256 << 10;
const MARGIN: usize = 2 << 20;

fn client(url: &str) -> WebSocket {
    WebSocket::new(url)
        .unwrap()
        .ping_rate(None)
        .poll(None)
        .max_frame_size(LIMIT)
        .max_message_size(LIMIT)
        .close_timeout(Some(Duration::from_secs(3)))
        .handshake_timeout(Some(Duration::from_secs(3)))
}

/// Runs one scripted attack against the blocking client, then against the
/// tokio client: both must report the same events. Returns the blocking
/// client's events and the larger growth of peak heap use over a run.
fn attack<F>(ws: impl Fn(&str) -> WebSocket, script: F) -> (Vec<Event>, usize)
where
    F: Fn(TcpStream) -> std::io::Result<()> + Send + Sync + 'static,
{
    let server = ScriptServer::start(2, script).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let measure = |run: &dyn Fn() -> Vec<Event>| {
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let events = run();
        (events, PEAK.load(Ordering::Relaxed) - base)
    };
    let url = server.url();
    let (events, growth) = measure(&|| ws(&url).into_iter().collect());
    let (async_events, async_growth) =
        measure(&|| runtime.block_on(futures_util::StreamExt::collect(ws(&url).event_stream())));
    server.join();
    let names = |e: &[Event]| e.iter().map(Event::name).collect::<Vec<_>>();
    assert_eq!(
        names(&events),
        names(&async_events),
        "blocking and tokio differ"
    );
    (events, growth.max(async_growth))
}

/// A script: a valid upgrade, then `bytes`, then (if `code`) the client's
/// Close must carry that code.
fn after_upgrade(bytes: Vec<u8>, code: Option<u16>) -> impl Fn(TcpStream) -> std::io::Result<()> {
    move |mut s| {
        upgrade(&mut s, "")?;
        s.write_all(&bytes)?;
        if let Some(code) = code {
            let (op, payload) = read_frame(&mut s)?;
            assert_eq!(op, OpCode::Close, "the client answers with a Close");
            assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), code);
        }
        Ok(())
    }
}

fn protocol_error(events: &[Event]) -> Option<&ProtocolError> {
    events.iter().find_map(|e| match e {
        Event::ProtocolError { error } => Some(error),
        _ => None,
    })
}

fn assert_bounded(name: &str, growth: usize) {
    assert!(
        growth <= LIMIT + MARGIN,
        "{name}: peak heap grew by {growth} bytes (limit {LIMIT} + margin {MARGIN})"
    );
}

fn assert_failed_with(name: &str, events: &[Event], error: ProtocolError) {
    assert_eq!(protocol_error(events), Some(&error), "{name}: {events:?}");
    assert!(
        matches!(
            events.last(),
            Some(Event::Disconnected {
                reason: DisconnectReason::ProtocolError(_),
                graceful: false
            })
        ),
        "{name}: {events:?}"
    );
}

/// A final frame's header, encoded by lomond's own codec.
fn header(op: OpCode, len: u64) -> Vec<u8> {
    let mut out = Vec::new();
    encode_header(&mut out, &FrameHeader::new(op, None, len));
    out
}

#[test]
fn frame_attacks() {
    let _serial = serial();
    let masked = {
        let mut f = header(OpCode::Text, 4);
        f[1] |= 0x80;
        f.extend_from_slice(&[1, 2, 3, 4, b'a', b'b', b'c', b'd']);
        f
    };
    let cases: Vec<(&str, Vec<u8>, ProtocolError, u16)> = vec![
        (
            "2^63-1 length",
            vec![0x82, 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ProtocolError::FrameTooLarge {
                len: (1 << 63) - 1,
                limit: LIMIT,
            },
            1009,
        ),
        (
            "length with the top bit set",
            vec![0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0],
            ProtocolError::InvalidLength,
            1002,
        ),
        (
            "frame one byte over the limit",
            header(OpCode::Binary, LIMIT as u64 + 1),
            ProtocolError::FrameTooLarge {
                len: LIMIT as u64 + 1,
                limit: LIMIT,
            },
            1009,
        ),
        (
            "message one byte over the limit, in fragments",
            [
                header(OpCode::Binary, LIMIT as u64 / 2)[..]
                    .iter()
                    .map(|b| b & 0x7f)
                    .collect::<Vec<u8>>(),
                vec![0; LIMIT / 2],
                header(OpCode::Continuation, LIMIT as u64 / 2 + 1),
            ]
            .concat(),
            ProtocolError::MessageTooLarge { limit: LIMIT },
            1009,
        ),
        (
            "fragmented ping",
            vec![0x09, 0x00],
            ProtocolError::FragmentedControlFrame,
            1002,
        ),
        (
            "ping of 126 bytes",
            [header(OpCode::Ping, 126), vec![0; 126]].concat(),
            ProtocolError::ControlFrameTooLong,
            1002,
        ),
        ("masked frame", masked, ProtocolError::MaskedFrame, 1002),
        (
            "RSV1 without an extension",
            vec![0xc1, 0x01, b'x'],
            ProtocolError::ReservedBits(0b100),
            1002,
        ),
        (
            "RSV3",
            vec![0x92, 0x00],
            ProtocolError::ReservedBits(0b001),
            1002,
        ),
        (
            "opcode 3",
            vec![0x83, 0x00],
            ProtocolError::ReservedOpCode(3),
            1002,
        ),
        (
            "opcode 0xF",
            vec![0x8f, 0x00],
            ProtocolError::ReservedOpCode(0xf),
            1002,
        ),
        (
            "continuation with nothing to continue",
            vec![0x80, 0x01, b'x'],
            ProtocolError::UnexpectedContinuation,
            1002,
        ),
        (
            "close with a 1-byte payload",
            vec![0x88, 0x01, 0x03],
            ProtocolError::InvalidClosePayload,
            1002,
        ),
        (
            "close with code 1005",
            vec![0x88, 0x02, 0x03, 0xed],
            ProtocolError::InvalidCloseCode(1005),
            1002,
        ),
        (
            "close with code 5000",
            vec![0x88, 0x02, 0x13, 0x88],
            ProtocolError::InvalidCloseCode(5000),
            1002,
        ),
    ];
    for (name, bytes, error, code) in cases {
        let (events, growth) = attack(client, after_upgrade(bytes, Some(code)));
        assert_failed_with(name, &events, error);
        assert_bounded(name, growth);
    }
}

#[test]
fn invalid_utf8_at_every_position() {
    let _serial = serial();
    let text = "héllo wörld, κόσμε".as_bytes();
    for pos in 0..=text.len() {
        let mut bad = text.to_vec();
        bad.insert(pos, 0xff);
        let frame = [header(OpCode::Text, bad.len() as u64), bad].concat();
        let name = format!("0xff at {pos}");
        let (events, growth) = attack(client, after_upgrade(frame, Some(1007)));
        assert_failed_with(&name, &events, ProtocolError::InvalidUtf8);
        assert_bounded(&name, growth);
    }
}

#[test]
fn data_after_close_is_ignored() {
    let _serial = serial();
    let bytes = [
        vec![0x88, 0x02, 0x03, 0xe8],
        [header(OpCode::Text, 5), b"after".to_vec()].concat(),
    ]
    .concat();
    let (events, _) = attack(client, after_upgrade(bytes, Some(1000)));
    let names: Vec<_> = events.iter().map(Event::name).collect();
    assert_eq!(
        names[2..],
        ["ready", "closing", "closed", "disconnected"],
        "nothing after the Close is delivered"
    );
}

#[test]
fn a_decompression_bomb() {
    let _serial = serial();
    // 64 MiB of zeroes, compressed by zlib at level 9 into one frame.
    let mut compress = flate2::Compress::new(flate2::Compression::best(), false);
    let zeroes = vec![0u8; 64 << 20];
    let mut payload = Vec::with_capacity(128 << 10);
    compress
        .compress_vec(&zeroes, &mut payload, flate2::FlushCompress::Sync)
        .unwrap();
    drop(zeroes);
    payload.truncate(payload.len() - 4);
    let mut frame = header(OpCode::Binary, payload.len() as u64);
    frame[0] |= 0x40;
    frame.extend_from_slice(&payload);
    let script = move |mut s: TcpStream| {
        upgrade(&mut s, "Sec-WebSocket-Extensions: permessage-deflate\r\n")?;
        s.write_all(&frame)?;
        let (op, p) = read_frame(&mut s)?;
        assert_eq!(
            (op, u16::from_be_bytes([p[0], p[1]])),
            (OpCode::Close, 1009)
        );
        Ok(())
    };
    let ws = |url: &str| client(url).deflate(DeflateConfig::default());
    let (events, growth) = attack(ws, script);
    assert_failed_with(
        "bomb",
        &events,
        ProtocolError::MessageTooLarge { limit: LIMIT },
    );
    assert_bounded("bomb", growth);
}

#[test]
fn handshake_attacks() {
    let _serial = serial();
    let raw = |response: &'static [u8]| {
        move |mut s: TcpStream| {
            read_request(&mut s)?;
            s.write_all(response)
        }
    };
    let cases: Vec<(&str, Script, HandshakeError)> = vec![
        (
            "no 101",
            Box::new(raw(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")),
            HandshakeError::Status { status: 200 },
        ),
        (
            "wrong accept",
            Box::new(raw(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n")),
            HandshakeError::AcceptMismatch,
        ),
        (
            "subprotocol never offered",
            Box::new(|mut s: TcpStream| upgrade(&mut s, "Sec-WebSocket-Protocol: evil\r\n").map(drop)),
            HandshakeError::UnexpectedProtocol("evil".into()),
        ),
        (
            "extension never offered",
            Box::new(|mut s: TcpStream| upgrade(&mut s, "Sec-WebSocket-Extensions: x-evil\r\n").map(drop)),
            HandshakeError::UnexpectedExtension("x-evil".into()),
        ),
        (
            "endless header block",
            Box::new(|mut s: TcpStream| {
                read_request(&mut s)?;
                s.write_all(b"HTTP/1.1 101 Switching Protocols\r\n")?;
                let line = format!("X-Filler: {}\r\n", "a".repeat(1000));
                // Far past the 16 KiB limit; the client stops reading first.
                for _ in 0..1000 {
                    if s.write_all(line.as_bytes()).is_err() {
                        break;
                    }
                }
                Ok(())
            }),
            HandshakeError::HeadersTooLarge { limit: 16 << 10 },
        ),
    ];
    for (name, script, expected) in cases {
        let (events, growth) = attack(client, script);
        let rejected = events.iter().find_map(|e| match e {
            Event::Rejected { error, .. } => Some(error.clone()),
            _ => None,
        });
        assert_eq!(rejected, Some(expected), "{name}: {events:?}");
        assert!(matches!(
            events.last(),
            Some(Event::Disconnected {
                reason: DisconnectReason::Rejected,
                ..
            })
        ));
        assert_bounded(name, growth);
    }
    // A server that accepts and says nothing: the handshake timeout.
    let (events, _) = attack(
        |url| client(url).handshake_timeout(Some(Duration::from_millis(300))),
        |mut s| {
            read_request(&mut s)?;
            std::thread::sleep(Duration::from_millis(1200));
            Ok(())
        },
    );
    assert!(matches!(
        events.last(),
        Some(Event::Disconnected {
            reason: DisconnectReason::HandshakeTimeout,
            ..
        })
    ));
    // Nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let events: Vec<Event> = client(&format!("ws://127.0.0.1:{port}/"))
        .into_iter()
        .collect();
    assert!(matches!(
        events.last(),
        Some(Event::ConnectFail {
            error: ConnectError::Connect { .. }
        })
    ));
}

#[test]
fn a_valid_stream_dribbled_a_byte_at_a_time() {
    let _serial = serial();
    let script = |mut s: TcpStream| {
        upgrade(&mut s, "")?;
        let stream = [
            [header(OpCode::Text, 11), b"hello world".to_vec()].concat(),
            [header(OpCode::Ping, 2), b"pi".to_vec()].concat(),
            [header(OpCode::Binary, 300), vec![7; 300]].concat(),
            vec![0x88, 0x02, 0x03, 0xe8],
        ]
        .concat();
        for b in stream {
            s.write_all(&[b])?;
            s.flush()?;
        }
        let _ = read_frame(&mut s);
        let _ = read_frame(&mut s);
        Ok(())
    };
    let (events, growth) = attack(client, script);
    let names: Vec<_> = events.iter().map(Event::name).collect();
    assert_eq!(
        names[2..],
        [
            "ready",
            "text",
            "ping",
            "binary",
            "closing",
            "closed",
            "disconnected"
        ]
    );
    assert_bounded("dribble", growth);
}
