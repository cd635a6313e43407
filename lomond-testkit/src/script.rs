//! A server that runs a test's script against each raw TCP connection.

use lomond::proto::frame::{parse_header, OpCode};
use lomond::proto::handshake::{accept_request, parse_request, Request};
use lomond::proto::mask::apply_mask;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Accepts connections on 127.0.0.1 and runs `script` on each, in its own
/// thread. Panics in a script are reported by [`ScriptServer::join`].
pub struct ScriptServer {
    addr: SocketAddr,
    accept: Option<JoinHandle<Vec<thread::Result<()>>>>,
}

impl ScriptServer {
    /// Serves `connections` connections with `script`, then stops accepting.
    pub fn start<F>(connections: usize, script: F) -> io::Result<ScriptServer>
    where
        F: Fn(TcpStream) -> io::Result<()> + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let script = std::sync::Arc::new(script);
        let accept = thread::spawn(move || {
            let mut handles = Vec::new();
            for _ in 0..connections {
                let Ok((stream, _)) = listener.accept() else {
                    break;
                };
                let script = script.clone();
                handles.push(thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
                    let _ = script(stream);
                }));
            }
            handles.into_iter().map(|h| h.join()).collect()
        });
        Ok(ScriptServer {
            addr,
            accept: Some(accept),
        })
    }

    /// `ws://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits for every script to finish; panics if any script panicked.
    pub fn join(mut self) {
        if let Some(h) = self.accept.take() {
            for r in h.join().expect("accept thread") {
                if let Err(p) = r {
                    std::panic::resume_unwind(p);
                }
            }
        }
    }
}

/// Reads one HTTP request head (up to 16 KiB) from `stream`.
pub fn read_request(stream: &mut impl Read) -> io::Result<Request> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if let Some((req, _)) = parse_request(&buf, 16 << 10)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?
        {
            return Ok(req);
        }
        // Byte at a time, so nothing after the head is consumed.
        if stream.read(&mut byte)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.push(byte[0]);
    }
}

/// Reads the client's upgrade request and answers with a valid 101 that
/// includes `extra_headers` (each `Name: value\r\n`). Returns the request.
pub fn upgrade(stream: &mut (impl Read + Write), extra_headers: &str) -> io::Result<Request> {
    let req = read_request(stream)?;
    let (mut answer, _) = accept_request(&req, &[], false)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    answer.truncate(answer.len() - 2);
    answer.extend_from_slice(extra_headers.as_bytes());
    answer.extend_from_slice(b"\r\n");
    stream.write_all(&answer)?;
    Ok(req)
}

/// Reads one (masked) client frame: its opcode and unmasked payload.
pub fn read_frame(stream: &mut TcpStream) -> io::Result<(OpCode, Vec<u8>)> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    let (header, _) = loop {
        if let Some(parsed) =
            parse_header(&head).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?
        {
            break parsed;
        }
        stream.read_exact(&mut byte)?;
        head.push(byte[0]);
    };
    let mut payload = vec![0u8; header.len as usize];
    stream.read_exact(&mut payload)?;
    if let Some(key) = header.mask {
        apply_mask(&mut payload, key);
    }
    Ok((header.opcode, payload))
}
