//! Real kernel faults between a client and a server: two network
//! namespaces joined by a veth pair, with iptables and tc to break the link.
//!
//! The fault proxy ([`FaultProxy`](crate::FaultProxy)) breaks a connection
//! from user space; a lab breaks it where a real network does: packets
//! dropped by the kernel (a black hole, random loss) and a bandwidth cap
//! on the interface, so that TCP's own retransmits, windows and timers are
//! what the client meets.
//!
//! Layout: the client namespace holds one end of the veth pair
//! (`10.231.N.1/30`), the server namespace the other (`10.231.N.2/30`).
//! Both ends live inside namespaces and `10.231.0.0/16` is black-holed in
//! the root namespace, so no test packet can reach or leave the machine.
//! Code runs in a namespace on a thread of its own ([`NetLab::in_client`],
//! [`NetLab::in_server`]): the network namespace is a property of each
//! thread, inherited by the threads it starts, and sockets stay in the
//! namespace they were made in. Programs run there with
//! [`NetLab::client_command`].
//!
//! A lab needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN), `ip` and `tc` from
//! iproute2, and `iptables`; [`NetLab::new`] says which is missing.
//! Dropping the lab deletes its namespaces; namespaces left by a process
//! that was killed are deleted by the next lab.
//!
//! ```no_run
//! use lomond_testkit::NetLab;
//! use std::time::Duration;
//!
//! let lab = NetLab::new()?; // fails, saying why, unless root
//! let server = lab.echo_server()?;
//! let url = server.url();
//! let events = lab.in_client(move || {
//!     let ws = lomond::WebSocket::new(&url).unwrap()
//!         .ping_rate(Some(Duration::from_secs(1)))
//!         .ping_timeout(Some(Duration::from_secs(2)));
//!     ws.connect().take(3).map(|e| e.name()).collect::<Vec<_>>()
//! });
//! assert_eq!(events.join().unwrap(), ["connecting", "connected", "ready"]);
//! lab.black_hole()?; // every packet dropped; `heal()` undoes it
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::fs::File;
use std::net::Ipv4Addr;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::{self, JoinHandle};

/// The namespaces' address range, black-holed in the root namespace.
const RANGE: &str = "10.231.0.0/16";
/// Prefix of every lab namespace's name: `lmlab-PID-N-c` and `-s`.
const PREFIX: &str = "lmlab-";

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Why a lab could not be made or changed.
#[derive(Debug)]
pub struct LabError(String);

impl fmt::Display for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LabError {}

/// Two network namespaces joined by a veth pair; see the [module
/// docs](self).
pub struct NetLab {
    client_ns: String,
    server_ns: String,
    client_if: String,
    server_if: String,
    subnet: u8,
}

/// One side of the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The client's namespace (and its end of the veth pair).
    Client,
    /// The server's namespace.
    Server,
}

