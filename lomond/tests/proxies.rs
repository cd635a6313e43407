//! Through real proxies, both drivers: tinyproxy (HTTP CONNECT, open and
//! with Basic auth), microsocks (SOCKS5, open and with a password) and
//! squid (HTTP CONNECT, plain and as an `https://` proxy, open and with
//! Basic auth), started by scripts/proxy.sh; the targets are lomond's echo
//! servers on loopback, plain and behind TLS. Ignored under a plain
//! `cargo test`; they fail, not skip, when the proxies are not there.

#[allow(dead_code)]
mod common;
#[allow(dead_code)]
mod tls_common;

use common::{names, ws};
use lomond::{ConnectError, Event, ProxyError, Stage, TlsOptions, WebSocket};
use lomond_testkit::tls::server_config;
use lomond_testkit::{Ca, EchoServer, TlsEchoServer};
use tls_common::{assert_echo_session, both};

/// The first proxy port (scripts/proxy.sh): +0 tinyproxy open, +1
/// tinyproxy with Basic auth, +2 microsocks open, +3 microsocks with a
/// password, +4 squid open, +5 squid over TLS open, +6 squid over TLS with
/// Basic auth. The credentials are lomond / s3cret (tinyproxy takes
/// letters and digits only), sent percent-encoded in part to test the
/// decoding.
fn base() -> u16 {
    std::env::var("LOMOND_PROXY_PORT")
        .expect("LOMOND_PROXY_PORT unset: run scripts/proxy.sh")
        .parse()
        .unwrap()
}

fn proxy(scheme: &str, offset: u16, auth: bool) -> String {
    let auth = if auth { "lomond:s3cr%65t@" } else { "" };
    format!("{scheme}://{auth}127.0.0.1:{}", base() + offset)
}

/// The session went through `proxy` (shown without credentials).
fn assert_through(events: &[Event], proxy: u16) {
    let expected = format!("127.0.0.1:{}", base() + proxy);
    match &events[1] {
        Event::Connected {
            proxy: Some(p),
            addr,
            ..
        } => {
            assert!(p.ends_with(&expected) && !p.contains("s3cr"), "{p}");
            assert_eq!(addr.unwrap().to_string(), expected);
        }
        other => panic!("{other:?}"),
    }
}

/// What squid's TLS ports are trusted by: the CA of scripts/proxy.sh.
fn proxy_ca() -> TlsOptions {
    let path =
        std::env::var("LOMOND_PROXY_CA").expect("LOMOND_PROXY_CA unset: run scripts/proxy.sh");
    TlsOptions::new()
        .only_added_roots()
        .add_root_file(path)
        .unwrap()
}

fn echo_through(url: &str, proxy_url: &str, offset: u16) {
    for events in both(|| ws(url).proxy(proxy_url)) {
        assert_echo_session(&events);
        assert_through(&events, offset);
    }
}

#[test]
#[ignore = "needs tinyproxy and microsocks: run scripts/proxy.sh"]
fn ws_through_every_proxy() {
    let server = EchoServer::start().unwrap();
    let url = format!("ws://localhost:{}/", server.addr().port());
    echo_through(&url, &proxy("http", 0, false), 0);
    echo_through(&url, &proxy("http", 1, true), 1);
    // The name resolved by the proxy, then here.
    echo_through(&url, &proxy("socks5h", 2, false), 2);
    echo_through(&url, &proxy("socks5", 2, false), 2);
    echo_through(&url, &proxy("socks5h", 3, true), 3);
}

#[test]
#[ignore = "needs squid: run scripts/proxy.sh"]
fn through_squid_plain_and_over_tls() {
    let server = EchoServer::start().unwrap();
    let url = format!("ws://localhost:{}/", server.addr().port());
    echo_through(&url, &proxy("http", 4, false), 4);
    // ws:// through an https:// proxy: the session runs in TLS to squid.
    for events in both(|| {
        ws(&url)
            .proxy(&proxy("https", 5, false))
            .proxy_tls(proxy_ca())
    }) {
        assert_echo_session(&events);
        assert_through(&events, 5);
    }
    for events in both(|| {
        ws(&url)
            .proxy(&proxy("https", 6, true))
            .proxy_tls(proxy_ca())
    }) {
        assert_echo_session(&events);
        assert_through(&events, 6);
    }
    // TLS to the proxy falls back to the connection's own settings.
    for events in both(|| ws(&url).proxy(&proxy("https", 5, false)).tls(proxy_ca())) {
        assert_echo_session(&events);
    }
}

#[test]
#[ignore = "needs squid: run scripts/proxy.sh"]
fn wss_through_squid_and_tls_inside_tls() {
    let ca = Ca::new("lomond test CA");
    let server = TlsEchoServer::start(server_config(&ca.server(&["localhost"]), None));
    let tls = TlsOptions::new()
        .only_added_roots()
        .add_root_pem(ca.cert_pem().as_bytes())
        .unwrap();
    let url = server.url("localhost");
    for (scheme, offset, auth) in [("http", 4, false), ("https", 5, false), ("https", 6, true)] {
        let proxy_url = proxy(scheme, offset, auth);
        let make = || {
            ws(&url)
                .proxy(&proxy_url)
                .tls(tls.clone())
                .proxy_tls(proxy_ca())
        };
        for events in both(make) {
            assert_echo_session(&events);
            assert_through(&events, offset);
        }
    }
}

