//! Card events derived from engine steps: the right events, in order, with the rule,
//! timer or person behind each, the instant and the script version; and the record
//! format they are stored in.

#[path = "support/engine.rs"]
mod engine_support;

use jiff::{SignedDuration, Timestamp};
use wafl::engine::events::{
    CARD_EVENT_VERSION, CardEvent, Cause, DecodeError, Durations, Origin, RuleKey, TimerCause, What,
};
use wafl::engine::{AgentAction, Event, Inbound, WebhookResult};
use wafl::testrun::sim::Sim;

const FLOW: &str = r#"
flow "Desk" { timezone "UTC" window template back_soon }
hours office { mon-fri 09:00-18:00 }
team billing { agents "ana@acme.com"; hours office }
team technical { agents "li@acme.com" }
field order: text matching /^[A-Z]{2}[0-9]{6}$/ invalid "Like AB123456, please."
template back_soon "back_soon" lang "en"
webhook orders "https://erp.example/lookup"
stage triage {
  on keyword "invoice" { route billing; goto service }
  on keyword "order" {
    ask order "Your order number?" tries 2 else { handoff billing }
    call orders { order: order } save status timeout 5s else { reply "Lookup failed." }
    reply "Order {order}: {status}"
  }
  after 1h silence { close "abandoned" }
  otherwise { reply "Say invoice or order." }
}
stage service {
  on keyword "wrong" { route technical }
  on keyword "thanks" { close "resolved" }
  otherwise { ignore }
}
"#;

const ANA: &str = "+5511911112222";

/// Monday 2026-01-05 17:00 UTC: an hour before the office closes.
fn monday_5pm() -> Timestamp {
    "2026-01-05T17:00:00Z".parse().expect("instant")
}

fn text(s: &str) -> Event {
    Event::Inbound(Inbound::text(s))
}

fn kinds(events: &[CardEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e.what.detail() {
            Some(d) => format!("{} {d}", e.what.name()),
            None => e.what.name().to_string(),
        })
        .collect()
}

fn key(stage: &str, trigger: &str) -> RuleKey {
    RuleKey {
        stage: Some(stage.to_string()),
        trigger: trigger.to_string(),
        sla: None,
    }
}

fn rule(stage: &str, trigger: &str) -> Option<RuleKey> {
    Some(key(stage, trigger))
}

#[test]
fn a_card_routed_rerouted_answered_and_resolved() {
    let program = engine_support::program(FLOW);
    let mut sim = Sim::new(monday_5pm(), "sha256:v1");
    let first = sim.deliver(&program, ANA, &text("hi")).events;
    assert_eq!(kinds(&first), ["opened", "stage_entered", "otherwise"]);
    assert_eq!(first[0].cause.origin, Origin::Customer);
    assert_eq!(first[0].cause.rule, None, "no rule opens a card");
    assert_eq!(first[2].cause.rule, rule("triage", "otherwise"));
    assert!(
        first
            .iter()
            .all(|e| e.script == "sha256:v1" && e.v == CARD_EVENT_VERSION)
    );
    assert!(first.iter().all(|e| e.contact == ANA && e.card == 1));

    let routed = sim.deliver(&program, ANA, &text("my invoice")).events;
    assert_eq!(
        kinds(&routed),
        ["routed billing", "stage_left", "stage_entered"]
    );
    assert_eq!(routed[1].stage, "triage");
    assert_eq!(
        routed[1].what,
        What::StageLeft {
            to: Some("service".into())
        }
    );
    assert_eq!(routed[2].stage, "service");
    assert_eq!(
        routed[2].what,
        What::StageEntered {
            from: Some("triage".into())
        }
    );
    assert!(
        routed
            .iter()
            .all(|e| e.cause.rule == rule("triage", "keyword \"invoice\""))
    );

    let rerouted = sim.deliver(&program, ANA, &text("wrong team")).events;
    assert_eq!(
        rerouted.first().map(|e| &e.what),
        Some(&What::Routed {
            team: "technical".into(),
            previous: Some("billing".into())
        })
    );

    // A person replies two hours later: one office hour has passed (17:00-18:00).
    sim.set_now(
        monday_5pm()
            .checked_add(SignedDuration::from_hours(2))
            .expect("t"),
    );
    let reply = AgentAction::Reply {
        agent: "li@acme.com".into(),
        text: "On it".into(),
    };
    let replied = sim
        .deliver(&program, ANA, &Event::Agent(reply.clone()))
        .events;
    assert_eq!(kinds(&replied), ["first_human_reply li@acme.com"]);
    assert_eq!(
        replied[0].cause,
        Cause {
            origin: Origin::Agent {
                agent: Some("li@acme.com".into())
            },
            rule: None
        }
    );
    // The card's team is technical now, which has no hours: wall clock only.
    assert_eq!(
        replied[0].what,
        What::FirstHumanReply {
            agent: "li@acme.com".into(),
            waited: Durations {
                wall_secs: 7200,
                business_secs: None
            }
        }
    );
    // A second reply is not a first reply.
    assert!(
        sim.deliver(&program, ANA, &Event::Agent(reply))
            .events
            .is_empty()
    );

    let closed = sim.deliver(&program, ANA, &text("thanks")).events;
    assert_eq!(kinds(&closed), ["stage_left", "closed resolved"]);
    assert_eq!(closed[1].at, sim.now());
}

