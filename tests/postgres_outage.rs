//! The database goes away in the middle of a run and comes back: meanwhile the daemon
//! answers webhooks with 503 (WhatsApp delivers them again) and `/readyz` says why;
//! afterwards it recovers by itself, loses nothing acknowledged and keeps each contact's
//! replies in order.
//!
//! The outage is made by a TCP relay on 127.0.0.1 between the daemon and the test server,
//! which the test cuts (every connection dropped, nothing listening) and restores, so
//! the shared server is never restarted.

#[path = "support/fake.rs"]
mod fake;
#[path = "support/pg.rs"]
mod pg;

use serde_json::json;
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

const APP_SECRET: &str = "outage-secret";
const CONTACTS: usize = 4;

/// A relay from `port` to the test server: up while its task runs.
struct Relay {
    port: u16,
    target: String,
    task: Option<JoinHandle<()>>,
}

impl Relay {
    async fn up(&mut self) {
        let listener = loop {
            match tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        let target = self.target.clone();
        self.task = Some(tokio::spawn(async move {
            let mut links: Vec<JoinHandle<()>> = Vec::new();
            // Aborting this task drops the listener and, through `Links`, every link.
            struct Links(Vec<JoinHandle<()>>);
            impl Drop for Links {
                fn drop(&mut self) {
                    for l in &self.0 {
                        l.abort();
                    }
                }
            }
            let mut guard = Links(Vec::new());
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                links.push(tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                }));
                guard.0.append(&mut links);
            }
        }));
    }

    fn down(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn webhook(c: usize, k: usize) -> String {
    let from = format!("55119100{c:05}");
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "W", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "1", "phone_number_id": "PNID"},
            "contacts": [{"profile": {"name": "Outage"}, "wa_id": from}],
            "messages": [{"from": from, "id": format!("wamid.outage.{c}.{k}"), "timestamp": "1700000000", "type": "text", "text": {"body": format!("c{c}m{k}")}}]
        }}]}]
    })
    .to_string()
}

async fn post(client: &reqwest::Client, port: u16, body: &str) -> Option<u16> {
    let sig = wafl::daemon::wire::inbound::sign(APP_SECRET.as_bytes(), body.as_bytes());
    client
        .post(format!("http://127.0.0.1:{port}/webhook"))
        .header("x-hub-signature-256", sig)
        .body(body.to_string())
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

async fn readyz(client: &reqwest::Client, port: u16) -> Option<(u16, String)> {
    let r = client
        .get(format!("http://127.0.0.1:{port}/readyz"))
        .send()
        .await
        .ok()?;
    let status = r.status().as_u16();
    Some((status, r.text().await.unwrap_or_default()))
}

#[test]
fn the_daemon_refuses_webhooks_while_the_database_is_gone_and_recovers_by_itself() {
    let Some(schema) = pg::schema("outage") else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let total = runtime.block_on(outage(&schema));
    let mut db = schema.client();
    let row = db
        .query_one(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE processed) FROM inbound",
            &[],
        )
        .expect("counts");
    assert_eq!(
        (row.get::<_, i64>(0), row.get::<_, i64>(1)),
        (total as i64, total as i64),
        "every acknowledged message stored and processed"
    );
    let steps: i64 = db
        .query_one("SELECT COUNT(*) FROM audit", &[])
        .expect("audit")
        .get(0);
    assert_eq!(steps, total as i64, "each message processed exactly once");
}

