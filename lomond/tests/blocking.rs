//! The blocking client against real servers on loopback: lomond's own echo
//! server, and scripted servers that send exact bytes.

use lomond::proto::frame::OpCode;
use lomond::{DisconnectReason, Event, HandshakeError, ProtocolError, SendError, WebSocket};
use lomond_testkit::{read_frame, read_request, upgrade, EchoServer, ScriptServer};
use std::io::Write;
use std::net::TcpListener;
use std::thread;
use std::time::Duration;

mod common;
use common::{names, ws};

#[test]
fn a_normal_session_in_order() {
    let server = EchoServer::start().unwrap();
    let ws = ws(&server.url()).protocol("chat");
    let sender = ws.sender();
    assert_eq!(sender.send_text("too early"), Err(SendError::NotReady));
    let mut events = Vec::new();
    for event in ws {
        match &event {
            Event::Ready { protocol, .. } => {
                assert_eq!(protocol.as_deref(), Some("chat"));
                sender.send_text("hello").unwrap();
                sender.send_binary([1, 2, 3]).unwrap();
                sender.ping(b"p").unwrap();
            }
            Event::Pong { .. } => sender.close(1000, "bye").unwrap(),
            _ => {}
        }
        events.push(event);
    }
    assert_eq!(
        names(&events),
        [
            "connecting",
            "connected",
            "ready",
            "text",
            "binary",
            "pong",
            "closed",
            "disconnected"
        ]
    );
    assert!(matches!(&events[3], Event::Text(t) if t == "hello"));
    assert!(matches!(&events[4], Event::Binary(b) if b[..] == [1, 2, 3]));
    assert!(matches!(
        &events[6],
        Event::Closed {
            code: Some(1000),
            ..
        }
    ));
    assert!(matches!(
        &events[7],
        Event::Disconnected {
            reason: DisconnectReason::Closed,
            graceful: true
        }
    ));
    assert!(!sender.is_open());
    assert_eq!(sender.send_text("late"), Err(SendError::Closed));
    assert_eq!(sender.feed_text("late"), Err(SendError::Closed));
    assert_eq!(sender.flush(), Err(SendError::Closed));
}

#[test]
fn senders_take_owned_and_borrowed_messages() {
    let server = EchoServer::start().unwrap();
    let ws = ws(&server.url());
    let sender = ws.sender();
    let mut events = ws.connect();
    for _ in 0..3 {
        events.next().unwrap();
    }
    let name = String::from("world");
    sender.send_text(format!("hello {name}")).unwrap();
    sender.send_text(&name).unwrap();
    sender.send_binary(vec![1u8, 2]).unwrap();
    sender
        .send_binary(lomond::Bytes::from_static(b"\x03"))
        .unwrap();
    sender.send_binary([4u8]).unwrap();
    let got: Vec<String> = events.by_ref().take(5).map(|e| e.to_string()).collect();
    assert_eq!(
        got,
        [
            "text \"hello world\"",
            "text \"world\"",
            "binary 01 02",
            "binary 03",
            "binary 04"
        ]
    );
}

#[test]
fn server_initiated_close() {
    let server = EchoServer::start().unwrap();
    let ws = ws(&server.url());
    let sender = ws.sender();
    let mut events = Vec::new();
    for event in ws {
        if let Event::Ready { .. } = event {
            sender.send_text("close:4001").unwrap();
        }
        events.push(event);
    }
    assert_eq!(
        names(&events),
        [
            "connecting",
            "connected",
            "ready",
            "closing",
            "closed",
            "disconnected"
        ]
    );
    assert!(matches!(
        &events[3],
        Event::Closing { code: Some(4001), reason } if reason == "requested"
    ));
    assert!(matches!(
        events[5],
        Event::Disconnected { graceful: true, .. }
    ));
}

#[test]
fn connect_fail_ends_the_stream() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let events: Vec<Event> = ws(&format!("ws://127.0.0.1:{port}/")).into_iter().collect();
    assert_eq!(names(&events), ["connecting", "connect_fail"]);
    assert!(matches!(
        &events[1],
        Event::ConnectFail {
            error: lomond::ConnectError::Connect { .. }
        }
    ));
}

#[test]
fn the_handshake_timer_starts_after_dns_and_connect() {
    let server = EchoServer::start().unwrap();
    let ws = common::behind_slow_dns(server.addr(), Duration::from_millis(600));
    let sender = ws.sender();
    let mut seen = Vec::new();
    for event in ws {
        if let Event::Ready { .. } = event {
            sender.close(1000, "done").unwrap();
        }
        seen.push(event);
    }
    assert_eq!(
        names(&seen),
        ["connecting", "connected", "ready", "closed", "disconnected"]
    );
}

