//! Three `wafl run` processes over one PostgreSQL database, webhooks spread round-robin
//! over them from many contacts, while instances are killed (SIGKILL, then restarted)
//! and stopped (SIGSTOP, then SIGCONT) at random moments. Afterwards: nothing
//! acknowledged is lost, each message was processed once, each contact's replies went
//! out in the order of its messages, and a request sent twice (it was in flight at a
//! kill or a stop) carried the same idempotency key both times.
//!
//! Needs a PostgreSQL server (tests/support/pg.rs says which and when this skips).

#[path = "support/fake.rs"]
mod fake;
#[path = "support/pg.rs"]
mod pg;

use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const APP_SECRET: &str = "soak-secret";
const INSTANCES: usize = 3;
const CONTACTS: usize = 12;
const PER_CONTACT: usize = 12;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A small deterministic generator, seeded from the clock and printed, so a failing run
/// can be replayed by setting WAFL_SOAK_SEED.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// One instance: its port and config stay the same across restarts.
struct Instance {
    port: u16,
    config: std::path::PathBuf,
    child: Child,
    stopped: bool,
}

fn spawn(script: &Path, config: &Path, url: &str, port: u16, graph: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_wafl"))
        .args([
            "run",
            &script.display().to_string(),
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--config",
            &config.display().to_string(),
            "--database",
            url,
        ])
        .env("WAFL_ACCESS_TOKEN", "token")
        .env("WAFL_PHONE_NUMBER_ID", "PNID")
        .env("WAFL_APP_SECRET", APP_SECRET)
        .env("WAFL_GRAPH_URL", graph)
        .env("WAFL_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("wafl run starts")
}

fn signal(child: &Child, sig: &str) {
    let _ = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status();
}

async fn wait_ready(client: &reqwest::Client, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("instance on port {port} did not become ready");
}

fn contact(c: usize) -> String {
    format!("55119000{c:05}")
}

fn webhook(c: usize, k: usize) -> String {
    let from = contact(c);
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "W", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "1", "phone_number_id": "PNID"},
            "contacts": [{"profile": {"name": "Soak"}, "wa_id": from}],
            "messages": [{"from": from, "id": format!("wamid.soak.{c}.{k}"), "timestamp": "1700000000", "type": "text", "text": {"body": format!("c{c}m{k}")}}]
        }}]}]
    })
    .to_string()
}

/// Posts one webhook like a load balancer would: to the next instance in turn, and to
/// the following ones when an instance does not answer 200 in time.
async fn deliver(client: &reqwest::Client, ports: &[u16], turn: &mut usize, body: &str) -> bool {
    let sig = wafl::daemon::wire::inbound::sign(APP_SECRET.as_bytes(), body.as_bytes());
    // WhatsApp keeps redelivering for hours; a minute covers a restart on a busy machine.
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let port = ports[*turn % ports.len()];
        *turn += 1;
        let res = client
            .post(format!("http://127.0.0.1:{port}/webhook"))
            .header("x-hub-signature-256", &sig)
            .body(body.to_string())
            .send()
            .await;
        if matches!(&res, Ok(r) if r.status() == 200) {
            return true;
        }
    }
    false
}

#[test]
fn three_instances_survive_kills_and_stops_without_loss_or_disorder() {
    // The PostgreSQL client used to look at the database is synchronous: it runs
    // outside the async runtime that drives the daemons.
    let Some(schema) = pg::schema("soak") else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let total = runtime.block_on(soak(&schema));
    let mut db = schema.client();
    let row = db
        .query_one(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE processed) FROM inbound",
            &[],
        )
        .expect("counts");
    assert_eq!(
        (row.get::<_, i64>(0), row.get::<_, i64>(1)),
        (total as i64, total as i64)
    );
    let steps: i64 = db
        .query_one("SELECT COUNT(*) FROM audit", &[])
        .expect("audit")
        .get(0);
    assert_eq!(steps, total as i64, "each message processed exactly once");
}

