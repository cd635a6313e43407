//! Through a proxy: from the environment as curl reads it, or given.
//!
//!     http_proxy=http://127.0.0.1:3128 cargo run --example proxy
//!     cargo run --example proxy -- socks5h://127.0.0.1:1080
//!     cargo run --example proxy -- https://127.0.0.1:3129 proxy-ca.pem
//!
//! Connects to an embedded echo server on loopback (the proxy must be able
//! to reach it), sends one message and closes. With an argument, that
//! proxy is used whatever the environment says; without, `http_proxy`,
//! `all_proxy` and `no_proxy` decide. The `Connected` event says which
//! proxy carried the connection. A second argument names a PEM file of
//! the CA that signed an `https://` proxy's certificate, trusted for TLS to
//! the proxy only.

use lomond::{Event, TlsOptions, WebSocket};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = lomond_testkit::EchoServer::start()?;
    let mut ws = WebSocket::new(&format!("ws://{}/", server.addr()))?;
    if let Some(proxy) = std::env::args().nth(1) {
        ws = ws.proxy(&proxy);
    }
    if let Some(ca) = std::env::args().nth(2) {
        ws = ws.proxy_tls(TlsOptions::new().add_root_file(ca)?);
    }
    let sender = ws.sender();
    for event in ws {
        println!("{event}");
        match event {
            Event::Ready { .. } => sender.send_text("hello through the proxy")?,
            Event::Text(_) => sender.close(1000, "done")?,
            _ => {}
        }
    }
    Ok(())
}
