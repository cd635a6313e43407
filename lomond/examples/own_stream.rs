//! A WebSocket over a stream you bring: here a Unix socket pair.
//!
//!     cargo run --example own_stream
//!
//! One end of the pair is served by the embedded echo server; the other
//! carries the WebSocket, first with the blocking driver (`connect_on`),
//! then with tokio's Stream/Sink face (`client_async`). Nothing resolves or
//! connects: the URL only names the host and path of the upgrade request.

#[cfg(unix)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    use futures_util::{SinkExt, StreamExt};
    use lomond::aio::Message;
    use lomond::{Event, WebSocket};
    use std::os::unix::net::UnixStream;

    let (client, server) = UnixStream::pair()?;
    let served = lomond_testkit::echo_on(server);
    let ws = WebSocket::new("ws://echo.local/")?;
    let sender = ws.sender();
    for event in ws.connect_on(client) {
        println!("blocking: {event}");
        match event {
            Event::Ready { .. } => sender.send_text("over a unix socket")?,
            Event::Text(_) => sender.close(1000, "done")?,
            _ => {}
        }
    }
    served.join().expect("echo thread")?;

    let (client, server) = UnixStream::pair()?;
    client.set_nonblocking(true)?;
    let served = lomond_testkit::echo_on(server);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let client = tokio::net::UnixStream::from_std(client)?;
            let (mut ws, response) = lomond::aio::client_async("ws://echo.local/", client).await?;
            println!("tokio: upgraded with status {}", response.status);
            ws.send(Message::text("and on tokio")).await?;
            if let Some(reply) = ws.next().await {
                println!("tokio: {:?}", reply?);
            }
            ws.close(None).await?;
            while ws.next().await.is_some() {}
            Ok::<_, Box<dyn std::error::Error>>(())
        })?;
    served.join().expect("echo thread")?;
    Ok(())
}

#[cfg(not(unix))]
fn main() {
    println!("this example needs Unix sockets");
}
