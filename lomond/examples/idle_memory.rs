//! Opens N WebSocket connections (default 10,000) from one current-thread
//! tokio runtime to a local echo server, and reports the client process's
//! resident memory per idle connection.
//!
//!     cargo run --release --example idle_memory -- [N]
//!
//! The server runs in a child process (this same binary with `--server`), so
//! the figure is the client's alone: its sockets, lomond's state, and the
//! task holding each event stream, with default timers (ping every 30 s,
//! poll every 5 s) running. Linux only (reads /proc/self/status).

use futures_util::StreamExt;
use lomond::{Event, WebSocket};
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn rss_bytes() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .ok_or("no VmRSS")?;
    let kb: u64 = line.split_whitespace().nth(1).ok_or("bad VmRSS")?.parse()?;
    Ok(kb * 1024)
}

fn serve() -> Result<()> {
    let server = lomond_testkit::AsyncEchoServer::start()?;
    println!("{}", server.url());
    // Serve until the parent closes our stdin.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--server") {
        return serve();
    }
    let n: usize = args
        .first()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10_000);
    let mut child = Command::new(std::env::current_exe()?)
        .arg("--server")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut url = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut url)?;
    let url = url.trim().to_owned();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let before = rss_bytes()?;
        let ready = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        // In batches, so no burst overflows the server's listen backlog
        // (a dropped SYN costs a one-second retransmit).
        for batch in (0..n).collect::<Vec<_>>().chunks(1000) {
            let target = ready.load(Ordering::Relaxed) + batch.len();
            for _ in batch {
                let (url, ready) = (url.clone(), ready.clone());
                tokio::spawn(async move {
                    let mut events = WebSocket::new(&url)
                        .expect("valid URL")
                        .event_stream();
                    while let Some(event) = events.next().await {
                        match event {
                            Event::Ready { .. } => {
                                ready.fetch_add(1, Ordering::Relaxed);
                            }
                            Event::ConnectFail { error } => panic!("{error}"),
                            Event::Disconnected { reason, .. } => panic!("{reason}"),
                            _ => {}
                        }
                    }
                });
            }
            while ready.load(Ordering::Relaxed) < target {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        let opened = start.elapsed();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let after = rss_bytes()?;
        let per = (after.saturating_sub(before)) as f64 / n as f64;
        println!(
            "{n} idle connections opened in {:.1} s: RSS {:.1} MiB -> {:.1} MiB, {:.0} bytes per connection",
            opened.as_secs_f64(),
            before as f64 / (1 << 20) as f64,
            after as f64 / (1 << 20) as f64,
            per
        );
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    drop(child.stdin.take());
    let _ = child.wait();
    Ok(())
}
