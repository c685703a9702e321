//! Property tests of the engine: the same events give the same effects (determinism),
//! arbitrary event sequences never panic, and the step budget bounds every event.

#[path = "support/engine.rs"]
mod support;

use proptest::prelude::*;
use std::collections::BTreeMap;
use wafl::compile::{Program, Value};
use wafl::engine::events::{self, CardEvent};
use wafl::engine::{
    self, AgentAction, Contact, DeliveryStatus, EffectKind, Event, Inbound, InboundMessage,
    MediaType, Outcome, State, WebhookResult,
};

/// A flow that uses every kind of trigger and action, loops included.
const FLOW: &str = r#"
flow "Props" {
  timezone "America/Sao_Paulo"
  window template back_soon
  budget 300
}
hours office { mon-fri 09:00-18:00; sat 22:00-02:00; closed 2026-01-06 }
team billing { agents "ana@acme.com"; hours office }
field order: text matching /^[A-Z]{2}[0-9]{6}$/ invalid "Like AB123456."
field qty: number between 1 and 10
field ok: yesno
field day: date future
field urgency: choice "low", "normal", "high"
field status: text
template back_soon "we_are_back" lang "pt_BR" with name
webhook crm "https://crm.example.com/hook"
webhook stock "https://stock.example.com/q" { timeout 5s }
form booking "Book" { screen "When" { when_day: date "Day" after today } }
anywhere {
  on keyword "agent", "atendente" { handoff billing }
  on keyword "cancel" { close "cancelled" }
}
stage triage {
  on keyword "fatura", "boleto" { route billing priority high; goto service }
  on keyword "order" {
    ask order "Order?" tries 2 else { reply "giving up"; handoff }
    call stock { order: order } save status else { reply "down" }
    reply "Status {status}"
    post crm { order: order, status: status, phone: contact.phone }
  }
  on keyword "qty" { ask qty "How many?"; ask ok "Sure?"; ask day "When?"; ask urgency "Urgency?" }
  on keyword "loop" { goto loop_a }
  on keyword "book" { reply form booking "Pick" }
  on form booking submitted { reply "booked {when_day}"; close "booked" }
  on button "Billing" { goto service }
  on choice "Returns" { tag "returns"; goto service }
  on image { reply "nice picture" }
  on media { reply "got media" }
  on regex /[0-9]{3}/ { set status = message.text; reply "digits" }
  on message when outside office { reply "closed now" }
  when contact has tag "vip" { assign "ana@acme.com" }
  after 10m silence { reply "still there?" }
  after 24h silence { close "abandoned" }
  otherwise { reply buttons "Help?" ["Billing", "Other"] }
}
stage service {
  on enter { reply "service for {contact.name}" }
  after 2h in stage { reply "two hours" }
  on keyword "done" { close "resolved" }
  otherwise { reply list "Topics" button "Open" ["Returns", "Billing"] }
}
stage loop_a { on enter { goto loop_b } otherwise { goto loop_b } }
stage loop_b { on enter { goto loop_a } otherwise { goto loop_a } }
sla billing_desk for billing {
  first reply within 30m else { priority urgent; post crm { late: true } }
  resolution within 4h
}
"#;

/// What a test does next; indexes pick among live timers and calls when there are any.
#[derive(Clone, Debug)]
enum Act {
    Text(String),
    Button(String),
    Choice(String),
    Media(u8),
    Form(i64),
    FireTimer(usize),
    StaleTimer(String),
    Status(u8, u32),
    Agent(u8, String),
    CallOk(String),
    CallFail,
    FormRefused,
    FormScreen(String),
    Wait(i64),
}

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("fatura".to_string()),
        Just("BOLETO!".to_string()),
        Just("order".to_string()),
        Just("AB123456".to_string()),
        Just("qty".to_string()),
        Just("3".to_string()),
        Just("sim".to_string()),
        Just("amanhã".to_string()),
        Just("HIGH".to_string()),
        Just("loop".to_string()),
        Just("agent".to_string()),
        Just("cancel".to_string()),
        Just("STOP".to_string()),
        Just("start".to_string()),
        Just("done".to_string()),
        Just("book".to_string()),
        Just("123".to_string()),
        Just("não".to_string()),
        ".{0,40}",
        any::<String>(),
    ]
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        6 => word().prop_map(Act::Text),
        1 => prop_oneof![Just("Billing".to_string()), Just("Other".to_string()), ".{0,10}"]
            .prop_map(Act::Button),
        1 => prop_oneof![Just("Returns".to_string()), ".{0,10}"].prop_map(Act::Choice),
        1 => (0u8..8).prop_map(Act::Media),
        1 => (-5i64..40).prop_map(Act::Form),
        3 => any::<usize>().prop_map(Act::FireTimer),
        1 => ".{0,12}".prop_map(Act::StaleTimer),
        1 => (0u8..4, any::<u32>()).prop_map(|(s, c)| Act::Status(s, c)),
        1 => (0u8..4, ".{0,10}").prop_map(|(k, s)| Act::Agent(k, s)),
        1 => prop_oneof![Just("shipped".to_string()), ".{0,8}"].prop_map(Act::CallOk),
        1 => Just(Act::CallFail),
        1 => Just(Act::FormRefused),
        1 => prop_oneof![Just("WHEN".to_string()), ".{0,8}"].prop_map(Act::FormScreen),
        2 => prop_oneof![0i64..120, 0i64..100_000, Just(86_400i64)].prop_map(Act::Wait),
    ]
}

