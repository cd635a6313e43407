//! [`PeerProgress`]: whether the server's TCP is taking our bytes, as a
//! sign of life while our own pings wait behind a large send.
//!
//! The ping timeout declares the server unresponsive when nothing has
//! arrived for that long. But a ping can be answered only once it is out,
//! and on a slow uplink it waits behind whatever was sent before it: a
//! 1 MiB message at 256 kbit/s holds the pings back for 33 s, and with a
//! 2 s timeout both drivers cut a healthy upload off 2 s in
//! (tests/netlab.rs). So at the unresponsive deadline a driver asks the
//! kernel (`TCP_INFO`) whether the server acknowledged new bytes since the
//! last look while more of ours is still outstanding; if so, the server is
//! alive and the deadline moves on.
//!
//! Only bytes acknowledged while ours are still outstanding count: once
//! everything (our latest ping too) is acknowledged, a server whose kernel
//! answers but whose application does not is still found unresponsive. A
//! server that stops reading during our upload fills its window; then
//! nothing more is acknowledged and the timeout runs as usual. A black hole
//! acknowledges nothing at all.
//!
//! Linux only; elsewhere there is no progress to see and the timeout
//! counts input alone.

use super::lowat::Socket;

/// The acknowledged-bytes count at the last look, for one socket.
#[derive(Debug, Default)]
pub(crate) struct PeerProgress {
    /// None before the first look.
    acked: Option<u64>,
}

impl PeerProgress {
    /// Whether the server's TCP acknowledged bytes since the last call
    /// while some of ours are still unacknowledged or unsent (never on the
    /// first call, which only takes the count).
    #[cfg(target_os = "linux")]
    pub(crate) fn advanced(&mut self, socket: &impl Socket) -> bool {
        let Some(info) = TcpInfo::read(socket) else {
            return false;
        };
        let before = self.acked.replace(info.bytes_acked);
        before.is_some_and(|before| info.bytes_acked > before)
            && (info.unacked > 0 || info.notsent_bytes > 0)
    }

    /// No progress to see on this system.
    #[cfg(not(target_os = "linux"))]
    pub(crate) fn advanced(&mut self, _socket: &impl Socket) -> bool {
        false
    }
}

/// Acts on a connection's deadline at `now`: when the server's TCP (`tcp`,
/// where the transport is TCP underneath) took our bytes since the last
/// deadline, that counts as input at `now`, before the deadline is acted
/// on. With a ping timeout every deadline (a ping, a poll) takes a look,
/// so an acknowledgement is credited at most one ping interval late, and
/// the flow may stall for the ping timeout less that interval (TCP's loss
/// recovery on a capped link stalls for seconds) before the server is
/// declared unresponsive. Shared by both drivers.
pub(crate) fn on_deadline<S: Socket>(
    core: &mut crate::proto::Connection,
    progress: &mut PeerProgress,
    tcp: Option<&S>,
    now: std::time::Instant,
) {
    if let Some(tcp) = tcp.filter(|_| core.config().ping_timeout.is_some()) {
        if progress.advanced(tcp) {
            core.peer_took_data(now);
        }
    }
    core.handle_timeout(now);
}

/// The three fields of Linux's `struct tcp_info` this needs.
#[cfg(target_os = "linux")]
#[derive(Debug, PartialEq)]
struct TcpInfo {
    /// Segments sent and not yet acknowledged (`tcpi_unacked`).
    unacked: u32,
    /// Bytes acknowledged over the connection's life (`tcpi_bytes_acked`,
    /// Linux 4.1).
    bytes_acked: u64,
    /// Bytes written by us and not yet sent (`tcpi_notsent_bytes`, 4.6).
    notsent_bytes: u32,
}

#[cfg(target_os = "linux")]
impl TcpInfo {
    // Offsets in the kernel's struct tcp_info (include/uapi/linux/tcp.h),
    // which only ever grows at its end: 8 bytes of u8 fields, then u32s,
    // then the u64 counters.
    const UNACKED: usize = 24;
    const BYTES_ACKED: usize = 120;
    const NOTSENT_BYTES: usize = 144;
    #[cfg(test)]
    const LEN: usize = Self::NOTSENT_BYTES + 4;

    /// Asks the kernel; `None` when it is too old to say, or not TCP.
    fn read(socket: &impl Socket) -> Option<TcpInfo> {
        use std::os::fd::AsRawFd;
        let mut buf = [0u8; 256];
        let mut len = buf.len() as libc::socklen_t;
        // SAFETY: the descriptor is borrowed from a live socket; the kernel
        // writes at most `len` bytes into `buf`, which outlives the call,
        // and stores how many it wrote in `len`.
        #[allow(unsafe_code)]
        let r = unsafe {
            libc::getsockopt(
                socket.as_fd().as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_INFO,
                buf.as_mut_ptr().cast(),
                &mut len,
            )
        };
        if r != 0 {
            return None;
        }
        Self::parse(&buf[..(len as usize).min(buf.len())])
    }

