//! Persist on both drivers, against lomond's test servers and the fault
//! proxy: reconnection, back-off, the retry policy, the outbox, the exit
//! handle and round-trip times (the soak of many reconnections is
//! `tests/soak.rs`, alone in its process). Each test asserts the exact
//! event sequence, with generous time bounds.

use lomond::{
    BackOff, ConnectError, Decision, DisconnectReason, Event, Failure, OutboxLimits, Resolve,
    SendError, StopReason, Unsent, WebSocket,
};
use lomond_testkit::{read_request, upgrade, EchoServer, FaultProxy, ScriptServer};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

#[allow(dead_code)]
mod common;
#[allow(dead_code)]
mod harness;
use harness::*;

#[test]
fn a_killed_and_restarted_server_is_reconnected_within_the_back_off() {
    for driver in DRIVERS {
        let server = EchoServer::start().unwrap();
        let addr = server.addr();
        let mut ws = run(quick(&server.url()), driver);
        ws.expect(&["connecting", "connected", "ready"], ms(5000));
        drop(server);
        let got = ws.expect(&["disconnected", "back_off"], ms(5000));
        let Event::Disconnected { graceful, .. } = &got[0].1 else {
            unreachable!()
        };
        assert!(!graceful, "{driver:?}");
        // Refused while the server is down: each wait within the formula
        // (50 ms plus up to 2^retries s, at most 150 ms more).
        let mut last = got[1].0;
        for _ in 0..3 {
            let got = ws.expect(&["connecting", "connect_fail", "back_off"], ms(5000));
            let Event::ConnectFail { error } = &got[1].1 else {
                unreachable!()
            };
            assert!(matches!(error, ConnectError::Connect { .. }), "{error}");
            let delay = delay_of(&got[2].1);
            assert!(delay >= ms(50) && delay <= ms(200), "{delay:?}");
            // It waited that long before trying again.
            assert!(got[0].0 - last >= ms(45), "{:?}", got[0].0 - last);
            last = got[2].0;
        }
        let _server = EchoServer::bind(&addr.to_string()).unwrap();
        let ((ready_at, _), skipped) = ws.until("ready", ms(5000));
        assert!(ready_at - last < ms(2000));
        // Only refusals and waits came between, ending in a connect.
        assert!(skipped
            .iter()
            .all(|n| ["connecting", "connect_fail", "back_off", "connected"].contains(n)));
        assert_eq!(skipped.last(), Some(&"connected"));
        assert_eq!(ws.send.text("again"), Ok(()));
        ws.expect(&["text"], ms(5000));
        ws.exit_and_stop(ms(5000));
    }
}

#[test]
fn a_handshake_never_answered_times_out_then_backs_off() {
    for driver in DRIVERS {
        let server = ScriptServer::start(2, |mut s| {
            read_request(&mut s)?;
            thread::sleep(ms(3000));
            Ok(())
        })
        .unwrap();
        let timeout = ms(400);
        let mut ws = run(
            quick(&server.url()).handshake_timeout(Some(timeout)),
            driver,
        );
        let got = ws.expect(
            &["connecting", "connected", "disconnected", "back_off"],
            ms(5000),
        );
        let Event::Disconnected { reason, .. } = &got[2].1 else {
            unreachable!()
        };
        assert!(
            matches!(reason, DisconnectReason::HandshakeTimeout),
            "{reason}"
        );
        let waited = got[2].0 - got[1].0;
        assert!(waited >= ms(380) && waited < ms(2000), "{waited:?}");
        ws.exit_and_stop(ms(5000));
    }
}

#[test]
fn a_server_that_accepts_and_closes_at_once_meets_a_growing_wait() {
    for driver in DRIVERS {
        let server = ScriptServer::start(100, |mut s| {
            upgrade(&mut s, "")?;
            Ok(())
        })
        .unwrap();
        let back_off = BackOff::new(ms(10), ms(2000)).min_uptime(ms(1000));
        let mut ws = run(common::ws(&server.url()).back_off(back_off), driver);
        let start = Instant::now();
        let mut delays = Vec::new();
        while start.elapsed() < ms(2500) {
            let (_, event) = ws.next(ms(5000));
            if let Event::BackOff { delay } = event {
                delays.push(delay);
            }
        }
        // Never a tight loop: the n-th wait (from 0) is at most 10 ms plus
        // 2^n s, and the waits use the room the formula gives them.
        assert!(
            delays.len() < 12,
            "{driver:?}: {} reconnections in 2.5 s",
            delays.len()
        );
        for (n, d) in delays.iter().enumerate() {
            let top = ms(10) + Duration::from_secs(1 << n).min(ms(1990));
            assert!(*d >= ms(10) && *d <= top, "wait {n}: {d:?}");
        }
        ws.exit_and_stop(ms(5000));
    }
}

