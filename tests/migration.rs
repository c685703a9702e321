//! Checked migration of open cards: which cards a new revision takes over as they are,
//! which a `migrate` rule covers, which nothing covers (publishing refused), and what a
//! rule does to a card (`docs/publishing.md`).

#[path = "support/engine.rs"]
mod support;

use support::program;
use wafl::compile::{Program, Value};
use wafl::engine::{self, EffectKind, Event, Inbound, State};
use wafl::publish::migrate::{self, CardSummary, Outcome, Problem};
use wafl::testrun::Scenario;

/// The revision the cards started on.
const OLD: &str = r#"
flow "Support" { timezone "UTC" }
field order: text
field urgency: choice "low", "high"
form details "Details" { screen "S" { note: text "Note" } }
stage triage {
  on keyword "refund" { ask order "Which order?"; set urgency = "high"; goto refund }
  on keyword "form" { reply form details "Fill this in"; goto filling }
  after 10m silence { reply "Still there?" }
  otherwise { reply "Say refund." }
}
stage refund {
  on enter { reply "Refund for {order}." }
  after 1h in stage { close "idle" }
  otherwise { close }
}
stage filling {
  on form details submitted { close "filled" }
  otherwise { reply "Please fill in the form." }
}
"#;

/// One contact's state after these messages under `OLD`.
fn card_after(messages: &[&str]) -> (Program, State) {
    let p = program(OLD);
    let mut sc = Scenario::new(&p);
    for m in messages {
        sc.event(Event::Inbound(Inbound::text(*m)));
    }
    let state = sc.state().clone();
    (p, state)
}

fn summary(messages: &[&str]) -> (Program, CardSummary) {
    let (p, s) = card_after(messages);
    let c = CardSummary::of(&s, &p).expect("an open card");
    (p, c)
}

fn outcome(new: &str, card: &CardSummary, old: &Program) -> (Outcome, Vec<String>) {
    let v = migrate::analyze(old, &program(new), card);
    (
        v.outcome,
        v.problems.iter().map(|p| p.to_string()).collect(),
    )
}

#[test]
fn the_same_script_takes_every_card_over() {
    let (old, waiting) = summary(&["refund"]);
    assert_eq!(
        waiting.waiting.as_ref().map(|w| w.kind.as_str()),
        Some("ask")
    );
    assert_eq!(outcome(OLD, &waiting, &old), (Outcome::TakenOver, vec![]));
    let (_, idle) = summary(&["hello"]);
    assert_eq!(idle.timers.len(), 1);
    assert_eq!(outcome(OLD, &idle, &old), (Outcome::TakenOver, vec![]));
}

#[test]
fn a_handler_inserted_above_changes_nothing_but_a_changed_one_does() {
    let (old, card) = summary(&["refund"]);
    let inserted = OLD.replace(
        "  on keyword \"refund\"",
        "  on keyword \"help\" { reply \"Help!\" }\n  on keyword \"refund\"",
    );
    assert_eq!(outcome(&inserted, &card, &old).0, Outcome::TakenOver);
    let changed = OLD.replace("set urgency = \"high\"", "set urgency = \"low\"");
    let (o, problems) = outcome(&changed, &card, &old);
    assert_eq!(o, Outcome::Uncovered);
    assert_eq!(
        problems,
        ["it waits in `stage triage: keyword \"refund\"`, whose code changed"]
    );
    // A changed timer body runs from its start: fine. A changed trigger is another timer.
    let (_, idle) = summary(&["hello"]);
    let body = OLD.replace("reply \"Still there?\"", "reply \"Hello?\"");
    assert_eq!(outcome(&body, &idle, &old).0, Outcome::TakenOver);
    let trigger = OLD.replace("after 10m silence", "after 15m silence");
    assert_eq!(
        outcome(&trigger, &idle, &old).1,
        ["its timer `stage triage: after 600s silence` has no handler any more"]
    );
}

#[test]
fn stages_fields_and_forms_that_changed_need_a_rule() {
    let (old, card) = summary(&["refund", "AB1"]);
    assert_eq!(card.stage, "refund");
    let renamed = OLD
        .replace("goto refund", "goto refunds")
        .replace("stage refund {", "stage refunds {")
        .replace("choice \"low\", \"high\"", "choice \"low\", \"urgent\"");
    let (o, problems) = outcome(&renamed, &card, &old);
    assert_eq!(o, Outcome::Uncovered);
    assert_eq!(
        problems,
        [
            "stage `refund` is gone",
            "field `urgency` holds Str(\"high\"), but it takes one of \"low\", \"urgent\" now",
            "its timer `stage refund: after 3600s in stage` has no handler any more",
        ]
    );
    let mapped = format!("{renamed}\nmigrate {{ stage refund goto refunds }}\n");
    let (o, _) = outcome(&mapped, &card, &old);
    assert!(matches!(o, Outcome::Rule { index: 0, ref action, .. } if action == "goto refunds"));

    let (old, filling) = summary(&["form"]);
    let mut filling = filling;
    filling.forms.push("details".into());
    let other_input = OLD.replace("note: text \"Note\"", "remark: text \"Note\"");
    assert_eq!(
        outcome(&other_input, &filling, &old).1,
        ["form `details` has other inputs now (remark instead of note)"]
    );
    let unhandled = OLD.replace("on form details submitted { close \"filled\" }", "");
    assert_eq!(
        outcome(&unhandled, &filling, &old).1,
        ["form `details` is no longer handled by `on form ... submitted` in the card's stage"]
    );
}

