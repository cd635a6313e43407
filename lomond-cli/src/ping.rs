//! `lomond ping URL`: the round-trip times of WebSocket pings, as ping(8)
//! prints them. The pings are lomond's own keepalive pings (sent every
//! `--interval`), whose pongs carry the time measured by the core.

use crate::client::Stops;
use crate::exit::{Ending, Status};
use crate::output::Printer;
use lomond::{Event, WebSocket};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// Runs `lomond ping`; the exit status.
pub fn run(
    url: &str,
    count: u32,
    interval: Duration,
    timeout: Duration,
    printer: &Printer,
) -> Status {
    let ws = match WebSocket::new(url) {
        Ok(ws) => ws
            .ping_rate(Some(interval.max(Duration::from_millis(10))))
            .ping_timeout(Some(timeout))
            .poll(None),
        Err(e) => {
            printer.error(&crate::output::chain(&e));
            return Status::Usage;
        }
    };
    let sender = ws.sender();
    let stops = Arc::new(Stops::default());
    crate::client::on_interrupt(&stops, &ws.exit_handle());
    let mut rtts = Vec::new();
    let mut ending = Ending::default();
    for event in ws {
        ending.see(&event);
        match &event {
            Event::Pong { rtt: Some(rtt), .. } => {
                rtts.push(*rtt);
                let ms = rtt.as_secs_f64() * 1000.0;
                printer.note(
                    "pong",
                    json!({ "seq": rtts.len(), "rtt_ms": ms, "text": format!("pong from {url}: seq={} time={ms:.3} ms", rtts.len()) }),
                );
                if rtts.len() as u32 >= count {
                    stops
                        .finished
                        .store(true, std::sync::atomic::Ordering::SeqCst);
                    let _ = sender.close(1000, "");
                }
            }
            Event::Ready { .. } => printer.note(
                "ready",
                json!({ "text": format!("PING {url}: every {interval:?}, {count} pongs") }),
            ),
            Event::Connecting { .. }
            | Event::Connected { .. }
            | Event::Pong { .. }
            | Event::Closed { .. }
            | Event::Closing { .. }
            | Event::Disconnected { graceful: true, .. } => {}
            _ => printer.event(&event),
        }
    }
    let stats = Stats::of(&rtts);
    if let Some(s) = &stats {
        printer.note(
            "statistics",
            json!({
                "pongs": rtts.len(), "min_ms": s.min, "avg_ms": s.avg, "max_ms": s.max, "mdev_ms": s.mdev,
                "text": format!("--- {url} ping statistics ---\n{} pongs; rtt min/avg/max/mdev = {:.3}/{:.3}/{:.3}/{:.3} ms", rtts.len(), s.min, s.avg, s.max, s.mdev),
            }),
        );
    }
    let (status, why) = ending.status(&stops);
    printer.exit(status.code(), &why);
    status
}

/// min/avg/max/mdev in milliseconds, as ping(8) reports them (mdev: the
/// standard deviation).
#[derive(Debug, PartialEq)]
pub struct Stats {
    /// The shortest.
    pub min: f64,
    /// The mean.
    pub avg: f64,
    /// The longest.
    pub max: f64,
    /// The standard deviation.
    pub mdev: f64,
}

impl Stats {
    /// The statistics of `rtts`, if there are any.
    pub fn of(rtts: &[Duration]) -> Option<Stats> {
        if rtts.is_empty() {
            return None;
        }
        let ms: Vec<f64> = rtts.iter().map(|r| r.as_secs_f64() * 1000.0).collect();
        let n = ms.len() as f64;
        let avg = ms.iter().sum::<f64>() / n;
        let var = ms.iter().map(|x| (x - avg).powi(2)).sum::<f64>() / n;
        Some(Stats {
            min: ms.iter().cloned().fold(f64::INFINITY, f64::min),
            avg,
            max: ms.iter().cloned().fold(0.0, f64::max),
            mdev: var.sqrt(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_as_ping_shows_them() {
        let ms = Duration::from_millis;
        assert_eq!(Stats::of(&[]), None);
        let s = Stats::of(&[ms(1), ms(2), ms(3), ms(6)]).unwrap();
        assert_eq!((s.min, s.avg, s.max), (1.0, 3.0, 6.0));
        assert!((s.mdev - 1.870_828_693).abs() < 1e-6, "{s:?}");
    }
}