#[test]
fn business_time_counts_only_the_teams_hours() {
    let program = engine_support::program(FLOW);
    let mut sim = Sim::new(monday_5pm(), "v");
    sim.deliver(&program, ANA, &text("invoice"));
    // Tuesday 10:00: 17:00-18:00 Monday and 09:00-10:00 Tuesday were open.
    sim.set_now("2026-01-06T10:00:00Z".parse().expect("t"));
    let closed = sim.deliver(&program, ANA, &text("thanks")).events;
    assert_eq!(
        closed.last().map(|e| &e.what),
        Some(&What::Closed {
            reason: Some("resolved".into()),
            open_for: Durations {
                wall_secs: 17 * 3600,
                business_secs: Some(2 * 3600)
            }
        })
    );
}

#[test]
fn asks_answers_refusals_and_the_call_result() {
    let program = engine_support::program(FLOW);
    let mut sim = Sim::new(monday_5pm(), "v");
    sim.deliver(&program, ANA, &text("hello"));
    let asked = sim
        .deliver(&program, ANA, &text("where is my order"))
        .events;
    assert_eq!(kinds(&asked), ["asked order"]);
    let refused = sim.deliver(&program, ANA, &text("it is 123")).events;
    assert_eq!(
        refused.iter().map(|e| &e.what).collect::<Vec<_>>(),
        [&What::AnswerRefused {
            field: "order".into(),
            tries_left: 1
        }]
    );
    let answered = sim.deliver(&program, ANA, &text("AB123456")).events;
    assert_eq!(kinds(&answered), ["answered order"]);
    let call_id = match sim
        .state(ANA)
        .and_then(|s| s.card.as_ref())
        .and_then(|c| c.suspended.clone())
    {
        Some(wafl::engine::Suspension::Call { call_id, .. }) => call_id,
        other => panic!("expected a waiting call, got {other:?}"),
    };
    let result = Event::WebhookResult {
        call_id,
        result: WebhookResult::Ok {
            body: serde_json::json!({"status": "shipped"}),
        },
    };
    let done = sim.deliver(&program, ANA, &result).events;
    assert_eq!(kinds(&done), ["call_result orders"]);
    assert_eq!(
        done[0].cause.origin,
        Origin::Webhook {
            webhook: "orders".into()
        }
    );
    assert_eq!(done[0].cause.rule, rule("triage", "keyword \"order\""));
}

#[test]
fn a_call_that_times_out_and_an_ask_that_gives_up() {
    let program = engine_support::program(FLOW);
    let mut sim = Sim::new(monday_5pm(), "v");
    sim.deliver(&program, ANA, &text("hello"));
    sim.deliver(&program, ANA, &text("order"));
    sim.deliver(&program, ANA, &text("AB123456"));
    let mut seen = Vec::new();
    let target = sim
        .now()
        .checked_add(SignedDuration::from_secs(10))
        .expect("t");
    sim.advance_to(&program, target, |_, step| seen.extend(step.events.clone()));
    assert_eq!(
        seen.first().map(|e| (&e.what, &e.cause.origin)),
        Some((
            &What::CallResult {
                webhook: "orders".into(),
                ok: false,
                reason: Some("timeout".into())
            },
            &Origin::Timer(TimerCause::CallTimeout {
                webhook: "orders".into()
            })
        ))
    );

    let bob = "+5511933334444";
    sim.deliver(&program, bob, &text("order"));
    sim.deliver(&program, bob, &text("no idea"));
    let gave_up = sim.deliver(&program, bob, &text("still no idea")).events;
    assert_eq!(
        kinds(&gave_up),
        [
            "answer_refused order",
            "routed billing",
            "handed_off billing"
        ]
    );
    assert_eq!(
        gave_up[0].what,
        What::AnswerRefused {
            field: "order".into(),
            tries_left: 0
        }
    );
}

#[test]
fn a_silence_timer_closes_with_the_timer_as_cause_and_the_next_card_is_a_reopening() {
    let program = engine_support::program(FLOW);
    let mut sim = Sim::new(monday_5pm(), "v");
    sim.deliver(&program, ANA, &text("hello"));
    let mut seen = Vec::new();
    let target = sim
        .now()
        .checked_add(SignedDuration::from_hours(2))
        .expect("t");
    sim.advance_to(&program, target, |_, step| seen.extend(step.events.clone()));
    assert_eq!(kinds(&seen), ["stage_left", "closed abandoned"]);
    let timer = Origin::Timer(TimerCause::After {
        rule: key("triage", "after 3600s silence"),
    });
    assert!(seen.iter().all(|e| e.cause.origin == timer));
    let closed_at = seen[1].at;
    assert_eq!(
        closed_at,
        monday_5pm()
            .checked_add(SignedDuration::from_hours(1))
            .expect("t")
    );

    let again = sim.deliver(&program, ANA, &text("hello again")).events;
    assert_eq!(
        kinds(&again),
        ["opened", "reopened", "stage_entered", "otherwise"]
    );
    assert_eq!(again[0].card, 2);
    assert_eq!(
        again[1].what,
        What::Reopened {
            previous: 1,
            previous_closed_at: closed_at
        }
    );
}

