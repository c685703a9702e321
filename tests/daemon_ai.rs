//! AI steps through the daemon (`wafl run`): the engine's `AskAi` effect goes through the
//! outbox to a fake OpenAI-compatible server on 127.0.0.1 with the key from the
//! environment, the answer comes back as an event, the chosen intent's handler replies
//! through the fake Graph API, and the audit keeps the prompt and the raw answer.

#[path = "support/fake.rs"]
mod fake;
#[path = "support/fake_ai.rs"]
mod fake_ai;

use serde_json::{Value, json};
use std::sync::atomic::{AtomicU32, Ordering};
use wafl::daemon::{self, config};

const APP_SECRET: &str = "test_app_secret";

const SCRIPT: &str = r#"
flow "AI Desk" { timezone "UTC" }
team desk { agents "desk@acme.com" }
intent refund { examples "quero meu dinheiro de volta", "I want a refund" }
intent delivery { examples "meu pedido não chegou", "where is my package" }
ai helper "{AI}" {
  model "tiny"
  key env("AI_KEY")
  timeout 2s
  retry 1
}
stage triage {
  on intent refund { reply "Refunds take 5 days."; close "refund" }
  on intent delivery { reply "Let me check your order."; close "delivery" }
  otherwise {
    classify with helper into refund, delivery else {
      reply "A person will answer you."
      handoff desk
    }
  }
}
"#;

fn temp_dir() -> std::path::PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "wafl-daemon-ai-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn text_webhook(from: &str, id: &str, text: &str) -> String {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001234", "phone_number_id": "PNID"},
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": from}],
            "messages": [{"from": from, "id": id, "timestamp": "1700000000", "type": "text", "text": {"body": text}}],
            "statuses": []
        }}]}]
    })
    .to_string()
}

async fn run(answer: fake_ai::Reply) -> (Vec<String>, Value, fake_ai::FakeAi) {
    let graph = fake::start().await;
    let ai = fake_ai::start().await;
    ai.reply([answer]);
    let dir = temp_dir();
    let path = dir.join("script.flow");
    std::fs::write(&path, SCRIPT.replace("{AI}", &ai.url())).expect("write script");
    let loaded = daemon::load_script(&path).expect("script checks");
    let db = dir.join("wafl.db");
    let graph_url = graph.url();
    let env = move |k: &str| -> Option<String> {
        match k {
            "WAFL_ACCESS_TOKEN" => Some("test-access-token".into()),
            "WAFL_PHONE_NUMBER_ID" => Some("PNID".into()),
            "WAFL_APP_SECRET" => Some(APP_SECRET.into()),
            "WAFL_VERIFY_TOKEN" => Some("verify-me".into()),
            "WAFL_ADMIN_TOKEN" => Some("admin-secret".into()),
            "WAFL_GRAPH_URL" => Some(graph_url.clone()),
            "WAFL_DATABASE" => Some(db.display().to_string()),
            "AI_KEY" => Some("sk-daemon".into()),
            _ => None,
        }
    };
    let file = config::parse_file("wafl.toml", "").expect("config parses");
    let cfg = config::resolve(file, &env, Some("127.0.0.1:0"), &["AI_KEY".into()]).expect("config");
    let (shared, listener) = daemon::start(cfg, loaded).await.expect("daemon starts");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(daemon::http::serve(shared.clone(), listener));
    let body = text_webhook(
        "5511988887777",
        "wamid.ai1",
        "tenho uma dúvida sobre a compra",
    );
    let sig = daemon::wire::inbound::sign(APP_SECRET.as_bytes(), body.as_bytes());
    let client = reqwest::Client::new();
    let status = client
        .post(format!("http://{addr}/webhook"))
        .header("x-hub-signature-256", sig)
        .body(body)
        .send()
        .await
        .expect("post")
        .status();
    assert_eq!(status, 200);
    let sent = graph.wait_for(1, 10).await;
    let texts = sent
        .iter()
        .filter_map(|r| r.body.pointer("/text/body").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let card: Value = client
        .get(format!("http://{addr}/admin/cards/5511988887777"))
        .bearer_auth("admin-secret")
        .send()
        .await
        .expect("admin")
        .json()
        .await
        .expect("json");
    (texts, card, ai)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_asks_the_model_and_runs_the_chosen_intent() {
    let (texts, card, ai) = run(fake_ai::Reply::Content("refund".into())).await;
    assert_eq!(texts, ["Refunds take 5 days."]);
    let asked = ai.asked();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].authorization.as_deref(), Some("Bearer sk-daemon"));
    assert_eq!(
        asked[0].body["messages"][1]["content"],
        "tenho uma dúvida sobre a compra"
    );
    // The audit keeps the request with its prompt, and the event with the raw answer.
    let audit = card["audit"].to_string();
    assert!(audit.contains("ask_ai"), "{audit}");
    assert!(audit.contains("Classify the customer's message"), "{audit}");
    assert!(
        audit.contains("ai_result") && audit.contains("\"raw\":\"refund\""),
        "{audit}"
    );
    assert!(!audit.contains("sk-daemon"), "the key must not be stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_outside_the_choices_takes_else_through_the_daemon() {
    let (texts, card, _) = run(fake_ai::Reply::Content("I would refund twice!".into())).await;
    assert_eq!(texts, ["A person will answer you."]);
    assert_eq!(card["state"]["card"]["status"], "handoff");
}