/// Serves each connection a refusal with `status` and `headers`.
fn refusing(status: &'static str, headers: &'static str) -> ScriptServer {
    ScriptServer::start(10, move |mut s| {
        read_request(&mut s)?;
        write!(s, "HTTP/1.1 {status}\r\n{headers}Content-Length: 0\r\n\r\n")?;
        thread::sleep(ms(200));
        Ok(())
    })
    .unwrap()
}

#[test]
fn retry_after_on_a_429_is_honoured() {
    for driver in DRIVERS {
        let server = refusing("429 Too Many Requests", "Retry-After: 1\r\n");
        let mut ws = run(quick(&server.url()), driver);
        let got = ws.expect(
            &[
                "connecting",
                "connected",
                "rejected",
                "disconnected",
                "back_off",
            ],
            ms(5000),
        );
        assert_eq!(delay_of(&got[4].1), Duration::from_secs(1));
        let (next, _) = ws.until("connecting", ms(5000));
        assert!(next.0 - got[4].0 >= ms(950));
        ws.exit_and_stop(ms(5000));
    }
}

#[test]
fn a_policy_that_stops_on_401_ends_the_stream_with_why() {
    for driver in DRIVERS {
        let server = refusing("401 Unauthorized", "");
        let ws = quick(&server.url()).retry_policy(|failure| match failure.status() {
            Some(401) => Decision::Stop,
            _ => Decision::Retry,
        });
        let mut ws = run(ws, driver);
        let got = ws.expect(
            &[
                "connecting",
                "connected",
                "rejected",
                "disconnected",
                "stopped",
            ],
            ms(5000),
        );
        let Event::Stopped { reason, unsent } = &got[4].1 else {
            unreachable!()
        };
        let StopReason::Policy(failure) = reason else {
            panic!("{reason}")
        };
        assert!(matches!(
            **failure,
            Failure::Rejected {
                status: Some(401),
                ..
            }
        ));
        assert!(unsent.is_empty());
        assert!(ws.events.recv_timeout(ms(300)).is_err());
        assert_eq!(ws.send.text("late"), Err(SendError::Closed));
    }
}

/// The texts among the next events until `count` have come.
fn texts(ws: &mut Running, count: usize) -> Vec<String> {
    let mut got = Vec::new();
    while got.len() < count {
        if let (_, Event::Text(t)) = ws.next(ms(10_000)) {
            got.push(t.to_string());
        }
    }
    got
}

#[test]
fn the_outbox_carries_messages_across_a_reset_once_each_in_order() {
    for driver in DRIVERS {
        let server = EchoServer::start().unwrap();
        let proxy = FaultProxy::start(server.addr()).unwrap();
        let limits = OutboxLimits {
            messages: 50,
            bytes: 1 << 20,
        };
        let mut ws = run(quick(&proxy.url()).outbox(limits), driver);
        // Sent before the first connection: kept, then sent at Ready.
        for i in 0..10 {
            ws.send.text(&format!("m{i}")).unwrap();
        }
        ws.until("ready", ms(5000));
        for i in 10..20 {
            ws.send.text(&format!("m{i}")).unwrap();
        }
        let first = texts(&mut ws, 20);
        proxy.reset_all();
        let ((_, gone), _) = ws.until("disconnected", ms(5000));
        let Event::Disconnected { graceful, .. } = gone else {
            unreachable!()
        };
        assert!(!graceful);
        // Disconnected: kept, up to the outbox's limit, then refused.
        for i in 20..70 {
            ws.send.text(&format!("m{i}")).unwrap();
        }
        let full = SendError::OutboxFull {
            messages: 50,
            bytes: 1 << 20,
        };
        assert_eq!(ws.send.text("one too many"), Err(full));
        ws.until("ready", ms(5000));
        let second = texts(&mut ws, 50);
        let all: Vec<String> = first.into_iter().chain(second).collect();
        let expected: Vec<String> = (0..70).map(|i| format!("m{i}")).collect();
        assert_eq!(all, expected, "{driver:?}");
        // Nothing more comes: nothing was sent twice.
        thread::sleep(ms(300));
        while let Ok((_, event)) = ws.events.try_recv() {
            assert!(!matches!(event, Event::Text(_)), "{event}");
        }
        assert!(ws.exit_and_stop(ms(5000)).is_empty());
    }
}

