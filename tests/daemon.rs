//! The daemon end to end, against a fake Graph API and a fake webhook receiver on
//! 127.0.0.1: signatures, duplicates, ordering, retries, the 24-hour window, webhooks,
//! timers, the admin API, hot reload and the sandbox.

#[path = "support/fake.rs"]
mod fake;

use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use wafl::daemon::{self, Shared, config};

const APP_SECRET: &str = "test_app_secret";

struct Daemon {
    shared: Arc<Shared>,
    base: String,
    graph: fake::Fake,
    hooks: fake::Fake,
    client: reqwest::Client,
    dir: PathBuf,
}

fn temp_dir() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "wafl-daemon-{}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        jiff::Timestamp::now().as_nanosecond()
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

struct Opts {
    whatsapp: bool,
    file: &'static str,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            whatsapp: true,
            file: "",
        }
    }
}

async fn daemon_with(script: &str, opts: Opts, dir: Option<PathBuf>) -> Daemon {
    let graph = fake::start().await;
    let hooks = fake::start().await;
    let dir = dir.unwrap_or_else(temp_dir);
    let script_path = dir.join("script.flow");
    let text = script.replace("{HOOK}", &hooks.url());
    std::fs::write(&script_path, text).expect("write script");
    let loaded = daemon::load_script(&script_path).expect("script checks");
    let db = dir.join("wafl.db");
    let graph_url = graph.url();
    let whatsapp = opts.whatsapp;
    let env = move |k: &str| -> Option<String> {
        match k {
            "WAFL_ACCESS_TOKEN" if whatsapp => Some("test-access-token".into()),
            "WAFL_PHONE_NUMBER_ID" if whatsapp => Some("PNID".into()),
            "WAFL_APP_SECRET" => Some(APP_SECRET.into()),
            "WAFL_VERIFY_TOKEN" => Some("verify-me".into()),
            "WAFL_ADMIN_TOKEN" => Some("admin-secret".into()),
            "WAFL_GRAPH_URL" => Some(graph_url.clone()),
            "WAFL_DATABASE" => Some(db.display().to_string()),
            "CRM_SECRET" => Some("crm-secret".into()),
            _ => None,
        }
    };
    let file = config::parse_file("wafl.toml", opts.file).expect("test config parses");
    let cfg =
        config::resolve(file, &env, Some("127.0.0.1:0"), &["CRM_SECRET".into()]).expect("config");
    let (shared, listener) = daemon::start(cfg, loaded).await.expect("daemon starts");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(daemon::http::serve(shared.clone(), listener));
    Daemon {
        shared,
        base: format!("http://{addr}"),
        graph,
        hooks,
        client: reqwest::Client::new(),
        dir,
    }
}

async fn daemon(script: &str) -> Daemon {
    daemon_with(script, Opts::default(), None).await
}

fn envelope(messages: Value, statuses: Value, contacts: Value) -> String {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001234", "phone_number_id": "PNID"},
            "contacts": contacts, "messages": messages, "statuses": statuses
        }}]}]
    })
    .to_string()
}

fn text_msg(from: &str, id: &str, text: &str) -> Value {
    json!({"from": from, "id": id, "timestamp": "1700000000", "type": "text", "text": {"body": text}})
}

fn text_webhook(from: &str, id: &str, text: &str) -> String {
    envelope(
        json!([text_msg(from, id, text)]),
        json!([]),
        json!([{"profile": {"name": "Ana"}, "wa_id": from}]),
    )
}

impl Daemon {
    async fn post_signed(&self, body: &str) -> reqwest::Response {
        let sig = daemon::wire::inbound::sign(APP_SECRET.as_bytes(), body.as_bytes());
        self.client
            .post(format!("{}/webhook", self.base))
            .header("x-hub-signature-256", sig)
            .body(body.to_string())
            .send()
            .await
            .expect("post")
    }

