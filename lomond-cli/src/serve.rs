//! `lomond serve`: lomond-testkit's echo server on loopback, for demos and
//! tests. It echoes text and binary messages, offers subprotocol `chat`,
//! and closes with code N when sent the text `close:N`.

use crate::exit::Status;
use crate::output::Printer;
use serde_json::json;

/// Serves until interrupted; prints the URL first.
pub fn run(port: u16, compress: bool, printer: &Printer) -> Status {
    let server = match lomond_testkit::EchoServer::bind_with(&format!("127.0.0.1:{port}"), compress)
    {
        Ok(server) => server,
        Err(e) => {
            printer.error(&format!("cannot listen on 127.0.0.1:{port}: {e}"));
            return Status::Other;
        }
    };
    let url = server.url();
    let (tx, rx) = std::sync::mpsc::channel();
    let _ = ctrlc::set_handler(move || {
        let _ = tx.send(());
    });
    printer.note(
        "listening",
        json!({ "url": url, "compress": compress, "text": format!("listening on {url}") }),
    );
    let _ = rx.recv();
    printer.note(
        "stopping",
        json!({ "connections": server.connections(), "text": format!("stopping after {} connections", server.connections()) }),
    );
    drop(server);
    Status::Clean
}
