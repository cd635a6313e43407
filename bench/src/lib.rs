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

/// A byte stream that repeats one frame `count` times, cut into writes:
/// the firehose's (bench-server) and the floor client's. Any stretch of the
/// stream up to a batch long is a slice of a pattern of repeated frames, so
/// nothing is copied per write. Batches hold as many whole frames as fit in
/// 256 KiB (at least one), so one syscall moves many frames; while more
/// follows, a write ends on a TCP segment boundary, as lomond's clients
/// write: a short segment after each write costs the reader a segment's
/// receive work (and a wakeup) for a few hundred bytes.
pub struct RepeatedFrames {
    pattern: Vec<u8>,
    frame_len: usize,
    batch: usize,
    total: usize,
    sent: usize,
}

impl RepeatedFrames {
    /// The stream of `count` copies of `frame`.
    pub fn new(frame: &[u8], count: usize) -> RepeatedFrames {
        let frame_len = frame.len();
        let batch = ((256 << 10) / frame_len).max(1) * frame_len;
        RepeatedFrames {
            pattern: frame.repeat(batch / frame_len + 1),
            frame_len,
            batch,
            total: count * frame_len,
            sent: 0,
        }
    }

    /// The next write, for a connection whose segment size is `mss` (0 if
    /// unknown); `None` once everything is written.
    pub fn next_write(&mut self, mss: usize) -> Option<&[u8]> {
        let left = self.total - self.sent;
        if left == 0 {
            return None;
        }
        let mut n = self.batch.min(left);
        if n < left && mss > 0 && n > mss {
            n -= n % mss;
        }
        let at = self.sent % self.frame_len;
        self.sent += n;
        Some(&self.pattern[at..at + n])
    }
}

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
    /// Open `count` connections to the echo endpoint from several loopback
    /// source addresses, hold them, and time pings on a sample (see
    /// `bench/scale.sh`).
    Scale,
    /// `count` connections to the echo endpoint, each sending `size` bytes
    /// every 100 ms: client CPU per message.
    Active,
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
            Scenario::Scale | Scenario::Active => format!("{base}/echo"),
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
            "scale" => Scenario::Scale,
            "active" => Scenario::Active,
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

/// The one rustls client config every library gets for `wss://`, made by
/// lomond's own options: ring, TLS 1.3 and 1.2, ALPN `http/1.1`, and any
/// certificate accepted (the bench server's is self-signed; verifying it
/// once per connection would not change a per-message figure anyway).
pub fn tls_client_config() -> std::sync::Arc<rustls::ClientConfig> {
    lomond::TlsOptions::new()
        .dangerous_accept_any_certificate()
        .config()
        .expect("a rustls config")
}

/// lomond's TLS options for a run: the shared config when `url` is wss.
pub fn lomond_tls(url: &str) -> lomond::TlsOptions {
    let tls = lomond::TlsOptions::new();
    if url.starts_with("wss:") {
        tls.client_config(tls_client_config())
    } else {
        tls
    }
}

#[cfg(test)]
mod tests {
    use super::RepeatedFrames;

    #[test]
    fn repeated_frames_are_the_whole_stream_cut_on_segments() {
        for (flen, count, mss) in [(7, 100_000, 1000), (1028, 600, 65_483), (300_000, 3, 0)] {
            let frame: Vec<u8> = (0..flen).map(|i| (i * 31 + 7) as u8).collect();
            let want = frame.repeat(count);
            let mut frames = RepeatedFrames::new(&frame, count);
            let mut got = Vec::new();
            while let Some(bytes) = frames.next_write(mss) {
                if got.len() + bytes.len() < want.len() && mss > 0 && bytes.len() > mss {
                    assert_eq!(bytes.len() % mss, 0, "frame of {flen}: a short segment");
                }
                got.extend_from_slice(bytes);
            }
            assert!(got == want, "frame of {flen}: another stream");
        }
    }
}