    /// The fields from the bytes the kernel wrote, in native byte order.
    fn parse(bytes: &[u8]) -> Option<TcpInfo> {
        let u32_at = |at: usize| Some(u32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
        let u64_at = |at: usize| Some(u64::from_ne_bytes(bytes.get(at..at + 8)?.try_into().ok()?));
        Some(TcpInfo {
            unacked: u32_at(Self::UNACKED)?,
            bytes_acked: u64_at(Self::BYTES_ACKED)?,
            notsent_bytes: u32_at(Self::NOTSENT_BYTES)?,
        })
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::{Duration, Instant};

    /// The offsets agree with the libc crate's own `tcp_info` layout.
    #[test]
    #[cfg(any(target_env = "gnu", target_env = "musl"))]
    fn offsets_match_libc() {
        use std::mem::offset_of;
        assert_eq!(offset_of!(libc::tcp_info, tcpi_unacked), TcpInfo::UNACKED);
        assert_eq!(
            offset_of!(libc::tcp_info, tcpi_bytes_acked),
            TcpInfo::BYTES_ACKED
        );
        assert_eq!(
            offset_of!(libc::tcp_info, tcpi_notsent_bytes),
            TcpInfo::NOTSENT_BYTES
        );
    }

    #[test]
    fn parse_reads_the_fields_and_refuses_short_input() {
        let mut bytes = vec![0u8; TcpInfo::LEN];
        bytes[24..28].copy_from_slice(&3u32.to_ne_bytes());
        bytes[120..128].copy_from_slice(&123_456u64.to_ne_bytes());
        bytes[144..148].copy_from_slice(&77u32.to_ne_bytes());
        assert_eq!(
            TcpInfo::parse(&bytes),
            Some(TcpInfo {
                unacked: 3,
                bytes_acked: 123_456,
                notsent_bytes: 77
            })
        );
        assert_eq!(TcpInfo::parse(&bytes[..TcpInfo::LEN - 1]), None);
    }

    /// Writes to `client` until the kernel takes no more: the peer's
    /// window and our send buffer are full.
    fn fill_window(client: &TcpStream) {
        client.set_nonblocking(true).unwrap();
        let chunk = vec![7u8; 1 << 20];
        let mut sent = 0;
        while sent < 64 << 20 {
            match (&*client).write(&chunk) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
    }

    /// Progress shows while the peer takes a large send and we still have
    /// bytes outstanding, and not once everything is acknowledged.
    #[test]
    fn progress_is_acknowledged_bytes_with_more_outstanding() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let mut progress = PeerProgress::default();
        // Idle, everything acknowledged: no progress.
        assert!(!progress.advanced(&client));
        // A tiny write, acknowledged at once: the peer's kernel took it,
        // but nothing is outstanding, so it is no sign of the peer's life.
        (&client).write_all(b"ping").unwrap();
        let mut four = [0u8; 4];
        server.read_exact(&mut four).unwrap();
        let until = Instant::now() + Duration::from_secs(5);
        while TcpInfo::read(&client).unwrap().unacked > 0 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(!progress.advanced(&client));
        // More than the peer's window: part is acknowledged, the rest waits.
        fill_window(&client);
        let mut sink = vec![0u8; 1 << 16];
        server.read_exact(&mut sink).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert!(progress.advanced(&client));
        // Nothing more read by the peer: no more progress.
        std::thread::sleep(Duration::from_millis(50));
        assert!(!progress.advanced(&client));
    }

    /// An acknowledgement seen at a deadline that is not yet the
    /// unresponsive one counts then: a stall that follows it (TCP's loss
    /// recovery, seconds on a capped link) does not cut the upload off at
    /// the next deadline, and the timeout runs from that look.
    #[test]
    fn an_acknowledgement_counts_at_the_look_that_sees_it() {
        use crate::proto::{tests::open_client, Config, Event};
        let s = Duration::from_secs;
        let ms = Duration::from_millis;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let config = Config {
            ping_rate: Some(s(1)),
            ping_timeout: Some(s(2)),
            poll: None,
            ..Config::default()
        };
        let t0 = Instant::now();
        let mut core = open_client(config, t0);
        let mut progress = PeerProgress::default();
        // A large send fills the peer's window.
        fill_window(&client);
        let unresponsive = |core: &mut crate::proto::Connection| {
            std::iter::from_fn(|| core.poll_event()).any(|e| matches!(e, Event::Unresponsive))
        };
        // The first look only takes the count.
        on_deadline(&mut core, &mut progress, Some(&client), t0 + s(1));
        // The peer takes some, seen at a look 1.5 s in, before the 2 s
        // deadline.
        let mut sink = vec![0u8; 1 << 16];
        server.read_exact(&mut sink).unwrap();
        std::thread::sleep(ms(50));
        on_deadline(&mut core, &mut progress, Some(&client), t0 + ms(1500));
        // Then the flow stalls: 2.5 s in, nothing new, yet alive, for the
        // timeout runs from the look at 1.5 s.
        std::thread::sleep(ms(50));
        on_deadline(&mut core, &mut progress, Some(&client), t0 + ms(2500));
        assert!(!unresponsive(&mut core));
        assert_eq!(core.next_deadline(), Some(t0 + ms(3500)));
        on_deadline(&mut core, &mut progress, Some(&client), t0 + ms(3500));
        assert!(unresponsive(&mut core));
    }
}
