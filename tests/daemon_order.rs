//! Acceptance of the daemon's promises against a fake Graph API on 127.0.0.1: replies
//! leave in order per contact (latency jitter, random 131056, a Graph outage), outages
//! within the retry horizon lose nothing and dead letters are resent, statuses never
//! regress and early ones apply, 131047 reported by a status sends the window template,
//! and reloads never make a waiting card resume in the wrong code.

#[path = "support/fake.rs"]
mod fake;
#[path = "support/daemon.rs"]
mod harness;

use harness::{body_text, start, status, text};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use wafl::daemon::scheduler::{Reload, reload};

const ECHO: &str = r#"
flow "Order" {
  timezone "UTC"
  window template back
}
template back "we_are_back" lang "en_US"
stage desk {
  on keyword "bye" { close "done" }
  otherwise { reply "r {message.text}" }
}
"#;

fn contact(i: usize) -> String {
    format!("5511{:08}", 90_000_000 + i)
}

/// Posts message `round` of every contact, all contacts at once.
async fn post_round(d: &harness::Daemon, contacts: usize, round: usize, tag: &str) {
    let mut tasks = Vec::new();
    for c in 0..contacts {
        let body = text(
            &contact(c),
            &format!("wamid.{tag}.{c}.{round}"),
            &format!("n{round}"),
        );
        let client = d.client.clone();
        let url = format!("{}/webhook", d.base);
        tasks.push(tokio::spawn(async move {
            let sig =
                wafl::daemon::wire::inbound::sign(harness::APP_SECRET.as_bytes(), body.as_bytes());
            let r = client
                .post(url)
                .header("x-hub-signature-256", sig)
                .body(body)
                .send()
                .await
                .expect("post");
            assert_eq!(r.status(), 200);
        }));
    }
    for t in tasks {
        t.await.expect("post task");
    }
}

