//! Two promises of the daemon that need their own setups: an access token WhatsApp refuses
//! (190) pauses sending for the number and alerts instead of burning the queued replies,
//! and the sandbox never calls a script's real webhook URLs: it records what it would
//! have posted and answers `call`s from the stub file.

#[path = "support/fake.rs"]
mod fake;
#[path = "support/daemon.rs"]
mod harness;

use harness::{body_text, start, text};
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use std::time::Duration;
use wafl::daemon::{self, config};

const ECHO: &str = r#"
flow "Pause" { timezone "UTC" }
stage desk {
  on keyword "bye" { close "done" }
  otherwise { reply "r {message.text}" }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_pauses_sending_and_loses_nothing() {
    let d = start(
        "token190",
        ECHO,
        "[whatsapp]\nsend_rate = 5000\n[outbox]\nmax_backoff_ms = 1500\n",
    )
    .await;
    // The first send is refused with 190; everything after it works again.
    d.graph.fail_next([fake::graph_error(401, 190)]);
    d.post_signed(&text("5511911110001", "wamid.p1", "a")).await;
    d.graph.wait_for(1, 10).await;
    // While paused, other contacts' replies wait instead of failing one by one.
    d.post_signed(&text("5511911110002", "wamid.p2", "b")).await;
    d.post_signed(&text("5511911110003", "wamid.p3", "c")).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        d.graph.requests().len(),
        1,
        "nothing is sent while the number is paused: {:?}",
        d.graph.requests()
    );
    assert_eq!(d.shared.metrics.send_pauses.load(Ordering::Relaxed), 1);
    // After the pause every reply goes out, none is a dead letter.
    let got = d.graph.wait_delivered(3, 20).await;
    let mut texts: Vec<String> = got.iter().filter_map(|r| body_text(&r.body)).collect();
    texts.sort();
    assert_eq!(texts, ["r a", "r b", "r c"]);
    assert_eq!(d.shared.metrics.dead_letters.load(Ordering::Relaxed), 0);
    let dead = d.admin(reqwest::Method::GET, "/admin/outbox/dead").await;
    assert_eq!(dead["dead_letters"], json!([]));
}

const CALLING: &str = r#"
flow "Stubs" { timezone "UTC" }
field status: text
webhook orders "{HOOK}/orders" { }
webhook crm "{HOOK}/crm" { }
stage desk {
  on keyword "order" {
    call orders { order: "AB123456" } save status timeout 5s else {
      reply "no answer"
      close "unreachable"
    }
    reply "Order status: {status}"
    post crm { event: "looked_up" }
  }
  on keyword "ship" {
    call shipping_unstubbed { order: "AB123456" } save status timeout 5s else {
      reply "shipping unreachable"
      close "unreachable"
    }
    reply "never"
  }
  otherwise { reply "hi" }
}
webhook shipping_unstubbed "{HOOK}/shipping" { }
"#;

/// A sandbox daemon (no WhatsApp credentials) whose stub file answers `orders`.
async fn sandbox(hooks: &fake::Fake) -> (std::sync::Arc<daemon::Shared>, String) {
    let dir = harness::temp_dir("sandbox-stubs");
    let script_path = dir.join("script.flow");
    std::fs::write(&script_path, CALLING.replace("{HOOK}", &hooks.url())).expect("script");
    let stubs = dir.join("stubs.json");
    std::fs::write(&stubs, r#"{"orders": {"status": "shipped"}}"#).expect("stubs");
    let loaded = daemon::load_script(&script_path).expect("script checks");
    let db = dir.join("wafl.db");
    let env = move |k: &str| -> Option<String> {
        (k == "WAFL_DATABASE").then(|| db.display().to_string())
    };
    let file = config::parse_file(
        "wafl.toml",
        &format!(
            "[sandbox]\nwebhook_stubs = {:?}\n",
            stubs.display().to_string()
        ),
    )
    .expect("config parses");
    let cfg = config::resolve(file, &env, Some("127.0.0.1:0"), &[]).expect("config");
    let (shared, listener) = daemon::start(cfg, loaded).await.expect("daemon starts");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(daemon::http::serve(shared.clone(), listener));
    (shared, format!("http://{addr}"))
}

async fn say(client: &reqwest::Client, base: &str, text: &str) {
    let r = client
        .post(format!("{base}/sandbox/send"))
        .json(&json!({"contact": "+5511922220000", "name": "Rehearsal", "text": text}))
        .send()
        .await
        .expect("sandbox send");
    assert_eq!(r.status(), 200);
}

async fn bot_says(client: &reqwest::Client, base: &str, n: usize) -> Vec<String> {
    for _ in 0..100 {
        let j: Value = client
            .get(format!("{base}/sandbox/messages?contact=%2B5511922220000"))
            .send()
            .await
            .expect("messages")
            .json()
            .await
            .expect("json");
        let texts: Vec<String> = j["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(body_text)
            .collect();
        if texts.len() >= n {
            return texts;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the sandbox did not answer {n} times");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_records_webhooks_answers_calls_from_stubs_and_calls_nothing_real() {
    let hooks = fake::start().await;
    let (_shared, base) = sandbox(&hooks).await;
    let client = reqwest::Client::new();

    say(&client, &base, "order").await;
    let said = bot_says(&client, &base, 1).await;
    assert_eq!(
        said,
        ["Order status: shipped"],
        "the stub answered the call"
    );

    // A call without a stub fails the way an unreachable webhook does: its `else` runs.
    say(&client, &base, "ship").await;
    let said = bot_says(&client, &base, 2).await;
    assert_eq!(said[1], "shipping unreachable");

    // Every request was recorded, with the URL it would have gone to, and none was made.
    let mut recorded = Vec::new();
    for _ in 0..50 {
        let j: Value = client
            .get(format!("{base}/sandbox/webhooks"))
            .send()
            .await
            .expect("webhooks")
            .json()
            .await
            .expect("json");
        recorded = j["webhooks"].as_array().cloned().unwrap_or_default();
        if recorded.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let summary: Vec<(String, bool, Value)> = recorded
        .iter()
        .map(|c| {
            (
                c["webhook"].as_str().unwrap_or_default().to_string(),
                c["call"].as_bool().unwrap_or_default(),
                c["answered"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("orders".to_string(), true, json!({"status": "shipped"})),
            ("crm".to_string(), false, Value::Null),
            ("shipping_unstubbed".to_string(), true, Value::Null),
        ]
    );
    assert_eq!(recorded[0]["url"], format!("{}/orders", hooks.url()));
    assert_eq!(recorded[0]["body"]["order"], "AB123456");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        hooks.requests().is_empty(),
        "the sandbox made real requests: {:?}",
        hooks.requests()
    );
}