#[test]
fn a_stage_rule_applies_to_every_card_of_its_stage_and_otherwise_to_the_rest() {
    let (old, waiting) = summary(&["refund"]);
    let (_, refund) = summary(&["refund", "AB1"]);
    let changed = OLD.replace("set urgency = \"high\"", "set urgency = \"low\"");
    let rules = format!("{changed}\nmigrate {{ stage refund keep\n otherwise close \"moved\" }}\n");
    let new = program(&rules);
    let plan = migrate::plan(&old, &new, &[waiting.clone(), refund.clone()]);
    assert!(plan.publishable());
    // The card in `refund` could be taken over, but its stage has a rule.
    assert_eq!(plan.covered_by(0), 1);
    assert_eq!(plan.covered_by(1), 1);
    assert!(plan.unused_rules.is_empty());
    insta::assert_snapshot!(plan.render());

    let only_stage = format!("{changed}\nmigrate {{ stage refund keep }}\n");
    let plan = migrate::plan(&old, &program(&only_stage), &[waiting, refund]);
    assert!(!plan.publishable());
    assert_eq!(plan.uncovered().count(), 1);
    insta::assert_snapshot!("refused", plan.render());
}

#[test]
fn goto_moves_the_card_drops_its_question_and_unfit_fields() {
    let (_, state) = card_after(&["refund"]);
    let renamed = OLD
        .replace("stage refund {", "stage refunds {")
        .replace("goto refund", "goto refunds")
        .replace("choice \"low\", \"high\"", "choice \"low\", \"urgent\"");
    let new = program(&format!(
        "{renamed}\nmigrate {{ stage triage goto refunds }}\n"
    ));
    let mut state = state;
    if let Some(card) = state.card.as_mut() {
        card.fields
            .insert("urgency".into(), Value::Str("high".into()));
    }
    let rule = &new.migrate[0].action;
    let now = wafl::testrun::start_instant(&new);
    let out = engine::migrate_card(&new, &state, rule, now);
    let card = out.state.card.as_ref().expect("still open");
    assert_eq!(card.stage, "refunds");
    assert!(card.suspended.is_none());
    assert!(!card.fields.contains_key("urgency"));
    let kinds: Vec<String> = out
        .effects
        .iter()
        .map(|e| match &e.kind {
            EffectKind::CancelTimer { id } => format!("cancel {id}"),
            EffectKind::StartTimer { id, .. } => format!("start {id}"),
            EffectKind::SetField { field, value } => format!("set {field} = {value:?}"),
            EffectKind::StageChanged { from, to } => format!("stage {from} -> {to}"),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "cancel triage/silence/s2",
            "set urgency = Null",
            "stage triage -> refunds",
            "start refunds/stage/s1",
        ]
    );
    // Timers carry their own handler as the reason; everything else says the rule.
    assert!(
        out.effects
            .iter()
            .filter(|e| !matches!(e.kind, EffectKind::StartTimer { .. }))
            .all(|e| e.trace.conditions == [("migrate".to_string(), "goto refunds".to_string())])
    );
    // Nothing was sent: publishing runs no handler.
    assert!(
        !out.effects
            .iter()
            .any(|e| matches!(e.kind, EffectKind::Send { .. }))
    );
}

#[test]
fn close_sends_the_template_unless_the_contact_opted_out() {
    let src = format!(
        "{OLD}\ntemplate moved \"we_moved\" lang \"en\" with order\nmigrate {{ otherwise close \"moved\" template moved(order) }}\n"
    );
    let new = program(&src);
    let (_, state) = card_after(&["refund", "AB1"]);
    let now = wafl::testrun::start_instant(&new);
    let out = engine::migrate_card(&new, &state, &new.migrate[0].action, now);
    let sent: Vec<String> = out
        .effects
        .iter()
        .filter_map(|e| match &e.kind {
            EffectKind::Send { message, .. } => Some(message.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(sent, ["template moved(AB1)"]);
    assert!(out.state.card.is_none());
    assert_eq!(
        out.state
            .last_closed
            .as_ref()
            .and_then(|c| c.close_reason.as_deref()),
        Some("moved")
    );

    let mut opted = state.clone();
    opted.opted_out = true;
    let out = engine::migrate_card(&new, &opted, &new.migrate[0].action, now);
    assert!(
        !out.effects
            .iter()
            .any(|e| matches!(e.kind, EffectKind::Send { .. }))
    );
    assert!(out.state.card.is_none());
    // `keep` changes nothing at all.
    let keep = program(&format!("{OLD}\nmigrate {{ otherwise keep }}\n"));
    let out = engine::migrate_card(&keep, &state, &keep.migrate[0].action, now);
    assert_eq!(out.state, state);
    assert!(out.effects.is_empty());
}

#[test]
fn summaries_round_trip_as_json() {
    let (_, card) = summary(&["refund"]);
    let text = serde_json::to_string(&card).expect("serialises");
    let back: CardSummary = serde_json::from_str(&text).expect("reads back");
    assert_eq!(back, card);
    assert!(matches!(
        migrate::analyze(
            &program(OLD),
            &program("flow \"X\" { timezone \"UTC\" }\nstage x { otherwise { close } }"),
            &card
        )
        .problems[0],
        Problem::StageGone { .. }
    ));
}
