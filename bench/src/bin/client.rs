//! One benchmark run of one client library, in its own process, single
//! threaded, with TCP_NODELAY set for every library (as lomond does). Prints one line: `lib scenario size count secs cpu_secs
//! maxrss_kb extra`, where cpu is user+sys from getrusage and extra is the
//! RSS bytes per connection for `idle` (0 otherwise).
//!
//!     bench-client LIB SCENARIO SIZE COUNT URL
//!
//! LIB: lomond-blocking lomond-tokio tungstenite tokio-tungstenite
//! fastwebsockets tokio-websockets yawc, and `floor` / `floor-tokio` (no library: the
//! least any client can spend, see `lomond_bench::floor`); `floor-tokio-timer`
//! is `floor-tokio` with one tokio timer registered, as a keepalive would be
//! SCENARIO: recv send echo1 echo64 idle, and recv-z send-z (the same with
//! permessage-deflate, on JSON-like payloads; lomond and yawc here, ratchet
//! in `bench-client-ratchet`)

use bytes::Bytes;
use futures_util::{FutureExt, Sink, SinkExt, Stream, StreamExt};
use lomond_bench::{client_main, current_rss, Result, Run, Scenario, DEFLATE_LIBS};

fn main() -> Result<()> {
    client_main(|lib, run| {
        let tls_libs = [
            "lomond-blocking",
            "lomond-tokio",
            "tokio-tungstenite",
            "tokio-websockets",
        ];
        if run.base.starts_with("wss:") && !tls_libs.contains(&lib) {
            return Err(format!("{lib} runs no wss here").into());
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        if run.deflate && !DEFLATE_LIBS.contains(&lib) {
            return Err(format!("{lib} has no permessage-deflate").into());
        }
        if matches!(run.scenario, Scenario::Scale | Scenario::Active) {
            return runtime.block_on(scale::run(lib, run));
        }
        Ok(match lib {
            "lomond-blocking" => blocking::lomond(run)?,
            "floor" => lomond_bench::floor::run(run)?,
            "floor-tokio" => runtime.block_on(lomond_bench::floor::run_tokio(run))?,
            "floor-tokio-timer" => runtime.block_on(lomond_bench::floor::run_tokio_timer(run))?,
            "tungstenite" => blocking::tungstenite(run)?,
            "fastwebsockets" => runtime.block_on(fastws::run(run))?,
            "lomond-tokio" => runtime.block_on(async {
                let open = || async {
                    let ws = lomond::WebSocket::new(&run.url())?
                        .ping_rate(None)
                        .poll(None)
                        .compress(run.deflate)
                        .tls(lomond_bench::lomond_tls(&run.base));
                    let (ws, _) = lomond::aio::connect_async_with(ws).await?;
                    Ok::<_, Box<dyn std::error::Error>>(ws)
                };
                generic::run::<LomondMsg, _, _, _>(run, open).await
            })?,
            "tokio-tungstenite" => runtime.block_on(async {
                let open = || async {
                    let connector = run.base.starts_with("wss:").then(|| {
                        tokio_tungstenite::Connector::Rustls(lomond_bench::tls_client_config())
                    });
                    let (ws, _) = tokio_tungstenite::connect_async_tls_with_config(
                        run.url(),
                        None,
                        true,
                        connector,
                    )
                    .await?;
                    Ok::<_, Box<dyn std::error::Error>>(ws)
                };
                generic::run::<TungMsg, _, _, _>(run, open).await
            })?,
            "tokio-websockets" => runtime.block_on(async {
                let open = || async {
                    let connector = if run.base.starts_with("wss:") {
                        tokio_websockets::Connector::Rustls(tokio_rustls::TlsConnector::from(
                            lomond_bench::tls_client_config(),
                        ))
                    } else {
                        tokio_websockets::Connector::Plain
                    };
                    let (ws, _) = tokio_websockets::ClientBuilder::new()
                        .uri(&run.url())?
                        .connector(&connector)
                        .connect()
                        .await?;
                    // Every client runs with Nagle off, as lomond does.
                    match ws.get_ref() {
                        tokio_websockets::MaybeTlsStream::Plain(s) => s.set_nodelay(true)?,
                        tokio_websockets::MaybeTlsStream::Rustls(s) => {
                            s.get_ref().0.set_nodelay(true)?
                        }
                        #[allow(unreachable_patterns)]
                        _ => {}
                    }
                    Ok::<_, Box<dyn std::error::Error>>(ws)
                };
                generic::run::<TwsMsg, _, _, _>(run, open).await
            })?,
            "yawc" => runtime.block_on(async {
                let open = || async {
                    let mut options = yawc::Options::default().with_no_delay();
                    if run.deflate {
                        options = options.with_compression_level(yawc::CompressionLevel::new(6));
                    }
                    let ws = yawc::WebSocket::connect(run.url().parse()?)
                        .with_options(options)
                        .await?;
                    // Frames come without a Result; map keeps the Sink side.
                    Ok::<_, Box<dyn std::error::Error>>(ws.map(Ok::<_, std::convert::Infallible>))
                };
                generic::run::<YawcMsg, _, _, _>(run, open).await
            })?,
            other => return Err(format!("unknown library {other}").into()),
        })
    })
}

/// What the generic scenarios need of a library's message type.
trait Msg: Sized {
    /// A data message of `payload`, made the cheapest way the library's API
    /// allows: lomond takes it by reference (small payloads are copied
    /// inline, larger ones shared), the others take a clone.
    fn data(payload: &Bytes) -> Self;
    fn text(s: &str) -> Self;
    /// Payload length of a data message; None for anything else.
    fn len(&self) -> Option<usize>;
    fn as_text(&self) -> Option<&str>;
    fn ping() -> Self;
    fn is_pong(&self) -> bool;
}

struct LomondMsg;
struct TungMsg;
struct TwsMsg;
struct YawcMsg;

/// Maps a marker to its library's message type.
trait Lib {
    type M: Msg;
}

impl Lib for LomondMsg {
    type M = lomond::aio::Message;
}
impl Lib for TungMsg {
    type M = tokio_tungstenite::tungstenite::Message;
}
impl Lib for TwsMsg {
    type M = tokio_websockets::Message;
}
impl Lib for YawcMsg {
    type M = yawc::frame::Frame;
}

impl Msg for yawc::frame::Frame {
    fn data(payload: &Bytes) -> Self {
        Self::binary(payload.clone())
    }
    fn text(s: &str) -> Self {
        Self::text(s.to_owned())
    }
    fn len(&self) -> Option<usize> {
        use yawc::frame::OpCode;
        matches!(self.opcode(), OpCode::Binary | OpCode::Text).then(|| self.payload().len())
    }
    fn as_text(&self) -> Option<&str> {
        (self.opcode() == yawc::frame::OpCode::Text)
            .then(|| std::str::from_utf8(self.payload()).ok())
            .flatten()
    }
    fn ping() -> Self {
        Self::ping(Bytes::from_static(b"p"))
    }
    fn is_pong(&self) -> bool {
        self.opcode() == yawc::frame::OpCode::Pong
    }
}

impl Msg for lomond::aio::Message {
    fn data(payload: &Bytes) -> Self {
        lomond::aio::Message::binary(payload)
    }
    fn text(s: &str) -> Self {
        lomond::aio::Message::Text(s.into())
    }
    fn len(&self) -> Option<usize> {
        match self {
            lomond::aio::Message::Binary(b) => Some(b.len()),
            lomond::aio::Message::Text(t) => Some(t.len()),
            _ => None,
        }
    }
    fn as_text(&self) -> Option<&str> {
        match self {
            lomond::aio::Message::Text(t) => Some(t),
            _ => None,
        }
    }
    fn ping() -> Self {
        lomond::aio::Message::Ping(Bytes::from_static(b"p"))
    }
    fn is_pong(&self) -> bool {
        matches!(self, lomond::aio::Message::Pong(_))
    }
}

impl Msg for tokio_tungstenite::tungstenite::Message {
    fn data(payload: &Bytes) -> Self {
        Self::Binary(payload.clone())
    }
    fn text(s: &str) -> Self {
        Self::Text(s.into())
    }
    fn len(&self) -> Option<usize> {
        match self {
            Self::Binary(b) => Some(b.len()),
            Self::Text(t) => Some(t.len()),
            _ => None,
        }
    }
    fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => Some(t.as_str()),
            _ => None,
        }
    }
    fn ping() -> Self {
        Self::Ping(Bytes::from_static(b"p"))
    }
    fn is_pong(&self) -> bool {
        matches!(self, Self::Pong(_))
    }
}