impl NetLab {
    /// Makes the namespaces and the link between them, up and unimpaired.
    pub fn new() -> Result<NetLab, LabError> {
        preflight()?;
        remove_stale();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        // 64 subnets per process, spread by pid so that parallel test
        // binaries rarely meet; a clash fails loudly at `ip addr add`.
        let subnet = ((pid.wrapping_mul(64) + n) % 250) as u8 + 1;
        let tag = format!("{}{}", pid % 100_000, n);
        let lab = NetLab {
            client_ns: format!("{PREFIX}{pid}-{n}-c"),
            server_ns: format!("{PREFIX}{pid}-{n}-s"),
            client_if: format!("lmc{tag}"),
            server_if: format!("lms{tag}"),
            subnet,
        };
        // From here on, Drop cleans up whatever was made.
        ip(&["route", "replace", "blackhole", RANGE])?;
        ip(&["netns", "add", &lab.client_ns])?;
        ip(&["netns", "add", &lab.server_ns])?;
        ip(&[
            "link",
            "add",
            &lab.client_if,
            "type",
            "veth",
            "peer",
            "name",
            &lab.server_if,
        ])?;
        for side in [Side::Client, Side::Server] {
            let (ns, ifname, addr) = (lab.ns(side), lab.ifname(side), lab.addr(side));
            ip(&["link", "set", ifname, "netns", ns])?;
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{addr}/30"),
                "dev",
                ifname,
            ])?;
            ip(&["-n", ns, "link", "set", ifname, "up"])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        Ok(lab)
    }

    /// The client's address (`10.231.N.1`).
    pub fn client_addr(&self) -> Ipv4Addr {
        self.addr(Side::Client)
    }

    /// The server's address (`10.231.N.2`), which the client reaches over
    /// the veth pair.
    pub fn server_addr(&self) -> Ipv4Addr {
        self.addr(Side::Server)
    }

    /// The name of a side's namespace (for `ip netns exec`).
    pub fn ns(&self, side: Side) -> &str {
        match side {
            Side::Client => &self.client_ns,
            Side::Server => &self.server_ns,
        }
    }

    /// Runs `f` on a new thread inside the client's namespace. Threads it
    /// starts, and sockets it makes, belong there too.
    pub fn in_client<T, F>(&self, f: F) -> JoinHandle<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        self.in_ns(Side::Client, f)
    }

    /// Runs `f` on a new thread inside the server's namespace.
    pub fn in_server<T, F>(&self, f: F) -> JoinHandle<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        self.in_ns(Side::Server, f)
    }

    fn in_ns<T, F>(&self, side: Side, f: F) -> JoinHandle<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let path = format!("/run/netns/{}", self.ns(side));
        thread::spawn(move || {
            let ns = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET)
                .unwrap_or_else(|e| panic!("setns {path}: {e}"));
            f()
        })
    }

    /// Starts lomond's echo server ([`EchoServer`](crate::EchoServer)) in
    /// the server's namespace, on the server's address and a free port.
    pub fn echo_server(&self) -> std::io::Result<crate::EchoServer> {
        let addr = format!("{}:0", self.server_addr());
        self.in_server(move || crate::EchoServer::bind(&addr))
            .join()
            .map_err(|_| std::io::Error::other("the echo server's thread panicked"))?
    }

    /// `ip netns exec CLIENT-NS program`: a program run in the client's
    /// namespace.
    pub fn client_command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.client_ns, program]);
        command
    }

    /// Drops every packet in both directions on the client's side: the
    /// link is cut without a word, as when a mobile network loses a
    /// device. Established connections see nothing at all (no FIN, no
    /// RST); new ones see their SYNs vanish.
    pub fn black_hole(&self) -> Result<(), LabError> {
        self.drop_on_link(&[])
    }

    /// Drops each packet with probability `p` (0 to 1), independently in
    /// each direction, on the client's side (iptables' statistic match).
    pub fn loss(&self, p: f64) -> Result<(), LabError> {
        let p = format!("{:.4}", p.clamp(0.0, 1.0));
        self.drop_on_link(&["-m", "statistic", "--mode", "random", "--probability", &p])
    }

    /// Caps what `side` sends to `kbit` kilobits per second (tc's token
    /// bucket filter on its end of the veth pair, with a queue of at most
    /// 400 ms; past it packets are dropped, as on a real slow link).
    pub fn bandwidth(&self, side: Side, kbit: u32) -> Result<(), LabError> {
        let rate = format!("{kbit}kbit");
        // A burst of at least one full-size packet, so the filter can pass
        // any packet at all.
        let burst = format!("{}", (kbit as usize * 1000 / 8 / 50).max(3028));
        let args = [
            "-n",
            self.ns(side),
            "qdisc",
            "replace",
            "dev",
            self.ifname(side),
            "root",
            "tbf",
            "rate",
            &rate,
            "burst",
            &burst,
            "latency",
            "400ms",
        ];
        run("tc", &args)
    }

    /// Removes every fault: the firewall rules and the bandwidth caps.
    pub fn heal(&self) -> Result<(), LabError> {
        run(
            "ip",
            &["netns", "exec", &self.client_ns, "iptables", "-w", "-F"],
        )?;
        for side in [Side::Client, Side::Server] {
            // Fails when no cap was set, which is fine.
            let _ = output(
                "tc",
                &[
                    "-n",
                    self.ns(side),
                    "qdisc",
                    "del",
                    "dev",
                    self.ifname(side),
                    "root",
                ],
            );
        }
        Ok(())
    }

    /// Counters of the client namespace's DROP rules: packets dropped so
    /// far by [`black_hole`](Self::black_hole) and [`loss`](Self::loss).
    pub fn dropped(&self) -> Result<u64, LabError> {
        let out = output(
            "ip",
            &[
                "netns",
                "exec",
                &self.client_ns,
                "iptables",
                "-L",
                "-n",
                "-v",
                "-x",
            ],
        )?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|line| line.contains("DROP") && !line.starts_with("Chain"))
            .filter_map(|line| line.split_whitespace().next()?.parse::<u64>().ok())
            .sum())
    }

    /// Appends a DROP rule matching `matches` for each direction of the
    /// client's end of the link (loopback inside the namespace untouched).
    fn drop_on_link(&self, matches: &[&str]) -> Result<(), LabError> {
        for (chain, dir) in [("INPUT", "-i"), ("OUTPUT", "-o")] {
            let mut args = vec!["netns", "exec", &self.client_ns, "iptables", "-w"];
            args.extend_from_slice(&["-A", chain, dir, &self.client_if]);
            args.extend_from_slice(matches);
            args.extend_from_slice(&["-j", "DROP"]);
            run("ip", &args)?;
        }
        Ok(())
    }

    fn addr(&self, side: Side) -> Ipv4Addr {
        let host = match side {
            Side::Client => 1,
            Side::Server => 2,
        };
        Ipv4Addr::new(10, 231, self.subnet, host)
    }

    fn ifname(&self, side: Side) -> &str {
        match side {
            Side::Client => &self.client_if,
            Side::Server => &self.server_if,
        }
    }
}

