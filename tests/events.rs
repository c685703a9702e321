//! Events from business systems: the payload check every front shares (its refusals in a
//! reviewed snapshot) and how `on event` handlers open, advance and leave alone cards
//! (`docs/semantics.md`, "Events").

#[path = "support/engine.rs"]
mod support;

use serde_json::json;
use support::{assert_flow, program, with_flow};
use wafl::compile::Value;
use wafl::engine::{self, CardStatus, EffectKind, Event};

const ORDERS: &str = r#"
flow "Orders" { timezone "America/Sao_Paulo"; start notified }
field order: text
field when: date
event order_shipped {
  order: text matching /^[A-Z]{2}[0-9]{6}$/
  eta: date future
  weight: number between 0 and 30 optional
  fragile: yesno optional
  carrier: choice "Rápido", "Lento" optional
  email: email optional
}
event order_delivered { order: text }
event ping { note: text optional }
template shipped "order_shipped" lang "pt_BR" with order
template delivered "order_delivered" lang "pt_BR" with order
webhook erp "https://erp.example.com/hooks"

anywhere {
  on event ping when event.note == "anywhere" { post erp { from: "anywhere", id: event.id } } optout ignore
}

stage notified {
  on event order_shipped when event.fragile == true {
    set order = event.order
    send template shipped(event.order)
    goto fragile
  } optout {
    post erp { order: event.order, notified: false }
    tag "not notified"
  }
  on event order_shipped {
    set order = event.order
    send template shipped(event.order)
    goto waiting
  } optout ignore
  on event ping { post erp { from: "start", id: event.id } } optout ignore
  otherwise { reply "We will write when your order ships."; close "no order" }
}

stage waiting {
  on event order_delivered when event.order == order {
    send template delivered(order)
    close "delivered"
  }
  on keyword "when" { ask when "Which day?" }
  on keyword "person" { handoff }
  after 1d silence { close "quiet" }
  otherwise { reply "Waiting for your order." }
}

stage fragile {
  on enter { tag "fragile" }
  otherwise { reply "Handle with care." }
}

test "opens" { event order_shipped { order: "AB123456", eta: 2026-01-08 } }
"#;

fn today() -> jiff::civil::Date {
    jiff::civil::Date::new(2026, 1, 5).expect("a real date")
}

