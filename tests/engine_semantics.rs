//! The engine's semantics (docs/semantics.md), one test per rule, written as `.flow`
//! sources whose `test` blocks say what must happen.

#[path = "support/engine.rs"]
mod support;

use support::{assert_flow, sent, with_flow};
use wafl::engine::{AgentAction, CardStatus, EffectKind, Event, WebhookResult};

#[test]
fn keywords_match_whole_words_ignoring_case_and_accents() {
    assert_flow(
        r#"
flow "F" { timezone "UTC" }
stage triage {
  on keyword "não", "cancelar" { reply "negative" }
  on keyword "FATURA", "segunda via" { reply "billing" }
  otherwise { reply "other" }
}
test "plain ascii finds the accented keyword" { send "nao quero"; expect reply "negative" }
test "accented capitals too" { send "NÃO!"; expect reply "negative" }
test "case folds" { send "minha fatura venceu"; expect reply "billing" }
test "accented message, plain keyword" { send "CANCELÁR"; expect reply "negative" }
test "multi-word keyword, any spacing" { send "a Segunda   Via"; expect reply "billing" }
test "multi-word keyword, single spaces" { send "quero a segunda via"; expect reply "billing" }
test "only whole words" { send "faturamento"; expect reply "other" }
"#,
    );
}

#[test]
fn first_matching_handler_wins_and_anywhere_goes_first() {
    assert_flow(
        r#"
flow "F" { timezone "UTC" }
anywhere { on keyword "agent" { reply "from anywhere" } }
stage triage {
  on keyword "agent", "boleto" { reply "stage keyword" }
  on keyword "boleto" { reply "second" }
  on message when message.text contains "urgent" { reply "guarded" }
  otherwise { reply "fallback" }
}
test "anywhere before the stage" { send "agent please"; expect reply "from anywhere" }
test "first in order" { send "boleto"; expect reply "stage keyword" }
test "guard decides" { send "this is URGENT"; expect reply "guarded" }
test "otherwise last" { send "hello"; expect reply "fallback" }
"#,
    );
}

#[test]
fn a_card_opens_with_the_contact_and_goto_runs_on_enter() {
    assert_flow(
        r#"
flow "F" { timezone "America/Sao_Paulo" }
stage entry {
  on message when contact.country == "BR" and contact.new { tag "br"; goto welcome }
  on message when contact.returning { reply "welcome back {contact.name}"; goto welcome }
  otherwise { goto welcome }
}
stage welcome {
  on enter { reply "Hi {contact.name}, you are in {card.stage}" }
  on keyword "bye" { close "done" }
  otherwise { reply "still here" }
}
test "first message opens a card in the start stage" {
  contact "+55 11 98888-7777" named "Ana"
  send "oi"
  expect tagged "br"
  expect stage welcome
  expect reply "Hi Ana, you are in welcome"
  send "bye"
  expect closed "done"
  send "hello again"
  expect reply "welcome back Ana"
  expect stage welcome
}
test "returning contacts from the start" {
  contact "+351 912 345 678" named "Rui" returning
  send "olá"
  expect reply "welcome back Rui"
}
"#,
    );
}

#[test]
fn the_step_budget_stops_runaway_loops_with_an_error_and_a_handoff() {
    let src = r#"
flow "F" { timezone "UTC"; budget 50 }
stage a { on enter { goto b } otherwise { goto b } }
stage b { on enter { goto a } otherwise { goto a } }
test "loops end in a handoff" {
  send "hi"
  expect handoff
  send "hello?"
  expect sent nothing
}
"#;
    assert_flow(src);
    with_flow(src, |sc| {
        let state = sc.state();
        assert_eq!(
            state.card.as_ref().map(|c| c.status),
            Some(CardStatus::Handoff)
        );
    });
    with_flow(
        r#"
flow "F" { timezone "UTC"; budget 50 }
stage a { on enter { goto b } otherwise { goto b } }
stage b { on enter { goto a } otherwise { goto a } }
"#,
        |sc| {
            let effects = sc.event(Event::Inbound(wafl::engine::Inbound::text("hi")));
            let error = effects.iter().find_map(|e| match &e.kind {
                EffectKind::Error { message } => Some(message.clone()),
                _ => None,
            });
            assert!(
                error.is_some_and(|m| m.contains("step budget of 50")),
                "{effects:#?}"
            );
            assert!(
                effects
                    .iter()
                    .any(|e| matches!(e.kind, EffectKind::Handoff { .. }))
            );
        },
    );
}