/// Every contact received exactly `r n0` .. `r n{rounds-1}`, in that order.
fn assert_order(delivered: &[fake::Recorded], contacts: usize, rounds: usize) {
    let mut per: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in delivered {
        if let (Some(to), Some(t)) = (r.body["to"].as_str(), body_text(&r.body)) {
            per.entry(to.trim_start_matches('+').to_string())
                .or_default()
                .push(t);
        }
    }
    let expected: Vec<String> = (0..rounds).map(|i| format!("r n{i}")).collect();
    for c in 0..contacts {
        let got = per.get(&contact(c)).cloned().unwrap_or_default();
        assert_eq!(
            got,
            expected,
            "replies of contact {} out of order or lost",
            contact(c)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_per_contact_holds_through_jitter_131056_and_a_30s_outage() {
    const CONTACTS: usize = 200;
    const ROUNDS: usize = 10;
    let d = start(
        "order",
        ECHO,
        "[whatsapp]\nsend_rate = 5000\n[outbox]\nmax_backoff_ms = 1000\n",
    )
    .await;
    d.graph.behave(|b| {
        b.jitter_ms = 20;
        b.fail_131056_percent = 10;
    });
    for round in 0..ROUNDS {
        if round == 4 {
            d.graph.behave(|b| b.down = true);
        }
        post_round(&d, CONTACTS, round, "o").await;
    }
    // The outage lasts 30 s from the fifth round on; messages keep arriving meanwhile.
    tokio::time::sleep(Duration::from_secs(30)).await;
    d.graph.behave(|b| b.down = false);
    let delivered = d.graph.wait_delivered(CONTACTS * ROUNDS, 90).await;
    assert_order(&delivered, CONTACTS, ROUNDS);
    assert_eq!(delivered.len(), CONTACTS * ROUNDS, "nothing sent twice");
    let dead = d.admin(reqwest::Method::GET, "/admin/outbox/dead").await;
    assert_eq!(dead["dead_letters"], Value::Array(vec![]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_within_the_horizon_loses_nothing() {
    // Time scaled down: a 10-minute outage against the default 6-hour horizon is a 10 s
    // outage against a 60 s horizon here, with at most 500 ms between attempts.
    let d = start(
        "outage",
        ECHO,
        "[whatsapp]\nsend_rate = 5000\n[outbox]\nmax_backoff_ms = 500\nretry_horizon_secs = 60\n",
    )
    .await;
    d.graph.behave(|b| b.down = true);
    for round in 0..3 {
        post_round(&d, 20, round, "h").await;
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(
        d.graph.requests().len() > 20,
        "the heads were retried during the outage"
    );
    d.graph.behave(|b| b.down = false);
    let delivered = d.graph.wait_delivered(60, 30).await;
    assert_order(&delivered, 20, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_horizon_sends_become_dead_letters_that_can_be_resent() {
    let d = start(
        "dead",
        ECHO,
        "[whatsapp]\nsend_rate = 5000\n[outbox]\nmax_backoff_ms = 300\nretry_horizon_secs = 2\n",
    )
    .await;
    d.graph.behave(|b| b.down = true);
    for round in 0..3 {
        post_round(&d, 10, round, "d").await;
    }
    let mut dead = Vec::new();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        dead = d.admin(reqwest::Method::GET, "/admin/outbox/dead").await["dead_letters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if dead.len() == 30 {
            break;
        }
    }
    assert_eq!(
        dead.len(),
        30,
        "every reply is a dead letter after the horizon"
    );
    let card = d.card(&contact(0)).await;
    assert!(
        card["history"]
            .as_array()
            .expect("history")
            .iter()
            .any(|h| h["direction"] == "out-dead"),
        "the history shows the reply that never went out: {card}"
    );
    let metrics = d
        .client
        .get(format!("{}/metrics", d.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("wafl_dead_letters_total 30"), "{metrics}");
    d.graph.behave(|b| b.down = false);
    let retried = d.admin(reqwest::Method::POST, "/admin/outbox/retry").await;
    assert_eq!(retried["retried"].as_array().map(Vec::len), Some(30));
    let delivered = d.graph.wait_delivered(30, 30).await;
    assert_order(&delivered, 10, 3);
    let one = d
        .admin(reqwest::Method::POST, "/admin/outbox/999999/retry")
        .await;
    assert_eq!(one["retried"], Value::Array(vec![]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_never_regress_and_early_ones_apply_when_the_answer_lands() {
    let d = start("status", ECHO, "").await;
    let to = contact(1);
    // The send's answer takes a while; its status arrives before it.
    d.graph.behave(|b| b.delay_ms = 1500);
    d.post_signed(&text(&to, "wamid.st1", "hi")).await;
    d.graph.wait_for(1, 10).await;
    assert_eq!(
        d.post_signed(&status("wamid.fake1", "delivered", &to, None))
            .await
            .status(),
        200
    );
    d.graph.wait_delivered(1, 10).await;
    let out_status = |card: &Value| {
        card["history"]
            .as_array()
            .and_then(|h| h.iter().find(|m| m["direction"] == "out"))
            .map(|m| m["status"].clone())
            .unwrap_or(Value::Null)
    };
    let mut seen = Value::Null;
    for _ in 0..50 {
        seen = out_status(&d.card(&to).await);
        if seen == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        seen, "delivered",
        "the early status applied when the answer landed"
    );
    d.graph.behave(|b| b.delay_ms = 0);
    d.post_signed(&status("wamid.fake1", "read", &to, None))
        .await;
    d.post_signed(&status("wamid.fake1", "sent", &to, None))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        out_status(&d.card(&to).await),
        "read",
        "a late `sent` does not regress"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_status_with_131047_sends_the_window_template() {
    let d = start("window", ECHO, "").await;
    let to = contact(2);
    d.post_signed(&text(&to, "wamid.w1", "hi")).await;
    d.graph.wait_delivered(1, 10).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    d.post_signed(&status("wamid.fake1", "failed", &to, Some(131047)))
        .await;
    let got = d.graph.wait_delivered(2, 10).await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[1].body["type"], "template");
    assert_eq!(got[1].body["template"]["name"], "we_are_back");
    // A redelivered status does not send it twice.
    d.post_signed(&status("wamid.fake1", "failed", &to, Some(131047)))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(d.graph.delivered().len(), 2);
}

const ASKING: &str = r#"
flow "Reload" { timezone "UTC" }
field email: text
field note: text
stage desk {
  on keyword "mail" {
    ask email "Your email?"
    reply "Thanks, {email}"
    close "mailed"
  }
  otherwise { reply "hello" }
}
"#;

/// The same script with a handler inserted above the one that asked.
const INSERTED: &str = r#"
flow "Reload" { timezone "UTC" }
field email: text
field note: text
stage desk {
  on keyword "note" {
    ask note "Your note?"
    reply "Noted {note}"
    close "noted"
  }
  on keyword "mail" {
    ask email "Your email?"
    reply "Thanks, {email}"
    close "mailed"
  }
  otherwise { reply "hello" }
}
"#;

/// The handler the card waits in has changed.
const CHANGED: &str = r#"
flow "Reload" { timezone "UTC" }
field email: text
field note: text
stage desk {
  on keyword "note" {
    ask note "Your note?"
    reply "Noted {note}"
    close "noted"
  }
  on keyword "mail" {
    ask email "Your email?"
    reply "Got it, {email}"
    close "mailed"
  }
  otherwise { reply "hello" }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_above_a_waiting_card_is_accepted_and_the_card_resumes_in_its_own_handler() {
    let d = start("reload", ASKING, "").await;
    let ana = contact(3);
    d.post_signed(&text(&ana, "wamid.r1", "mail")).await;
    d.graph.wait_delivered(1, 10).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Before stable names, this reload made the answer run the inserted handler's code:
    // `note` was set and the card closed as "noted".
    std::fs::write(d.script_path(), INSERTED).expect("write");
    assert!(
        matches!(reload(&d.shared).await, Reload::Applied { .. }),
        "a reload that only adds a handler is accepted"
    );
    d.post_signed(&text(&ana, "wamid.r2", "ana@example.com"))
        .await;
    let got = d.graph.wait_delivered(2, 10).await;
    assert_eq!(
        body_text(&got[1].body).as_deref(),
        Some("Thanks, ana@example.com")
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let card = d.card(&ana).await;
    let closed = &card["state"]["last_closed"];
    assert_eq!(closed["close_reason"], "mailed", "{card}");
    assert_eq!(
        closed["fields"]["email"]["value"], "ana@example.com",
        "{card}"
    );
    assert!(closed["fields"].get("note").is_none(), "{card}");

    // A card waiting in a handler whose code changes: the reload is refused.
    let bia = contact(4);
    d.post_signed(&text(&bia, "wamid.r3", "mail")).await;
    d.graph.wait_delivered(3, 10).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::fs::write(d.script_path(), CHANGED).expect("write");
    match reload(&d.shared).await {
        Reload::Refused { reason } => {
            assert!(reason.contains("stage desk: keyword \"mail\""), "{reason}");
            assert!(reason.contains("1 card(s) wait in it"), "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    d.post_signed(&text(&bia, "wamid.r4", "bia@example.com"))
        .await;
    let got = d.graph.wait_delivered(4, 10).await;
    assert_eq!(
        body_text(&got[3].body).as_deref(),
        Some("Thanks, bia@example.com"),
        "the old script kept running"
    );
}
