//! The AI bridge against a fake OpenAI-compatible server on 127.0.0.1: the request the
//! engine asks for goes out, the answer comes back as an event, and the script's `else`
//! takes over on an answer outside the choices, a timeout, 429/5xx and a malformed body.
//! The bot says nothing of its own whatever the model answers, and nothing at all once a
//! person has taken the conversation.

#[path = "support/engine.rs"]
mod engine_support;
#[path = "support/fake_ai.rs"]
mod fake_ai;

use fake_ai::Reply;
use std::time::Duration;
use wafl::ai::{self, AiRequest};
use wafl::engine::{self, AiResult, Contact, EffectKind, Event, Inbound, State};

const FLOW: &str = r#"
flow "AI" { timezone "UTC" }
team desk { agents "desk@acme.com" }
intent refund { examples "quero meu dinheiro de volta", "I want a refund" }
intent delivery { examples "meu pedido não chegou", "where is my package" }
ai helper "http://127.0.0.1:9/v1/chat/completions" {
  model "tiny"
  key env("WAFL_TEST_AI_KEY")
  timeout 1s
  retry 2
}
anywhere {
  on keyword "atendente", "agent" { handoff desk }
}
stage triage {
  on intent refund { reply "Refunds take 5 days."; close "refund" }
  on intent delivery { reply "Let me check your order."; close "delivery" }
  otherwise {
    classify with helper "You help Acme's customers." into refund, delivery else {
      reply "A person will answer you."
      handoff desk
    }
  }
}
"#;

fn now() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_767_600_000).unwrap_or_default()
}

/// Sends an unclear message; returns the state waiting for the model and its request.
fn ask(program: &wafl::compile::Program, url: &str) -> (State, String, AiRequest) {
    let s = State::new(Contact::new("+55 11 98888-7777"));
    let out = engine::step(
        program,
        &s,
        &Event::Inbound(Inbound::text("tenho uma dúvida sobre a minha compra")),
        now(),
    );
    let ask = out
        .effects
        .iter()
        .find(|e| matches!(e.kind, EffectKind::AskAi { .. }))
        .expect("the engine asks the model");
    let EffectKind::AskAi {
        request_id,
        choices,
        system,
        ..
    } = &ask.kind
    else {
        unreachable!()
    };
    assert_eq!(choices, &["refund", "delivery"]);
    assert!(system.contains("You help Acme's customers."));
    assert!(system.contains("- refund"));
    let mut req = AiRequest::from_effect(&ask.kind, |var| {
        (var == "WAFL_TEST_AI_KEY").then(|| "sk-test".to_string())
    })
    .expect("an AskAi effect");
    req.url = url.to_string();
    req.backoff = Duration::from_millis(10);
    (out.state, request_id.clone(), req)
}

/// Delivers the answer; returns the replies sent and the card's close reason or status.
fn answer(
    program: &wafl::compile::Program,
    s: &State,
    request_id: &str,
    result: AiResult,
) -> (Vec<String>, String) {
    let out = engine::step(
        program,
        s,
        &Event::AiResult {
            request_id: request_id.to_string(),
            result,
        },
        now(),
    );
    let sent = out
        .effects
        .iter()
        .filter_map(|e| match &e.kind {
            EffectKind::Send { message, .. } => Some(message.body().to_string()),
            _ => None,
        })
        .collect();
    let end = match (&out.state.card, &out.state.last_closed) {
        (Some(c), _) => c.status.as_str().to_string(),
        (None, Some(c)) => c.close_reason.clone().unwrap_or_default(),
        _ => String::new(),
    };
    (sent, end)
}

#[tokio::test]
async fn an_answer_in_the_choices_runs_that_intent() {
    let fake = fake_ai::start().await;
    fake.reply([Reply::Content(" \"delivery\"\n".into())]);
    let program = engine_support::program(FLOW);
    let (s, id, req) = ask(&program, &fake.url());
    let result = ai::ask(&reqwest::Client::new(), &req).await;
    assert_eq!(
        result,
        AiResult::Answered {
            raw: " \"delivery\"\n".into()
        }
    );
    let asked = fake.asked();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].authorization.as_deref(), Some("Bearer sk-test"));
    assert_eq!(asked[0].body["model"], "tiny");
    assert_eq!(
        asked[0].body["messages"][1]["content"],
        "tenho uma dúvida sobre a minha compra"
    );
    let (sent, end) = answer(&program, &s, &id, result);
    assert_eq!(sent, ["Let me check your order."]);
    assert_eq!(end, "delivery");
}

#[tokio::test]
async fn an_answer_outside_the_choices_takes_else_and_the_model_never_speaks() {
    let fake = fake_ai::start().await;
    fake.reply([Reply::Content(
        "Sure! Tell the customer we will refund them twice.".into(),
    )]);
    let program = engine_support::program(FLOW);
    let (s, id, req) = ask(&program, &fake.url());
    let result = ai::ask(&reqwest::Client::new(), &req).await;
    let (sent, end) = answer(&program, &s, &id, result);
    assert_eq!(sent, ["A person will answer you."]);
    assert_eq!(end, "handoff");
}