    async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut r = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth("admin-secret");
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send().await.expect("admin request")
    }

    fn sent_texts(&self) -> Vec<String> {
        self.graph
            .requests()
            .iter()
            .filter_map(|r| {
                r.body
                    .pointer("/text/body")
                    .or_else(|| r.body.pointer("/interactive/body/text"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect()
    }
}

const ECHO: &str = r#"
flow "Echo Desk" {
  timezone "UTC"
  window template back
}
template back "we_are_back" lang "en_US"
webhook crm "{HOOK}/crm" {
  secret env("CRM_SECRET")
  retry 3 every 1s
}
stage triage {
  on keyword "invoice" {
    reply "Billing here"
    post crm { phone: contact.phone, reason: "invoice" }
  }
  on keyword "bye" { close "done" }
  on keyword "human" { handoff }
  otherwise { reply "got {message.text}" }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_handshake_echoes_the_challenge_only_with_the_right_token() {
    let d = daemon(ECHO).await;
    let ok = d
        .client
        .get(format!(
            "{}/webhook?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=verify-me",
            d.base
        ))
        .send()
        .await
        .expect("get");
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.expect("body"), "1158201444");
    let bad = d
        .client
        .get(format!(
            "{}/webhook?hub.mode=subscribe&hub.challenge=1&hub.verify_token=nope",
            d.base
        ))
        .send()
        .await
        .expect("get");
    assert_eq!(bad.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_are_required_and_checked_over_the_raw_body() {
    let d = daemon(ECHO).await;
    let body = text_webhook("5511988887777", "wamid.sig1", "hello");
    let missing = d
        .client
        .post(format!("{}/webhook", d.base))
        .body(body.clone())
        .send()
        .await
        .expect("post");
    assert_eq!(missing.status(), 401);
    let wrong = d
        .client
        .post(format!("{}/webhook", d.base))
        .header(
            "x-hub-signature-256",
            "sha256=0000000000000000000000000000000000000000000000000000000000000000",
        )
        .body(body.clone())
        .send()
        .await
        .expect("post");
    assert_eq!(wrong.status(), 403);
    // A signature over a re-serialised body does not match the raw bytes.
    let tampered = body.replace("hello", "hellO");
    let sig = daemon::wire::inbound::sign(APP_SECRET.as_bytes(), body.as_bytes());
    let r = d
        .client
        .post(format!("{}/webhook", d.base))
        .header("x-hub-signature-256", sig)
        .body(tampered)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 403);
    assert!(
        d.graph.requests().is_empty(),
        "nothing unsigned was processed"
    );
    assert_eq!(d.post_signed(&body).await.status(), 200);
    let sent = d.graph.wait_for(1, 5).await;
    assert_eq!(sent.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_message_is_stored_answered_and_the_reply_is_well_formed() {
    let d = daemon(ECHO).await;
    assert_eq!(
        d.post_signed(&text_webhook("5511988887777", "wamid.a1", "hello"))
            .await
            .status(),
        200
    );
    let sent = d.graph.wait_for(1, 5).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let r = &sent[0];
    assert_eq!(r.path, "/PNID/messages");
    assert_eq!(r.header("authorization"), Some("Bearer test-access-token"));
    assert_eq!(r.body["messaging_product"], "whatsapp");
    assert_eq!(r.body["to"], "+5511988887777");
    assert_eq!(r.body["text"]["body"], "got hello");
    // The card is stored with its history, visible through the admin API.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let card: Value = d
        .admin(reqwest::Method::GET, "/admin/cards/5511988887777", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(card["state"]["card"]["stage"], "triage");
    let dirs: Vec<&str> = card["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["direction"].as_str())
        .collect();
    assert_eq!(dirs, ["in", "out"]);
    // Every step is stamped with the content hash `wafl build` gives the same script.
    let source = std::fs::read_to_string(d.dir.join("script.flow")).expect("script");
    let hash = wafl::compile::bundle::content_hash(&source);
    assert_eq!(card["audit"][0]["script"], hash.as_str());
    let trace = &card["audit"][0]["effects"][0]["trace"];
    assert_eq!(
        trace["stage"], "triage",
        "each effect carries its trace: {trace}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivered_webhooks_are_processed_once() {
    let d = daemon(ECHO).await;
    let body = text_webhook("5511900000001", "wamid.dup", "once");
    for _ in 0..3 {
        assert_eq!(d.post_signed(&body).await.status(), 200);
    }
    d.graph.wait_for(1, 5).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(d.sent_texts(), ["got once"]);
    assert_eq!(
        d.shared.metrics.inbound_duplicates.load(Ordering::Relaxed),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_of_one_contact_are_answered_in_order() {
    let d = daemon(ECHO).await;
    for i in 0..8 {
        let body = text_webhook("5511900000002", &format!("wamid.o{i}"), &format!("m{i}"));
        assert_eq!(d.post_signed(&body).await.status(), 200);
    }
    d.graph.wait_for(8, 10).await;
    let expected: Vec<String> = (0..8).map(|i| format!("got m{i}")).collect();
    assert_eq!(d.sent_texts(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retryable_errors_are_retried_and_permanent_ones_are_not() {
    let d = daemon(ECHO).await;
    d.graph.fail_next([
        fake::graph_error(400, 130429),
        fake::graph_error(500, 131000),
    ]);
    d.post_signed(&text_webhook("5511900000003", "wamid.r1", "retry me"))
        .await;
    let reqs = d.graph.wait_for(3, 15).await;
    assert_eq!(reqs.len(), 3, "two failures then success");
    assert!(
        reqs.iter()
            .all(|r| r.body["text"]["body"] == "got retry me")
    );
    assert!(d.shared.metrics.retries.load(Ordering::Relaxed) >= 2);

    d.graph.fail_next([fake::graph_error(404, 132001)]);
    d.post_signed(&text_webhook("5511900000004", "wamid.p1", "permanent"))
        .await;
    d.graph.wait_for(4, 5).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        d.graph.requests().len(),
        4,
        "a permanent error is not retried"
    );
    assert_eq!(d.shared.metrics.dead_letters.load(Ordering::Relaxed), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_window_switches_to_the_scripts_template() {
    let d = daemon(ECHO).await;
    d.graph.fail_next([fake::graph_error(400, 131047)]);
    d.post_signed(&text_webhook("5511900000005", "wamid.w1", "late"))
        .await;
    let reqs = d.graph.wait_for(2, 10).await;
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].body["type"], "text");
    assert_eq!(reqs[1].body["type"], "template");
    assert_eq!(reqs[1].body["template"]["name"], "we_are_back");
    assert_eq!(reqs[1].body["template"]["language"]["code"], "en_US");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_webhooks_are_signed_retried_with_the_same_key_and_dead_lettered() {
    let d = daemon(ECHO).await;
    d.hooks
        .fail_next([Err((500, "down".into())), Err((503, "down".into()))]);
    d.post_signed(&text_webhook("5511900000006", "wamid.h1", "invoice please"))
        .await;
    let calls = d.hooks.wait_for(3, 20).await;
    assert_eq!(calls.len(), 3, "two failures, then delivered");
    let keys: Vec<_> = calls
        .iter()
        .map(|c| c.header("idempotency-key").unwrap_or("").to_string())
        .collect();
    assert!(!keys[0].is_empty());
    assert!(
        keys.iter().all(|k| *k == keys[0]),
        "retries carry the same idempotency key: {keys:?}"
    );
    let c = &calls[2];
    assert_eq!(c.path, "/crm");
    assert_eq!(c.body["phone"], "+5511900000006");
    assert_eq!(c.body["reason"], "invoice");
    let ts: i64 = c
        .header("x-wafl-timestamp")
        .and_then(|t| t.parse().ok())
        .expect("timestamp header");
    let body = serde_json::to_vec(&c.body).expect("body");
    let expected = daemon::wire::sign::webhook_signature(b"crm-secret", ts, &body);
    assert_eq!(c.header("x-wafl-signature"), Some(expected.as_str()));

    // The script allows 3 attempts: three failures dead-letter the call.
    d.hooks.fail_next([
        Err((500, "x".into())),
        Err((500, "x".into())),
        Err((500, "x".into())),
    ]);
    d.post_signed(&text_webhook("5511900000007", "wamid.h2", "invoice again"))
        .await;
    d.hooks.wait_for(6, 30).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(d.hooks.requests().len(), 6);
    assert_eq!(d.shared.metrics.dead_letters.load(Ordering::Relaxed), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_update_the_stored_message_and_duplicates_are_ignored() {
    let d = daemon(ECHO).await;
    d.post_signed(&text_webhook("5511900000008", "wamid.s1", "hi"))
        .await;
    d.graph.wait_for(1, 5).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let status = envelope(
        json!([]),
        json!([{"id": "wamid.fake1", "status": "read", "timestamp": "1700000100", "recipient_id": "5511900000008"}]),
        json!([]),
    );
    assert_eq!(d.post_signed(&status).await.status(), 200);
    assert_eq!(d.post_signed(&status).await.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let card: Value = d
        .admin(reqwest::Method::GET, "/admin/cards/5511900000008", None)
        .await
        .json()
        .await
        .expect("json");
    let out = card["history"]
        .as_array()
        .expect("history")
        .iter()
        .find(|h| h["direction"] == "out")
        .cloned()
        .expect("out");
    assert_eq!(out["status"], "read");
    assert_eq!(
        d.shared.metrics.statuses_received.load(Ordering::Relaxed),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_shapes_are_stored_and_oversized_bodies_refused() {
    let d = daemon(ECHO).await;
    let odd = json!({"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "account_update", "value": {"x": 1}}]}]}).to_string();
    assert_eq!(d.post_signed(&odd).await.status(), 200);
    assert_eq!(d.post_signed("not json at all").await.status(), 200);
    assert_eq!(d.shared.metrics.unknown_payloads.load(Ordering::Relaxed), 2);
    let huge = "x".repeat(5 * 1024 * 1024);
    let r = d
        .client
        .post(format!("{}/webhook", d.base))
        .body(huge)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 413);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_work_handed_off_cards_through_the_admin_api() {
    let d = daemon(ECHO).await;
    let unauth = d
        .client
        .get(format!("{}/admin/cards", d.base))
        .send()
        .await
        .expect("get");
    assert_eq!(unauth.status(), 401);
    d.post_signed(&text_webhook("5511900000009", "wamid.ag1", "human"))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let cards: Value = d
        .admin(reqwest::Method::GET, "/admin/cards?stage=triage", None)
        .await
        .json()
        .await
        .expect("json");
    let card = cards["cards"]
        .as_array()
        .expect("cards")
        .iter()
        .find(|c| c["contact"] == "5511900000009")
        .cloned()
        .expect("card listed");
    assert_eq!(card["status"], "handoff");
    // Automation is silent while a human owns the card.
    d.post_signed(&text_webhook("5511900000009", "wamid.ag2", "hello?"))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert!(d.sent_texts().is_empty(), "{:?}", d.sent_texts());
    let r = d
        .admin(
            reqwest::Method::POST,
            "/admin/cards/5511900000009/reply",
            Some(json!({"agent": "ana@acme.com", "text": "Hi, Ana here"})),
        )
        .await;
    assert_eq!(r.status(), 200);
    d.graph.wait_for(1, 5).await;
    assert_eq!(d.sent_texts(), ["Hi, Ana here"]);
    let r = d
        .admin(
            reqwest::Method::POST,
            "/admin/cards/5511900000009/release",
            None,
        )
        .await;
    assert_eq!(r.status(), 200);
    d.post_signed(&text_webhook("5511900000009", "wamid.ag3", "back"))
        .await;
    d.graph.wait_for(2, 5).await;
    assert_eq!(d.sent_texts(), ["Hi, Ana here", "got back"]);
    let bad = d
        .admin(
            reqwest::Method::POST,
            "/admin/cards/5511900000009/dance",
            None,
        )
        .await;
    assert_eq!(bad.status(), 404);
}

const TIMED: &str = r#"
flow "Timed" { timezone "UTC" }
stage triage {
  on keyword "bye" { close "done" }
  after 3s silence { reply "Are you still there?" }
  otherwise { reply "hello" }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_fire_and_survive_a_restart() {
    let d = daemon(TIMED).await;
    d.post_signed(&text_webhook("5511900000010", "wamid.t1", "hi"))
        .await;
    d.graph.wait_for(2, 10).await;
    assert_eq!(d.sent_texts(), ["hello", "Are you still there?"]);

    // A timer stored by one daemon fires in the next one, even when overdue.
    let dir = temp_dir();
    let first = daemon_with(TIMED, Opts::default(), Some(dir.clone())).await;
    first
        .post_signed(&text_webhook("5511900000011", "wamid.t2", "hi"))
        .await;
    first.graph.wait_for(1, 5).await;
    let _ = first.shared.shutdown.send(true);
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    assert!(
        !first
            .sent_texts()
            .iter()
            .any(|t| t == "Are you still there?"),
        "the first daemon stopped before the timer was due"
    );
    let second = daemon_with(TIMED, Opts::default(), Some(dir)).await;
    let got = second.graph.wait_for(1, 10).await;
    assert!(
        got.iter()
            .any(|r| r.body["text"]["body"] == "Are you still there?"),
        "the overdue timer fired after the restart: {got:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_refuses_a_script_that_drops_a_live_stage() {
    let d = daemon(ECHO).await;
    d.post_signed(&text_webhook("5511900000012", "wamid.hr1", "hi"))
        .await;
    d.graph.wait_for(1, 5).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let path = d.dir.join("script.flow");
    std::fs::write(
        &path,
        "flow \"X\" { timezone \"UTC\" }\nstage other { on keyword \"bye\" { close }\n otherwise { reply \"x\" } }\n",
    )
    .expect("write");
    match daemon::scheduler::reload(&d.shared).await {
        daemon::scheduler::Reload::Refused { reason } => {
            assert!(reason.contains("`triage`"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let good = ECHO
        .replace("{HOOK}", &d.hooks.url())
        .replace("got {message.text}", "echo {message.text}");
    std::fs::write(&path, good).expect("write");
    assert!(matches!(
        daemon::scheduler::reload(&d.shared).await,
        daemon::scheduler::Reload::Applied { .. }
    ));
    d.post_signed(&text_webhook("5511900000012", "wamid.hr2", "again"))
        .await;
    d.graph.wait_for(2, 5).await;
    assert_eq!(d.sent_texts(), ["got hi", "echo again"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_credentials_the_sandbox_plays_the_customer() {
    let d = daemon_with(
        ECHO,
        Opts {
            whatsapp: false,
            ..Opts::default()
        },
        None,
    )
    .await;
    let page = d
        .client
        .get(format!("{}/sandbox", d.base))
        .send()
        .await
        .expect("get");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("html").contains("Echo Desk"));
    let r = d
        .client
        .post(format!("{}/sandbox/send", d.base))
        .json(&json!({"contact": "+5511977776666", "text": "oi"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let mut got = Value::Null;
    for _ in 0..50 {
        got = d
            .client
            .get(format!(
                "{}/sandbox/messages?contact=%2B5511977776666",
                d.base
            ))
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        if got["messages"].as_array().is_some_and(|m| !m.is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(got["messages"][0]["text"]["body"], "got oi");
    assert!(d.graph.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics_answer() {
    let d = daemon(ECHO).await;
    d.post_signed(&text_webhook("5511900000013", "wamid.m1", "hi"))
        .await;
    d.graph.wait_for(1, 5).await;
    for (path, needle) in [
        ("/healthz", "ok"),
        ("/readyz", "ready"),
        ("/metrics", "wafl_engine_steps_total 1"),
    ] {
        let r = d
            .client
            .get(format!("{}{path}", d.base))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 200, "{path}");
        let text = r.text().await.expect("text");
        assert!(text.contains(needle), "{path}: {text}");
    }
    let m = d
        .client
        .get(format!("{}/metrics", d.base))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    assert!(m.contains("wafl_messages_in_total{type=\"text\"} 1"), "{m}");
    assert!(
        m.contains("wafl_messages_out_total{type=\"text\"} 1"),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_receipts_and_the_contact_pace_are_honoured_when_configured() {
    let d = daemon_with(
        ECHO,
        Opts {
            file: "[whatsapp]\nmark_read = true\ncontact_pace_ms = 300\n",
            ..Opts::default()
        },
        None,
    )
    .await;
    d.post_signed(&text_webhook("5511900000014", "wamid.rr1", "one"))
        .await;
    d.post_signed(&text_webhook("5511900000014", "wamid.rr2", "two"))
        .await;
    let started = std::time::Instant::now();
    let reqs = d.graph.wait_for(4, 10).await;
    let kinds: Vec<String> = reqs
        .iter()
        .map(|r| {
            r.body
                .get("status")
                .and_then(Value::as_str)
                .map(|_| "read".to_string())
                .unwrap_or_else(|| r.body["type"].as_str().unwrap_or("").to_string())
        })
        .collect();
    assert_eq!(
        kinds,
        ["read", "text", "read", "text"],
        "receipt, then reply, in order"
    );
    assert_eq!(reqs[0].body["message_id"], "wamid.rr1");
    assert_eq!(reqs[2].body["message_id"], "wamid.rr2");
    // Four messages to one contact at least 300 ms apart take at least 900 ms.
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(850),
        "{:?}",
        started.elapsed()
    );
    // Receipts are not part of the conversation history.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let card: Value = d
        .admin(reqwest::Method::GET, "/admin/cards/5511900000014", None)
        .await
        .json()
        .await
        .expect("json");
    let outs = card["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|h| h["direction"] == "out")
        .count();
    assert_eq!(outs, 2);
}
