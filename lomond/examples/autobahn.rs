//! Drives the Autobahn|Testsuite fuzzing server with the blocking client:
//! asks for the case count, echoes every message of every case, then asks
//! the server to write its reports.
//!
//!     cargo run --release --example autobahn -- [URL] [AGENT]
//!
//! URL defaults to ws://127.0.0.1:9001, AGENT to lomond-blocking.
//! `scripts/autobahn.sh` starts the server and checks the results.

use lomond::{Event, WebSocket};
use std::time::Duration;

fn socket(url: &str) -> Result<WebSocket, lomond::ConnectError> {
    Ok(WebSocket::new(url)?
        .ping_rate(None)
        .poll(None)
        .close_timeout(Some(Duration::from_secs(10)))
        .handshake_timeout(Some(Duration::from_secs(10))))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:9001".to_owned());
    let agent = args.next().unwrap_or_else(|| "lomond-blocking".to_owned());

    let mut count = None;
    for event in socket(&format!("{base}/getCaseCount"))? {
        match event {
            Event::Text(t) => count = t.trim().parse::<u32>().ok(),
            Event::ConnectFail { error } => return Err(error.into()),
            _ => {}
        }
    }
    let count = count.ok_or("no case count from the server")?;
    eprintln!("{count} cases");

    for case in 1..=count {
        let ws = socket(&format!("{base}/runCase?case={case}&agent={agent}"))?;
        let sender = ws.sender();
        for event in ws {
            // Send errors only mean the server is already closing.
            match event {
                Event::Text(t) => {
                    let _ = sender.send_text(&t);
                }
                Event::Binary(b) => {
                    let _ = sender.send_binary(&b);
                }
                Event::ConnectFail { error } => return Err(error.into()),
                _ => {}
            }
        }
        if case % 50 == 0 {
            eprintln!("case {case}/{count}");
        }
    }

    for event in socket(&format!("{base}/updateReports?agent={agent}"))? {
        if let Event::ConnectFail { error } = event {
            return Err(error.into());
        }
    }
    eprintln!("reports updated");
    Ok(())
}
