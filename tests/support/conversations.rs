//! Recorded conversations for replay tests and the replay benchmark: a shop script and
//! five conversations with it that exercise every kind of input — a webhook answer, a
//! silence timer and a form, an event that opens the card, an agent and a delivery
//! status, and a lookup that times out.

#![allow(dead_code)]

use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use std::collections::BTreeMap;
use wafl::compile::{Program, Value};
use wafl::engine::{
    AgentAction, Contact, DeliveryStatus, Event, Inbound, InboundMessage, WebhookResult,
};
use wafl::publish::replay::{self, Recorder, Recording};

pub const SHOP: &str = r#"
flow "Shop" { timezone "UTC"; start menu; window template back_soon }
field order: text matching /^[A-Z]{2}[0-9]{4}$/
field status: text
template back_soon "back_soon" lang "en"
template shipped "shipped" lang "en" with order
event order_shipped { order: text; eta: date }
webhook orders "https://orders.example.com/lookup"
webhook crm "https://crm.example.com/hooks"
form details "Details" { screen "You" { email: email "E-mail"; name: text "Name" } }
team support { agents "ana@example.com" }

anywhere {
  on keyword "agent" { reply "A person will help."; handoff support }
}

stage menu {
  on event order_shipped {
    set order = event.order
    send template shipped(event.order)
    goto shipped_wait
  } optout ignore
  on button "Track" { goto tracking }
  on button "Contact" { reply form details "Tell us how to reach you" }
  on form details submitted {
    post crm { email: email, name: name }
    reply "Thanks, we will write to {email}."
    close "contact"
  }
  after 10m silence { reply "Still there?" }
  otherwise { reply buttons "Hi! What do you need?" ["Track", "Contact"] }
}

stage shipped_wait {
  on button "Track it" { goto tracking }
  otherwise { reply "Tap the button to track your order." }
}

stage tracking {
  on enter {
    ask order "Your order number?" tries 2 else handoff support
    call orders { order: order } save status timeout 5s else {
      reply "Lookup failed."
      handoff support
    }
    reply "Order {order}: {status}."
    post crm { order: order, status: status }
    close "tracked"
  }
  otherwise { reply "One moment." }
}
"#;

pub fn t0() -> Timestamp {
    "2026-03-02T14:00:00Z".parse().expect("an instant")
}

pub fn at(secs: i64) -> Timestamp {
    t0().checked_add(SignedDuration::from_secs(secs))
        .expect("in range")
}

pub fn text(s: &str) -> Event {
    Event::Inbound(Inbound::text(s))
}

fn message(m: InboundMessage) -> Event {
    Event::Inbound(Inbound {
        profile_name: Some("Ana".into()),
        message: m,
    })
}

/// The call id of the latest `call` the recorder's contact made.
fn waiting_call(r: &Recorder<'_>) -> String {
    match r.state().card.as_ref().and_then(|c| c.suspended.as_ref()) {
        Some(wafl::engine::Suspension::Call { call_id, .. }) => call_id.clone(),
        _ => panic!("no call waits"),
    }
}

/// Five conversations with the live script: tracking with a webhook answer, a silence
/// timer and a form, an event that opens the card, an agent and delivery statuses, and
/// a lookup that times out.
pub fn recordings(live: &Program) -> Vec<Recording> {
    recordings_of(live, 0)
}

/// The five conversations, with contacts numbered from `base`.
pub fn recordings_of(live: &Program, base: u64) -> Vec<Recording> {
    let phone = |n: u64| format!("+55119{:08}", base + n);
    let mut out = Vec::new();

    let mut r = Recorder::new(live, Contact::new(phone(1)), t0());
    r.input(text("hi"), at(0));
    r.input(message(InboundMessage::Button("Track".into())), at(30));
    r.input(text("AB1234"), at(60));
    let call = waiting_call(&r);
    r.input(
        Event::WebhookResult {
            call_id: call,
            result: WebhookResult::Ok {
                body: json!({"status": "shipped"}),
            },
        },
        at(61),
    );
    out.push(r.finish());

    let mut r = Recorder::new(live, Contact::new(phone(2)), t0());
    r.input(text("hello"), at(0));
    r.advance(at(11 * 60));
    r.input(
        message(InboundMessage::Button("Contact".into())),
        at(12 * 60),
    );
    let values: BTreeMap<String, Value> = [
        ("email".to_string(), Value::Str("ana@example.com".into())),
        ("name".to_string(), Value::Str("Ana Souza".into())),
    ]
    .into();
    r.input(
        message(InboundMessage::Form {
            form: "details".into(),
            values,
        }),
        at(13 * 60),
    );
    out.push(r.finish());

    let mut r = Recorder::new(live, Contact::new(phone(3)), t0());
    let p = live;
    let ev = wafl::engine::check_event(
        p,
        "order_shipped",
        "erp-77",
        &json!({"order": "CD5678", "eta": "2026-03-05"}),
        jiff::civil::Date::new(2026, 3, 2).expect("a date"),
    )
    .expect("valid event");
    r.input(Event::Business(ev), at(0));
    r.input(message(InboundMessage::Button("Track it".into())), at(3600));
    r.input(text("CD5678"), at(3620));
    r.advance(at(3700));
    out.push(r.finish());

    let mut r = Recorder::new(live, Contact::new(phone(4)), t0());
    let outs = r.input(text("I want an agent"), at(0)).to_vec();
    let sent = outs
        .iter()
        .find_map(|o| match &o.kind {
            replay::OutputKind::Send { id, .. } => Some(id.clone()),
            _ => None,
        })
        .expect("a reply was sent");
    r.input(
        Event::Status {
            message_id: sent,
            status: DeliveryStatus::Delivered,
        },
        at(2),
    );
    r.input(
        Event::Agent(AgentAction::Reply {
            agent: "ana@example.com".into(),
            text: "Hi, Ana here.".into(),
        }),
        at(60),
    );
    r.input(Event::Agent(AgentAction::Release), at(120));
    r.input(text("thanks"), at(180));
    out.push(r.finish());

    let mut r = Recorder::new(live, Contact::new(phone(5)), t0());
    r.input(text("hi"), at(0));
    r.input(message(InboundMessage::Button("Track".into())), at(10));
    r.input(text("zz"), at(20));
    r.input(text("EF9012"), at(30));
    r.advance(at(60));
    out.push(r.finish());
    out
}