impl Msg for tokio_websockets::Message {
    fn data(payload: &Bytes) -> Self {
        tokio_websockets::Message::binary(payload.clone())
    }
    fn text(s: &str) -> Self {
        tokio_websockets::Message::text(s.to_owned())
    }
    fn len(&self) -> Option<usize> {
        (self.is_binary() || self.is_text()).then(|| self.as_payload().len())
    }
    fn as_text(&self) -> Option<&str> {
        self.as_text()
    }
    fn ping() -> Self {
        tokio_websockets::Message::ping(Bytes::from_static(b"p"))
    }
    fn is_pong(&self) -> bool {
        self.is_pong()
    }
}

/// Connections at scale (`scale`, `active`), over TCP streams opened here
/// from loopback source addresses 127.0.0.2 and up, so that more
/// connections than the ephemeral port range holds reach one server port.
/// Each connection is a task of one current-thread runtime.
mod scale {
    use super::*;
    use std::cell::Cell;
    use std::future::Future;
    use std::net::{Ipv4Addr, SocketAddr};
    use std::rc::Rc;
    use std::time::{Duration, Instant};
    use tokio::net::{TcpSocket, TcpStream};
    use tokio::sync::{mpsc, oneshot};

    /// Connections per source address: under the 28,232 ports of Linux's
    /// default ephemeral range.
    const PER_SOURCE: usize = 25_000;
    /// Connections whose ping round trip is timed once all are open.
    const SAMPLE: usize = 100;
    /// The interval at which each active connection sends.
    const EVERY: Duration = Duration::from_millis(100);
    /// How long active connections are measured, after a second to settle.
    const MEASURE: Duration = Duration::from_secs(10);

