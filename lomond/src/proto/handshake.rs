//! The opening handshake (RFC 6455 §4): the client's upgrade request, the
//! server's answer, and the checks that make a 101 response trustworthy.
//!
//! Parsing is httparse over a bounded buffer: a header block that has not
//! ended within the configured limit is an error, never a growing buffer.

use super::deflate::{self, DeflateConfig, DeflateParams};
use crate::error::{HandshakeError, OptionError};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use sha1::{Digest, Sha1};

/// The GUID of RFC 6455 §1.3, appended to the key to form the accept value.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Most header lines parsed in a handshake message.
pub const MAX_HEADERS: usize = 100;

/// Headers the handshake itself sets; a user header may not replace them.
const MANAGED_HEADERS: &[&str] = &[
    "host",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-accept",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
    "content-length",
    "transfer-encoding",
];

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`.
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(GUID.as_bytes());
    BASE64.encode(sha.finalize())
}

/// A `Sec-WebSocket-Key` from 16 random bytes.
pub fn encode_key(nonce: [u8; 16]) -> String {
    BASE64.encode(nonce)
}

/// What the client asks for in its upgrade request.
#[derive(Debug, Clone, Default)]
pub struct ClientRequest {
    /// `Host` header value: host, with `:port` when not the scheme's default.
    pub host: String,
    /// Request target: path and query, e.g. `/chat?room=1`.
    pub resource: String,
    /// `Origin` header, if any.
    pub origin: Option<String>,
    /// Subprotocols offered, in order of preference.
    pub protocols: Vec<String>,
    /// Extension offers, each a full `Sec-WebSocket-Extensions` element
    /// (set by the connection from its configuration: only extensions lomond
    /// implements may be offered).
    pub extensions: Vec<String>,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// `User-Agent` header, if any.
    pub user_agent: Option<String>,
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn is_header_value(s: &str) -> bool {
    HeaderValue::from_str(s).is_ok()
}

impl ClientRequest {
    /// Checks every field is safe to put on the wire, so a header value can
    /// never smuggle a line break into the request.
    pub fn validate(&self) -> Result<(), OptionError> {
        if !is_header_value(&self.host) || self.host.is_empty() {
            return Err(OptionError::Host(self.host.clone()));
        }
        if !self.resource.starts_with('/') || !self.resource.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(OptionError::Resource(self.resource.clone()));
        }
        for p in &self.protocols {
            if !is_token(p) {
                return Err(OptionError::ProtocolNotToken(p.clone()));
            }
        }
        for (i, p) in self.protocols.iter().enumerate() {
            if self.protocols[..i].contains(p) {
                return Err(OptionError::ProtocolTwice(p.clone()));
            }
        }
        for e in &self.extensions {
            if !is_header_value(e) {
                return Err(OptionError::Extension(e.clone()));
            }
        }
        for v in self.origin.iter().chain(self.user_agent.iter()) {
            if !is_header_value(v) {
                return Err(OptionError::HeaderValue(v.clone()));
            }
        }
        for (name, value) in &self.headers {
            if HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(OptionError::HeaderName(name.clone()));
            }
            if MANAGED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                return Err(OptionError::ManagedHeader(name.clone()));
            }
            if !is_header_value(value) {
                return Err(OptionError::ValueOfHeader(name.clone()));
            }
        }
        Ok(())
    }

    /// Appends the HTTP/1.1 upgrade request with `key` to `out`.
    pub fn encode(&self, key: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(b"GET ");
        out.extend_from_slice(self.resource.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        let mut line = |name: &str, value: &str| {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        };
        line("Host", &self.host);
        line("Upgrade", "websocket");
        line("Connection", "Upgrade");
        line("Sec-WebSocket-Key", key);
        line("Sec-WebSocket-Version", "13");
        if let Some(origin) = &self.origin {
            line("Origin", origin);
        }
        if !self.protocols.is_empty() {
            line("Sec-WebSocket-Protocol", &self.protocols.join(", "));
        }
        if !self.extensions.is_empty() {
            line("Sec-WebSocket-Extensions", &self.extensions.join(", "));
        }
        if let Some(agent) = &self.user_agent {
            line("User-Agent", agent);
        }
        for (name, value) in &self.headers {
            line(name, value);
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// An HTTP response received in the handshake.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Header fields.
    pub headers: HeaderMap,
    /// Body (only for rejections; bounded by the configured limit).
    pub body: Bytes,
}

impl std::fmt::Debug for Response {
    /// Everything but the body in full: a rejection's body (often a whole
    /// HTML page) shows as its length and first 64 bytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        struct Body<'a>(&'a [u8]);
        impl std::fmt::Debug for Body<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let shown = &self.0[..self.0.len().min(64)];
                write!(f, "{} bytes", self.0.len())?;
                if !shown.is_empty() {
                    write!(f, " {:?}", String::from_utf8_lossy(shown))?;
                    if shown.len() < self.0.len() {
                        f.write_str("...")?;
                    }
                }
                Ok(())
            }
        }
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("reason", &self.reason)
            .field("headers", &self.headers)
            .field("body", &Body(&self.body))
            .finish()
    }
}

impl Response {
    /// The status code, as the `http` crate types it (`response.status()`
    /// as with tokio-tungstenite; the `status` field holds the number).
    pub fn status(&self) -> http::StatusCode {
        // Parsed responses always have a three-digit code.
        http::StatusCode::from_u16(self.status).unwrap_or(http::StatusCode::BAD_GATEWAY)
    }

    /// The header fields.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body (a rejection's, bounded by `max_rejected_body`).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The first value of header `name` as text, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl From<Response> for http::Response<Bytes> {
    /// The `http` crate's response, for code that takes one (as
    /// tokio-tungstenite hands out); the reason phrase is left out, as
    /// `http` keeps none.
    fn from(response: Response) -> http::Response<Bytes> {
        let status = response.status();
        let mut out = http::Response::new(response.body);
        *out.status_mut() = status;
        *out.headers_mut() = response.headers;
        out
    }
}

/// An HTTP request received in the handshake (server role).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Method, `GET` for an upgrade.
    pub method: String,
    /// Request target.
    pub path: String,
    /// Header fields.
    pub headers: HeaderMap,
}

fn header_map(raw: &[httparse::Header<'_>]) -> Result<HeaderMap, HandshakeError> {
    let mut map = HeaderMap::with_capacity(raw.len());
    for h in raw {
        let name = HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|_| HandshakeError::Malformed(format!("header name {:?}", h.name)))?;
        let value = HeaderValue::from_bytes(h.value)
            .map_err(|_| HandshakeError::Malformed(format!("value of header {:?}", h.name)))?;
        map.append(name, value);
    }
    Ok(map)
}

fn parse_error(e: httparse::Error) -> HandshakeError {
    match e {
        httparse::Error::TooManyHeaders => HandshakeError::TooManyHeaders { limit: MAX_HEADERS },
        other => HandshakeError::Malformed(other.to_string()),
    }
}

/// The length of a parsed head, `None` if incomplete, or the error; a head
/// still incomplete with `max` bytes buffered is too large.
fn head_length(
    parsed: httparse::Result<usize>,
    buffered: usize,
    max: usize,
) -> Result<Option<usize>, HandshakeError> {
    match parsed.map_err(parse_error)? {
        httparse::Status::Complete(n) => Ok(Some(n)),
        httparse::Status::Partial if buffered >= max => {
            Err(HandshakeError::HeadersTooLarge { limit: max })
        }
        httparse::Status::Partial => Ok(None),
    }
}

/// Parses a response head from `buf`, looking at no more than `max` bytes.
/// Returns the response (empty body) and the bytes its head took, or
/// `Ok(None)` when more input is needed.
pub fn parse_response(buf: &[u8], max: usize) -> Result<Option<(Response, usize)>, HandshakeError> {
    let window = &buf[..buf.len().min(max)];
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let Some(n) = head_length(resp.parse(window), buf.len(), max)? else {
        return Ok(None);
    };
    let response = Response {
        status: resp.code.unwrap_or_default(),
        reason: resp.reason.unwrap_or_default().to_owned(),
        headers: header_map(resp.headers)?,
        body: Bytes::new(),
    };
    Ok(Some((response, n)))
}

/// Parses a request head (server role), as [`parse_response`] does.
pub fn parse_request(buf: &[u8], max: usize) -> Result<Option<(Request, usize)>, HandshakeError> {
    let window = &buf[..buf.len().min(max)];
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let Some(n) = head_length(req.parse(window), buf.len(), max)? else {
        return Ok(None);
    };
    let request = Request {
        method: req.method.unwrap_or_default().to_owned(),
        path: req.path.unwrap_or_default().to_owned(),
        headers: header_map(req.headers)?,
    };
    Ok(Some((request, n)))
}

/// The comma-separated elements of every `name` header, trimmed, non-empty.
fn list_values<'a>(headers: &'a HeaderMap, name: &str) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn has_token(headers: &HeaderMap, name: &str, token: &str) -> bool {
    list_values(headers, name).any(|v| v.eq_ignore_ascii_case(token))
}

/// The outcome of a valid upgrade: the subprotocol and extensions in force.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Agreement {
    /// The subprotocol the server chose.
    pub protocol: Option<String>,
    /// The extensions in force, as the server wrote them.
    pub extensions: Vec<String>,
    /// The permessage-deflate parameters, when it was negotiated.
    pub deflate: Option<DeflateParams>,
}

/// Checks a 101 response against the request that was sent: the accept key,
/// the upgrade headers, that any subprotocol in it was offered, and that the
/// only extension is permessage-deflate, offered (as `deflate`) and answered
/// within RFC 7692.
pub fn validate_response(
    response: &Response,
    key: &str,
    request: &ClientRequest,
    deflate: Option<&DeflateConfig>,
) -> Result<Agreement, HandshakeError> {
    if response.status != 101 {
        return Err(HandshakeError::Status {
            status: response.status,
        });
    }
    if !has_token(&response.headers, "upgrade", "websocket") {
        return Err(HandshakeError::MissingUpgrade);
    }
    if !has_token(&response.headers, "connection", "upgrade") {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    let mut accepts = response.headers.get_all("sec-websocket-accept").iter();
    match (accepts.next(), accepts.next()) {
        (Some(v), None) if v.as_bytes() == accept_key(key).as_bytes() => {}
        _ => return Err(HandshakeError::AcceptMismatch),
    }
    let mut protocols = list_values(&response.headers, "sec-websocket-protocol");
    let protocol = match (protocols.next(), protocols.next()) {
        (None, _) => None,
        (Some(p), None) => {
            if !request.protocols.iter().any(|o| o == p) {
                return Err(HandshakeError::UnexpectedProtocol(p.to_owned()));
            }
            Some(p.to_owned())
        }
        (Some(_), Some(_)) => return Err(HandshakeError::MultipleProtocols),
    };
    let mut agreement = Agreement {
        protocol,
        ..Agreement::default()
    };
    for element in list_values(&response.headers, "sec-websocket-extensions") {
        let (name, params) = deflate::split_element(element);
        match (name, deflate) {
            ("permessage-deflate", Some(offer)) => {
                if agreement.deflate.is_some() {
                    return Err(HandshakeError::InvalidExtension(
                        "permessage-deflate answered twice".into(),
                    ));
                }
                agreement.deflate = Some(offer.accept_response(params)?);
            }
            _ => return Err(HandshakeError::UnexpectedExtension(element.to_owned())),
        }
        agreement.extensions.push(element.to_owned());
    }
    Ok(agreement)
}

/// Server role: checks an upgrade request and builds the 101 answer,
/// choosing the first of the client's subprotocols that `supported` lists,
/// and, with `deflate`, accepting the first permessage-deflate offer whose
/// parameters are valid.
pub fn accept_request(
    request: &Request,
    supported: &[String],
    deflate: bool,
) -> Result<(Vec<u8>, Agreement), HandshakeError> {
    if request.method != "GET" {
        return Err(HandshakeError::BadRequest("method is not GET"));
    }
    if !has_token(&request.headers, "upgrade", "websocket") {
        return Err(HandshakeError::MissingUpgrade);
    }
    if !has_token(&request.headers, "connection", "upgrade") {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    if request
        .headers
        .get("sec-websocket-version")
        .map(|v| v.as_bytes())
        != Some(b"13")
    {
        return Err(HandshakeError::BadRequest(
            "Sec-WebSocket-Version is not 13",
        ));
    }
    let key = request
        .headers
        .get("sec-websocket-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| BASE64.decode(k).map(|d| d.len() == 16).unwrap_or(false))
        .ok_or(HandshakeError::BadRequest(
            "missing or invalid Sec-WebSocket-Key",
        ))?;
    let protocol = list_values(&request.headers, "sec-websocket-protocol")
        .find(|p| supported.iter().any(|s| s == p))
        .map(str::to_owned);
    let compression = list_values(&request.headers, "sec-websocket-extensions")
        .map(deflate::split_element)
        .filter(|(name, _)| deflate && *name == "permessage-deflate")
        .find_map(|(_, params)| deflate::answer_offer(params));
    let mut out = Vec::with_capacity(160);
    out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ");
    out.extend_from_slice(accept_key(key).as_bytes());
    out.extend_from_slice(b"\r\n");
    if let Some(p) = &protocol {
        out.extend_from_slice(b"Sec-WebSocket-Protocol: ");
        out.extend_from_slice(p.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let Some((answer, _)) = &compression {
        out.extend_from_slice(b"Sec-WebSocket-Extensions: ");
        out.extend_from_slice(answer.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    let (extensions, deflate) = match compression {
        Some((answer, params)) => (vec![answer], Some(params)),
        None => (Vec::new(), None),
    };
    Ok((
        out,
        Agreement {
            protocol,
            extensions,
            deflate,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn request() -> ClientRequest {
        ClientRequest {
            host: "server.example.com".into(),
            resource: "/chat".into(),
            protocols: vec!["chat".into(), "superchat".into()],
            ..Default::default()
        }
    }

    fn response(extra: &str) -> Response {
        let raw = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n{extra}\r\n"
        );
        parse_response(raw.as_bytes(), 16384).unwrap().unwrap().0
    }

    const ACCEPT: &str = "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";

    #[test]
    fn rfc_accept_key() {
        assert_eq!(accept_key(KEY), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(encode_key(*b"the sample nonce"), KEY);
    }

    #[test]
    fn request_bytes() {
        let mut r = request();
        r.origin = Some("http://example.com".into());
        r.user_agent = Some("lomond-test".into());
        r.headers.push(("X-Token".into(), "abc".into()));
        let mut out = Vec::new();
        r.encode(KEY, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\nOrigin: http://example.com\r\n\
             Sec-WebSocket-Protocol: chat, superchat\r\nUser-Agent: lomond-test\r\n\
             X-Token: abc\r\n\r\n"
        );
    }

    #[test]
    fn request_validation() {
        assert!(request().validate().is_ok());
        let bad = |f: &dyn Fn(&mut ClientRequest)| {
            let mut r = request();
            f(&mut r);
            r.validate().unwrap_err()
        };
        // The value of a custom header is never quoted back (it may be a
        // credential); only its name.
        assert_eq!(
            bad(&|r| r.headers.push(("X".into(), "secret\r\nEvil: 1".into()))),
            OptionError::ValueOfHeader("X".into())
        );
        assert_eq!(
            bad(&|r| r.headers.push(("Bad Name".into(), "a".into()))),
            OptionError::HeaderName("Bad Name".into())
        );
        assert_eq!(
            bad(&|r| r.headers.push(("sec-websocket-key".into(), "a".into()))),
            OptionError::ManagedHeader("sec-websocket-key".into())
        );
        assert_eq!(
            bad(&|r| r.protocols.push("two words".into())),
            OptionError::ProtocolNotToken("two words".into())
        );
        assert_eq!(
            bad(&|r| r.protocols.push("chat".into())),
            OptionError::ProtocolTwice("chat".into())
        );
        assert_eq!(
            bad(&|r| r.origin = Some("x\ny".into())),
            OptionError::HeaderValue("x\ny".into())
        );
        assert_eq!(
            bad(&|r| r.resource = "/a b".into()),
            OptionError::Resource("/a b".into())
        );
        bad(&|r| r.resource = "a".into());
        bad(&|r| r.host = "h\r\n".into());
    }

    #[test]
    fn valid_upgrade() {
        let a = validate_response(&response(ACCEPT), KEY, &request(), None).unwrap();
        assert_eq!(a, Agreement::default());
        let r = response(&format!("{ACCEPT}Sec-WebSocket-Protocol: chat\r\n"));
        let a = validate_response(&r, KEY, &request(), None).unwrap();
        assert_eq!(a.protocol.as_deref(), Some("chat"));
        // Header names and token values are case-insensitive.
        let raw = "HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nconnection: keep-alive, UPGRADE\r\n\
                   sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        let r = parse_response(raw.as_bytes(), 1024).unwrap().unwrap().0;
        assert!(validate_response(&r, KEY, &request(), None).is_ok());
    }

    #[test]
    fn upgrade_rejections() {
        let check = |r: Response, e: HandshakeError| {
            assert_eq!(validate_response(&r, KEY, &request(), None), Err(e));
        };
        check(response(""), HandshakeError::AcceptMismatch);
        check(
            response("Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n"),
            HandshakeError::AcceptMismatch,
        );
        check(
            response(&format!("{ACCEPT}{ACCEPT}")),
            HandshakeError::AcceptMismatch,
        );
        check(
            response(&format!("{ACCEPT}Sec-WebSocket-Protocol: other\r\n")),
            HandshakeError::UnexpectedProtocol("other".into()),
        );
        check(
            response(&format!(
                "{ACCEPT}Sec-WebSocket-Protocol: chat, superchat\r\n"
            )),
            HandshakeError::MultipleProtocols,
        );
        check(
            response(&format!(
                "{ACCEPT}Sec-WebSocket-Extensions: permessage-deflate\r\n"
            )),
            HandshakeError::UnexpectedExtension("permessage-deflate".into()),
        );
        let raw = format!("HTTP/1.1 101 OK\r\nConnection: Upgrade\r\n{ACCEPT}\r\n");
        let r = parse_response(raw.as_bytes(), 1024).unwrap().unwrap().0;
        check(r, HandshakeError::MissingUpgrade);
        let raw = format!("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n{ACCEPT}\r\n");
        let r = parse_response(raw.as_bytes(), 1024).unwrap().unwrap().0;
        check(r, HandshakeError::MissingConnectionUpgrade);
        let raw = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
        let r = parse_response(raw.as_bytes(), 1024).unwrap().unwrap().0;
        assert_eq!(r.reason, "Forbidden");
        check(r, HandshakeError::Status { status: 403 });
    }

    #[test]
    fn offered_deflate_is_accepted_and_checked() {
        let offer = DeflateConfig::default();
        let r = response(&format!(
            "{ACCEPT}Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n"
        ));
        let a = validate_response(&r, KEY, &request(), Some(&offer)).unwrap();
        assert_eq!(
            a.extensions,
            vec!["permessage-deflate; server_no_context_takeover"]
        );
        assert!(a.deflate.unwrap().server_no_context_takeover);
        for bad in [
            "permessage-deflate, permessage-deflate",
            "permessage-deflate; server_max_window_bits=20",
            "x-webkit-deflate-frame",
        ] {
            let r = response(&format!("{ACCEPT}Sec-WebSocket-Extensions: {bad}\r\n"));
            assert!(
                validate_response(&r, KEY, &request(), Some(&offer)).is_err(),
                "{bad}"
            );
        }
        // Without an offer, even permessage-deflate is unexpected.
        let r = response(&format!(
            "{ACCEPT}Sec-WebSocket-Extensions: permessage-deflate\r\n"
        ));
        assert_eq!(
            validate_response(&r, KEY, &request(), None),
            Err(HandshakeError::UnexpectedExtension(
                "permessage-deflate".into()
            ))
        );
    }

    #[test]
    fn parse_limits_and_partials() {
        let raw = format!("HTTP/1.1 101 Switching Protocols\r\n{ACCEPT}\r\n");
        for cut in 0..raw.len() {
            assert_eq!(parse_response(&raw.as_bytes()[..cut], 1024).unwrap(), None);
        }
        let (_, n) = parse_response(raw.as_bytes(), 1024).unwrap().unwrap();
        assert_eq!(n, raw.len());
        // An endless header block fails at the limit.
        let endless = format!("HTTP/1.1 101 OK\r\n{}", "X-A: b\r\n".repeat(100));
        assert_eq!(
            parse_response(&endless.as_bytes()[..200], 200),
            Err(HandshakeError::HeadersTooLarge { limit: 200 })
        );
        let many = format!("HTTP/1.1 101 OK\r\n{}\r\n", "X-A: b\r\n".repeat(101));
        assert_eq!(
            parse_response(many.as_bytes(), 16384),
            Err(HandshakeError::TooManyHeaders { limit: MAX_HEADERS })
        );
        assert!(matches!(
            parse_response(b"NOTHTTP\r\n\r\n", 1024),
            Err(HandshakeError::Malformed(_))
        ));
    }

    #[test]
    fn server_accepts_own_client_request() {
        let mut out = Vec::new();
        request().encode(KEY, &mut out);
        let (req, n) = parse_request(&out, 16384).unwrap().unwrap();
        assert_eq!(n, out.len());
        let (answer, agreement) = accept_request(&req, &["superchat".into()], false).unwrap();
        assert_eq!(agreement.protocol.as_deref(), Some("superchat"));
        let (resp, _) = parse_response(&answer, 16384).unwrap().unwrap();
        let a = validate_response(&resp, KEY, &request(), None).unwrap();
        assert_eq!(a.protocol.as_deref(), Some("superchat"));
    }

    #[test]
    fn server_rejections() {
        let req = |raw: &str| parse_request(raw.as_bytes(), 1024).unwrap().unwrap().0;
        let ok = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n";
        assert!(accept_request(
            &req(&format!(
                "GET / HTTP/1.1\r\n{ok}Sec-WebSocket-Key: {KEY}\r\n\r\n"
            )),
            &[],
            false
        )
        .is_ok());
        for raw in [
            format!("POST / HTTP/1.1\r\n{ok}Sec-WebSocket-Key: {KEY}\r\n\r\n"),
            format!("GET / HTTP/1.1\r\n{ok}\r\n"),
            format!("GET / HTTP/1.1\r\n{ok}Sec-WebSocket-Key: c2hvcnQ=\r\n\r\n"),
            format!("GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n\r\n"),
        ] {
            assert!(accept_request(&req(&raw), &[], false).is_err(), "{raw}");
        }
    }

    #[test]
    fn a_response_debug_shows_the_body_short() {
        let page = format!("<html>{}</html>", "x".repeat(10_000));
        let response = Response {
            status: 503,
            reason: "Service Unavailable".into(),
            headers: Default::default(),
            body: Bytes::from(page),
        };
        let debug = format!("{response:?}");
        assert!(debug.len() < 300, "{debug}");
        assert!(debug.contains("status: 503") && debug.contains("body: 10013 bytes \"<html>xxx"));
        assert!(debug.contains("xxx\"..."), "{debug}");
        let empty = Response {
            body: Bytes::new(),
            ..response
        };
        assert!(format!("{empty:?}").contains("body: 0 bytes }"));
        assert_eq!(empty.status(), http::StatusCode::SERVICE_UNAVAILABLE);
        assert!(empty.headers().is_empty() && empty.body().is_empty());
    }

    #[test]
    fn a_response_converts_to_the_http_crates() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("7"));
        let ours = Response {
            status: 429,
            reason: "Too Many Requests".into(),
            headers,
            body: Bytes::from_static(b"slow down"),
        };
        let theirs: http::Response<Bytes> = ours.into();
        assert_eq!(theirs.status(), http::StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(theirs.headers()["retry-after"], "7");
        assert_eq!(theirs.body(), "slow down");
    }
}
