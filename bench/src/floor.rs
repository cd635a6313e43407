//! The floor: what each scenario costs a client that does no WebSocket work
//! beyond what the wire requires, so that the report can say how much of
//! any library's CPU is the kernel's (and zlib's) and not the library's.
//!
//! It reads and writes a blocking socket with the fewest syscalls the
//! scenario allows: reads of up to 256 KiB as data arrives (it never waits
//! for more than is there, as a client must not), writes of about 256 KiB
//! in whole TCP segments while more follows, one write per burst of
//! echo replies. Frames to send are built once, masked with one fixed key,
//! and repeated; received frames are walked header to header without
//! touching their payloads. With permessage-deflate it inflates every
//! message and compresses every message it sends with zlib-rs at level 6,
//! as lomond and yawc do, and masks each one. It validates nothing, keeps
//! no message and handles no control frame but the final Close: no real
//! client can do less, so no client's CPU can be much below it.

use crate::{RepeatedFrames, Result, Run, Scenario};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use std::cell::Cell;
use std::io::{Read, Write};
use std::net::TcpStream;

/// Size of the read buffer and the least that one write carries.
const CHUNK: usize = 256 << 10;
/// The one mask key of every frame the floor sends.
const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
/// The tail a sync flush ends with, stripped on the wire (RFC 7692 §7.2.1).
const SYNC_TAIL: [u8; 4] = [0, 0, 0xff, 0xff];

/// Runs `run` on a raw socket. Returns 0 (the `extra` figure).
pub fn run(run: &Run) -> Result<usize> {
    let (mut stream, carry, deflate) = open(run)?;
    match run.scenario {
        Scenario::Recv => recv(&mut stream, run, &carry, deflate)?,
        Scenario::Send => send(&mut stream, run, carry, deflate)?,
        Scenario::Echo(inflight) => echo(&mut stream, run, &carry, inflight)?,
        Scenario::Idle | Scenario::Scale | Scenario::Active => {
            return Err("the floor runs the message scenarios only".into())
        }
    }
    stream.write_all(&frame(0x8, false, &[0x03, 0xe8], KEY))?;
    Ok(0)
}

/// What the server agreed to compress and decompress with.
struct Deflate {
    client_window_bits: u8,
    client_no_context_takeover: bool,
}

/// Connects and upgrades. Returns the stream, the bytes read past the
/// response head, and the deflate parameters when agreed.
fn open(run: &Run) -> Result<(TcpStream, Vec<u8>, Option<Deflate>)> {
    let url = run.url();
    let rest = url.strip_prefix("ws://").ok_or("ws:// only")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = TcpStream::connect(host)?;
    stream.set_nodelay(true)?;
    let offer = if run.deflate {
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    } else {
        ""
    };
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{offer}\r\n"
    )?;
    let mut buf = vec![0u8; 16 << 10];
    let mut have = 0;
    let end = loop {
        if let Some(i) = buf[..have].windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if have == buf.len() {
            return Err("response head too long".into());
        }
        match stream.read(&mut buf[have..])? {
            0 => return Err("closed during handshake".into()),
            n => have += n,
        }
    };
    let head = std::str::from_utf8(&buf[..end])?;
    if !head.starts_with("HTTP/1.1 101") {
        return Err(format!("not upgraded: {head}").into());
    }
    let extension = head
        .lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with("sec-websocket-extensions:")
        })
        .map(|l| l.to_ascii_lowercase());
    let deflate = match (run.deflate, extension) {
        (false, None) => None,
        (true, Some(ext)) if ext.contains("permessage-deflate") => {
            let bits = ext
                .split(';')
                .filter_map(|p| p.trim().strip_prefix("client_max_window_bits="))
                .find_map(|v| v.trim().parse().ok())
                .unwrap_or(15);
            Some(Deflate {
                client_window_bits: bits,
                client_no_context_takeover: ext.contains("client_no_context_takeover"),
            })
        }
        _ => return Err("the server's extensions are not what was offered".into()),
    };
    Ok((stream, buf[end..have].to_vec(), deflate))
}

