//! A tokio-tungstenite program, ported: only the `use` lines changed
//! (docs/porting.md goes through the rest line by line).
//!
//!     cargo run --example ported                 # starts an embedded echo server
//!     cargo run --example ported -- ws://host/   # or talks to yours

use futures_util::{SinkExt, StreamExt};
// Was: use tokio_tungstenite::{connect_async, tungstenite::protocol::Message};
//      use tokio_tungstenite::tungstenite::protocol::{frame::coding::CloseCode, CloseFrame};
//      use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use lomond::aio::{connect_async, CloseFrame, Message};
use lomond::{CloseCode, IntoClientRequest};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let embedded;
    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => {
            embedded = lomond_testkit::EchoServer::start()?;
            embedded.url()
        }
    };
    // A request with a header, as tokio-tungstenite users build one.
    let mut request = url.into_client_request()?;
    request
        .headers_mut()
        .insert("Authorization", "Bearer example".parse()?);
    let (mut ws, response) = connect_async(request).await?;
    println!("handshake: {}", response.status());

    ws.send(Message::Text("Hello, World".into())).await?;
    ws.send(format!("{} + {} = {}", 1, 1, 2).into()).await?;
    ws.send(vec![1u8, 2, 3].into()).await?;
    let mut received = 0;
    while let Some(message) = ws.next().await {
        let message = message?;
        if message.is_text() || message.is_binary() {
            match message.to_text() {
                Ok(text) if message.is_text() => println!("text: {text}"),
                _ => println!("binary: {} bytes", message.len()),
            }
            received += 1;
            if received == 3 {
                ws.close(Some(CloseFrame {
                    code: CloseCode::Normal,
                    reason: "done".into(),
                }))
                .await?;
            }
        } else if let Message::Close(frame) = message {
            println!("closed: {frame:?}");
        }
    }
    Ok(())
}
