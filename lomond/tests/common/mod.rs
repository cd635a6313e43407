//! Helpers shared by the driver test suites.

use lomond::{Event, WebSocket};
use std::time::Duration;

/// A WebSocket with short timers, so that no test can hang for long.
pub fn ws(url: &str) -> WebSocket {
    WebSocket::new(url)
        .unwrap()
        .ping_rate(None)
        .poll(None)
        .close_timeout(Some(Duration::from_secs(5)))
        .handshake_timeout(Some(Duration::from_secs(5)))
        .connect_timeout(Some(Duration::from_secs(5)))
}

/// The events' names, for comparing sequences.
pub fn names(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(Event::name).collect()
}

/// Length of the frame [`large_frame_in_pieces`] sends.
pub const LARGE: usize = 300 << 10;

/// The payload byte at `i` of that frame.
pub fn large_byte(i: usize) -> u8 {
    (i % 251) as u8
}

/// What a client that closed on the "end" text saw of
/// [`large_frame_in_pieces`]: the whole frame, intact, then the close.
pub fn assert_large_frame_session(events: &[Event]) {
    assert_eq!(
        names(events)[2..],
        ["ready", "binary", "text", "closed", "disconnected"]
    );
    let Event::Binary(payload) = &events[3] else {
        unreachable!()
    };
    assert_eq!(payload.len(), LARGE);
    assert!(payload.iter().enumerate().all(|(i, &b)| b == large_byte(i)));
}

/// A server script: a 300 KiB binary frame in four pieces with pauses
/// between them, so the client waits mid-frame for the rest (and, on Linux,
/// sets its receive low-water mark to it); the last piece is 130 bytes.
/// Then a text "end", and nothing more until the client's Close. A client
/// whose wait asked for more bytes than the frame still needed would hang.
pub fn large_frame_in_pieces(mut s: std::net::TcpStream) -> std::io::Result<()> {
    use std::io::Write;
    lomond_testkit::upgrade(&mut s, "")?;
    let mut frame = vec![0x82, 127];
    frame.extend_from_slice(&(LARGE as u64).to_be_bytes());
    frame.extend((0..LARGE).map(large_byte));
    let cuts = [100_010, 250_010, frame.len() - 130, frame.len()];
    let mut from = 0;
    for to in cuts {
        s.write_all(&frame[from..to])?;
        from = to;
        std::thread::sleep(Duration::from_millis(50));
    }
    s.write_all(&[0x81, 3, b'e', b'n', b'd'])?;
    let (op, _) = lomond_testkit::read_frame(&mut s)?;
    assert_eq!(op, lomond::proto::frame::OpCode::Close);
    s.write_all(&[0x88, 0x02, 0x03, 0xe8])?;
    Ok(())
}

/// A resolver that answers `addr` for every name, after `delay`: a slow
/// name server.
pub struct SlowResolver {
    pub delay: Duration,
    pub addr: std::net::SocketAddr,
}

impl lomond::Resolve for SlowResolver {
    fn resolve(&self, _: &str, _: u16) -> std::io::Result<Vec<std::net::SocketAddr>> {
        std::thread::sleep(self.delay);
        Ok(vec![self.addr])
    }
}

/// A WebSocket for `server` by a made-up name that resolves after `delay`,
/// with a handshake timeout shorter than the lookup: only a handshake
/// timer that starts at the upgrade request lets it open.
pub fn behind_slow_dns(server: std::net::SocketAddr, delay: Duration) -> WebSocket {
    ws(&format!("ws://slow-dns.test:{}/", server.port()))
        .resolver(SlowResolver {
            delay,
            addr: server,
        })
        .handshake_timeout(Some(delay / 2))
}

/// A server script: accepts the upgrade, then never reads again (and
/// holds the connection open for 15 s, longer than any test waits).
pub fn never_reads(mut s: std::net::TcpStream) -> std::io::Result<()> {
    lomond_testkit::upgrade(&mut s, "")?;
    std::thread::sleep(Duration::from_secs(15));
    Ok(())
}

/// Runs `ws` with a sender flooding megabyte messages from another thread
/// once ready; the events, and the error that stopped the sender.
#[allow(dead_code)] // the blocking suites flood; the tokio one floods from tasks
pub fn flood(ws: WebSocket) -> (Vec<Event>, lomond::SendError) {
    let sender = ws.sender();
    let mut seen = Vec::new();
    let mut writer = None;
    for event in ws {
        if let Event::Ready { .. } = event {
            let sender = sender.clone();
            writer = Some(std::thread::spawn(move || loop {
                if let Err(e) = sender.send_binary(vec![7; 1 << 20]) {
                    return e;
                }
            }));
        }
        seen.push(event);
    }
    let error = writer.expect("never ready").join().unwrap();
    (seen, error)
}

/// Whether `event` ends the connection for a write that timed out.
pub fn is_write_timeout(event: &Event) -> bool {
    matches!(
        event,
        Event::Disconnected {
            reason: lomond::DisconnectReason::Io(e),
            ..
        } if e.kind() == std::io::ErrorKind::TimedOut
    )
}

/// What a session over a brought stream with an echo server at its other
/// end shows, when the client sends "hello" and 300 KiB once ready and
/// closes at the first pong: no address, both echoes in order, the pong of
/// an automatic ping, a clean close.
pub fn assert_brought_session(events: &[Event]) {
    assert!(matches!(&events[1], Event::Connected { addr: None, .. }));
    let names = names(events);
    assert_eq!(
        names[..5],
        ["connecting", "connected", "ready", "text", "binary"]
    );
    assert!(names.contains(&"pong"), "{names:?}");
    assert_eq!(names[names.len() - 2..], ["closed", "disconnected"]);
    assert!(matches!(&events[3], Event::Text(t) if t == "hello"));
    assert!(matches!(&events[4], Event::Binary(b) if b.len() == 300 << 10));
}