#[test]
fn a_connect_timeout_names_the_stage_it_ran_out_in() {
    let addr = "127.0.0.1:9".parse().unwrap();
    let ws = ws("ws://slow-dns.test/")
        .resolver(common::SlowResolver {
            delay: Duration::from_secs(2),
            addr,
        })
        .connect_timeout(Some(Duration::from_millis(100)));
    let events: Vec<Event> = ws.into_iter().collect();
    let Event::ConnectFail { error } = &events[1] else {
        panic!("{events:?}")
    };
    assert_eq!(error.stage(), lomond::Stage::Resolve);
    assert_eq!(
        events[1].to_string(),
        "connect_fail: connect timed out while resolving"
    );
}

#[test]
fn a_server_that_stops_reading_times_the_writes_out() {
    let server = ScriptServer::start(1, common::never_reads).unwrap();
    let ws = ws(&server.url()).write_timeout(Some(Duration::from_millis(300)));
    let (seen, send_error) = common::flood(ws);
    assert!(matches!(send_error, SendError::Io(_)), "{send_error:?}");
    assert!(common::is_write_timeout(seen.last().unwrap()), "{seen:?}");
}

#[test]
fn a_sender_taken_before_connecting_waits_for_ready_and_sends() {
    let server = EchoServer::start().unwrap();
    let ws = ws(&server.url());
    let sender = ws.sender();
    assert_eq!(
        sender.wait_ready(Some(Duration::from_millis(20))),
        Err(SendError::NotReady),
        "not iterated yet"
    );
    let early = {
        let sender = sender.clone();
        thread::spawn(move || {
            sender.wait_ready(Some(Duration::from_secs(60)))?;
            sender.send_text("early bird")
        })
    };
    let mut texts = Vec::new();
    let mut polls = 0;
    for event in ws.poll(Some(Duration::from_millis(500))) {
        match event {
            Event::Text(t) => {
                texts.push(t.to_string());
                sender.close(1000, "").unwrap();
            }
            // The waiter was never woken: give up.
            Event::Poll if polls == 10 => sender.close(1000, "").unwrap(),
            Event::Poll => polls += 1,
            _ => {}
        }
    }
    assert_eq!(early.join().unwrap(), Ok(()));
    assert_eq!(texts, ["early bird"]);
    assert_eq!(sender.wait_ready(None), Err(SendError::Closed));
}

#[test]
fn waiting_for_a_connection_that_fails_ends_with_closed() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let ws = ws(&format!("ws://127.0.0.1:{port}/"));
    let sender = ws.sender();
    let waiter = thread::spawn(move || sender.wait_ready(None));
    assert_eq!(
        names(&ws.into_iter().collect::<Vec<_>>())[1],
        "connect_fail"
    );
    assert_eq!(waiter.join().unwrap(), Err(SendError::Closed));
}

#[test]
fn invalid_urls_fail_early() {
    assert!(matches!(
        WebSocket::new("http://x/"),
        Err(lomond::ConnectError::UnsupportedScheme(_))
    ));
    let bad = ws("ws://127.0.0.1:1/").header("Bad\r\nName", "x");
    let events: Vec<Event> = bad.into_iter().collect();
    assert!(matches!(
        &events[1],
        Event::ConnectFail {
            error: lomond::ConnectError::InvalidOption(_)
        }
    ));
}

