//! The held-out evaluation of intent triage: `examples/support_desk.flow` (nine intents
//! with Portuguese, Spanish and English examples) against
//! `tests/intents/support_desk.heldout.tsv`, realistic customer messages labelled by hand
//! that are not examples of the script. The figures are reported in `docs/intents.md`;
//! `cargo test --test intents_eval -- --nocapture` prints them.

use wafl::compile::intents::{self, Intents};
use wafl::compile::{self, Program, Value};
use wafl::engine::{Contact, Event, Inbound};
use wafl::syntax::ast::{self, ActionKind, ExprKind, Item, TriggerKind};
use wafl::syntax::span::FileId;
use wafl::testrun::Scenario;

const SCRIPT: &str = "examples/support_desk.flow";
const HELDOUT: &str = "tests/intents/support_desk.heldout.tsv";
/// The label of messages no intent fits.
const NONE: &str = "none";

fn script() -> ast::File {
    let src = std::fs::read_to_string(SCRIPT).expect("the example is readable");
    let parsed = wafl::syntax::parse(FileId(0), &src);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    parsed.file
}

fn heldout() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(HELDOUT).expect("the held-out file is readable");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (label, msg) = l.split_once('\t').expect("label TAB message");
            (label.to_string(), msg.to_string())
        })
        .collect()
}

/// Accuracy and rate of `otherwise` (no intent) of a classifier on the held-out file.
fn score(intents: &Intents, data: &[(String, String)]) -> (f64, f64, Vec<String>) {
    let mut right = 0usize;
    let mut none = 0usize;
    let mut misses = Vec::new();
    for (label, msg) in data {
        let v = intents.classify(msg);
        let got = v.intent.clone().unwrap_or_else(|| NONE.to_string());
        if v.intent.is_none() {
            none += 1;
        }
        if &got == label {
            right += 1;
        } else {
            misses.push(format!(
                "  {label:>10} -> {got:<10} {:.2}  {msg}",
                v.confidence
            ));
        }
    }
    let n = data.len() as f64;
    (right as f64 / n, none as f64 / n, misses)
}

#[test]
fn heldout_file_is_big_varied_and_not_made_of_examples() {
    let file = script();
    let data = heldout();
    assert!(data.len() >= 200, "only {} messages", data.len());
    let examples: Vec<String> = file
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Intent(d) => Some(d.examples.iter().map(|e| compile::fold(&e.value))),
            _ => None,
        })
        .flatten()
        .collect();
    let labels: Vec<String> = file
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Intent(d) => Some(d.name.name.clone()),
            _ => None,
        })
        .collect();
    assert!(labels.len() >= 8, "only {} intents", labels.len());
    for (label, msg) in &data {
        assert!(
            label == NONE || labels.contains(label),
            "unknown label {label}"
        );
        let folded = compile::fold(msg);
        assert!(
            !examples.contains(&folded),
            "{msg:?} is an example of the script"
        );
    }
    for l in &labels {
        let n = data.iter().filter(|(x, _)| x == l).count();
        assert!(n >= 15, "intent {l} has only {n} held-out messages");
    }
    assert!(data.iter().filter(|(x, _)| x == NONE).count() >= 20);
}

#[test]
fn classifier_accuracy_on_heldout_messages() {
    let file = script();
    let data = heldout();
    let intents = intents::intents(&file);
    let (acc, none, misses) = score(&intents, &data);
    println!(
        "held-out: {} messages, accuracy {:.1}%, otherwise rate {:.1}%\nmisses:\n{}",
        data.len(),
        acc * 100.0,
        none * 100.0,
        misses.join("\n")
    );
    // The figures in docs/intents.md; a change that lowers them must say so there.
    assert!(acc >= 0.78, "accuracy fell to {acc:.3}");
    assert!(none <= 0.25, "otherwise rate rose to {none:.3}");
}