#[test]
fn ask_validates_reprompts_and_falls_back() {
    assert_flow(
        r#"
flow "F" { timezone "UTC" }
field order: text matching /^[A-Z]{2}[0-9]{6}$/
  invalid "Order numbers look like AB123456."
field qty: number between 1 and 10
field ok: yesno
field urgency: choice "low", "normal", "high"
stage triage {
  on keyword "order" {
    ask order "Your order number?" tries 2 else { reply "Let me get a person."; handoff }
    reply "Thanks, {order}."
  }
  on keyword "qty" {
    ask qty "How many?"
    ask ok "Confirm {qty}?"
    ask urgency "How urgent?"
    reply "qty={qty} ok={ok} urgency={urgency}"
  }
  otherwise { reply "?" }
}
test "a valid answer resumes after the ask" {
  send "order"
  expect reply "Your order number?"
  send "AB123456"
  expect reply "Thanks, AB123456."
  expect field order == "AB123456"
}
test "an invalid answer re-prompts with the field's message, then falls back" {
  send "order"
  send "123"
  expect reply "Order numbers look like AB123456."
  send "still wrong"
  expect reply "Let me get a person."
  expect handoff
}
test "numbers, yes/no in Portuguese, choices ignoring case" {
  send "qty"
  send "11"
  expect reply "How many?"
  send "3"
  expect reply "Confirm 3?"
  send "Sim"
  send "HIGH"
  expect reply "qty=3 ok=true urgency=high"
}
"#,
    );
}

#[test]
fn escape_words_work_while_a_question_waits() {
    assert_flow(
        r#"
flow "F" { timezone "UTC" }
field email: email
anywhere {
  on keyword "cancel", "cancelar" { reply "Cancelled."; close "cancelled" }
  on keyword "agent" { handoff }
}
stage triage {
  on message { ask email "Your email?" tries 5; reply "Got {email}" }
}
test "cancel during ask" {
  send "hi"
  expect reply "Your email?"
  send "CANCELAR"
  expect reply "Cancelled."
  expect closed "cancelled"
}
test "an ordinary wrong answer re-prompts" {
  send "hi"
  send "not an email"
  expect reply "Your email?"
  send "ana@acme.com"
  expect reply "Got ana@acme.com"
}
"#,
    );
}

#[test]
fn timers_of_the_same_length_all_fire_in_source_order() {
    let src = r#"
flow "F" { timezone "UTC" }
anywhere {
  after 10m silence { reply "anywhere" }
}
stage triage {
  on keyword "k0" { reply "k0" }
  after 10m silence { reply "stage, first" }
  on keyword "k2" { reply "k2" }
  on keyword "k3" { reply "k3" }
  on keyword "k4" { reply "k4" }
  on keyword "k5" { reply "k5" }
  on keyword "k6" { reply "k6" }
  on keyword "k7" { reply "k7" }
  on keyword "k8" { reply "k8" }
  after 10m silence { reply "stage, ninth" }
  on keyword "k10" { reply "k10" }
  after 10m silence { reply "stage, twelfth" }
  on keyword "bye" { goto closing }
  otherwise { reply "hi" }
}
stage closing {
  after 5m silence { close "first closes" }
  after 5m silence { reply "never: the card is closed" }
  otherwise { close }
}
test "hello" { send "hello"; expect reply "hi" }
"#;
    with_flow(src, |sc| {
        sc.advance(600);
        assert_eq!(
            sent(sc),
            ["anywhere", "stage, first", "stage, ninth", "stage, twelfth"]
        );
        sc.advance(3600);
        assert_eq!(sent(sc), Vec::<String>::new());
    });
    assert_flow(&src.replace(
        r#"test "hello" { send "hello"; expect reply "hi" }"#,
        r#"test "a timer that closes the card stops the later ones of the same instant" {
  send "bye"
  advance 5m
  expect closed "first closes"
  expect sent nothing
}"#,
    ));
}