/// The refusal, or the typed payload, of one event.
fn verdict(name: &str, id: &str, payload: serde_json::Value) -> String {
    let p = program(ORDERS);
    match engine::check_event(&p, name, id, &payload, today()) {
        Ok(ev) => format!(
            "ok {}",
            ev.payload
                .iter()
                .map(|(k, v)| format!("{k}={v:?}"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Err(e) => format!("refused: {e}"),
    }
}

#[test]
fn payloads_are_checked_against_the_declaration() {
    let cases = [
        ("order_shiped", "1", json!({})),
        (
            "order_shipped",
            " ",
            json!({"order": "AB123456", "eta": "2026-01-08"}),
        ),
        ("order_shipped", "1", json!(["AB123456"])),
        ("order_shipped", "1", json!({"eta": "2026-01-08"})),
        (
            "order_shipped",
            "1",
            json!({"order": "AB123456", "eta": "2026-01-08", "ordr": 1}),
        ),
        (
            "order_shipped",
            "1",
            json!({"order": 123456, "eta": "2026-01-08"}),
        ),
        (
            "order_shipped",
            "1",
            json!({"order": "ab123", "eta": "2026-01-08"}),
        ),
        (
            "order_shipped",
            "1",
            json!({"order": "AB123456", "eta": "08/01/2026"}),
        ),
        (
            "order_shipped",
            "1",
            json!({"order": "AB123456", "eta": "2026-01-05"}),
        ),
        (
            "order_shipped",
            "1",
            json!({"order": "AB123456", "eta": "2026-02-30"}),
        ),
        (
            "order_shipped",
            "1",
            json!({"order": "AB123456", "eta": "2026-01-08", "weight": "3"}),
        ),
        (
            "order_shipped",
            "1",
            json!({"order": "AB123456", "eta": "2026-01-08", "weight": 31}),
        ),
        (
            "order_shipped",
            "1",
            json!({"order": "AB123456", "eta": "2026-01-08", "fragile": "yes"}),
        ),
        (
            "order_shipped",
            "1",
            json!({"order": "AB123456", "eta": "2026-01-08", "carrier": "Fast"}),
        ),
        (
            "order_shipped",
            "1",
            json!({"order": "AB123456", "eta": "2026-01-08", "email": "a@b"}),
        ),
        (
            "order_shipped",
            "1",
            json!({"order": "AB123456", "eta": "2026-01-08", "weight": 2.5, "fragile": true,
                   "carrier": "rapido", "email": "ana@example.com"}),
        ),
        (
            "order_shipped",
            "1",
            json!({"order": "AB123456", "eta": "2026-01-08", "weight": null}),
        ),
        ("ping", "1", serde_json::Value::Null),
    ];
    let lines: Vec<String> = cases
        .into_iter()
        .map(|(name, id, payload)| {
            let shown = payload.to_string();
            format!("{name} {shown} -> {}", verdict(name, id, payload))
        })
        .collect();
    insta::assert_snapshot!(lines.join("\n"));
}

fn shipped(sc: &mut wafl::testrun::Scenario<'_>, extra: serde_json::Value) -> Vec<EffectKind> {
    let mut payload = json!({"order": "AB123456", "eta": "2026-01-08"});
    if let (Some(p), Some(e)) = (payload.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    sc.business_event("order_shipped", &payload)
        .expect("the event is valid")
        .iter()
        .map(|e| e.kind.clone())
        .collect()
}

#[test]
fn an_event_opens_a_card_in_the_start_stage_and_runs_its_handler() {
    with_flow(ORDERS, |sc| {
        // The first test block sent one `order_shipped` already.
        let card = sc.state().card.clone().expect("the event opened a card");
        assert_eq!(card.stage, "waiting");
        assert_eq!(
            card.fields.get("order"),
            Some(&Value::Str("AB123456".into()))
        );
        // The window stays as it was: the customer has not written.
        assert_eq!(sc.state().last_inbound, None);
        // Silence timers of the stage the event led to run from the event.
        assert!(sc.state().timers.keys().any(|t| t.starts_with("waiting/")));
    });
}

#[test]
fn an_event_no_handler_takes_opens_no_card() {
    let p = program(ORDERS);
    let mut sc = wafl::testrun::Scenario::new(&p);
    let effects = sc
        .business_event("order_delivered", &json!({"order": "AB123456"}))
        .expect("the event is valid")
        .to_vec();
    assert!(sc.state().card.is_none());
    assert_eq!(sc.state().cards_opened, 0);
    assert!(effects.iter().any(|e| matches!(&e.kind,
        EffectKind::Metric { name, labels } if name == "event_unhandled"
            && labels.contains(&("stage".into(), "notified".into())))));
}

#[test]
fn events_advance_open_cards_anywhere_first_and_guards_decide() {
    with_flow(ORDERS, |sc| {
        let effects = sc
            .business_event("order_delivered", &json!({"order": "ZZ000000"}))
            .expect("valid")
            .to_vec();
        assert!(
            effects
                .iter()
                .all(|e| !matches!(e.kind, EffectKind::Send { .. }))
        );
        assert_eq!(
            sc.state().card.as_ref().map(|c| c.stage.as_str()),
            Some("waiting")
        );
        let effects = sc
            .business_event("order_delivered", &json!({"order": "AB123456"}))
            .expect("valid")
            .to_vec();
        assert!(effects.iter().any(|e| matches!(&e.kind,
            EffectKind::Send { message, .. } if message.body() == "delivered")));
        let closed = sc.state().last_closed.as_ref().expect("closed");
        assert_eq!(closed.close_reason.as_deref(), Some("delivered"));

        // Without a card: `anywhere` first when its guard holds, else the start stage.
        let posted = |effects: &[wafl::engine::Effect]| -> Vec<serde_json::Value> {
            effects
                .iter()
                .filter_map(|e| match &e.kind {
                    EffectKind::Post { body, .. } => Some(body.clone()),
                    _ => None,
                })
                .collect()
        };
        let e = sc
            .business_event("ping", &json!({"note": "anywhere"}))
            .expect("valid")
            .to_vec();
        assert_eq!(
            posted(&e),
            vec![json!({"from": "anywhere", "id": "test-4"})]
        );
        let e = sc
            .business_event("ping", &json!({}))
            .expect("valid")
            .to_vec();
        assert_eq!(posted(&e), vec![json!({"from": "start", "id": "test-5"})]);
    });
}

#[test]
fn an_event_ends_a_pending_question_and_skips_a_handed_off_card() {
    with_flow(ORDERS, |sc| {
        sc.event(Event::Inbound(engine::Inbound::text("when?")));
        assert!(
            sc.state()
                .card
                .as_ref()
                .and_then(|c| c.suspended.as_ref())
                .is_some()
        );
        sc.business_event("order_delivered", &json!({"order": "AB123456"}))
            .expect("valid");
        assert!(
            sc.state().card.is_none(),
            "the delivery handler ran and closed the card"
        );

        shipped(sc, json!({}));
        sc.event(Event::Inbound(engine::Inbound::text("a person please")));
        assert_eq!(
            sc.state().card.as_ref().map(|c| c.status),
            Some(CardStatus::Handoff)
        );
        let effects = sc
            .business_event("order_delivered", &json!({"order": "AB123456"}))
            .expect("valid")
            .to_vec();
        assert_eq!(
            sc.state().card.as_ref().map(|c| c.status),
            Some(CardStatus::Handoff)
        );
        assert!(effects.iter().all(|e| matches!(&e.kind,
            EffectKind::Metric { name, .. } if name == "event_in_handoff")));
    });
}

#[test]
fn a_contact_who_opted_out_gets_only_the_optout_block() {
    let p = program(ORDERS);
    let mut sc = wafl::testrun::Scenario::new(&p);
    sc.event(Event::Inbound(engine::Inbound::text("STOP")));
    assert!(sc.state().opted_out);
    let effects = shipped(&mut sc, json!({"fragile": true}));
    assert!(
        sc.state().card.is_none(),
        "no card opens for a contact who opted out"
    );
    assert!(
        effects
            .iter()
            .all(|e| !matches!(e, EffectKind::Send { .. } | EffectKind::SendFailed { .. }))
    );
    let want = json!({"order": "AB123456", "notified": false});
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, EffectKind::Post { body, .. } if *body == want))
    );
    assert!(sc.state().contact.tags.contains("not notified"));
    // `optout ignore`: nothing at all.
    let effects = shipped(&mut sc, json!({}));
    assert!(
        effects
            .iter()
            .all(|e| matches!(e, EffectKind::Metric { .. })),
        "{effects:?}"
    );
    assert!(sc.state().card.is_none());
}

#[test]
fn events_in_test_blocks() {
    assert_flow(
        r#"
flow "F" { timezone "UTC" }
field order: text
event shipped { order: text; eta: date }
template t "t" lang "en" with order
webhook stock "https://stock.example.com"
stage s {
  on event shipped {
    set order = event.order
    send template t(event.order)
    goto look
  } optout ignore
  otherwise { close }
}
stage look {
  on enter {
    call stock { order: order } save order else { send template t("none"); close "failed" }
    send template t(order)
    close "found"
  }
  otherwise { close }
}
test "an event starts the journey and the webhook answers" {
  clock 2026-03-07 22:00
  event shipped { order: "A1", eta: 2026-03-09 }
  expect template t
  expect stage look
  respond stock { order: "A1-checked" }
  expect template t
  expect field order == "A1-checked"
  expect closed "found"
}
test "the webhook fails" {
  event shipped { order: "A1", eta: 2026-03-09 }
  respond stock failed
  expect closed "failed"
}
"#,
    );
}

#[test]
fn refused_events_and_wrong_answers_fail_the_test_with_the_reason() {
    let results = support::run_tests(
        r#"
flow "F" { timezone "UTC" }
event shipped { order: text matching /^[0-9]+$/ }
webhook stock "https://stock.example.com"
stage s {
  on event shipped { call stock {} } optout ignore
  otherwise { close }
}
test "bad payload" { event shipped { order: "abc" } }
test "nothing waits" { respond stock { ok: true } }
test "clock goes back" { event shipped { order: "1" }; clock 2026-01-01 10:00 }
"#,
    );
    let failures: Vec<String> = results.into_iter().filter_map(|(_, f)| f).collect();
    assert_eq!(failures.len(), 3, "{failures:?}");
    assert!(
        failures[0].contains("refused: `order` is \"abc\", but it must match /^[0-9]+$/"),
        "{}",
        failures[0]
    );
    assert!(
        failures[1].contains("no webhook call is waiting for an answer"),
        "{}",
        failures[1]
    );
    assert!(failures[2].contains("cannot go back"), "{}", failures[2]);
}
