//! Load on several `wafl run` instances over one database, on loopback: the same traffic
//! as `benches/load.rs` (signed webhooks from 10,000 contacts, back to back on N
//! connections), spread round-robin over the instances like a load balancer would.
//!
//! `cargo bench --bench instances -- --postgres --instances 2 --connections 64
//! --seconds 10`; without `--postgres` it runs one instance on a SQLite file. PostgreSQL
//! comes from `WAFL_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/test`);
//! the run gets a schema of its own, dropped afterwards. Reports acknowledged webhooks/s, p50/p99/max acknowledgement latency, and
//! processed messages/s (engine steps, summed over the instances' /metrics).

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[path = "../tests/support/fake.rs"]
mod fake;

#[path = "support/loadgen.rs"]
mod loadgen;
use loadgen::{SECRET, arg, metric};

fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: only run
    // for real when asked to bench.
    if !std::env::args().any(|a| a == "--bench") {
        println!("instances: skipped (run with `cargo bench --bench instances`)");
        return;
    }
    let connections = arg("--connections", 64) as usize;
    let seconds = arg("--seconds", 10);
    let instances = arg("--instances", 1).max(1) as usize;
    let url = std::env::var("WAFL_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("wafl_bench_{}", std::process::id());
    let pg = flag("--postgres").then(|| (url.clone(), schema.clone()));
    if pg.is_none() && instances > 1 {
        println!("instances: SQLite serves one instance; use --postgres for more");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(connections, seconds, instances, pg.clone()));
    if pg.is_some() {
        // The synchronous client runs outside the async runtime.
        if let Ok(mut c) = url
            .parse::<postgres::Config>()
            .and_then(|c| c.connect(postgres::NoTls))
        {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

async fn run(connections: usize, seconds: u64, instances: usize, pg: Option<(String, String)>) {
    let graph = fake::start().await;
    let dir = std::env::temp_dir().join(format!("wafl-instances-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let script = dir.join("load.flow");
    std::fs::write(
        &script,
        "flow \"Load\" { timezone \"UTC\" }\nteam billing { agents \"a@x.com\" }\nstage triage {\n  on keyword \"fatura\", \"boleto\" { route billing; reply \"Billing: {message.text}\" }\n  on keyword \"bye\" { close \"done\" }\n  otherwise { reply \"Hello\" }\n}\n",
    )
    .expect("script");
    let mut children = Vec::new();
    let mut bases = Vec::new();
    for i in 0..instances {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("port");
        let config = dir.join(format!("i{i}.toml"));
        let database = match &pg {
            Some((url, schema)) => {
                std::fs::write(
                    &config,
                    format!("[postgres]\nschema = \"{schema}\"\ninstance = \"bench-{i}\"\npool_size = 16\n"),
                )
                .expect("config");
                url.clone()
            }
            None => {
                std::fs::write(&config, "").expect("config");
                dir.join("wafl.db").display().to_string()
            }
        };
        let child = Command::new(env!("CARGO_BIN_EXE_wafl"))
            .args([
                "run",
                &script.display().to_string(),
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--config",
                &config.display().to_string(),
                "--database",
                &database,
            ])
            .env("WAFL_ACCESS_TOKEN", "t")
            .env("WAFL_PHONE_NUMBER_ID", "PNID")
            .env("WAFL_APP_SECRET", SECRET)
            .env("WAFL_GRAPH_URL", graph.url())
            .env("WAFL_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn wafl run");
        children.push(child);
        bases.push(format!("http://127.0.0.1:{port}"));
    }
    let probe = reqwest::Client::new();
    for base in &bases {
        let deadline = Instant::now() + Duration::from_secs(30);
        while probe
            .get(format!("{base}/readyz"))
            .send()
            .await
            .map(|r| r.status() != 200)
            .unwrap_or(true)
        {
            if Instant::now() > deadline {
                for c in &mut children {
                    let _ = c.kill();
                }
                panic!("daemon not ready");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let steps = |probe: reqwest::Client, bases: Vec<String>| async move {
        let mut sum = 0;
        for b in &bases {
            sum += metric(&probe, b, "wafl_engine_steps_total").await;
        }
        sum
    };
    let counter = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let steps_before = steps(probe.clone(), bases.clone()).await;
    let start = Instant::now();
    let stop_at = start + Duration::from_secs(seconds);
    let mut lat = loadgen::fire(&bases, connections, stop_at, &counter, &errors).await;
    let elapsed = start.elapsed().as_secs_f64();
    let steps_window = steps(probe.clone(), bases.clone()).await - steps_before;
    // Let the daemon finish the backlog, then measure the end-to-end rate.
    let acked = lat.len() as u64;
    let drain_deadline = Instant::now() + Duration::from_secs(120);
    let mut steps_total = steps_window;
    while Instant::now() < drain_deadline {
        steps_total = steps(probe.clone(), bases.clone()).await - steps_before;
        if steps_total >= acked {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drained = start.elapsed().as_secs_f64();
    for c in &mut children {
        let _ = c.kill();
        let _ = c.wait();
    }
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(0.0)
    };
    println!(
        "database             {} x {instances} instance(s)",
        if pg.is_some() { "PostgreSQL" } else { "SQLite" }
    );
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