#[test]
fn silence_and_in_stage_timers() {
    assert_flow(
        r#"
flow "F" { timezone "UTC" }
stage triage {
  on keyword "wait" { goto waiting }
  after 10m silence { reply "Still there?" }
  after 1h silence { close "abandoned" }
  otherwise { reply "How can we help?" }
}
stage waiting {
  on enter { reply "Waiting." }
  after 2h in stage { reply "Two hours in this stage." }
  otherwise { reply "Noted." }
}
test "silence runs from the last message either way, once per quiet period" {
  send "hi"
  advance 9m
  expect sent nothing
  advance 1m
  expect reply "Still there?"
  advance 49m
  expect sent nothing
  advance 1m
  expect closed "abandoned"
}
test "an inbound message restarts the silence" {
  send "hi"
  advance 9m
  send "hello?"
  expect reply "How can we help?"
  advance 9m
  expect sent nothing
  advance 1m
  expect reply "Still there?"
}
test "a stage change cancels the old stage's timers" {
  send "hi"
  send "wait"
  expect reply "Waiting."
  advance 61m
  expect sent nothing
  expect stage waiting
}
test "time in stage is not reset by messages" {
  send "wait"
  advance 90m
  send "anything"
  expect reply "Noted."
  advance 30m
  expect reply "Two hours in this stage."
}
"#,
    );
}

#[test]
fn business_hours_cross_midnight_and_respect_time_zones_and_holidays() {
    assert_flow(
        r#"
flow "F" { timezone "America/Sao_Paulo" }
hours night { mon-fri 22:00-02:00 }
hours tokyo { timezone "Asia/Tokyo"; mon-fri 09:00-18:00 }
hours office { mon-fri 09:00-18:00; closed 2026-01-06 }
stage triage {
  on keyword "night" when inside night { reply "night open" }
  on keyword "night" { reply "night closed" }
  on keyword "tokyo" when inside tokyo { reply "tokyo open" }
  on keyword "tokyo" { reply "tokyo closed" }
  on keyword "office" when inside office { reply "office open" }
  on keyword "office" { reply "office closed" }
  otherwise { reply "?" }
}
test "monday 10:00 in Sao Paulo" {
  send "night"
  expect reply "night closed"
  send "office"
  expect reply "office open"
  send "tokyo"
  expect reply "tokyo closed"
}
test "a range that crosses midnight covers the small hours of the next day" {
  advance 13h
  send "night"
  expect reply "night open"
  advance 2h30m
  send "night"
  expect reply "night open"
  advance 30m
  send "night"
  expect reply "night closed"
}
test "friday night runs into saturday, saturday night does not open" {
  advance 4d
  advance 13h
  send "night"
  expect reply "night open"
  advance 2h30m
  send "night"
  expect reply "night open"
  advance 1d
  send "night"
  expect reply "night closed"
}
test "another zone: Tokyo opens at 21:00 in Sao Paulo" {
  advance 11h
  send "tokyo"
  expect reply "tokyo open"
}
test "a holiday closes the day" {
  advance 1d
  send "office"
  expect reply "office closed"
  advance 1d
  send "office"
  expect reply "office open"
}
"#,
    );
}

#[test]
fn the_24_hour_window_runs_from_the_customers_last_message() {
    assert_flow(
        r#"
flow "F" { timezone "UTC"; window template back_soon }
template back_soon "we_are_back" lang "pt_BR"
stage triage {
  on keyword "late" { goto late }
  on keyword "edge" { goto edge }
  otherwise { reply "hi" }
}
stage late {
  on enter { reply "wait" }
  after 24h in stage { reply "are you there?" }
  otherwise { reply "hi" }
}
stage edge {
  on enter { reply "wait" }
  after 86399s in stage { reply "last second" }
  otherwise { reply "hi" }
}
test "exactly 24 hours later the window is closed: the template goes instead" {
  send "late"
  advance 24h
  expect template back_soon
}
test "one second before, free-form is fine" {
  send "edge"
  advance 86399s
  expect reply "last second"
}
"#,
    );
    assert_flow(
        r#"
flow "F" { timezone "UTC" }
stage triage {
  on keyword "late" { goto late }
  otherwise { reply "hi" }
}
stage late {
  on enter { reply "wait" }
  after 25h in stage { reply "are you there?" }
  otherwise { reply "hi" }
}
test "without a window template the send fails and is recorded" {
  send "late"
  advance 25h
  expect sent nothing
}
"#,
    );
    with_flow(
        r#"
flow "F" { timezone "UTC" }
stage triage {
  on keyword "late" { goto late }
  otherwise { reply "hi" }
}
stage late {
  on enter { reply "wait" }
  after 25h in stage { reply "are you there?" }
  otherwise { reply "hi" }
}
test "setup" { send "late" }
"#,
        |sc| {
            sc.advance(25 * 3600);
            let failed = sc.last_effects().iter().any(|e| {
                matches!(&e.kind, EffectKind::SendFailed { reason, .. } if reason.contains("24-hour"))
            });
            assert!(failed, "{:#?}", sc.last_effects());
        },
    );
}

