//! `lomond demo`: a tour on an embedded echo server, with no network: a
//! persistent client exchanges messages, shows pings with round-trip
//! times, loses its server (which is stopped and, a moment later,
//! restarted on the same port), backs off and reconnects, with the
//! outbox carrying a message sent while disconnected, and closes cleanly.

use crate::client::Stops;
use crate::exit::{Ending, Status};
use crate::output::Printer;
use lomond::{BackOff, Event, OutboxLimits, WebSocket};
use lomond_testkit::EchoServer;
use serde_json::json;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

/// The text sent while the server is down.
const KEPT: &str = "sent while disconnected: kept in the outbox";

/// What the event loop tells the director.
enum Milestone {
    Ready,
    Disconnected,
    KeptEchoed,
    /// The event loop is over.
    Done,
}

/// A line of the demo's own narration.
fn say(printer: &Printer, text: &str) {
    printer.note("demo", json!({ "text": format!("== {text}") }));
}

/// Runs the demo; the exit status.
pub fn run(printer: &Printer) -> Status {
    let server = match EchoServer::bind_with("127.0.0.1:0", true) {
        Ok(server) => server,
        Err(e) => {
            printer.error(&format!("cannot start the embedded server: {e}"));
            return Status::Other;
        }
    };
    let url = server.url();
    say(
        printer,
        &format!("an echo server on {url}; a client that persists, pings every second"),
    );
    let ws = WebSocket::new(&url)
        .expect("the embedded server's URL")
        .ping_rate(Some(Duration::from_secs(1)))
        .ping_timeout(Some(Duration::from_secs(3)))
        .connect_timeout(Some(Duration::from_secs(2)))
        .poll(None)
        .compress(true)
        .back_off(BackOff::new(
            Duration::from_millis(500),
            Duration::from_millis(1500),
        ))
        .outbox(OutboxLimits::default());
    let sender = ws.sender();
    let exit = ws.exit_handle();
    let stops = Arc::new(Stops::default());
    let (tx, rx) = mpsc::channel();
    let director = {
        let (exit, stops, printer) = (exit.clone(), stops.clone(), printer.clone());
        std::thread::spawn(move || {
            let step = |text: &str| say(&printer, text);
            let addr = server.addr().to_string();
            let wait = |what: fn(&Milestone) -> bool| loop {
                match rx.recv_timeout(Duration::from_secs(15)) {
                    Ok(m) if what(&m) => return true,
                    Ok(_) => {}
                    Err(_) => return false,
                }
            };
            if !wait(|m| matches!(m, Milestone::Ready)) {
                return exit.exit();
            }
            let _ = sender.send_text("hello from lomond");
            let _ = sender.send_text(r#"{"kind":"telemetry","temp":21.5}"#);
            let _ = sender.send_binary([0xde, 0xad, 0xbe, 0xef]);
            std::thread::sleep(Duration::from_millis(2500));
            step("stopping the server: the connection is lost");
            drop(server);
            if !wait(|m| matches!(m, Milestone::Disconnected)) {
                return exit.exit();
            }
            step("sending while disconnected: the outbox keeps it");
            let _ = sender.send_text(KEPT);
            std::thread::sleep(Duration::from_millis(1500));
            step("restarting the server on the same port");
            let _server = match EchoServer::bind_with(&addr, true) {
                Ok(server) => server,
                Err(_) => return exit.exit(),
            };
            if !wait(|m| matches!(m, Milestone::KeptEchoed)) {
                return exit.exit();
            }
            std::thread::sleep(Duration::from_millis(1200));
            step("closing: the exit handle sends Close 1001, then persist stops");
            stops.finished.store(true, Ordering::SeqCst);
            exit.exit();
            // Keep the server up until the close handshake is done.
            wait(|m| matches!(m, Milestone::Done));
        })
    };
    // The whole demo is bounded, whatever happens.
    {
        let exit = exit.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(28));
            exit.exit();
        });
    }
    let mut ending = Ending::default();
    for event in ws.persist() {
        printer.event(&event);
        ending.see(&event);
        let milestone = match &event {
            Event::Ready { .. } => Some(Milestone::Ready),
            Event::Disconnected { .. } => Some(Milestone::Disconnected),
            Event::Text(text) if text.as_str() == KEPT => Some(Milestone::KeptEchoed),
            _ => None,
        };
        if let Some(m) = milestone {
            let _ = tx.send(m);
        }
    }
    let _ = tx.send(Milestone::Done);
    let _ = director.join();
    let (status, why) = ending.status(&stops);
    printer.exit(status.code(), &why);
    status
}
