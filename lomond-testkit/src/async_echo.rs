//! A tokio WebSocket echo server on lomond's core (server role), for tests
//! with many connections: it runs on its own runtime thread.

use crate::echo::{respond, server_config};
use lomond::proto::Connection;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// Echoes like [`EchoServer`](crate::EchoServer), with one task per
/// connection on a two-thread tokio runtime of its own.
pub struct AsyncEchoServer {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl AsyncEchoServer {
    /// Starts on 127.0.0.1 with a free port.
    pub fn start() -> io::Result<AsyncEchoServer> {
        Self::bind("127.0.0.1:0")
    }

    /// Starts on `addr`.
    pub fn bind(addr: &str) -> io::Result<AsyncEchoServer> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        // Bound with std: this may be called from inside another runtime,
        // where `block_on` is not allowed.
        let listener = crate::listen(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let connections = Arc::new(AtomicUsize::new(0));
        let count = connections.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = thread::spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = TcpListener::from_std(listener) else {
                    return;
                };
                let accept = async {
                    loop {
                        if let Ok((stream, _)) = listener.accept().await {
                            count.fetch_add(1, Ordering::Relaxed);
                            tokio::spawn(serve(stream));
                        }
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stopped => {}
                }
            });
            runtime.shutdown_background();
        });
        Ok(AsyncEchoServer {
            addr,
            connections,
            stop: Some(stop),
            thread: Some(thread),
        })
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

impl Drop for AsyncEchoServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut conn = Connection::server(vec!["chat".into()], server_config(), Instant::now());
    let mut buf = vec![0u8; 16 << 10];
    loop {
        while let Some(event) = conn.poll_event() {
            respond(&mut conn, event);
        }
        let out = conn.poll_transmit();
        if !out.is_empty() {
            stream.write_all(out).await?;
            let n = out.len();
            conn.consume_transmit(n);
        }
        if conn.is_done() {
            return Ok(());
        }
        let read = match conn.next_deadline() {
            Some(d) => tokio::time::timeout_at(d.into(), stream.read(&mut buf))
                .await
                .ok(),
            None => Some(stream.read(&mut buf).await),
        };
        match read {
            Some(Ok(0)) => conn.handle_eof(Instant::now()),
            Some(Ok(n)) => conn.handle_input(&buf[..n], Instant::now()),
            Some(Err(e)) => conn.handle_io_error(e),
            None => conn.handle_timeout(Instant::now()),
        }
    }
}
