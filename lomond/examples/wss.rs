//! wss:// with a CA of your own, and mutual TLS.
//!
//!     cargo run --example wss                  # against an embedded TLS echo server
//!     cargo run --example wss -- wss://host/   # against yours, trusting the system's store
//!
//! With no URL, a throwaway CA is made, an echo server behind rustls is
//! started on loopback with a certificate from it (demanding a client
//! certificate from the same CA), and the client trusts that CA alone and
//! presents a client certificate. With a URL, the defaults apply: the
//! operating system's trust store, no client certificate.

use lomond::{Event, TlsOptions, WebSocket};
use lomond_testkit::tls::server_config;
use lomond_testkit::{Ca, TlsEchoServer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut server = None;
    let (url, tls) = match std::env::args().nth(1) {
        Some(url) => (url, TlsOptions::new()),
        None => {
            let ca = Ca::new("example CA");
            let served = TlsEchoServer::start(server_config(&ca.server(&["localhost"]), Some(&ca)));
            let client = ca.client();
            let tls = TlsOptions::new()
                .only_added_roots()
                .add_root_pem(ca.cert_pem().as_bytes())?
                .client_cert_pem(client.cert_pem.as_bytes(), client.key_pem.as_bytes())?;
            let url = served.url("localhost");
            server = Some(served);
            (url, tls)
        }
    };
    let ws = WebSocket::new(&url)?.tls(tls);
    let sender = ws.sender();
    for event in ws {
        println!("{event}");
        match event {
            Event::Ready { .. } => sender.send_text("hello over TLS")?,
            Event::Text(_) => sender.close(1000, "done")?,
            _ => {}
        }
    }
    drop(server);
    Ok(())
}
