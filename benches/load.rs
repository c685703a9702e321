//! Load generator for `wafl run`, on loopback: signed inbound webhooks per second with
//! durable storage, end to end through the engine, and acknowledgement latency.
//!
//! `cargo bench --bench load` (optionally `-- --connections 64 --seconds 10`). It starts
//! a fake Graph API in this process, the release `wafl` binary as a child process with a
//! fresh database, and N connections that each send signed webhooks back to back, every
//! message from a distinct wamid over 10,000 contacts. It reports acknowledged
//! webhooks/s, p50/p99/max acknowledgement latency, and the engine steps/s the daemon
//! completed over the same window (from its /metrics).

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[path = "../tests/support/fake.rs"]
mod fake;

#[path = "support/loadgen.rs"]
mod loadgen;
use loadgen::{SECRET, arg, metric};

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: only run
    // for real when asked to bench.
    if !std::env::args().any(|a| a == "--bench") {
        println!("load: skipped (run with `cargo bench --bench load`)");
        return;
    }
    let connections = arg("--connections", 64) as usize;
    let seconds = arg("--seconds", 10);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(connections, seconds));
}

async fn run(connections: usize, seconds: u64) {
    let graph = fake::start().await;
    let dir = std::env::temp_dir().join(format!("wafl-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let script = dir.join("load.flow");
    std::fs::write(
        &script,
        "flow \"Load\" { timezone \"UTC\" }\nteam billing { agents \"a@x.com\" }\nstage triage {\n  on keyword \"fatura\", \"boleto\" { route billing; reply \"Billing: {message.text}\" }\n  on keyword \"bye\" { close \"done\" }\n  otherwise { reply \"Hello\" }\n}\n",
    )
    .expect("script");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
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
        .env("WAFL_DATABASE", dir.join("wafl.db"))
        .env("WAFL_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn wafl run");
    let base = format!("http://127.0.0.1:{port}");
    let probe = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while probe
        .get(format!("{base}/readyz"))
        .send()
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("daemon not ready");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let counter = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let steps_before = metric(&probe, &base, "wafl_engine_steps_total").await;
    let start = Instant::now();
    let stop_at = start + Duration::from_secs(seconds);
    let mut lat = loadgen::fire(
        std::slice::from_ref(&base),
        connections,
        stop_at,
        &counter,
        &errors,
    )
    .await;
    let elapsed = start.elapsed().as_secs_f64();
    let steps_window = metric(&probe, &base, "wafl_engine_steps_total").await - steps_before;
    // Let the daemon finish the backlog, then measure the end-to-end rate.
    let acked = lat.len() as u64;
    let drain_deadline = Instant::now() + Duration::from_secs(120);
    let mut steps_total = steps_window;
    while Instant::now() < drain_deadline {
        steps_total = metric(&probe, &base, "wafl_engine_steps_total").await - steps_before;
        if steps_total >= acked {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drained = start.elapsed().as_secs_f64();
    let _ = child.kill();
    let _ = child.wait();
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(0.0)
    };
    println!("connections          {connections}");
    println!("duration             {elapsed:.1} s");
    println!(
        "acknowledged         {acked} webhooks ({:.0}/s), errors {}",
        acked as f64 / elapsed,
        errors.load(Ordering::Relaxed)
    );
    println!(
        "ack latency          p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );
    println!(
        "engine steps         {steps_window} during the run ({:.0}/s)",
        steps_window as f64 / elapsed
    );
    println!(
        "end to end           {steps_total} of {acked} processed after {drained:.1} s ({:.0}/s)",
        steps_total as f64 / drained
    );
    println!("replies at fake API  {}", graph.requests().len());
    let _ = std::fs::remove_dir_all(&dir);
}
