//! Load generator for `wafl run`, on loopback, measured against a baseline of our own on
//! the same machine and load.
//!
//! `cargo bench --bench load` (optionally `-- --connections 64 --seconds 10 --contacts
//! 300000`, `--no-baseline`). It starts a fake Graph API in this process, the release
//! `wafl` binary as a child process with a fresh database, and N keep-alive connections
//! that each send signed webhooks back to back, every message a distinct wamid from one
//! of `--contacts` contacts. Then the same load runs against the baseline
//! (`support/baseline.rs`: a minimal durable axum + SQLite server, started as a child
//! process of this benchmark). For each it reports:
//!
//! - acknowledged webhooks/s (200), refused (503: backpressure) and other errors;
//! - acknowledgement latency p50/p99/max;
//! - processed messages (engine steps) during the window and end to end: the time until
//!   every acknowledged message was processed (drain), and the rate over that time;
//! - bytes written per acknowledged message and write calls per message
//!   (`/proc/<pid>/io` of the server);
//! - the WAL file's largest size during the run and its size at the end;
//! - the server's peak resident memory (`VmHWM`);
//!
//! and every figure of `wafl run` as a ratio to the baseline's.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[path = "../tests/support/fake.rs"]
mod fake;

#[path = "support/loadgen.rs"]
mod loadgen;
use loadgen::{SECRET, arg, metric};

#[path = "support/baseline.rs"]
mod baseline;

const SCRIPT: &str = "flow \"Load\" { timezone \"UTC\" }\nteam billing { agents \"a@x.com\" }\nstage triage {\n  on keyword \"fatura\", \"boleto\" { route billing; reply \"Billing: {message.text}\" }\n  on keyword \"bye\" { close \"done\" }\n  otherwise { reply \"Hello\" }\n}\n";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // The baseline server, as a child process of this benchmark.
    if let Some(i) = args.iter().position(|a| a == "--serve-baseline") {
        let (Some(port), Some(db)) = (args.get(i + 1), args.get(i + 2)) else {
            panic!("--serve-baseline PORT DB");
        };
        let listener = std::net::TcpListener::bind(format!("127.0.0.1:{port}")).expect("bind");
        baseline::start(Path::new(db), SECRET, listener, 2);
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: only run
    // for real when asked to bench.
    if !args.iter().any(|a| a == "--bench") {
        println!("load: skipped (run with `cargo bench --bench load`)");
        return;
    }
    let connections = arg("--connections", 64) as usize;
    let seconds = arg("--seconds", 10);
    loadgen::CONTACTS.store(arg("--contacts", 300_000), Ordering::Relaxed);
    let with_baseline = !args.iter().any(|a| a == "--no-baseline");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        println!(
            "load: {connections} connections, {seconds} s, {} contacts; load average before: {}",
            loadgen::CONTACTS.load(Ordering::Relaxed),
            uptime()
        );
        let wafl = run_wafl(connections, seconds).await;
        wafl.print("wafl run");
        if with_baseline {
            let base = run_baseline(connections, seconds).await;
            base.print("baseline");
            ratios(&wafl, &base);
        }
        println!("load average after: {}", uptime());
    });
}

/// What one run measured.
#[derive(Default)]
struct Run {
    elapsed: f64,
    acked: u64,
    refused: usize,
    errors: usize,
    p50: f64,
    p99: f64,
    max: f64,
    processed_window: u64,
    processed: u64,
    drain: f64,
    write_bytes: u64,
    write_calls: u64,
    wal_peak: u64,
    wal_end: u64,
    rss_peak_kb: u64,
}

impl Run {
    fn acked_rate(&self) -> f64 {
        self.acked as f64 / self.elapsed
    }

    fn processed_rate(&self) -> f64 {
        self.processed as f64 / self.drain.max(self.elapsed)
    }

    fn bytes_per_msg(&self) -> f64 {
        self.write_bytes as f64 / self.acked.max(1) as f64
    }

    fn print(&self, name: &str) {
        println!("--- {name}");
        println!(
            "acknowledged         {} webhooks ({:.0}/s) in {:.1} s; refused (503) {}, other errors {}",
            self.acked,
            self.acked_rate(),
            self.elapsed,
            self.refused,
            self.errors - self.refused
        );
        println!(
            "ack latency          p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.p50, self.p99, self.max
        );
        println!(
            "processed            {} during the run ({:.0}/s); {} of {} after {:.1} s: {:.0}/s end to end",
            self.processed_window,
            self.processed_window as f64 / self.elapsed,
            self.processed,
            self.acked,
            self.drain,
            self.processed_rate()
        );
        println!(
            "written              {:.1} KB per message in {:.1} write calls",
            self.bytes_per_msg() / 1024.0,
            self.write_calls as f64 / self.acked.max(1) as f64
        );
        println!(
            "WAL                  peak {:.1} MB, at the end {:.1} MB",
            self.wal_peak as f64 / 1e6,
            self.wal_end as f64 / 1e6
        );
        println!(
            "peak RSS             {:.0} MB",
            self.rss_peak_kb as f64 / 1024.0
        );
    }
}

fn ratios(w: &Run, b: &Run) {
    let r = |x: f64, y: f64| if y > 0.0 { x / y } else { 0.0 };
    println!("--- wafl run / baseline");
    println!(
        "acknowledged/s {:.2}×, processed/s {:.2}×, p99 ack {:.2}×, bytes per message {:.2}×, peak RSS {:.2}×",
        r(w.acked_rate(), b.acked_rate()),
        r(w.processed_rate(), b.processed_rate()),
        r(w.p99, b.p99),
        r(w.bytes_per_msg(), b.bytes_per_msg()),
        r(w.rss_peak_kb as f64, b.rss_peak_kb as f64)
    );
}

