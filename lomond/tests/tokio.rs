//! The tokio client against real servers on loopback.

use futures_util::{FutureExt, SinkExt, StreamExt};
use lomond::aio::{connect_async, Message};
use lomond::proto::frame::OpCode;
use lomond::{DisconnectReason, Event, SendError};
use lomond_testkit::{read_frame, upgrade, AsyncEchoServer, EchoServer, ScriptServer};
use std::io::{Read, Write};
use std::time::Duration;

mod common;
use common::{names, ws};

/// Connects and reads events up to `Ready`.
async fn open_until_ready(url: &str) -> (lomond::aio::EventStream, lomond::aio::AsyncSender) {
    let mut events = ws(url).event_stream();
    let sender = events.sender();
    while let Some(event) = events.next().await {
        if let Event::Ready { .. } = event {
            break;
        }
    }
    (events, sender)
}

async fn normal_session(url: String) {
    let mut events = ws(&url).protocol("chat").event_stream();
    let sender = events.sender();
    assert_eq!(sender.send_text("early").await, Err(SendError::NotReady));
    let mut seen = Vec::new();
    while let Some(event) = events.next().await {
        match &event {
            Event::Ready { protocol, .. } => {
                assert_eq!(protocol.as_deref(), Some("chat"));
                sender.send_text("hello").await.unwrap();
                sender.send_binary(&[1, 2, 3]).await.unwrap();
                sender.ping(b"p").await.unwrap();
            }
            Event::Pong { .. } => sender.close(1000, "bye").await.unwrap(),
            _ => {}
        }
        seen.push(event);
    }
    assert_eq!(
        names(&seen),
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
    assert!(matches!(&seen[3], Event::Text(t) if t == "hello"));
    assert!(matches!(
        &seen[7],
        Event::Disconnected {
            reason: DisconnectReason::Closed,
            graceful: true
        }
    ));
    assert_eq!(sender.send_text("late").await, Err(SendError::Closed));
}

#[tokio::test(flavor = "current_thread")]
async fn normal_session_on_current_thread_runtime() {
    let server = EchoServer::start().unwrap();
    normal_session(server.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn normal_session_on_multi_thread_runtime() {
    let server = EchoServer::start().unwrap();
    // Spawned, so the stream must be Send.
    tokio::spawn(normal_session(server.url())).await.unwrap();
}

#[tokio::test]
async fn server_initiated_close() {
    let server = EchoServer::start().unwrap();
    let mut events = ws(&server.url()).event_stream();
    let sender = events.sender();
    let mut seen = Vec::new();
    while let Some(event) = events.next().await {
        if let Event::Ready { .. } = event {
            sender.send_text("close:4002").await.unwrap();
        }
        seen.push(event);
    }
    assert_eq!(
        names(&seen)[2..],
        ["ready", "closing", "closed", "disconnected"]
    );
    assert!(matches!(
        seen[3],
        Event::Closing {
            code: Some(4002),
            ..
        }
    ));
}

#[tokio::test]
async fn ping_timeout_means_unresponsive_then_disconnected() {
    let server = ScriptServer::start(1, |mut s| {
        upgrade(&mut s, "")?;
        let _ = read_frame(&mut s); // a ping, never answered
        std::thread::sleep(Duration::from_millis(1500));
        Ok(())
    })
    .unwrap();
    let events: Vec<Event> = ws(&server.url())
        .ping_rate(Some(Duration::from_millis(100)))
        .ping_timeout(Some(Duration::from_millis(400)))
        .event_stream()
        .collect()
        .await;
    assert_eq!(
        names(&events)[2..],
        ["ready", "unresponsive", "disconnected"]
    );
    assert!(matches!(
        events.last(),
        Some(Event::Disconnected {
            reason: DisconnectReason::Unresponsive,
            graceful: false
        })
    ));
    server.join();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sending_from_another_task_while_receiving() {
    let server = EchoServer::start().unwrap();
    let mut events = ws(&server.url()).event_stream();
    let sender = events.sender();
    let mut received = 0;
    let mut writer = None;
    while let Some(event) = events.next().await {
        match event {
            Event::Ready { .. } => {
                let s = sender.clone();
                writer = Some(tokio::spawn(async move {
                    for i in 0..500usize {
                        s.send_text(&format!("message {i}")).await.unwrap();
                        s.send_binary(&vec![i as u8; i * 100]).await.unwrap();
                    }
                }));
            }
            Event::Text(t) => {
                assert_eq!(t, format!("message {}", received / 2).as_str());
                received += 1;
            }
            Event::Binary(b) => {
                assert_eq!(b.len(), (received / 2) * 100);
                received += 1;
                if received == 1000 {
                    sender.close(1000, "all back").await.unwrap();
                }
            }
            Event::Disconnected { graceful, .. } => assert!(graceful),
            _ => {}
        }
    }
    writer.unwrap().await.unwrap();
    assert_eq!(received, 1000);
}

#[tokio::test]
async fn dropping_mid_message_closes_with_going_away() {
    let server = ScriptServer::start(1, |mut s| {
        upgrade(&mut s, "")?;
        // Half of a 100-byte text frame.
        s.write_all(&[0x81, 100])?;
        s.write_all(&[b'a'; 50])?;
        let (op, payload) = read_frame(&mut s)?;
        assert_eq!(op, OpCode::Close);
        assert_eq!(payload[..2], 1001u16.to_be_bytes());
        // Then the connection is closed: end of stream.
        let mut rest = Vec::new();
        s.read_to_end(&mut rest)?;
        assert!(rest.is_empty());
        Ok(())
    })
    .unwrap();
    let (mut events, sender) = open_until_ready(&server.url()).await;
    // Let the half message arrive and be buffered, then drop.
    let _ = tokio::time::timeout(Duration::from_millis(200), events.next()).await;
    drop(events);
    assert_eq!(sender.send_text("x").await, Err(SendError::Closed));
    tokio::task::spawn_blocking(move || server.join())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_send_never_corrupts_the_stream() {
    const LEN: usize = 16 << 20;
    let big: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
    let expected = big.clone();
    let server = ScriptServer::start(1, move |mut s| {
        upgrade(&mut s, "")?;
        // Reading nothing at first, so the client's socket fills.
        std::thread::sleep(Duration::from_millis(300));
        let (op, payload) = read_frame(&mut s)?;
        assert!(
            op == OpCode::Binary && payload == expected,
            "the big one whole"
        );
        assert_eq!(read_frame(&mut s)?, (OpCode::Text, b"after".to_vec()));
        s.write_all(&[0x81, 2, b'o', b'k'])?;
        assert_eq!(read_frame(&mut s)?.0, OpCode::Close);
        s.write_all(&[0x88, 2, 0x03, 0xe8])?;
        Ok(())
    })
    .unwrap();
    let mut events = ws(&server.url()).event_stream();
    let sender = events.sender();
    let (mut after, mut answered) = (None, false);
    while let Some(event) = events.next().await {
        match event {
            Event::Ready { .. } => {
                // Polled once and dropped mid-frame: the server reads
                // nothing yet, so the socket fills long before 16 MiB is
                // written. (A 50 µs timeout raced an echo server's reads:
                // sometimes the send won, and the test waited for ever.)
                let once = sender.send_binary(&big).now_or_never();
                assert!(once.is_none(), "the send finished in one poll");
                let s = sender.clone();
                after = Some(tokio::spawn(async move { s.send_text("after").await }));
            }
            Event::Text(t) => {
                assert_eq!(t, "ok");
                answered = true;
                sender.close(1000, "").await.unwrap();
            }
            Event::ProtocolError { error } => panic!("{error}"),
            _ => {}
        }
    }
    assert!(
        answered,
        "the server read the big message whole, then the next"
    );
    after.expect("ready").await.unwrap().unwrap();
    tokio::task::spawn_blocking(move || server.join())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rest_of_a_cancelled_send_is_written_with_nothing_else_happening() {
    // More than loopback socket buffers hold (about 10 MB here).
    const LEN: usize = 32 << 20;
    // The server reads nothing until the send is cancelled, then expects
    // the whole frame; the client has no timers and gets no input, so only
    // the cancelled send can hand its rest to the stream.
    let server = ScriptServer::start(1, |mut s| {
        upgrade(&mut s, "")?;
        std::thread::sleep(Duration::from_millis(300));
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        let (op, payload) = read_frame(&mut s).expect("the rest of the frame never came");
        assert_eq!((op, payload.len()), (OpCode::Binary, LEN));
        Ok(())
    })
    .unwrap();
    let (mut events, sender) = open_until_ready(&server.url()).await;
    // The stream waits, parked, on a task of its own.
    let driver = tokio::spawn(async move { while events.next().await.is_some() {} });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let cancelled =
        tokio::time::timeout(Duration::from_millis(20), sender.send_binary(&vec![7; LEN])).await;
    assert!(cancelled.is_err(), "the send finished too fast to test");
    tokio::task::spawn_blocking(move || server.join())
        .await
        .unwrap();
    driver.abort();
}

#[tokio::test(flavor = "current_thread")]
async fn a_thousand_connections_on_one_thread() {
    let server = AsyncEchoServer::start().unwrap();
    let url = server.url();
    let mut tasks = Vec::new();
    for n in 0..1000 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let mut events = ws(&url).event_stream();
            let sender = events.sender();
            let mut echoed = 0;
            let mut graceful = false;
            while let Some(event) = events.next().await {
                match event {
                    Event::Ready { .. } => {
                        for i in 0..5 {
                            sender.send_text(&format!("{n}:{i}")).await.unwrap();
                        }
                    }
                    Event::Text(t) => {
                        assert_eq!(t, format!("{n}:{echoed}").as_str());
                        echoed += 1;
                        if echoed == 5 {
                            sender.close(1000, "").await.unwrap();
                        }
                    }
                    Event::Disconnected { graceful: g, .. } => graceful = g,
                    _ => {}
                }
            }
            (echoed, graceful)
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), (5, true));
    }
    assert_eq!(server.connections(), 1000);
}

#[tokio::test]
async fn stream_and_sink_split_like_tokio_tungstenite() {
    let server = EchoServer::start().unwrap();
    let (stream, response) = connect_async(&server.url()).await.unwrap();
    assert_eq!(response.status, 101);
    let (mut sink, mut stream) = stream.split();
    // Many feeds, one flush: the messages go out together.
    for i in 0..100 {
        sink.feed(Message::Text(format!("m{i}").into()))
            .await
            .unwrap();
    }
    sink.feed(Message::Binary(vec![7; 1000].into()))
        .await
        .unwrap();
    sink.flush().await.unwrap();
    for i in 0..100 {
        assert_eq!(
            stream.next().await.unwrap().unwrap(),
            Message::Text(format!("m{i}").into())
        );
    }
    assert_eq!(
        stream.next().await.unwrap().unwrap(),
        Message::Binary(vec![7; 1000].into())
    );
    sink.close().await.unwrap();
    match stream.next().await {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, 1000),
        other => panic!("{other:?}"),
    }
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn connect_async_takes_urls_of_every_kind_and_requests() {
    let server = EchoServer::start().unwrap();
    let url = server.url();
    let request = lomond::http::Request::get(&url)
        .header("Authorization", "Bearer x")
        .body(())
        .unwrap();
    let (a, _) = connect_async(url.clone()).await.unwrap();
    let (b, _) = connect_async(lomond::url::Url::parse(&url).unwrap())
        .await
        .unwrap();
    let (c, _) = connect_async(request).await.unwrap();
    for mut ws in [a, b, c] {
        ws.send("hi".into()).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("hi"));
    }
    assert_eq!(server.connections(), 3);
}

/// The stream says what the handshake settled: the subprotocol and the
/// compression parameters, or none when nothing was offered.
#[tokio::test]
async fn ws_stream_tells_the_subprotocol_and_compression_in_force() {
    let server = EchoServer::start().unwrap();
    let offered = lomond::WebSocket::new(&server.url())
        .unwrap()
        .protocol("other")
        .protocol("chat")
        .compress(true);
    let (mut ws, response) = connect_async(offered).await.unwrap();
    assert_eq!(ws.protocol(), Some("chat"));
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
    let params = ws.deflate().expect("compression in force");
    assert_eq!(params.server_max_window_bits, 15);
    ws.send("squeeze ".repeat(100).into()).await.unwrap();
    let echo = ws.next().await.unwrap().unwrap();
    assert_eq!(echo.len(), 800);
    let (plain, _) = connect_async(&server.url()).await.unwrap();
    assert_eq!((plain.protocol(), plain.deflate()), (None, None));
}

#[tokio::test]
async fn ws_stream_close_sends_the_frame_given_and_messages_convert() {
    use lomond::aio::CloseFrame;
    use lomond::CloseCode;
    let server = EchoServer::start().unwrap();
    let (mut ws, _) = connect_async(&server.url()).await.unwrap();
    // A port of tokio-tungstenite code: `.into()` from &str, String, Vec.
    ws.send("one".into()).await.unwrap();
    ws.send(String::from("two").into()).await.unwrap();
    ws.send(vec![1u8, 2, 3].into()).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(ws.next().await.unwrap().unwrap());
    }
    assert!(got[0].is_text() && got[2].is_binary());
    assert_eq!(got[1].to_text(), Ok("two"));
    assert_eq!(got[2].clone().into_data(), vec![1u8, 2, 3]);
    ws.close(Some(CloseFrame {
        code: CloseCode::Away,
        reason: "bye".into(),
    }))
    .await
    .unwrap();
    match ws.next().await {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(frame.code, CloseCode::Away);
            assert_eq!(frame.code, 1001);
        }
        other => panic!("{other:?}"),
    }
    assert!(ws.next().await.is_none());
}