async fn outage(schema: &pg::TestSchema) -> usize {
    let server: postgres::Config = schema.url.parse().expect("test URL");
    let host = match server.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".into(),
    };
    let target = format!(
        "{host}:{}",
        server.get_ports().first().copied().unwrap_or(5432)
    );
    let mut relay = Relay {
        port: free_port(),
        target,
        task: None,
    };
    relay.up().await;
    let user = server.get_user().unwrap_or("postgres");
    let db = server.get_dbname().unwrap_or("test");
    let url = format!("postgres://{user}@127.0.0.1:{}/{db}", relay.port);

    let graph = fake::start().await;
    let dir = std::env::temp_dir().join(format!("wafl-outage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let script = dir.join("outage.flow");
    std::fs::write(
        &script,
        "flow \"Outage\" { timezone \"UTC\" }\nstage triage {\n  on keyword \"bye\" { close \"done\" }\n  otherwise {\n    reply \"got {message.text}\"\n  }\n}\n",
    )
    .expect("script");
    let config = dir.join("wafl.toml");
    std::fs::write(
        &config,
        format!(
            "[postgres]\nschema = \"{}\"\ninstance = \"outage\"\npool_size = 4\nconnect_timeout_ms = 500\nstatement_timeout_ms = 2000\ninbound_lease_ms = 1000\noutbox_lease_ms = 3000\n",
            schema.name
        ),
    )
    .expect("config");
    let port = free_port();
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_wafl"))
        .args([
            "run",
            &script.display().to_string(),
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--config",
            &config.display().to_string(),
            "--database",
            &url,
        ])
        .env("WAFL_ACCESS_TOKEN", "token")
        .env("WAFL_PHONE_NUMBER_ID", "PNID")
        .env("WAFL_APP_SECRET", APP_SECRET)
        .env("WAFL_GRAPH_URL", graph.url())
        .env("WAFL_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("wafl run starts");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(readyz(&client, port).await, Some((200, _))) {
        assert!(Instant::now() < deadline, "the daemon did not become ready");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    // Before: acknowledged as usual.
    let per_contact = 9;
    for k in 0..3 {
        for c in 0..CONTACTS {
            assert_eq!(post(&client, port, &webhook(c, k)).await, Some(200));
        }
    }
    // The database goes away: webhooks are refused (so WhatsApp keeps them), and
    // /readyz says the database is the reason.
    relay.down();
    let mut refused = 0;
    let mut pending: Vec<(usize, usize)> = Vec::new();
    for k in 3..6 {
        for c in 0..CONTACTS {
            match post(&client, port, &webhook(c, k)).await {
                Some(200) => {}
                Some(503) | None => {
                    refused += 1;
                    pending.push((c, k));
                }
                Some(other) => panic!("webhook answered {other} during the outage"),
            }
        }
    }
    assert!(
        refused > 0,
        "no webhook was refused while the database was gone"
    );
    let (status, text) = readyz(&client, port).await.expect("readyz answers");
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("database"), "{text}");
    tokio::time::sleep(Duration::from_secs(2)).await;

    // It comes back: the daemon recovers without a restart; WhatsApp redelivers.
    relay.up().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(readyz(&client, port).await, Some((200, _))) {
        assert!(Instant::now() < deadline, "the daemon did not recover");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for (c, k) in pending {
        let deadline = Instant::now() + Duration::from_secs(20);
        while post(&client, port, &webhook(c, k)).await != Some(200) {
            assert!(
                Instant::now() < deadline,
                "c{c}m{k} never accepted after the outage"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    for k in 6..per_contact {
        for c in 0..CONTACTS {
            assert_eq!(post(&client, port, &webhook(c, k)).await, Some(200));
        }
    }
    let total = CONTACTS * per_contact;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut firsts: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    loop {
        firsts.clear();
        let mut seen = std::collections::BTreeSet::new();
        for r in graph.requests() {
            let Some(body) = r.body.pointer("/text/body").and_then(|b| b.as_str()) else {
                continue;
            };
            if !seen.insert(body.to_string()) {
                continue;
            }
            if let Some((c, k)) = body
                .strip_prefix("got c")
                .and_then(|t| t.split_once('m'))
                .and_then(|(c, k)| Some((c.parse::<usize>().ok()?, k.parse::<usize>().ok()?)))
            {
                firsts.entry(c).or_default().push(k);
            }
        }
        if seen.len() >= total || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    relay.down();
    for c in 0..CONTACTS {
        assert_eq!(
            firsts.get(&c).cloned().unwrap_or_default(),
            (0..per_contact).collect::<Vec<_>>(),
            "replies of contact c{c} lost or out of order"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    total
}
