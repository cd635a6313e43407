//! The TCP stage: every resolved address raced by Happy Eyeballs
//! ([`Race`]), within the connect deadline, for either driver. The blocking
//! driver races on threads (one per address tried; a single address is
//! tried on the caller's thread), tokio on futures. Attempts that lose are
//! dropped, which closes their sockets.

use super::race::Race;
use crate::error::{ConnectError, Stage};
use crate::options::Options;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::{mpsc, Arc};
use std::time::Instant;

/// Connects to `host`, resolving it with the options' resolver, by
/// `deadline`.
pub(crate) fn connect(
    host: &str,
    port: u16,
    options: &Options,
    deadline: Option<Instant>,
) -> Result<(TcpStream, SocketAddr), ConnectError> {
    let addrs = options.resolver.lookup(host, port, deadline)?;
    let stream = if let [addr] = addrs[..] {
        attempt(addr, deadline)
            .map(|s| (s, addr))
            .map_err(|e| attempt_error(addr, e, deadline))?
    } else {
        race(Race::new(addrs, options.happy_eyeballs_delay), deadline)?
    };
    configure(socket2::SockRef::from(&stream.0), options);
    Ok(stream)
}

fn race(
    mut race: Race,
    deadline: Option<Instant>,
) -> Result<(TcpStream, SocketAddr), ConnectError> {
    let (tx, rx) = mpsc::channel();
    loop {
        let now = Instant::now();
        while let Some(addr) = race.poll_start(now) {
            let tx = tx.clone();
            let spawned = std::thread::Builder::new()
                .name("lomond-connect".into())
                .spawn(move || {
                    // A loser's stream is dropped here: the race is over.
                    let _ = tx.send((addr, attempt(addr, deadline)));
                });
            if let Err(e) = spawned {
                race.failed(addr, e);
            }
        }
        if race.is_lost() {
            let (addr, e) = race.take_error();
            return Err(attempt_error(addr, e, deadline));
        }
        let wake = earliest(race.next_deadline(), deadline);
        let got = match wake {
            Some(at) => rx.recv_timeout(at.saturating_duration_since(now)),
            None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
        };
        match got {
            Ok((addr, Ok(stream))) => return Ok((stream, addr)),
            Ok((addr, Err(e))) => race.failed(addr, e),
            Err(_) if deadline.is_some_and(|d| Instant::now() >= d) => {
                return Err(ConnectError::Timeout {
                    stage: Stage::Connect,
                })
            }
            // The next attempt is due.
            Err(_) => {}
        }
    }
}

/// One TCP connect, given what is left of the deadline.
fn attempt(addr: SocketAddr, deadline: Option<Instant>) -> io::Result<TcpStream> {
    match deadline {
        Some(d) => {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            TcpStream::connect_timeout(&addr, left)
        }
        None => TcpStream::connect(addr),
    }
}

