//! `lomond URL`: one connection (or, with `--persist`, one that
//! reconnects), every event printed, standard input sent line by line.
//!
//! The blocking driver runs it: the main thread iterates the events, a
//! feeder thread reads standard input and sends through a `Sender`, and
//! everything that ends the run early (Ctrl-C, `--timeout`, `--count`)
//! goes through the WebSocket's exit handle or a Close, so the server
//! always sees a close handshake.

use crate::args::Connect;
use crate::exit::{Ending, Status};
use crate::output::{chain, Printer};
use lomond::{BackOff, Event, ExitHandle, OutboxLimits, Sender, WebSocket};
use std::io::{BufRead, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The WebSocket the options describe.
pub fn websocket(c: &Connect, url: &str) -> Result<WebSocket, String> {
    let mut ws = WebSocket::new(url).map_err(|e| chain(&e))?;
    for (name, value) in &c.header {
        ws = ws.header(name, value);
    }
    for protocol in &c.protocol {
        ws = ws.protocol(protocol);
    }
    if let Some(origin) = &c.origin {
        ws = ws.origin(origin);
    }
    let rate = Some(c.ping_rate).filter(|r| !r.is_zero());
    ws = ws
        .ping_rate(rate)
        .ping_timeout(c.ping_timeout)
        .connect_timeout(Some(c.connect_timeout))
        // Ctrl-C, --timeout and the end of input wait this long at most
        // for the server to answer our Close (the library's default is
        // 30 s, long for a terminal).
        .close_timeout(Some(Duration::from_secs(5)))
        .poll(None)
        .compress(c.compress);
    if let Some(bytes) = c.max_message_size {
        ws = ws.max_message_size(bytes);
    }
    if let Some(proxy) = &c.proxy {
        ws = ws.proxy(proxy);
    } else if c.no_proxy {
        ws = ws.no_proxy();
    }
    if c.cacert.is_some() || c.cert.is_some() || c.insecure {
        let mut tls = lomond::TlsOptions::new();
        if let Some(ca) = &c.cacert {
            tls = tls
                .add_root_file(ca)
                .map_err(|e| format!("--cacert {}: {}", ca.display(), chain(&e)))?;
        }
        if let (Some(cert), Some(key)) = (&c.cert, &c.key) {
            tls = tls
                .client_cert_files(cert, key)
                .map_err(|e| format!("--cert/--key: {}", chain(&e)))?;
        }
        if c.insecure {
            tls = tls.dangerous_accept_any_certificate();
        }
        ws = ws.tls(tls);
    }
    if c.persist {
        if c.min_wait > c.max_wait {
            return Err("--min-wait is longer than --max-wait".into());
        }
        ws = ws
            .back_off(BackOff::new(c.min_wait, c.max_wait))
            .outbox(OutboxLimits::default());
    }
    Ok(ws)
}

/// Flags that end the run early, set from other threads.
#[derive(Default)]
pub struct Stops {
    /// Ctrl-C.
    pub interrupted: AtomicBool,
    /// `--timeout` ran out.
    pub timed_out: AtomicBool,
    /// We closed on purpose: the input ended, `--count` or `--once`.
    pub finished: AtomicBool,
}

/// Runs `lomond URL`; the exit status.
pub fn run(c: &Connect, url: &str, printer: &Printer) -> Status {
    let ws = match websocket(c, url) {
        Ok(ws) => ws,
        Err(why) => {
            printer.error(&why);
            return Status::Usage;
        }
    };
    let sender = ws.sender();
    let exit = ws.exit_handle();
    let stops = Arc::new(Stops::default());
    on_interrupt(&stops, &exit);
    if let Some(limit) = c.timeout {
        let (stops, exit) = (stops.clone(), exit.clone());
        std::thread::spawn(move || {
            std::thread::sleep(limit);
            stops.timed_out.store(true, Ordering::SeqCst);
            exit.exit();
        });
    }
    let feeder = Feeder {
        sender: sender.clone(),
        exit: exit.clone(),
        persist: c.persist,
        binary: c.binary,
        send: c.send.clone(),
        read_stdin: !c.once,
        max_line: c.max_message_size.unwrap_or(64 << 20),
        stops: stops.clone(),
    };
    let printer_errors = printer.clone();
    std::thread::spawn(move || {
        if let Err(why) = feeder.run() {
            printer_errors.error(&why);
        }
    });
    let finish = |stops: &Stops| {
        stops.finished.store(true, Ordering::SeqCst);
        if c.persist {
            exit.exit();
        } else {
            let _ = sender.close(1000, "");
        }
    };
    let mut ending = Ending::default();
    let mut received = 0u64;
    let events: Box<dyn Iterator<Item = Event>> = if c.persist {
        Box::new(ws.persist())
    } else {
        Box::new(ws.into_iter())
    };
    for event in events {
        printer.event(&event);
        ending.see(&event);
        if let Event::Text(_) | Event::Binary(_) = event {
            received += 1;
            let enough = c.once || c.count.is_some_and(|n| received >= n);
            if enough && !stops.finished.load(Ordering::SeqCst) {
                finish(&stops);
            }
        }
        if let Event::Stopped { unsent, .. } = &event {
            if !unsent.is_empty() {
                printer.error(&format!("{} messages were never sent", unsent.len()));
            }
        }
    }
    let (status, why) = ending.status(&stops);
    printer.exit(status.code(), &why);
    status
}

/// Ctrl-C stops the WebSocket (a Close 1001 to the server); a second one
/// leaves at once.
pub fn on_interrupt(stops: &Arc<Stops>, exit: &ExitHandle) {
    let (stops, exit) = (stops.clone(), exit.clone());
    let _ = ctrlc::set_handler(move || {
        if stops.interrupted.swap(true, Ordering::SeqCst) {
            std::process::exit(Status::Interrupted.code());
        }
        exit.exit();
    });
}

/// Sends `--send` and then standard input, line by line.
struct Feeder {
    sender: Sender,
    exit: ExitHandle,
    persist: bool,
    binary: bool,
    send: Vec<String>,
    read_stdin: bool,
    max_line: usize,
    stops: Arc<Stops>,
}

impl Feeder {
    fn run(self) -> Result<(), String> {
        // Without persist, wait for the handshake (a failed one ends the
        // run: nothing to send). With it, the outbox keeps what is sent
        // while disconnected.
        if !self.persist && self.sender.wait_ready(None).is_err() {
            return Ok(());
        }
        for text in &self.send {
            self.send(text.as_bytes())?;
        }
        if !self.read_stdin {
            return Ok(());
        }
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        let mut line = Vec::new();
        let mut number = 0u64;
        loop {
            number += 1;
            match read_line(&mut input, &mut line, self.max_line) {
                Ok(Line::Eof) => break,
                Ok(Line::TooLong) => {
                    return Err(format!(
                        "line {number} is longer than {} bytes; stopped reading",
                        self.max_line
                    ))
                }
                Ok(Line::Read) => self.send(&line)?,
                Err(e) => return Err(format!("reading standard input: {e}")),
            }
        }
        // The input ended: close once what was sent is out.
        if self.stops.finished.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        if self.persist {
            // What the outbox holds goes at the next Ready; wait for it.
            while !self.sender.is_open() && !self.exit.is_exited() {
                std::thread::sleep(Duration::from_millis(20));
            }
            self.exit.exit();
        } else {
            let _ = self.sender.close(1000, "");
        }
        Ok(())
    }

    /// Sends one message; a full outbox is waited on, not dropped.
    fn send(&self, data: &[u8]) -> Result<(), String> {
        loop {
            let result = if self.binary {
                self.sender.send_binary(data)
            } else {
                let text = std::str::from_utf8(data)
                    .map_err(|_| "a line is not UTF-8 (send it with --binary)".to_string())?;
                self.sender.send_text(text)
            };
            match result {
                Ok(()) => return Ok(()),
                Err(lomond::SendError::OutboxFull { .. }) if !self.exit.is_exited() => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                // The connection is over; the run ends with its events.
                Err(lomond::SendError::Closed | lomond::SendError::Closing) => return Ok(()),
                Err(e) => return Err(format!("send failed: {}", chain(&e))),
            }
        }
    }
}

/// What [`read_line`] found.
#[derive(Debug, PartialEq)]
enum Line {
    /// A line, in the buffer, without its line ending.
    Read,
    /// The end of the input.
    Eof,
    /// A line longer than the limit.
    TooLong,
}

/// Reads one line of at most `limit` bytes into `line` (a final line
/// without a newline counts), without growing past the limit.
fn read_line(input: &mut impl BufRead, line: &mut Vec<u8>, limit: usize) -> std::io::Result<Line> {
    line.clear();
    let n = input
        .by_ref()
        .take(limit as u64 + 2)
        .read_until(b'\n', line)?;
    if n == 0 {
        return Ok(Line::Eof);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
    if line.len() > limit {
        return Ok(Line::TooLong);
    }
    Ok(Line::Read)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_bounded_and_lose_their_endings() {
        let mut input: &[u8] = b"one\r\ntwo\n\nlast";
        let mut line = Vec::new();
        let mut got = Vec::new();
        while read_line(&mut input, &mut line, 10).unwrap() == Line::Read {
            got.push(String::from_utf8(line.clone()).unwrap());
        }
        assert_eq!(got, ["one", "two", "", "last"]);
        let mut long: &[u8] = b"0123456789abc\nnext\n";
        assert_eq!(read_line(&mut long, &mut line, 10).unwrap(), Line::TooLong);
        assert!(line.len() <= 12);
        let mut exact: &[u8] = b"0123456789\n";
        assert_eq!(read_line(&mut exact, &mut line, 10).unwrap(), Line::Read);
        assert_eq!(line, b"0123456789");
    }
}