    pub async fn run(lib: &str, run: &Run) -> Result<usize> {
        let url = run.url();
        match lib {
            "lomond-tokio" => {
                at_scale::<LomondMsg, _, _, _>(run, |tcp| {
                    let url = url.clone();
                    async move {
                        let ws = lomond::WebSocket::new(&url)?.ping_rate(None).poll(None);
                        let (ws, _) = lomond::aio::client_async_with(ws, tcp).await?;
                        Ok::<_, Box<dyn std::error::Error>>(ws)
                    }
                })
                .await
            }
            "tokio-tungstenite" => {
                at_scale::<TungMsg, _, _, _>(run, |tcp| {
                    let url = url.clone();
                    async move {
                        let (ws, _) = tokio_tungstenite::client_async(url, tcp).await?;
                        Ok::<_, Box<dyn std::error::Error>>(ws)
                    }
                })
                .await
            }
            "tokio-websockets" => {
                at_scale::<TwsMsg, _, _, _>(run, |tcp| {
                    let url = url.clone();
                    async move {
                        let (ws, _) = tokio_websockets::ClientBuilder::new()
                            .uri(&url)?
                            .connect_on(tcp)
                            .await?;
                        Ok::<_, Box<dyn std::error::Error>>(ws)
                    }
                })
                .await
            }
            "yawc" => {
                at_scale::<YawcMsg, _, _, _>(run, |tcp| {
                    let url = url.clone();
                    async move {
                        let options = yawc::Options::default().with_no_delay();
                        let ws = yawc::WebSocket::handshake(url.parse()?, tcp, options).await?;
                        Ok::<_, Box<dyn std::error::Error>>(
                            ws.map(Ok::<_, std::convert::Infallible>),
                        )
                    }
                })
                .await
            }
            other => Err(format!("{other} runs no scale scenario here").into()),
        }
    }

    /// Where connections go, and the loopback network N they come from:
    /// `SCALE_SOURCE_NET` (0 by default), so that each run of a script
    /// takes its own addresses, clear of the last run's TIME_WAIT.
    #[derive(Clone, Copy)]
    struct Dial {
        server: SocketAddr,
        net: u8,
    }

    impl Dial {
        fn new(run: &Run) -> Result<Dial> {
            let url = url::Url::parse(&run.url())?;
            let server = SocketAddr::from((
                url.host_str().ok_or("no host")?.parse::<Ipv4Addr>()?,
                url.port().ok_or("no port")?,
            ));
            let net = std::env::var("SCALE_SOURCE_NET")
                .ok()
                .and_then(|v| v.parse::<u8>().ok())
                .unwrap_or(0);
            Ok(Dial { server, net })
        }

