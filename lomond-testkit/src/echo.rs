//! A blocking WebSocket echo server on lomond's core (server role).

use lomond::proto::Event;
use lomond::proto::{Config, Connection};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Echoes every text and binary message back; answers pings; completes
/// close handshakes. Text messages of the form `close:CODE` make it start a
/// close with that code instead of echoing.
pub struct EchoServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    connections: Arc<AtomicUsize>,
    accept: Option<JoinHandle<()>>,
}

impl EchoServer {
    /// Starts on 127.0.0.1 with a free port, offering subprotocol `chat`.
    pub fn start() -> io::Result<EchoServer> {
        Self::bind("127.0.0.1:0")
    }

    /// Starts on `addr` (e.g. `127.0.0.1:9001`).
    pub fn bind(addr: &str) -> io::Result<EchoServer> {
        Self::bind_with(addr, true)
    }

    /// Starts on `addr`, accepting permessage-deflate when offered only if
    /// `deflate`.
    pub fn bind_with(addr: &str, deflate: bool) -> io::Result<EchoServer> {
        let listener = crate::listen(addr)?;
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicUsize::new(0));
        let (s, c) = (stop.clone(), connections.clone());
        let accept = thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        c.fetch_add(1, Ordering::Relaxed);
                        let s = s.clone();
                        thread::spawn(move || {
                            let _ = serve(stream, &s, deflate);
                        });
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(5))
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Ok(EchoServer {
            addr,
            stop,
            connections,
            accept: Some(accept),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

/// The echo server's answer to one event (shared by both echo servers).
pub(crate) fn respond(conn: &mut Connection, event: Event) {
    let result = match event {
        Event::Text(t) => match t.strip_prefix("close:").and_then(|c| c.parse().ok()) {
            Some(code) => conn.close(code, "requested", Instant::now()),
            None => conn.send_text(&t),
        },
        Event::Binary(b) => conn.send_binary(&b),
        _ => Ok(()),
    };
    // Sends fail only once closing; then there is nothing left to echo.
    let _ = result;
}

/// Protocol settings of the echo servers: no pings or polls of their own,
/// and permessage-deflate accepted when a client offers it.
pub(crate) fn server_config() -> Config {
    let mut config = Config::default();
    config.ping_rate = None;
    config.poll = None;
    config.deflate = Some(lomond::proto::DeflateConfig::default());
    config
}

/// A stream the echo server can serve on.
pub trait EchoStream: Read + Write {
    /// Bounds the next reads.
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
}

impl EchoStream for TcpStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
}

#[cfg(unix)]
impl EchoStream for std::os::unix::net::UnixStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_read_timeout(self, timeout)
    }
}

/// Serves one echo connection (as [`EchoServer`] does) over `stream`, on a
/// thread of its own, until the connection ends: for a client that brings
/// its own stream, a Unix socket say.
pub fn echo_on<S: EchoStream + Send + 'static>(stream: S) -> JoinHandle<io::Result<()>> {
    thread::spawn(move || serve_on(stream, &AtomicBool::new(false)))
}

fn serve(stream: TcpStream, stop: &AtomicBool, deflate: bool) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut config = server_config();
    if !deflate {
        config.deflate = None;
    }
    serve_with(stream, stop, config)
}

pub(crate) fn serve_on<S: EchoStream>(stream: S, stop: &AtomicBool) -> io::Result<()> {
    serve_with(stream, stop, server_config())
}

fn serve_with<S: EchoStream>(mut stream: S, stop: &AtomicBool, config: Config) -> io::Result<()> {
    let mut conn = Connection::server(vec!["chat".into()], config, Instant::now());
    let mut buf = vec![0u8; 64 << 10];
    loop {
        while let Some(event) = conn.poll_event() {
            respond(&mut conn, event);
        }
        let out = conn.poll_transmit();
        if !out.is_empty() {
            stream.write_all(out)?;
            let n = out.len();
            conn.consume_transmit(n);
        }
        if conn.is_done() || stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let now = Instant::now();
        let timeout = conn
            .next_deadline()
            .map(|d| d.saturating_duration_since(now))
            .unwrap_or(Duration::from_millis(200))
            .clamp(Duration::from_millis(1), Duration::from_millis(200));
        stream.set_read_timeout(Some(timeout))?;
        match stream.read(&mut buf) {
            Ok(0) => conn.handle_eof(Instant::now()),
            Ok(n) => conn.handle_input(&buf[..n], Instant::now()),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                conn.handle_timeout(Instant::now())
            }
            Err(e) => conn.handle_io_error(e),
        }
    }
}