#[test]
fn rejected_with_status_and_body() {
    let server = ScriptServer::start(1, |mut s| {
        read_request(&mut s)?;
        s.write_all(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 12\r\nWWW-Authenticate: Basic\r\n\r\nlog in first")
    })
    .unwrap();
    let events: Vec<Event> = ws(&server.url()).into_iter().collect();
    server.join();
    assert_eq!(
        names(&events),
        ["connecting", "connected", "rejected", "disconnected"]
    );
    match &events[2] {
        Event::Rejected {
            error: HandshakeError::Status { status: 401 },
            response: Some(r),
        } => {
            assert_eq!(r.header("www-authenticate"), Some("Basic"));
            assert_eq!(&r.body[..], b"log in first");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn rejected_for_a_wrong_accept_key() {
    let server = ScriptServer::start(1, |mut s| {
        read_request(&mut s)?;
        s.write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: dGhpcyBpcyBub3QgaXQ=\r\n\r\n")
    })
    .unwrap();
    let events: Vec<Event> = ws(&server.url()).into_iter().collect();
    server.join();
    assert!(matches!(
        &events[2],
        Event::Rejected {
            error: HandshakeError::AcceptMismatch,
            ..
        }
    ));
}

#[test]
fn handshake_timeout() {
    let server = ScriptServer::start(1, |mut s| {
        read_request(&mut s)?;
        thread::sleep(Duration::from_millis(1500));
        Ok(())
    })
    .unwrap();
    // The reason proves the timer fired, not the server's close after 1.5 s.
    let events: Vec<Event> = ws(&server.url())
        .handshake_timeout(Some(Duration::from_millis(300)))
        .into_iter()
        .collect();
    assert!(matches!(
        events.last(),
        Some(Event::Disconnected {
            reason: DisconnectReason::HandshakeTimeout,
            graceful: false
        })
    ));
    server.join();
}

#[test]
fn unresponsive_server_is_detected() {
    let server = ScriptServer::start(1, |mut s| {
        upgrade(&mut s, "")?;
        // Read the client's pings, never answer.
        let _ = read_frame(&mut s);
        thread::sleep(Duration::from_millis(1500));
        Ok(())
    })
    .unwrap();
    let events: Vec<Event> = ws(&server.url())
        .ping_rate(Some(Duration::from_millis(100)))
        .ping_timeout(Some(Duration::from_millis(400)))
        .into_iter()
        .collect();
    assert_eq!(
        names(&events)[2..],
        ["ready", "unresponsive", "disconnected"]
    );
    server.join();
}

#[test]
fn polls_while_idle() {
    let server = EchoServer::start().unwrap();
    let ws = ws(&server.url()).poll(Some(Duration::from_millis(50)));
    let sender = ws.sender();
    let mut polls = 0;
    for event in ws {
        if let Event::Poll = event {
            polls += 1;
            if polls == 3 {
                sender.close(1000, "").unwrap();
            }
        }
    }
    assert_eq!(polls, 3);
}

/// Runs `write` on its own thread once the connection to the echo server
/// is ready, and returns the first `count` messages echoed (text as
/// `Ok`, binary as `Err`), read meanwhile on this thread. The session must
/// end gracefully.
fn echoed_from_another_thread(
    count: usize,
    write: impl FnOnce(lomond::Sender) + Send + 'static,
) -> Vec<Result<String, Vec<u8>>> {
    let server = EchoServer::start().unwrap();
    let ws = ws(&server.url());
    let sender = ws.sender();
    let mut write = Some(write);
    let mut received = Vec::new();
    let mut writer = None;
    for event in ws {
        match event {
            Event::Ready { .. } => {
                let (s, write) = (sender.clone(), write.take().unwrap());
                writer = Some(thread::spawn(move || write(s)));
            }
            Event::Text(t) => received.push(Ok(t.to_string())),
            Event::Binary(b) => received.push(Err(b.to_vec())),
            Event::ProtocolError { error } => panic!("{error}"),
            Event::Disconnected { graceful, .. } => assert!(graceful),
            _ => {}
        }
        if received.len() == count && sender.is_open() {
            sender.close(1000, "all back").unwrap();
        }
    }
    writer.unwrap().join().unwrap();
    received
}

#[test]
fn sending_from_another_thread_while_receiving() {
    let received = echoed_from_another_thread(1000, |s| {
        for i in 0..500 {
            s.send_text(format!("message {i}")).unwrap();
            s.send_binary(vec![i as u8; i * 100]).unwrap();
        }
    });
    assert_eq!(received.len(), 1000);
    for (i, pair) in received.chunks(2).enumerate() {
        assert_eq!(pair[0], Ok(format!("message {i}")));
        assert_binary(&pair[1], i * 100, i as u8, i);
    }
}

/// Sizes that cross the 64 KiB write threshold at many offsets, so that
/// writes of whole TCP segments leave tails of all lengths behind.
fn fed_size(i: usize) -> usize {
    [1000, 70_000, 3, 20_000, 125, 65_536, 40][i % 7] + i
}

#[test]
fn feeding_past_the_threshold_delivers_everything_in_order() {
    // A thread feeds 2 MB in messages of mixed sizes and flushes once: the
    // writes it makes on the way take whole segments and leave tails
    // queued, which later writes must carry in order.
    let count = 70;
    let received = echoed_from_another_thread(count, move |s| {
        for i in 0..count {
            s.feed_binary(vec![i as u8; fed_size(i)]).unwrap();
        }
        s.flush().unwrap();
    });
    assert_eq!(received.len(), count);
    for (i, message) in received.iter().enumerate() {
        assert_binary(message, fed_size(i), i as u8, i);
    }
}

/// Message `i` is binary: `len` bytes, each `byte` (said briefly if not).
fn assert_binary(message: &Result<String, Vec<u8>>, len: usize, byte: u8, i: usize) {
    let Err(b) = message else {
        panic!("message {i} is text");
    };
    assert_eq!(b.len(), len, "message {i}");
    assert!(b.iter().all(|&x| x == byte), "message {i}");
}

#[test]
fn fed_replies_are_written_before_the_iterator_waits() {
    // A responder that only feeds (never flushes) still gets its replies
    // out: the iterator writes what is queued before it blocks on a read.
    let server = EchoServer::start().unwrap();
    let url = server.url();
    let (done, finished) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let ws = ws(&url);
        let sender = ws.sender();
        let (mut sent, mut echoed) = (0, 0);
        for event in ws {
            match event {
                Event::Ready { .. } => {
                    while sent < 64 {
                        sender.feed_text(format!("m{sent}")).unwrap();
                        sent += 1;
                    }
                }
                Event::Text(t) => {
                    assert_eq!(t, format!("m{echoed}").as_str());
                    echoed += 1;
                    if sent < 640 {
                        sender.feed_text(format!("m{sent}")).unwrap();
                        sent += 1;
                    } else if echoed == 640 {
                        sender.close(1000, "").unwrap();
                    }
                }
                _ => {}
            }
        }
        done.send(echoed).unwrap();
    });
    let echoed = finished
        .recv_timeout(Duration::from_secs(10))
        .expect("fed messages were never written");
    assert_eq!(echoed, 640);
}

#[test]
fn protocol_error_sends_the_close_code_and_waits_for_the_server() {
    let server = ScriptServer::start(1, |mut s| {
        upgrade(&mut s, "")?;
        s.write_all(&[0x81, 0x02, b'o', b'k', 0x83, 0x00])?;
        let (op, payload) = read_frame(&mut s)?;
        assert_eq!(op, OpCode::Close);
        assert_eq!(payload[..2], 1002u16.to_be_bytes());
        s.write_all(&[0x88, 0x02, 0x03, 0xea])
    })
    .unwrap();
    let events: Vec<Event> = ws(&server.url()).into_iter().collect();
    server.join();
    assert_eq!(
        names(&events)[2..],
        ["ready", "text", "protocol_error", "disconnected"]
    );
    assert!(matches!(
        &events[4],
        Event::ProtocolError {
            error: ProtocolError::ReservedOpCode(3)
        }
    ));
    assert!(matches!(
        &events[5],
        Event::Disconnected {
            reason: DisconnectReason::ProtocolError(_),
            graceful: false
        }
    ));
}

#[test]
fn a_huge_frame_header_is_refused_with_1009() {
    let server = ScriptServer::start(1, |mut s| {
        upgrade(&mut s, "")?;
        s.write_all(&[0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])?;
        let (op, payload) = read_frame(&mut s)?;
        assert_eq!(
            (op, &payload[..2]),
            (OpCode::Close, &1009u16.to_be_bytes()[..])
        );
        Ok(())
    })
    .unwrap();
    let events: Vec<Event> = ws(&server.url()).into_iter().collect();
    server.join();
    assert!(matches!(
        &events[3],
        Event::ProtocolError {
            error: ProtocolError::FrameTooLarge { .. }
        }
    ));
}

#[test]
fn a_stream_dribbled_byte_by_byte() {
    let server = ScriptServer::start(1, |mut s| {
        let req = read_request(&mut s)?;
        let key = req.headers["sec-websocket-key"].to_str().unwrap().to_owned();
        let mut bytes = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
            lomond::proto::handshake::accept_key(&key)
        )
        .into_bytes();
        bytes.extend_from_slice(&[0x01, 0x03, b'a', 0xc3, 0xa9, 0x89, 0x00, 0x80, 0x01, b'!']);
        bytes.extend_from_slice(&[0x88, 0x02, 0x03, 0xe8]);
        for b in bytes {
            s.write_all(&[b])?;
            s.flush()?;
            thread::sleep(Duration::from_micros(200));
        }
        let _ = read_frame(&mut s);
        let _ = read_frame(&mut s);
        Ok(())
    })
    .unwrap();
    let events: Vec<Event> = ws(&server.url()).into_iter().collect();
    server.join();
    assert_eq!(
        names(&events)[2..],
        ["ready", "ping", "text", "closing", "closed", "disconnected"]
    );
    assert!(matches!(&events[4], Event::Text(t) if t == "aé!"));
}

#[test]
fn dropping_mid_connection_says_going_away() {
    let server = ScriptServer::start(1, |mut s| {
        upgrade(&mut s, "")?;
        let (op, payload) = read_frame(&mut s)?;
        assert_eq!(op, OpCode::Close);
        assert_eq!(payload[..2], 1001u16.to_be_bytes());
        Ok(())
    })
    .unwrap();
    let mut events = ws(&server.url()).into_iter();
    for e in events.by_ref() {
        if let Event::Ready { .. } = e {
            break;
        }
    }
    drop(events);
    server.join();
}

#[test]
fn connection_lost_without_close() {
    let server = ScriptServer::start(1, |mut s| {
        upgrade(&mut s, "")?;
        s.write_all(&[0x81, 0x01, b'x'])
    })
    .unwrap();
    let events: Vec<Event> = ws(&server.url()).into_iter().collect();
    server.join();
    assert_eq!(names(&events)[2..], ["ready", "text", "disconnected"]);
    assert!(matches!(
        events.last(),
        Some(Event::Disconnected {
            reason: DisconnectReason::ConnectionLost,
            graceful: false
        })
    ));
}

#[test]
fn compression_end_to_end() {
    let server = EchoServer::start().unwrap();
    let ws = ws(&server.url()).compress(true);
    let sender = ws.sender();
    let big = "squeeze me ".repeat(10_000);
    let mut got = Vec::new();
    for event in ws {
        match event {
            Event::Ready { deflate, .. } => {
                assert!(deflate.is_some(), "the echo server accepts deflate");
                sender.send_text(&big).unwrap();
            }
            Event::Text(t) => {
                got.push(t.into_string());
                sender.close(1000, "").unwrap();
            }
            _ => {}
        }
    }
    assert_eq!(got, [big]);
}

#[test]
fn a_large_frame_arriving_in_pieces_is_delivered_when_its_last_piece_comes() {
    let server = ScriptServer::start(1, common::large_frame_in_pieces).unwrap();
    let url = server.url();
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let ws = ws(&url);
        let sender = ws.sender();
        let mut seen = Vec::new();
        for event in ws {
            if let Event::Text(_) = &event {
                sender.close(1000, "").unwrap();
            }
            seen.push(event);
        }
        tx.send(seen).unwrap();
    });
    let events = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the client stopped waiting for bytes that had come");
    server.join();
    common::assert_large_frame_session(&events);
}

