//! An HTTP CONNECT tunnel (RFC 9110 §9.3.6), sans-IO: the request out,
//! the proxy's answer in, bounded, and whatever came after it handed on.

use super::super::exchange::Next;
use super::Credentials;
use crate::error::ProxyError;
use base64::Engine;

/// The most a proxy's answer may take, headers and all.
pub const MAX_ANSWER: usize = 16 * 1024;

/// One CONNECT handshake.
#[derive(Debug)]
pub struct HttpConnect {
    request: Vec<u8>,
    answer: Vec<u8>,
    /// Bytes after the answer, once it is complete and a 2xx.
    leftover: Option<Vec<u8>>,
}

impl HttpConnect {
    /// A CONNECT to `host:port`, with Basic credentials when given.
    pub fn new(host: &str, port: u16, auth: Option<&Credentials>) -> HttpConnect {
        let authority = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let mut request =
            format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n").into_bytes();
        if let Some(auth) = auth {
            let token = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", auth.user, auth.password));
            request.extend_from_slice(format!("Proxy-Authorization: Basic {token}\r\n").as_bytes());
        }
        request.extend_from_slice(b"\r\n");
        HttpConnect {
            request,
            answer: Vec::new(),
            leftover: None,
        }
    }

    /// What it needs next.
    pub fn next(&self) -> Next {
        if !self.request.is_empty() {
            Next::Write
        } else if self.leftover.is_none() {
            Next::Read
        } else {
            Next::Done
        }
    }

    /// Appends the request to `out` (once).
    pub fn take_output(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.request);
    }

    /// Takes bytes of the proxy's answer; done on a 2xx, a typed error on
    /// anything else or on an answer over [`MAX_ANSWER`].
    pub fn feed(&mut self, input: &[u8]) -> Result<(), ProxyError> {
        self.answer.extend_from_slice(input);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&self.answer) {
            Ok(httparse::Status::Partial) => {
                if self.answer.len() > MAX_ANSWER {
                    return Err(ProxyError::TooLarge { limit: MAX_ANSWER });
                }
                Ok(())
            }
            Ok(httparse::Status::Complete(end)) => {
                if end > MAX_ANSWER {
                    return Err(ProxyError::TooLarge { limit: MAX_ANSWER });
                }
                match response.code {
                    Some(200..=299) => {
                        self.leftover = Some(self.answer.split_off(end));
                        Ok(())
                    }
                    Some(status @ (401 | 407)) => Err(ProxyError::AuthRequired { status }),
                    Some(status) => Err(ProxyError::Status { status }),
                    None => Err(ProxyError::Malformed("no status".into())),
                }
            }
            Err(e) => Err(ProxyError::Malformed(e.to_string())),
        }
    }

    /// What came after the answer: the next stage's first bytes.
    pub fn take_leftover(&mut self) -> Vec<u8> {
        self.leftover.take().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(text: &[u8]) -> Result<HttpConnect, ProxyError> {
        let mut c = HttpConnect::new("example.com", 443, None);
        c.take_output(&mut Vec::new());
        c.feed(text).map(|()| c)
    }

    #[test]
    fn the_request_names_the_target_and_carries_basic_credentials() {
        let auth = Credentials {
            user: "aladdin".into(),
            password: "open sesame".into(),
        };
        let mut c = HttpConnect::new("::1", 8080, Some(&auth));
        assert_eq!(c.next(), Next::Write);
        let mut out = Vec::new();
        c.take_output(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "CONNECT [::1]:8080 HTTP/1.1\r\nHost: [::1]:8080\r\n\
             Proxy-Authorization: Basic YWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n"
        );
        assert_eq!(c.next(), Next::Read);
    }

    #[test]
    fn a_2xx_opens_the_tunnel_and_hands_on_what_followed() {
        let mut c = answer(b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03").unwrap();
        assert_eq!(c.next(), Next::Done);
        assert_eq!(c.take_leftover(), b"\x16\x03");
        // In pieces, byte by byte.
        let mut c = HttpConnect::new("h", 1, None);
        c.take_output(&mut Vec::new());
        for b in b"HTTP/1.0 200 OK\r\nVia: x\r\n\r\n" {
            assert_eq!(c.next(), Next::Read);
            c.feed(&[*b]).unwrap();
        }
        assert_eq!(c.next(), Next::Done);
        assert!(c.take_leftover().is_empty());
    }

    #[test]
    fn refusals_are_typed() {
        let e = answer(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n").unwrap_err();
        assert!(matches!(e, ProxyError::AuthRequired { status: 407 }));
        let e = answer(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope!").unwrap_err();
        assert!(matches!(e, ProxyError::Status { status: 403 }));
        let e = answer(b"SSH-2.0-OpenSSH\r\n").unwrap_err();
        assert!(matches!(e, ProxyError::Malformed(_)));
    }

    #[test]
    fn an_endless_answer_is_cut_at_the_limit() {
        let mut c = answer(b"HTTP/1.1 200 OK\r\n").unwrap();
        let header = b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
        let mut fed = 0;
        let e = loop {
            match c.feed(header) {
                Ok(()) => fed += header.len(),
                Err(e) => break e,
            }
            assert!(fed <= MAX_ANSWER + header.len());
        };
        assert!(matches!(e, ProxyError::TooLarge { .. }) || matches!(e, ProxyError::Malformed(_)));
    }
}
