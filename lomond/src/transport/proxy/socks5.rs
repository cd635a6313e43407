//! A SOCKS5 tunnel (RFC 1928), with no authentication or a username and
//! password (RFC 1929), sans-IO: the proxy's replies are parsed as they
//! arrive, every reply code is a typed error, and bytes after the last
//! reply are handed on.

use super::super::exchange::Next;
use super::Credentials;
use crate::error::ProxyError;
use std::net::IpAddr;

/// Where the tunnel goes: a name the proxy resolves (`socks5h://`), or an
/// address resolved here (`socks5://`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A host name, at most 255 bytes.
    Name(String),
    /// An IP address.
    Ip(IpAddr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Greeting sent: waiting for the method chosen.
    Method,
    /// Credentials sent: waiting for their verdict.
    Auth,
    /// Connect sent: waiting for the reply.
    Reply,
    Done,
}

/// One SOCKS5 handshake.
#[derive(Debug)]
pub struct Socks5 {
    state: State,
    destination: Destination,
    port: u16,
    auth: Option<Credentials>,
    out: Vec<u8>,
    input: Vec<u8>,
}

impl Socks5 {
    /// A tunnel to `destination:port`. Fails when a name or a credential
    /// is too long for the protocol (255 bytes).
    pub fn new(
        destination: Destination,
        port: u16,
        auth: Option<Credentials>,
    ) -> Result<Socks5, ProxyError> {
        if let Destination::Name(name) = &destination {
            if name.len() > 255 || name.is_empty() {
                return Err(ProxyError::HostTooLong);
            }
        }
        if let Some(a) = &auth {
            if a.user.len() > 255 || a.password.len() > 255 || a.user.is_empty() {
                return Err(ProxyError::InvalidUrl(
                    "SOCKS5 credentials must be 1 to 255 bytes".into(),
                ));
            }
        }
        // The greeting: version 5, the methods offered.
        let out = match auth {
            Some(_) => vec![5, 2, 0x00, 0x02],
            None => vec![5, 1, 0x00],
        };
        Ok(Socks5 {
            state: State::Method,
            destination,
            port,
            auth,
            out,
            input: Vec::new(),
        })
    }

    /// What it needs next.
    pub fn next(&self) -> Next {
        if !self.out.is_empty() {
            Next::Write
        } else if self.state == State::Done {
            Next::Done
        } else {
            Next::Read
        }
    }