/// One frame from the client: FIN, `rsv1`, masked with `key`.
fn frame(opcode: u8, rsv1: bool, payload: &[u8], key: [u8; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    push_frame(&mut out, opcode, rsv1, payload, key);
    out
}

/// Appends one client frame to `out`.
fn push_frame(out: &mut Vec<u8>, opcode: u8, rsv1: bool, payload: &[u8], key: [u8; 4]) {
    out.push(0x80 | if rsv1 { 0x40 } else { 0 } | opcode);
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len <= u16::MAX as usize {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&key);
    let word = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = payload.chunks_exact(8);
    for c in &mut chunks {
        let v = u64::from_ne_bytes(c.try_into().expect("8 bytes")) ^ word;
        out.extend_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in chunks.remainder().iter().enumerate() {
        out.push(b ^ key[i % 4]);
    }
}

/// Writes `count` copies of `one` as [`RepeatedFrames`] cuts them.
fn write_repeated(stream: &mut TcpStream, one: &[u8], count: usize) -> Result<()> {
    let mut frames = RepeatedFrames::new(one, count);
    loop {
        let mss = socket2::SockRef::from(&*stream).tcp_mss().unwrap_or(0) as usize;
        let Some(bytes) = frames.next_write(mss) else {
            return Ok(());
        };
        stream.write_all(bytes)?;
    }
}

/// Walks server frames (unmasked) header to header across reads.
#[derive(Default)]
struct FrameWalker {
    /// Header bytes of the next frame, while they arrive split.
    head: Vec<u8>,
    /// Payload bytes of the current frame still to come.
    left: usize,
    /// The current frame is a data frame (else control).
    data: bool,
    /// Between a header and the end of its payload.
    in_payload: bool,
}

/// What [`FrameWalker::feed`] saw.
enum Seen<'a> {
    /// Part of a data frame's payload; `end` when it is the last part.
    Payload { bytes: &'a [u8], end: bool },
    /// A Close frame's header.
    Close,
}

/// A server frame header's length, from its first bytes (2 until the
/// second byte is known).
fn header_len(head: &[u8]) -> usize {
    match head.get(1).map(|b| b & 0x7f) {
        Some(126) => 4,
        Some(127) => 10,
        _ => 2,
    }
}

impl FrameWalker {
    /// Feeds `bytes`, calling `f` for each payload part and each Close.
    fn feed(&mut self, mut bytes: &[u8], mut f: impl FnMut(Seen<'_>) -> Result<()>) -> Result<()> {
        while !bytes.is_empty() {
            if self.in_payload {
                let take = self.left.min(bytes.len());
                self.left -= take;
                let end = self.left == 0;
                self.in_payload = !end;
                if self.data {
                    f(Seen::Payload {
                        bytes: &bytes[..take],
                        end,
                    })?;
                }
                bytes = &bytes[take..];
                continue;
            }
            let head: &[u8] = if self.head.is_empty() && bytes.len() >= header_len(bytes) {
                let n = header_len(bytes);
                let (h, rest) = bytes.split_at(n);
                bytes = rest;
                h
            } else {
                while self.head.len() < header_len(&self.head) && !bytes.is_empty() {
                    let take = (header_len(&self.head) - self.head.len()).min(bytes.len());
                    self.head.extend_from_slice(&bytes[..take]);
                    bytes = &bytes[take..];
                }
                if self.head.len() < header_len(&self.head) {
                    return Ok(());
                }
                &self.head
            };
            self.left = match head[1] & 0x7f {
                126 => u16::from_be_bytes([head[2], head[3]]) as usize,
                127 => u64::from_be_bytes(head[2..10].try_into().expect("8 bytes")) as usize,
                n => n as usize,
            };
            let opcode = head[0] & 0x0f;
            self.head.clear();
            self.data = opcode < 0x8;
            self.in_payload = self.left > 0;
            if opcode == 0x8 {
                f(Seen::Close)?;
            } else if self.data && self.left == 0 {
                f(Seen::Payload {
                    bytes: &[],
                    end: true,
                })?;
            }
        }
        Ok(())
    }
}

fn recv(stream: &mut TcpStream, run: &Run, carry: &[u8], z: Option<Deflate>) -> Result<()> {
    let mut walker = FrameWalker::default();
    let mut inflate = z.map(|_| Decompress::new(false));
    let mut out = vec![0u8; run.size + 1024];
    let (got, closed) = (Cell::new(0usize), Cell::new(false));
    let mut on = |seen: Seen<'_>| -> Result<()> {
        match seen {
            Seen::Close => closed.set(true),
            Seen::Payload { bytes, end } => {
                if let Some(z) = inflate.as_mut() {
                    inflate_into(z, bytes, &mut out)?;
                    if end {
                        inflate_into(z, &SYNC_TAIL, &mut out)?;
                    }
                }
                if end {
                    got.set(got.get() + 1);
                }
            }
        }
        Ok(())
    };
    walker.feed(carry, &mut on)?;
    let mut buf = vec![0u8; CHUNK];
    while !closed.get() {
        match stream.read(&mut buf)? {
            0 => return Err("closed early".into()),
            n => walker.feed(&buf[..n], &mut on)?,
        }
    }
    if got.get() != run.count {
        return Err(format!("{} messages of {}", got.get(), run.count).into());
    }
    Ok(())
}

/// Inflates `input` into `out`, reused from its start for each call: the
/// floor keeps no message.
fn inflate_into(z: &mut Decompress, mut input: &[u8], out: &mut [u8]) -> Result<()> {
    while !input.is_empty() {
        let before = z.total_in();
        z.decompress(input, out, FlushDecompress::Sync)?;
        let used = (z.total_in() - before) as usize;
        if used == 0 {
            return Err("inflate made no progress".into());
        }
        input = &input[used..];
    }
    Ok(())
}

fn send(stream: &mut TcpStream, run: &Run, mut reply: Vec<u8>, z: Option<Deflate>) -> Result<()> {
    let payload = run.payload();
    match z {
        None => write_repeated(stream, &frame(0x2, false, &payload, KEY), run.count)?,
        Some(z) => {
            let mut deflate = Compress::new_with_window_bits(
                Compression::new(6),
                false,
                z.client_window_bits.max(9),
            );
            let (mut out, mut compressed) = (Vec::with_capacity(CHUNK + (64 << 10)), Vec::new());
            for _ in 0..run.count {
                compressed.clear();
                compressed.reserve(payload.len() + 64);
                deflate.compress_vec(&payload, &mut compressed, FlushCompress::Sync)?;
                while compressed.len() == compressed.capacity() {
                    compressed.reserve(1024);
                    deflate.compress_vec(&[], &mut compressed, FlushCompress::Sync)?;
                }
                if !compressed.ends_with(&SYNC_TAIL) {
                    return Err("a sync flush without its tail".into());
                }
                compressed.truncate(compressed.len() - SYNC_TAIL.len());
                if z.client_no_context_takeover {
                    deflate.reset();
                }
                push_frame(&mut out, 0x2, true, &compressed, KEY);
                if out.len() >= CHUNK {
                    stream.write_all(&out)?;
                    out.clear();
                }
            }
            stream.write_all(&out)?;
        }
    }
    stream.write_all(&frame(0x1, false, b"done", KEY))?;
    // The answer: one text frame with the byte total, perhaps begun in
    // what the handshake read.
    let mut buf = [0u8; 256];
    loop {
        if reply.len() >= 2 && reply.len() >= 2 + (reply[1] & 0x7f) as usize {
            let text = std::str::from_utf8(&reply[2..2 + (reply[1] & 0x7f) as usize])?;
            return run.check_total(text);
        }
        match stream.read(&mut buf)? {
            0 => return Err("closed early".into()),
            n => reply.extend_from_slice(&buf[..n]),
        }
    }
}

/// The echo scenario's bookkeeping, shared by the blocking and the tokio
/// floor, which differ only in their I/O: the frames to send, the replies
/// counted as they end, and how many to send next.
struct Echo {
    one: Vec<u8>,
    burst: Vec<u8>,
    walker: FrameWalker,
    count: usize,
    sent: usize,
    got: usize,
    answered: usize,
}

impl Echo {
    /// The echo of `run` with `inflight` messages in flight; `first` is the
    /// first write.
    fn new(run: &Run, inflight: usize) -> Echo {
        let one = frame(0x2, false, &run.payload(), KEY);
        let first = inflight.min(run.count);
        Echo {
            burst: one.repeat(first),
            one,
            walker: FrameWalker::default(),
            count: run.count,
            sent: first,
            got: 0,
            answered: 0,
        }
    }

    /// The first write: every message in flight at once.
    fn first(&self) -> &[u8] {
        &self.burst
    }

    /// Counts the replies that end in `bytes`.
    fn feed(&mut self, bytes: &[u8]) -> Result<()> {
        let got = &mut self.got;
        self.walker.feed(bytes, |seen| {
            match seen {
                Seen::Payload { end: true, .. } => *got += 1,
                Seen::Payload { .. } => {}
                Seen::Close => return Err("closed early".into()),
            }
            Ok(())
        })
    }

    /// What to write now (maybe nothing): one message per reply counted
    /// since the last call, so that one write answers every reply of the
    /// last read.
    fn next(&mut self) -> &[u8] {
        let more = (self.got - self.answered).min(self.count - self.sent);
        self.sent += more;
        self.answered = self.got;
        &self.burst[..more * self.one.len()]
    }

    /// Whether every message has been answered.
    fn done(&self) -> bool {
        self.answered >= self.count
    }
}

fn echo(stream: &mut TcpStream, run: &Run, carry: &[u8], inflight: usize) -> Result<()> {
    let mut echo = Echo::new(run, inflight);
    stream.write_all(echo.first())?;
    echo.feed(carry)?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let bytes = echo.next();
        if !bytes.is_empty() {
            stream.write_all(bytes)?;
        }
        if echo.done() {
            return Ok(());
        }
        match stream.read(&mut buf)? {
            0 => return Err("closed early".into()),
            n => echo.feed(&buf[..n])?,
        }
    }
}

/// [`run_tokio`] with one tokio timer registered, an hour away, for the
/// whole run: what a client with a keepalive (or any deadline) pays in
/// tokio's driver at each park, beside what the runtime alone costs. A
/// wrapper, so that `run_tokio` itself compiles as it did without it.
pub async fn run_tokio_timer(run: &Run) -> Result<usize> {
    use std::future::Future;
    let mut keepalive = Box::pin(tokio::time::sleep(std::time::Duration::from_secs(3600)));
    // Polled once, it is in the timer wheel until dropped.
    let waker = futures_util::task::noop_waker();
    let _ = keepalive
        .as_mut()
        .poll(&mut std::task::Context::from_waker(&waker));
    let result = run_tokio(run).await;
    drop(keepalive);
    result
}

/// The floor of a tokio client (`floor-tokio`, echo scenarios only):
/// [`echo`] on a tokio socket of a current-thread runtime, so that the
/// runtime's own cost per wait (readiness, the driver's park) shows apart
/// from any library's.
pub async fn run_tokio(run: &Run) -> Result<usize> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Scenario::Echo(inflight) = run.scenario else {
        return Err("floor-tokio runs the echo scenarios only".into());
    };
    let (stream, carry, _) = open(run)?;
    stream.set_nonblocking(true)?;
    let mut stream = tokio::net::TcpStream::from_std(stream)?;
    let mut echo = Echo::new(run, inflight);
    stream.write_all(echo.first()).await?;
    echo.feed(&carry)?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let bytes = echo.next();
        if !bytes.is_empty() {
            stream.write_all(bytes).await?;
        }
        if echo.done() {
            break;
        }
        match stream.read(&mut buf).await? {
            0 => return Err("closed early".into()),
            n => echo.feed(&buf[..n])?,
        }
    }
    stream
        .write_all(&frame(0x8, false, &[0x03, 0xe8], KEY))
        .await?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Server frames of every length form, as the wire carries them.
    fn server_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![0x80 | opcode];
        match payload.len() {
            n if n < 126 => out.push(n as u8),
            n if n <= u16::MAX as usize => {
                out.push(126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn the_walker_finds_every_frame_wherever_the_reads_split() {
        let payloads: Vec<Vec<u8>> = [0usize, 1, 125, 126, 300, 70_000]
            .iter()
            .map(|&n| (0..n).map(|i| i as u8).collect())
            .collect();
        let mut wire = Vec::new();
        for p in &payloads {
            wire.extend(server_frame(0x2, p));
        }
        wire.extend(server_frame(0x9, b"ping"));
        wire.extend(server_frame(0x8, &[0x03, 0xe8]));
        for step in [1, 2, 3, 7, 10, 4096, wire.len()] {
            let mut walker = FrameWalker::default();
            let (mut messages, mut current, mut closes) = (Vec::new(), Vec::new(), 0);
            for chunk in wire.chunks(step) {
                walker
                    .feed(chunk, |seen| {
                        match seen {
                            Seen::Payload { bytes, end } => {
                                current.extend_from_slice(bytes);
                                if end {
                                    messages.push(std::mem::take(&mut current));
                                }
                            }
                            Seen::Close => closes += 1,
                        }
                        Ok(())
                    })
                    .unwrap();
            }
            assert_eq!(messages, payloads, "reads of {step} bytes");
            assert_eq!(closes, 1, "reads of {step} bytes");
        }
    }

    #[test]
    fn client_frames_are_masked_with_the_key() {
        let payload: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
        let f = frame(0x2, true, &payload, KEY);
        assert_eq!(f[0], 0x80 | 0x40 | 0x2);
        assert_eq!(f[1], 0x80 | 126);
        assert_eq!(u16::from_be_bytes([f[2], f[3]]), 300);
        assert_eq!(f[4..8], KEY);
        let unmasked: Vec<u8> = f[8..]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ KEY[i % 4])
            .collect();
        assert_eq!(unmasked, payload);
    }
}