#[test]
fn a_message_after_the_window_falls_back_to_the_template() {
    let program = engine_support::program(
        r#"
flow "Late" { timezone "UTC" window template back_soon }
template back_soon "back_soon" lang "en"
stage waiting {
  after 30h in stage { reply "Still there?" }
  on keyword "bye" { close "done" }
  otherwise { reply "Hello" }
}
"#,
    );
    let mut sim = Sim::new(monday_5pm(), "v");
    sim.deliver(&program, ANA, &text("hi"));
    let mut seen = Vec::new();
    let target = sim
        .now()
        .checked_add(SignedDuration::from_hours(31))
        .expect("t");
    sim.advance_to(&program, target, |_, step| seen.extend(step.events.clone()));
    assert_eq!(kinds(&seen), ["template_fallback back_soon"]);
    assert_eq!(
        seen[0].cause.origin,
        Origin::Timer(TimerCause::After {
            rule: key("waiting", "after 108000s in stage")
        })
    );
    // An agent's reassignment names no agent: the action does not say who.
    let evs = sim
        .deliver(
            &program,
            ANA,
            &Event::Agent(AgentAction::Reassign {
                agent: Some("ana@acme.com".into()),
                team: None,
            }),
        )
        .events;
    assert_eq!(kinds(&evs), ["assigned ana@acme.com"]);
    assert_eq!(evs[0].cause.origin, Origin::Agent { agent: None });
}

#[test]
fn unanswered_messages_are_recorded() {
    let program = engine_support::program(
        r#"
flow "Quiet" { timezone "UTC" }
stage only {
  on keyword "bye" { close "done" }
}
"#,
    );
    let mut sim = Sim::new(monday_5pm(), "v");
    let evs = sim.deliver(&program, ANA, &text("hello")).events;
    assert_eq!(kinds(&evs), ["opened", "stage_entered", "unanswered"]);
    assert_eq!(evs[2].cause.rule, None);
}

#[test]
fn records_round_trip_and_refuse_unknown_versions() {
    let program = engine_support::program(FLOW);
    let mut sim = Sim::new(monday_5pm(), "sha256:abc");
    sim.deliver(&program, ANA, &text("hi"));
    sim.deliver(&program, ANA, &text("invoice"));
    sim.deliver(&program, ANA, &text("thanks"));
    for e in sim.events() {
        let line = e.encode();
        assert!(line.starts_with("{\"v\":1,"), "{line}");
        assert_eq!(CardEvent::decode(&line).as_ref(), Ok(e), "{line}");
    }
    let closed = sim.events().last().expect("events").encode();
    assert!(
        closed.contains("\"what\":{\"kind\":\"closed\",\"reason\":\"resolved\""),
        "{closed}"
    );
    assert_eq!(
        CardEvent::decode(&closed.replacen("\"v\":1", "\"v\":2", 1)),
        Err(DecodeError::UnknownVersion(2))
    );
    assert!(matches!(
        CardEvent::decode("{\"v\":1}"),
        Err(DecodeError::Malformed(_))
    ));
    assert!(matches!(
        CardEvent::decode("[]"),
        Err(DecodeError::Malformed(_))
    ));
}

#[test]
fn form_events_from_sending_to_submission() {
    let program = engine_support::program(
        r#"
flow "Forms" { timezone "UTC" }
field email: email
form signup "Sign up" {
  screen "You" { email }
}
stage start {
  on keyword "join" { reply form signup "Tap to sign up" }
  on form signup submitted { close "joined" }
  otherwise { reply "Say join" }
}
"#,
    );
    let mut sim = Sim::new(monday_5pm(), "v");
    sim.deliver(&program, ANA, &text("hi"));
    assert_eq!(
        kinds(&sim.deliver(&program, ANA, &text("join")).events),
        ["form_sent signup"]
    );
    let screen = Event::FormScreen {
        form: "signup".into(),
        screen: "YOU".into(),
    };
    assert_eq!(
        sim.deliver(&program, ANA, &screen)
            .events
            .first()
            .map(|e| &e.what),
        Some(&What::FormScreen {
            form: "signup".into(),
            screen: "YOU".into()
        })
    );
    let refused = Event::FormRefused {
        form: "signup".into(),
        fields: vec!["email".into()],
    };
    assert_eq!(
        kinds(&sim.deliver(&program, ANA, &refused).events),
        ["form_refused signup"]
    );
    let mut values = std::collections::BTreeMap::new();
    values.insert(
        "email".to_string(),
        wafl::compile::Value::Str("a@b.co".into()),
    );
    let submitted = Event::Inbound(Inbound {
        profile_name: None,
        message: wafl::engine::InboundMessage::Form {
            form: "signup".into(),
            values,
        },
    });
    assert_eq!(
        kinds(&sim.deliver(&program, ANA, &submitted).events),
        ["form_submitted signup", "stage_left", "closed joined"]
    );
}
