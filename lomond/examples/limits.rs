//! Limits, timeouts and errors, each met on purpose against a local
//! server that misbehaves, with what lomond reports for it:
//!
//!     cargo run --example limits
//!
//! 1. a message over `max_message_size`: `ProtocolError`, Close 1009;
//! 2. a server that never answers the upgrade: `handshake_timeout`;
//! 3. a server that goes silent: `ping_timeout`, `Unresponsive`;
//! 4. nothing listening: `ConnectFail`, with the stage that failed;
//! 5. a URL without a scheme: an error at once, before any connecting.

use lomond::{Event, WebSocket};
use lomond_testkit::{upgrade, EchoServer, ScriptServer};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

fn show(title: &str, ws: WebSocket) {
    println!("-- {title}");
    let start = Instant::now();
    for event in ws {
        println!("{:>6.2}s {event}", start.elapsed().as_secs_f64());
        match &event {
            Event::ConnectFail { error } => println!("        stage: {:?}", error.stage()),
            Event::ProtocolError { error } => {
                println!(
                    "        Close sent: {}",
                    lomond::CloseCode::from(error.close_code())
                )
            }
            _ => {}
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ms = Duration::from_millis;
    let quick = |url: &str| -> Result<WebSocket, lomond::ConnectError> {
        Ok(WebSocket::new(url)?
            .ping_rate(None)
            .close_timeout(Some(ms(500))))
    };

    // 1. The server sends 2 MiB; we accept at most 1 MiB per message.
    let big = ScriptServer::start(1, |mut s| {
        upgrade(&mut s, "")?;
        let mut frame = vec![0x82, 127];
        frame.extend_from_slice(&(2u64 << 20).to_be_bytes());
        s.write_all(&frame)?;
        let _ = s.read(&mut [0; 64]); // the Close we are sent
        Ok(())
    })?;
    show(
        "max_message_size 1 MiB, a 2 MiB message",
        quick(&big.url())?.max_message_size(1 << 20),
    );

    // 2. Accepts the TCP connection, never answers the upgrade.
    let mute = ScriptServer::start(1, |mut s| {
        let _ = s.read(&mut [0; 4096]);
        std::thread::sleep(Duration::from_secs(2));
        Ok(())
    })?;
    show(
        "handshake_timeout 300 ms, no answer",
        quick(&mute.url())?.handshake_timeout(Some(ms(300))),
    );

    // 3. Completes the handshake, then reads and says nothing, ever.
    let silent = ScriptServer::start(1, |mut s| {
        upgrade(&mut s, "")?;
        let mut sink = [0; 4096];
        while s.read(&mut sink).is_ok_and(|n| n > 0) {}
        Ok(())
    })?;
    show(
        "ping every 200 ms, unresponsive after 600 ms of silence",
        quick(&silent.url())?
            .ping_rate(Some(ms(200)))
            .ping_timeout(Some(ms(600))),
    );

    // 4. Nothing listens on the port.
    let gone = EchoServer::start()?.url(); // dropped at once: the port is free
    show(
        "nothing listening",
        quick(&gone)?.connect_timeout(Some(ms(500))),
    );

    // 5. Refused before connecting, with a hint.
    println!("-- a URL without a scheme");
    match WebSocket::new("example.com/feed") {
        Err(e) => println!("        error: {e}"),
        Ok(_) => unreachable!("the URL has no scheme"),
    }
    Ok(())
}