        /// The `i`th connection, from 127.0.N.(2 + i / 25,000).
        async fn tcp(self, i: usize) -> Result<TcpStream> {
            let host = u8::try_from(2 + i / PER_SOURCE).map_err(|_| "too many connections")?;
            let socket = TcpSocket::new_v4()?;
            // The port is chosen at connect, by the whole address pair: chosen
            // at bind, each bind searches past every port bound so far.
            {
                use std::os::fd::AsRawFd;
                let on: libc::c_int = 1;
                // SAFETY: the descriptor is the live socket's; the option's value
                // is a c_int that outlives the call, its size passed with it.
                let r = unsafe {
                    libc::setsockopt(
                        socket.as_raw_fd(),
                        libc::IPPROTO_IP,
                        libc::IP_BIND_ADDRESS_NO_PORT,
                        (&on as *const libc::c_int).cast(),
                        std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                    )
                };
                if r != 0 {
                    return Err(std::io::Error::last_os_error().into());
                }
            }
            socket.bind(SocketAddr::from((Ipv4Addr::new(127, 0, self.net, host), 0)))?;
            let stream = socket.connect(self.server).await?;
            stream.set_nodelay(true)?;
            Ok(stream)
        }
    }

    async fn at_scale<L, S, E, F>(run: &Run, open: impl Fn(TcpStream) -> F) -> Result<usize>
    where
        L: Lib + 'static,
        S: Stream<Item = std::result::Result<L::M, E>> + Sink<L::M> + Unpin + 'static,
        L::M: 'static,
        E: std::error::Error + 'static,
        <S as Sink<L::M>>::Error: std::error::Error + 'static,
        F: Future<Output = Result<S>>,
    {
        let dial = Dial::new(run)?;
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async move {
                match run.scenario {
                    Scenario::Scale => idle::<L, S, E, F>(run, dial, open).await,
                    _ => active::<L, S, E, F>(run, dial, open).await,
                }
            })
            .await
    }

    /// Opens `count` connections and holds them, each read by its own task;
    /// then times a ping on a sample of them, one after another. Prints
    /// `scale LIB COUNT open_secs bytes_per_connection ping_median_us
    /// ping_max_us`.
    async fn idle<L, S, E, F>(run: &Run, dial: Dial, open: impl Fn(TcpStream) -> F) -> Result<usize>
    where
        L: Lib + 'static,
        S: Stream<Item = std::result::Result<L::M, E>> + Sink<L::M> + Unpin + 'static,
        L::M: 'static,
        E: std::error::Error + 'static,
        <S as Sink<L::M>>::Error: std::error::Error + 'static,
        F: Future<Output = Result<S>>,
    {
        let before = current_rss();
        let start = Instant::now();
        let every = (run.count / SAMPLE).max(1);
        let mut probes = Vec::new();
        for i in 0..run.count {
            let ws = open(dial.tcp(i).await?).await?;
            if i % every == 0 {
                let (tx, rx) = mpsc::channel(1);
                probes.push(tx);
                tokio::task::spawn_local(probe::<L, S, E>(ws, rx));
            } else {
                let mut ws = ws;
                tokio::task::spawn_local(async move { while let Some(Ok(_)) = ws.next().await {} });
            }
        }
        let opened = start.elapsed().as_secs_f64();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let per = current_rss().saturating_sub(before) / run.count.max(1);
        let mut rtts = Vec::new();
        for probe in &probes {
            let (tx, rx) = oneshot::channel();
            probe.send(tx).await.map_err(|_| "a probe ended")?;
            let rtt = tokio::time::timeout(Duration::from_secs(10), rx)
                .await
                .map_err(|_| "no pong within 10 s")??;
            rtts.push(rtt.as_micros());
        }
        rtts.sort_unstable();
        let lib = std::env::args().nth(1).unwrap_or_default();
        println!(
            "scale {lib} {} {opened:.2} {per} {} {}",
            run.count,
            rtts[rtts.len() / 2],
            rtts[rtts.len() - 1]
        );
        Ok(per)
    }

    /// A sampled connection: pings when asked, and answers with the round
    /// trip once the pong is back.
    async fn probe<L, S, E>(mut ws: S, mut asks: mpsc::Receiver<oneshot::Sender<Duration>>)
    where
        L: Lib + 'static,
        S: Stream<Item = std::result::Result<L::M, E>> + Sink<L::M> + Unpin,
    {
        let mut waiting: Option<(Instant, oneshot::Sender<Duration>)> = None;
        loop {
            tokio::select! {
                ask = asks.recv() => {
                    let Some(reply) = ask else { return };
                    let sent = Instant::now();
                    if ws.send(L::M::ping()).await.is_err() {
                        return;
                    }
                    waiting = Some((sent, reply));
                }
                message = ws.next() => match message {
                    Some(Ok(m)) if m.is_pong() => {
                        if let Some((sent, reply)) = waiting.take() {
                            let _ = reply.send(sent.elapsed());
                        }
                    }
                    Some(Ok(_)) => {}
                    _ => return,
                },
            }
        }
    }

    /// `count` connections, each sending `size` bytes every 100 ms (their
    /// phases spread over the interval) and reading the echoes; after a
    /// second to settle, client CPU is measured over 10 s. Prints `active
    /// LIB COUNT messages cpu_secs us_per_message`.
    async fn active<L, S, E, F>(
        run: &Run,
        dial: Dial,
        open: impl Fn(TcpStream) -> F,
    ) -> Result<usize>
    where
        L: Lib + 'static,
        S: Stream<Item = std::result::Result<L::M, E>> + Sink<L::M> + Unpin + 'static,
        L::M: 'static,
        E: std::error::Error + 'static,
        <S as Sink<L::M>>::Error: std::error::Error + 'static,
        F: Future<Output = Result<S>>,
    {
        let echoed = Rc::new(Cell::new(0u64));
        let payload = run.payload();
        let start = tokio::time::Instant::now();
        for i in 0..run.count {
            let mut ws = open(dial.tcp(i).await?).await?;
            let echoed = echoed.clone();
            let payload = payload.clone();
            let phase = EVERY.mul_f64(i as f64 / run.count as f64);
            tokio::task::spawn_local(async move {
                let mut tick = tokio::time::interval_at(start + phase, EVERY);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = tick.tick() => {
                            if ws.send(L::M::data(&payload)).await.is_err() {
                                return;
                            }
                        }
                        message = ws.next() => match message {
                            Some(Ok(m)) => {
                                if m.len().is_some() {
                                    echoed.set(echoed.get() + 1);
                                }
                            }
                            _ => return,
                        },
                    }
                }
            });
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (cpu0, _) = lomond_bench::cpu_and_rss();
        let n0 = echoed.get();
        tokio::time::sleep(MEASURE).await;
        let (cpu1, _) = lomond_bench::cpu_and_rss();
        let n = echoed.get() - n0;
        let cpu = cpu1 - cpu0;
        let lib = std::env::args().nth(1).unwrap_or_default();
        println!(
            "active {lib} {} {n} {cpu:.3} {:.2}",
            run.count,
            cpu * 1e6 / n.max(1) as f64
        );
        Ok(0)
    }
}