#[tokio::test]
async fn feeding_past_the_high_water_mark_delivers_everything_in_order() {
    // Past 64 KiB queued, `poll_ready` writes whole TCP segments and keeps
    // the tail queued: the tails must go out in order with what follows.
    let server = EchoServer::start().unwrap();
    let (ws, _) = connect_async(&server.url()).await.unwrap();
    let (mut sink, mut stream) = ws.split();
    let size = |i: usize| [1000, 70_000, 3, 20_000, 125, 65_536, 40][i % 7] + i;
    let count = 70;
    let writer = tokio::spawn(async move {
        for i in 0..count {
            sink.feed(Message::binary(vec![i as u8; size(i)]))
                .await
                .unwrap();
        }
        sink.flush().await.unwrap();
        sink
    });
    for i in 0..count {
        let next = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("fed messages were never written");
        match next.unwrap().unwrap() {
            Message::Binary(b) => {
                assert_eq!(b.len(), size(i), "message {i}");
                assert!(b.iter().all(|&x| x == i as u8));
            }
            other => panic!("{other:?}"),
        }
    }
    let mut sink = writer.await.unwrap();
    sink.close().await.unwrap();
}

/// Sends (or feeds, then closes) `count` binary messages, `payload(i)`
/// each, to a server that reads nothing for 500 ms, so that the socket
/// fills and some writes are left part-done; the server checks every
/// frame, in order.
async fn through_a_full_socket(count: u32, payload: fn(u32) -> Vec<u8>, feed: bool) {
    let reading = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::channel();
    let server = {
        let reading = reading.clone();
        ScriptServer::start(1, move |mut s| {
            upgrade(&mut s, "")?;
            // The client fills the socket meanwhile.
            std::thread::sleep(Duration::from_millis(500));
            reading.store(true, std::sync::atomic::Ordering::SeqCst);
            let mut got = 0;
            loop {
                match read_frame(&mut s)? {
                    (OpCode::Binary, p) if p == payload(got) => got += 1,
                    (OpCode::Close, _) => break,
                    (op, p) => panic!("message {got}: {op:?} of {} bytes", p.len()),
                }
            }
            tx.send(got).unwrap();
            Ok(())
        })
        .unwrap()
    };
    let (mut ws, _) = connect_async(&server.url()).await.unwrap();
    let send_all = async {
        for i in 0..count {
            match feed {
                true => ws.feed(Message::binary(payload(i))).await.unwrap(),
                false => ws.send(Message::binary(payload(i))).await.unwrap(),
            }
        }
        ws.close(None).await.unwrap();
    };
    tokio::time::timeout(Duration::from_secs(20), send_all)
        .await
        .expect("the sends never finished");
    assert!(
        reading.load(std::sync::atomic::Ordering::SeqCst),
        "the socket never filled, so no write was left part-done"
    );
    let got = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(got, count);
}

