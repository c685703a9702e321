//! What the daemon load benchmarks share: the signed webhook traffic and the metric probe.
//! (Included by `benches/load.rs` and `benches/instances.rs` with `#[path]`.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const SECRET: &str = "load-secret";

/// How many distinct contacts the messages come from (`body`).
pub static CONTACTS: AtomicU64 = AtomicU64::new(10_000);

/// Webhooks answered 503 (refused for backpressure or storage; WhatsApp would deliver
/// them again), also counted in `errors`.
pub static REFUSED: AtomicUsize = AtomicUsize::new(0);

pub fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn body(n: u64) -> String {
    let contact = 5511900000000u64 + n % CONTACTS.load(Ordering::Relaxed).max(1);
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"W","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"1","phone_number_id":"PNID"}},"contacts":[{{"profile":{{"name":"Load"}},"wa_id":"{contact}"}}],"messages":[{{"from":"{contact}","id":"wamid.load{n}","timestamp":"1700000000","type":"text","text":{{"body":"fatura {n}"}}}}]}}}}]}}]}}"#
    )
}

pub async fn metric(client: &reqwest::Client, base: &str, name: &str) -> u64 {
    let text = match client.get(format!("{base}/metrics")).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => return 0,
    };
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Sends signed webhooks back to back until `stop_at` on `connections` keep-alive
/// connections, spread round-robin over `bases` as a load balancer would. Returns the
/// latency of every acknowledged (200) webhook.
pub async fn fire(
    bases: &[String],
    connections: usize,
    stop_at: Instant,
    counter: &Arc<AtomicU64>,
    errors: &Arc<AtomicUsize>,
) -> Vec<Duration> {
    let mut tasks = Vec::new();
    for task in 0..connections {
        let counter = counter.clone();
        let errors = errors.clone();
        let base = bases[task % bases.len()].clone();
        tasks.push(tokio::spawn(async move {
            // One client with one pooled connection: one keep-alive connection per task.
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .expect("client");
            let mut lat = Vec::new();
            while Instant::now() < stop_at {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let b = body(n);
                let sig = wafl::daemon::wire::inbound::sign(SECRET.as_bytes(), b.as_bytes());
                let t = Instant::now();
                let r = client
                    .post(format!("{base}/webhook"))
                    .header("x-hub-signature-256", sig)
                    .body(b)
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 200 => lat.push(t.elapsed()),
                    Ok(r) if r.status() == 503 => {
                        REFUSED.fetch_add(1, Ordering::Relaxed);
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            lat
        }));
    }
    let mut lat: Vec<Duration> = Vec::new();
    for t in tasks {
        if let Ok(l) = t.await {
            lat.extend(l);
        }
    }
    lat
}
