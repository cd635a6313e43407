//! The command line, as clap reads it, and the parsers for the values it
//! takes that clap does not know (durations, headers).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

const EXAMPLES: &str = "\
Examples:
  lomond demo                                   an embedded server, a reconnection, pings
  lomond ws://127.0.0.1:9001/                   type lines, see every event
  echo hello | lomond ws://127.0.0.1:9001/      send a line, close when the pipe ends
  lomond --once --send '{\"op\":\"ping\"}' wss://example.com/api
  lomond --json --persist --ping-timeout 10s ws://device.example/feed
  lomond serve --port 9001                      an echo server on loopback
  lomond ping -c 5 ws://127.0.0.1:9001/         round-trip times of WebSocket pings

Exit status: 0 closed cleanly, 1 other error (stdin, unsent messages),
2 bad usage or URL, 3 could not connect, 4 handshake rejected,
5 protocol error, 6 server unresponsive, 7 connection lost,
8 --timeout ran out, 130 interrupted.";

/// A WebSocket terminal for people and scripts.
#[derive(Debug, Parser)]
#[command(name = "lomond", version, about, after_help = EXAMPLES)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do, when not connecting to a URL.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Connect to a URL.
    #[command(flatten)]
    pub connect: Connect,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// An echo server on loopback, for demos and tests; prints its URL.
    Serve {
        /// The port (0: a free one).
        #[arg(long, short, default_value_t = 0)]
        port: u16,
        /// Accept permessage-deflate when a client offers it.
        #[arg(long)]
        compress: bool,
    },
    /// Round-trip times of WebSocket pings, as ping(8) shows them.
    Ping {
        /// The WebSocket URL.
        url: String,
        /// Stop after this many pongs.
        #[arg(long, short, default_value_t = 4)]
        count: u32,
        /// Time between pings.
        #[arg(long, short, default_value = "1s", value_parser = duration)]
        interval: Duration,
        /// How long a ping may go unanswered.
        #[arg(long, short = 'W', default_value = "5s", value_parser = duration)]
        timeout: Duration,
    },
    /// A tour on an embedded server: messages, pings, a reconnection with
    /// the outbox carrying a message across, and a clean close.
    Demo,
    /// Shell completions, printed to standard output.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// How binary messages are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BinaryFormat {
    /// Lowercase hexadecimal.
    Hex,
    /// Standard base64.
    Base64,
}

/// Connecting to a URL.
#[derive(Debug, Args)]
pub struct Connect {
    /// The WebSocket URL (ws:// or wss://).
    pub url: Option<String>,

    /// Send each line (and --send) as a binary message.
    #[arg(long)]
    pub binary: bool,
    /// Print one JSON object per event (NDJSON).
    #[arg(long, global = true)]
    pub json: bool,
    /// How binary messages are printed.
    #[arg(long, global = true, value_enum, default_value_t = BinaryFormat::Hex)]
    pub binary_format: BinaryFormat,
    /// Stamp lines with the UTC time instead of the seconds since start.
    #[arg(long, global = true)]
    pub utc: bool,
    /// Colours: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Send this after the handshake (repeatable; before any line read).
    #[arg(long = "send", value_name = "TEXT")]
    pub send: Vec<String>,
    /// Send --send, wait for one message, then close (stdin is not read).
    #[arg(long)]
    pub once: bool,
    /// Close after receiving this many messages.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Give up after this long in all (exit status 8).
    #[arg(long, value_parser = duration)]
    pub timeout: Option<Duration>,

    /// Reconnect for ever, with jittered back-off.
    #[arg(long)]
    pub persist: bool,
    /// The least wait before reconnecting.
    #[arg(long, default_value = "1s", value_parser = duration)]
    pub min_wait: Duration,
    /// The most wait before reconnecting.
    #[arg(long, default_value = "30s", value_parser = duration)]
    pub max_wait: Duration,

    /// Keepalive pings this often (0: none).
    #[arg(long, default_value = "30s", value_parser = duration)]
    pub ping_rate: Duration,
    /// Declare the server unresponsive when nothing arrives for this long.
    #[arg(long, value_parser = duration)]
    pub ping_timeout: Option<Duration>,
    /// Limit on the connect pipeline (DNS, TCP, proxy, TLS).
    #[arg(long, default_value = "30s", value_parser = duration)]
    pub connect_timeout: Duration,

    /// An extra request header, "Name: value" (repeatable).
    #[arg(long, short = 'H', value_name = "HEADER", value_parser = header)]
    pub header: Vec<(String, String)>,
    /// A subprotocol to offer (repeatable, in order of preference).
    #[arg(long, value_name = "NAME")]
    pub protocol: Vec<String>,
    /// The Origin header.
    #[arg(long)]
    pub origin: Option<String>,
    /// Offer permessage-deflate.
    #[arg(long)]
    pub compress: bool,
    /// The largest message accepted, in bytes.
    #[arg(long, value_name = "BYTES")]
    pub max_message_size: Option<usize>,

    /// Tunnel through this proxy (http://, https://, socks5://, socks5h://);
    /// by default http_proxy, https_proxy, all_proxy and no_proxy are read
    /// as curl reads them.
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// Use no proxy, whatever the environment says.
    #[arg(long, conflicts_with = "proxy")]
    pub no_proxy: bool,

    /// Trust this CA certificate (PEM) as well as the system's.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// A client certificate chain (PEM), for mutual TLS.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Accept any server certificate (testing only: anyone can listen in).
    #[arg(long)]
    pub insecure: bool,
}

/// Whether output is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// A duration: a number with a unit (`ms`, `s`, `m`, `h`), or seconds
/// when there is none: `500ms`, `1.5s`, `2m`, `10`.
pub fn duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale = match unit.trim() {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        other => return Err(format!("unknown unit {other:?}: use ms, s, m or h")),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (for example 500ms, 1.5s, 2m)"))?;
    Duration::try_from_secs_f64(value * scale).map_err(|_| format!("{text:?} is out of range"))
}

/// A header, `Name: value`.
pub fn header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not a header: write \"Name: value\""))?;
    let name = name.trim();
    if name.is_empty() {
        return Err("a header needs a name before the colon".into());
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_with_and_without_units() {
        let ms = Duration::from_millis;
        assert_eq!(duration("500ms"), Ok(ms(500)));
        assert_eq!(duration("1.5s"), Ok(ms(1500)));
        assert_eq!(duration("2m"), Ok(ms(120_000)));
        assert_eq!(duration("1h"), Ok(ms(3_600_000)));
        assert_eq!(duration("10"), Ok(ms(10_000)));
        assert_eq!(duration(" 0 "), Ok(ms(0)));
        for bad in [
            "",
            "s",
            "1.2.3s",
            "5 parsecs",
            "-1s",
            "1e999",
            "99999999999999999999h",
        ] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn headers_need_a_name_and_a_colon() {
        assert_eq!(
            header("Authorization: Bearer a:b"),
            Ok(("Authorization".into(), "Bearer a:b".into()))
        );
        assert_eq!(header("X-Empty:"), Ok(("X-Empty".into(), String::new())));
        assert!(header("no colon").is_err());
        assert!(header(": value").is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
