//! Reports on small, hand-played traffic: each number checked against what was played,
//! the period and script-version splits, and the table, JSON and CSV renderings
//! snapshotted.

#[path = "support/engine.rs"]
mod engine_support;

use jiff::{SignedDuration, Timestamp};
use wafl::engine::{AgentAction, Event, Inbound, InboundMessage};
use wafl::measure::{self, Period};
use wafl::testrun::sim::Sim;

const FLOW: &str = r#"
flow "Shop" { timezone "UTC" }
hours office { mon-fri 09:00-17:00 }
team sales { agents "sam@shop.example"; hours office }
team returns { agents "rui@shop.example"; hours office }
field email: email invalid "That email does not look right."
form signup "Sign up" {
  screen "You" { email }
}
sla sales_desk for sales { first reply within 1h }
stage start {
  on keyword "buy" { route sales; goto talk }
  on keyword "join" { ask email "Your email?" tries 2 else { close "no email" }; reply form signup "Sign up here" }
  on form signup submitted { close "joined" }
  after 1h silence { close "abandoned" }
  otherwise { reply "Say buy or join." }
}
stage talk {
  on keyword "bye" { close "done" }
  otherwise { ignore }
}
"#;

fn at(s: &str) -> Timestamp {
    s.parse().expect("instant")
}

fn text(s: &str) -> Event {
    Event::Inbound(Inbound::text(s))
}

/// Five cards on Monday 2026-01-05 (UTC), all played by hand.
fn traffic(sim: &mut Sim, program: &wafl::compile::Program) {
    let reply = |text: &str| {
        Event::Agent(AgentAction::Reply {
            agent: "sam@shop.example".into(),
            text: text.into(),
        })
    };
    // 1. Buys at 09:00, a person replies at 09:30; says bye the next morning.
    sim.set_now(at("2026-01-05T09:00:00Z"));
    sim.deliver(program, "+1", &text("hello"));
    sim.deliver(program, "+1", &text("buy"));
    sim.set_now(at("2026-01-05T09:30:00Z"));
    sim.deliver(program, "+1", &reply("Hi!"));
    // 3. Joins at 10:00, refuses once, answers, submits the form five minutes later.
    sim.set_now(at("2026-01-05T10:00:00Z"));
    sim.deliver(program, "+3", &text("join"));
    sim.deliver(program, "+3", &text("not an email"));
    sim.deliver(program, "+3", &text("a@b.co"));
    let screen = Event::FormScreen {
        form: "signup".into(),
        screen: "YOU".into(),
    };
    sim.deliver(program, "+3", &screen);
    let mut values = std::collections::BTreeMap::new();
    values.insert(
        "email".to_string(),
        wafl::compile::Value::Str("a@b.co".into()),
    );
    sim.set_now(at("2026-01-05T10:05:00Z"));
    sim.deliver(
        program,
        "+3",
        &Event::Inbound(Inbound {
            profile_name: None,
            message: InboundMessage::Form {
                form: "signup".into(),
                values,
            },
        }),
    );
    // 4. Says hello at 10:10 and nothing else: abandoned at 11:10.
    sim.set_now(at("2026-01-05T10:10:00Z"));
    sim.deliver(program, "+4", &text("hello"));
    // 5. Gives up on the email question at 10:20.
    sim.set_now(at("2026-01-05T10:20:00Z"));
    sim.deliver(program, "+5", &text("join"));
    sim.deliver(program, "+5", &text("no"));
    sim.deliver(program, "+5", &text("still no"));
    // 2. Buys at 16:30; the reply comes the next morning at 09:45 (1h15m of office).
    sim.advance_to(program, at("2026-01-05T16:30:00Z"), |_, _| {});
    sim.deliver(program, "+2", &text("buy"));
    sim.advance_to(program, at("2026-01-06T09:45:00Z"), |_, _| {});
    sim.deliver(program, "+2", &reply("Sorry, we were closed."));
    sim.deliver(program, "+1", &text("bye"));
}