#[tokio::test]
async fn sends_that_fill_the_socket_arrive_whole_and_in_order() {
    // Each small message sent alone is written straight from the sink's
    // outbox. Once the socket is full, the rest of a write waits in the
    // writer and must go out whole, before anything that follows.
    through_a_full_socket(
        20_000,
        |i| {
            let mut p = vec![(i % 251) as u8; 1000];
            p[..4].copy_from_slice(&i.to_be_bytes());
            p
        },
        false,
    )
    .await;
}

#[tokio::test]
async fn feeds_that_gather_many_batches_arrive_whole_and_in_order() {
    // Fed small messages gather in the sink's outbox, with fresh mask
    // keys every 16, up to the high-water mark, and reach the core in one
    // piece; the socket fills meanwhile.
    through_a_full_socket(
        20_000,
        |i| {
            let mut p = vec![(i % 251) as u8; 4 + (i as usize * 7) % 1021];
            p[..4].copy_from_slice(&i.to_be_bytes());
            p
        },
        true,
    )
    .await;
}

#[tokio::test]
async fn fed_messages_are_written_before_the_stream_waits() {
    // Feeding without flushing: polling the stream writes what is queued
    // before it waits for input, so a responder's replies go out together.
    let server = EchoServer::start().unwrap();
    let (mut ws, _) = connect_async(&server.url()).await.unwrap();
    let (mut sent, mut echoed) = (0, 0);
    while sent < 64 {
        ws.feed(Message::Text(format!("m{sent}").into()))
            .await
            .unwrap();
        sent += 1;
    }
    while echoed < 640 {
        let next = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("fed messages were never written");
        assert_eq!(
            next.unwrap().unwrap(),
            Message::Text(format!("m{echoed}").into())
        );
        echoed += 1;
        if sent < 640 {
            ws.feed(Message::Text(format!("m{sent}").into()))
                .await
                .unwrap();
            sent += 1;
        }
    }
    ws.close(None).await.unwrap();
}