/// The error for a failed attempt: a timeout once the deadline is spent,
/// otherwise what the address said.
fn attempt_error(addr: SocketAddr, e: io::Error, deadline: Option<Instant>) -> ConnectError {
    let spent = deadline.is_some_and(|d| Instant::now() >= d);
    if spent && e.kind() == io::ErrorKind::TimedOut {
        ConnectError::Timeout {
            stage: Stage::Connect,
        }
    } else {
        ConnectError::Connect {
            addr: addr.to_string(),
            source: Arc::new(e),
        }
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Nagle off (WebSocket frames are small writes that should go out at
/// once) and keepalive as configured. Best effort: a socket that refuses an
/// option still works.
fn configure(socket: socket2::SockRef<'_>, options: &Options) {
    let _ = socket.set_tcp_nodelay(true);
    if let Some(idle) = options.tcp_keepalive {
        let _ = socket.set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(idle));
    }
}

/// [`connect`] for tokio: the lookup on tokio's blocking pool, the race on
/// futures; `deadline` is on tokio's clock.
#[cfg(feature = "tokio")]
pub(crate) async fn connect_async(
    host: &str,
    port: u16,
    options: &Options,
    deadline: Option<Instant>,
) -> Result<(::tokio::net::TcpStream, SocketAddr), ConnectError> {
    use futures_util::stream::{FuturesUnordered, StreamExt};
    use std::future::Future;
    use std::task::Poll;

    let now = || ::tokio::time::Instant::now().into_std();
    let addrs = options.resolver.lookup_async(host, port, deadline).await?;
    let mut race = Race::new(addrs, options.happy_eyeballs_delay);
    let mut attempts = FuturesUnordered::new();
    let mut sleep = Box::pin(::tokio::time::sleep(std::time::Duration::ZERO));
    let stream = loop {
        while let Some(addr) = race.poll_start(now()) {
            attempts.push(async move { (addr, ::tokio::net::TcpStream::connect(addr).await) });
        }
        if race.is_lost() {
            let (addr, e) = race.take_error();
            return Err(attempt_error(addr, e, None));
        }
        let wake = earliest(race.next_deadline(), deadline);
        if let Some(at) = wake {
            sleep.as_mut().reset(at.into());
        }
        let next = std::future::poll_fn(|cx| {
            if let Poll::Ready(Some(done)) = attempts.poll_next_unpin(cx) {
                return Poll::Ready(Some(done));
            }
            match wake {
                Some(_) => sleep.as_mut().poll(cx).map(|()| None),
                None => Poll::Pending,
            }
        })
        .await;
        match next {
            Some((addr, Ok(stream))) => break (stream, addr),
            Some((addr, Err(e))) => race.failed(addr, e),
            None if deadline.is_some_and(|d| now() >= d) => {
                return Err(ConnectError::Timeout {
                    stage: Stage::Connect,
                })
            }
            None => {}
        }
    };
    configure(socket2::SockRef::from(&stream.0), options);
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::resolve::{Resolve, Resolver};
    use std::net::TcpListener;
    use std::time::Duration;

    /// Answers every lookup with the same addresses.
    struct Fixed(Vec<SocketAddr>);

    impl Resolve for Fixed {
        fn resolve(&self, _: &str, _: u16) -> io::Result<Vec<SocketAddr>> {
            Ok(self.0.clone())
        }
    }

    fn options_with(addrs: Vec<SocketAddr>) -> Options {
        Options {
            resolver: Resolver::new(Fixed(addrs)),
            ..Options::default()
        }
    }

    fn assert_connect_timeout<S: std::fmt::Debug>(result: Result<S, ConnectError>) {
        assert!(
            matches!(
                result,
                Err(ConnectError::Timeout {
                    stage: Stage::Connect
                })
            ),
            "{result:?}"
        );
    }

    fn within(d: Duration) -> Option<Instant> {
        Some(Instant::now() + d)
    }

    /// A listener whose accept queue is full: further SYNs are dropped, so a
    /// connect to it hangs, the loopback stand-in for a black-holed route.
    /// Keep all three alive while it is needed.
    pub(crate) fn black_hole() -> (socket2::Socket, SocketAddr, Vec<TcpStream>) {
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket
            .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
            .unwrap();
        socket.listen(0).unwrap();
        let addr = socket.local_addr().unwrap().as_socket().unwrap();
        let mut fillers = Vec::new();
        for _ in 0..8 {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
                Ok(s) => fillers.push(s),
                Err(e) if e.kind() == io::ErrorKind::TimedOut => return (socket, addr, fillers),
                Err(e) => panic!("{e}"),
            }
        }
        panic!("the accept queue never filled");
    }

    #[test]
    fn connects_and_refuses() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let o = Options::default();
        let (_, addr) = connect("127.0.0.1", port, &o, within(Duration::from_secs(5))).unwrap();
        assert_eq!(addr.port(), port);
        drop(listener);
        assert!(matches!(
            connect("127.0.0.1", port, &o, within(Duration::from_secs(5))),
            Err(ConnectError::Connect { .. })
        ));
        assert!(matches!(
            connect("no-such-host.invalid", 80, &o, None),
            Err(ConnectError::Resolve { .. })
        ));
        assert!(matches!(
            connect(
                "no-such-host.invalid",
                80,
                &o,
                within(Duration::from_secs(30))
            ),
            Err(ConnectError::Resolve { .. })
        ));
    }

    #[test]
    fn connect_times_out_when_the_server_never_answers() {
        let (_hole, addr, _fillers) = black_hole();
        let o = Options::default();
        let timeout = Duration::from_millis(300);
        let start = Instant::now();
        let result = connect("127.0.0.1", addr.port(), &o, within(timeout));
        assert_connect_timeout(result);
        // Only "it ended, and not early": without the deadline, SYN
        // retries would go on for minutes.
        let took = start.elapsed();
        assert!(
            took >= timeout && took < Duration::from_secs(20),
            "{took:?}"
        );
    }

    #[test]
    fn a_black_holed_first_address_loses_the_race_to_a_live_one() {
        let (_hole, dead, _fillers) = black_hole();
        let live = TcpListener::bind("127.0.0.1:0").unwrap();
        let live_addr = live.local_addr().unwrap();
        let o = options_with(vec![dead, live_addr]);
        // Tried one after the other, the first would spend the whole
        // deadline and the connect would time out.
        let (_, addr) = connect("dual.test", 1, &o, within(Duration::from_secs(10))).unwrap();
        assert_eq!(addr, live_addr);
    }

    #[test]
    fn refused_addresses_are_passed_over_and_the_last_error_reported() {
        let refused = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let live = TcpListener::bind("127.0.0.1:0").unwrap();
        let live_addr = live.local_addr().unwrap();
        let o = options_with(vec![refused, live_addr]);
        let (_, addr) = connect("x.test", 1, &o, within(Duration::from_secs(10))).unwrap();
        assert_eq!(addr, live_addr);
        let o = options_with(vec![refused, refused]);
        let Err(ConnectError::Connect { addr, source }) =
            connect("x.test", 1, &o, within(Duration::from_secs(10)))
        else {
            panic!("connected to nothing");
        };
        assert_eq!(addr, refused.to_string());
        assert_eq!(source.kind(), io::ErrorKind::ConnectionRefused);
    }

    #[cfg(feature = "tokio")]
    #[tokio::test]
    async fn the_tokio_race_also_passes_over_a_black_hole() {
        let (_hole, dead, _fillers) = black_hole();
        let live = TcpListener::bind("127.0.0.1:0").unwrap();
        let live_addr = live.local_addr().unwrap();
        let o = options_with(vec![dead, live_addr]);
        let (_, addr) = connect_async("dual.test", 1, &o, within(Duration::from_secs(10)))
            .await
            .unwrap();
        assert_eq!(addr, live_addr);
        let o = options_with(vec![dead]);
        let result = connect_async("dead.test", 1, &o, within(Duration::from_millis(300))).await;
        assert_connect_timeout(result);
    }
}
