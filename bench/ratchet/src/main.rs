//! The benchmark client for ratchet (Swim's WebSocket client): reads into a
//! caller's buffer, writes from a slice; permessage-deflate through its
//! extension provider.
//!
//!     bench-client-ratchet ratchet SCENARIO SIZE COUNT URL

use bytes::BytesMut;
use lomond_bench::{client_main, Result, Run, Scenario};
use ratchet_rs::deflate::{DeflateConfig, DeflateExtProvider};
use ratchet_rs::{Message, PayloadType, SubprotocolRegistry, WebSocketConfig};
use tokio::net::TcpStream;

fn main() -> Result<()> {
    client_main(|lib, run| {
        if lib != "ratchet" {
            return Err(format!("this binary runs ratchet, not {lib}").into());
        }
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(run_ratchet(run))
    })
}

async fn run_ratchet(run: &Run) -> Result<usize> {
    if matches!(
        run.scenario,
        Scenario::Idle | Scenario::Scale | Scenario::Active
    ) {
        return Err("idle and scale are not measured for ratchet".into());
    }
    let url = run.url();
    let host = url
        .strip_prefix("ws://")
        .and_then(|r| r.split('/').next())
        .ok_or("ws:// only")?;
    let stream = TcpStream::connect(host).await?;
    stream.set_nodelay(true)?;
    // The same offer as the others: level 6, context takeover allowed.
    let config = DeflateConfig {
        request_server_no_context_takeover: false,
        request_client_no_context_takeover: false,
        compression_level: flate2::Compression::new(6),
        ..DeflateConfig::default()
    };
    let mut ws = ratchet_rs::subscribe_with(
        WebSocketConfig::default(),
        stream,
        url.as_str(),
        &DeflateExtProvider::with_config(config),
        SubprotocolRegistry::default(),
    )
    .await?
    .websocket;
    let payload = run.payload();
    let mut buf = BytesMut::new();
    let is_data = |m: &Message| matches!(m, Message::Binary | Message::Text);
    match run.scenario {
        Scenario::Recv => {
            let mut got = 0;
            while got < run.count {
                if is_data(&ws.read(&mut buf).await?) {
                    got += 1;
                }
                buf.clear();
            }
        }
        Scenario::Send => {
            for _ in 0..run.count {
                ws.write(&payload, PayloadType::Binary).await?;
            }
            ws.write(b"done", PayloadType::Text).await?;
            ws.flush().await?;
            loop {
                if let Message::Text = ws.read(&mut buf).await? {
                    run.check_total(std::str::from_utf8(&buf)?)?;
                    break;
                }
                buf.clear();
            }
        }
        Scenario::Echo(inflight) => {
            let first = inflight.min(run.count);
            for _ in 0..first {
                ws.write(&payload, PayloadType::Binary).await?;
            }
            ws.flush().await?;
            let (mut sent, mut got) = (first, 0);
            while got < run.count {
                if is_data(&ws.read(&mut buf).await?) {
                    got += 1;
                    if sent < run.count {
                        ws.write(&payload, PayloadType::Binary).await?;
                        ws.flush().await?;
                        sent += 1;
                    }
                }
                buf.clear();
            }
        }
        Scenario::Idle | Scenario::Scale | Scenario::Active => unreachable!(),
    }
    let _ = ws
        .close(ratchet_rs::CloseReason::new(
            ratchet_rs::CloseCode::Normal,
            None,
        ))
        .await;
    Ok(0)
}
