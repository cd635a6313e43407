//! A soak of persist: 1,000 reconnections on each driver, checking that
//! file descriptors, threads and memory stay flat. Alone in its test
//! binary, so that no other test's sockets or threads are counted.

use lomond::{BackOff, Event};
use lomond_testkit::{upgrade, ScriptServer};
use std::thread;
use std::time::Duration;

#[allow(dead_code)]
mod common;
#[allow(dead_code)]
mod harness;
use harness::*;

/// Open file descriptors, threads and resident memory (KiB) of this process.
fn footprint() -> (usize, usize, usize) {
    let fds = std::fs::read_dir("/proc/self/fd").unwrap().count();
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| -> usize {
        let line = status.lines().find(|l| l.starts_with(name)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    (fds, field("Threads:"), field("VmRSS:"))
}

#[test]
fn a_thousand_reconnections_leave_descriptors_threads_and_memory_flat() {
    const N: usize = 1000;
    for driver in DRIVERS {
        // Accepts, completes the handshake, closes: each connection ends at once.
        let server = ScriptServer::start(N + 10, |mut s| {
            upgrade(&mut s, "")?;
            Ok(())
        })
        .unwrap();
        let back_off = BackOff::new(Duration::ZERO, Duration::ZERO);
        let mut ws = run(common::ws(&server.url()).back_off(back_off), driver);
        let mut readies = 0;
        let mut before = None;
        while readies < N {
            if let (_, Event::Ready { .. }) = ws.next(ms(10_000)) {
                readies += 1;
                if readies == 100 {
                    thread::sleep(ms(200));
                    before = Some(footprint());
                }
            }
        }
        thread::sleep(ms(200));
        let (fds, threads, rss) = footprint();
        let (fds0, threads0, rss0) = before.unwrap();
        assert!(fds <= fds0 + 2, "{driver:?}: fds {fds0} -> {fds}");
        assert!(
            threads <= threads0 + 2,
            "{driver:?}: threads {threads0} -> {threads}"
        );
        assert!(
            rss <= rss0 + 8 * 1024,
            "{driver:?}: RSS {rss0} -> {rss} KiB"
        );
        ws.exit_and_stop(ms(5000));
    }
}
