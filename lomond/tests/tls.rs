//! wss:// through rustls, both drivers, against lomond's echo server behind
//! rustls with certificates made for each test (lomond_testkit::tls).

#[allow(dead_code)] // shared with suites that use more of it
mod common;
#[allow(dead_code)]
mod tls_common;

use common::{names, ws};
use lomond::{ConnectError, Event, Stage, TlsError, TlsOptions};
use lomond_testkit::tls::{server_config, Identity};
use lomond_testkit::{Ca, TlsEchoServer};
use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};
use tls_common::{assert_echo_session, both, tls_failure};

fn trusting(ca: &Ca) -> TlsOptions {
    TlsOptions::new()
        .only_added_roots()
        .add_root_pem(ca.cert_pem().as_bytes())
        .unwrap()
}

fn server(identity: &Identity) -> TlsEchoServer {
    TlsEchoServer::start(server_config(identity, None))
}

#[test]
fn wss_echo_with_a_ca_of_our_own_on_both_drivers() {
    let ca = Ca::new("lomond test CA");
    let server = server(&ca.server(&["localhost"]));
    for events in both(|| ws(&server.url("localhost")).tls(trusting(&ca))) {
        assert_echo_session(&events);
    }
}

#[test]
fn a_certificate_from_an_unknown_authority_is_refused_by_name() {
    let (ca, other) = (Ca::new("server's CA"), Ca::new("another CA"));
    let server = server(&ca.server(&["localhost"]));
    for events in both(|| ws(&server.url("localhost")).tls(trusting(&other))) {
        assert!(matches!(tls_failure(&events), TlsError::UnknownIssuer));
    }
    // Nor is a private CA in the system's store.
    for events in both(|| ws(&server.url("localhost"))) {
        assert!(matches!(tls_failure(&events), TlsError::UnknownIssuer));
    }
}

#[test]
fn an_expired_certificate_is_refused_by_name() {
    let ca = Ca::new("lomond test CA");
    let server = server(&ca.expired_server(&["localhost"]));
    for events in both(|| ws(&server.url("localhost")).tls(trusting(&ca))) {
        assert!(matches!(tls_failure(&events), TlsError::Expired));
    }
}

