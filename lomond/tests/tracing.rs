//! The `tracing` feature: a span per connection with the URL (without
//! credentials) and the attempt number, and events for the stages, the
//! failure, the back-off and the stop. Run with `--features tracing`.
#![cfg(feature = "tracing")]

use lomond::{BackOff, Event, WebSocket};
use lomond_testkit::EchoServer;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Everything the subscriber writes.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn each_connection_has_a_span_and_each_step_an_event() {
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // Global: the blocking driver connects on a helper thread.
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let server = EchoServer::start().unwrap();
    let url = format!("ws://user:s3cret@{}/", server.addr());
    let ws = WebSocket::new(&url)
        .unwrap()
        .ping_rate(None)
        .back_off(BackOff::new(
            Duration::from_millis(10),
            Duration::from_millis(20),
        ));
    let exit = ws.exit_handle();
    let sender = ws.sender();
    let mut readies = 0;
    for event in ws.persist() {
        match event {
            Event::Ready { .. } => {
                readies += 1;
                if readies == 2 {
                    exit.exit();
                } else {
                    // The echo server closes on this: the first connection ends.
                    sender.send_text("close:1000").unwrap();
                }
            }
            Event::Stopped { .. } => break,
            _ => {}
        }
    }
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let host = server.addr().to_string();
    for expected in [
        &format!("lomond.connection{{url=ws://{host}/ attempt=1}}") as &str,
        &format!("lomond.connection{{url=ws://{host}/ attempt=2}}"),
        "tcp connected",
        "ready",
        "disconnected",
        "backing off",
        "persist stopped",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    assert!(!text.contains("s3cret"), "{text}");
}
