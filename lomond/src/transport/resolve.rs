//! [`Resolver`]: the resolve stage, replaceable so that a test (or a device
//! with its own name service) can say which addresses a host has.
//!
//! The system resolver blocks, and can block far longer than any sensible
//! connect timeout. With a deadline a lookup runs off the caller's thread
//! (a helper thread, or tokio's blocking pool) and is abandoned if its
//! answer comes too late. Abandoned lookups end on their own, but a device
//! that reconnects against a dead name server would pile them up, so each
//! resolver allows [`MAX_LOOKUPS`] to run at once and refuses more with a
//! typed error until some finish.

use crate::error::{ConnectError, Stage};
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// Most lookups one [`Resolver`] runs at once (abandoned ones included).
pub const MAX_LOOKUPS: usize = 8;

/// Looks up a host's addresses. Implement it to replace the system resolver.
pub trait Resolve: Send + Sync + 'static {
    /// Every address of `host`, each with `port`, best first. May block.
    fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>>;
}

/// The operating system's resolver (`getaddrinfo`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        Ok((host, port).to_socket_addrs()?.collect())
    }
}

/// A shared handle on a [`Resolve`] implementation, as kept in
/// [`Options`](crate::Options).
#[derive(Clone)]
pub struct Resolver {
    inner: Arc<dyn Resolve>,
    /// Lookups running now, abandoned ones included.
    running: Arc<AtomicUsize>,
}

impl Resolver {
    /// A resolver that asks `resolve`.
    pub fn new(resolve: impl Resolve) -> Resolver {
        Resolver {
            inner: Arc::new(resolve),
            running: Arc::default(),
        }
    }

    /// The system resolver, one shared handle (and lookup limit) per process.
    pub fn system() -> Resolver {
        static SYSTEM: OnceLock<Resolver> = OnceLock::new();
        SYSTEM.get_or_init(|| Resolver::new(SystemResolver)).clone()
    }

    /// Every address of `host`, found by `deadline`. Address literals are
    /// not looked up.
    pub(crate) fn lookup(
        &self,
        host: &str,
        port: u16,
        deadline: Option<Instant>,
    ) -> Result<Vec<SocketAddr>, ConnectError> {
        if let Some(addr) = literal(host, port) {
            return Ok(vec![addr]);
        }
        let Some(deadline) = deadline else {
            return found(host, self.inner.resolve(host, port));
        };
        let lookup = self.start(host)?;
        let (tx, rx) = std::sync::mpsc::channel();
        let name = host.to_owned();
        std::thread::Builder::new()
            .name("lomond-dns".into())
            .spawn(move || {
                let _ = tx.send(lookup.run(&name, port));
            })
            .map_err(|e| resolve_error(host, e))?;
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(result) => found(host, result),
            Err(_) => Err(ConnectError::Timeout {
                stage: Stage::Resolve,
            }),
        }
    }

    /// [`lookup`](Self::lookup) on tokio's blocking pool; `deadline` is on
    /// tokio's clock.
    #[cfg(feature = "tokio")]
    pub(crate) async fn lookup_async(
        &self,
        host: &str,
        port: u16,
        deadline: Option<Instant>,
    ) -> Result<Vec<SocketAddr>, ConnectError> {
        if let Some(addr) = literal(host, port) {
            return Ok(vec![addr]);
        }
        let lookup = self.start(host)?;
        let name = host.to_owned();
        let task = ::tokio::task::spawn_blocking(move || lookup.run(&name, port));
        let result = match deadline {
            Some(d) => ::tokio::time::timeout_at(d.into(), task)
                .await
                .map_err(|_| ConnectError::Timeout {
                    stage: Stage::Resolve,
                })?,
            None => task.await,
        };
        let result = result.unwrap_or_else(|e| Err(io::Error::other(e.to_string())));
        found(host, result)
    }

    /// Counts a lookup in, or refuses it when too many are running.
    fn start(&self, host: &str) -> Result<Lookup, ConnectError> {
        let taken = self
            .running
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_LOOKUPS).then_some(n + 1)
            });
        if taken.is_err() {
            return Err(resolve_error(
                host,
                io::Error::other(format!("{MAX_LOOKUPS} earlier lookups have not finished")),
            ));
        }
        Ok(Lookup {
            inner: self.inner.clone(),
            running: self.running.clone(),
        })
    }
}