#[test]
fn without_an_outbox_sends_between_connections_fail_at_once() {
    for driver in DRIVERS {
        let mut ws = run(quick(&format!("ws://{}/", closed_port())), driver);
        ws.expect(&["connecting", "connect_fail", "back_off"], ms(5000));
        assert_eq!(ws.send.text("nobody"), Err(SendError::Disconnected));
        ws.exit_and_stop(ms(5000));
    }
}

#[test]
fn what_the_outbox_holds_at_exit_is_handed_back() {
    for driver in DRIVERS {
        let ws = common::ws(&format!("ws://{}/", closed_port()))
            .back_off(BackOff::new(ms(30_000), ms(30_000)))
            .outbox(OutboxLimits::default());
        let mut ws = run(ws, driver);
        ws.expect(&["connecting", "connect_fail", "back_off"], ms(5000));
        ws.send.text("a").unwrap();
        ws.send.text("b").unwrap();
        let unsent = ws.exit_and_stop(ms(2000));
        assert_eq!(unsent, [Unsent::Text("a".into()), Unsent::Text("b".into())]);
    }
}

#[test]
fn the_exit_handle_stops_mid_back_off_at_once() {
    for driver in DRIVERS {
        let ws = common::ws(&format!("ws://{}/", closed_port()))
            .back_off(BackOff::new(ms(30_000), ms(30_000)));
        let mut ws = run(ws, driver);
        ws.expect(&["connecting", "connect_fail", "back_off"], ms(5000));
        let start = Instant::now();
        ws.exit_and_stop(ms(1000));
        assert!(start.elapsed() < ms(1000));
    }
}

#[test]
fn the_exit_handle_closes_an_open_connection_with_1001() {
    for driver in DRIVERS {
        let server = EchoServer::start().unwrap();
        let mut ws = run(quick(&server.url()), driver);
        ws.expect(&["connecting", "connected", "ready"], ms(5000));
        ws.exit.exit();
        // The echo server answers our Close with its code.
        let got = ws.expect(&["closed", "disconnected", "stopped"], ms(5000));
        assert!(
            matches!(
                got[0].1,
                Event::Closed {
                    code: Some(1001),
                    ..
                }
            ),
            "{}",
            got[0].1
        );
        assert!(matches!(
            got[1].1,
            Event::Disconnected { graceful: true, .. }
        ));
    }
}

#[test]
fn the_exit_handle_drops_a_connection_mid_handshake() {
    for driver in DRIVERS {
        let server = ScriptServer::start(1, |mut s| {
            read_request(&mut s)?;
            thread::sleep(ms(5000));
            Ok(())
        })
        .unwrap();
        let ws = quick(&server.url()).handshake_timeout(Some(ms(30_000)));
        let mut ws = run(ws, driver);
        ws.expect(&["connecting", "connected"], ms(5000));
        let start = Instant::now();
        ws.exit.exit();
        let got = ws.expect(&["disconnected", "stopped"], ms(1000));
        assert!(start.elapsed() < ms(1000));
        let Event::Disconnected { reason, .. } = &got[0].1 else {
            unreachable!()
        };
        assert!(matches!(reason, DisconnectReason::Dropped), "{reason}");
    }
}

/// A resolver that answers after ten seconds: a connect stuck in DNS.
struct SlowDns;

impl Resolve for SlowDns {
    fn resolve(&self, _: &str, _: u16) -> io::Result<Vec<SocketAddr>> {
        thread::sleep(ms(10_000));
        Err(io::ErrorKind::TimedOut.into())
    }
}

#[test]
fn the_exit_handle_abandons_a_connect_in_progress() {
    for driver in DRIVERS {
        let ws = quick("ws://stuck.invalid/")
            .resolver(SlowDns)
            .connect_timeout(Some(ms(20_000)));
        let mut ws = run(ws, driver);
        ws.expect(&["connecting"], ms(5000));
        thread::sleep(ms(100));
        let start = Instant::now();
        ws.exit.exit();
        let got = ws.expect(&["connect_fail", "stopped"], ms(1000));
        assert!(start.elapsed() < ms(1000), "{driver:?}");
        let Event::ConnectFail { error } = &got[0].1 else {
            unreachable!()
        };
        assert!(matches!(error, ConnectError::Stopped), "{error}");
    }
}