#[tokio::test]
async fn batched_feeds_keep_their_order_with_large_and_control_messages() {
    // Small messages wait in the sink's batch; a large one, a ping and a
    // flush take the batch with them. The echo keeps the order fed.
    let server = EchoServer::start().unwrap();
    let (mut ws, _) = connect_async(&server.url()).await.unwrap();
    let mut fed = Vec::new();
    for i in 0..40 {
        fed.push(Message::Text(format!("s{i}").into()));
        if i % 7 == 3 {
            fed.push(Message::Binary(vec![i as u8; 5000].into()));
        }
        if i == 20 {
            fed.push(Message::Ping(bytes::Bytes::from_static(b"p")));
        }
    }
    for m in &fed {
        ws.feed(m.clone()).await.unwrap();
    }
    ws.flush().await.unwrap();
    let mut got = Vec::new();
    while got.len() < fed.len() {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("echo")
            .unwrap()
            .unwrap();
        // The server answers the ping with a pong.
        got.push(match m {
            Message::Pong(p) => Message::Ping(p),
            other => other,
        });
    }
    assert_eq!(got, fed);
    ws.close(None).await.unwrap();
}

#[tokio::test]
async fn a_batched_feed_that_cannot_be_sent_fails_at_the_next_sink_call() {
    let server = EchoServer::start().unwrap();
    // Committed by a flush.
    let (mut ws, _) = connect_async(&server.url()).await.unwrap();
    // The first send lends the sink's outbox its mask keys.
    ws.send(Message::text("first")).await.unwrap();
    // Encoded while the connection is open; the Close from another task
    // reaches the core first, so the flush reports it.
    ws.feed(Message::text("late")).await.unwrap();
    ws.sender().close(1000, "").await.unwrap();
    match ws.flush().await {
        Err(lomond::Error::Send(SendError::Closing)) => {}
        other => panic!("{other:?}"),
    }
    // Committed by the stream side: the next sink call reports it.
    let (mut ws, _) = connect_async(&server.url()).await.unwrap();
    ws.send(Message::text("first")).await.unwrap();
    ws.feed(Message::text("late")).await.unwrap();
    ws.sender().close(1000, "").await.unwrap();
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => assert_eq!(t, "first"),
            Some(Ok(Message::Close(Some(frame)))) => break assert_eq!(frame.code, 1000),
            other => panic!("{other:?}"),
        }
    }
    match ws.feed(Message::text("last")).await {
        Err(lomond::Error::Send(SendError::Closing)) => {}
        other => panic!("{other:?}"),
    }
    assert!(ws.feed(Message::text("after")).await.is_err());
    assert!(ws.next().await.is_none());
}

