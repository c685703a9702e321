//! The console in a real headless browser (Debian's chromium through chromedriver):
//! signing in, a card appearing live, taking over and releasing, catching up after the
//! event stream drops, team visibility and CSRF. Skipped loudly without chromium and
//! chromedriver; `WAFL_REQUIRE_BROWSER=1` (CI) makes that a failure. With
//! `WAFL_SCREENSHOTS=1` the tests write docs/console/{board,card}.png.

#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/fake.rs"]
mod fake;
#[path = "support/webdriver.rs"]
mod webdriver;

use daemon::{ADMIN, Daemon, body_text};
use serde_json::Value;
use std::time::Duration;
use wafl::daemon::console::auth::hash_password;
use wafl::daemon::store::AgentAccount;
use webdriver::Browser;

const DESK: &str = r#"
flow "Harbor Desk" {
  timezone "UTC"
  start triage
  window template back_soon
}
team billing { agents "ana@harbor.example" }
team sales { agents "bo@harbor.example" }
template back_soon "back_soon" lang "en_US"
stage triage {
  on keyword "invoice" {
    reply "Billing will help you here."
    route billing
    goto billing_desk
  }
  on keyword "buy" {
    reply "Sales will help you here."
    route sales
    goto sales_desk
  }
  otherwise { reply "bot: {message.text}" }
}
stage billing_desk {
  on keyword "bye" { close "done" }
  otherwise { reply "bot billing: {message.text}" }
}
stage sales_desk {
  on keyword "bye" { close "done" }
  otherwise { reply "bot sales: {message.text}" }
}
"#;

async fn desk(tag: &str) -> Daemon {
    daemon::start(tag, DESK, "").await
}

async fn browser(test: &str) -> Option<Browser> {
    let (chromium, driver) = webdriver::available(test)?;
    Some(Browser::start(&chromium, &driver, 1280, 800).await)
}

/// Signs in through the page: with the manager token, or an agent's e-mail and password.
async fn sign_in(b: &Browser, d: &Daemon, who: Who<'_>) {
    b.goto(&format!("{}/login", d.base)).await;
    match who {
        Who::Manager(token) => b.type_into("#token", token).await,
        Who::Agent(email, password) => {
            b.type_into("#email", email).await;
            b.type_into("#password", password).await;
        }
    }
    b.click("#submit").await;
}

enum Who<'a> {
    Manager(&'a str),
    Agent(&'a str, &'a str),
}

/// The customer writes; returns once the daemon took the webhook.
async fn customer(d: &Daemon, from: &str, id: &str, text: &str) {
    let r = d.post_signed(&daemon::text(from, id, text)).await;
    assert_eq!(r.status(), 200, "the webhook is taken");
}

/// The customer, with a WhatsApp profile name, writes.
async fn customer_named(d: &Daemon, from: &str, id: &str, name: &str, text: &str) {
    let body = serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001234", "phone_number_id": "PNID"},
            "contacts": [{"profile": {"name": name}, "wa_id": from}],
            "messages": [{"from": from, "id": id, "timestamp": "1700000000", "type": "text", "text": {"body": text}}]
        }}]}]
    });
    let r = d.post_signed(&body.to_string()).await;
    assert_eq!(r.status(), 200, "the webhook is taken");
}

/// The texts the fake Graph API received for a number.
fn sent_to(d: &Daemon, to: &str) -> Vec<String> {
    d.graph
        .requests()
        .iter()
        .map(|r| r.body.clone())
        .filter(|b| {
            b["to"]
                .as_str()
                .is_some_and(|t| t.trim_start_matches('+') == to)
        })
        .filter_map(|b| body_text(&b))
        .collect()
}

