//! How events are printed: a line each with the time since start, in
//! colour on a terminal, or one JSON object each (NDJSON) for scripts.
//!
//! The JSON schema, one object per line, always with `"t"` (seconds since
//! the command started), `"time"` (UTC, RFC 3339 with milliseconds) and
//! `"event"` (the event's name):
//!
//! | event | other fields |
//! |---|---|
//! | `connecting` | `url` |
//! | `connect_fail` | `stage`, `error` |
//! | `connected` | `url`, `addr` (or null), `proxy` (or null) |
//! | `rejected` | `status` (or null), `error` |
//! | `ready` | `status`, `protocol` (or null), `extensions`, `deflate` (or null: `server_max_window_bits`, `client_max_window_bits`, `server_no_context_takeover`, `client_no_context_takeover`) |
//! | `text` | `data` (the text) |
//! | `binary` | `data` (hex or base64, as `--binary-format`), `encoding`, `len` |
//! | `ping`, `pong` | `data` (hex); `pong` also `rtt_ms` (or null) |
//! | `unresponsive` | |
//! | `closing`, `closed` | `code` (or null), `reason` |
//! | `protocol_error` | `error` |
//! | `disconnected` | `reason`, `graceful` |
//! | `back_off` | `delay_ms` |
//! | `stopped` | `reason`, `unsent` (messages never sent) |
//! | `exit` | `status` (the exit status), `why`: the last line |
//!
//! Credentials never appear: URLs in events are without them, and headers
//! are not printed.

use crate::args::BinaryFormat;
use base64::Engine;
use lomond::Event;
use serde_json::{json, Value};
use std::io::Write;
use std::time::Instant;

/// Where and how events are printed.
#[derive(Clone)]
pub struct Printer {
    start: Instant,
    /// Stamp lines with the UTC time instead of the time since start.
    utc: bool,
    json: bool,
    color: bool,
    binary: BinaryFormat,
}

/// ANSI styles, by what a line is about.
#[derive(Clone, Copy)]
enum Style {
    /// Received messages.
    Message,
    /// The connection's life: connecting, ready, closed.
    State,
    /// Pings, pongs, back-offs.
    Quiet,
    /// Failures.
    Error,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Message => "\x1b[32m",
            Style::State => "\x1b[36m",
            Style::Quiet => "\x1b[33m",
            Style::Error => "\x1b[31;1m",
        }
    }
}

impl Printer {
    /// A printer for `--json` or plain lines, coloured or not.
    pub fn new(json: bool, color: bool, binary: BinaryFormat) -> Printer {
        Printer {
            start: Instant::now(),
            utc: false,
            json,
            color: color && !json,
            binary,
        }
    }

    /// Stamps plain lines with the UTC time (`--utc`), as a log that runs
    /// for days wants.
    pub fn utc(mut self, on: bool) -> Printer {
        self.utc = on;
        self
    }

    /// Prints one event.
    pub fn event(&self, event: &Event) {
        if self.json {
            self.write(&self.json_line(event.name(), self.json_fields(event)));
            return;
        }
        let (line, style) = match event {
            Event::Text(text) => (format!("< {}", printable(text)), Style::Message),
            Event::Binary(data) => (
                format!("< [{} bytes] {}", data.len(), self.encode(data)),
                Style::Message,
            ),
            // lomond's own keepalive pings: the time is what matters.
            Event::Pong { rtt: Some(rtt), .. } => (
                format!("pong {:.3} ms", rtt.as_secs_f64() * 1000.0),
                Style::Quiet,
            ),
            Event::BackOff { delay } => (
                format!("back off {:.2} s", delay.as_secs_f64()),
                Style::Quiet,
            ),
            Event::Ping(_) | Event::Pong { .. } | Event::Poll => (event.to_string(), Style::Quiet),
            Event::ConnectFail { .. }
            | Event::Rejected { .. }
            | Event::ProtocolError { .. }
            | Event::Unresponsive => (event.to_string(), Style::Error),
            Event::Disconnected {
                graceful: false, ..
            } => (event.to_string(), Style::Error),
            _ => (event.to_string(), Style::State),
        };
        self.line(&line, style);
    }

    /// A line of the command's own (a note, a statistic), not an event.
    pub fn note(&self, what: &str, fields: Value) {
        if self.json {
            self.write(&self.json_line(what, fields));
        } else {
            let text = match fields.get("text").and_then(Value::as_str) {
                Some(text) => text.to_owned(),
                None => what.to_owned(),
            };
            self.line(&text, Style::State);
        }
    }

    /// The last line: the exit status and why.
    pub fn exit(&self, status: i32, why: &str) {
        if self.json {
            let fields = json!({ "status": status, "why": why });
            self.write(&self.json_line("exit", fields));
        } else {
            let style = if status == 0 {
                Style::State
            } else {
                Style::Error
            };
            self.line(&format!("exit {status}: {why}"), style);
        }
    }

    /// An error of the command's own, on standard error.
    pub fn error(&self, what: &str) {
        let mut err = std::io::stderr().lock();
        let _ = if self.color {
            writeln!(err, "\x1b[31;1mlomond: {what}\x1b[0m")
        } else {
            writeln!(err, "lomond: {what}")
        };
    }

