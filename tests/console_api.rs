//! The console API against an in-process daemon on 127.0.0.1 (fake Graph API): sign-in
//! right and wrong, the rate limit, cookie flags, CSRF, every action's errors (and that
//! a failed action creates nothing), team visibility, the automation's silence while a
//! person holds a card, E.164 spellings, and the actor in the audit.

#[path = "support/fake.rs"]
mod fake;
#[path = "support/daemon.rs"]
mod harness;

use harness::{Daemon, body_text, start, text};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{Value, json};
use std::time::Duration;
use wafl::daemon::console::auth::hash_password;
use wafl::daemon::store::AgentAccount;

const SCRIPT: &str = r#"
flow "Console" {
  timezone "UTC"
}
team billing { agents "ana@x.com" }
team support { agents "bo@x.com" }
template order_ready "order_ready" lang "en_US" with name, order
stage triage {
  on keyword "bill" { route billing; goto desk }
  on keyword "help" { route support; goto desk }
  otherwise { reply "bot: {message.text}" }
}
stage desk {
  on keyword "bye" { close "done" }
  otherwise { reply "desk bot: {message.text}" }
}
"#;

const CONFIG: &str = "[console]\nsecure_cookies = true\n";
const ANA_PW: &str = "ana-password-1";
const BO_PW: &str = "bo-password-22";

/// A signed-in browser: its session cookie and CSRF token.
struct Browser {
    cookie: String,
    csrf: String,
}

async fn daemon() -> Daemon {
    let d = start("console", SCRIPT, CONFIG).await;
    let store = d.shared.db.store().clone();
    for (email, name, team, pw) in [
        ("ana@x.com", "Ana", "billing", ANA_PW),
        ("bo@x.com", "Bo", "support", BO_PW),
    ] {
        let added = store
            .add_agent(AgentAccount {
                email: email.into(),
                name: name.into(),
                teams: vec![team.into()],
                password_hash: hash_password(pw).expect("hash"),
                created_ms: 0,
            })
            .expect("add agent");
        assert!(added);
    }
    d
}

fn set_cookie_value(r: &reqwest::Response, name: &str) -> Option<(String, String)> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|full| {
            let value = full
                .split(';')
                .next()
                .and_then(|kv| kv.split_once('='))
                .map(|(_, v)| v.to_string())
                .unwrap_or_default();
            (value, full.to_string())
        })
}

/// The sign-in CSRF token and its cookie.
async fn login_token(d: &Daemon) -> (String, String) {
    let r = d
        .client
        .get(format!("{}/api/login", d.base))
        .send()
        .await
        .expect("login token");
    assert_eq!(r.status(), StatusCode::OK);
    let (cookie, _) = set_cookie_value(&r, "wafl_login").expect("login cookie");
    let v: Value = r.json().await.expect("json");
    let token = v["csrf"].as_str().expect("csrf").to_string();
    assert_eq!(token, cookie);
    (token, cookie)
}

async fn post_login(d: &Daemon, body: Value) -> reqwest::Response {
    let (token, cookie) = login_token(d).await;
    let mut body = body;
    body["csrf"] = json!(token);
    d.client
        .post(format!("{}/login", d.base))
        .header(COOKIE, format!("wafl_login={cookie}"))
        .json(&body)
        .send()
        .await
        .expect("login")
}

async fn sign_in(d: &Daemon, email: &str, pw: &str) -> Browser {
    let r = post_login(d, json!({"email": email, "password": pw})).await;
    assert_eq!(r.status(), StatusCode::OK, "sign-in of {email}");
    let (cookie, _) = set_cookie_value(&r, "wafl_session").expect("session cookie");
    let v: Value = r.json().await.expect("json");
    Browser {
        cookie,
        csrf: v["csrf"].as_str().expect("csrf").to_string(),
    }
}

impl Browser {
    async fn get(&self, d: &Daemon, path: &str) -> (StatusCode, Value) {
        let r = d
            .client
            .get(format!("{}{path}", d.base))
            .header(COOKIE, format!("wafl_session={}", self.cookie))
            .send()
            .await
            .expect("get");
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, d: &Daemon, path: &str, body: Value) -> (StatusCode, Value) {
        let r = d
            .client
            .post(format!("{}{path}", d.base))
            .header(COOKIE, format!("wafl_session={}", self.cookie))
            .header("x-csrf-token", &self.csrf)
            .json(&body)
            .send()
            .await
            .expect("post");
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }
}