#[tokio::test]
async fn a_feed_after_the_sinks_own_close_fails_at_once() {
    let server = EchoServer::start().unwrap();
    let (mut ws, _) = connect_async(&server.url()).await.unwrap();
    ws.send(Message::text("first")).await.unwrap();
    ws.send(Message::Close(None)).await.unwrap();
    // The outbox takes nothing once the connection refuses to send.
    match ws.feed(Message::text("late")).await {
        Err(lomond::Error::Send(SendError::Closing)) => {}
        other => panic!("{other:?}"),
    }
    ws.flush().await.unwrap();
}

#[tokio::test]
async fn the_handshake_timer_starts_after_dns_and_connect() {
    let server = EchoServer::start().unwrap();
    let mut events =
        common::behind_slow_dns(server.addr(), Duration::from_millis(600)).event_stream();
    let sender = events.sender();
    let mut seen = Vec::new();
    while let Some(event) = events.next().await {
        if let Event::Ready { .. } = event {
            sender.close(1000, "done").await.unwrap();
        }
        seen.push(event);
    }
    assert_eq!(
        names(&seen),
        ["connecting", "connected", "ready", "closed", "disconnected"]
    );
}

#[tokio::test]
async fn a_server_that_stops_reading_times_the_writes_out() {
    let server = ScriptServer::start(1, common::never_reads).unwrap();
    let mut events = ws(&server.url())
        .write_timeout(Some(Duration::from_millis(300)))
        .event_stream();
    let sender = events.sender();
    let run = async {
        let mut seen = Vec::new();
        let mut writer = None;
        while let Some(event) = events.next().await {
            if let Event::Ready { .. } = event {
                let sender = sender.clone();
                writer = Some(tokio::spawn(async move {
                    loop {
                        if let Err(e) = sender.send_binary(&[7; 1 << 20]).await {
                            return e;
                        }
                    }
                }));
            }
            seen.push(event);
        }
        (seen, writer.unwrap().await.unwrap())
    };
    let (seen, send_error) = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("the stalled write never timed out");
    assert!(matches!(send_error, SendError::Io(_)), "{send_error:?}");
    assert!(common::is_write_timeout(seen.last().unwrap()), "{seen:?}");
}

