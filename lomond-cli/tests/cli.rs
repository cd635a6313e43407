//! The built `lomond` binary, run as people and scripts run it: against
//! `lomond serve` and lomond-testkit's scripted servers, checking the
//! lines it prints, its NDJSON and its exit status.

use lomond_testkit::{upgrade, ScriptServer};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn lomond() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lomond"));
    // No proxy from the test machine's environment, no colours by default.
    for var in [
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
    ] {
        command.env_remove(var);
    }
    command.env("NO_COLOR", "1");
    command
}

/// `lomond serve` on a free port, killed on drop.
struct Serve {
    child: Child,
    url: String,
}

impl Serve {
    fn start(args: &[&str]) -> Serve {
        let mut child = lomond()
            .args(["serve", "--json"])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("lomond serve starts");
        let mut first = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut first)
            .unwrap();
        let line: Value = serde_json::from_str(&first).expect("a JSON line");
        assert_eq!(line["event"], "listening");
        let url = line["url"].as_str().unwrap().to_owned();
        Serve { child, url }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `lomond`, killed on drop: a failing test leaves no process
/// behind holding its pipes open.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl std::ops::Deref for Running {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

/// Starts `lomond ARGS` with standard input held open (a pipe that has
/// not ended) and standard output piped.
fn spawn(args: &[&str]) -> Running {
    Running(
        lomond()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

/// Reads what `child` prints until it exits; its status and the text.
fn finish(child: &mut Running) -> (Option<i32>, String) {
    let mut text = String::new();
    let mut out = child.stdout.take().unwrap();
    out.read_to_string(&mut text).unwrap();
    (child.wait().unwrap().code(), text)
}

/// Runs `lomond ARGS` with `input` on standard input, bounded in time.
fn run(args: &[&str], input: &[u8]) -> Output {
    let mut child = lomond()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).unwrap();
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("lomond {args:?} did not exit within 30 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Every stdout line as JSON; the `event` names.
fn events(output: &Output) -> (Vec<Value>, Vec<String>) {
    let lines: Vec<Value> = stdout(output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    let names = lines
        .iter()
        .map(|l| l["event"].as_str().unwrap().to_owned())
        .collect();
    (lines, names)
}

#[test]
fn piped_lines_are_sent_and_the_end_of_the_pipe_closes_cleanly() {
    let server = Serve::start(&[]);
    let out = run(&[&server.url], b"one\ntwo\r\n\nthree");
    let text = stdout(&out);
    let received: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once("] < ").map(|(_, m)| m))
        .collect();
    assert_eq!(received, ["one", "two", "", "three"], "{text}");
    assert!(text.lines().all(|l| l.starts_with('[')), "{text}");
    assert!(!text.contains('\x1b'), "no colours in a pipe: {text:?}");
    assert!(text.contains("closed 1000"), "{text}");
    assert!(
        text.trim_end().ends_with("exit 0: closed cleanly"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn json_is_one_object_per_event_in_the_documented_schema() {
    let server = Serve::start(&["--compress"]);
    let out = run(
        &["--json", "--compress", "--protocol", "chat", &server.url],
        b"hello\n",
    );
    let (lines, names) = events(&out);
    assert_eq!(
        names,
        [
            "connecting",
            "connected",
            "ready",
            "text",
            "closed",
            "disconnected",
            "exit"
        ]
    );
    assert!(lines.iter().all(|l| l["t"].as_f64().is_some()));
    assert!(lines.iter().all(|l| {
        let time = l["time"].as_str().unwrap();
        time.len() == 24 && time.ends_with('Z') && time.as_bytes()[10] == b'T'
    }));
    assert_eq!(lines[2]["status"], 101);
    assert_eq!(lines[2]["protocol"], "chat");
    assert_eq!(lines[2]["deflate"]["server_max_window_bits"], 15);
    assert_eq!(lines[3]["data"], "hello");
    assert_eq!(lines[5]["graceful"], true);
    assert_eq!(
        (lines[6]["status"].as_i64(), out.status.code()),
        (Some(0), Some(0))
    );
}

#[test]
fn binary_lines_and_both_encodings() {
    let server = Serve::start(&[]);
    let out = run(&["--binary", &server.url], b"hi\n");
    assert!(
        stdout(&out).contains("< [2 bytes] 6869"),
        "{}",
        stdout(&out)
    );
    let out = run(
        &[
            "--binary",
            "--json",
            "--binary-format",
            "base64",
            &server.url,
        ],
        b"hi\n",
    );
    let (lines, _) = events(&out);
    let message = lines.iter().find(|l| l["event"] == "binary").unwrap();
    assert_eq!(
        (&message["data"], &message["encoding"], &message["len"]),
        (
            &Value::from("aGk="),
            &Value::from("base64"),
            &Value::from(2)
        )
    );
}

#[test]
fn once_sends_waits_for_one_reply_and_leaves() {
    let server = Serve::start(&[]);
    // Standard input is not read: left open, it cannot hold --once up.
    let mut child = spawn(&[
        "--once",
        "--send",
        "first",
        "--send",
        "second",
        "--json",
        &server.url,
    ]);
    let (code, text) = finish(&mut child);
    let texts: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["event"] == "text")
        .map(|l| l["data"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts.first().map(String::as_str), Some("first"), "{text}");
    assert_eq!(code, Some(0), "{text}");
}

#[test]
fn count_closes_after_that_many_messages() {
    let server = Serve::start(&[]);
    let mut child = spawn(&["--count", "2", "--json", &server.url]);
    // The pipe stays open: only --count ends the run.
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"a\nb\nc\n").unwrap();
    let (code, text) = finish(&mut child);
    assert_eq!(code, Some(0), "{text}");
    drop(stdin);
    assert!(text.matches("\"event\":\"text\"").count() >= 2, "{text}");
    assert!(text.contains("\"event\":\"closed\""), "{text}");
}

#[test]
fn exit_statuses_say_how_it_ended() {
    // 2: a URL without a scheme, with a hint on standard error.
    let out = run(&["example.com/feed"], b"");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ws://example.com/feed"), "{err}");
    // 3: refused.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = run(&["--json", &format!("ws://127.0.0.1:{port}/")], b"");
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    let (lines, names) = events(&out);
    assert_eq!(names, ["connecting", "connect_fail", "exit"]);
    assert_eq!(lines[1]["stage"], "connect");
    // 4: rejected.
    let rejecting = ScriptServer::start(1, |mut s| {
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf)?;
        s.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\n\r\nnope")
    })
    .unwrap();
    let out = run(&[&rejecting.url()], b"");
    assert_eq!(out.status.code(), Some(4), "{}", stdout(&out));
    assert!(stdout(&out).contains("403"), "{}", stdout(&out));
    // 5: a protocol error (a masked frame from the server).
    let breaking = ScriptServer::start(1, |mut s| {
        upgrade(&mut s, "")?;
        s.write_all(&[0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2])?;
        std::thread::sleep(Duration::from_millis(500));
        Ok(())
    })
    .unwrap();
    let out = run(&[&breaking.url()], b"");
    assert_eq!(out.status.code(), Some(5), "{}", stdout(&out));
    // 6: unresponsive (the server goes silent after the handshake).
    let silent = ScriptServer::start(1, |mut s| {
        upgrade(&mut s, "")?;
        std::thread::sleep(Duration::from_secs(3));
        Ok(())
    })
    .unwrap();
    let mut child = spawn(&[
        "--ping-rate",
        "200ms",
        "--ping-timeout",
        "500ms",
        &silent.url(),
    ]);
    let (code, text) = finish(&mut child);
    assert_eq!(code, Some(6), "{text}");
    assert!(text.contains("unresponsive"), "{text}");
    // 8: --timeout, on a server that never answers the handshake.
    let mute = ScriptServer::start(1, |_s| {
        std::thread::sleep(Duration::from_secs(3));
        Ok(())
    })
    .unwrap();
    let started = Instant::now();
    let out = run(&["--timeout", "500ms", &mute.url()], b"");
    assert_eq!(out.status.code(), Some(8), "{}", stdout(&out));
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn ping_reports_round_trips_and_statistics() {
    let server = Serve::start(&[]);
    let out = run(
        &["ping", "--json", "-c", "3", "-i", "100ms", &server.url],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let (lines, names) = events(&out);
    assert_eq!(
        names.iter().filter(|n| *n == "pong").count(),
        3,
        "{names:?}"
    );
    let stats = lines.iter().find(|l| l["event"] == "statistics").unwrap();
    assert_eq!(stats["pongs"], 3);
    let (min, avg, max) = (
        stats["min_ms"].as_f64().unwrap(),
        stats["avg_ms"].as_f64().unwrap(),
        stats["max_ms"].as_f64().unwrap(),
    );
    assert!(0.0 < min && min <= avg && avg <= max, "{stats}");
}

/// The demo, as a newcomer runs it: a reconnection, the outbox carrying
/// a message across, timed pongs, a clean close, well within 30 s.
#[test]
fn the_demo_shows_a_reconnection_and_closes_cleanly() {
    let started = Instant::now();
    let out = run(&["demo", "--json"], b"");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let (lines, names) = events(&out);
    let readies = names.iter().filter(|n| *n == "ready").count();
    assert_eq!(readies, 2, "{names:?}");
    for name in ["back_off", "disconnected", "stopped", "exit"] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
    assert!(lines
        .iter()
        .any(|l| l["event"] == "pong" && l["rtt_ms"].as_f64().is_some()));
    let kept = lines
        .iter()
        .position(|l| l["event"] == "text" && l["data"].as_str().unwrap().contains("outbox"))
        .expect("the outbox's message echoed");
    let second_ready = names.iter().rposition(|n| n == "ready").unwrap();
    assert!(kept > second_ready, "sent after the reconnection");
    let stopped = lines.iter().find(|l| l["event"] == "stopped").unwrap();
    assert_eq!(stopped["unsent"], 0);
}

#[test]
fn completions_and_help() {
    let out = run(&["completions", "bash"], b"");
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("--ping-timeout"));
    let out = run(&["--help"], b"");
    let help = stdout(&out);
    for needle in [
        "Examples:",
        "Exit status:",
        "--persist",
        "--no-proxy",
        "130 interrupted",
    ] {
        assert!(help.contains(needle), "{needle}");
    }
    let out = run(&["--version"], b"");
    assert!(stdout(&out).starts_with("lomond "));
}

/// Interactive, under a pseudo-terminal: colours on, a line typed, its
/// echo shown, and Ctrl-D closing cleanly.
#[test]
fn interactive_under_a_pseudo_terminal() {
    use nix::pty::openpty;
    use std::os::fd::OwnedFd;
    let server = Serve::start(&[]);
    let pty = openpty(None, None).unwrap();
    let slave = |fd: &OwnedFd| Stdio::from(fd.try_clone().unwrap());
    let mut child = Running(
        lomond()
            .env_remove("NO_COLOR")
            .arg(&server.url)
            .stdin(slave(&pty.slave))
            .stdout(slave(&pty.slave))
            .stderr(slave(&pty.slave))
            .spawn()
            .unwrap(),
    );
    drop(pty.slave);
    let mut master = std::fs::File::from(pty.master);
    let mut seen = Vec::new();
    let mut read_until = |master: &mut std::fs::File, needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&seen).contains(needle) {
            assert!(
                Instant::now() < deadline,
                "no {needle:?} in {:?}",
                String::from_utf8_lossy(&seen)
            );
            match master.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    };
    read_until(&mut master, "ready");
    master.write_all(b"typed by hand\n").unwrap();
    let shown = read_until(&mut master, "< typed by hand");
    assert!(shown.contains("\x1b[32m< typed by hand"), "{shown:?}");
    // Ctrl-D: the end of the input, as in a pipe.
    master.write_all(&[4]).unwrap();
    let shown = read_until(&mut master, "exit 0");
    assert!(shown.contains("closed 1000"), "{shown:?}");
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

/// `--persist`: the server killed and restarted on the same port; a line
/// typed while it is down waits in the outbox and is echoed after the
/// reconnection; the end of the input stops persist cleanly.
#[test]
fn persist_carries_a_line_across_a_server_restart() {
    use std::sync::mpsc;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let port_arg = port.to_string();
    let server = Serve::start(&["--port", &port_arg]);
    let mut child = spawn(&[
        "--persist",
        "--min-wait",
        "100ms",
        "--max-wait",
        "300ms",
        "--json",
        &server.url,
    ]);
    let mut stdin = child.stdin.take().unwrap();
    let (tx, rx) = mpsc::channel::<Value>();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = tx.send(serde_json::from_str(&line.unwrap()).unwrap());
        }
    });
    let mut seen = Vec::new();
    let mut until = |what: &dyn Fn(&Value) -> bool| loop {
        let line = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("waited 10 s; saw {seen:#?}"));
        seen.push(line["event"].as_str().unwrap().to_owned());
        if what(&line) {
            return line;
        }
    };
    stdin.write_all(b"before\n").unwrap();
    until(&|l| l["event"] == "text" && l["data"] == "before");
    drop(server);
    until(&|l| l["event"] == "disconnected" && l["graceful"] == false);
    stdin.write_all(b"during\n").unwrap();
    until(&|l| l["event"] == "back_off");
    std::thread::sleep(Duration::from_millis(300));
    let _server = Serve::start(&["--port", &port_arg]);
    until(&|l| l["event"] == "ready");
    until(&|l| l["event"] == "text" && l["data"] == "during");
    drop(stdin);
    let stopped = until(&|l| l["event"] == "stopped");
    assert_eq!(stopped["unsent"], 0);
    let exit = until(&|l| l["event"] == "exit");
    assert_eq!(exit["status"], 0);
    assert_eq!(child.wait().unwrap().code(), Some(0));
    reader.join().unwrap();
}

/// -H, --protocol and --origin reach the server's request; the
/// header's value is never printed.
#[test]
fn headers_subprotocols_and_origin_are_sent() {
    let server = ScriptServer::start(1, |mut s| {
        let request = lomond_testkit::read_request(&mut s)?;
        let h = &request.headers;
        assert_eq!(h["x-token"], "s3cret-value");
        assert_eq!(h["sec-websocket-protocol"], "v2, v1");
        assert_eq!(h["origin"], "https://app.example");
        s.write_all(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
    })
    .unwrap();
    let out = run(
        &[
            "-H",
            "X-Token: s3cret-value",
            "--protocol",
            "v2",
            "--protocol",
            "v1",
            "--origin",
            "https://app.example",
            "--json",
            &server.url(),
        ],
        b"",
    );
    server.join();
    assert_eq!(out.status.code(), Some(4));
    let shown = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(shown.contains("\"status\":401"), "{shown}");
    assert!(!shown.contains("s3cret"), "{shown}");
}

/// wss:// with a CA of the test's own and mutual TLS: refused without
/// the CA (stage tls), refused without a client certificate, echoed with
/// both, and with --insecure.
#[test]
fn tls_flags_cacert_cert_key_and_insecure() {
    use lomond_testkit::{tls::server_config, Ca, TlsEchoServer};
    let ca = Ca::new("lomond-cli test CA");
    let server = TlsEchoServer::start(server_config(&ca.server(&["127.0.0.1"]), Some(&ca)));
    let url = server.url("127.0.0.1");
    let dir = std::env::temp_dir().join(format!("lomond-cli-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let client = ca.client();
    let file = |name: &str, pem: &str| {
        let path = dir.join(name);
        std::fs::write(&path, pem).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let (ca_file, cert, key) = (
        file("ca.pem", &ca.cert_pem()),
        file("client.pem", &client.cert_pem),
        file("client.key", &client.key_pem),
    );
    let status = |args: &[&str]| {
        let out = run(&[args, &["--json", &url]].concat(), b"over tls\n");
        (out.status.code(), stdout(&out))
    };
    let (code, text) = status(&[]);
    assert_eq!(code, Some(3), "{text}");
    assert!(
        text.contains("\"stage\":\"tls\"") && text.contains("unknown authority"),
        "{text}"
    );
    // TLS 1.3 finishes the client's handshake before the server checks
    // for a certificate, so the refusal comes as the connection's end.
    let (code, text) = status(&["--cacert", &ca_file]);
    assert_eq!(code, Some(7), "{text}");
    assert!(text.contains("requires a client certificate"), "{text}");
    for args in [
        vec!["--cacert", &ca_file, "--cert", &cert, "--key", &key],
        vec!["--insecure", "--cert", &cert, "--key", &key],
    ] {
        let (code, text) = status(&args);
        assert_eq!(code, Some(0), "{args:?}: {text}");
        assert!(text.contains("\"data\":\"over tls\""), "{text}");
    }
    let (code, _) = status(&["--cacert", "/no/such/ca.pem"]);
    assert_eq!(code, Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Ctrl-C (SIGINT) closes with 1001 and exits 130.
#[test]
fn an_interrupt_closes_with_going_away() {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    let server = Serve::start(&[]);
    let mut child = spawn(&["--json", &server.url]);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line: Value = serde_json::from_str(&line.unwrap()).unwrap();
        seen.push(line["event"].as_str().unwrap().to_owned());
        if line["event"] == "ready" {
            break;
        }
    }
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let rest: Vec<Value> = lines
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    let closed = rest
        .iter()
        .find(|l| l["event"] == "closed")
        .expect("a close handshake");
    assert_eq!(closed["code"], 1001);
    assert_eq!(rest.last().unwrap()["status"], 130);
    assert_eq!(child.wait().unwrap().code(), Some(130));
}