#[test]
fn opt_out_words_stop_automated_sends_until_opt_in() {
    assert_flow(
        r#"
flow "F" { timezone "UTC" }
stage triage { otherwise { reply "hello" } }
test "default words: STOP, then START" {
  send "oi"
  expect reply "hello"
  send "stop"
  expect sent nothing
  send "oi"
  expect sent nothing
  send "Start"
  expect sent nothing
  send "oi"
  expect reply "hello"
}
test "SAIR, PARAR and BAJA too, but not inside a sentence" {
  send "não quero parar agora"
  expect reply "hello"
  send "BAJA"
  send "hola"
  expect sent nothing
}
"#,
    );
    assert_flow(
        r#"
flow "F" { timezone "UTC"; optout "chega"; optin "volta" }
stage triage { otherwise { reply "hello" } }
test "custom words replace the defaults" {
  send "STOP"
  expect reply "hello"
  send "Chega"
  send "oi"
  expect sent nothing
  send "VOLTA"
  send "oi"
  expect reply "hello"
}
"#,
    );
}

#[test]
fn handoff_keeps_automation_silent_until_release_or_resolve() {
    let src = r#"
flow "F" { timezone "UTC" }
anywhere { on keyword "agent" { reply "Calling a person."; handoff billing } }
team billing { agents "ana@acme.com" }
stage triage {
  after 10m silence { reply "Still there?" }
  otherwise { reply "bot here" }
}
test "silent during handoff" {
  send "agent"
  expect reply "Calling a person."
  expect handoff
  expect routed billing
  send "hello?"
  expect sent nothing
  advance 1h
  expect sent nothing
}
"#;
    assert_flow(src);
    with_flow(src, |sc| {
        sc.event(Event::Agent(AgentAction::Reply {
            agent: "ana@acme.com".into(),
            text: "Hi, Ana here".into(),
        }));
        assert_eq!(sent(sc), vec!["Hi, Ana here".to_string()]);
        sc.event(Event::Agent(AgentAction::Release));
        sc.event(Event::Inbound(wafl::engine::Inbound::text("thanks")));
        assert_eq!(sent(sc), vec!["bot here".to_string()]);
        sc.event(Event::Agent(AgentAction::Resolve { reason: None }));
        let closed = sc
            .state()
            .last_closed
            .as_ref()
            .map(|c| c.close_reason.clone());
        assert_eq!(closed, Some(Some("resolved".to_string())));
        assert!(sc.state().card.is_none());
    });
}

#[test]
fn webhook_posts_and_calls() {
    let src = r#"
flow "F" { timezone "UTC" }
webhook crm "https://crm.example.com/hook"
webhook stock "https://stock.example.com/q" { timeout 5s }
field order: text
field status: text
stage triage {
  on keyword "track" {
    ask order "Order?"
    call stock { order: order } save status else { reply "Stock is down." }
    reply "Status: {status}"
    post crm { phone: contact.phone, order: order, status: status }
  }
  otherwise { reply "?" }
}
test "setup" {
  contact "+55 11 98888-7777"
  send "track"
  send "AB1"
  expect sent nothing
}
"#;
    with_flow(src, |sc| {
        let call_id = sc
            .last_effects()
            .iter()
            .find_map(|e| match &e.kind {
                EffectKind::Call { call_id, .. } => Some(call_id.clone()),
                _ => None,
            })
            .expect("a call went out");
        sc.event(Event::WebhookResult {
            call_id,
            result: WebhookResult::Ok {
                body: serde_json::json!({ "status": "shipped", "other": 1 }),
            },
        });
        assert_eq!(sent(sc), vec!["Status: shipped".to_string()]);
        let post = sc.last_effects().iter().find_map(|e| match &e.kind {
            EffectKind::Post { body, .. } => Some(body.clone()),
            _ => None,
        });
        assert_eq!(
            post,
            Some(serde_json::json!({
                "phone": "+55 11 98888-7777", "order": "AB1", "status": "shipped"
            }))
        );
    });
    with_flow(src, |sc| {
        sc.advance(5);
        assert_eq!(sent(sc), vec!["Stock is down.".to_string()]);
    });
}