#[tokio::test]
async fn a_sink_whose_server_stops_reading_fails_after_the_write_timeout() {
    let server = ScriptServer::start(1, common::never_reads).unwrap();
    let ws = ws(&server.url()).write_timeout(Some(Duration::from_millis(300)));
    let (mut stream, _) = lomond::aio::connect_async_with(ws).await.unwrap();
    let fill = async {
        loop {
            if let Err(e) = stream.send(Message::binary(vec![7; 1 << 20])).await {
                return e;
            }
        }
    };
    let error = tokio::time::timeout(Duration::from_secs(10), fill)
        .await
        .expect("the stalled sink never timed out");
    assert!(
        matches!(&error, lomond::Error::Disconnected(DisconnectReason::Io(e))
            if e.kind() == std::io::ErrorKind::TimedOut)
            || matches!(&error, lomond::Error::Send(SendError::Io(_))),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_async_sender_taken_before_connecting_waits_for_ready_and_sends() {
    let server = EchoServer::start().unwrap();
    let ws = ws(&server.url());
    let sender = ws.async_sender();
    let blocking_sender = ws.sender();
    assert_eq!(
        sender.send_text("too early").await,
        Err(SendError::NotReady)
    );
    let early = {
        let sender = sender.clone();
        tokio::spawn(async move {
            sender.ready().await?;
            sender.send_text("early bird").await
        })
    };
    let mut events = ws.event_stream();
    assert_eq!(
        blocking_sender.wait_ready(None),
        Err(SendError::Closed),
        "blocking senders never see a tokio connection"
    );
    let mut texts = Vec::new();
    let run = async {
        while let Some(event) = events.next().await {
            if let Event::Text(t) = event {
                texts.push(t.to_string());
                sender.close(1000, "").await.unwrap();
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("the early sender never sent");
    assert_eq!(early.await.unwrap(), Ok(()));
    assert_eq!(texts, ["early bird"]);
    assert_eq!(sender.ready().await, Err(SendError::Closed));
}

#[tokio::test]
async fn connect_failures_and_rejections() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let events: Vec<Event> = ws(&format!("ws://127.0.0.1:{port}/"))
        .event_stream()
        .collect()
        .await;
    assert_eq!(names(&events), ["connecting", "connect_fail"]);
    let server = ScriptServer::start(1, |mut s| {
        lomond_testkit::read_request(&mut s)?;
        s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\ngone")
    })
    .unwrap();
    match connect_async(&server.url()).await {
        Err(lomond::Error::Rejected {
            response: Some(r), ..
        }) => {
            assert_eq!((r.status, &r.body[..]), (404, &b"gone"[..]));
        }
        other => panic!("{other:?}"),
    }
    tokio::task::spawn_blocking(move || server.join())
        .await
        .unwrap();
}

#[tokio::test]
async fn compression_end_to_end() {
    let server = AsyncEchoServer::start().unwrap();
    let mut events = ws(&server.url()).compress(true).event_stream();
    let sender = events.sender();
    let big = "squeeze me ".repeat(10_000);
    let mut got = Vec::new();
    while let Some(event) = events.next().await {
        match event {
            Event::Ready { deflate, .. } => {
                assert!(deflate.is_some(), "the echo server accepts deflate");
                sender.send_text(&big).await.unwrap();
                sender.send_binary_with(b"raw", false).await.unwrap();
            }
            Event::Text(t) => got.push(t.into_string()),
            Event::Binary(b) => {
                assert_eq!(&b[..], b"raw");
                sender.close(1000, "").await.unwrap();
            }
            _ => {}
        }
    }
    assert_eq!(got, [big]);
}

#[tokio::test]
async fn a_large_frame_arriving_in_pieces_is_delivered_when_its_last_piece_comes() {
    let server = ScriptServer::start(1, common::large_frame_in_pieces).unwrap();
    let mut events = ws(&server.url()).event_stream();
    let sender = events.sender();
    let mut seen = Vec::new();
    let run = async {
        while let Some(event) = events.next().await {
            if let Event::Text(_) = &event {
                sender.close(1000, "").await.unwrap();
            }
            seen.push(event);
        }
    };
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("the client stopped waiting for bytes that had come");
    server.join();
    common::assert_large_frame_session(&seen);
}

/// A tokio Unix socket whose other end an echo server serves.
#[cfg(unix)]
fn unix_echo() -> (
    tokio::net::UnixStream,
    std::thread::JoinHandle<std::io::Result<()>>,
) {
    let (client, server) = std::os::unix::net::UnixStream::pair().unwrap();
    client.set_nonblocking(true).unwrap();
    let served = lomond_testkit::echo_on(server);
    (tokio::net::UnixStream::from_std(client).unwrap(), served)
}

#[cfg(unix)]
#[tokio::test]
async fn a_session_over_a_unix_socket_the_application_brought() {
    let (client, served) = unix_echo();
    let ws = ws("ws://unix.invalid/chat").ping_rate(Some(Duration::from_millis(50)));
    let sender = ws.async_sender();
    let mut events = ws.event_stream_on(client);
    let mut seen = Vec::new();
    let mut writer = None;
    while let Some(event) = events.next().await {
        match &event {
            Event::Ready { .. } => {
                let sender = sender.clone();
                writer = Some(tokio::spawn(async move {
                    sender.send_text("hello").await.unwrap();
                    sender.send_binary(&vec![7; 300 << 10]).await.unwrap();
                }));
            }
            // A pong answers the automatic ping: the timers run too.
            Event::Pong { .. } => {
                let _ = sender.close(1000, "bye").await;
            }
            _ => {}
        }
        seen.push(event);
    }
    writer.unwrap().await.unwrap();
    served.join().unwrap().unwrap();
    common::assert_brought_session(&seen);
}

#[cfg(unix)]
#[tokio::test]
async fn the_stream_face_over_a_brought_stream() {
    let (client, served) = unix_echo();
    let (mut stream, response) = lomond::aio::client_async("ws://unix.invalid/", client)
        .await
        .unwrap();
    assert_eq!(response.status, 101);
    stream.send(Message::text("one")).await.unwrap();
    stream.send(Message::binary(vec![1; 70_000])).await.unwrap();
    assert_eq!(stream.next().await.unwrap().unwrap(), Message::text("one"));
    assert_eq!(
        stream.next().await.unwrap().unwrap(),
        Message::binary(vec![1; 70_000])
    );
    stream.close(None).await.unwrap();
    while let Some(item) = stream.next().await {
        assert!(matches!(item, Ok(Message::Close(_))), "{item:?}");
    }
    served.join().unwrap().unwrap();
}

/// A stream that buffers what is written (here a `BufStream`, holding up
/// to 8 KiB) sends it only when flushed: the driver flushes whenever it
/// has written everything queued.
#[cfg(unix)]
#[tokio::test]
async fn a_buffering_stream_is_flushed() {
    let (client, served) = unix_echo();
    let client = tokio::io::BufStream::new(client);
    let connect = lomond::aio::client_async("ws://unix.invalid/", client);
    let (mut stream, _) = tokio::time::timeout(Duration::from_secs(5), connect)
        .await
        .expect("the upgrade request was never flushed")
        .unwrap();
    stream.send(Message::text("one")).await.unwrap();
    let echo = tokio::time::timeout(Duration::from_secs(5), stream.next()).await;
    assert_eq!(echo.unwrap().unwrap().unwrap(), Message::text("one"));
    stream.close(None).await.unwrap();
    while let Some(item) = stream.next().await {
        assert!(matches!(item, Ok(Message::Close(_))), "{item:?}");
    }
    served.join().unwrap().unwrap();
}

#[tokio::test]
async fn an_in_memory_pipe_carries_the_request_and_is_closed_on_drop() {
    let (client, server) = tokio::io::duplex(1 << 16);
    let mut events = ws("ws://pipe.invalid/").event_stream_on(client);
    let mut server_side = tokio::io::BufReader::new(server);
    // Connecting, connected: the upgrade request is then written.
    events.next().await.unwrap();
    events.next().await.unwrap();
    let _ = tokio::time::timeout(Duration::from_millis(100), events.next()).await;
    let mut head = Vec::new();
    use tokio::io::AsyncBufReadExt;
    while !head.ends_with(b"\r\n\r\n") {
        let n = server_side.read_until(b'\n', &mut head).await.unwrap();
        assert!(n > 0, "the request ended early");
    }
    assert!(head.starts_with(b"GET / HTTP/1.1\r\n"));
    assert!(String::from_utf8_lossy(&head).contains("Host: pipe.invalid\r\n"));
    drop(events);
    // Nothing was accepted, so no Close: the pipe is just shut down.
    let mut rest = Vec::new();
    use tokio::io::AsyncReadExt;
    server_side.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty(), "{rest:?}");
}

/// Polls `events` once from a task whose cooperative budget is spent, as
/// it is after a long run of ready I/O.
async fn poll_with_budget_spent(events: &mut lomond::aio::EventStream) {
    std::future::poll_fn(|cx| {
        loop {
            let spend = std::pin::pin!(tokio::task::coop::consume_budget());
            if std::future::Future::poll(spend, cx).is_pending() {
                break;
            }
        }
        assert!(!tokio::task::coop::has_budget_remaining());
        assert!(events.poll_next_unpin(cx).is_pending());
        std::task::Poll::Ready(())
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn the_timer_is_armed_when_the_tasks_budget_is_spent() {
    // A server that never answers the handshake: only the timer ends it.
    let server = ScriptServer::start(1, |mut s| {
        let mut sink = [0; 1024];
        while s.read(&mut sink)? > 0 {}
        Ok(())
    })
    .unwrap();
    let mut events = ws(&server.url())
        .handshake_timeout(Some(Duration::from_millis(200)))
        .event_stream();
    while let Some(event) = events.next().await {
        if let Event::Connected { .. } = event {
            break;
        }
    }
    // The first wait of the connection is the first poll of its timer,
    // and its deadline, the handshake's, does not move.
    poll_with_budget_spent(&mut events).await;
    // Run by a task of its own, which only the stream's wakers wake (a
    // timeout around the stream would poll it at its own deadline).
    let rest = tokio::spawn(events.collect::<Vec<_>>());
    let rest = tokio::time::timeout(Duration::from_secs(5), rest).await;
    let rest = rest.expect("the handshake timer never fired").unwrap();
    assert_eq!(names(&rest), ["disconnected"]);
}

#[tokio::test(flavor = "current_thread")]
async fn the_keepalive_timer_wakes_a_stream_polled_by_turns_with_a_noop_waker() {
    use futures_util::FutureExt;
    let server = EchoServer::start().unwrap();
    let mut events = ws(&server.url())
        .ping_rate(Some(Duration::from_millis(100)))
        .event_stream();
    let mut pongs = 0;
    let waited = tokio::time::timeout(Duration::from_secs(5), async {
        while pongs < 3 {
            // As a responder does: take what is there, else wait for it.
            let event = match events.next().now_or_never() {
                Some(event) => event,
                None => events.next().await,
            };
            match event {
                Some(Event::Pong { .. }) => pongs += 1,
                Some(_) => {}
                None => break,
            }
        }
    })
    .await;
    assert!(waited.is_ok(), "woken for {pongs} pongs of 3");
    assert_eq!(pongs, 3);
}
