//! [`WebSocket`]: one connection's URL and options, run by either driver.

use crate::blocking::{Events, Persist, Sender, Shared};
use crate::error::ConnectError;
use crate::options::{Options, Target};
use crate::persist::{BackOff, Control, Decision, ExitHandle, Failure, OutboxLimits, RetryPolicy};
use crate::proto::{Config, DeflateConfig};
use crate::transport::{Duplex, Resolve, Resolver, Socket};
use std::sync::Arc;
use std::time::Duration;

/// A WebSocket client connection, configured and ready to run.
///
/// Iterating it (`for event in ws`) connects and yields [`Event`](crate::Event)s
/// until the connection ends, blocking the thread; take a [`Sender`] with
/// [`sender`](Self::sender) to send from the loop or from other threads.
/// With the `tokio` feature, [`event_stream`](Self::event_stream) runs the
/// same connection as a `Stream` of the same events instead. Set options
/// with the builder methods first; nothing connects until it runs:
///
/// ```
/// use lomond::WebSocket;
/// use std::time::Duration;
///
/// let ws = WebSocket::new("wss://example.com/feed")?
///     .protocol("feed.v2")
///     .header("Authorization", "Bearer t0ken") // never shown in Debug
///     .ping_rate(Some(Duration::from_secs(15)))
///     .ping_timeout(Some(Duration::from_secs(10))) // then Unresponsive
///     .connect_timeout(Some(Duration::from_secs(10)))
///     .max_message_size(1 << 20)
///     .compress(true);
/// assert_eq!(ws.options().config.ping_rate, Some(Duration::from_secs(15)));
/// # Ok::<(), lomond::ConnectError>(())
/// ```
pub struct WebSocket {
    url: String,
    options: Options,
    /// Back-off, retry policy and outbox.
    persist: crate::persist::Settings,
    /// What exit handles and the running driver share.
    control: Arc<Control>,
    shared: Arc<Shared>,
    /// Where async senders taken before `event_stream` find the connection.
    #[cfg(feature = "tokio")]
    slot: Arc<crate::aio::Slot>,
}

impl WebSocket {
    /// A WebSocket for `url` (`ws://host[:port]/path`) with default options.
    /// The URL is checked here; nothing connects until iteration starts.
    pub fn new(url: &str) -> Result<WebSocket, ConnectError> {
        Self::with_options(url, Options::default())
    }

    /// A WebSocket for a URL (`&str`, `String`, `url::Url`, `http::Uri`)
    /// or an `http::Request` whose headers go into the handshake (see
    /// [`IntoClientRequest`](crate::IntoClientRequest)).
    pub fn from_request(request: impl crate::IntoClientRequest) -> Result<WebSocket, ConnectError> {
        request.into_websocket()
    }

    /// A WebSocket for `url` with `options`.
    pub fn with_options(url: &str, options: Options) -> Result<WebSocket, ConnectError> {
        Target::new(url, &options)?;
        Ok(WebSocket {
            url: url.to_owned(),
            options,
            persist: Default::default(),
            control: Arc::default(),
            shared: Arc::default(),
            #[cfg(feature = "tokio")]
            slot: Arc::default(),
        })
    }

    /// A handle for sending from any thread while the blocking iterator
    /// runs. Taken before iterating, it sends once the connection is up
    /// ([`Sender::wait_ready`] waits for that). On a connection run with
    /// `event_stream` it fails with `Closed`: take
    /// [`async_sender`](Self::async_sender) there.
    pub fn sender(&self) -> Sender {
        Sender {
            shared: self.shared.clone(),
        }
    }

