//! [`FaultProxy`]: a TCP proxy on loopback that breaks the link between a
//! client and a server on command, for tests of what a client does on a
//! bad network.

use crate::lock;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How often a pump looks at its controls while nothing arrives.
const TICK: Duration = Duration::from_millis(20);

/// The faults in force; every connection follows them as they change.
#[derive(Debug, Clone, Default)]
struct Faults {
    delay: Duration,
    jitter: Duration,
    /// Bytes per second in each direction.
    rate: Option<u64>,
    dribble: bool,
    paused: bool,
    black_hole: bool,
    /// Bytes still forwarded toward the client before every connection
    /// is closed (a close in the middle of whatever is flowing).
    close_after: Option<usize>,
}

struct Control {
    faults: Mutex<Faults>,
    changed: Condvar,
    /// Bumped by `reset_all`/`close_all`: connections older than this end.
    generation: AtomicUsize,
    /// How the connections of older generations end: 1 close, 2 reset.
    ending: AtomicU8,
    accepted: AtomicUsize,
    stop: AtomicBool,
}

/// Forwards each connection it accepts to `upstream`, through the faults
/// set on it: delay and jitter, a bandwidth cap, one byte at a time, a
/// pause (nothing forwarded, nothing closed), a black hole (everything
/// dropped, connections left open, new ones accepted and ignored), a
/// reset (RST) or close of every connection, and a close after a number
/// of bytes (mid-frame). Stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    control: Arc<Control>,
    accept: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// A proxy on 127.0.0.1 (a free port) to `upstream`, with no faults.
    pub fn start(upstream: SocketAddr) -> io::Result<FaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let control = Arc::new(Control {
            faults: Mutex::default(),
            changed: Condvar::new(),
            generation: AtomicUsize::new(0),
            ending: AtomicU8::new(1),
            accepted: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let c = control.clone();
        let accept = thread::spawn(move || accept_loop(listener, upstream, c));
        Ok(FaultProxy {
            addr,
            control,
            accept: Some(accept),
        })
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.control.accepted.load(Ordering::SeqCst)
    }

    fn set(&self, change: impl FnOnce(&mut Faults)) {
        change(&mut lock(&self.control.faults));
        self.control.changed.notify_all();
    }

    /// Holds each chunk `delay` plus up to `jitter` (uniformly) before it
    /// is forwarded.
    pub fn delay(&self, delay: Duration, jitter: Duration) {
        self.set(|f| (f.delay, f.jitter) = (delay, jitter));
    }

    /// Caps each direction of each connection at `bytes_per_second`
    /// (`None`: no cap).
    pub fn bandwidth(&self, bytes_per_second: Option<u64>) {
        self.set(|f| f.rate = bytes_per_second.map(|r| r.max(1)));
    }

    /// Forwards one byte at a time, a millisecond apart.
    pub fn dribble(&self, on: bool) {
        self.set(|f| f.dribble = on);
    }

    /// Stops forwarding (bytes wait in the proxy and the kernel) without
    /// closing anything, until [`resume`](Self::resume).
    pub fn pause(&self) {
        self.set(|f| f.paused = true);
    }

    /// Forwards again what a pause held.
    pub fn resume(&self) {
        self.set(|f| f.paused = false);
    }

    /// Drops every byte in both directions, on every connection, new ones
    /// included, while `on`: no close, no reset, silence.
    pub fn black_hole(&self, on: bool) {
        self.set(|f| f.black_hole = on);
    }

    /// Forwards `bytes` more toward the client, then closes every
    /// connection: cut in the middle of whatever is flowing.
    pub fn close_after(&self, bytes: usize) {
        self.set(|f| f.close_after = Some(bytes));
    }

    /// Resets (RST) every connection open now.
    pub fn reset_all(&self) {
        self.end_all(2);
    }

    /// Closes (FIN) every connection open now.
    pub fn close_all(&self) {
        self.end_all(1);
    }

    fn end_all(&self, how: u8) {
        self.control.ending.store(how, Ordering::SeqCst);
        self.control.generation.fetch_add(1, Ordering::SeqCst);
        self.control.changed.notify_all();
    }

    /// Removes every fault.
    pub fn heal(&self) {
        self.set(|f| *f = Faults::default());
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.control.stop.store(true, Ordering::SeqCst);
        self.end_all(1);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn accept_loop(listener: TcpListener, upstream: SocketAddr, control: Arc<Control>) {
    while !control.stop.load(Ordering::SeqCst) {
        let client = match listener.accept() {
            Ok((client, _)) => client,
            Err(_) => {
                thread::sleep(Duration::from_millis(2));
                continue;
            }
        };
        control.accepted.fetch_add(1, Ordering::SeqCst);
        let control = control.clone();
        thread::spawn(move || {
            let _ = client.set_nonblocking(false);
            let generation = control.generation.load(Ordering::SeqCst);
            let Ok(server) = TcpStream::connect(upstream) else {
                return;
            };
            let _ = (client.set_nodelay(true), server.set_nodelay(true));
            let pair = (client.try_clone(), server.try_clone());
            let (Ok(client2), Ok(server2)) = pair else {
                return;
            };
            let c = control.clone();
            let up = thread::spawn(move || pump(client2, server2, false, generation, &c));
            pump(server, client, true, generation, &control);
            let _ = up.join();
        });
    }
}

/// Moves bytes from `from` to `to` through the faults until either side
/// ends or the connection's generation is ended; `down` is toward the
/// client.
fn pump(mut from: TcpStream, mut to: TcpStream, down: bool, generation: usize, c: &Control) {
    let _ = from.set_read_timeout(Some(TICK));
    let mut buf = vec![0u8; 16 << 10];
    let ended = || c.generation.load(Ordering::SeqCst) != generation;
    loop {
        if ended() {
            break;
        }
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(_) => break,
        };
        // Wait out a pause (still ending when told to).
        let faults = {
            let mut f = lock(&c.faults);
            while f.paused && !ended() {
                f = c
                    .changed
                    .wait_timeout(f, TICK)
                    .map_or_else(|e| e.into_inner().0, |r| r.0);
            }
            f.clone()
        };
        if ended() {
            break;
        }
        if faults.black_hole {
            continue;
        }
        let mut chunk = &buf[..n];
        let mut last = false;
        if down {
            let mut f = lock(&c.faults);
            if let Some(left) = f.close_after.as_mut() {
                let take = (*left).min(chunk.len());
                *left -= take;
                chunk = &chunk[..take];
                if *left == 0 {
                    f.close_after = None;
                    last = true;
                }
            }
        }
        let hold = faults.delay + faults.jitter.mul_f64(rand_unit());
        if !hold.is_zero() {
            thread::sleep(hold);
        }
        if forward(&mut to, chunk, &faults).is_err() {
            break;
        }
        if last {
            c.ending.store(1, Ordering::SeqCst);
            c.generation.fetch_add(1, Ordering::SeqCst);
            break;
        }
    }
    // Ending for good: a reset closes with linger 0 (RST once both pumps
    // drop their handles); anything else with FIN.
    if ended() && c.ending.load(Ordering::SeqCst) == 2 {
        for s in [&from, &to] {
            let _ = socket2::SockRef::from(s).set_linger(Some(Duration::ZERO));
        }
    } else {
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    }
}

fn forward(to: &mut TcpStream, chunk: &[u8], f: &Faults) -> io::Result<()> {
    if f.dribble {
        for byte in chunk {
            to.write_all(std::slice::from_ref(byte))?;
            thread::sleep(Duration::from_millis(1));
        }
        return Ok(());
    }
    let Some(rate) = f.rate else {
        return to.write_all(chunk);
    };
    // Pieces of a twentieth of a second's worth, each followed by its time.
    let piece = (rate / 20).max(1) as usize;
    for part in chunk.chunks(piece) {
        to.write_all(part)?;
        thread::sleep(Duration::from_secs_f64(part.len() as f64 / rate as f64));
    }
    Ok(())
}

/// A uniform number in [0, 1), from the time: jitter needs no better.
fn rand_unit() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    // Scrambled, so that close calls do not give close values.
    let x = (nanos as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11;
    x as f64 / (1u64 << 53) as f64
}