#[test]
fn a_dribbled_link_still_carries_every_byte() {
    for driver in DRIVERS {
        let server = EchoServer::start().unwrap();
        let proxy = FaultProxy::start(server.addr()).unwrap();
        proxy.dribble(true);
        let mut ws = run(quick(&proxy.url()), driver);
        ws.until("ready", ms(10_000));
        let text: String = (0..300)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        ws.send.text(&text).unwrap();
        assert_eq!(texts(&mut ws, 1), [text]);
        ws.exit_and_stop(ms(10_000));
    }
}

#[test]
fn a_reset_mid_message_is_not_graceful_and_reconnects() {
    for driver in DRIVERS {
        let server = EchoServer::start().unwrap();
        let proxy = FaultProxy::start(server.addr()).unwrap();
        let mut ws = run(quick(&proxy.url()), driver);
        ws.until("ready", ms(5000));
        // 1 MB at 200 kB/s: the reset comes while the echo flows back.
        proxy.bandwidth(Some(200_000));
        let big = "x".repeat(1 << 20);
        let send = std::sync::Arc::new(ws.send);
        ws.send = Send::Blocking(WebSocket::new("ws://unused/").unwrap().sender());
        let sender = send.clone();
        let sending = thread::spawn(move || sender.text(&big));
        thread::sleep(ms(1500));
        proxy.reset_all();
        proxy.heal();
        let ((_, gone), skipped) = ws.until("disconnected", ms(5000));
        assert!(!skipped.contains(&"text"), "{skipped:?}");
        let Event::Disconnected { graceful, reason } = gone else {
            unreachable!()
        };
        assert!(!graceful, "{reason}");
        ws.expect(&["back_off", "connecting", "connected", "ready"], ms(5000));
        // The send in progress failed, or finished into the dead socket.
        let _ = sending.join().unwrap();
        ws.exit_and_stop(ms(5000));
    }
}

#[test]
fn a_black_hole_is_unresponsive_in_time_and_healing_reconnects() {
    for driver in DRIVERS {
        let server = EchoServer::start().unwrap();
        let proxy = FaultProxy::start(server.addr()).unwrap();
        let (rate, timeout) = (ms(500), ms(1000));
        let ws = quick(&proxy.url())
            .ping_rate(Some(rate))
            .ping_timeout(Some(timeout))
            .handshake_timeout(Some(ms(1000)));
        let mut ws = run(ws, driver);
        ws.until("ready", ms(5000));
        let holed = Instant::now();
        proxy.black_hole(true);
        let ((at, _), _) = ws.until("unresponsive", ms(5000));
        let detected = at - holed;
        assert!(detected <= rate + timeout + ms(1000), "{detected:?}");
        ws.expect(&["disconnected", "back_off"], ms(1000));
        // Reconnects meet silence (handshake timeouts) until it heals.
        thread::sleep(ms(1500));
        let healed = Instant::now();
        proxy.heal();
        let ((ready, _), _) = ws.until("ready", ms(5000));
        // Within a handshake timeout and the longest wait after the heal.
        assert!(
            ready - healed <= ms(1000) + ms(200) + ms(500),
            "{:?}",
            ready - healed
        );
        ws.exit_and_stop(ms(5000));
    }
}

#[test]
fn keepalive_pongs_carry_the_round_trip_time() {
    for driver in DRIVERS {
        let server = EchoServer::start().unwrap();
        let proxy = FaultProxy::start(server.addr()).unwrap();
        // Pings further apart than the round trip, so each is the latest when
        // its pong comes back.
        let mut ws = run(quick(&proxy.url()).ping_rate(Some(ms(600))), driver);
        ws.until("ready", ms(5000));
        assert_eq!(ws.send.rtt(), None);
        proxy.delay(ms(100), Duration::ZERO);
        // Through 100 ms each way, a round trip of at least 200 ms.
        let ((_, pong), _) = ws.until("pong", ms(5000));
        let Event::Pong { rtt: Some(rtt), .. } = pong else {
            panic!("{pong}")
        };
        assert!(rtt >= ms(190) && rtt < ms(2000), "{rtt:?}");
        assert_eq!(ws.send.rtt(), Some(rtt));
        ws.exit_and_stop(ms(5000));
    }
}