/// Turns an act into an event against the current state; `now` moves forward.
fn event_for(act: &Act, state: &State, now: &mut jiff::Timestamp) -> Option<Event> {
    let call_id = || {
        state.card.as_ref().and_then(|c| match &c.suspended {
            Some(engine::Suspension::Call { call_id, .. }) => Some(call_id.clone()),
            _ => None,
        })
    };
    let inbound = |m| {
        Some(Event::Inbound(Inbound {
            profile_name: Some("Ana".into()),
            message: m,
        }))
    };
    match act {
        Act::Text(t) => inbound(InboundMessage::Text(t.clone())),
        Act::Button(t) => inbound(InboundMessage::Button(t.clone())),
        Act::Choice(t) => inbound(InboundMessage::ListChoice(t.clone())),
        Act::Media(k) => {
            let kind = [
                MediaType::Image,
                MediaType::Video,
                MediaType::Audio,
                MediaType::Document,
                MediaType::Sticker,
                MediaType::Location,
                MediaType::Contacts,
                MediaType::Other,
            ][usize::from(*k) % 8];
            inbound(InboundMessage::Media {
                kind,
                caption: None,
            })
        }
        Act::Form(days) => {
            let day = jiff::civil::date(2026, 1, 5)
                .checked_add(jiff::Span::new().days(*days))
                .ok()?;
            let mut values = BTreeMap::new();
            values.insert("when_day".to_string(), Value::Date(day));
            inbound(InboundMessage::Form {
                form: "booking".into(),
                values,
            })
        }
        Act::FireTimer(i) => {
            let n = state.timers.len();
            if n == 0 {
                return None;
            }
            let (id, t) = state.timers.iter().nth(i % n)?;
            if t.at > *now {
                *now = t.at;
            }
            Some(Event::Timer { id: id.clone() })
        }
        Act::StaleTimer(id) => Some(Event::Timer { id: id.clone() }),
        Act::Status(s, code) => Some(Event::Status {
            message_id: format!("out-{code}"),
            status: match s {
                0 => DeliveryStatus::Sent,
                1 => DeliveryStatus::Delivered,
                2 => DeliveryStatus::Read,
                _ => DeliveryStatus::Failed { code: *code },
            },
        }),
        Act::Agent(k, s) => Some(Event::Agent(match k {
            0 => AgentAction::Reply {
                agent: "ana@acme.com".into(),
                text: s.clone(),
            },
            1 => AgentAction::Resolve {
                reason: Some(s.clone()),
            },
            2 => AgentAction::Reassign {
                agent: Some(s.clone()),
                team: Some("billing".into()),
            },
            _ => AgentAction::Release,
        })),
        Act::CallOk(status) => Some(Event::WebhookResult {
            call_id: call_id().unwrap_or_else(|| "call-0".into()),
            result: WebhookResult::Ok {
                body: serde_json::json!({ "status": status }),
            },
        }),
        Act::CallFail => Some(Event::WebhookResult {
            call_id: call_id().unwrap_or_else(|| "call-0".into()),
            result: WebhookResult::Failed {
                reason: "500".into(),
            },
        }),
        Act::FormRefused => Some(Event::FormRefused {
            form: "booking".into(),
            fields: vec!["when_day".into()],
        }),
        Act::FormScreen(screen) => Some(Event::FormScreen {
            form: "booking".into(),
            screen: screen.clone(),
        }),
        Act::Wait(secs) => {
            *now = now
                .checked_add(jiff::SignedDuration::from_secs(*secs))
                .ok()?;
            None
        }
    }
}