impl Drop for NetLab {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth end inside it, and with it
        // the pair.
        for ns in [&self.client_ns, &self.server_ns] {
            let _ = output("ip", &["netns", "del", ns]);
        }
    }
}

/// Checks what a lab needs, naming what is missing.
fn preflight() -> Result<(), LabError> {
    if !nix::unistd::Uid::effective().is_root() {
        return Err(LabError(format!(
            "the network lab needs root (CAP_NET_ADMIN to make network namespaces, \
             veth pairs and firewall rules), and this process runs as uid {}: \
             run it as root, as scripts/netlab.sh and CI do",
            nix::unistd::Uid::effective()
        )));
    }
    for (tool, package) in [
        ("ip", "iproute2"),
        ("tc", "iproute2"),
        ("iptables", "iptables"),
    ] {
        if Command::new(tool).arg("-V").output().is_err() {
            return Err(LabError(format!(
                "the network lab needs `{tool}` (Debian's {package}): \
                 scripts/netlab.sh installs it"
            )));
        }
    }
    Ok(())
}

/// Deletes namespaces of labs whose process is gone (killed mid-test).
fn remove_stale() {
    let Ok(out) = output("ip", &["netns", "list"]) else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or("");
        if !pid.is_empty() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = output("ip", &["netns", "del", name]);
        }
    }
}

fn ip(args: &[&str]) -> Result<(), LabError> {
    run("ip", args)
}

fn run(program: &str, args: &[&str]) -> Result<(), LabError> {
    output(program, args).map(drop)
}

fn output(program: &str, args: &[&str]) -> Result<Output, LabError> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| LabError(format!("{program}: {e}")))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(LabError(format!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}