    /// A handle for sending from any task once this WebSocket runs on
    /// tokio ([`event_stream`](Self::event_stream)), taken before it
    /// does; [`AsyncSender::ready`](crate::aio::AsyncSender::ready) waits
    /// for the connection to open.
    #[cfg(feature = "tokio")]
    pub fn async_sender(&self) -> crate::aio::AsyncSender {
        crate::aio::AsyncSender::new(self.slot.clone())
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The options in force.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// A handle that stops this WebSocket from any thread or task, at
    /// once, whatever it is doing (see [`ExitHandle`]). Take it before
    /// starting the WebSocket.
    pub fn exit_handle(&self) -> ExitHandle {
        ExitHandle::new(self.control.clone(), self.shared.clone())
    }

    /// Starts the connection: the same as iterating.
    pub fn connect(self) -> Events {
        let outbox = self.persist.outbox.is_some();
        Events::new(
            self.url,
            self.options,
            self.shared,
            None,
            Some(self.control),
            outbox,
            1,
        )
    }

    /// Runs the WebSocket for good, as Lomond's `persist()`: it connects,
    /// yields every event of each connection, and after each
    /// `ConnectFail` or `Disconnected` yields `BackOff { delay }` and
    /// reconnects, until the [`retry_policy`](Self::retry_policy) says
    /// stop or the [`exit_handle`](Self::exit_handle) is used; then
    /// `Stopped` is the last event. Senders taken from the WebSocket stay
    /// valid across reconnections.
    pub fn persist(self) -> Persist {
        Persist::new(
            self.url,
            self.options,
            self.shared,
            self.control,
            self.persist,
        )
    }

    /// Starts the connection over `stream`, already connected to the
    /// server (a Unix socket, a tunnel made by hand...), instead of
    /// resolving and connecting to the URL's host. The URL still names the
    /// host and path in the upgrade request. The events are the same as
    /// [`connect`](Self::connect)'s.
    pub fn connect_on(self, stream: impl Duplex) -> Events {
        let outbox = self.persist.outbox.is_some();
        Events::new(
            self.url,
            self.options,
            self.shared,
            Some(Socket::new(stream)),
            Some(self.control),
            outbox,
            1,
        )
    }

    /// The connection on tokio, as a `Stream` of the same events as the
    /// blocking iterator's; it connects when first polled. (Not a future:
    /// for `connect_async(..).await` and a stream of messages, see
    /// [`lomond::aio::connect_async`](crate::aio::connect_async).)
    #[cfg(feature = "tokio")]
    pub fn event_stream(self) -> crate::aio::EventStream {
        self.start_async(None)
    }

    /// Starts the connection on tokio over `stream`, already connected to
    /// the server (a Unix socket, an in-memory pipe, a tunnel made by
    /// hand...), instead of resolving and connecting to the URL's host. The
    /// URL still names the host and path in the upgrade request. The events
    /// are the same as [`event_stream`](Self::event_stream)'s.
    #[cfg(feature = "tokio")]
    pub fn event_stream_on<S>(self, stream: S) -> crate::aio::EventStream
    where
        S: ::tokio::io::AsyncRead + ::tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        self.start_async(Some(crate::transport::AsyncSocket::new(stream)))
    }

    #[cfg(feature = "tokio")]
    fn start_async(self, socket: Option<crate::transport::AsyncSocket>) -> crate::aio::EventStream {
        // Blocking senders will never see this connection: tell them.
        self.shared.end();
        let outbox = self.persist.outbox.is_some();
        crate::aio::EventStream::new(
            self.url,
            self.options,
            self.slot,
            socket,
            Some(self.control),
            outbox,
            1,
        )
    }

    /// [`persist`](Self::persist) on tokio: a `Stream` of the same events,
    /// reconnecting forever, until the retry policy says stop or the exit
    /// handle is used. [`AsyncSender`](crate::aio::AsyncSender)s taken
    /// from the WebSocket or the stream stay valid across reconnections.
    #[cfg(feature = "tokio")]
    pub fn persist_async(self) -> crate::aio::PersistStream {
        self.shared.end();
        crate::aio::PersistStream::new(
            self.url,
            self.options,
            self.slot,
            self.control,
            self.persist,
        )
    }

    /// Offers a subprotocol (call again to offer more, in preference order).
    pub fn protocol(mut self, protocol: &str) -> Self {
        self.options.protocols.push(protocol.to_owned());
        self
    }

    /// Adds a request header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.options
            .headers
            .push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the `Origin` header.
    pub fn origin(mut self, origin: &str) -> Self {
        self.options.origin = Some(origin.to_owned());
        self
    }

    /// Sets (or with `None`, removes) the `User-Agent` header.
    pub fn user_agent(mut self, agent: Option<&str>) -> Self {
        self.options.user_agent = agent.map(str::to_owned);
        self
    }

    /// Sends a ping this often (default 30 s; `None` for never).
    pub fn ping_rate(mut self, rate: Option<Duration>) -> Self {
        self.options.config.ping_rate = rate;
        self
    }

