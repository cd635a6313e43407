//! The benchmark server: one thread, one core, as fast as we can make it so
//! that the client under test is the bottleneck.
//!
//!     bench-server [ADDR] [--tls]   (default 127.0.0.1:9300; prints its URL)
//!
//! With `--tls` it serves `wss://` (rustls with ring, a self-signed
//! certificate made at start, TLS 1.3), the same endpoints behind TLS.
//!
//! Endpoints, chosen by path:
//! - `/firehose?size=N&count=M[&text=1]`: sends M messages of N bytes from
//!   precomputed frames, then closes (1000). Writes of about 256 KiB,
//!   in whole TCP segments: a short segment after each write cost every
//!   client a segment's receive work for a few hundred bytes (receiving
//!   1 KiB messages, 7-run medians, old server -> this one: lomond-blocking
//!   0.047 -> 0.042 CPU s, lomond-tokio 0.058 -> 0.050, fastwebsockets
//!   0.072 -> 0.063, tungstenite 0.063 -> 0.063; 64 KiB: lomond-tokio
//!   0.140 -> 0.112, tokio-websockets 0.149 -> 0.121, tungstenite 0.132 ->
//!   0.119).
//! - `/echo`: echoes every message.
//! - `/sink`: discards messages; answers the text `done` with the byte count
//!   received as text.
//! - `/idle`: holds the connection and sends nothing.
//!
//! With `deflate=1` in the query (firehose, echo, sink), permessage-deflate
//! is agreed with a client that offers it: the firehose sends precompressed
//! frames (each message compressed on its own, so the answer says
//! `server_no_context_takeover`), echo and sink inflate and compress on
//! lomond's core. Payloads are JSON-like telemetry, which compresses as real
//! traffic does (about 4:1), not a run of one byte.

use lomond::proto::frame::{encode_header, FrameHeader, OpCode};
use lomond::proto::handshake::accept_key;
use lomond::proto::Event;
use lomond::proto::{Config, Connection, DeflateConfig};
use lomond_bench::RepeatedFrames;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

/// A stream served: TCP, or TLS over it.
trait Io: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> Io for T {}

/// rustls for `--tls`: ring, a fresh self-signed certificate.
fn tls_acceptor() -> Result<tokio_rustls::TlsAcceptor> {
    let key = rcgen::KeyPair::generate()?;
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])?
        .self_signed(&key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let tls = args.iter().any(|a| a == "--tls");
    let addr = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:9300".to_owned());
    let acceptor = if tls { Some(tls_acceptor()?) } else { None };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let listener = TcpListener::bind(&addr).await?;
        let scheme = if tls { "wss" } else { "ws" };
        println!("{scheme}://{}/", listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            let mss = socket2::SockRef::from(&stream).tcp_mss().unwrap_or(0) as usize;
            let acceptor = acceptor.clone();
            tokio::task::spawn_local(async move {
                let _ = match acceptor {
                    Some(a) => match a.accept(stream).await {
                        Ok(tls) => serve(tls, mss).await,
                        Err(e) => Err(e.into()),
                    },
                    None => serve(stream, mss).await,
                };
            });
        }
    })
}

/// Reads the upgrade request head; returns it with its target.
async fn read_head(stream: &mut impl Io) -> Result<(Vec<u8>, String)> {
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
    let path = req.path.unwrap_or("/").to_owned();
    Ok((head, path))
}

/// The value of header `name` in a request head.
fn header_value(head: &[u8], name: &str) -> Option<String> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    req.parse(head).ok()?;
    req.headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| String::from_utf8_lossy(h.value).into_owned())
        .reduce(|a, b| a + ", " + &b)
}

/// Answers 101 by hand (for the endpoints that skip the core), agreeing to
/// permessage-deflate without server context takeover when `deflate`.
async fn upgrade(stream: &mut impl Io, head: &[u8], deflate: bool) -> Result<()> {
    let key = header_value(head, "sec-websocket-key").ok_or("no key")?;
    let extension = if deflate {
        let offer = header_value(head, "sec-websocket-extensions").unwrap_or_default();
        if !offer.contains("permessage-deflate") {
            return Err("deflate=1 but the client offers no permessage-deflate".into());
        }
        "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n"
    } else {
        ""
    };
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n{extension}\r\n",
        accept_key(&key)
    );
    stream.write_all(answer.as_bytes()).await?;
    stream.flush().await?;
    Ok(())
}