/// One counted lookup, run wherever it was sent; counted out when dropped.
struct Lookup {
    inner: Arc<dyn Resolve>,
    running: Arc<AtomicUsize>,
}

impl Lookup {
    fn run(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        self.inner.resolve(host, port)
    }
}

impl Drop for Lookup {
    fn drop(&mut self) {
        self.running.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An address literal needs no lookup.
fn literal(host: &str, port: u16) -> Option<SocketAddr> {
    host.parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, port))
}

fn resolve_error(host: &str, e: io::Error) -> ConnectError {
    ConnectError::Resolve {
        host: host.to_owned(),
        source: Arc::new(e),
    }
}

/// A lookup's answer, with no addresses as an error.
fn found(host: &str, result: io::Result<Vec<SocketAddr>>) -> Result<Vec<SocketAddr>, ConnectError> {
    match result {
        Ok(addrs) if addrs.is_empty() => Err(resolve_error(
            host,
            io::Error::new(io::ErrorKind::NotFound, "no addresses"),
        )),
        Ok(addrs) => Ok(addrs),
        Err(e) => Err(resolve_error(host, e)),
    }
}

impl Default for Resolver {
    fn default() -> Resolver {
        Resolver::system()
    }
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Resolver")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::sync::Mutex;
    use std::time::Duration;

    /// Blocks every lookup until the test lets it go.
    struct Stuck(Mutex<mpsc::Receiver<()>>);

    impl Resolve for Stuck {
        fn resolve(&self, _: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
            let _ = self.0.lock().unwrap().recv();
            Ok(vec![SocketAddr::from(([127, 0, 0, 1], port))])
        }
    }

    #[test]
    fn a_late_answer_times_out_and_abandoned_lookups_are_bounded() {
        let (release, rx) = mpsc::channel();
        let resolver = Resolver::new(Stuck(Mutex::new(rx)));
        let soon = || Some(Instant::now() + Duration::from_millis(20));
        for _ in 0..MAX_LOOKUPS {
            assert!(matches!(
                resolver.lookup("stuck.test", 80, soon()),
                Err(ConnectError::Timeout {
                    stage: Stage::Resolve
                })
            ));
        }
        // Every slot is held by an abandoned lookup: refused at once.
        let Err(ConnectError::Resolve { source, .. }) = resolver.lookup("stuck.test", 80, soon())
        else {
            panic!("not refused");
        };
        assert!(source.to_string().contains("have not finished"), "{source}");
        // Literals never need a lookup.
        assert_eq!(resolver.lookup("127.0.0.1", 9, soon()).unwrap().len(), 1);
        // Once the stuck lookups end, the slots come back.
        for _ in 0..MAX_LOOKUPS {
            release.send(()).unwrap();
        }
        let until = Instant::now() + Duration::from_secs(10);
        while resolver.running.load(Ordering::Acquire) > 0 {
            assert!(Instant::now() < until, "lookups never ended");
            std::thread::sleep(Duration::from_millis(5));
        }
        release.send(()).unwrap();
        let addrs = resolver.lookup("stuck.test", 81, soon()).unwrap();
        assert_eq!(addrs, [SocketAddr::from(([127, 0, 0, 1], 81))]);
    }

    #[test]
    fn an_empty_answer_is_a_resolve_error() {
        struct Nothing;
        impl Resolve for Nothing {
            fn resolve(&self, _: &str, _: u16) -> io::Result<Vec<SocketAddr>> {
                Ok(Vec::new())
            }
        }
        let resolver = Resolver::new(Nothing);
        assert!(matches!(
            resolver.lookup("empty.test", 80, None),
            Err(ConnectError::Resolve { .. })
        ));
    }
}