#[test]
fn forms_set_fields_and_trigger_their_handler() {
    assert_flow(
        r#"
flow "F" { timezone "UTC" }
webhook crm "https://crm.example.com/hook"
form booking "Book a visit" {
  screen "When" {
    day: date "Preferred day" after today
    period: choice "Period" "Morning", "Afternoon"
  }
}
stage triage {
  on keyword "book" { reply form booking "Pick a day" }
  on form booking submitted {
    post crm { day: day, period: period }
    reply "Booked for {day}, {period}."
    close "booked"
  }
  otherwise { reply "?" }
}
test "submit" {
  send "book"
  expect reply "Pick a day"
  submit booking { day: 2026-02-01, period: "Morning" }
  expect reply "Booked for 2026-02-01, Morning."
  expect posted crm { period: "Morning" }
  expect closed "booked"
}
"#,
    );
}

#[test]
fn every_effect_carries_its_trace() {
    with_flow(
        r#"
flow "F" { timezone "UTC" }
stage triage {
  on keyword "boleto" when contact has no tag "vip" { reply "billing" }
  otherwise { reply "?" }
}
test "setup" { send "oi" }
"#,
        |sc| {
            sc.event(Event::Inbound(wafl::engine::Inbound::text("o BOLETO")));
            let send = sc
                .last_effects()
                .iter()
                .find(|e| matches!(e.kind, EffectKind::Send { .. }))
                .expect("a reply");
            assert_eq!(send.trace.stage, "triage");
            assert!(!send.trace.handler_span.is_empty());
            assert_eq!(
                send.trace.conditions,
                vec![
                    ("keyword".to_string(), "boleto".to_string()),
                    ("contact has no tag \"vip\"".to_string(), "true".to_string()),
                ]
            );
        },
    );
}

#[test]
fn delivery_statuses_and_reassignment_are_recorded() {
    with_flow(
        r#"
flow "F" { timezone "UTC" }
team billing { agents "ana@acme.com" }
team tech { agents "li@acme.com" }
stage triage { otherwise { reply "hi"; route billing } }
test "setup" { send "oi"; expect routed billing }
"#,
        |sc| {
            let id = sc.state().seq.to_string();
            let effects = sc.event(Event::Status {
                message_id: format!("out-{id}"),
                status: wafl::engine::DeliveryStatus::Failed { code: 131047 },
            });
            assert!(effects.iter().any(|e| matches!(
                &e.kind,
                EffectKind::Metric { name, labels }
                    if name == "delivery_failed"
                    && labels.contains(&("code".to_string(), "131047".to_string()))
            )));
            sc.event(Event::Agent(AgentAction::Reassign {
                agent: Some("li@acme.com".into()),
                team: Some("tech".into()),
            }));
            let card = sc.state().card.as_ref().expect("an open card");
            assert_eq!(card.team.as_deref(), Some("tech"));
            assert_eq!(card.agent.as_deref(), Some("li@acme.com"));
        },
    );
}

#[test]
fn a_window_closed_by_whatsapp_sends_the_window_template_once_per_closed_window() {
    with_flow(
        r#"
flow "F" { timezone "UTC"; window template back }
template back "we_are_back" lang "en_US"
stage triage { on message { reply "hi" } }
test "setup" { send "oi"; expect reply "hi" }
"#,
        |sc| {
            let failed = |sc: &mut wafl::testrun::Scenario<'_>, id: &str| {
                sc.event(Event::Status {
                    message_id: id.to_string(),
                    status: wafl::engine::DeliveryStatus::Failed {
                        code: wafl::engine::WINDOW_CLOSED,
                    },
                })
                .to_vec()
            };
            let effects = failed(sc, "out-1");
            let templates: Vec<_> = effects
                .iter()
                .filter_map(|e| match &e.kind {
                    EffectKind::Send {
                        message:
                            wafl::engine::OutMessage::Template {
                                wa_name, params, ..
                            },
                        ..
                    } => Some((wa_name.clone(), params.clone())),
                    _ => None,
                })
                .collect();
            assert_eq!(
                templates,
                vec![("we_are_back".to_string(), Vec::<String>::new())],
                "the same template as when the engine's own clock sees the window closed"
            );
            // A second refused message of the same closed window sends nothing more.
            let again = failed(sc, "out-2");
            assert!(
                !again
                    .iter()
                    .any(|e| matches!(e.kind, EffectKind::Send { .. })),
                "{again:?}"
            );
            // Once the customer writes again, a later closed window gets the template again.
            sc.advance(60);
            sc.event(Event::Inbound(wafl::engine::Inbound::text("still there?")));
            let later = failed(sc, "out-3");
            assert!(
                later
                    .iter()
                    .any(|e| matches!(e.kind, EffectKind::Send { .. })),
                "{later:?}"
            );
        },
    );
}

