//! The tokio driver two ways, on an embedded echo server (or yours):
//! the event stream with an `AsyncSender` used from another task, then
//! the Stream/Sink face split into a reading task and a writing task,
//! both with permessage-deflate.
//!
//!     cargo run --example tokio_split
//!     cargo run --example tokio_split -- ws://host/

use futures_util::{SinkExt, StreamExt};
use lomond::aio::{connect_async, Message};
use lomond::{Event, WebSocket};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let embedded;
    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => {
            embedded = lomond_testkit::EchoServer::start()?; // accepts compression
            embedded.url()
        }
    };

    // 1. Events, as the blocking iterator has them; a sender task.
    let ws = WebSocket::new(&url)?
        .compress(true)
        .ping_rate(Some(Duration::from_secs(5)));
    let sender = ws.async_sender();
    let closer = ws.async_sender(); // as many as wanted, before or after connecting
    let mut events = ws.event_stream();
    let writer = tokio::spawn(async move {
        sender.ready().await?;
        for i in 0..3 {
            sender
                .send_text(format!("event-stream message {i}"))
                .await?;
        }
        Ok::<_, lomond::SendError>(())
    });
    let mut echoes = 0;
    while let Some(event) = events.next().await {
        println!("{event}");
        if let Event::Text(_) = event {
            echoes += 1;
            if echoes == 3 {
                closer.close(1000, "done").await?;
            }
        }
    }

    writer.await??;

    // 2. Messages: split, one task writes while this one reads.
    let (stream, response) = connect_async(WebSocket::new(&url)?.compress(true)).await?;
    println!("handshake: {}", response.status());
    let (mut sink, mut stream) = stream.split();
    let writer = tokio::spawn(async move {
        for i in 0..3 {
            sink.send(format!("split message {i}").into()).await?;
        }
        sink.close().await?;
        Ok::<_, lomond::Error>(())
    });
    while let Some(message) = stream.next().await {
        match message? {
            Message::Text(text) => println!("echoed: {text}"),
            Message::Close(frame) => println!("closed: {frame:?}"),
            _ => {}
        }
    }
    writer.await??;
    Ok(())
}
