//! Interoperability with another implementation: sends messages of every
//! kind through an echo server with permessage-deflate in several
//! configurations, on the blocking client, the tokio event stream and the
//! tokio Stream/Sink face, and checks every echo and the negotiated
//! parameters.
//!
//!     scripts/interop.sh                       # against Python's websockets and Node's ws
//!     cargo run --release --example interop -- ws://host:port/
//!
//! Exits non-zero if anything differs.

use futures_util::StreamExt;
use lomond::{DeflateConfig, DeflateParams, Event, WebSocket};
use std::time::Duration;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The echoes (text?, bytes) and the negotiated parameters.
type Outcome = (Vec<(bool, Vec<u8>)>, Option<DeflateParams>);

/// What to send: text or binary, and the bytes.
fn messages() -> Vec<(bool, Vec<u8>)> {
    let mut seed = 0x2545_f491_u32;
    let noise: Vec<u8> = (0..100_000)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed as u8
        })
        .collect();
    vec![
        (true, Vec::new()),
        (true, b"hi".to_vec()),
        (true, "Grüße, κόσμε, 世界! ".repeat(500).into_bytes()),
        (false, noise),
        (false, b"0123456789abcdef".repeat(65536)),
        (
            true,
            "lorem ipsum dolor sit amet ".repeat(4000).into_bytes(),
        ),
        (false, Vec::new()),
    ]
}

fn configs() -> Vec<(&'static str, DeflateConfig)> {
    let mut all = Vec::new();
    all.push(("default", DeflateConfig::default()));
    let mut c = DeflateConfig::default();
    c.client_no_context_takeover = true;
    all.push(("client_no_context_takeover", c));
    let mut c = DeflateConfig::default();
    c.server_no_context_takeover = true;
    all.push(("server_no_context_takeover", c));
    let mut c = DeflateConfig::default();
    c.server_max_window_bits = Some(10);
    c.client_max_window_bits = Some(9);
    all.push(("window bits 10/9", c));
    let mut c = DeflateConfig::default();
    c.level = 1;
    c.threshold = 0;
    all.push(("level 1, no threshold", c));
    all
}

fn socket(url: &str, config: &DeflateConfig) -> Result<WebSocket> {
    Ok(WebSocket::new(url)?
        .deflate(config.clone())
        .ping_rate(None)
        .poll(None)
        .close_timeout(Some(Duration::from_secs(5))))
}

/// Runs the exchange on the blocking client.
fn run_blocking(url: &str, config: &DeflateConfig) -> Result<Outcome> {
    let ws = socket(url, config)?;
    let sender = ws.sender();
    let (mut echoes, mut params) = (Vec::new(), None);
    let expected = messages().len();
    for event in ws {
        match event {
            Event::Ready { deflate, .. } => {
                params = deflate;
                for (text, bytes) in messages() {
                    if text {
                        sender.send_text(std::str::from_utf8(&bytes)?)?;
                    } else {
                        sender.send_binary(&bytes)?;
                    }
                }
            }
            Event::Text(t) => echoes.push((true, t.as_bytes().to_vec())),
            Event::Binary(b) => echoes.push((false, b.to_vec())),
            Event::ConnectFail { error } => return Err(error.into()),
            Event::Rejected { error, .. } => return Err(error.into()),
            Event::ProtocolError { error } => return Err(error.into()),
            _ => {}
        }
        if echoes.len() == expected && sender.is_open() {
            sender.close(1000, "done")?;
        }
    }
    Ok((echoes, params))
}

/// The same on the tokio client.
async fn run_tokio(url: &str, config: &DeflateConfig) -> Result<Outcome> {
    let mut events = socket(url, config)?.event_stream();
    let sender = events.sender();
    let (mut echoes, mut params) = (Vec::new(), None);
    let expected = messages().len();
    while let Some(event) = events.next().await {
        match event {
            Event::Ready { deflate, .. } => {
                params = deflate;
                for (text, bytes) in messages() {
                    if text {
                        sender.send_text(std::str::from_utf8(&bytes)?).await?;
                    } else {
                        sender.send_binary(&bytes).await?;
                    }
                }
            }
            Event::Text(t) => echoes.push((true, t.as_bytes().to_vec())),
            Event::Binary(b) => echoes.push((false, b.to_vec())),
            Event::ConnectFail { error } => return Err(error.into()),
            Event::Rejected { error, .. } => return Err(error.into()),
            Event::ProtocolError { error } => return Err(error.into()),
            _ => {}
        }
        if echoes.len() == expected && sender.is_open() {
            sender.close(1000, "done").await?;
        }
    }
    Ok((echoes, params))
}

/// The same on the Stream/Sink face (`connect_async`), as code ported
/// from tokio-tungstenite uses it: every message fed, one flush, then read.
async fn run_sink(url: &str, config: &DeflateConfig) -> Result<Outcome> {
    use futures_util::SinkExt;
    use lomond::aio::{connect_async, Message};
    let (mut ws, _) = connect_async(socket(url, config)?).await?;
    let params = ws.deflate();
    for (text, bytes) in messages() {
        ws.feed(if text {
            Message::text(String::from_utf8(bytes)?)
        } else {
            Message::binary(bytes)
        })
        .await?;
    }
    ws.flush().await?;
    let (mut echoes, mut closing) = (Vec::new(), false);
    let expected = messages().len();
    while let Some(message) = ws.next().await {
        match message? {
            Message::Text(t) => echoes.push((true, t.as_bytes().to_vec())),
            Message::Binary(b) => echoes.push((false, b.to_vec())),
            _ => {}
        }
        if echoes.len() == expected && !closing {
            closing = true;
            ws.close(None).await?;
        }
    }
    Ok((echoes, params))
}

/// What the negotiated parameters must show for `config`.
fn check_params(
    config: &DeflateConfig,
    params: Option<DeflateParams>,
) -> std::result::Result<(), String> {
    let p = params.ok_or("compression was not negotiated")?;
    if config.server_no_context_takeover && !p.server_no_context_takeover {
        return Err("server_no_context_takeover not in force".into());
    }
    if config.client_no_context_takeover && !p.client_no_context_takeover {
        return Err("client_no_context_takeover not in force".into());
    }
    if let Some(bits) = config.server_max_window_bits {
        if p.server_max_window_bits > bits {
            return Err(format!(
                "server window {} > {bits}",
                p.server_max_window_bits
            ));
        }
    }
    Ok(())
}

fn main() -> Result<()> {
    let url = std::env::args()
        .nth(1)
        .ok_or("usage: interop ws://host:port/")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (mut passed, mut failed) = (0, 0);
    for (name, config) in configs() {
        for driver in ["blocking", "tokio", "sink"] {
            let result = match driver {
                "tokio" => runtime.block_on(run_tokio(&url, &config)),
                "sink" => runtime.block_on(run_sink(&url, &config)),
                _ => run_blocking(&url, &config),
            };
            let verdict = result
                .map_err(|e| e.to_string())
                .and_then(|(echoes, params)| {
                    check_params(&config, params)?;
                    if echoes != messages() {
                        return Err(format!("{} echoes differ from what was sent", echoes.len()));
                    }
                    Ok(params)
                });
            match verdict {
                Ok(params) => {
                    passed += 1;
                    println!("ok   {driver:8} {name}: {params:?}");
                }
                Err(e) => {
                    failed += 1;
                    println!("FAIL {driver:8} {name}: {e}");
                }
            }
        }
    }
    println!("interop: {passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}
