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
//! ## What is where
//!
//! Every example runs against an embedded server with no network
//! (`cargo run --example echo`), or against yours given a URL.
//!
//! | to | use | example |
//! |---|---|---|
//! | connect and read the events, blocking | [`WebSocket`] as an iterator, [`Event`] | `examples/echo.rs` |
//! | send from other threads, taken before connecting too | [`Sender`] (`Clone + Send`) | `examples/early_sender.rs` |
//! | the events as a tokio `Stream`, senders in other tasks | [`WebSocket::event_stream`], [`aio::AsyncSender`] | `examples/tokio_split.rs` |
//! | a `Stream` + `Sink` of messages, split between two tasks | [`aio::connect_async`], [`aio::WsStream`] | `examples/tokio_split.rs` |
//! | permessage-deflate | [`WebSocket::compress`], [`WebSocket::deflate`] | `examples/tokio_split.rs` |
//! | limits and timeouts | [`WebSocket::max_message_size`], [`WebSocket::ping_timeout`], [`Config`] | `examples/limits.rs` |
//! | errors, and what each means | [`error`] | `examples/limits.rs` |
//! | `wss://` with a CA of your own, and mutual TLS | [`WebSocket::tls`], `TlsOptions` | `examples/wss.rs` |
//! | HTTP CONNECT and SOCKS5 proxies, from the environment too | [`WebSocket::proxy`], [`Proxy`] | `examples/proxy.rs` |
//! | staying connected: back-off, retry policy, outbox, exit handle | [`WebSocket::persist`], [`persist`] | `examples/persist.rs` |
//! | a stream you bring (a Unix socket, a serial line) | [`WebSocket::connect_on`], [`WebSocket::event_stream_on`], [`aio::client_async`] | `examples/own_stream.rs` |
//! | code written for tokio-tungstenite | [`IntoClientRequest`], [`aio::Message`], [`CloseCode`] | `examples/ported.rs` and `docs/porting.md` |
//! | the protocol alone, for a driver of your own | [`proto::Connection`] | the [`proto`] module's |
//!
//! ## How it is built
//!
//! The protocol lives in a sans-IO core, [`proto::Connection`]: bytes and
//! the time go in, events and bytes to write come out, and it never
//! touches a socket or a clock. Below it, one connection pipeline
//! ([`transport`]: resolve, Happy Eyeballs, proxy tunnel, TLS) serves both
//! drivers. The drivers, [`blocking`] and [`aio`], own the I/O, the timers
//! and waking, and nothing else, so the two behave alike event for event.
//!
//! ## Cargo features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `tokio` | yes | the tokio driver: [`WebSocket::event_stream`], `persist_async`, the [`aio`] module |
//! | `ring` | yes | `wss://` through rustls with the ring provider |
//! | `aws-lc-rs` | no | `wss://` through rustls with aws-lc-rs instead (needs cmake) |
//! | `tls` | with `ring` or `aws-lc-rs` | rustls and the OS trust store, without choosing a provider |
//! | `webpki-roots` | no | Mozilla's root certificates compiled in, for devices without a trust store |
//! | `tracing` | no | a span per connection and an event per stage, failure, back-off and close |
//!
//! permessage-deflate is always built in, and off until asked for.
//! `default-features = false` leaves the blocking client over `ws://`.

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
