//! Runs every client library through every scenario against one
//! bench-server, interleaved and repeated, and writes the medians to
//! `docs/bench.md` and a chart to `docs/bench.svg`.
//!
//!     cargo build --release -p lomond-bench && cargo build --release -p lomond-bench-ratchet
//!     target/release/bench-run [--quick] [--reps N]
//!         [--libs LIB,LIB..] [--only SCENARIO[:SIZE],..]
//!
//! `--quick` runs smaller counts (a smoke test, not a measurement).
//! `--libs` and `--only` pick some libraries and cases (for comparing a
//! change quickly); such a partial run writes `docs/bench-partial.*`.
//! With `LOMOND_PY=path/to/python` (a Python with `lomond` installed, see
//! `bench/run.sh`), the original Python Lomond runs too, as the baseline.

use lomond_bench::{DEFLATE_LIBS, FLOOR};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const LIBS: &[&str] = &[
    "lomond-blocking",
    "lomond-tokio",
    "tungstenite",
    "tokio-tungstenite",
    "fastwebsockets",
    "tokio-websockets",
    "yawc",
    "ratchet",
    FLOOR,
];

/// Whether `lib` counts as a peer: not lomond, not the Python baseline (the
/// original Lomond), not the floor.
fn is_peer(lib: &str) -> bool {
    !lib.starts_with("lomond") && lib != FLOOR
}

/// Libraries that can hold 10,000 idle connections on one thread.
const ASYNC_LIBS: &[&str] = &[
    "lomond-tokio",
    "tokio-tungstenite",
    "fastwebsockets",
    "tokio-websockets",
    "yawc",
];

#[derive(Clone)]
struct Case {
    scenario: &'static str,
    size: usize,
    count: usize,
}

fn cases(quick: bool) -> Vec<Case> {
    let scale = if quick { 20 } else { 1 };
    let mut all = Vec::new();
    for scenario in ["recv", "send"] {
        for size in [16usize, 1024, 65536, 1 << 20] {
            // About 512 MiB per run, between 2,000 and 1,000,000 messages:
            // runs of tens of milliseconds varied by 30% on this VM.
            let count = ((512usize << 20) / size).clamp(2000, 1_000_000) / scale;
            all.push(Case {
                scenario,
                size,
                count,
            });
        }
    }
    for scenario in ["recv-z", "send-z"] {
        for size in [1024usize, 65536] {
            // Compression costs microseconds per KiB: about 64 MiB per run.
            let count = ((64usize << 20) / size).clamp(2000, 1_000_000) / scale;
            all.push(Case {
                scenario,
                size,
                count,
            });
        }
    }
    all.push(Case {
        scenario: "echo1",
        size: 32,
        count: 20_000 / scale,
    });
    all.push(Case {
        scenario: "echo64",
        size: 32,
        count: 500_000 / scale,
    });
    all.push(Case {
        scenario: "idle",
        size: 0,
        count: 10_000 / scale,
    });
    all
}

/// One run's figures.
#[derive(Clone, Copy, Default)]
struct Sample {
    secs: f64,
    cpu: f64,
    maxrss_kb: f64,
    extra: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return f64::NAN;
    }
    v[v.len() / 2]
}

/// How many messages `lib` runs in `case`: the Python baseline is about
/// 100x slower, so its runs are kept short.
fn messages_for(lib: &str, case: &Case) -> usize {
    if lib == "lomond-python" {
        (case.count / 50).max(100)
    } else {
        case.count
    }
}

