//! Time to notice a black-holed link, and to be Ready again after it
//! heals, for lomond (both drivers), Python websockets and the original
//! Python Lomond, in the same network lab (lomond-testkit's `NetLab`)
//! with the same keepalive: a ping every 1 s, dead after 2 s of silence,
//! back-off of 1 to 3 s, connect timeout 2 s where the library has one.
//!
//!     bash bench/netlab.sh [RUNS]      (as root; installs the Python peers)
//!     target/release/bench-netlab measure RUNS PYTHON
//!     target/release/bench-netlab client blocking|tokio URL
//!
//! Each run: connect, 3 s of pings, black hole (iptables DROP both ways),
//! held until 10 s after the client noticed it (so that each has retried
//! into it as long), heal. Clients run
//! in the client namespace as processes printing "ready" and "down"; the
//! times are taken here as the lines arrive. Runs are interleaved across
//! clients; the medians (and ranges) go to stdout as a Markdown table.

use lomond::{BackOff, Event, WebSocket};
use lomond_testkit::NetLab;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

const SETTLE: Duration = Duration::from_secs(3);
/// How long the hole lasts after the client noticed it.
const HOLD: Duration = Duration::from_secs(10);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("client") => client(&args[2], &args[3]),
        Some("measure") => measure(args[2].parse().expect("RUNS"), &args[3]),
        _ => {
            eprintln!("usage: bench-netlab measure RUNS PYTHON | client blocking|tokio URL");
            std::process::exit(2);
        }
    }
}

/// lomond keeping a connection up, printing what the Python clients print.
fn client(driver: &str, url: &str) {
    let s = Duration::from_secs;
    let ws = WebSocket::new(url)
        .unwrap()
        .ping_rate(Some(s(1)))
        .ping_timeout(Some(s(2)))
        .connect_timeout(Some(s(2)))
        .back_off(BackOff::new(s(1), s(3)));
    let mut down = false;
    let mut show = |event: &Event| {
        let line = match event.name() {
            "ready" => {
                down = false;
                "ready"
            }
            "unresponsive" | "disconnected" if !down => {
                down = true;
                "down"
            }
            _ => return,
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    match driver {
        "blocking" => ws.persist().for_each(|e| show(&e)),
        "tokio" => {
            use futures_util::StreamExt;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut events = ws.persist_async();
                while let Some(e) = events.next().await {
                    show(&e);
                }
            });
        }
        other => panic!("driver {other}?"),
    }
}

struct Running {
    child: Child,
    lines: Receiver<(Instant, String)>,
}

impl Running {
    fn wait_for(&self, line: &str, within: Duration) -> Option<Instant> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.lines.recv_timeout(left) {
                Ok((at, got)) if got == line => return Some(at),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(mut command: Command) -> Running {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("client");
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send((Instant::now(), line.trim().to_string())).is_err() {
                break;
            }
        }
    });
    Running { child, lines }
}

/// One run: (time to notice the black hole, time to Ready after the heal).
fn once(name: &str, python: &str, me: &str) -> Option<(Duration, Duration)> {
    let lab = NetLab::new().unwrap_or_else(|e| panic!("{e}"));
    let server = lab.echo_server().unwrap();
    let url = server.url();
    let mut command = match name {
        "lomond-blocking" | "lomond-tokio" => {
            let mut c = lab.client_command(me);
            c.args(["client", &name["lomond-".len()..], &url]);
            c
        }
        "python-websockets" => {
            let mut c = lab.client_command(python);
            c.args([
                concat!(env!("CARGO_MANIFEST_DIR"), "/netlab/websockets_client.py"),
                &url,
            ]);
            c
        }
        "python-lomond" => {
            let mut c = lab.client_command(python);
            c.args([
                concat!(env!("CARGO_MANIFEST_DIR"), "/netlab/lomond_client.py"),
                &url,
            ]);
            c
        }
        other => panic!("client {other}?"),
    };
    command
        .env("WEBSOCKETS_BACKOFF_INITIAL_DELAY", "1")
        .env("WEBSOCKETS_BACKOFF_MIN_DELAY", "1")
        .env("WEBSOCKETS_BACKOFF_MAX_DELAY", "3");
    let client = spawn(command);
    client.wait_for("ready", Duration::from_secs(20))?;
    std::thread::sleep(SETTLE);
    let cut = Instant::now();
    lab.black_hole().unwrap();
    let noticed = client.wait_for("down", Duration::from_secs(60));
    // Every client spends the same time retrying into the hole, so the
    // heal finds each as far into its back-off.
    let hold_until = match noticed {
        Some(at) => at + HOLD,
        None => Instant::now(),
    };
    std::thread::sleep(hold_until.saturating_duration_since(Instant::now()));
    let healed = Instant::now();
    lab.heal().unwrap();
    let ready = client.wait_for("ready", Duration::from_secs(90));
    Some((noticed? - cut, ready? - healed))
}

fn measure(runs: usize, python: &str) {
    let me = std::env::current_exe().unwrap();
    let me = me.to_str().unwrap();
    let names = [
        "lomond-blocking",
        "lomond-tokio",
        "python-websockets",
        "python-lomond",
    ];
    let mut results: Vec<Vec<(Duration, Duration)>> = vec![Vec::new(); names.len()];
    let mut failures = vec![0; names.len()];
    for run in 0..runs {
        for (i, name) in names.iter().enumerate() {
            match once(name, python, me) {
                Some(r) => {
                    eprintln!("run {run} {name}: noticed {:.2?}, ready {:.2?}", r.0, r.1);
                    results[i].push(r);
                }
                None => {
                    eprintln!("run {run} {name}: did not notice or reconnect");
                    failures[i] += 1;
                }
            }
        }
    }
    println!("| client | black hole noticed after | Ready again after the heal | runs |");
    println!("|---|---|---|---|");
    for (i, name) in names.iter().enumerate() {
        let noticed: Vec<_> = results[i].iter().map(|r| r.0).collect();
        let ready: Vec<_> = results[i].iter().map(|r| r.1).collect();
        println!(
            "| {name} | {} | {} | {}{} |",
            summary(noticed),
            summary(ready),
            results[i].len(),
            if failures[i] > 0 {
                format!(" ({} failed)", failures[i])
            } else {
                String::new()
            }
        );
    }
}

/// "median s (min–max)".
fn summary(mut v: Vec<Duration>) -> String {
    if v.is_empty() {
        return "-".into();
    }
    v.sort();
    let s = |d: Duration| format!("{:.1}", d.as_secs_f64());
    format!(
        "{} s ({}–{})",
        s(v[v.len() / 2]),
        s(v[0]),
        s(v[v.len() - 1])
    )
}
