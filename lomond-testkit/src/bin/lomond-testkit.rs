//! Test components for the scripts that run real servers:
//!
//!   lomond-testkit certs DIR    a CA, another CA, and certificates in DIR
//!   lomond-testkit echo PORT    lomond's echo server on 127.0.0.1:PORT
//!
//! `certs` writes ca.pem, server.pem/.key (localhost and 127.0.0.1),
//! expired.pem/.key, wrong-host.pem/.key (elsewhere.test), unknown.pem/.key
//! (from another CA), client.pem/.key (for mutual TLS, from ca.pem).

use lomond_testkit::{Ca, EchoServer};
use std::path::Path;

fn write(dir: &Path, name: &str, identity: &lomond_testkit::tls::Identity) {
    std::fs::write(dir.join(format!("{name}.pem")), &identity.cert_pem).unwrap();
    std::fs::write(dir.join(format!("{name}.key")), &identity.key_pem).unwrap();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("certs") => {
            let dir = Path::new(args.get(2).expect("certs DIR"));
            std::fs::create_dir_all(dir).unwrap();
            let (ca, other) = (Ca::new("lomond test CA"), Ca::new("an unknown CA"));
            std::fs::write(dir.join("ca.pem"), ca.cert_pem()).unwrap();
            write(dir, "server", &ca.server(&["localhost", "127.0.0.1"]));
            write(
                dir,
                "expired",
                &ca.expired_server(&["localhost", "127.0.0.1"]),
            );
            write(dir, "wrong-host", &ca.server(&["elsewhere.test"]));
            write(dir, "unknown", &other.server(&["localhost", "127.0.0.1"]));
            write(dir, "client", &ca.client());
        }
        Some("echo") => {
            let port: u16 = args.get(2).and_then(|p| p.parse().ok()).expect("echo PORT");
            let server = EchoServer::bind(&format!("127.0.0.1:{port}")).unwrap();
            eprintln!("echo server on {}", server.addr());
            loop {
                std::thread::park();
            }
        }
        _ => {
            eprintln!("usage: lomond-testkit certs DIR | echo PORT");
            std::process::exit(2);
        }
    }
}
