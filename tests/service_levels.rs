//! Service levels at run time, written as `.flow` scenarios: when they start, what meets
//! them, what breaches them on the virtual clock, and what the `else` may do while a
//! person owns the card.

#[path = "support/engine.rs"]
mod engine_support;

use engine_support::{assert_flow, run_tests, with_flow};
use wafl::engine::events::What;
use wafl::engine::{AgentAction, Event, SlaStatus};

const DESK: &str = r#"
flow "Desk" { timezone "UTC" }
hours office { mon-fri 09:00-18:00; closed 2026-01-07 }
team billing { agents "ana@acme.com"; hours office }
team technical { agents "li@acme.com" }
team supervisors { agents "rita@acme.com" }
webhook slack "https://hooks.slack.example/T000"

sla billing_desk for billing {
  first reply within 2h else {
    priority urgent
    post slack { text: "waiting", phone: contact.phone }
  }
  resolution within 8h else route supervisors
}

stage triage {
  on keyword "invoice" { route billing; reply "Billing will answer."; goto service }
  on keyword "tech" { route technical; reply "Tech will answer."; goto service }
  on keyword "person" { route billing; handoff }
  otherwise { reply "Say invoice or tech." }
}
stage service {
  on keyword "wrong" { route technical; reply "Moving you to tech." }
  on keyword "thanks" { close "resolved" }
  otherwise { ignore }
}
"#;

fn flow_with(tests: &str) -> String {
    format!("{DESK}\n{tests}")
}

#[test]
fn a_card_that_never_reaches_the_team_has_no_service_level() {
    assert_flow(&flow_with(
        r#"
test "tech cards are not billing's" {
  send "tech"
  agent reply "Hi"
  expect event first_human_reply "agent"
  send "thanks"
  expect closed "resolved"
}
"#,
    ));
    let results = run_tests(&flow_with(
        r#"
test "fails" {
  send "tech"
  expect sla billing_desk pending
}
"#,
    ));
    let failure = results[0].1.as_deref().expect("the expectation fails");
    assert!(
        failure.contains("the service level has not started on this card"),
        "{failure}"
    );
}

#[test]
fn the_clock_counts_office_hours_only() {
    // Monday 10:00 + 7h30 = 17:30: half an office hour is left that day; Tuesday adds
    // the remaining 1h30: due Tuesday 10:30.
    assert_flow(&flow_with(
        r#"
test "an evening card is due the next morning" {
  advance 7h30m
  send "invoice"
  advance 16h59m
  expect sla billing_desk first reply pending
  advance 1m
  expect sla billing_desk first reply breached
  expect event sla_breached "billing_desk"
  expect posted slack { text: "waiting", phone: "+1 555 0100" }
  expect field card.priority == "urgent"
}

test "a holiday does not count" {
  // Wednesday 2026-01-07 is closed: a card routed Tuesday 17:00 has one office hour
  // that day and the next on Thursday 09:00-10:00.
  advance 1d7h
  send "invoice"
  advance 1d16h59m
  expect sla billing_desk first reply pending
  advance 1m
  expect sla billing_desk first reply breached
}
"#,
    ));
}

#[test]
fn a_reply_in_time_meets_and_a_late_one_does_not_undo_a_breach() {
    assert_flow(&flow_with(
        r#"
test "in time" {
  send "invoice"
  advance 1h59m
  agent reply "Hello"
  expect sla billing_desk first reply met
  expect sla billing_desk resolution pending
  send "thanks"
  expect sla billing_desk met
}

test "too late" {
  send "invoice"
  advance 3h
  agent reply "Sorry for the wait"
  expect sla billing_desk first reply breached
  send "thanks"
  expect sla billing_desk resolution met
  expect sla billing_desk breached
}
"#,
    ));
}

#[test]
fn the_else_runs_while_a_person_owns_the_card() {
    assert_flow(&flow_with(
        r#"
test "handoff keeps the service level running" {
  send "person"
  expect handoff
  advance 2h
  expect sla billing_desk first reply breached
  expect posted slack { text: "waiting" }
  advance 6h
  expect sla billing_desk resolution breached
  expect routed supervisors
  expect handoff
}
"#,
    ));
}

#[test]
fn leaving_the_team_stops_the_service_level() {
    with_flow(
        &flow_with(
            r#"
test "setup" {
  send "invoice"
  send "wrong"
}
"#,
        ),
        |sc| {
            let events: Vec<&What> = sc.last_events().iter().map(|e| &e.what).collect();
            assert!(
                events
                    .iter()
                    .any(|w| matches!(w, What::SlaStopped { sla, reason, .. }
                    if sla == "billing_desk" && reason == "the card left its teams")),
                "{events:?}"
            );
            let clock = sc
                .state()
                .card
                .as_ref()
                .and_then(|c| c.slas.get("billing_desk"))
                .expect("the service level started");
            assert!(clock.targets.iter().all(|t| t.status == SlaStatus::Stopped));
            assert!(
                !sc.state().timers.keys().any(|k| k.starts_with("sla/")),
                "no deadline is left running: {:?}",
                sc.state().timers
            );
            // Nothing fires later.
            sc.advance(86_400);
            assert!(sc.last_events().is_empty(), "{:?}", sc.last_events());
        },
    );
}

#[test]
fn closing_before_a_reply_stops_the_first_reply_target() {
    with_flow(
        &flow_with(
            r#"
test "setup" {
  send "invoice"
  advance 1h
  send "thanks"
}
"#,
        ),
        |sc| {
            let card = sc.state().last_closed.as_ref().expect("closed");
            let targets = &card.slas["billing_desk"].targets;
            let status: Vec<(&str, SlaStatus)> = targets
                .iter()
                .map(|t| (t.target.as_str(), t.status))
                .collect();
            assert_eq!(
                status,
                [
                    ("first reply", SlaStatus::Stopped),
                    ("resolution", SlaStatus::Met)
                ]
            );
            let met = sc
                .last_events()
                .iter()
                .find_map(|e| match &e.what {
                    What::SlaMet { took, .. } => Some(*took),
                    _ => None,
                })
                .expect("the resolution target was met");
            // One hour, in office hours (Monday 10:00-11:00) as on the wall clock.
            assert_eq!((met.wall_secs, met.business_secs), (3600, Some(3600)));
        },
    );
}

#[test]
fn the_first_reply_counts_from_when_the_team_got_the_card() {
    with_flow(
        &flow_with(
            r#"
test "setup" {
  send "tech"
  advance 1h
  agent reply "Tech here"
  agent route billing
}
"#,
        ),
        |sc| {
            // The reply before billing had the card does not meet billing's target.
            let clock = &sc.state().card.as_ref().expect("open").slas["billing_desk"];
            assert!(clock.targets.iter().all(|t| t.status == SlaStatus::Running));
            sc.advance(1800);
            sc.event(Event::Agent(AgentAction::Reply {
                agent: "ana@acme.com".into(),
                text: "Billing here".into(),
            }));
            let met = sc.last_events().iter().find_map(|e| match &e.what {
                What::SlaMet { took, .. } => Some(took.wall_secs),
                _ => None,
            });
            assert_eq!(met, Some(1800));
        },
    );
}