/// Scenarios over any `Stream + Sink` client.
mod generic {
    use super::*;
    use std::future::Future;

    pub async fn run<L, S, E, F>(run: &Run, open: impl Fn() -> F) -> Result<usize>
    where
        L: Lib,
        S: Stream<Item = std::result::Result<L::M, E>> + Sink<L::M> + Unpin + 'static,
        L::M: 'static,
        E: 'static,
        E: std::error::Error + 'static,
        <S as Sink<L::M>>::Error: std::error::Error + 'static,
        F: Future<Output = Result<S>>,
    {
        if run.scenario == Scenario::Idle {
            // Each connection is polled by its own task, as an application
            // waiting for messages would.
            let before = current_rss();
            let local = tokio::task::LocalSet::new();
            for _ in 0..run.count {
                let mut ws = open().await?;
                local.spawn_local(async move { while let Some(Ok(_)) = ws.next().await {} });
            }
            local
                .run_until(tokio::time::sleep(std::time::Duration::from_millis(500)))
                .await;
            let per = (current_rss().saturating_sub(before)) / run.count.max(1);
            return Ok(per);
        }
        let mut ws = open().await?;
        let payload = run.payload();
        match run.scenario {
            Scenario::Recv => {
                let mut got = 0;
                while got < run.count {
                    match ws.next().await {
                        Some(m) => {
                            if m?.len().is_some() {
                                got += 1;
                            }
                        }
                        None => return Err("closed early".into()),
                    }
                }
            }
            Scenario::Send => {
                for _ in 0..run.count {
                    ws.feed(L::M::data(&payload)).await?;
                }
                ws.send(L::M::text("done")).await?;
                loop {
                    let m = ws.next().await.ok_or("closed early")??;
                    if let Some(t) = m.as_text() {
                        run.check_total(t)?;
                        break;
                    }
                }
            }
            Scenario::Echo(inflight) => {
                // With many in flight, replies are fed, and flushed when
                // nothing more has arrived: what a responder does to write
                // in batches. With one, that look finds nothing, ever: a
                // request and its answer is sent, then awaited, as the
                // blocking and fastwebsockets loops do. BENCH_RESPONDER=1
                // runs the responder's loop with one in flight too.
                let responder = inflight > 1 || std::env::var_os("BENCH_RESPONDER").is_some();
                let first = inflight.min(run.count);
                for _ in 0..first {
                    ws.feed(L::M::data(&payload)).await?;
                }
                ws.flush().await?;
                let (mut sent, mut got) = (first, 0);
                while got < run.count {
                    let next = match responder {
                        true => match ws.next().now_or_never() {
                            Some(next) => next,
                            None => {
                                ws.flush().await?;
                                ws.next().await
                            }
                        },
                        false => ws.next().await,
                    };
                    let m = next.ok_or("closed early")??;
                    if m.len().is_some() {
                        got += 1;
                        if sent < run.count {
                            match responder {
                                true => ws.feed(L::M::data(&payload)).await?,
                                false => ws.send(L::M::data(&payload)).await?,
                            }
                            sent += 1;
                        }
                    }
                }
            }
            Scenario::Idle | Scenario::Scale | Scenario::Active => unreachable!(),
        }
        let _ = ws.close().await;
        Ok(0)
    }
}