#[tokio::test]
async fn a_timeout_is_retried_then_takes_else() {
    let fake = fake_ai::start().await;
    let slow = Reply::Slow(Duration::from_millis(1500), "refund".into());
    fake.reply([slow.clone(), slow.clone(), slow]);
    let program = engine_support::program(FLOW);
    let (s, id, req) = ask(&program, &fake.url());
    let started = std::time::Instant::now();
    let result = ai::ask(&reqwest::Client::new(), &req).await;
    assert!(started.elapsed() < Duration::from_secs(6));
    let AiResult::Failed { reason } = &result else {
        panic!("expected a failure, got {result:?}")
    };
    assert!(reason.contains("timeout"), "{reason}");
    assert_eq!(fake.asked().len(), 3, "the first try and two retries");
    let (sent, end) = answer(&program, &s, &id, result);
    assert_eq!(sent, ["A person will answer you."]);
    assert_eq!(end, "handoff");
}

#[tokio::test]
async fn the_engine_deadline_takes_else_when_no_answer_comes() {
    let program = engine_support::program(FLOW);
    let (s, _, _) = ask(&program, "http://127.0.0.1:9");
    let (timer, at) = s
        .timers
        .iter()
        .find(|(id, _)| id.starts_with("ai/"))
        .map(|(id, t)| (id.clone(), t.at))
        .expect("a deadline timer");
    let out = engine::step(&program, &s, &Event::Timer { id: timer }, at);
    let closed = out
        .effects
        .iter()
        .any(|e| matches!(e.kind, EffectKind::Handoff { .. }));
    assert!(closed, "{:?}", out.effects);
}

#[tokio::test]
async fn busy_servers_are_retried_and_may_still_answer() {
    let fake = fake_ai::start().await;
    fake.reply([
        Reply::Status(429),
        Reply::Status(503),
        Reply::Content("refund".into()),
    ]);
    let program = engine_support::program(FLOW);
    let (s, id, req) = ask(&program, &fake.url());
    let result = ai::ask(&reqwest::Client::new(), &req).await;
    assert_eq!(
        result,
        AiResult::Answered {
            raw: "refund".into()
        }
    );
    assert_eq!(fake.asked().len(), 3);
    let (sent, end) = answer(&program, &s, &id, result);
    assert_eq!(sent, ["Refunds take 5 days."]);
    assert_eq!(end, "refund");
}

#[tokio::test]
async fn persistent_5xx_fails_after_the_retries() {
    let fake = fake_ai::start().await;
    fake.reply([Reply::Status(500), Reply::Status(502), Reply::Status(500)]);
    let program = engine_support::program(FLOW);
    let (s, id, req) = ask(&program, &fake.url());
    let result = ai::ask(&reqwest::Client::new(), &req).await;
    assert_eq!(
        result,
        AiResult::Failed {
            reason: "http 500 (after 3 attempts)".into()
        }
    );
    let (sent, _) = answer(&program, &s, &id, result);
    assert_eq!(sent, ["A person will answer you."]);
}

#[tokio::test]
async fn a_malformed_body_fails_at_once_and_takes_else() {
    let fake = fake_ai::start().await;
    fake.reply([Reply::Malformed, Reply::Content("refund".into())]);
    let program = engine_support::program(FLOW);
    let (s, id, req) = ask(&program, &fake.url());
    let result = ai::ask(&reqwest::Client::new(), &req).await;
    let AiResult::Failed { reason } = &result else {
        panic!("expected a failure, got {result:?}")
    };
    assert!(reason.starts_with("malformed answer"), "{reason}");
    assert_eq!(fake.asked().len(), 1, "a malformed answer is not retried");
    let (sent, end) = answer(&program, &s, &id, result);
    assert_eq!(sent, ["A person will answer you."]);
    assert_eq!(end, "handoff");
}

#[tokio::test]
async fn an_answer_after_a_handoff_says_nothing() {
    let fake = fake_ai::start().await;
    fake.reply([Reply::Content("refund".into())]);
    let program = engine_support::program(FLOW);
    let (s, id, req) = ask(&program, &fake.url());
    // The customer asks for a person while the model thinks: the escape hands off.
    let held = engine::step(
        &program,
        &s,
        &Event::Inbound(Inbound::text("atendente por favor")),
        now(),
    )
    .state;
    assert_eq!(
        held.card.as_ref().map(|c| c.status),
        Some(engine::CardStatus::Handoff)
    );
    let result = ai::ask(&reqwest::Client::new(), &req).await;
    let (sent, end) = answer(&program, &held, &id, result);
    assert!(sent.is_empty(), "the bot spoke during a handoff: {sent:?}");
    assert_eq!(end, "handoff");
}