/// The `topic` each intent sets in triage: what routing depends on.
fn topic_of_intents(file: &ast::File) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for item in &file.items {
        let Item::Stage(s) = item else { continue };
        if s.name.name != "triage" {
            continue;
        }
        for h in &s.handlers {
            let TriggerKind::Intent(ids) = &h.trigger.kind else {
                continue;
            };
            for a in &h.body.actions {
                if let ActionKind::Set { field, value } = &a.kind
                    && field.name == "topic"
                    && let ExprKind::Str(t) = &value.kind
                {
                    for id in ids {
                        out.push((id.name.clone(), t.value.clone()));
                    }
                }
            }
        }
    }
    out
}

/// The topic the script sets for a message sent in triage (none when it shows the menu).
fn triaged_topic(program: &Program, msg: &str) -> Option<String> {
    let mut sc = Scenario::new(program);
    sc.set_contact(Contact::new("+55 11 98888-7777"));
    sc.event(Event::Inbound(Inbound::text("oi")));
    sc.event(Event::Inbound(Inbound::text(msg)));
    match sc.state().current_card()?.fields.get("topic")? {
        Value::Str(s) => Some(s.clone()),
        _ => None,
    }
}

#[test]
fn classifier_beats_keyword_only_triage_of_the_same_script() {
    let file = script();
    let data = heldout();
    let topics = topic_of_intents(&file);
    assert!(topics.len() >= 8);
    // The same script without its `on intent` handlers: triage by keywords alone.
    let mut keywords_only = file.clone();
    for item in &mut keywords_only.items {
        if let Item::Stage(s) = item {
            s.handlers
                .retain(|h| !matches!(h.trigger.kind, TriggerKind::Intent(_)));
        }
    }
    let compile_it = |f: &ast::File| {
        let checked = wafl::check::check(f);
        compile::compile(f, &checked.symbols)
    };
    let with_intents = compile_it(&file);
    let without = compile_it(&keywords_only);
    let (mut right_intents, mut right_keywords) = (0usize, 0usize);
    for (label, msg) in &data {
        let gold = topics
            .iter()
            .find(|(i, _)| i == label)
            .map(|(_, t)| t.clone());
        if triaged_topic(&with_intents, msg) == gold {
            right_intents += 1;
        }
        if triaged_topic(&without, msg) == gold {
            right_keywords += 1;
        }
    }
    let n = data.len() as f64;
    let (a, b) = (right_intents as f64 / n, right_keywords as f64 / n);
    println!(
        "triage topic accuracy: intents with keyword fallbacks {:.1}%, keywords only {:.1}%",
        a * 100.0,
        b * 100.0
    );
    assert!(
        a > b + 0.10,
        "intents {a:.3} should clearly beat keywords {b:.3}"
    );
}

/// Leave-one-out accuracy on the script's own examples, for choosing parameters without
/// looking at the held-out file; the held-out figure is printed beside it.
#[test]
#[ignore = "a parameter sweep, run by hand: cargo test --test intents_eval -- --ignored --nocapture"]
fn parameter_sweep() {
    let file = script();
    let data = heldout();
    for word_weight in [1.0f32, 1.6, 2.2, 3.0] {
        for unknown_weight in [0.0f32, 0.2, 0.35, 0.6] {
            for nearest_share in [0.3f32, 0.6, 0.9] {
                let p = wafl::classify::Params {
                    word_weight,
                    unknown_weight,
                    nearest_share,
                    ..wafl::classify::Params::default()
                };
                for threshold in [0.15f32, 0.2, 0.25, 0.3] {
                    for margin in [0.0f32, 0.02, 0.04] {
                        let mut intents = intents::intents_with(&file, p);
                        intents.threshold = threshold;
                        intents.margin = margin;
                        let loo = intents.model.held_out();
                        let right = loo
                            .iter()
                            .filter(|h| {
                                intents.decide(h.ranking.clone()).intent.as_deref()
                                    == Some(h.label.as_str())
                            })
                            .count();
                        let (acc, none, _) = score(&intents, &data);
                        println!(
                            "word {word_weight:.1} unknown {unknown_weight:.2} nearest {nearest_share:.1} threshold {threshold:.2} margin {margin:.2}: loo {:.3} heldout {acc:.3} otherwise {none:.3}",
                            right as f64 / loo.len() as f64
                        );
                    }
                }
            }
        }
    }
}