/// The blocking clients.
mod blocking {
    use super::*;
    use lomond::{Event, WebSocket};
    use tungstenite::Message;

    pub fn lomond(run: &Run) -> Result<usize> {
        if run.scenario == Scenario::Idle {
            return Err("idle needs an async client".into());
        }
        let ws = WebSocket::new(&run.url())?
            .ping_rate(None)
            .poll(None)
            .compress(run.deflate)
            .tls(lomond_bench::lomond_tls(&run.base));
        let sender = ws.sender();
        let payload = run.payload();
        let (mut sent, mut got) = (0, 0);
        for event in ws {
            match event {
                Event::Ready { .. } => match run.scenario {
                    Scenario::Send => {
                        for _ in 0..run.count {
                            sender.feed_binary(&payload)?;
                        }
                        sender.send_text("done")?;
                    }
                    Scenario::Echo(inflight) => {
                        while sent < inflight.min(run.count) {
                            sender.feed_binary(&payload)?;
                            sent += 1;
                        }
                        sender.flush()?;
                    }
                    _ => {}
                },
                Event::Text(t) if run.scenario == Scenario::Send => {
                    run.check_total(&t)?;
                    sender.close(1000, "")?;
                }
                Event::Text(_) | Event::Binary(_) => {
                    got += 1;
                    if matches!(run.scenario, Scenario::Echo(_)) && sent < run.count {
                        // The iterator writes what is fed before it waits.
                        sender.feed_binary(&payload)?;
                        sent += 1;
                    }
                    if got == run.count && sender.is_open() {
                        sender.close(1000, "")?;
                    }
                }
                Event::ConnectFail { error } => return Err(error.into()),
                Event::ProtocolError { error } => return Err(error.into()),
                _ => {}
            }
        }
        if run.scenario != Scenario::Send && got < run.count {
            return Err("closed early".into());
        }
        Ok(0)
    }

