//! The benchmark server: one thread, one core, as fast as we can make it so
//! that the client under test is the bottleneck.
//!
//!     bench-server [ADDR]        (default 127.0.0.1:9300; prints its URL)
//!
//! Endpoints, chosen by path:
//! - `/firehose?size=N&count=M[&text=1]`: sends M messages of N bytes from
//!   precomputed frames, then closes (1000).
//! - `/echo`: echoes every message.
//! - `/sink`: discards messages; answers the text `done` with the byte count
//!   received as text.
//! - `/idle`: holds the connection and sends nothing.

use lomond::proto::frame::{encode_header, FrameHeader, OpCode};
use lomond::proto::handshake::accept_key;
use lomond::proto::{Config, Connection};
use lomond::Event;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9300".to_owned());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let listener = TcpListener::bind(&addr).await?;
        println!("ws://{}/", listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            tokio::task::spawn_local(async move {
                let _ = serve(stream).await;
            });
        }
    })
}

/// Reads the upgrade request head and answers 101; returns the target.
async fn upgrade(stream: &mut TcpStream) -> Result<String> {
    let mut head = Vec::with_capacity(512);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 || head.len() > 16 << 10 {
            return Err("bad request".into());
        }
        head.push(byte[0]);
    }
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    req.parse(&head)?;
    let key = req
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("sec-websocket-key"))
        .map(|h| String::from_utf8_lossy(h.value).into_owned())
        .ok_or("no key")?;
    let path = req.path.unwrap_or("/").to_owned();
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(&key)
    );
    stream.write_all(answer.as_bytes()).await?;
    Ok(path)
}

fn query(path: &str, name: &str) -> Option<usize> {
    path.split_once('?')?
        .1
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| v.parse().ok())
}

async fn serve(mut stream: TcpStream) -> Result<()> {
    stream.set_nodelay(true)?;
    let path = upgrade(&mut stream).await?;
    let route = path.split('?').next().unwrap_or("/");
    match route {
        "/firehose" => {
            let size = query(&path, "size").unwrap_or(16);
            let count = query(&path, "count").unwrap_or(1000);
            firehose(stream, size, count, query(&path, "text") == Some(1)).await
        }
        "/idle" => {
            let mut buf = [0u8; 256];
            while stream.read(&mut buf).await? > 0 {}
            Ok(())
        }
        _ => core_loop(stream, route == "/sink").await,
    }
}

/// An unmasked server frame header for `len` bytes.
fn header(opcode: OpCode, len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    encode_header(&mut out, &FrameHeader::new(opcode, None, len as u64));
    out
}

async fn firehose(mut stream: TcpStream, size: usize, count: usize, text: bool) -> Result<()> {
    let mut frame = header(if text { OpCode::Text } else { OpCode::Binary }, size);
    frame.extend(std::iter::repeat_n(b'a', size));
    // Whole frames in batches of at least 256 KiB: one syscall moves many.
    let per_batch = ((256 << 10) / frame.len()).max(1);
    let batch: Vec<u8> = frame.repeat(per_batch);
    let mut sent = 0;
    while sent < count {
        let n = per_batch.min(count - sent);
        stream.write_all(&batch[..n * frame.len()]).await?;
        sent += n;
    }
    stream.write_all(&[0x88, 0x02, 0x03, 0xe8]).await?;
    // The client sends nothing but its Close: once that (or EOF) arrives,
    // close the connection, as a server should (RFC 6455 §7.1.1).
    let mut buf = vec![0u8; 64 << 10];
    let _ = stream.read(&mut buf).await?;
    Ok(())
}

/// Echo and sink, on lomond's server-role core.
async fn core_loop(mut stream: TcpStream, sink: bool) -> Result<()> {
    let mut config = Config::default();
    config.ping_rate = None;
    config.poll = None;
    config.max_frame_size = 64 << 20;
    config.max_message_size = 64 << 20;
    config.max_write_buffer = usize::MAX;
    let mut conn = Connection::server(Vec::new(), config, Instant::now());
    // The upgrade is done: feed the core an equivalent request so that it
    // is in the open state, and throw its answer away.
    conn.handle_input(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n\r\n",
        Instant::now(),
    );
    let n = conn.poll_transmit().len();
    conn.consume_transmit(n);
    let mut received = 0usize;
    let mut buf = vec![0u8; 256 << 10];
    loop {
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Text(t) if sink && t == "done" => {
                    conn.send_text(&received.to_string())?;
                }
                Event::Text(t) if sink => received += t.len(),
                Event::Binary(b) if sink => received += b.len(),
                Event::Text(t) => conn.send_text(&t)?,
                Event::Binary(b) => conn.send_binary(&b)?,
                _ => {}
            }
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
        match stream.read(&mut buf).await? {
            0 => conn.handle_eof(Instant::now()),
            n => conn.handle_input(&buf[..n], Instant::now()),
        }
    }
}