#[cfg(unix)]
#[test]
fn a_session_over_a_unix_socket_the_application_brought() {
    let (client, server) = std::os::unix::net::UnixStream::pair().unwrap();
    let served = lomond_testkit::echo_on(server);
    // The host is only named in the request: nothing resolves or connects.
    let ws = ws("ws://unix.invalid/chat").ping_rate(Some(Duration::from_millis(50)));
    let sender = ws.sender();
    let mut events = Vec::new();
    let mut writer = None;
    for event in ws.connect_on(client) {
        match &event {
            Event::Ready { .. } => {
                // From another thread while this one blocks reading: the
                // stream is read and written at once.
                let sender = sender.clone();
                writer = Some(thread::spawn(move || {
                    sender.send_text("hello").unwrap();
                    sender.send_binary(vec![7; 300 << 10]).unwrap();
                }));
            }
            // A pong answers the automatic ping: the timers run too.
            Event::Pong { .. } => {
                let _ = sender.close(1000, "bye");
            }
            _ => {}
        }
        events.push(event);
    }
    writer.unwrap().join().unwrap();
    served.join().unwrap().unwrap();
    common::assert_brought_session(&events);
}

#[cfg(unix)]
#[test]
fn a_brought_stream_that_ends_is_a_lost_connection() {
    let (client, server) = std::os::unix::net::UnixStream::pair().unwrap();
    drop(server);
    let events: Vec<Event> = ws("ws://unix.invalid/").connect_on(client).collect();
    assert_eq!(names(&events), ["connecting", "connected", "disconnected"]);
}