#[test]
fn a_person_who_takes_over_silences_the_automation_until_release() {
    let src = r#"
flow "F" { timezone "UTC" }
team billing { agents "ana@acme.com" }
template back "we_are_back" lang "en_US" with name
stage triage {
  on keyword "bill" { route billing; reply "Billing will answer." }
  on keyword "bye" { close "done" }
  after 10m silence { reply "Still there?" }
  otherwise { reply "bot here" }
}
test "setup" { send "bill"; expect reply "Billing will answer." }
"#;
    with_flow(src, |sc| {
        assert!(!sc.state().timers.is_empty(), "the silence timer runs");
        sc.event(Event::Agent(AgentAction::TakeOver {
            agent: "ana@acme.com".into(),
        }));
        let kinds: Vec<&EffectKind> = sc.last_effects().iter().map(|e| &e.kind).collect();
        assert!(
            kinds
                .iter()
                .any(|k| matches!(k, EffectKind::Handoff { team: Some(t) } if t == "billing")),
            "{kinds:?}"
        );
        assert!(
            kinds
                .iter()
                .any(|k| matches!(k, EffectKind::Assign { agent } if agent == "ana@acme.com")),
            "{kinds:?}"
        );
        let card = sc.state().card.clone().expect("open card");
        assert_eq!(card.status, CardStatus::Handoff);
        assert_eq!(card.agent.as_deref(), Some("ana@acme.com"));
        assert!(
            sc.state().timers.is_empty(),
            "no timer runs for a card a person holds"
        );
        // The customer writes, time passes: the automation says nothing.
        sc.event(Event::Inbound(wafl::engine::Inbound::text("hello?")));
        assert!(sent(sc).is_empty());
        sc.advance(3600);
        assert!(sent(sc).is_empty());
        // Taking over again changes nothing; a note changes nothing; tags do.
        sc.event(Event::Agent(AgentAction::TakeOver {
            agent: "ana@acme.com".into(),
        }));
        assert!(sc.last_effects().is_empty(), "{:?}", sc.last_effects());
        sc.event(Event::Agent(AgentAction::Note {
            agent: "ana@acme.com".into(),
            text: "asks about March".into(),
        }));
        assert!(sc.last_effects().is_empty());
        sc.event(Event::Agent(AgentAction::Tag { tag: "vip".into() }));
        assert!(sc.state().contact.tags.contains("vip"));
        sc.event(Event::Agent(AgentAction::Untag { tag: "vip".into() }));
        assert!(!sc.state().contact.tags.contains("vip"));
        // A template goes out as the template, with its values.
        sc.event(Event::Agent(AgentAction::Template {
            agent: "ana@acme.com".into(),
            name: "back".into(),
            params: vec!["Ana".into()],
        }));
        let template = sc.last_effects().iter().find_map(|e| match &e.kind {
            EffectKind::Send {
                message:
                    wafl::engine::OutMessage::Template {
                        wa_name, params, ..
                    },
                ..
            } => Some((wa_name.clone(), params.clone())),
            _ => None,
        });
        assert_eq!(
            template,
            Some(("we_are_back".to_string(), vec!["Ana".to_string()]))
        );
        // Released: the automation answers again.
        sc.event(Event::Agent(AgentAction::Release));
        sc.event(Event::Inbound(wafl::engine::Inbound::text("thanks")));
        assert_eq!(sent(sc), vec!["bot here".to_string()]);
    });
}
