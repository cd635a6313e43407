//! TCP connect with a deadline across every resolved address.

use crate::error::ConnectError;
use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Resolves `host` and connects to the first address that answers, all
/// within `timeout` (DNS resolution itself is the system resolver's and is
/// not interrupted). Nagle is turned off: WebSocket frames are small writes
/// that should go out at once.
pub fn connect(
    host: &str,
    port: u16,
    timeout: Option<Duration>,
) -> Result<(TcpStream, SocketAddr), ConnectError> {
    let start = Instant::now();
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| ConnectError::Resolve {
            host: host.to_owned(),
            source: Arc::new(e),
        })?
        .collect();
    if addrs.is_empty() {
        return Err(ConnectError::Resolve {
            host: host.to_owned(),
            source: Arc::new(io::Error::new(io::ErrorKind::NotFound, "no addresses")),
        });
    }
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
    }
}
