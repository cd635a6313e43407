//! Connects to a WebSocket echo server and prints every event.
//!
//!     cargo run --example echo                 # starts an embedded echo server
//!     cargo run --example echo -- ws://host/   # or talks to yours
//!
//! On `Ready` it sends a text message, a binary message and a ping; once both
//! messages have come back it closes the connection with 1000.

use lomond::{Event, WebSocket};
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let embedded;
    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => {
            embedded = lomond_testkit::EchoServer::start()?;
            println!("embedded echo server on {}", embedded.url());
            embedded.url()
        }
    };
    let ws = WebSocket::new(&url)?
        .protocol("chat")
        .poll(Some(Duration::from_secs(1)))
        .close_timeout(Some(Duration::from_secs(5)));
    let sender = ws.sender();
    let mut echoes = 0;
    for event in ws {
        println!("{event}");
        match event {
            Event::Ready { .. } => {
                sender.send_text("Hello, World")?;
                sender.send_binary(b"hello world in binary")?;
                sender.ping(b"are you there?")?;
            }
            Event::Text(_) | Event::Binary(_) => {
                echoes += 1;
                if echoes == 2 {
                    sender.close(1000, "done")?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}