/// Runs the three instances through the traffic and the faults; checks what the fake
/// servers received and returns how many messages were acknowledged.
async fn soak(schema: &pg::TestSchema) -> usize {
    let seed = std::env::var("WAFL_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| (jiff::Timestamp::now().as_nanosecond() as u64) | 1);
    eprintln!("soak seed: {seed}");
    let mut rng = Rng(seed);
    let graph = fake::start().await;
    let hooks = fake::start().await;
    let dir = std::env::temp_dir().join(format!("wafl-soak-{}-{seed}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let script = dir.join("soak.flow");
    std::fs::write(
        &script,
        format!(
            "flow \"Soak\" {{ timezone \"UTC\" }}\nwebhook crm \"{}/crm\" {{ retry 50 every 1s }}\nstage triage {{\n  on keyword \"bye\" {{ close \"done\" }}\n  otherwise {{\n    reply \"got {{message.text}}\"\n    post crm {{ text: message.text }}\n  }}\n}}\n",
            hooks.url()
        ),
    )
    .expect("script");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(1500))
        .build()
        .expect("client");
    let mut instances: Vec<Instance> = (0..INSTANCES)
        .map(|i| {
            let config = dir.join(format!("i{i}.toml"));
            // Short leases, so that the work of a killed or stopped instance moves on
            // within the test.
            std::fs::write(
                &config,
                format!(
                    "[postgres]\nschema = \"{}\"\ninstance = \"soak-{i}\"\npool_size = 4\ninbound_lease_ms = 1500\noutbox_lease_ms = 4000\n",
                    schema.name
                ),
            )
            .expect("config");
            let port = free_port();
            let child = spawn(&script, &config, &schema.url, port, &graph.url());
            Instance { port, config, child, stopped: false }
        })
        .collect();
    for inst in &instances {
        wait_ready(&client, inst.port).await;
    }
    let ports: Vec<u16> = instances.iter().map(|i| i.port).collect();

    // Each contact's messages go out in order, contacts interleaved; now and then an
    // instance is killed and restarted, or stopped for a while.
    let mut turn = 0;
    let mut acked = 0;
    let (mut kills, mut stops) = (0, 0);
    for k in 0..PER_CONTACT {
        for c in 0..CONTACTS {
            assert!(
                deliver(&client, &ports, &mut turn, &webhook(c, k)).await,
                "no instance acknowledged c{c}m{k}"
            );
            acked += 1;
            match rng.below(40) {
                0 => {
                    let i = rng.below(INSTANCES as u64) as usize;
                    let inst = &mut instances[i];
                    if inst.stopped {
                        signal(&inst.child, "-CONT");
                        inst.stopped = false;
                    }
                    let _ = inst.child.kill();
                    let _ = inst.child.wait();
                    kills += 1;
                    inst.child = spawn(&script, &inst.config, &schema.url, inst.port, &graph.url());
                }
                1 => {
                    let i = rng.below(INSTANCES as u64) as usize;
                    let inst = &mut instances[i];
                    if !inst.stopped {
                        signal(&inst.child, "-STOP");
                        inst.stopped = true;
                        stops += 1;
                    }
                }
                2 | 3 => {
                    for inst in instances.iter_mut().filter(|i| i.stopped) {
                        signal(&inst.child, "-CONT");
                        inst.stopped = false;
                    }
                }
                _ => {}
            }
        }
    }
    for inst in instances.iter_mut().filter(|i| i.stopped) {
        signal(&inst.child, "-CONT");
        inst.stopped = false;
    }
    let total = CONTACTS * PER_CONTACT;
    assert_eq!(acked, total);

    // Wait until every reply and webhook went out.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let replies: BTreeSet<String> = graph
            .requests()
            .iter()
            .filter_map(|r| {
                r.body
                    .pointer("/text/body")
                    .and_then(|b| b.as_str())
                    .map(str::to_string)
            })
            .collect();
        let posted: BTreeSet<String> = hooks
            .requests()
            .iter()
            .filter_map(|r| {
                r.body
                    .get("text")
                    .and_then(|b| b.as_str())
                    .map(str::to_string)
            })
            .collect();
        if (replies.len() >= total && posted.len() >= total) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for inst in instances.iter_mut() {
        let _ = inst.child.kill();
        let _ = inst.child.wait();
    }

    // Replies: none lost, and per contact in the order of its messages.
    let mut firsts: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut reply_counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in graph.requests() {
        let Some(body) = r.body.pointer("/text/body").and_then(|b| b.as_str()) else {
            continue;
        };
        let n = reply_counts.entry(body.to_string()).or_default();
        *n += 1;
        if *n == 1
            && let Some((c, k)) = body
                .strip_prefix("got c")
                .and_then(|t| t.split_once('m'))
                .and_then(|(c, k)| Some((c.parse::<usize>().ok()?, k.parse::<usize>().ok()?)))
        {
            firsts.entry(c).or_default().push(k);
        }
    }
    for c in 0..CONTACTS {
        let got = firsts.get(&c).cloned().unwrap_or_default();
        assert_eq!(
            got,
            (0..PER_CONTACT).collect::<Vec<_>>(),
            "replies of contact c{c} lost or out of order"
        );
    }
    let reply_dups: usize = reply_counts.values().map(|c| c - 1).sum();

    // Webhooks: none lost; a repeated one carries its first delivery's idempotency key.
    let mut keys: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in hooks.requests() {
        let text = r
            .body
            .get("text")
            .and_then(|b| b.as_str())
            .unwrap_or("")
            .to_string();
        keys.entry(text)
            .or_default()
            .insert(r.header("idempotency-key").unwrap_or("").to_string());
    }
    assert_eq!(keys.len(), total, "webhooks lost");
    for (text, ks) in &keys {
        assert_eq!(
            ks.len(),
            1,
            "deliveries of {text} carried different idempotency keys: {ks:?}"
        );
    }
    let hook_dups = hooks.requests().len() - total;
    // A request is sent twice only if it was in flight when its instance was killed or
    // stopped past its lease: at most one per contact (its queue's head) and per kind.
    assert!(
        reply_dups + hook_dups <= 2 * (kills + stops) * CONTACTS,
        "{reply_dups} duplicate replies and {hook_dups} duplicate webhooks for {kills} kills and {stops} stops"
    );

    eprintln!(
        "soak: {total} messages, {kills} kills, {stops} stops, {reply_dups} duplicate replies, {hook_dups} duplicate webhooks"
    );
    let _ = std::fs::remove_dir_all(&dir);
    total
}