    /// Gives up on a server that sent nothing for this long (default never).
    pub fn ping_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.options.config.ping_timeout = timeout;
        self
    }

    /// Yields a `Poll` event this often (default 5 s).
    pub fn poll(mut self, interval: Option<Duration>) -> Self {
        self.options.config.poll = interval;
        self
    }

    /// Waits this long for the server to finish closing (default 30 s).
    pub fn close_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.options.config.close_timeout = timeout;
        self
    }

    /// Limits DNS plus TCP connect (default 30 s).
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.options.connect_timeout = timeout;
        self
    }

    /// Ends the connection when a socket write makes no progress for this
    /// long: the server stopped reading (default 30 s).
    pub fn write_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.options.write_timeout = timeout;
        self
    }

    /// Looks host names up with `resolver` instead of the system's.
    pub fn resolver(mut self, resolver: impl Resolve) -> Self {
        self.options.resolver = Resolver::new(resolver);
        self
    }

    /// How long one address is tried before the next is tried beside it,
    /// for hosts with several addresses (Happy Eyeballs; default 250 ms).
    pub fn happy_eyeballs_delay(mut self, delay: Duration) -> Self {
        self.options.happy_eyeballs_delay = delay;
        self
    }

    /// Turns on TCP keepalive, probing after `idle` without traffic
    /// (default off).
    pub fn tcp_keepalive(mut self, idle: Option<Duration>) -> Self {
        self.options.tcp_keepalive = idle;
        self
    }

    /// Tunnels through the proxy at `url` (`http://`, `socks5://` or
    /// `socks5h://`, with `user:password@` if it needs them), whatever the
    /// environment says.
    pub fn proxy(mut self, url: &str) -> Self {
        self.options.proxy = crate::transport::ProxySetting::Url(url.to_owned());
        self
    }

    /// Connects directly, ignoring the proxy variables of the environment.
    pub fn no_proxy(mut self) -> Self {
        self.options.proxy = crate::transport::ProxySetting::Off;
        self
    }

    /// Secures `wss://` connections as `tls` says: the roots trusted, a
    /// client certificate, or a whole rustls config.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::TlsOptions) -> Self {
        self.options.tls = tls;
        self
    }

    /// Secures TLS to an `https://` proxy as `tls` says (default: the
    /// settings of [`tls`](Self::tls)).
    #[cfg(feature = "tls")]
    pub fn proxy_tls(mut self, tls: crate::TlsOptions) -> Self {
        self.options.proxy_tls = Some(tls);
        self
    }

    /// Limits the wait for the server's upgrade answer (default 30 s).
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.options.config.handshake_timeout = timeout;
        self
    }

    /// Answers pings automatically (default true).
    pub fn auto_pong(mut self, on: bool) -> Self {
        self.options.config.auto_pong = on;
        self
    }

    /// Largest frame accepted (default 16 MiB).
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.options.config.max_frame_size = bytes;
        self
    }

    /// Largest message accepted (default 64 MiB).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.options.config.max_message_size = bytes;
        self
    }

    /// Offers permessage-deflate with default settings (or stops offering).
    pub fn compress(mut self, on: bool) -> Self {
        self.options.config.deflate = on.then(DeflateConfig::default);
        self
    }

    /// Offers permessage-deflate with `config`'s window sizes, context
    /// rules, level and threshold.
    pub fn deflate(mut self, config: DeflateConfig) -> Self {
        self.options.config.deflate = Some(config);
        self
    }

    /// How long [`persist`](Self::persist) waits between connections
    /// (default: Lomond's 5 to 30 s, see [`BackOff`]).
    pub fn back_off(mut self, back_off: BackOff) -> Self {
        self.persist.back_off = back_off;
        self
    }

    /// Lets `decide` say, after each failure, whether
    /// [`persist`](Self::persist) reconnects (default: always).
    pub fn retry_policy(
        mut self,
        decide: impl Fn(&Failure) -> Decision + Send + Sync + 'static,
    ) -> Self {
        self.persist.policy = RetryPolicy::new(decide);
        self
    }

    /// Keeps text and binary messages sent while no connection is open
    /// (before the first is `Ready`, and between connections) in an
    /// outbox bounded by `limits`, and sends them, in order, once the next
    /// one is. A send that does not fit fails with
    /// [`SendError::OutboxFull`](crate::SendError::OutboxFull); what is
    /// left when the WebSocket stops is handed back in `Stopped` (default:
    /// no outbox, and such sends fail at once).
    pub fn outbox(mut self, limits: OutboxLimits) -> Self {
        self.persist.outbox = Some(limits);
        self.shared.set_outbox(limits);
        #[cfg(feature = "tokio")]
        self.slot.set_outbox(limits);
        self
    }

    /// Replaces the whole protocol configuration.
    pub fn config(mut self, config: Config) -> Self {
        self.options.config = config;
        self
    }
}

impl IntoIterator for WebSocket {
    type Item = crate::Event;
    type IntoIter = Events;

    fn into_iter(self) -> Events {
        self.connect()
    }
}

impl std::fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("url", &crate::trace::redact(&self.url))
            .field("options", &self.options)
            .field("persist", &self.persist)
            .finish()
    }
}
