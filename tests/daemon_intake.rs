//! What the daemon acknowledges runs, whatever the client does: clients that disconnect
//! right after sending their webhook (before the answer) under load still get every
//! stored message processed, exactly once; messages stored but never handed to a shard
//! are found by the periodic sweep; and when processing falls behind by more than
//! `max_backlog`, new webhooks are refused with 503 (WhatsApp redelivers them).

#[path = "support/fake.rs"]
mod fake;
#[path = "support/daemon.rs"]
mod harness;

use harness::{body_text, start, text};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

const ECHO: &str = r#"
flow "Intake" { timezone "UTC" }
stage desk {
  on keyword "bye" { close "done" }
  otherwise { reply "r {message.text}" }
}
"#;

const FAST: &str = "[whatsapp]\nsend_rate = 1000\n";

fn contact(i: usize) -> String {
    format!("5511{:08}", 70_000_000 + i)
}

/// Writes a signed POST /webhook and closes the connection without reading the answer.
async fn post_and_hang_up(addr: &str, body: &str) {
    let sig = wafl::daemon::wire::inbound::sign(harness::APP_SECRET.as_bytes(), body.as_bytes());
    let request = format!(
        "POST /webhook HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nX-Hub-Signature-256: {sig}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(request.as_bytes()).await.expect("write");
    drop(s);
}

/// Waits until every stored inbound message is processed and there are `n` of them.
async fn wait_processed(d: &harness::Daemon, n: i64, secs: u64) -> (i64, i64) {
    let mut counts = (0, 0);
    for _ in 0..secs * 10 {
        counts = d
            .shared
            .db
            .run(|s| s.inbound_counts())
            .await
            .expect("counts");
        if counts == (n, n) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    counts
}

/// Each contact got each of its replies exactly once.
fn assert_each_reply_once(delivered: &[fake::Recorded], contacts: usize, rounds: usize) {
    let mut per: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in delivered {
        if let (Some(to), Some(t)) = (r.body["to"].as_str(), body_text(&r.body)) {
            per.entry(to.trim_start_matches('+').to_string())
                .or_default()
                .push(t);
        }
    }
    for c in 0..contacts {
        let mut got = per.get(&contact(c)).cloned().unwrap_or_default();
        got.sort();
        let mut expected: Vec<String> = (0..rounds).map(|i| format!("r n{i}")).collect();
        expected.sort();
        assert_eq!(got, expected, "replies of contact {}", contact(c));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_of_clients_that_hang_up_are_processed_exactly_once() {
    let d = start("hangup", ECHO, FAST).await;
    let addr = d.base.trim_start_matches("http://").to_string();
    let (contacts, rounds) = (40, 10);
    let bodies: Vec<String> = (0..rounds)
        .flat_map(|r| {
            (0..contacts)
                .map(move |c| text(&contact(c), &format!("wamid.h.{c}.{r}"), &format!("n{r}")))
        })
        .collect();
    // Every client hangs up as soon as its webhook is written, all at once.
    let mut tasks = Vec::new();
    for b in bodies.clone() {
        let addr = addr.clone();
        tasks.push(tokio::spawn(
            async move { post_and_hang_up(&addr, &b).await },
        ));
    }
    for t in tasks {
        t.await.expect("hang-up task");
    }
    // WhatsApp got no answer, so it delivers every one again: all are acknowledged.
    let mut tasks = Vec::new();
    for b in bodies {
        let client = d.client.clone();
        let url = format!("{}/webhook", d.base);
        tasks.push(tokio::spawn(async move {
            let sig =
                wafl::daemon::wire::inbound::sign(harness::APP_SECRET.as_bytes(), b.as_bytes());
            client
                .post(url)
                .header("x-hub-signature-256", sig)
                .body(b)
                .send()
                .await
                .expect("post")
                .status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("redelivery"), 200);
    }
    let n = (contacts * rounds) as i64;
    assert_eq!(
        wait_processed(&d, n, 30).await,
        (n, n),
        "every stored message is processed"
    );
    let delivered = d.graph.wait_delivered(contacts * rounds, 30).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        d.graph.delivered().len(),
        contacts * rounds,
        "one reply per message, none twice"
    );
    assert_each_reply_once(&delivered, contacts, rounds);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_runs_messages_stored_but_never_handed_over() {
    let d = start("sweep", ECHO, FAST).await;
    // Stored as an interrupted request would leave them: committed, never dispatched.
    let batch = wafl::daemon::store::IngestBatch {
        messages: (0..5)
            .map(|i| {
                let m = wafl::daemon::wire::inbound::InMessage {
                    id: format!("wamid.s.{i}"),
                    from: contact(i),
                    profile_name: None,
                    timestamp: 1_700_000_000,
                    phone_number_id: "PNID".into(),
                    context_id: None,
                    content: wafl::daemon::wire::inbound::Content::Text("n0".into()),
                };
                wafl::daemon::store::NewInbound {
                    wamid: m.id.clone(),
                    contact: m.from.clone(),
                    payload: serde_json::to_string(&m).expect("json"),
                }
            })
            .collect(),
        ..Default::default()
    };
    let now = jiff::Timestamp::now().as_millisecond();
    let stored = d
        .shared
        .db
        .run(move |s| s.ingest(batch, now))
        .await
        .expect("stored");
    assert_eq!(stored.new_messages.len(), 5);
    assert_eq!(wait_processed(&d, 5, 20).await, (5, 5));
    let delivered = d.graph.wait_delivered(5, 10).await;
    assert_each_reply_once(&delivered, 5, 1);
}

async fn post_all(d: &harness::Daemon, bodies: Vec<String>) -> Vec<u16> {
    let mut tasks = Vec::new();
    for b in bodies {
        let client = d.client.clone();
        let url = format!("{}/webhook", d.base);
        tasks.push(tokio::spawn(async move {
            let sig =
                wafl::daemon::wire::inbound::sign(harness::APP_SECRET.as_bytes(), b.as_bytes());
            client
                .post(url)
                .header("x-hub-signature-256", sig)
                .body(b)
                .send()
                .await
                .expect("post")
                .status()
                .as_u16()
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("post task"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_get_503_while_the_backlog_is_over_its_bound() {
    let d = start(
        "backlog",
        ECHO,
        "[whatsapp]\nsend_rate = 1000\n[limits]\nmax_backlog = 1\n",
    )
    .await;
    let mut statuses = Vec::new();
    for wave in 0..6 {
        let bodies = (0..50)
            .map(|c| text(&contact(c), &format!("wamid.b.{wave}.{c}"), "n0"))
            .collect();
        statuses.extend(post_all(&d, bodies).await);
    }
    let accepted = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 503).count();
    assert_eq!(
        accepted + refused,
        statuses.len(),
        "only 200 or 503: {statuses:?}"
    );
    assert!(
        refused > 0,
        "some webhooks are refused while the backlog is over 1"
    );
    assert!(accepted > 0);
    // Refused batches were not stored; everything acknowledged runs.
    let n = accepted as i64;
    assert_eq!(wait_processed(&d, n, 30).await, (n, n));
    let metrics = d
        .client
        .get(format!("{}/metrics", d.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("wafl_backlog_limit 1\n"), "{metrics}");
    assert!(
        metrics.contains(&format!("wafl_webhooks_refused_total {refused}\n")),
        "{metrics}"
    );
    // Once the backlog is worked off, webhooks are accepted again (the redelivery).
    let mut status = 0;
    for _ in 0..50 {
        status = post_all(&d, vec![text(&contact(0), "wamid.b.again", "n1")]).await[0];
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200);
    let backlog_line = |m: &str| {
        m.lines()
            .find(|l| l.starts_with("wafl_backlog_messages "))
            .map(str::to_string)
    };
    let mut line = None;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let m = d
            .client
            .get(format!("{}/metrics", d.base))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        line = backlog_line(&m);
        if line.as_deref() == Some("wafl_backlog_messages 0") {
            break;
        }
    }
    assert_eq!(line.as_deref(), Some("wafl_backlog_messages 0"));
}
