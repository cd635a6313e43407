//! TCP connect with a deadline across every resolved address.

use crate::error::ConnectError;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Resolves `host` and connects to the first address that answers, all
/// within `timeout`, DNS included. Nagle is turned off: WebSocket frames are
/// small writes that should go out at once.
pub fn connect(
    host: &str,
    port: u16,
    timeout: Option<Duration>,
) -> Result<(TcpStream, SocketAddr), ConnectError> {
    let start = Instant::now();
    let addrs = resolve(host, port, timeout)?;
    let mut last = None;
    for addr in addrs {
        let attempt = match timeout {
            Some(t) => {
                let left = t.saturating_sub(start.elapsed());
                if left.is_zero() {
                    return Err(ConnectError::Timeout(t));
                }
                TcpStream::connect_timeout(&addr, left)
            }
            None => TcpStream::connect(addr),
        };
        match attempt {
            Ok(stream) => {
                // Best effort: a socket that refuses the option still works.
                let _ = stream.set_nodelay(true);
                return Ok((stream, addr));
            }
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                last = Some((addr, e));
                if let Some(t) = timeout {
                    if start.elapsed() >= t {
                        return Err(ConnectError::Timeout(t));
                    }
                }
            }
            Err(e) => last = Some((addr, e)),
        }
    }
    let (addr, e) = last.expect("at least one address was tried");
    Err(ConnectError::Connect {
        addr: addr.to_string(),
        source: Arc::new(e),
    })
}

/// Looks `host` up. The system resolver can block far longer than any
/// sensible connect timeout, so with a timeout it runs on a helper thread
/// that is abandoned (and ends on its own) if the answer comes too late.
fn resolve(
    host: &str,
    port: u16,
    timeout: Option<Duration>,
) -> Result<Vec<SocketAddr>, ConnectError> {
    let fail = |e: io::Error| ConnectError::Resolve {
        host: host.to_owned(),
        source: Arc::new(e),
    };
    let addrs: Vec<SocketAddr> = if let Ok(ip) = host.parse::<IpAddr>() {
        vec![SocketAddr::new(ip, port)]
    } else if let Some(t) = timeout {
        let (tx, rx) = mpsc::channel();
        let name = host.to_owned();
        thread::Builder::new()
            .name("lomond-dns".into())
            .spawn(move || {
                let _ = tx.send((name.as_str(), port).to_socket_addrs().map(Vec::from_iter));
            })
            .map_err(fail)?;
        match rx.recv_timeout(t) {
            Ok(result) => result.map_err(fail)?,
            Err(_) => return Err(ConnectError::Timeout(t)),
        }
    } else {
        (host, port).to_socket_addrs().map_err(fail)?.collect()
    };
    if addrs.is_empty() {
        return Err(fail(io::Error::new(
            io::ErrorKind::NotFound,
            "no addresses",
        )));
    }
    Ok(addrs)
}

/// [`connect`] for tokio: DNS (tokio's resolver pool) and TCP connect, all
/// within `timeout`.
#[cfg(feature = "tokio")]
pub async fn connect_async(
    host: &str,
    port: u16,
    timeout: Option<Duration>,
) -> Result<(::tokio::net::TcpStream, SocketAddr), ConnectError> {
    let attempt = async {
        let fail = |e: io::Error| ConnectError::Resolve {
            host: host.to_owned(),
            source: Arc::new(e),
        };
        let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => ::tokio::net::lookup_host((host, port))
                .await
                .map_err(fail)?
                .collect(),
        };
        let mut last = None;
        for addr in addrs {
            match ::tokio::net::TcpStream::connect(addr).await {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    return Ok((stream, addr));
                }
                Err(e) => last = Some((addr, e)),
            }
        }
        Err(match last {
            Some((addr, e)) => ConnectError::Connect {
                addr: addr.to_string(),
                source: Arc::new(e),
            },
            None => fail(io::Error::new(io::ErrorKind::NotFound, "no addresses")),
        })
    };
    match timeout {
        Some(t) => ::tokio::time::timeout(t, attempt)
            .await
            .unwrap_or(Err(ConnectError::Timeout(t))),
        None => attempt.await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn connects_and_refuses() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (_, addr) = connect("127.0.0.1", port, Some(Duration::from_secs(5))).unwrap();
        assert_eq!(addr.port(), port);
        drop(listener);
        assert!(matches!(
            connect("127.0.0.1", port, Some(Duration::from_secs(5))),
            Err(ConnectError::Connect { .. })
        ));
        assert!(matches!(
            connect("no-such-host.invalid", 80, None),
            Err(ConnectError::Resolve { .. })
        ));
        assert!(matches!(
            connect("no-such-host.invalid", 80, Some(Duration::from_secs(30))),
            Err(ConnectError::Resolve { .. })
        ));
    }

    #[test]
    fn connect_times_out_when_the_server_never_answers() {
        // A listener whose accept queue is full drops further SYNs, so a
        // connect to it hangs: the loopback stand-in for a dead network.
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket
            .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
            .unwrap();
        socket.listen(0).unwrap();
        let addr = socket.local_addr().unwrap().as_socket().unwrap();
        let mut fillers = Vec::new();
        let timeout = Duration::from_millis(300);
        for _ in 0..8 {
            let start = Instant::now();
            match connect("127.0.0.1", addr.port(), Some(timeout)) {
                Ok((s, _)) => fillers.push(s),
                Err(ConnectError::Timeout(t)) => {
                    assert_eq!(t, timeout);
                    let took = start.elapsed();
                    // Only "it ended, and not early": without the timeout, SYN retries
                    // would go on for minutes.
                    assert!(
                        took >= timeout && took < Duration::from_secs(20),
                        "{took:?}"
                    );
                    return;
                }
                Err(e) => panic!("{e}"),
            }
        }
        panic!("the accept queue never filled");
    }
}
