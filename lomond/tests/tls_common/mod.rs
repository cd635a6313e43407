//! Sessions and checks shared by the TLS suites (tls.rs, nginx.rs).

use crate::common::names;
use futures_util::StreamExt;
use lomond::{ConnectError, Event, Stage, TlsError, WebSocket};
use std::thread;

/// A blocking session: "hello" and 300 KiB sent from another thread once
/// ready, both echoed, then a clean close.
pub fn blocking_session(ws: WebSocket) -> Vec<Event> {
    let sender = ws.sender();
    let mut events = Vec::new();
    let mut writer = None;
    let mut echoes = 0;
    for event in ws.connect() {
        match &event {
            Event::Ready { .. } => {
                let sender = sender.clone();
                writer = Some(thread::spawn(move || {
                    sender.send_text("hello").unwrap();
                    sender.send_binary(vec![7; 300 << 10]).unwrap();
                }));
            }
            Event::Text(_) | Event::Binary(_) => {
                echoes += 1;
                if echoes == 2 {
                    sender.close(1000, "bye").unwrap();
                }
            }
            _ => {}
        }
        events.push(event);
    }
    if let Some(writer) = writer {
        writer.join().unwrap();
    }
    events
}

/// The same session on tokio.
pub async fn tokio_session(ws: WebSocket) -> Vec<Event> {
    let sender = ws.async_sender();
    let mut stream = ws.event_stream();
    let mut events = Vec::new();
    let mut echoes = 0;
    while let Some(event) = stream.next().await {
        match &event {
            Event::Ready { .. } => {
                let sender = sender.clone();
                tokio::spawn(async move {
                    sender.send_text("hello").await.unwrap();
                    sender.send_binary(&vec![7; 300 << 10]).await.unwrap();
                });
            }
            Event::Text(_) | Event::Binary(_) => {
                echoes += 1;
                if echoes == 2 {
                    sender.close(1000, "bye").await.unwrap();
                }
            }
            _ => {}
        }
        events.push(event);
    }
    events
}

pub fn assert_echo_session(events: &[Event]) {
    assert_eq!(
        names(events),
        [
            "connecting",
            "connected",
            "ready",
            "text",
            "binary",
            "closed",
            "disconnected"
        ],
        "{events:#?}"
    );
    assert!(matches!(&events[3], Event::Text(t) if t == "hello"));
    assert!(matches!(&events[4], Event::Binary(b) if b.len() == 300 << 10 && b[1000] == 7));
    assert!(matches!(
        &events[6],
        Event::Disconnected { graceful: true, .. }
    ));
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `ws` on both drivers (built twice by `make`).
pub fn both(make: impl Fn() -> WebSocket) -> [Vec<Event>; 2] {
    let blocking = blocking_session(make());
    let tokio = runtime().block_on(tokio_session(make()));
    [blocking, tokio]
}

/// The first event after `Connecting`, which must be a TLS `ConnectFail`.
pub fn tls_failure(events: &[Event]) -> TlsError {
    assert_eq!(names(events), ["connecting", "connect_fail"], "{events:#?}");
    match &events[1] {
        Event::ConnectFail {
            error: ConnectError::Tls(e),
        } => {
            assert_eq!(events_stage(&events[1]), Stage::Tls);
            e.clone()
        }
        other => panic!("not a TLS failure: {other:?}"),
    }
}

pub fn events_stage(event: &Event) -> Stage {
    match event {
        Event::ConnectFail { error } => error.stage(),
        _ => unreachable!(),
    }
}
