//! The tokio client (feature `tokio`): the same event stream as the
//! blocking client, as an async `Stream`, plus a tokio-tungstenite-style
//! `Stream` + `Sink<Message>` face.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use futures_util::StreamExt;
//! use lomond::{Event, WebSocket};
//!
//! let mut events = WebSocket::new("ws://127.0.0.1:9001/")?.event_stream();
//! let sender = events.sender(); // Clone + Send: use it from any task
//! while let Some(event) = events.next().await {
//!     match event {
//!         Event::Ready { .. } => sender.send_text("hello").await?,
//!         Event::Text(text) => println!("{text}"),
//!         other => println!("{other}"),
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! Like the blocking driver, this one owns I/O and timers and nothing else:
//! every protocol decision is the core's.
//!
//! The module is `aio` (asynchronous I/O) rather than `tokio` so that
//! `use lomond::*;` beside `#[tokio::main]` leaves `tokio` meaning the
//! tokio crate.

mod events;
mod message;
mod persist;
mod sender;
mod shared;
mod slot;
mod split;

pub use events::EventStream;
pub use persist::PersistStream;
pub use sender::AsyncSender;
pub(crate) use sender::Slot;
pub use split::{
    client_async, client_async_with, connect_async, connect_async_with, CloseFrame, Message,
    WsStream,
};
