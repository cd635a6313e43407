//! Drives the Autobahn|Testsuite fuzzing server with lomond: asks for the
//! case count, echoes every message of every case, then asks the server to
//! write its reports.
//!
//!     cargo run --release --example autobahn -- [URL] [AGENT] [--tokio] [--deflate]
//!
//! URL defaults to ws://127.0.0.1:9001, AGENT to lomond-blocking (or
//! lomond-tokio). `--tokio` uses the async client instead of the blocking
//! one; `--deflate` offers permessage-deflate. A `wss://` URL trusts the
//! CA in the PEM file named by `LOMOND_CA_FILE`, when set (as
//! `AUTOBAHN_WSS=1 scripts/autobahn.sh` sets it). `scripts/autobahn.sh`
//! starts the server and checks the results.

use futures_util::StreamExt;
use lomond::{Event, WebSocket};
use std::time::Duration;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn socket(url: &str) -> Result<WebSocket> {
    let deflate = std::env::args().any(|a| a == "--deflate");
    let mut tls = lomond::TlsOptions::new();
    if let Ok(ca) = std::env::var("LOMOND_CA_FILE") {
        tls = tls.only_added_roots().add_root_file(ca)?;
    }
    Ok(WebSocket::new(url)?
        .tls(tls)
        .compress(deflate)
        .ping_rate(None)
        .poll(None)
        .close_timeout(Some(Duration::from_secs(10)))
        .handshake_timeout(Some(Duration::from_secs(10))))
}

/// Echoes every message until the connection ends; returns the last text.
fn echo_blocking(url: &str) -> Result<Option<String>> {
    let ws = socket(url)?;
    let sender = ws.sender();
    let mut last = None;
    for event in ws {
        // Send errors only mean the server is already closing.
        match event {
            Event::Text(t) => {
                let _ = sender.send_text(&t);
                last = Some(t.into_string());
            }
            Event::Binary(b) => {
                let _ = sender.send_binary(&b);
            }
            Event::ConnectFail { error } => return Err(error.into()),
            _ => {}
        }
    }
    Ok(last)
}

/// The same on the tokio client.
async fn echo_async(url: &str) -> Result<Option<String>> {
    let mut events = socket(url)?.event_stream();
    let sender = events.sender();
    let mut last = None;
    while let Some(event) = events.next().await {
        match event {
            Event::Text(t) => {
                let _ = sender.send_text(&t).await;
                last = Some(t.into_string());
            }
            Event::Binary(b) => {
                let _ = sender.send_binary(&b).await;
            }
            Event::ConnectFail { error } => return Err(error.into()),
            _ => {}
        }
    }
    Ok(last)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let tokio = args.iter().any(|a| a == "--tokio");
    let mut positional = args.iter().filter(|a| !a.starts_with("--"));
    let base = positional
        .next()
        .cloned()
        .unwrap_or_else(|| "ws://127.0.0.1:9001".to_owned());
    let agent = positional.next().cloned().unwrap_or_else(|| {
        if tokio {
            "lomond-tokio"
        } else {
            "lomond-blocking"
        }
        .to_owned()
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let echo = |url: String| -> Result<Option<String>> {
        if tokio {
            runtime.block_on(echo_async(&url))
        } else {
            echo_blocking(&url)
        }
    };

    let count: u32 = echo(format!("{base}/getCaseCount"))?
        .and_then(|t| t.trim().parse().ok())
        .ok_or("no case count from the server")?;
    eprintln!("{agent}: {count} cases");
    for case in 1..=count {
        echo(format!("{base}/runCase?case={case}&agent={agent}"))?;
        if case % 100 == 0 {
            eprintln!("case {case}/{count}");
        }
    }
    echo(format!("{base}/updateReports?agent={agent}"))?;
    eprintln!("reports updated");
    Ok(())
}
