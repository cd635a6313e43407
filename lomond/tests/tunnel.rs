//! The tunnel stage against scripted proxies on loopback, both drivers:
//! what follows the proxy's answer reaches the session, and a silent,
//! endless or refusing proxy ends in a typed `ConnectFail` at stage
//! `tunnel`. (scripts/proxy.sh runs real proxies: tests/proxies.rs.)

#[allow(dead_code)]
mod common;
#[allow(dead_code)]
mod tls_common;

use common::{names, ws};
use lomond::{ConnectError, Event, ProxyError, Stage};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;
use tls_common::both;

/// A proxy on loopback that reads the CONNECT request, then runs `answer`,
/// for `connections` connections.
fn proxy(
    connections: usize,
    answer: impl Fn(TcpStream) + Send + Clone + 'static,
) -> (String, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let served = thread::spawn(move || {
        for _ in 0..connections {
            let (mut s, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut byte = [0];
            while !request.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap() == 1 {
                request.push(byte[0]);
            }
            assert!(request.starts_with(b"CONNECT ws.test:80 HTTP/1.1\r\n"));
            answer.clone()(s);
        }
    });
    (url, served)
}

fn failure(events: &[Event]) -> &ConnectError {
    assert_eq!(names(events), ["connecting", "connect_fail"], "{events:#?}");
    let Event::ConnectFail { error } = &events[1] else {
        unreachable!()
    };
    assert_eq!(error.stage(), Stage::Tunnel, "{error:?}");
    error
}

#[test]
fn bytes_after_the_proxys_answer_reach_the_session() {
    let (url, served) = proxy(2, |mut s| {
        s.write_all(b"HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        thread::sleep(Duration::from_millis(200));
    });
    for events in both(|| ws("ws://ws.test/").proxy(&url)) {
        assert_eq!(
            names(&events),
            ["connecting", "connected", "rejected", "disconnected"]
        );
        assert!(matches!(&events[1], Event::Connected { proxy: Some(p), .. } if **p == *url));
        let Event::Rejected {
            response: Some(r), ..
        } = &events[2]
        else {
            unreachable!()
        };
        assert_eq!(r.status, 403);
    }
    served.join().unwrap();
}

#[test]
fn a_proxy_that_never_answers_times_out_in_the_tunnel_stage() {
    let (url, served) = proxy(2, |_s| thread::sleep(Duration::from_millis(800)));
    for events in both(|| {
        ws("ws://ws.test/")
            .proxy(&url)
            .connect_timeout(Some(Duration::from_millis(300)))
    }) {
        let e = failure(&events);
        assert!(
            matches!(
                e,
                ConnectError::Timeout {
                    stage: Stage::Tunnel
                }
            ),
            "{e:?}"
        );
    }
    served.join().unwrap();
}

#[test]
fn an_endless_answer_is_cut_off() {
    let (url, served) = proxy(2, |mut s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n");
        for _ in 0..2000 {
            if s.write_all(b"X: yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n")
                .is_err()
            {
                break;
            }
        }
    });
    for events in both(|| ws("ws://ws.test/").proxy(&url)) {
        let e = failure(&events);
        assert!(
            matches!(
                e,
                ConnectError::Proxy {
                    source: ProxyError::TooLarge { .. } | ProxyError::Malformed(_),
                    ..
                }
            ),
            "{e:?}"
        );
    }
    served.join().unwrap();
}

#[test]
fn a_refusal_carries_its_status_and_never_the_password() {
    let (url, served) = proxy(2, |mut s| {
        s.write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
            .unwrap();
    });
    let with_password = url.replace("http://", "http://me:hunter22@");
    for events in both(|| ws("ws://ws.test/").proxy(&with_password)) {
        let e = failure(&events);
        assert!(
            matches!(
                e,
                ConnectError::Proxy {
                    source: ProxyError::AuthRequired { status: 407 },
                    ..
                }
            ),
            "{e:?}"
        );
        let shown = format!("{e} {e:?} {}", events[1]);
        assert!(!shown.contains("hunter22"), "{shown}");
    }
    served.join().unwrap();
}

#[test]
fn a_bad_proxy_url_is_refused_before_connecting() {
    for events in both(|| ws("ws://ws.test/").proxy("gopher://old.example")) {
        let Event::ConnectFail { error } = &events[1] else {
            panic!("{events:#?}")
        };
        assert_eq!(error.stage(), Stage::Prepare);
        assert!(matches!(
            error,
            ConnectError::Proxy {
                source: ProxyError::InvalidUrl(_),
                ..
            }
        ));
    }
}

/// A proxy that cannot be reached (a stale `http_proxy`, say) is said to
/// be the proxy's failure, at stage `tunnel`, not a failure to connect
/// to the server; and a proxy whose name does not resolve, likewise.
#[test]
fn an_unreachable_proxy_is_named_as_the_proxy() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for proxy in [
        format!("http://127.0.0.1:{port}"),
        "socks5h://no-such-proxy.invalid:1080".to_owned(),
    ] {
        for events in both(|| ws("ws://ws.test/").proxy(&proxy)) {
            let Event::ConnectFail { error } = &events[1] else {
                panic!("{events:#?}")
            };
            assert_eq!(error.stage(), Stage::Tunnel, "{error}");
            let ConnectError::Proxy {
                source: ProxyError::Unreachable(inner),
                ..
            } = error
            else {
                panic!("{error:?}")
            };
            assert!(matches!(
                **inner,
                ConnectError::Connect { .. } | ConnectError::Resolve { .. }
            ));
            assert!(error.to_string().starts_with("proxy "), "{error}");
        }
    }
}