    pub fn tungstenite(run: &Run) -> Result<usize> {
        if run.scenario == Scenario::Idle {
            return Err("idle needs an async client".into());
        }
        let (mut ws, _) = tungstenite::connect(run.url())?;
        if let tungstenite::stream::MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_nodelay(true)?;
        }
        let payload = run.payload();
        match run.scenario {
            Scenario::Recv => {
                let mut got = 0;
                while got < run.count {
                    if let Message::Binary(_) | Message::Text(_) = ws.read()? {
                        got += 1;
                    }
                }
            }
            Scenario::Send => {
                for _ in 0..run.count {
                    ws.write(Message::Binary(payload.clone()))?;
                }
                ws.send(Message::Text("done".into()))?;
                loop {
                    if let Message::Text(t) = ws.read()? {
                        run.check_total(&t)?;
                        break;
                    }
                }
            }
            Scenario::Echo(inflight) => {
                let first = inflight.min(run.count);
                for _ in 0..first {
                    ws.write(Message::Binary(payload.clone()))?;
                }
                ws.flush()?;
                let (mut sent, mut got) = (first, 0);
                while got < run.count {
                    if let Message::Binary(_) = ws.read()? {
                        got += 1;
                        if sent < run.count {
                            ws.send(Message::Binary(payload.clone()))?;
                            sent += 1;
                        }
                    }
                }
            }
            Scenario::Idle | Scenario::Scale | Scenario::Active => unreachable!(),
        }
        let _ = ws.close(None);
        Ok(0)
    }
}

/// fastwebsockets: no Stream/Sink, and its client handshake wants hyper, so
/// the upgrade is done by hand and the library takes over the stream.
mod fastws {
    use super::*;
    use fastwebsockets::{Frame, OpCode, Payload, Role, WebSocket};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    async fn open(url: &str) -> Result<WebSocket<TcpStream>> {
        let rest = url.strip_prefix("ws://").ok_or("ws:// only")?;
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let mut stream = TcpStream::connect(host).await?;
        stream.set_nodelay(true)?;
        let request = format!(
            "GET /{path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if stream.read(&mut byte).await? == 0 {
                return Err("closed during handshake".into());
            }
            head.push(byte[0]);
        }
        if !head.starts_with(b"HTTP/1.1 101") {
            return Err("not upgraded".into());
        }
        let mut ws = WebSocket::after_handshake(stream, Role::Client);
        ws.set_auto_close(true);
        ws.set_auto_pong(true);
        ws.set_max_message_size(64 << 20);
        Ok(ws)
    }

    fn is_data(frame: &Frame<'_>) -> bool {
        matches!(frame.opcode, OpCode::Binary | OpCode::Text)
    }

    pub async fn run(run: &Run) -> Result<usize> {
        if run.scenario == Scenario::Idle {
            let before = current_rss();
            let local = tokio::task::LocalSet::new();
            for _ in 0..run.count {
                let mut ws = open(&run.url()).await?;
                local.spawn_local(async move { while ws.read_frame().await.is_ok() {} });
            }
            local
                .run_until(tokio::time::sleep(std::time::Duration::from_millis(500)))
                .await;
            let per = (current_rss().saturating_sub(before)) / run.count.max(1);
            return Ok(per);
        }
        let mut ws = open(&run.url()).await?;
        let payload = run.payload();
        match run.scenario {
            Scenario::Recv => {
                let mut got = 0;
                while got < run.count {
                    if is_data(&ws.read_frame().await?) {
                        got += 1;
                    }
                }
            }
            Scenario::Send => {
                for _ in 0..run.count {
                    ws.write_frame(Frame::binary(Payload::Borrowed(&payload)))
                        .await?;
                }
                ws.write_frame(Frame::text(Payload::Borrowed(b"done")))
                    .await?;
                loop {
                    let frame = ws.read_frame().await?;
                    if frame.opcode == OpCode::Text {
                        run.check_total(std::str::from_utf8(&frame.payload)?)?;
                        break;
                    }
                }
            }
            Scenario::Echo(inflight) => {
                let first = inflight.min(run.count);
                for _ in 0..first {
                    ws.write_frame(Frame::binary(Payload::Borrowed(&payload)))
                        .await?;
                }
                let (mut sent, mut got) = (first, 0);
                while got < run.count {
                    if is_data(&ws.read_frame().await?) {
                        got += 1;
                        if sent < run.count {
                            ws.write_frame(Frame::binary(Payload::Borrowed(&payload)))
                                .await?;
                            sent += 1;
                        }
                    }
                }
            }
            Scenario::Idle | Scenario::Scale | Scenario::Active => unreachable!(),
        }
        let _ = ws.write_frame(Frame::close(1000, b"")).await;
        Ok(0)
    }
}