#[test]
fn a_certificate_for_another_host_is_refused_by_name() {
    let ca = Ca::new("lomond test CA");
    let server = server(&ca.server(&["elsewhere.test"]));
    for events in both(|| ws(&server.url("localhost")).tls(trusting(&ca))) {
        let e = tls_failure(&events);
        assert!(
            matches!(&e, TlsError::NotValidForName { host } if host == "localhost"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "the server's certificate is not valid for localhost"
        );
    }
}

#[test]
fn verification_can_be_turned_off_loudly() {
    let ca = Ca::new("nobody trusts this");
    let server = server(&ca.server(&["elsewhere.test"]));
    let tls = TlsOptions::new().dangerous_accept_any_certificate();
    for events in both(|| ws(&server.url("localhost")).tls(tls.clone())) {
        assert_echo_session(&events);
    }
}

#[test]
fn a_client_certificate_opens_a_server_that_demands_one() {
    let ca = Ca::new("lomond test CA");
    let server = TlsEchoServer::start(server_config(&ca.server(&["localhost"]), Some(&ca)));
    let client = ca.client();
    let tls = trusting(&ca)
        .client_cert_pem(client.cert_pem.as_bytes(), client.key_pem.as_bytes())
        .unwrap();
    for events in both(|| ws(&server.url("localhost")).tls(tls.clone())) {
        assert_echo_session(&events);
    }
}

#[test]
fn a_server_that_demands_a_client_certificate_says_so() {
    let ca = Ca::new("lomond test CA");
    let server = TlsEchoServer::start(server_config(&ca.server(&["localhost"]), Some(&ca)));
    for events in both(|| ws(&server.url("localhost")).tls(trusting(&ca))) {
        let names = names(&events);
        // TLS 1.3 servers refuse a missing certificate only after the
        // handshake, so the alert ends the connection once it is up.
        assert_eq!(names, ["connecting", "connected", "disconnected"]);
        let Event::Disconnected {
            reason: lomond::DisconnectReason::Io(e),
            ..
        } = &events[2]
        else {
            panic!("{events:#?}")
        };
        let tls = e.get_ref().and_then(|e| e.downcast_ref::<TlsError>());
        assert!(
            matches!(tls, Some(TlsError::ClientCertificateRequired)),
            "{e:?}"
        );
    }
}

#[test]
fn a_tls12_server_that_demands_a_client_certificate_fails_the_connect() {
    let ca = Ca::new("lomond test CA");
    let server = TlsEchoServer::start(lomond_testkit::tls::server_config_tls12_only(
        &ca.server(&["localhost"]),
        Some(&ca),
    ));
    for events in both(|| ws(&server.url("localhost")).tls(trusting(&ca))) {
        let e = tls_failure(&events);
        assert!(matches!(e, TlsError::ClientCertificateRequired), "{e:?}");
    }
    // With the certificate, the same server serves.
    let client = ca.client();
    let tls = trusting(&ca)
        .client_cert_pem(client.cert_pem.as_bytes(), client.key_pem.as_bytes())
        .unwrap();
    for events in both(|| ws(&server.url("localhost")).tls(tls.clone())) {
        assert_echo_session(&events);
    }
}

#[test]
fn a_server_that_never_answers_the_tls_handshake_times_out_in_that_stage() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("wss://{}/", listener.local_addr().unwrap());
    let held = thread::spawn(move || {
        let mut held = Vec::new();
        for _ in 0..2 {
            held.push(listener.accept().unwrap());
        }
        thread::sleep(Duration::from_secs(2));
    });
    let make = || ws(&url).connect_timeout(Some(Duration::from_millis(300)));
    let started = Instant::now();
    for events in both(make) {
        assert_eq!(names(&events), ["connecting", "connect_fail"]);
        assert!(matches!(
            &events[1],
            Event::ConnectFail {
                error: ConnectError::Timeout { stage: Stage::Tls }
            }
        ));
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    held.join().unwrap();
}

#[test]
fn bad_tls_settings_are_typed_errors() {
    let e = TlsOptions::new()
        .add_root_pem(b"not a certificate")
        .unwrap_err();
    assert!(matches!(e, TlsError::Settings(_)), "{e:?}");
    let e = TlsOptions::new()
        .client_cert_pem(Ca::new("x").cert_pem().as_bytes(), b"no key")
        .unwrap_err();
    assert!(matches!(e, TlsError::Settings(_)), "{e:?}");
    // Only added roots, and none added: refused before any TLS is spoken.
    let ca = Ca::new("lomond test CA");
    let server = server(&ca.server(&["localhost"]));
    let tls = TlsOptions::new().only_added_roots();
    for events in both(|| ws(&server.url("localhost")).tls(tls.clone())) {
        let Event::ConnectFail { error } = &events[1] else {
            panic!("{events:#?}")
        };
        assert!(matches!(error, ConnectError::Tls(TlsError::Settings(_))));
        assert_eq!(error.stage(), Stage::Prepare);
    }
}

#[test]
fn tls_options_show_no_key_material() {
    let ca = Ca::new("lomond test CA");
    let client = ca.client();
    let tls = TlsOptions::new()
        .client_cert_pem(client.cert_pem.as_bytes(), client.key_pem.as_bytes())
        .unwrap();
    let shown = format!("{tls:?}");
    assert!(shown.contains("client_certificate: true"), "{shown}");
    let key_body: String = client
        .key_pem
        .lines()
        .nth(1)
        .unwrap()
        .chars()
        .take(20)
        .collect();
    assert!(!shown.contains(&key_body), "{shown}");
}

#[test]
fn the_config_is_built_once_and_shared_by_clones() {
    let ca = Ca::new("lomond test CA");
    let tls = TlsOptions::new()
        .only_added_roots()
        .add_root_pem(ca.cert_pem().as_bytes())
        .unwrap();
    let config = tls.config().unwrap();
    assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
    assert!(std::sync::Arc::ptr_eq(
        &config,
        &tls.clone().config().unwrap()
    ));
    // A changed copy builds its own.
    let other = tls.clone().dangerous_accept_any_certificate();
    assert!(!std::sync::Arc::ptr_eq(&config, &other.config().unwrap()));
}

/// A TLS server that answers the upgrade, then never reads again.
fn never_reads_behind_tls(
    identity: &lomond_testkit::tls::Identity,
) -> (String, thread::JoinHandle<()>) {
    let config = server_config(identity, None);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("wss://localhost:{}/", listener.local_addr().unwrap().port());
    let served = thread::spawn(move || {
        let mut held = Vec::new();
        for _ in 0..2 {
            let (mut tcp, _) = listener.accept().unwrap();
            let mut conn = lomond::rustls::ServerConnection::new(config.clone()).unwrap();
            while conn.is_handshaking() {
                conn.complete_io(&mut tcp).unwrap();
            }
            let mut tls = lomond::rustls::StreamOwned::new(conn, tcp);
            lomond_testkit::upgrade(&mut tls, "").unwrap();
            held.push(tls);
        }
        thread::sleep(Duration::from_secs(5));
    });
    (url, served)
}

#[test]
fn a_tls_server_that_stops_reading_times_the_writes_out_on_both_drivers() {
    let ca = Ca::new("lomond test CA");
    let (url, served) = never_reads_behind_tls(&ca.server(&["localhost"]));
    let make = || {
        ws(&url)
            .tls(trusting(&ca))
            .write_timeout(Some(Duration::from_millis(300)))
    };
    // Blocking: a sender floods from another thread.
    let (seen, error) = common::flood(make());
    assert!(matches!(error, lomond::SendError::Io(_)), "{error:?}");
    assert!(common::is_write_timeout(seen.last().unwrap()), "{seen:?}");
    // Tokio: the same from a task.
    let seen = tls_common::runtime().block_on(async {
        let ws = make();
        let sender = ws.async_sender();
        let mut events = ws.event_stream();
        let mut seen = Vec::new();
        while let Some(event) = futures_util::StreamExt::next(&mut events).await {
            if let Event::Ready { .. } = event {
                let sender = sender.clone();
                tokio::spawn(
                    async move { while sender.send_binary(&[7; 1 << 20]).await.is_ok() {} },
                );
            }
            seen.push(event);
        }
        seen
    });
    assert!(common::is_write_timeout(seen.last().unwrap()), "{seen:?}");
    served.join().unwrap();
}

#[test]
fn the_stream_and_sink_face_speaks_wss() {
    use futures_util::{SinkExt, StreamExt};
    use lomond::aio::Message;
    let ca = Ca::new("lomond test CA");
    let server = server(&ca.server(&["localhost"]));
    tls_common::runtime().block_on(async {
        let ws = lomond::WebSocket::new(&server.url("localhost"))
            .unwrap()
            .tls(trusting(&ca));
        let (mut ws, response) = lomond::aio::connect_async_with(ws).await.unwrap();
        assert_eq!(response.status, 101);
        ws.send(Message::text("over the sink")).await.unwrap();
        let echoed = ws.next().await.unwrap().unwrap();
        assert!(
            matches!(&echoed, Message::Text(t) if t == "over the sink"),
            "{echoed:?}"
        );
        ws.close(None).await.unwrap();
    });
}

#[test]
fn key_updates_from_the_server_are_answered_in_order_on_both_drivers() {
    let ca = Ca::new("lomond test CA");
    let server =
        TlsEchoServer::start_with_key_updates(server_config(&ca.server(&["localhost"]), None));
    // Each echo comes after a key update that asks the client to roll its
    // own keys; the server reads the client's next message only if the
    // client's key update went first.
    for events in both(|| ws(&server.url("localhost")).tls(trusting(&ca))) {
        assert_echo_session(&events);
    }
}

#[test]
fn a_handshake_the_server_refuses_is_an_alert_by_name() {
    use lomond::rustls;
    let ca = Ca::new("lomond test CA");
    let server = TlsEchoServer::start(lomond_testkit::tls::server_config_tls12_only(
        &ca.server(&["localhost"]),
        None,
    ));
    // A client that speaks only TLS 1.3, with the CA trusted.
    let mut roots = rustls::RootCertStore::empty();
    let ca_pem = ca.cert_pem();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tls = TlsOptions::new().client_config(std::sync::Arc::new(config));
    for events in both(|| ws(&server.url("localhost")).tls(tls.clone())) {
        let e = tls_failure(&events);
        assert!(
            matches!(&e, TlsError::Alert { alert } if alert == "ProtocolVersion"),
            "{e:?}"
        );
        assert_eq!(e.to_string(), "the server sent TLS alert ProtocolVersion");
    }
}