    fn seconds(&self) -> f64 {
        (self.start.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
    }

    fn line(&self, text: &str, style: Style) {
        let stamp = if self.utc {
            format!("[{}]", utc_now())
        } else {
            format!("[{:8.3}]", self.start.elapsed().as_secs_f64())
        };
        if self.color {
            self.write(&format!(
                "\x1b[2m{stamp}\x1b[0m {}{text}\x1b[0m",
                style.code()
            ));
        } else {
            self.write(&format!("{stamp} {text}"));
        }
    }

    fn write(&self, line: &str) {
        let mut out = std::io::stdout().lock();
        // A closed pipe (`| head`) is not an error worth a panic.
        let _ = writeln!(out, "{line}").and_then(|_| out.flush());
    }

    fn encode(&self, data: &[u8]) -> String {
        match self.binary {
            BinaryFormat::Hex => hex(data),
            BinaryFormat::Base64 => base64::engine::general_purpose::STANDARD.encode(data),
        }
    }

    /// One JSON line: the times and `event`'s name first, then `fields`.
    fn json_line(&self, event: &str, fields: Value) -> String {
        let mut line = json!({ "t": self.seconds(), "time": utc_now(), "event": event });
        if let (Some(line), Value::Object(fields)) = (line.as_object_mut(), fields) {
            line.extend(fields);
        }
        line.to_string()
    }

    /// An event's own fields, as the schema above lists them.
    fn json_fields(&self, event: &Event) -> Value {
        match event {
            Event::Connecting { url } => json!({ "url": url }),
            Event::ConnectFail { error } => {
                json!({ "stage": format!("{:?}", error.stage()).to_lowercase(), "error": chain(error) })
            }
            Event::Connected { url, addr, proxy } => json!({
                "url": url,
                "addr": addr.map(|a| a.to_string()),
                "proxy": proxy.as_deref(),
            }),
            Event::Rejected { error, response } => json!({
                "status": response.as_ref().map(|r| r.status),
                "error": chain(error),
            }),
            Event::Ready {
                response,
                protocol,
                extensions,
                deflate,
            } => json!({
                "status": response.status,
                "protocol": protocol,
                "extensions": extensions,
                "deflate": deflate.map(|d| json!({
                    "server_max_window_bits": d.server_max_window_bits,
                    "client_max_window_bits": d.client_max_window_bits,
                    "server_no_context_takeover": d.server_no_context_takeover,
                    "client_no_context_takeover": d.client_no_context_takeover,
                })),
            }),
            Event::Text(text) => json!({ "data": text.as_str() }),
            Event::Binary(data) => json!({
                "data": self.encode(data),
                "encoding": match self.binary { BinaryFormat::Hex => "hex", BinaryFormat::Base64 => "base64" },
                "len": data.len(),
            }),
            Event::Ping(data) => json!({ "data": hex(data) }),
            Event::Pong { data, rtt } => json!({
                "data": hex(data),
                "rtt_ms": rtt.map(|r| (r.as_secs_f64() * 1e6).round() / 1e3),
            }),
            Event::Closing { code, reason } | Event::Closed { code, reason } => {
                json!({ "code": code, "reason": reason.as_str() })
            }
            Event::ProtocolError { error } => json!({ "error": error.to_string() }),
            Event::Disconnected { reason, graceful } => {
                json!({ "reason": reason.to_string(), "graceful": graceful })
            }
            Event::BackOff { delay } => json!({ "delay_ms": delay.as_millis() as u64 }),
            Event::Stopped { reason, unsent } => {
                json!({ "reason": reason.to_string(), "unsent": unsent.len() })
            }
            _ => json!({}),
        }
    }
}

/// The time now, UTC, RFC 3339 with milliseconds.
pub fn utc_now() -> String {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    utc(since.as_secs() as i64, since.subsec_millis())
}

/// `secs` after the Unix epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ` (days to a
/// civil date by Howard Hinnant's algorithm: no time crate needed for
/// one format in UTC).
fn utc(secs: i64, millis: u32) -> String {
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// An error and its sources, joined, each said once.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(source) = next {
        text.push_str(": ");
        text.push_str(&source.to_string());
        next = source.source();
    }
    text
}

/// `text` with control characters escaped (`\n`, `\x1b`...): a message
/// stays on its line, and a server cannot send escape sequences to the
/// terminal (retitle it, hide lines, move the cursor).
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push('\t'),
            c if c.is_control() => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out.into()
}

/// Lowercase hexadecimal.
pub fn hex(data: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(data.len() * 2);
    for b in data {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times() {
        assert_eq!(utc(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(utc(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(utc(1_796_310_423, 123), "2026-12-03T15:07:03.123Z");
        assert_eq!(utc(4_107_542_399, 999), "2100-02-28T23:59:59.999Z");
        assert_eq!(utc(-1, 0), "1969-12-31T23:59:59.000Z");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("plain \"text\", κόσμε"), "plain \"text\", κόσμε");
        assert_eq!(printable("two\nlines\r"), "two\\nlines\\r");
        assert_eq!(printable("tab\tkept"), "tab\tkept");
        assert_eq!(printable("\x1b]0;owned\x07"), "\\u{1b}]0;owned\\u{7}");
        assert_eq!(printable("c1 \u{9b}2J"), "c1 \\u{9b}2J");
    }

    #[test]
    fn hex_and_error_chains() {
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
        let io = std::io::Error::other("refused");
        let error = lomond::ConnectError::Connect {
            addr: "127.0.0.1:1".into(),
            source: std::sync::Arc::new(io),
        };
        assert_eq!(chain(&error), "could not connect to 127.0.0.1:1: refused");
    }
}