fn code(v: &Value) -> &str {
    v.pointer("/error/code")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn message(v: &Value) -> &str {
    v.pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Waits until `f` holds (or fails after a few seconds).
async fn eventually(what: &str, mut f: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting until {what}");
}

async fn customer(d: &Daemon, from: &str, id: &str, body: &str) {
    let r = d.post_signed(&text(from, id, body)).await;
    assert_eq!(r.status(), StatusCode::OK);
}

/// Texts the fake Graph API received for a number.
fn sent_to(d: &Daemon, to: &str) -> Vec<String> {
    d.graph
        .requests()
        .iter()
        .filter(|r| r.body.get("to").and_then(Value::as_str) == Some(to))
        .filter_map(|r| body_text(&r.body))
        .collect()
}

/// The card of `phone` as the manager sees it, once it is in `stage`.
async fn card_in_stage(d: &Daemon, phone: &str, stage: &str) {
    let m = manager(d).await;
    eventually(&format!("{phone} is in {stage}"), async || {
        let (s, v) = m.get(d, &format!("/api/cards/{phone}")).await;
        s == StatusCode::OK && v["stage"] == stage
    })
    .await;
}

async fn manager(d: &Daemon) -> Browser {
    let r = post_login(d, json!({"token": harness::ADMIN})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let (cookie, _) = set_cookie_value(&r, "wafl_session").expect("cookie");
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["user"]["role"], "manager");
    Browser {
        cookie,
        csrf: v["csrf"].as_str().expect("csrf").to_string(),
    }
}

#[tokio::test]
async fn sign_in_right_and_wrong_with_safe_cookies() {
    let d = daemon().await;
    // Right: a session cookie with every flag, and the session names the agent.
    let r = post_login(&d, json!({"email": "ANA@x.com", "password": ANA_PW})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let (_, full) = set_cookie_value(&r, "wafl_session").expect("cookie");
    for flag in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
        "Secure",
        "Max-Age=43200",
    ] {
        assert!(full.contains(flag), "{flag} missing in {full}");
    }
    let ana = sign_in(&d, "ana@x.com", ANA_PW).await;
    let (s, v) = ana.get(&d, "/api/session").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v["user"],
        json!({"id": "ana@x.com", "name": "Ana", "role": "agent", "teams": ["billing"]})
    );
    assert_eq!(v["csrf"], json!(ana.csrf));

    // Wrong password, unknown account, no sign-in token: refused, no cookie.
    for body in [
        json!({"email": "ana@x.com", "password": "wrong-password"}),
        json!({"email": "nobody@x.com", "password": ANA_PW}),
        json!({"token": "not-the-admin-token"}),
    ] {
        let r = post_login(&d, body.clone()).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{body}");
        assert!(set_cookie_value(&r, "wafl_session").is_none());
        let v: Value = r.json().await.expect("json");
        assert_eq!(code(&v), "unauthorized");
    }
    let r = d
        .client
        .post(format!("{}/login", d.base))
        .json(&json!({"email": "ana@x.com", "password": ANA_PW, "csrf": "made-up"}))
        .send()
        .await
        .expect("post");
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "sign-in without its CSRF cookie"
    );

    // A browser form: redirected to the board, or back to the sign-in page.
    let (token, cookie) = login_token(&d).await;
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for (pw, to) in [
        (ANA_PW, "/"),
        ("nope-nope-nope", "/login?error=credentials"),
    ] {
        let r = no_redirect
            .post(format!("{}/login", d.base))
            .header(COOKIE, format!("wafl_login={cookie}"))
            .form(&[
                ("email", "ana@x.com"),
                ("password", pw),
                ("csrf", token.as_str()),
            ])
            .send()
            .await
            .expect("form");
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], to);
    }

    // Without a session: 401 with how to sign in.
    let r = d
        .client
        .get(format!("{}/api/board", d.base))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let v: Value = r.json().await.expect("json");
    assert!(message(&v).contains("sign in"), "{v}");
}