#[test]
#[ignore = "needs squid: run scripts/proxy.sh"]
fn an_https_proxy_refuses_or_is_not_trusted() {
    let server = EchoServer::start().unwrap();
    let url = format!("ws://127.0.0.1:{}/", server.addr().port());
    let wrong = format!("https://lomond:wrong@127.0.0.1:{}", base() + 6);
    for proxy_url in [proxy("https", 6, false), wrong] {
        for e in proxy_failure(|| ws(&url).proxy(&proxy_url).proxy_tls(proxy_ca())) {
            assert!(
                matches!(e, ProxyError::AuthRequired { status: 407 }),
                "{e:?}"
            );
        }
    }
    // Signed by a CA this connection does not trust.
    let other = TlsOptions::new()
        .only_added_roots()
        .add_root_pem(Ca::new("another CA").cert_pem().as_bytes())
        .unwrap();
    let https = proxy("https", 5, false);
    for e in proxy_failure(|| ws(&url).proxy(&https).proxy_tls(other.clone())) {
        assert!(
            matches!(e, ProxyError::Tls(lomond::TlsError::UnknownIssuer)),
            "{e:?}"
        );
    }
    // A proxy that speaks plain HTTP where TLS is expected.
    let plain = format!("https://127.0.0.1:{}", base() + 4);
    for e in proxy_failure(|| ws(&url).proxy(&plain).proxy_tls(proxy_ca())) {
        assert!(matches!(e, ProxyError::Tls(_)), "{e:?}");
    }
}

#[test]
#[ignore = "needs tinyproxy and microsocks: run scripts/proxy.sh"]
fn wss_end_to_end_inside_the_tunnel() {
    let ca = Ca::new("lomond test CA");
    let server = TlsEchoServer::start(server_config(&ca.server(&["localhost"]), None));
    let tls = TlsOptions::new()
        .only_added_roots()
        .add_root_pem(ca.cert_pem().as_bytes())
        .unwrap();
    let url = server.url("localhost");
    for (proxy_url, offset) in [(proxy("http", 1, true), 1), (proxy("socks5h", 2, false), 2)] {
        for events in both(|| ws(&url).proxy(&proxy_url).tls(tls.clone())) {
            assert_echo_session(&events);
            assert_through(&events, offset);
        }
    }
}

fn proxy_failure(make: impl Fn() -> WebSocket) -> Vec<ProxyError> {
    both(make)
        .iter()
        .map(|events| {
            assert_eq!(names(events), ["connecting", "connect_fail"], "{events:#?}");
            match &events[1] {
                Event::ConnectFail { error } => {
                    assert_eq!(error.stage(), Stage::Tunnel);
                    match error {
                        ConnectError::Proxy { proxy, source } => {
                            assert!(!proxy.contains("s3cr") && !proxy.contains("wrong"));
                            assert!(!format!("{error:?}").contains("wrong"));
                            source.clone()
                        }
                        other => panic!("{other:?}"),
                    }
                }
                _ => unreachable!(),
            }
        })
        .collect()
}

#[test]
#[ignore = "needs tinyproxy and microsocks: run scripts/proxy.sh"]
fn refusals_are_typed_and_hold_no_credentials() {
    let server = EchoServer::start().unwrap();
    let url = format!("ws://127.0.0.1:{}/", server.addr().port());
    let wrong =
        |scheme: &str, offset| format!("{scheme}://lomond:wrong@127.0.0.1:{}", base() + offset);
    for e in proxy_failure(|| ws(&url).proxy(&proxy("http", 1, false))) {
        assert!(matches!(e, ProxyError::AuthRequired { .. }), "{e:?}");
    }
    for e in proxy_failure(|| ws(&url).proxy(&wrong("http", 1))) {
        assert!(matches!(e, ProxyError::AuthRequired { .. }), "{e:?}");
    }
    for e in proxy_failure(|| ws(&url).proxy(&wrong("socks5", 3))) {
        assert!(matches!(e, ProxyError::AuthFailed), "{e:?}");
    }
    for e in proxy_failure(|| ws(&url).proxy(&proxy("socks5", 3, false))) {
        assert!(matches!(e, ProxyError::NoAcceptableMethod), "{e:?}");
    }
    // Nothing listens there: the proxy says so in its own terms.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("ws://127.0.0.1:{closed}/");
    for e in proxy_failure(|| ws(&url).proxy(&proxy("socks5", 2, false))) {
        assert!(matches!(e, ProxyError::Socks { code: 5 }), "{e:?}");
    }
    for e in proxy_failure(|| ws(&url).proxy(&proxy("http", 0, false))) {
        assert!(
            matches!(e, ProxyError::Status { status } if status >= 500),
            "{e:?}"
        );
    }
}