    /// Appends what is to be sent to `out`.
    pub fn take_output(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.out);
    }

    /// Takes bytes from the proxy.
    pub fn feed(&mut self, input: &[u8]) -> Result<(), ProxyError> {
        self.input.extend_from_slice(input);
        loop {
            let used = match self.state {
                State::Method => self.method()?,
                State::Auth => self.auth()?,
                State::Reply => self.reply()?,
                State::Done => return Ok(()),
            };
            match used {
                Some(n) => {
                    self.input.drain(..n);
                }
                None => return Ok(()),
            }
        }
    }

    /// What came after the last reply.
    pub fn take_leftover(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.input)
    }

    fn method(&mut self) -> Result<Option<usize>, ProxyError> {
        let [version, method] = match self.input[..] {
            [v, m, ..] => [v, m],
            _ => return Ok(None),
        };
        if version != 5 {
            return Err(ProxyError::Malformed(format!("SOCKS version {version}")));
        }
        match (method, &self.auth) {
            (0x00, _) => self.send_connect(),
            (0x02, Some(a)) => {
                self.out.push(1);
                self.out.push(a.user.len() as u8);
                self.out.extend_from_slice(a.user.as_bytes());
                self.out.push(a.password.len() as u8);
                self.out.extend_from_slice(a.password.as_bytes());
                self.state = State::Auth;
            }
            (0xFF, _) => return Err(ProxyError::NoAcceptableMethod),
            (other, _) => {
                return Err(ProxyError::Malformed(format!(
                    "method {other:#04x}, which was not offered"
                )))
            }
        }
        Ok(Some(2))
    }

    fn auth(&mut self) -> Result<Option<usize>, ProxyError> {
        match self.input[..] {
            [_, 0, ..] => {
                self.send_connect();
                Ok(Some(2))
            }
            [_, _, ..] => Err(ProxyError::AuthFailed),
            _ => Ok(None),
        }
    }

    fn send_connect(&mut self) {
        self.out.extend_from_slice(&[5, 1, 0]);
        match &self.destination {
            Destination::Ip(IpAddr::V4(a)) => {
                self.out.push(1);
                self.out.extend_from_slice(&a.octets());
            }
            Destination::Ip(IpAddr::V6(a)) => {
                self.out.push(4);
                self.out.extend_from_slice(&a.octets());
            }
            Destination::Name(name) => {
                self.out.push(3);
                self.out.push(name.len() as u8);
                self.out.extend_from_slice(name.as_bytes());
            }
        }
        self.out.extend_from_slice(&self.port.to_be_bytes());
        self.state = State::Reply;
    }

    fn reply(&mut self) -> Result<Option<usize>, ProxyError> {
        let input = &self.input[..];
        if input.len() < 5 {
            return Ok(None);
        }
        if input[0] != 5 {
            return Err(ProxyError::Malformed(format!("SOCKS version {}", input[0])));
        }
        if input[1] != 0 {
            return Err(ProxyError::Socks { code: input[1] });
        }
        // The bound address, whose length its type gives, then the port.
        let address = match input[3] {
            1 => 4,
            4 => 16,
            3 => 1 + input[4] as usize,
            other => {
                return Err(ProxyError::Malformed(format!("address type {other}")));
            }
        };
        let end = 4 + address + 2;
        if input.len() < end {
            return Ok(None);
        }
        self.state = State::Done;
        Ok(Some(end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(s: &mut Socks5) -> Vec<u8> {
        let mut out = Vec::new();
        s.take_output(&mut out);
        out
    }

    #[test]
    fn no_auth_to_a_name_resolved_by_the_proxy() {
        let mut s = Socks5::new(Destination::Name("example.com".into()), 443, None).unwrap();
        assert_eq!(out(&mut s), [5, 1, 0]);
        s.feed(&[5, 0]).unwrap();
        let mut expected = vec![5, 1, 0, 3, 11];
        expected.extend_from_slice(b"example.com");
        expected.extend_from_slice(&[1, 187]);
        assert_eq!(out(&mut s), expected);
        // The reply in two pieces, with the tunnel's first bytes after it.
        s.feed(&[5, 0, 0, 1, 10]).unwrap();
        assert_eq!(s.next(), Next::Read);
        s.feed(&[0, 0, 1, 0x1f, 0x90, 0x16]).unwrap();
        assert_eq!(s.next(), Next::Done);
        assert_eq!(s.take_leftover(), [0x16]);
    }

    #[test]
    fn username_and_password_then_an_ipv6_address() {
        let auth = Credentials {
            user: "u".into(),
            password: "pw".into(),
        };
        let ip: IpAddr = "::1".parse().unwrap();
        let mut s = Socks5::new(Destination::Ip(ip), 80, Some(auth)).unwrap();
        assert_eq!(out(&mut s), [5, 2, 0, 2]);
        s.feed(&[5, 2]).unwrap();
        assert_eq!(out(&mut s), [1, 1, b'u', 2, b'p', b'w']);
        s.feed(&[1, 0]).unwrap();
        let request = out(&mut s);
        assert_eq!(request[..4], [5, 1, 0, 4]);
        assert_eq!(request.len(), 4 + 16 + 2);
        let mut reply = vec![5, 0, 0, 3, 4];
        reply.extend_from_slice(b"host\x00\x50");
        s.feed(&reply).unwrap();
        assert_eq!(s.next(), Next::Done);
    }

    #[test]
    fn every_refusal_is_typed() {
        let name = || Destination::Name("h".into());
        let mut s = Socks5::new(name(), 1, None).unwrap();
        assert!(matches!(
            s.feed(&[5, 0xFF]),
            Err(ProxyError::NoAcceptableMethod)
        ));
        let mut s = Socks5::new(name(), 1, None).unwrap();
        assert!(matches!(s.feed(&[4, 0]), Err(ProxyError::Malformed(_))));
        let mut s = Socks5::new(name(), 1, None).unwrap();
        assert!(matches!(s.feed(&[5, 2]), Err(ProxyError::Malformed(_))));
        let auth = Some(Credentials {
            user: "u".into(),
            password: "p".into(),
        });
        let mut s = Socks5::new(name(), 1, auth).unwrap();
        assert!(matches!(s.feed(&[5, 2, 1, 1]), Err(ProxyError::AuthFailed)));
        for code in 1..=9u8 {
            let mut s = Socks5::new(name(), 1, None).unwrap();
            let e = s
                .feed(&[5, 0, 5, code, 0, 1, 0, 0, 0, 0, 0, 0])
                .unwrap_err();
            assert!(matches!(e, ProxyError::Socks { code: c } if c == code));
            assert!(!e.to_string().is_empty());
        }
        let e = ProxyError::Socks { code: 5 };
        assert_eq!(
            e.to_string(),
            "the SOCKS5 proxy refused: connection refused"
        );
        assert!(matches!(
            Socks5::new(Destination::Name("a".repeat(256)), 1, None),
            Err(ProxyError::HostTooLong)
        ));
    }
}
