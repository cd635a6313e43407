//! # lomond
//!
//! A WebSocket client whose connection is an orderly stream of [`Event`]s,
//! after the Python library of the same name: iterate a [`WebSocket`] and
//! handle `Ready`, `Text`, `Binary`, `Poll`, `Closed` and the rest as they
//! come, with automatic pings, an unresponsive-peer timeout, and limits on
//! every buffer.
//!
//! ```no_run
//! use lomond::{Event, WebSocket};
//!
//! let ws = WebSocket::new("ws://127.0.0.1:9001/")?;
//! let sender = ws.sender();
//! for event in ws {
//!     match event {
//!         Event::Ready { .. } => sender.send_text("hello")?,
//!         Event::Text(text) => println!("{text}"),
//!         other => println!("{other}"),
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! With the `tokio` feature (on by default) the same events come as a
//! `Stream` ([`WebSocket::event_stream`]), with an
//! [`AsyncSender`](aio::AsyncSender) for other tasks:
//!
//! ```no_run
//! # #[cfg(feature = "tokio")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use futures_util::StreamExt;
//! use lomond::{Event, WebSocket};
//!
//! let ws = WebSocket::new("ws://127.0.0.1:9001/")?.compress(true);
//! let sender = ws.async_sender();
//! let mut events = ws.event_stream();
//! while let Some(event) = events.next().await {
//!     match event {
//!         Event::Ready { .. } => sender.send_text("hello").await?,
//!         Event::Text(text) => println!("{text}"),
//!         other => println!("{other}"),
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! and, for code written for tokio-tungstenite, as a `Stream` and `Sink`
//! of messages: [`aio::connect_async`] (see `docs/porting.md`).
//!
//! To stay connected, [`WebSocket::persist`] (or `persist_async` on tokio)
//! reconnects forever with Lomond's randomised back-off, under a
//! [`RetryPolicy`], with an optional bounded outbox for messages sent while
//! disconnected and an [`ExitHandle`] to stop it from anywhere:
//!
//! ```no_run
//! use lomond::{Decision, Event, OutboxLimits, WebSocket};
//!
//! let ws = WebSocket::new("ws://127.0.0.1:9001/")?
//!     .outbox(OutboxLimits::default())
//!     .retry_policy(|failure| match failure.status() {
//!         Some(401) => Decision::Stop,
//!         _ => Decision::Retry,
//!     });
//! let sender = ws.sender(); // valid across reconnections
//! let exit = ws.exit_handle();
//! for event in ws.persist() {
//!     match event {
//!         Event::Ready { .. } => sender.send_text("online")?,
//!         Event::BackOff { delay } => println!("reconnecting in {delay:?}"),
//!         Event::Stopped { reason, .. } => println!("stopped: {reason}"),
//!         _ => {}
//!     }
//! }
//! # drop(exit);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The protocol lives in a sans-IO core, [`proto::Connection`], which the
//! drivers ([`blocking`]) only feed with bytes and time.

// `unsafe` is allowed only where a benchmark showed it pays, one block at a
// time, each with its SAFETY comment: reads into uninitialized buffer room
// (`proto::input`, `transport::socket`), masked writes into a buffer's spare
// capacity (`proto::mask`) and the socket's receive low-water
// mark (`transport::lowat`).
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "tokio")]
pub mod aio;
pub mod blocking;
mod close_code;
pub mod error;
pub mod event;
mod failure;
mod lock;
pub mod options;
mod payload;
pub mod persist;
pub mod proto;
mod request;
mod trace;
pub mod transport;
mod utf8_bytes;
mod websocket;

pub use blocking::Sender;
pub use close_code::CloseCode;
pub use error::{
    ConnectError, HandshakeError, OptionError, ProtocolError, ProxyError, SendError, Stage,
    TlsError,
};
pub use event::{DisconnectReason, Event};
pub use failure::Error;
pub use persist::{
    BackOff, Decision, ExitHandle, Failure, OutboxLimits, RetryPolicy, StopReason, Unsent,
};
pub use websocket::WebSocket;

pub use bytes::Bytes;
/// The `http` crate, whose `Request` [`IntoClientRequest`] takes.
pub use http;
pub use options::Options;
pub use payload::Payload;
pub use proto::{Config, DeflateConfig, DeflateParams, Response};
pub use request::IntoClientRequest;
/// rustls, as lomond uses it: for a [`TlsOptions::client_config`] of your own.
#[cfg(feature = "tls")]
pub use rustls;
#[cfg(feature = "tls")]
pub use transport::TlsOptions;
pub use transport::{Duplex, Proxy, ProxySetting, Resolve, Resolver};
/// The `url` crate, whose `Url` [`IntoClientRequest`] takes.
pub use url;
pub use utf8_bytes::Utf8Bytes;
