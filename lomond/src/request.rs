//! [`IntoClientRequest`]: what names a WebSocket to connect to: a URL as
//! `&str`, `String`, `url::Url` or `http::Uri`, an `http::Request` whose
//! headers go into the handshake, or a configured [`WebSocket`]. As
//! tokio-tungstenite's trait of that name, so `connect_async(request)`
//! ports unchanged.

use crate::error::{ConnectError, OptionError};
use crate::websocket::WebSocket;

/// Something `connect_async` (and [`WebSocket::from_request`]) can
/// connect to.
pub trait IntoClientRequest {
    /// The WebSocket it names, with its options.
    fn into_websocket(self) -> Result<WebSocket, ConnectError>;

    /// The handshake request as an `http::Request`, to add headers to
    /// before connecting, as with tungstenite:
    ///
    /// ```
    /// use lomond::IntoClientRequest;
    ///
    /// let mut request = "ws://127.0.0.1:9001/feed".into_client_request()?;
    /// request
    ///     .headers_mut()
    ///     .insert("authorization", "Bearer t0ken".parse()?);
    /// // lomond::aio::connect_async(request).await? sends it.
    /// let ws = lomond::WebSocket::from_request(request)?;
    /// assert_eq!(ws.options().headers[0].0, "authorization");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// It holds the URI and the headers lomond sends besides its own
    /// handshake headers (`Sec-WebSocket-Protocol`, `Origin`,
    /// `User-Agent`, custom ones). Transport options of a [`WebSocket`]
    /// (TLS, proxy, timeouts, limits) are not headers and do not survive
    /// the trip: configure those on the `WebSocket` instead.
    fn into_client_request(self) -> Result<http::Request<()>, ConnectError>
    where
        Self: Sized,
    {
        http_request(&self.into_websocket()?)
    }
}

/// A WebSocket's URI and headers as an `http::Request`.
fn http_request(ws: &WebSocket) -> Result<http::Request<()>, ConnectError> {
    let invalid = ConnectError::InvalidOption;
    let options = ws.options();
    let mut request = http::Request::get(ws.url());
    if !options.protocols.is_empty() {
        request = request.header("sec-websocket-protocol", options.protocols.join(", "));
    }
    if let Some(origin) = &options.origin {
        request = request.header("origin", origin);
    }
    if let Some(agent) = &options.user_agent {
        request = request.header("user-agent", agent);
    }
    let mut request = request
        .body(())
        .map_err(|_| invalid(OptionError::HeaderValue(String::new())))?;
    let headers = request.headers_mut();
    for (name, value) in &options.headers {
        let name = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid(OptionError::HeaderName(name.clone())))?;
        let value = http::HeaderValue::from_str(value)
            .map_err(|_| invalid(OptionError::ValueOfHeader(name.to_string())))?;
        headers.append(name, value);
    }
    Ok(request)
}

impl IntoClientRequest for WebSocket {
    fn into_websocket(self) -> Result<WebSocket, ConnectError> {
        Ok(self)
    }
}

impl IntoClientRequest for &str {
    fn into_websocket(self) -> Result<WebSocket, ConnectError> {
        WebSocket::new(self)
    }
}

impl IntoClientRequest for String {
    fn into_websocket(self) -> Result<WebSocket, ConnectError> {
        WebSocket::new(&self)
    }
}

impl IntoClientRequest for &String {
    fn into_websocket(self) -> Result<WebSocket, ConnectError> {
        WebSocket::new(self)
    }
}

impl IntoClientRequest for url::Url {
    fn into_websocket(self) -> Result<WebSocket, ConnectError> {
        WebSocket::new(self.as_str())
    }
}

impl IntoClientRequest for &url::Url {
    fn into_websocket(self) -> Result<WebSocket, ConnectError> {
        WebSocket::new(self.as_str())
    }
}

impl IntoClientRequest for http::Uri {
    fn into_websocket(self) -> Result<WebSocket, ConnectError> {
        WebSocket::new(&self.to_string())
    }
}

/// Headers the handshake writes itself: a request built by
/// tokio-tungstenite's `into_client_request` carries them, and they are
/// left out here (`Host` comes from the URI).
const HANDSHAKE_HEADERS: [&str; 6] = [
    "host",
    "connection",
    "upgrade",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
];

