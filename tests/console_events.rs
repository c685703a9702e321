//! The console's live events over HTTP (`GET /api/events`, Server-Sent Events): a
//! webhook's message and card arrive numbered; a client that comes back with
//! `Last-Event-ID` gets exactly what it missed; an id older than the buffer gets `reset`;
//! signed-out clients get nothing.

#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/fake.rs"]
mod fake;

use daemon::{ADMIN, Daemon};
use serde_json::Value;
use std::time::Duration;

const DESK: &str = r#"
flow "Desk" {
  timezone "UTC"
  window template back
}
template back "we_are_back" lang "en_US"
team billing { agents "ana@harbor.example" }
stage triage {
  on keyword "invoice" { reply "Billing here"; route billing }
  on keyword "bye" { close "done" }
  otherwise { reply "got {message.text}" }
}
"#;

/// One parsed Server-Sent Event.
#[derive(Debug)]
struct Sse {
    id: Option<u64>,
    event: String,
    data: Value,
}

/// Reads events from a stream until `n` arrived or `secs` passed.
async fn read(resp: &mut reqwest::Response, buf: &mut String, n: usize, secs: u64) -> Vec<Sse> {
    let mut out = Vec::new();
    let until = tokio::time::Instant::now() + Duration::from_secs(secs);
    while out.len() < n {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let (mut id, mut event, mut data) = (None, "message".to_string(), String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().parse().ok();
                } else if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim());
                }
            }
            if !data.is_empty() {
                out.push(Sse {
                    id,
                    event,
                    data: serde_json::from_str(&data).unwrap_or(Value::Null),
                });
            }
        }
        if out.len() >= n {
            break;
        }
        match tokio::time::timeout_at(until, resp.chunk()).await {
            Ok(Ok(Some(bytes))) => buf.push_str(&String::from_utf8_lossy(&bytes)),
            _ => break,
        }
    }
    out
}

async fn open(d: &Daemon, last: Option<u64>) -> reqwest::Response {
    let mut req = d
        .client
        .get(format!("{}/api/events", d.base))
        .bearer_auth(ADMIN);
    if let Some(id) = last {
        req = req.header("Last-Event-ID", id.to_string());
    }
    let resp = req.send().await.expect("events");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"].to_str().ok(),
        Some("text/event-stream")
    );
    resp
}

async fn customer(d: &Daemon, from: &str, id: &str, text: &str) {
    let r = d.post_signed(&daemon::text(from, id, text)).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_arrive_numbered_and_a_client_resumes_missing_nothing() {
    let d = daemon::start("events-resume", DESK, "").await;
    let mut stream = open(&d, None).await;
    let mut buf = String::new();
    customer(&d, "5511999990001", "wamid.1", "invoice").await;
    let got = read(&mut stream, &mut buf, 3, 10).await;
    let kinds: Vec<&str> = got.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(kinds, ["message", "message", "card"], "{got:?}");
    assert_eq!(got[0].data["direction"], "in");
    assert_eq!(got[0].data["text"], "invoice");
    assert_eq!(got[1].data["direction"], "out");
    assert_eq!(got[1].data["text"], "Billing here");
    assert_eq!(got[2].data["phone"], "+5511999990001");
    assert_eq!(got[2].data["team"], "billing");
    assert_eq!(got[2].data["stage"], "triage");
    let ids: Vec<u64> = got.iter().filter_map(|e| e.id).collect();
    assert!(ids.windows(2).all(|w| w[1] > w[0]), "ids increase: {ids:?}");
    let seen = ids[2];
    drop(stream);

    // While the client is away: a message and a closing.
    customer(&d, "5511999990001", "wamid.2", "hello").await;
    customer(&d, "5511999990001", "wamid.3", "bye").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut back = open(&d, Some(seen)).await;
    let mut buf = String::new();
    let missed = read(&mut back, &mut buf, 5, 10).await;
    let kinds: Vec<&str> = missed.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        kinds,
        ["message", "message", "card", "message", "closed"],
        "{missed:?}"
    );
    assert_eq!(missed[0].id, Some(seen + 1), "nothing skipped");
    assert_eq!(missed[4].data["phone"], "+5511999990001");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_older_than_the_buffer_gets_reset_and_cut_streams_end() {
    let d = daemon::start("events-reset", DESK, "").await;
    customer(&d, "5511999990002", "wamid.1", "hello").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // An id of an earlier run: smaller than anything this run numbered.
    let mut stream = open(&d, Some(1)).await;
    let mut buf = String::new();
    let got = read(&mut stream, &mut buf, 1, 10).await;
    assert_eq!(got[0].event, "reset", "{got:?}");
    assert_eq!(got[0].id, Some(d.shared.events.last_id()));

    // Cutting every stream ends this one; the browser would reconnect.
    d.shared.events.disconnect_all();
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the stream ends when cut");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_out_clients_get_no_events() {
    let d = daemon::start("events-auth", DESK, "").await;
    let r = d
        .client
        .get(format!("{}/api/events", d.base))
        .send()
        .await
        .expect("events");
    assert_eq!(r.status(), 401);
}