async fn wait_sent(d: &Daemon, to: &str, text: &str, secs: u64) {
    let until = std::time::Instant::now() + Duration::from_secs(secs);
    while !sent_to(d, to).iter().any(|t| t == text) {
        assert!(
            std::time::Instant::now() < until,
            "`{text}` never reached {to}; sent: {:?}",
            sent_to(d, to)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn screenshots() -> bool {
    std::env::var("WAFL_SCREENSHOTS").is_ok_and(|v| v == "1")
}

async fn save_screenshot(b: &Browser, name: &str) {
    if !screenshots() {
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/console");
    std::fs::create_dir_all(&dir).expect("docs/console");
    std::fs::write(dir.join(name), b.screenshot().await).expect("write screenshot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_refuses_wrong_credentials_and_opens_the_board_with_right_ones() {
    let Some(b) = browser("sign_in").await else {
        return;
    };
    let d = desk("ui-signin").await;
    sign_in(&b, &d, Who::Manager("not-the-token")).await;
    b.wait("#login-error", 10).await;
    assert!(
        b.url().await.contains("/login"),
        "a wrong token stays on the sign-in page"
    );
    assert!(b.find(".column").await.is_none());

    sign_in(&b, &d, Who::Manager(ADMIN)).await;
    b.wait(".column[data-stage=\"triage\"]", 10).await;
    let stages: Value = b
        .eval("return [...document.querySelectorAll('.column')].map(c => c.dataset.stage)")
        .await;
    assert_eq!(
        stages,
        serde_json::json!(["triage", "billing_desk", "sales_desk"]),
        "one column per stage in script order"
    );
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_appears_live_then_takeover_silences_the_bot_and_release_brings_it_back() {
    let Some(b) = browser("live_takeover").await else {
        return;
    };
    let d = desk("ui-live").await;
    sign_in(&b, &d, Who::Manager(ADMIN)).await;
    b.wait(".column[data-stage=\"triage\"]", 10).await;
    // A mark that a reload would erase.
    b.eval("window.__noReload = 1; return true").await;
    b.wait("#live:not(.off)", 10).await;

    customer(&d, "5511999990001", "wamid.in1", "invoice please").await;
    b.wait(
        ".column[data-stage=\"billing_desk\"] .card[data-phone=\"+5511999990001\"]",
        10,
    )
    .await;
    assert_eq!(
        b.eval("return window.__noReload === 1").await,
        Value::Bool(true),
        "no reload"
    );
    let count = b.text(".column[data-stage=\"billing_desk\"] .count").await;
    assert_eq!(count, "1");
    wait_sent(&d, "5511999990001", "Billing will help you here.", 10).await;
    if screenshots() {
        // A fuller board for the guide.
        for (i, (from, name, text)) in [
            ("5511988887771", "Marina Souza", "buy the yearly plan"),
            ("5511988887772", "João Pedro", "hello, is anyone there?"),
            ("5511988887773", "Carla Dias", "invoice 2291 is wrong"),
            ("5511988887774", "Rafael Lima", "I want to buy two"),
        ]
        .iter()
        .enumerate()
        {
            customer_named(&d, from, &format!("wamid.s{i}"), name, text).await;
        }
        b.wait(".card[data-phone=\"+5511988887774\"]", 10).await;
        save_screenshot(&b, "board.png").await;
        b.resize(390, 844).await;
        save_screenshot(&b, "board-phone.png").await;
        b.resize(1280, 800).await;
    }

    // The card: take over and reply.
    b.click(".card[data-phone=\"+5511999990001\"]").await;
    b.wait("#detail:not(.hidden)", 10).await;
    b.wait_true(
        "return document.getElementById('c-timeline').textContent.includes('invoice please')",
        10,
        "the timeline shows the customer's message",
    )
    .await;
    b.click("#a-takeover button").await;
    b.wait("#a-release:not(.hidden)", 10).await;
    b.type_into("#a-reply textarea", "Ana from billing here.")
        .await;
    b.click("#a-reply button").await;
    wait_sent(&d, "5511999990001", "Ana from billing here.", 10).await;

    // The customer writes again: the automation stays silent.
    let before = sent_to(&d, "5511999990001").len();
    customer(&d, "5511999990001", "wamid.in2", "thanks, and my refund?").await;
    b.wait_true(
        "return document.getElementById('c-timeline').textContent.includes('my refund?')",
        10,
        "the card shows the new message live",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        sent_to(&d, "5511999990001").len(),
        before,
        "the bot said nothing while a person holds the card: {:?}",
        sent_to(&d, "5511999990001")
    );
    if screenshots() {
        b.resize(1280, 1200).await;
        save_screenshot(&b, "card.png").await;
        b.resize(1280, 800).await;
    }

    // Release: the automation answers again.
    b.click("#a-release button").await;
    b.wait("#a-takeover:not(.hidden)", 10).await;
    customer(&d, "5511999990001", "wamid.in3", "one more thing").await;
    wait_sent(&d, "5511999990001", "bot billing: one more thing", 10).await;

    // Replying to a card the automation holds takes it over, and the page says so.
    b.type_into("#a-reply textarea", "Ana again, taking this one.")
        .await;
    b.click("#a-reply button").await;
    wait_sent(&d, "5511999990001", "Ana again, taking this one.", 10).await;
    b.wait_true(
        "return document.getElementById('notice').textContent.includes('You took this card over')",
        10,
        "the page says the reply took the card over",
    )
    .await;
    b.wait("#a-release:not(.hidden)", 10).await;
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_catches_up_after_its_event_stream_drops() {
    let Some(b) = browser("catch_up").await else {
        return;
    };
    let d = desk("ui-catchup").await;
    sign_in(&b, &d, Who::Manager(ADMIN)).await;
    b.wait(".column[data-stage=\"triage\"]", 10).await;
    b.wait("#live:not(.off)", 10).await;
    b.eval("window.__noReload = 1; return true").await;

    // Cut every stream, and change things while the browser is away.
    d.shared.events.disconnect_all();
    customer(&d, "5511999990002", "wamid.c1", "buy a plan").await;
    customer(&d, "5511999990003", "wamid.c2", "hello").await;
    b.wait(
        ".column[data-stage=\"sales_desk\"] .card[data-phone=\"+5511999990002\"]",
        15,
    )
    .await;
    b.wait(
        ".column[data-stage=\"triage\"] .card[data-phone=\"+5511999990003\"]",
        15,
    )
    .await;
    assert_eq!(
        b.eval("return window.__noReload === 1").await,
        Value::Bool(true)
    );
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_without_the_csrf_token_is_refused() {
    let Some(b) = browser("csrf").await else {
        return;
    };
    let d = desk("ui-csrf").await;
    customer(&d, "5511999990004", "wamid.x1", "hello").await;
    sign_in(&b, &d, Who::Manager(ADMIN)).await;
    b.wait(".column[data-stage=\"triage\"]", 10).await;
    let status = b
        .eval(
            "const r = new XMLHttpRequest();
             r.open('POST', '/api/cards/%2B5511999990004/takeover', false);
             r.setRequestHeader('Content-Type', 'application/json');
             r.send('{}');
             return r.status;",
        )
        .await;
    assert_eq!(
        status,
        Value::from(403),
        "the session cookie alone is not enough"
    );
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_sees_and_acts_only_on_their_teams_cards() {
    let Some(b) = browser("visibility").await else {
        return;
    };
    let d = desk("ui-teams").await;
    let added = d
        .shared
        .db
        .store()
        .add_agent(AgentAccount {
            email: "ana@harbor.example".into(),
            name: "Ana".into(),
            teams: vec!["billing".into()],
            password_hash: hash_password("ana-secret-pw").expect("hash"),
            created_ms: 0,
        })
        .expect("add agent");
    assert!(added);
    customer(&d, "5511999990010", "wamid.v1", "invoice").await;
    customer(&d, "5511999990011", "wamid.v2", "buy").await;
    wait_sent(&d, "5511999990011", "Sales will help you here.", 10).await;

    sign_in(&b, &d, Who::Agent("ana@harbor.example", "wrong-password")).await;
    b.wait("#login-error", 10).await;
    sign_in(&b, &d, Who::Agent("ana@harbor.example", "ana-secret-pw")).await;
    b.wait(".card[data-phone=\"+5511999990010\"]", 10).await;
    assert!(b.text("#who").await.contains("Ana"));
    assert!(
        b.find(".card[data-phone=\"+5511999990011\"]")
            .await
            .is_none(),
        "the sales card is not on a billing agent's board"
    );

    // Her inbox: her team's cards, not the other team's.
    b.goto(&format!("{}/inbox?tab=team", d.base)).await;
    b.wait("#list .card[data-phone=\"+5511999990010\"]", 10)
        .await;
    assert!(
        b.find("#list .card[data-phone=\"+5511999990011\"]")
            .await
            .is_none()
    );
    b.goto(&format!("{}/inbox?tab=mine", d.base)).await;
    b.wait("#list p.muted", 10).await;

    // Not by its address either, and no action on it.
    b.goto(&format!("{}/cards/%2B5511999990011", d.base)).await;
    b.wait("#error:not(.hidden)", 10).await;
    assert!(b.text("#error").await.contains("not visible to you"));
    let status = b
        .eval(
            "const s = new XMLHttpRequest();
             s.open('GET', '/api/session', false); s.send();
             const csrf = JSON.parse(s.responseText).csrf;
             const r = new XMLHttpRequest();
             r.open('POST', '/api/cards/%2B5511999990011/takeover', false);
             r.setRequestHeader('Content-Type', 'application/json');
             r.setRequestHeader('X-CSRF-Token', csrf);
             r.send('{}');
             return r.status;",
        )
        .await;
    assert_eq!(
        status,
        Value::from(404),
        "another team's card does not exist for her"
    );
    let before = sent_to(&d, "5511999990011").len();
    customer(&d, "5511999990011", "wamid.v3", "still there?").await;
    wait_sent(&d, "5511999990011", "bot sales: still there?", 10).await;
    assert_eq!(
        sent_to(&d, "5511999990011").len(),
        before + 1,
        "the automation still holds it"
    );
    b.quit().await;
}

/// A daemon without WhatsApp credentials: the sandbox channel.
async fn sandbox_desk(tag: &str) -> String {
    use wafl::daemon as wd;
    let dir = daemon::temp_dir(tag);
    let path = dir.join("script.flow");
    std::fs::write(&path, DESK).expect("write script");
    let loaded = wd::load_script(&path).expect("script checks");
    let db = dir.join("wafl.db");
    let env = move |k: &str| -> Option<String> {
        match k {
            "WAFL_ADMIN_TOKEN" => Some(ADMIN.into()),
            "WAFL_DATABASE" => Some(db.display().to_string()),
            _ => None,
        }
    };
    let file = wd::config::parse_file("wafl.toml", "").expect("config parses");
    let cfg = wd::config::resolve(file, &env, Some("127.0.0.1:0"), &[]).expect("config");
    let (shared, listener) = wd::start(cfg, loaded).await.expect("daemon starts");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(wd::http::serve(shared, listener));
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_conversations_show_on_the_console_like_real_ones() {
    let Some(b) = browser("sandbox").await else {
        return;
    };
    let base = sandbox_desk("ui-sandbox").await;
    b.goto(&format!("{base}/sandbox")).await;
    b.type_into("#contact", "+5511977776666").await;
    b.type_into("#name", "Rita Alves").await;
    b.type_into("#text", "invoice").await;
    b.click("#f button").await;
    b.wait_true(
        "return document.getElementById('chat').textContent.includes('Billing will help you here.')",
        10,
        "the sandbox shows the automation's answer",
    )
    .await;
    b.type_into("#text", "my invoice 2291 is wrong").await;
    b.click("#f button").await;
    b.wait_true(
        "return document.getElementById('chat').textContent.includes('bot billing: my invoice 2291 is wrong')",
        10,
        "the sandbox shows the second answer",
    )
    .await;
    save_screenshot(&b, "sandbox.png").await;

    b.goto(&format!("{base}/login")).await;
    b.type_into("#token", ADMIN).await;
    b.click("#submit").await;
    b.wait(
        ".column[data-stage=\"billing_desk\"] .card[data-phone=\"+5511977776666\"]",
        10,
    )
    .await;
    let card = b.text(".card[data-phone=\"+5511977776666\"]").await;
    assert!(card.contains("Rita Alves"), "{card}");
    b.quit().await;
}