fn run_one(bin: &std::path::Path, lib: &str, case: &Case, url: &str) -> Result<Sample> {
    let out = if lib == "lomond-python" {
        let py = std::env::var("LOMOND_PY")?;
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/client.py");
        Command::new(py)
            .arg(script)
            .args([
                case.scenario,
                &case.size.to_string(),
                &case.count.to_string(),
                url,
            ])
            .output()?
    } else {
        // ratchet has its own binary (see the bench crate's docs).
        let bin = if lib == "ratchet" {
            bin.with_file_name("bench-client-ratchet")
        } else {
            bin.to_path_buf()
        };
        Command::new(bin)
            .args([
                lib,
                case.scenario,
                &case.size.to_string(),
                &case.count.to_string(),
                url,
            ])
            .output()?
    };
    if !out.status.success() {
        return Err(format!(
            "{lib} {} {}: {}",
            case.scenario,
            case.size,
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    let line = String::from_utf8(out.stdout)?;
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 8 {
        return Err(format!("bad output {line:?}").into());
    }
    Ok(Sample {
        secs: f[4].parse()?,
        cpu: f[5].parse()?,
        maxrss_kb: f[6].parse()?,
        extra: f[7].parse()?,
    })
}

/// memcpy bandwidth of this machine, GB/s (the bar for 1 MiB receives).
fn memcpy_gbps() -> f64 {
    let src = vec![1u8; 64 << 20];
    let mut dst = vec![0u8; 64 << 20];
    let mut best = f64::MAX;
    for _ in 0..8 {
        let t = Instant::now();
        dst.copy_from_slice(std::hint::black_box(&src));
        std::hint::black_box(&dst);
        best = best.min(t.elapsed().as_secs_f64());
    }
    (64 << 20) as f64 / best / 1e9
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cpu}, {cores} cores, Linux {}", kernel.trim())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let reps: usize = args
        .iter()
        .position(|a| a == "--reps")
        .and_then(|i| args.get(i + 1))
        .map(|r| r.parse())
        .transpose()?
        .unwrap_or(if quick { 1 } else { 5 });
    let list = |flag: &str| -> Option<Vec<String>> {
        let i = args.iter().position(|a| a == flag)?;
        Some(args.get(i + 1)?.split(',').map(str::to_owned).collect())
    };
    let only = list("--only");
    let pick_libs = list("--libs");
    let partial = only.is_some() || pick_libs.is_some();
    let exe = std::env::current_exe()?;
    let client = exe.with_file_name("bench-client");
    let mut server = Command::new(exe.with_file_name("bench-server"))
        .arg("127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()?;
    let mut url = String::new();
    BufReader::new(server.stdout.take().ok_or("no server stdout")?).read_line(&mut url)?;
    let url = url.trim().to_owned();
    let mut libs: Vec<&str> = LIBS.to_vec();
    if std::env::var("LOMOND_PY").is_ok() {
        libs.push("lomond-python");
    }
    if let Some(pick) = &pick_libs {
        libs.retain(|l| pick.iter().any(|p| p == l));
    }
    let mut cases = cases(quick);
    if let Some(only) = &only {
        cases.retain(|c| {
            only.iter().any(|o| {
                let (scenario, size) = o.split_once(':').unwrap_or((o, ""));
                scenario == c.scenario && (size.is_empty() || size == c.size.to_string())
            })
        });
    }
    let mut samples: BTreeMap<(usize, &str), Vec<Sample>> = BTreeMap::new();
    for rep in 0..reps {
        for (i, case) in cases.iter().enumerate() {
            // Each repetition starts at a different library: whichever ran
            // right after the Python baseline measured up to 25% slower
            // (always lomond-blocking, before the rotation).
            for k in 0..libs.len() {
                let lib = libs[(k + rep) % libs.len()];
                let is_async = ASYNC_LIBS.contains(&lib);
                if case.scenario == "idle" && (!is_async || lib == "ratchet") {
                    continue;
                }
                if case.scenario.ends_with("-z") && !DEFLATE_LIBS.contains(&lib) {
                    continue;
                }
                let mut case = case.clone();
                case.count = messages_for(lib, &case);
                match run_one(&client, lib, &case, &url) {
                    Ok(s) => samples.entry((i, lib)).or_default().push(s),
                    Err(e) => eprintln!("run {rep}: {e}"),
                }
            }
            eprintln!(
                "rep {}/{reps}: {} {} B done",
                rep + 1,
                case.scenario,
                case.size
            );
        }
    }
    let _ = server.kill();

    let memcpy = memcpy_gbps();
    let name = if partial {
        "bench-partial"
    } else if quick {
        "bench-quick"
    } else {
        "bench"
    };
    let md = report(&cases, &libs, &samples, memcpy, reps, quick, name);
    let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs");
    std::fs::create_dir_all(&docs)?;
    std::fs::write(docs.join(format!("{name}.md")), md.0)?;
    std::fs::write(docs.join(format!("{name}.svg")), md.1)?;
    eprintln!("wrote docs/{name}.md and docs/{name}.svg");
    Ok(())
}

/// Per case and library: (msgs/s, MB/s, CPU s per million messages, peak
/// RSS MiB, bytes per idle connection).
type Row = (f64, f64, f64, f64, f64);

fn rows(
    case: &Case,
    libs: &[&str],
    samples: &BTreeMap<(usize, &str), Vec<Sample>>,
    i: usize,
) -> Vec<(String, Row)> {
    libs.iter()
        .filter_map(|&lib| {
            let s = samples.get(&(i, lib))?;
            let count = messages_for(lib, case) as f64;
            let secs = median(s.iter().map(|x| x.secs).collect());
            let cpu = median(s.iter().map(|x| x.cpu).collect());
            let rss = median(s.iter().map(|x| x.maxrss_kb).collect()) / 1024.0;
            let extra = median(s.iter().map(|x| x.extra).collect());
            Some((
                lib.to_owned(),
                (
                    count / secs,
                    count * case.size as f64 / secs / 1e6,
                    cpu / count * 1e6,
                    rss,
                    extra,
                ),
            ))
        })
        .collect()
}

fn report(
    cases: &[Case],
    libs: &[&str],
    samples: &BTreeMap<(usize, &str), Vec<Sample>>,
    memcpy: f64,
    reps: usize,
    quick: bool,
    name: &str,
) -> (String, String) {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Benchmarks{}\n",
        if quick {
            " (quick smoke run, not a measurement)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        md,
        "Machine: {}. memcpy: {memcpy:.1} GB/s. Each figure is the median of {reps} runs; \
         libraries interleaved within each repetition, each repetition starting at the next \
         library; every client is a separate, single-threaded process against the same one-thread `bench-server` on loopback.\n",
        machine()
    );
    let _ = writeln!(
        md,
        "Command: `bash bench/run.sh{}` (builds `lomond-bench` and `lomond-bench-ratchet` \
         in two cargo invocations, so that ratchet's C zlib stays out of the others' build; \
         every other library compresses with zlib-rs), then `target/release/bench-run`.\n",
        std::env::args()
            .skip(1)
            .fold(String::new(), |acc, a| acc + " " + &a)
    );
    let _ = writeln!(
        md,
        "CPU is the client's user+sys time (getrusage) per million messages; lower is better. \
        \"vs best peer\" divides lomond's CPU by the lowest CPU among the other libraries. \
        Each library sends the one payload the cheapest way its API allows: lomond, \
        fastwebsockets and ratchet borrow it (lomond-tokio as `Message::binary(&bytes)`, which copies \
        payloads up to 39 bytes inline and shares larger ones), the others take a `Bytes` \
        clone.\n"
    );
    let _ = writeln!(
        md,
        "`floor` is no library: a client on a raw blocking socket that does only what the \
         wire requires (see `bench/src/floor.rs`), frames built once and repeated, payloads \
         never touched, zlib-rs at level 6 for every compressed message as lomond and yawc \
         use it. It is not a peer. Where it sends or answers, it is what the kernel (and \
         zlib) cost any client: \"floor\" below is its CPU over the best peer's, the least \
         any client could reach. Receiving from the firehose it is no floor: from 1 KiB \
         up it costs more than the libraries, with fewer wakeups, nearly all of it the \
         kernel's copy to user space (`_copy_to_iter`, 78% in perf), which runs slower \
         for a client that reads each segment the moment it lands. There, a client's CPU depends on when it reads as much as on what it \
         does.\n"
    );
    // Chart data: per case, lomond-tokio, lomond-blocking and the floor's
    // CPU relative to the best peer.
    let mut chart: Vec<(String, f64, f64, f64)> = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let rows = rows(case, libs, samples, i);
        if rows.is_empty() {
            continue;
        }
        if case.scenario == "idle" {
            let _ = writeln!(md, "## idle: {} open connections\n", case.count);
            let _ = writeln!(
                md,
                "| library | bytes per connection | peak RSS MiB |\n|---|---:|---:|"
            );
            for (lib, r) in &rows {
                let _ = writeln!(md, "| {lib} | {:.0} | {:.1} |", r.4, r.3);
            }
            md.push('\n');
            continue;
        }
        let _ = writeln!(
            md,
            "## {} {} B ({} messages)\n",
            case.scenario, case.size, case.count
        );
        let _ = writeln!(md, "| library | msgs/s | MB/s | CPU s / M msgs | peak RSS MiB |\n|---|---:|---:|---:|---:|");
        for (lib, r) in &rows {
            let _ = writeln!(
                md,
                "| {lib} | {:.0} | {:.1} | {:.3} | {:.1} |",
                r.0, r.1, r.2, r.3
            );
        }
        let best_peer = rows
            .iter()
            .filter(|(l, _)| is_peer(l))
            .map(|(_, r)| r.2)
            .fold(f64::INFINITY, f64::min);
        let cpu = |name: &str| rows.iter().find(|(l, _)| l == name).map(|(_, r)| r.2);
        let (t, b) = (cpu("lomond-tokio"), cpu("lomond-blocking"));
        let floor = cpu(FLOOR).map_or(f64::NAN, |f| f / best_peer);
        if let (Some(t), Some(b), true) = (t, b, best_peer.is_finite()) {
            let _ = write!(
                md,
                "\nvs best peer: lomond-tokio {:.2}, lomond-blocking {:.2}",
                t / best_peer,
                b / best_peer
            );
            if floor.is_finite() {
                let _ = write!(md, "; floor {floor:.2}");
            }
            md.push('\n');
            chart.push((
                format!("{} {}", case.scenario, case.size),
                t / best_peer,
                b / best_peer,
                floor,
            ));
        }
        if case.scenario == "recv" && case.size == 1 << 20 {
            // Wall-clock rate (bounded by the one-thread server's sending
            // too) and the rate per CPU second the client spends.
            let best = |lomond: bool, field: fn(&Row) -> f64| {
                rows.iter()
                    .filter(|(l, _)| {
                        if lomond {
                            l.starts_with("lomond")
                        } else {
                            is_peer(l)
                        }
                    })
                    .map(|(_, r)| field(r))
                    .fold(0.0, f64::max)
            };
            let wall = best(true, |r| r.1) / 1e3;
            let per_cpu = best(true, |r| (1u64 << 20) as f64 / r.2 / 1e3);
            let _ = writeln!(
                md,
                "\nlomond receives 1 MiB messages at {wall:.1} GB/s of wall-clock time \
                 ({:.2} of memcpy; best peer {:.1} GB/s; the one-thread server's sending \
                 bounds every client), and at {per_cpu:.1} GB/s per second of its own CPU \
                 ({:.2} of memcpy; best peer {:.1} GB/s).",
                wall / memcpy,
                best(false, |r| r.1) / 1e3,
                per_cpu / memcpy,
                best(false, |r| (1u64 << 20) as f64 / r.2 / 1e3),
            );
        }
        md.push('\n');
    }
    let _ = writeln!(md, "![CPU relative to the best peer]({name}.svg)");
    (md, svg(&chart))
}

/// A bar chart of lomond's CPU per message, and the floor's, relative to
/// the best peer (1.0).
fn svg(chart: &[(String, f64, f64, f64)]) -> String {
    let (w, row, left) = (720.0, 36.0, 130.0);
    let h = 60.0 + row * chart.len() as f64;
    let max = chart
        .iter()
        .flat_map(|c| [c.1, c.2, c.3])
        .filter(|v| v.is_finite())
        .fold(1.5f64, f64::max);
    let x = |v: f64| left + (w - left - 60.0) * v / max;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = write!(
        s,
        r#"<text x="10" y="18" font-size="14">lomond CPU per message / best peer's (lower is better; 1.0 = best peer)</text>"#
    );
    for (i, (label, tokio, blocking, floor)) in chart.iter().enumerate() {
        let y = 34.0 + row * i as f64;
        let _ = write!(s, r#"<text x="10" y="{}">{label}</text>"#, y + 19.0);
        for (j, (v, color)) in [
            (*tokio, "#2b6cb0"),
            (*blocking, "#9f7aea"),
            (*floor, "#a0aec0"),
        ]
        .iter()
        .enumerate()
        {
            let yy = y + 2.0 + j as f64 * 11.0;
            if v.is_finite() {
                let _ = write!(
                    s,
                    r#"<rect x="{left}" y="{yy}" width="{:.1}" height="10" fill="{color}"/><text x="{:.1}" y="{}" font-size="10">{v:.2}</text>"#,
                    x(*v) - left,
                    x(*v) + 4.0,
                    yy + 9.0
                );
            }
        }
    }
    let one = x(1.0);
    let _ = write!(
        s,
        r#"<line x1="{one}" y1="28" x2="{one}" y2="{}" stroke="black" stroke-dasharray="4"/>"#,
        h - 10.0
    );
    let legend = [
        ("#2b6cb0", "lomond-tokio"),
        ("#9f7aea", "lomond-blocking"),
        ("#a0aec0", "floor (no library)"),
    ];
    for (k, (color, name)) in legend.iter().enumerate() {
        let lx = w - 390.0 + 120.0 * k as f64;
        let _ = write!(
            s,
            r#"<rect x="{lx}" y="{}" width="10" height="10" fill="{color}"/><text x="{}" y="{}">{name}</text>"#,
            h - 18.0,
            lx + 14.0,
            h - 9.0
        );
    }
    s.push_str("</svg>\n");
    s
}