#[tokio::test]
async fn sign_in_is_rate_limited_per_account() {
    let d = daemon().await;
    for _ in 0..5 {
        let r = post_login(&d, json!({"email": "bo@x.com", "password": "guess-guess"})).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // Even the right password waits now.
    let r = post_login(&d, json!({"email": "bo@x.com", "password": BO_PW})).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .expect("header")
        .parse()
        .expect("seconds");
    assert!((1..=300).contains(&wait), "{wait}");
    assert!(set_cookie_value(&r, "wafl_session").is_none());
    let v: Value = r.json().await.expect("json");
    assert_eq!(code(&v), "rate_limited");
}

#[tokio::test]
async fn state_changes_need_the_csrf_token() {
    let d = daemon().await;
    customer(&d, "5511900000001", "w1", "bill").await;
    card_in_stage(&d, "+5511900000001", "desk").await;
    let ana = sign_in(&d, "ana@x.com", ANA_PW).await;
    let url = format!("{}/api/cards/+5511900000001/note", d.base);
    for token in [None, Some("wrong-token")] {
        let mut req = d
            .client
            .post(&url)
            .header(COOKIE, format!("wafl_session={}", ana.cookie))
            .json(&json!({"text": "hi"}));
        if let Some(t) = token {
            req = req.header("x-csrf-token", t);
        }
        let r = req.send().await.expect("post");
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "token {token:?}");
        let v: Value = r.json().await.expect("json");
        assert_eq!(code(&v), "csrf");
    }
    let (s, _) = ana
        .post(&d, "/api/cards/+5511900000001/note", json!({"text": "hi"}))
        .await;
    assert_eq!(s, StatusCode::OK);

    // Sign-out needs it too, and ends the session.
    let r = d
        .client
        .post(format!("{}/logout", d.base))
        .header(COOKIE, format!("wafl_session={}", ana.cookie))
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let r = no_redirect
        .post(format!("{}/logout", d.base))
        .header(COOKIE, format!("wafl_session={}", ana.cookie))
        .form(&[("csrf", ana.csrf.as_str())])
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (s, _) = ana.get(&d, "/api/session").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn failed_actions_say_why_and_create_nothing() {
    let d = daemon().await;
    let m = manager(&d).await;
    customer(&d, "5511900000002", "w1", "bill").await;
    card_in_stage(&d, "+5511900000002", "desk").await;
    let card = "/api/cards/+5511900000002";

    // Unknown card: 404, and no conversation appears.
    for action in ["takeover", "reply", "note", "resolve"] {
        let (s, v) = m
            .post(
                &d,
                &format!("/api/cards/+5511977776666/{action}"),
                json!({"text": "x"}),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{action}: {v}");
        assert_eq!(code(&v), "unknown_card");
    }
    let phantom = d
        .shared
        .db
        .store()
        .conversation("5511977776666")
        .expect("read");
    assert!(phantom.is_none(), "a failed action created a card");

    let cases: &[(&str, Value, StatusCode, &str, &str)] = &[
        (
            "reassign",
            json!({"team": "sales"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_team",
            "billing, support",
        ),
        (
            "reassign",
            json!({"agent": "zed@x.com"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_agent",
            "ana@x.com, bo@x.com",
        ),
        (
            "reassign",
            json!({}),
            StatusCode::BAD_REQUEST,
            "bad_request",
            "team",
        ),
        (
            "reply",
            json!({"txt": "typo"}),
            StatusCode::BAD_REQUEST,
            "bad_request",
            "{\"text\": \"...\"}",
        ),
        (
            "reply",
            json!({"text": "   "}),
            StatusCode::BAD_REQUEST,
            "bad_request",
            "empty",
        ),
        (
            "tag",
            json!({"tag": "has space"}),
            StatusCode::BAD_REQUEST,
            "bad_request",
            "letters",
        ),
        (
            "template",
            json!({"name": "nope"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_template",
            "order_ready",
        ),
        (
            "template",
            json!({"name": "order_ready", "params": {"name": "Ana"}}),
            StatusCode::BAD_REQUEST,
            "bad_request",
            "order",
        ),
        (
            "release",
            json!({}),
            StatusCode::CONFLICT,
            "not_held",
            "take it over",
        ),
        (
            "dance",
            json!({}),
            StatusCode::NOT_FOUND,
            "bad_request",
            "takeover, reply",
        ),
    ];
    for (action, body, status, want_code, mentions) in cases {
        let (s, v) = m.post(&d, &format!("{card}/{action}"), body.clone()).await;
        assert_eq!(s, *status, "{action} {body}: {v}");
        assert_eq!(code(&v), *want_code, "{action} {body}: {v}");
        assert!(message(&v).contains(mentions), "{action}: {v}");
    }
    // A body that is not JSON at all.
    let r = d
        .client
        .post(format!("{}{card}/note", d.base))
        .header(COOKIE, format!("wafl_session={}", m.cookie))
        .header("x-csrf-token", &m.csrf)
        .body("text=hello")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Not a phone number.
    let (s, v) = m.get(&d, "/api/cards/hello").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(message(&v).contains("+55 11 99999-0000"), "{v}");

    // None of it reached the card: still in desk, held by the automation, untagged.
    let (_, v) = m.get(&d, card).await;
    assert_eq!(
        (
            v["stage"].as_str(),
            v["held_by"].as_str(),
            v["team"].as_str()
        ),
        (Some("desk"), Some("automation"), Some("billing"))
    );
    assert_eq!(v["tags"], json!([]));

    // A closed card: 409.
    let (s, _) = m
        .post(&d, &format!("{card}/resolve"), json!({"reason": "solved"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    for action in ["reply", "takeover", "note"] {
        let (s, v) = m
            .post(&d, &format!("{card}/{action}"), json!({"text": "x"}))
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "{action}: {v}");
        assert_eq!(code(&v), "closed_card");
    }
    let (s, v) = m.get(&d, card).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["status"], "closed");
}

#[tokio::test]
async fn the_window_closed_allows_templates_only() {
    let d = daemon().await;
    let m = manager(&d).await;
    customer(&d, "5511900000003", "w1", "bill").await;
    card_in_stage(&d, "+5511900000003", "desk").await;
    // The customer last wrote two days ago.
    let store = d.shared.db.store().clone();
    let mut conv = store
        .conversation("5511900000003")
        .expect("read")
        .expect("conversation");
    let old = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(48);
    conv.body.state["last_inbound"] = json!(old.to_string());
    let mut w =
        wafl::daemon::store::StepWrite::new("5511900000003", conv.body.clone(), &conv.body.program);
    w.stage = conv.stage.clone();
    store
        .apply_step(w, jiff::Timestamp::now().as_millisecond())
        .expect("write");

    let (_, v) = m.get(&d, "/api/cards/+5511900000003").await;
    assert_eq!(v["window"], json!({"open": false, "closes_at": null}));
    assert_eq!(
        v["templates"],
        json!([{"name": "order_ready", "params": ["name", "order"]}])
    );
    let (s, v) = m
        .post(
            &d,
            "/api/cards/+5511900000003/reply",
            json!({"text": "hello?"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(code(&v), "window_closed");
    assert!(message(&v).contains("24-hour window"), "{v}");
    assert!(message(&v).contains("order_ready(name, order)"), "{v}");

    let before = d.graph.requests().len();
    let (s, v) = m
        .post(
            &d,
            "/api/cards/+5511900000003/template",
            json!({"name": "order_ready", "params": {"name": "Ana", "order": "A1"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["took_over"], true);
    let reqs = d.graph.wait_for(before + 1, 5).await;
    let sent = &reqs[before].body;
    assert_eq!(sent["type"], "template", "{sent}");
    assert_eq!(sent["template"]["name"], "order_ready");
}

#[tokio::test]
async fn agents_see_and_act_on_their_teams_cards_only() {
    let d = daemon().await;
    customer(&d, "5511900000004", "w1", "bill").await;
    customer(&d, "5511900000005", "w2", "help").await;
    card_in_stage(&d, "+5511900000004", "desk").await;
    card_in_stage(&d, "+5511900000005", "desk").await;
    let ana = sign_in(&d, "ana@x.com", ANA_PW).await;
    let bo = sign_in(&d, "bo@x.com", BO_PW).await;

    let (s, _) = ana.get(&d, "/api/cards/+5511900000004").await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = ana.get(&d, "/api/cards/+5511900000005").await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "another team's card is unknown: {v}"
    );
    assert_eq!(code(&v), "unknown_card");
    let (s, _) = ana
        .post(&d, "/api/cards/+5511900000005/takeover", json!({}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, v) = d
        .shared
        .db
        .store()
        .conversation("5511900000005")
        .map(|c| (0, c))
        .expect("read");
    assert!(
        v.expect("exists")
            .body
            .state
            .pointer("/card/agent")
            .is_some_and(Value::is_null),
        "nobody took it"
    );

    let phones = |v: &Value| -> Vec<String> {
        v["stages"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| s["cards"].as_array().cloned().unwrap_or_default())
            .filter_map(|c| c["phone"].as_str().map(str::to_string))
            .collect()
    };
    let (_, board) = ana.get(&d, "/api/board").await;
    assert_eq!(phones(&board), vec!["+5511900000004"]);
    let names: Vec<&str> = board["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, vec!["triage", "desk"], "every stage in script order");
    let (_, board) = bo.get(&d, "/api/board").await;
    assert_eq!(phones(&board), vec!["+5511900000005"]);
    let (_, board) = manager(&d).await.get(&d, "/api/board").await;
    assert_eq!(phones(&board), vec!["+5511900000004", "+5511900000005"]);
    let (_, list) = bo.get(&d, "/api/cards?team=billing").await;
    assert_eq!(list, json!({"cards": [], "next": null}));
}

#[tokio::test]
async fn a_person_holding_a_card_silences_the_automation() {
    let d = daemon().await;
    let to = "+5511900000006";
    customer(&d, "5511900000006", "w1", "hello").await;
    eventually("the bot answers", async || {
        sent_to(&d, to) == ["bot: hello"]
    })
    .await;
    customer(&d, "5511900000006", "w2", "bill").await;
    card_in_stage(&d, to, "desk").await;
    let ana = sign_in(&d, "ana@x.com", ANA_PW).await;

    let (s, v) = ana
        .post(&d, &format!("/api/cards/{to}/takeover"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (
            v["card"]["status"].as_str(),
            v["card"]["held_by"].as_str(),
            v["card"]["agent"].as_str()
        ),
        (Some("with_agent"), Some("agent"), Some("ana@x.com"))
    );

    customer(&d, "5511900000006", "w3", "anyone there?").await;
    let m = manager(&d).await;
    eventually("the message is on the card", async || {
        let (_, v) = m.get(&d, &format!("/api/cards/{to}")).await;
        v["last_message"]["text"] == "anyone there?"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        sent_to(&d, to),
        ["bot: hello"],
        "the automation stayed silent"
    );
    let (_, v) = m.get(&d, &format!("/api/cards/{to}")).await;
    assert!(
        v["waiting_since"].is_string(),
        "the customer waits for Ana: {v}"
    );

    let (s, v) = ana
        .post(
            &d,
            &format!("/api/cards/{to}/reply"),
            json!({"text": "Ana here, how can I help?"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["took_over"], false, "Ana held it already");
    eventually("Ana's reply goes out", async || sent_to(&d, to).len() == 2).await;
    assert_eq!(sent_to(&d, to)[1], "Ana here, how can I help?");

    let (s, v) = ana
        .post(&d, &format!("/api/cards/{to}/release"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["card"]["held_by"], "automation");
    customer(&d, "5511900000006", "w4", "thanks").await;
    eventually("the automation answers again", async || {
        sent_to(&d, to).len() == 3
    })
    .await;
    assert_eq!(sent_to(&d, to)[2], "desk bot: thanks");
}

#[tokio::test]
async fn replying_to_an_automated_card_takes_it_over() {
    let d = daemon().await;
    let to = "+5511900000007";
    customer(&d, "5511900000007", "w1", "bill").await;
    card_in_stage(&d, to, "desk").await;
    let ana = sign_in(&d, "ana@x.com", ANA_PW).await;
    let (s, v) = ana
        .post(
            &d,
            &format!("/api/cards/{to}/reply"),
            json!({"text": "Ana here"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["took_over"], true);
    assert_eq!(v["card"]["held_by"], "agent");
    customer(&d, "5511900000007", "w2", "ok, one question").await;
    eventually("Ana's reply went", async || sent_to(&d, to) == ["Ana here"]).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(sent_to(&d, to), ["Ana here"], "never two voices at once");
}

#[tokio::test]
async fn phones_are_read_in_any_common_spelling_and_written_in_e164() {
    let d = daemon().await;
    customer(&d, "5511999990000", "w1", "bill").await;
    card_in_stage(&d, "+5511999990000", "desk").await;
    let m = manager(&d).await;
    for spelling in [
        "+55 11 99999-0000",
        "5511999990000",
        "+55 (11) 99999.0000",
        "0055 11 99999 0000",
    ] {
        let (s, v) = m.get(&d, &format!("/api/cards/{spelling}")).await;
        assert_eq!(s, StatusCode::OK, "{spelling}: {v}");
        assert_eq!(v["phone"], "+5511999990000");
    }
    let (s, v) = m.get(&d, "/api/cards/(11) 99999-0000").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "no default country configured");
    assert!(message(&v).contains("country code"), "{v}");
    // The admin API reads the same spellings.
    let r = d
        .client
        .get(format!("{}/admin/cards/+55 11 99999-0000", d.base))
        .bearer_auth(harness::ADMIN)
        .send()
        .await
        .expect("admin");
    assert_eq!(r.status(), StatusCode::OK);
}

/// Times and versions vary from run to run; everything else of a card is stable.
fn redact(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                let time = matches!(
                    k.as_str(),
                    "at" | "stage_since" | "waiting_since" | "closes_at" | "fires_at"
                );
                if time && x.is_string() {
                    *x = json!("[time]");
                } else if k == "script_version" && x.is_string() {
                    *x = json!("[version]");
                } else {
                    redact(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(redact),
        _ => {}
    }
}

#[tokio::test]
async fn the_card_tells_the_whole_story_with_who_did_what() {
    let d = daemon().await;
    let to = "+5511900000008";
    customer(&d, "5511900000008", "w1", "hello").await;
    eventually("the bot answers", async || sent_to(&d, to).len() == 1).await;
    customer(&d, "5511900000008", "w2", "bill").await;
    card_in_stage(&d, to, "desk").await;
    let ana = sign_in(&d, "ana@x.com", ANA_PW).await;
    for (action, body) in [
        ("takeover", json!({})),
        (
            "note",
            json!({"text": "customer asks about the March invoice"}),
        ),
        ("tag", json!({"tag": "vip"})),
        ("reply", json!({"text": "Hello, Ana from billing"})),
    ] {
        let (s, v) = ana
            .post(&d, &format!("/api/cards/{to}/{action}"), body)
            .await;
        assert_eq!(s, StatusCode::OK, "{action}: {v}");
    }
    eventually("Ana's reply went", async || sent_to(&d, to).len() == 2).await;
    let (s, mut v) = ana.get(&d, &format!("/api/cards/{to}")).await;
    assert_eq!(s, StatusCode::OK);
    // The audit names Ana for each of her steps.
    let actors: Vec<Option<String>> = d
        .shared
        .db
        .store()
        .audit("5511900000008")
        .expect("audit")
        .into_iter()
        .map(|a| a.actor)
        .collect();
    assert_eq!(
        actors
            .iter()
            .filter(|a| a.as_deref() == Some("ana@x.com"))
            .count(),
        4,
        "{actors:?}"
    );
    redact(&mut v);
    insta::assert_json_snapshot!("card_detail", v);
}

#[tokio::test]
async fn the_attention_queue_lists_held_cards_waiting_for_a_person_oldest_first() {
    let d = daemon().await;
    let (a, b, c) = ("+5511977770001", "+5511977770002", "+5511977770003");
    // Routing moves the cards without an answer: their customers wait for a person.
    customer(&d, &a[1..], "wamid.at1", "bill").await;
    card_in_stage(&d, a, "desk").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    customer(&d, &b[1..], "wamid.at2", "help").await;
    customer(&d, &c[1..], "wamid.at3", "hello").await;
    card_in_stage(&d, b, "desk").await;
    let m = manager(&d).await;
    // Cards the automation holds are not in the queue, whatever they wait for.
    let (_, v) = m.get(&d, "/api/attention").await;
    assert_eq!(v["cards"], json!([]), "{v}");
    for p in [b, a] {
        let (s, v) = m
            .post(&d, &format!("/api/cards/{p}/takeover"), json!({}))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    // A later message does not move a card up: it waits since its first unanswered one.
    customer(&d, &a[1..], "wamid.at4", "anyone there?").await;
    let queue = |v: &Value| -> Vec<(String, String)> {
        v["cards"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    c["phone"].as_str().unwrap_or_default().to_string(),
                    c["reason"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    };
    let want = vec![
        (a.to_string(), "handed_off_unanswered".to_string()),
        (b.to_string(), "handed_off_unanswered".to_string()),
    ];
    eventually("both held cards wait for a person", async || {
        let (_, v) = m.get(&d, "/api/attention").await;
        queue(&v) == want
    })
    .await;

    // An agent sees her teams' part of the queue only.
    let ana = sign_in(&d, "ana@x.com", ANA_PW).await;
    let (s, v) = ana.get(&d, "/api/attention").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(queue(&v), want[..1].to_vec(), "{v}");

    // Answering takes the card off the queue.
    let (s, v) = m
        .post(
            &d,
            &format!("/api/cards/{a}/reply"),
            json!({"text": "here, how can I help?"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    eventually("the answered card leaves the queue", async || {
        let (_, v) = m.get(&d, "/api/attention").await;
        queue(&v) == want[1..].to_vec()
    })
    .await;
}