fn query(path: &str, name: &str) -> Option<usize> {
    path.split_once('?')?
        .1
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| v.parse().ok())
}

async fn serve(mut stream: impl Io, mss: usize) -> Result<()> {
    let (head, path) = read_head(&mut stream).await?;
    let route = path.split('?').next().unwrap_or("/");
    let deflate = query(&path, "deflate") == Some(1);
    match route {
        "/firehose" => {
            upgrade(&mut stream, &head, deflate).await?;
            let size = query(&path, "size").unwrap_or(16);
            let count = query(&path, "count").unwrap_or(1000);
            let text = query(&path, "text") == Some(1);
            firehose(stream, mss, size, count, text, deflate).await
        }
        "/idle" => {
            upgrade(&mut stream, &head, false).await?;
            let mut buf = [0u8; 256];
            while stream.read(&mut buf).await? > 0 {}
            Ok(())
        }
        _ => core_loop(stream, &head, route == "/sink", deflate).await,
    }
}

/// One unmasked server frame of `size` bytes (compressed when `deflate`).
fn frame(size: usize, text: bool, deflate: bool) -> Vec<u8> {
    let opcode = if text { OpCode::Text } else { OpCode::Binary };
    let mut payload = if deflate {
        lomond_bench::telemetry(size)
    } else {
        vec![b'a'; size]
    };
    if deflate {
        // Raw deflate with a sync flush, its 00 00 ff ff tail stripped
        // (RFC 7692 §7.2.1); a fresh compressor per message.
        let mut z = flate2::Compress::new(flate2::Compression::new(6), false);
        let mut out = Vec::with_capacity(size + 64);
        z.compress_vec(&payload, &mut out, flate2::FlushCompress::Sync)
            .expect("deflate");
        while out.len() == out.capacity() {
            out.reserve(1024);
            z.compress_vec(&[], &mut out, flate2::FlushCompress::Sync)
                .expect("deflate");
        }
        assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
        out.truncate(out.len() - 4);
        payload = out;
    }
    let mut header = FrameHeader::new(opcode, None, payload.len() as u64);
    header.rsv1 = deflate;
    let mut out = Vec::new();
    encode_header(&mut out, &header);
    out.extend_from_slice(&payload);
    out
}

async fn firehose(
    mut stream: impl Io,
    mss: usize,
    size: usize,
    count: usize,
    text: bool,
    deflate: bool,
) -> Result<()> {
    let mut frames = RepeatedFrames::new(&frame(size, text, deflate), count);
    while let Some(bytes) = frames.next_write(mss) {
        stream.write_all(bytes).await?;
    }
    stream.write_all(&[0x88, 0x02, 0x03, 0xe8]).await?;
    // TLS may hold sealed records back until flushed (a slow client had
    // the last of them stuck while the server waited for its Close).
    stream.flush().await?;
    // The client sends nothing but its Close: once that (or EOF) arrives,
    // close the connection, as a server should (RFC 6455 §7.1.1).
    let mut buf = vec![0u8; 64 << 10];
    let _ = stream.read(&mut buf).await?;
    Ok(())
}

/// Echo and sink, on lomond's server-role core (which answers the upgrade).
async fn core_loop(mut stream: impl Io, head: &[u8], sink: bool, deflate: bool) -> Result<()> {
    let mut config = Config::default();
    config.ping_rate = None;
    config.poll = None;
    config.max_frame_size = 64 << 20;
    config.max_message_size = 64 << 20;
    config.max_write_buffer = usize::MAX;
    if deflate {
        config.deflate = Some(DeflateConfig::default());
    }
    let mut conn = Connection::server(Vec::new(), config, Instant::now());
    conn.handle_input(head, Instant::now());
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
            stream.flush().await?;
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