fn uptime() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// `(write_bytes, syscw)` of a process so far.
fn io_of(pid: u32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    (field("write_bytes:"), field("syscw:"))
}

fn rss_peak_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

async fn wait_ready(child: &mut Child, url: &str) {
    let probe = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while probe
        .get(url)
        .send()
        .await
        .map(|r| r.status().is_server_error())
        .unwrap_or(true)
    {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("server not ready at {url}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn fresh_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wafl-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

/// Fires the load at `base` for `seconds` while sampling the WAL at `wal`.
async fn fire(base: &str, connections: usize, seconds: u64, wal: PathBuf) -> (Run, Vec<Duration>) {
    let counter = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    loadgen::REFUSED.store(0, Ordering::Relaxed);
    let wal_peak = Arc::new(AtomicU64::new(0));
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (wal_peak, sampling) = (wal_peak.clone(), sampling.clone());
        std::thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                wal_peak.fetch_max(file_len(&wal), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let start = Instant::now();
    let stop_at = start + Duration::from_secs(seconds);
    let lat = loadgen::fire(&[base.to_string()], connections, stop_at, &counter, &errors).await;
    let run = Run {
        elapsed: start.elapsed().as_secs_f64(),
        acked: lat.len() as u64,
        refused: loadgen::REFUSED.load(Ordering::Relaxed),
        errors: errors.load(Ordering::Relaxed),
        ..Run::default()
    };
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.join();
    (
        Run {
            wal_peak: wal_peak.load(Ordering::Relaxed),
            ..run
        },
        lat,
    )
}

fn percentiles(run: &mut Run, mut lat: Vec<Duration>) {
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(0.0)
    };
    run.p50 = pct(0.50);
    run.p99 = pct(0.99);
    run.max = pct(1.0);
}

async fn run_wafl(connections: usize, seconds: u64) -> Run {
    let graph = fake::start().await;
    let dir = fresh_dir("load");
    let script = dir.join("load.flow");
    std::fs::write(&script, SCRIPT).expect("script");
    let port = free_port();
    let db = dir.join("wafl.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wafl"))
        .args([
            "run",
            &script.display().to_string(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("WAFL_ACCESS_TOKEN", "t")
        .env("WAFL_PHONE_NUMBER_ID", "PNID")
        .env("WAFL_APP_SECRET", SECRET)
        .env("WAFL_GRAPH_URL", graph.url())
        .env("WAFL_DATABASE", &db)
        .env("WAFL_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn wafl run");
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&mut child, &format!("{base}/readyz")).await;
    let probe = reqwest::Client::new();
    let pid = child.id();
    let io_before = io_of(pid);
    let steps_before = metric(&probe, &base, "wafl_engine_steps_total").await;
    let (mut run, lat) = fire(
        &base,
        connections,
        seconds,
        PathBuf::from(format!("{}-wal", db.display())),
    )
    .await;
    run.processed_window = metric(&probe, &base, "wafl_engine_steps_total").await - steps_before;
    // Let the daemon finish the backlog: the end-to-end rate counts until the last
    // acknowledged message is processed.
    let drain_deadline = Instant::now() + Duration::from_secs(300);
    let started_drain = Instant::now();
    run.processed = run.processed_window;
    while Instant::now() < drain_deadline && run.processed < run.acked {
        tokio::time::sleep(Duration::from_millis(50)).await;
        run.processed = metric(&probe, &base, "wafl_engine_steps_total").await - steps_before;
    }
    run.drain = run.elapsed + started_drain.elapsed().as_secs_f64();
    let io_after = io_of(pid);
    run.write_bytes = io_after.0 - io_before.0;
    run.write_calls = io_after.1 - io_before.1;
    run.wal_end = file_len(Path::new(&format!("{}-wal", db.display())));
    run.rss_peak_kb = rss_peak_kb(pid);
    percentiles(&mut run, lat);
    let _ = child.kill();
    let _ = child.wait();
    println!("replies at fake API  {}", graph.requests().len());
    let _ = std::fs::remove_dir_all(&dir);
    run
}

async fn run_baseline(connections: usize, seconds: u64) -> Run {
    let dir = fresh_dir("baseline");
    let db = dir.join("baseline.db");
    let port = free_port();
    let mut child = Command::new(std::env::current_exe().expect("this benchmark"))
        .args([
            "--serve-baseline",
            &port.to_string(),
            &db.display().to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the baseline");
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&mut child, &format!("{base}/ready")).await;
    let pid = child.id();
    let io_before = io_of(pid);
    let (mut run, lat) = fire(
        &base,
        connections,
        seconds,
        PathBuf::from(format!("{}-wal", db.display())),
    )
    .await;
    // The baseline decides and stores in the request: what it acknowledged is processed.
    run.processed_window = run.acked;
    run.processed = run.acked;
    run.drain = run.elapsed;
    let io_after = io_of(pid);
    run.write_bytes = io_after.0 - io_before.0;
    run.write_calls = io_after.1 - io_before.1;
    run.wal_end = file_len(Path::new(&format!("{}-wal", db.display())));
    run.rss_peak_kb = rss_peak_kb(pid);
    percentiles(&mut run, lat);
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    run
}