/// Plays the acts and returns every outcome, checking the per-event invariants.
fn play(program: &Program, acts: &[Act]) -> Vec<Outcome> {
    let mut now = wafl::testrun::start_instant(program);
    let mut state = State::new(Contact::new("+55 11 98888-7777"));
    let mut out = Vec::new();
    for a in acts {
        let Some(ev) = event_for(a, &state, &mut now) else {
            continue;
        };
        let o = engine::step(program, &state, &ev, now);
        // The budget bounds the work of one event: each instruction emits a handful of
        // effects at most, and the timers of one stage are re-armed once or twice.
        assert!(
            o.effects.len() <= 8 * program.budget as usize + 64,
            "{} effects for one event",
            o.effects.len()
        );
        // Running out of budget always ends in a handoff.
        if o.effects.iter().any(
            |e| matches!(&e.kind, EffectKind::Error { message } if message.contains("step budget")),
        ) {
            assert!(
                o.effects
                    .iter()
                    .any(|e| matches!(e.kind, EffectKind::Handoff { .. }))
            );
        }
        // Opted-out contacts get no automated message.
        if state.opted_out && !matches!(ev, Event::Agent(_)) && o.state.opted_out {
            assert!(
                !o.effects
                    .iter()
                    .any(|e| matches!(e.kind, EffectKind::Send { .. })),
                "sent to an opted-out contact: {ev:?}"
            );
        }
        // Effects go to the daemon's outbox as JSON.
        if let Err(e) = serde_json::to_string(&o.effects) {
            panic!("effects do not serialise: {e}");
        }
        // Card events are records: they read back as written, and belong to this
        // contact's cards.
        for e in events::derive(program, "sha256:props", &state, &ev, &o, now) {
            assert_eq!(CardEvent::decode(&e.encode()).as_ref(), Ok(&e));
            assert_eq!(e.contact, state.contact.phone);
            assert!(
                e.card >= 1 && e.card <= o.state.cards_opened.max(1),
                "{e:?}"
            );
        }
        state = o.state.clone();
        out.push(o);
    }
    out
}

/// Cases per property: `WAFL_FUZZ_CASES` raises it for long fuzzing runs.
fn fuzz_cases(default: u32) -> u32 {
    std::env::var("WAFL_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(fuzz_cases(200)))]

    #[test]
    fn same_events_same_effects(acts in prop::collection::vec(act(), 0..40)) {
        let program = support::program(FLOW);
        let first = play(&program, &acts);
        let second = play(&program, &acts);
        prop_assert_eq!(first, second);
    }

    #[test]
    fn state_survives_serialisation(acts in prop::collection::vec(act(), 0..25)) {
        let program = support::program(FLOW);
        for o in play(&program, &acts) {
            let json = serde_json::to_string(&o.state).expect("state serialises");
            let back: State = serde_json::from_str(&json).expect("state deserialises");
            prop_assert_eq!(back, o.state);
        }
    }

    #[test]
    fn events_survive_serialisation(acts in prop::collection::vec(act(), 0..25)) {
        let program = support::program(FLOW);
        let mut now = wafl::testrun::start_instant(&program);
        let state = State::new(Contact::new("+55 11 98888-7777"));
        for a in &acts {
            if let Some(ev) = event_for(a, &state, &mut now) {
                let json = serde_json::to_string(&ev).expect("event serialises");
                let back: Event = serde_json::from_str(&json).expect("event deserialises");
                prop_assert_eq!(back, ev);
            }
        }
    }

    #[test]
    fn any_text_on_any_flow_never_panics(src in ".{0,300}", text in any::<String>()) {
        let parsed = wafl::syntax::parse(wafl::syntax::span::FileId(0), &src);
        let checked = wafl::check::check(&parsed.file);
        let program = wafl::compile::compile(&parsed.file, &checked.symbols);
        let now = wafl::testrun::start_instant(&program);
        let state = State::new(Contact::new(text.clone()));
        let _ = engine::step(&program, &state, &Event::Inbound(Inbound::text(text)), now);
    }
}

#[test]
fn the_budget_holds_on_a_loop() {
    let program = support::program(FLOW);
    let acts = [Act::Text("loop".into()), Act::Text("again".into())];
    let outcomes = play(&program, &acts);
    let errors = outcomes
        .iter()
        .flat_map(|o| &o.effects)
        .filter(|e| matches!(e.kind, EffectKind::Error { .. }))
        .count();
    assert_eq!(errors, 1, "{outcomes:#?}");
    assert_eq!(
        outcomes
            .last()
            .and_then(|o| o.state.card.as_ref())
            .map(|c| c.status),
        Some(engine::CardStatus::Handoff)
    );
}