#[test]
fn every_number_of_a_small_day() {
    let program = engine_support::program(FLOW);
    let mut sim = Sim::new(at("2026-01-05T09:00:00Z"), "sha256:v1");
    traffic(&mut sim, &program);
    let events = sim.take_events();
    let report = measure::report(&events, Period::all());
    let v = &report.versions[0];
    let c = &v.counts;
    assert_eq!((c.cards, c.closed, c.open), (5, 4, 1));
    assert_eq!(
        (c.resolved, c.abandoned),
        (3, 1),
        "done, joined, no email / abandoned"
    );
    assert_eq!(c.resolved_without_human, 2, "joined and no email");
    assert_eq!(c.automation_rate, Some(2.0 / 3.0));
    assert_eq!(v.routing.routed, 2);
    assert_eq!(v.routing.accuracy, Some(1.0));
    // First responses: 30 minutes; and 17h15m of wall time that hold 1h15m of office.
    assert_eq!(v.times.first_response.count, 2);
    assert_eq!(v.times.first_response.p50, Some(1800));
    assert_eq!(v.times.first_response.p90, Some(17 * 3600 + 15 * 60));
    assert_eq!(v.times.first_response_business.p90, Some(3600 + 15 * 60));
    let sla = &v.slas[0];
    assert_eq!((sla.met, sla.breached), (1, 1));
    let ask = &v.asks[0];
    assert_eq!(
        (
            ask.cards,
            ask.answered,
            ask.dropped,
            ask.refused_answers,
            ask.gave_up
        ),
        (2, 1, 1, 3, 1)
    );
    let form = &v.forms[0];
    assert_eq!((form.sent, form.submitted), (1, 1));
    assert_eq!(form.screens[0].reached, 1);
    assert_eq!(
        v.times.after_form.p50,
        Some(0),
        "closed as soon as it was submitted"
    );
    let start = v.funnel.iter().find(|f| f.stage == "start").expect("start");
    assert_eq!(start.entered, 5);
    assert_eq!(start.moved_on.get("talk"), Some(&2));
    assert_eq!(start.abandoned, 1);
    assert_eq!(start.closed.len(), 3, "{:?}", start.closed);
    let talk = v.funnel.iter().find(|f| f.stage == "talk").expect("talk");
    assert_eq!((talk.entered, talk.still_there), (2, 1));

    insta::assert_snapshot!("table", measure::render::table(&report));
    insta::assert_snapshot!("csv", measure::render::csv(&report));
    insta::assert_snapshot!(
        "cards_csv",
        measure::render::cards_csv(&measure::cards(&events, Period::all()))
    );
    let json: serde_json::Value =
        serde_json::from_str(&measure::render::json(&report)).expect("the JSON reads back");
    assert_eq!(json["versions"][0]["counts"]["cards"], 5);
    assert_eq!(json["versions"][0]["slas"][0]["target"], "first_reply");
}

#[test]
fn a_period_takes_the_cards_opened_in_it_whole() {
    let program = engine_support::program(FLOW);
    let mut sim = Sim::new(at("2026-01-05T09:00:00Z"), "sha256:v1");
    traffic(&mut sim, &program);
    let events = sim.take_events();
    // From noon: card 2 (16:30) only; its reply the next day still counts.
    let period = Period {
        since: Some(at("2026-01-05T12:00:00Z")),
        until: Some(at("2026-01-06T00:00:00Z")),
    };
    let report = measure::report(&events, period);
    let v = &report.versions[0];
    assert_eq!(v.counts.cards, 1);
    assert_eq!(v.times.first_response.count, 1);
    assert!(measure::render::table(&report).starts_with("cards opened from 2026-01-05T12:00:00Z"));
    let empty = measure::report(
        &events,
        Period {
            since: Some(at("2027-01-01T00:00:00Z")),
            until: None,
        },
    );
    assert!(empty.versions.is_empty());
    assert!(measure::render::table(&empty).contains("no cards"));
}

#[test]
fn each_script_version_gets_its_own_section() {
    let program = engine_support::program(FLOW);
    let mut sim = Sim::new(at("2026-01-05T09:00:00Z"), "sha256:v1");
    sim.deliver(&program, "+1", &text("buy"));
    sim.set_script("sha256:v2");
    // Card 1 goes on under v2, but belongs to the version it opened with.
    sim.deliver(&program, "+1", &text("bye"));
    sim.deliver(&program, "+2", &text("buy"));
    let report = measure::report(sim.events(), Period::all());
    let versions: Vec<(&str, u64, u64)> = report
        .versions
        .iter()
        .map(|v| (v.script.as_str(), v.counts.cards, v.counts.closed))
        .collect();
    assert_eq!(versions, [("sha256:v1", 1, 1), ("sha256:v2", 1, 0)]);
}

#[test]
fn a_reopening_counts_within_seven_days_only() {
    let program = engine_support::program(FLOW);
    let mut sim = Sim::new(at("2026-01-05T09:00:00Z"), "v");
    for (contact, gap_days) in [("+1", 6), ("+2", 8)] {
        sim.set_now(at("2026-01-05T09:00:00Z"));
        sim.deliver(&program, contact, &text("buy"));
        sim.deliver(&program, contact, &text("bye"));
        sim.set_now(
            at("2026-01-05T09:00:00Z")
                .checked_add(SignedDuration::from_hours(24 * gap_days))
                .expect("t"),
        );
        sim.deliver(&program, contact, &text("buy"));
    }
    let rows = measure::cards(sim.events(), Period::all());
    let flags: Vec<(&str, u64, bool)> = rows
        .iter()
        .map(|r| (r.contact.as_str(), r.card, r.reopened_within_7d))
        .collect();
    assert!(flags.contains(&("+1", 1, true)), "{flags:?}");
    assert!(flags.contains(&("+2", 1, false)), "{flags:?}");
    let report = measure::report(sim.events(), Period::all());
    assert_eq!(report.versions[0].counts.reopened_within_7d, 1);
    assert_eq!(report.versions[0].counts.reopen_rate, Some(0.5));
}