impl<B> IntoClientRequest for http::Request<B> {
    /// The URI, and the headers: `Sec-WebSocket-Protocol` offers its
    /// subprotocols, `Origin` and `User-Agent` set those, the handshake's
    /// own are left out, and the rest are sent as they are. The method
    /// must be GET; the body is ignored.
    fn into_websocket(self) -> Result<WebSocket, ConnectError> {
        if self.method() != http::Method::GET {
            return Err(ConnectError::InvalidOption(OptionError::Method(
                self.method().to_string(),
            )));
        }
        let mut ws = WebSocket::new(&self.uri().to_string())?;
        for (name, value) in self.headers() {
            let name = name.as_str();
            if HANDSHAKE_HEADERS.contains(&name) {
                continue;
            }
            let value = value.to_str().map_err(|_| {
                ConnectError::InvalidOption(OptionError::ValueOfHeader(name.to_owned()))
            })?;
            ws = match name {
                "sec-websocket-protocol" => value
                    .split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .fold(ws, |ws, p| ws.protocol(p)),
                "origin" => ws.origin(value),
                "user-agent" => ws.user_agent(Some(value)),
                _ => ws.header(name, value),
            };
        }
        Ok(ws)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_of_every_kind_and_requests_with_headers() {
        let url = "ws://example.com:9001/feed";
        for ws in [
            url.into_websocket(),
            url.to_owned().into_websocket(),
            (&url.to_owned()).into_websocket(),
            url::Url::parse(url).unwrap().into_websocket(),
            url.parse::<http::Uri>().unwrap().into_websocket(),
        ] {
            assert_eq!(ws.unwrap().url(), url);
        }
        let request = http::Request::builder()
            .uri(url)
            .header("Authorization", "Bearer t0ken")
            .header("Sec-WebSocket-Protocol", "chat, superchat")
            .header("Origin", "https://example.com")
            .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("Sec-WebSocket-Version", "13")
            .header("Host", "example.com:9001")
            .body(())
            .unwrap();
        let ws = request.into_websocket().unwrap();
        let o = ws.options();
        assert_eq!(o.protocols, ["chat", "superchat"]);
        assert_eq!(o.origin.as_deref(), Some("https://example.com"));
        assert_eq!(
            o.headers,
            [("authorization".to_owned(), "Bearer t0ken".to_owned())]
        );
        // The credential shows nowhere in Debug; nor does one in a URL.
        let debug = format!("{ws:?}");
        assert!(
            !debug.contains("t0ken") && debug.contains("authorization"),
            "{debug}"
        );
        let with_password = WebSocket::new("ws://alice:s3cret@example.com/").unwrap();
        assert!(!format!("{with_password:?}").contains("s3cret"));
        let post = http::Request::post(url).body(()).unwrap();
        assert!(matches!(
            post.into_websocket(),
            Err(ConnectError::InvalidOption(OptionError::Method(m))) if m == "POST"
        ));
        let bad = http::Request::get(url)
            .header("x-bin", http::HeaderValue::from_bytes(b"\xff").unwrap())
            .body(())
            .unwrap();
        assert!(bad.into_websocket().is_err());
        assert!("example.com".into_websocket().is_err());
    }

    /// `into_client_request` and back keeps the URI and every header.
    #[test]
    fn a_request_made_here_round_trips() {
        let ws = WebSocket::new("wss://alice:pw@example.com/feed?q=1")
            .unwrap()
            .protocol("chat")
            .protocol("superchat")
            .origin("https://example.com")
            .header("Authorization", "Bearer t0ken")
            .header("X-Trace", "1");
        let mut request = ws.into_client_request().unwrap();
        assert_eq!(request.uri(), "wss://alice:pw@example.com/feed?q=1");
        let h = request.headers();
        assert_eq!(h["sec-websocket-protocol"], "chat, superchat");
        assert_eq!(h["origin"], "https://example.com");
        assert!(h["user-agent"].to_str().unwrap().starts_with("lomond-rs/"));
        request
            .headers_mut()
            .insert("x-added", http::HeaderValue::from_static("yes"));
        let back = WebSocket::from_request(request).unwrap();
        let o = back.options();
        assert_eq!(o.protocols, ["chat", "superchat"]);
        assert_eq!(o.origin.as_deref(), Some("https://example.com"));
        assert!(o.user_agent.as_deref().unwrap().starts_with("lomond-rs/"));
        let headers: Vec<_> = o
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            headers,
            [
                ("authorization", "Bearer t0ken"),
                ("x-trace", "1"),
                ("x-added", "yes")
            ]
        );
        assert_eq!(back.url(), "wss://alice:pw@example.com/feed?q=1");
        // A plain URL gives a bare GET with lomond's User-Agent.
        let plain = "ws://example.com/".into_client_request().unwrap();
        assert_eq!(plain.method(), http::Method::GET);
        assert_eq!(plain.headers().len(), 1);
    }
}
