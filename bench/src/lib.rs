//! What the benchmark binaries share: the scenario a client runs, and the
//! measurement around it.
//!
//! Each client binary calls [`client_main`] with a function that runs one
//! library. ratchet has a binary of its own (`bench-client-ratchet`, in
//! `bench/ratchet`): it requires flate2's C zlib backend, which Cargo's
//! feature unification would otherwise impose on every library built with
//! it, lomond included (lomond uses zlib-rs).

use bytes::Bytes;
use std::time::Instant;

pub mod floor;

/// Libraries with permessage-deflate, which run the `-z` scenarios (the
/// floor is not a library, but compresses as they do).
pub const DEFLATE_LIBS: &[&str] = &[
    "lomond-blocking",
    "lomond-tokio",
    "yawc",
    "ratchet",
    "floor",
];

/// The reference client that is no library (see [`floor`]): reported
/// beside the libraries, never counted as a peer.
pub const FLOOR: &str = "floor";

/// Errors of a benchmark run.
pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// What a client does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Scenario {
    /// Receive `count` messages from the firehose.
    Recv,
    /// Send `count` messages to the sink, then check its byte total.
    Send,
    /// Echo with this many messages in flight.
    Echo(usize),
    /// Open `count` connections and hold them.
    Idle,
}

/// One run's parameters.
pub struct Run {
    /// What to do.
    pub scenario: Scenario,
    /// permessage-deflate offered (and required of the server).
    pub deflate: bool,
    /// Message size in bytes.
    pub size: usize,
    /// Messages (or connections, for idle).
    pub count: usize,
    /// The server's base URL.
    pub base: String,
}

impl Run {
    /// The endpoint for this run.
    pub fn url(&self) -> String {
        let base = self.base.trim_end_matches('/');
        let z = if self.deflate { "deflate=1" } else { "" };
        match self.scenario {
            Scenario::Recv => format!(
                "{base}/firehose?size={}&count={}&{z}",
                self.size, self.count
            ),
            Scenario::Send => format!("{base}/sink?{z}"),
            Scenario::Echo(_) => format!("{base}/echo?{z}"),
            Scenario::Idle => format!("{base}/idle"),
        }
    }

    /// The message to send: JSON-like telemetry when compressing, else a
    /// run of one byte.
    pub fn payload(&self) -> Bytes {
        if self.deflate {
            Bytes::from(telemetry(self.size))
        } else {
            Bytes::from(vec![b'x'; self.size])
        }
    }

    /// Checks the sink's reply: the byte total it counted, as text.
    pub fn check_total(&self, reply: &str) -> Result<()> {
        if reply.parse::<usize>()? != self.size * self.count {
            return Err("the server counted another byte total".into());
        }
        Ok(())
    }
}

/// This process's user+sys CPU seconds and peak RSS (KiB).
pub fn cpu_and_rss() -> (f64, i64) {
    // SAFETY: getrusage only writes the struct we pass, which is zeroed and
    // of the right type.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(usage.ru_utime) + secs(usage.ru_stime), usage.ru_maxrss)
}

/// This process's resident memory now, in bytes.
pub fn current_rss() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<usize>().ok())
        })
        .unwrap_or(0)
        * 1024
}

/// Parses `LIB SCENARIO SIZE COUNT URL`, runs `run_lib(lib, run)` (which
/// returns the `extra` figure: bytes per idle connection, else 0) and
/// prints `lib scenario size count secs cpu_secs maxrss_kb extra`.
pub fn client_main(run_lib: impl FnOnce(&str, &Run) -> Result<usize>) -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [lib, scenario, size, count, base] = &args[..] else {
        return Err("usage: bench-client LIB SCENARIO SIZE COUNT URL".into());
    };
    let deflate = scenario.ends_with("-z");
    let run = Run {
        scenario: match scenario.trim_end_matches("-z") {
            "recv" => Scenario::Recv,
            "send" => Scenario::Send,
            "echo1" => Scenario::Echo(1),
            "echo64" => Scenario::Echo(64),
            "idle" => Scenario::Idle,
            other => return Err(format!("unknown scenario {other}").into()),
        },
        deflate,
        size: size.parse()?,
        count: count.parse()?,
        base: base.clone(),
    };
    let (cpu0, _) = cpu_and_rss();
    let start = Instant::now();
    let extra = run_lib(lib, &run)?;
    let secs = start.elapsed().as_secs_f64();
    let (cpu1, maxrss) = cpu_and_rss();
    println!(
        "{lib} {scenario} {} {} {secs:.6} {:.6} {maxrss} {extra}",
        run.size,
        run.count,
        cpu1 - cpu0
    );
    Ok(())
}

/// `size` bytes of JSON-like telemetry, deterministic.
pub fn telemetry(size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 128);
    let mut x: u32 = 12345;
    let mut i = 0u32;
    while out.len() < size {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let reading = (x >> 16) % 10_000;
        out.extend_from_slice(
            format!(
                "{{\"id\":{i},\"sensor\":\"probe-{:03}\",\"temp\":{}.{:02},\"ok\":{}}},",
                (x >> 8) % 200,
                reading / 100,
                reading % 100,
                !x.is_multiple_of(7)
            )
            .as_bytes(),
        );
        i += 1;
    }
    out.truncate(size);
    out
}
