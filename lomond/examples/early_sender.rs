//! Senders taken before connecting, and a resolver of your own.
//!
//!     cargo run --example early_sender
//!
//! Starts an embedded echo server and names it `echo.example` through a
//! custom resolver. A thread takes a blocking `Sender` before the
//! connection exists, waits for `Ready` with `wait_ready`, and sends; then
//! the same is done on tokio with `async_sender` and `ready()`.

use futures_util::StreamExt;
use lomond::{Event, Resolve, WebSocket};
use std::net::SocketAddr;
use std::time::Duration;

/// Answers every name with the embedded server's address.
struct Local(SocketAddr);

impl Resolve for Local {
    fn resolve(&self, host: &str, _port: u16) -> std::io::Result<Vec<SocketAddr>> {
        println!("resolving {host} -> {}", self.0);
        Ok(vec![self.0])
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = lomond_testkit::EchoServer::start()?;
    let url = format!("ws://echo.example:{}/", server.addr().port());
    let ws = || {
        Ok::<_, lomond::ConnectError>(
            WebSocket::new(&url)?
                .resolver(Local(server.addr()))
                .poll(None),
        )
    };

    // Blocking: the sender exists before the connection does.
    let ws1 = ws()?;
    let sender = ws1.sender();
    let early = {
        let sender = sender.clone();
        std::thread::spawn(move || {
            sender.wait_ready(Some(Duration::from_secs(10)))?;
            sender.send_text("sent by a thread that waited for Ready")
        })
    };
    for event in ws1 {
        println!("blocking: {event}");
        if let Event::Text(_) = event {
            sender.close(1000, "done")?;
        }
    }
    early.join().expect("sender thread")?;

    // tokio: the same with an AsyncSender.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let ws2 = ws()?;
        let sender = ws2.async_sender();
        let early = {
            let sender = sender.clone();
            tokio::spawn(async move {
                sender.ready().await?;
                sender
                    .send_text("sent by a task that waited for Ready")
                    .await
            })
        };
        let mut events = ws2.event_stream();
        while let Some(event) = events.next().await {
            println!("tokio: {event}");
            if let Event::Text(_) = event {
                sender.close(1000, "done").await?;
            }
        }
        early.await??;
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
