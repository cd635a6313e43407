//! A WebSocket that stays connected: persist, with the outbox, the exit
//! handle and a retry policy that gives up on 401.
//!
//!     cargo run --example persist                 # an embedded echo server
//!     cargo run --example persist -- ws://host/   # or yours (Ctrl-C to stop)
//!
//! Against the embedded server it shows a whole reconnection: once the
//! first echo is back the server is stopped; a message sent while the
//! client is disconnected waits in the outbox; the server comes back a
//! second later, the client reconnects after its back-off, the outbox is
//! sent, and once its echo is back the exit handle stops everything.

use lomond::{BackOff, Decision, Event, OutboxLimits, WebSocket};
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut embedded = None;
    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => {
            let server = lomond_testkit::EchoServer::start()?;
            println!("embedded echo server on {}", server.url());
            let url = server.url();
            embedded = Some(server);
            url
        }
    };
    let ws = WebSocket::new(&url)?
        .ping_rate(Some(Duration::from_secs(1)))
        .ping_timeout(Some(Duration::from_secs(3)))
        .back_off(BackOff::new(
            Duration::from_millis(500),
            Duration::from_secs(5),
        ))
        .outbox(OutboxLimits::default())
        // Retry everything (the default) except a refusal to let us in.
        .retry_policy(|failure| match failure.status() {
            Some(401) => Decision::Stop,
            _ => Decision::Retry,
        });
    let sender = ws.sender();
    let exit = ws.exit_handle();
    let demo = embedded.is_some();
    let mut echoes = 0;
    for event in ws.persist() {
        println!("{event}");
        match event {
            Event::Ready { .. } if echoes == 0 => sender.send_text("hello")?,
            Event::Text(_) => {
                echoes += 1;
                if let Some(server) = embedded.take() {
                    let addr = server.addr();
                    drop(server);
                    println!("-- echo server stopped; back in a second");
                    std::thread::spawn(move || {
                        std::thread::sleep(Duration::from_secs(1));
                        let server = lomond_testkit::EchoServer::bind(&addr.to_string());
                        println!("-- echo server back");
                        // Kept alive until the example ends.
                        std::mem::forget(server);
                    });
                } else if demo {
                    // The outbox's message came back: the demo is over.
                    exit.exit();
                }
            }
            // No connection now: this waits in the outbox for the next.
            Event::Disconnected { .. } if demo && echoes == 1 => {
                sender.send_text("sent while disconnected")?
            }
            _ => {}
        }
    }
    Ok(())
}
