//! wss:// against nginx terminating TLS in front of lomond's echo server,
//! both drivers. Run by scripts/tls.sh, which installs and starts nginx
//! with certificates made for the run; the tests are ignored under a
//! plain `cargo test` and fail, not skip, when nginx is not there.

#[allow(dead_code)]
mod common;
#[allow(dead_code)]
mod tls_common;

use common::{names, ws};
use lomond::{Event, TlsError, TlsOptions, WebSocket};
use std::path::PathBuf;
use tls_common::{assert_echo_session, both, tls_failure};

/// nginx's first port and the certificates' folder, from scripts/tls.sh.
fn setup() -> (u16, PathBuf) {
    let port = std::env::var("LOMOND_NGINX_PORT")
        .expect("LOMOND_NGINX_PORT unset: run scripts/tls.sh")
        .parse()
        .unwrap();
    let certs = std::env::var("LOMOND_TLS_CERTS").expect("LOMOND_TLS_CERTS unset");
    (port, PathBuf::from(certs))
}

/// `wss://localhost:PORT/` for nginx's port `base + offset`, trusting the
/// run's CA (and only it).
fn at(offset: u16) -> (String, TlsOptions, PathBuf) {
    let (base, certs) = setup();
    let tls = TlsOptions::new()
        .only_added_roots()
        .add_root_file(certs.join("ca.pem"))
        .unwrap();
    (format!("wss://localhost:{}/", base + offset), tls, certs)
}

fn with(url: &str, tls: &TlsOptions) -> WebSocket {
    ws(url).tls(tls.clone())
}

#[test]
#[ignore = "needs nginx: run scripts/tls.sh"]
fn echo_through_nginx_on_both_drivers() {
    let (url, tls, _) = at(0);
    for events in both(|| with(&url, &tls)) {
        assert_echo_session(&events);
        let Event::Ready { response, .. } = &events[2] else {
            unreachable!()
        };
        assert!(response.header("server").unwrap().starts_with("nginx"));
    }
    // By address too: the certificate names 127.0.0.1.
    let url = url.replace("localhost", "127.0.0.1");
    for events in both(|| with(&url, &tls)) {
        assert_echo_session(&events);
    }
}

#[test]
#[ignore = "needs nginx: run scripts/tls.sh"]
fn the_system_store_does_not_know_a_private_ca() {
    let (url, _, _) = at(0);
    for events in both(|| ws(&url)) {
        assert!(matches!(tls_failure(&events), TlsError::UnknownIssuer));
    }
}

#[test]
#[ignore = "needs nginx: run scripts/tls.sh"]
fn each_bad_certificate_is_refused_by_name() {
    let (url, tls, _) = at(1);
    for events in both(|| with(&url, &tls)) {
        assert!(matches!(tls_failure(&events), TlsError::Expired));
    }
    let (url, tls, _) = at(2);
    for events in both(|| with(&url, &tls)) {
        let e = tls_failure(&events);
        assert!(matches!(e, TlsError::NotValidForName { .. }), "{e:?}");
    }
    let (url, tls, _) = at(3);
    for events in both(|| with(&url, &tls)) {
        assert!(matches!(tls_failure(&events), TlsError::UnknownIssuer));
    }
}

#[test]
#[ignore = "needs nginx: run scripts/tls.sh"]
fn mutual_tls_with_nginx() {
    let (url, tls, certs) = at(4);
    let with_cert = tls
        .clone()
        .client_cert_files(certs.join("client.pem"), certs.join("client.key"))
        .unwrap();
    for events in both(|| with(&url, &with_cert)) {
        assert_echo_session(&events);
    }
    // nginx finishes the handshake without one and answers 400.
    for events in both(|| with(&url, &tls)) {
        assert_eq!(
            names(&events),
            ["connecting", "connected", "rejected", "disconnected"]
        );
        let Event::Rejected {
            response: Some(response),
            ..
        } = &events[2]
        else {
            panic!("{events:#?}")
        };
        assert_eq!(response.status, 400);
        assert!(String::from_utf8_lossy(&response.body).contains("No required SSL certificate"));
    }
}
