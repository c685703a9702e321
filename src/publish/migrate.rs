//! Can a new revision take over the cards that are still open? For each open card,
//! described by stable names only ([`CardSummary`]), [`analyze`] says whether the new
//! revision runs it as it is, which `migrate` rule covers it, or that nothing does.
//! Publishing is refused while a card is uncovered ([`Plan::publishable`]).
//!
//! A card can be taken over as it is when, in the new revision:
//! - its stage exists;
//! - each of its field values is still a value of the field's type (a choice value is
//!   still an option); a field the new revision no longer declares is simply unused;
//! - the handler it waits in (an `ask` or a `call`) exists with the same key and the
//!   same fingerprint: the card resumes in the middle of that code, so the code must be
//!   the very same;
//! - each of its timers names a handler that exists (same stage, same trigger and guard):
//!   a timer runs its handler from the start, so a handler whose body changed is fine;
//! - each form it was sent and has not submitted exists with the same inputs, each of the
//!   same type, and its stage still handles the submission.
//!
//! A `migrate` rule for the card's stage applies to every card of that stage, takeover
//! possible or not (it is how a team moves cards on purpose). Otherwise the `otherwise`
//! rule covers the cards that cannot be taken over.

use crate::compile::{FieldCheck, HandlerKey, MigrateAction, Program, Trigger, Value};
use crate::engine::{CardStatus, State, Suspension, TimerTarget};
use crate::syntax::span::Span;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One open card as publishing sees it: stable names, never positions in a program.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CardSummary {
    pub contact: String,
    pub card: u64,
    pub stage: String,
    /// `open` or `handoff`.
    pub status: CardStatus,
    pub fields: BTreeMap<String, Value>,
    /// The handler the card waits in, if it waits for an answer or a webhook.
    #[serde(default)]
    pub waiting: Option<Waiting>,
    /// The handlers of its running timers (`after ...`), by key.
    #[serde(default)]
    pub timers: Vec<HandlerKey>,
    /// Forms sent to the card whose submission is still expected.
    #[serde(default)]
    pub forms: Vec<String>,
}

/// Where a card waits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiting {
    /// `ask` or `call`.
    pub kind: String,
    pub handler: HandlerKey,
    pub fingerprint: String,
}

impl CardSummary {
    /// The summary of a contact's open card under the program it runs on; `None` without
    /// an open card. Forms are not in the engine's state: the daemon adds them.
    pub fn of(state: &State, program: &Program) -> Option<CardSummary> {
        let card = state.card.as_ref()?;
        let waiting = card.suspended.as_ref().and_then(|s| {
            let (kind, r) = match s {
                Suspension::Ask { handler, .. } => ("ask", *handler),
                Suspension::Call { handler, .. } => ("call", *handler),
                Suspension::Ai { handler, .. } => ("ai", *handler),
            };
            let h = program.handler(r)?;
            Some(Waiting {
                kind: kind.into(),
                handler: h.key.clone(),
                fingerprint: h.fingerprint.clone(),
            })
        });
        let timers = state
            .timers
            .values()
            .filter_map(|t| match &t.target {
                TimerTarget::Handler { handler, .. } => {
                    program.handler(*handler).map(|h| h.key.clone())
                }
                TimerTarget::CallTimeout { .. }
                | TimerTarget::AiTimeout { .. }
                | TimerTarget::Sla { .. } => None,
            })
            .collect();
        Some(CardSummary {
            contact: state.contact.phone.clone(),
            card: card.id,
            stage: card.stage.clone(),
            status: card.status,
            fields: card.fields.clone(),
            waiting,
            timers,
            forms: Vec::new(),
        })
    }
}

/// Why the new revision cannot run a card as it is.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// The card's stage is gone.
    StageGone { stage: String },
    /// A field's value is no longer a value of its type.
    FieldType {
        field: String,
        value: Value,
        expected: String,
    },
    /// The handler the card waits in is gone.
    WaitingGone { handler: HandlerKey },
    /// The handler the card waits in has other code now.
    WaitingChanged { handler: HandlerKey },
    /// A timer's handler is gone.
    TimerGone { handler: HandlerKey },
    /// A form the card was sent is gone, or its inputs changed.
    FormChanged { form: String, why: String },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::StageGone { stage } => write!(f, "stage `{stage}` is gone"),
            Problem::FieldType {
                field,
                value,
                expected,
            } => write!(
                f,
                "field `{field}` holds {value:?}, but it takes {expected} now"
            ),
            Problem::WaitingGone { handler } => {
                write!(f, "it waits in `{handler}`, which is gone")
            }
            Problem::WaitingChanged { handler } => {
                write!(f, "it waits in `{handler}`, whose code changed")
            }
            Problem::TimerGone { handler } => {
                write!(f, "its timer `{handler}` has no handler any more")
            }
            Problem::FormChanged { form, why } => write!(f, "form `{form}` {why}"),
        }
    }
}

/// What publishing does with one card.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The new revision runs the card as it is.
    TakenOver,
    /// A `migrate` rule decides: `index` into [`Program::migrate`] of the new revision.
    Rule {
        index: usize,
        action: String,
        #[serde(skip)]
        span: Span,
    },
    /// Nothing covers the card: publishing is refused.
    Uncovered,
}

/// The verdict on one card.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    pub contact: String,
    pub card: u64,
    pub stage: String,
    /// Why the card cannot be taken over as it is; empty when it can.
    pub problems: Vec<Problem>,
    pub outcome: Outcome,
}

/// Decides what publishing `new` does with one card running on `old`.
pub fn analyze(old: &Program, new: &Program, card: &CardSummary) -> Verdict {
    let problems = problems(old, new, card);
    let rule_for = |stage: Option<&str>| {
        new.migrate
            .iter()
            .enumerate()
            .find(|(_, r)| r.stage.as_deref() == stage)
    };
    let rule = rule_for(Some(&card.stage)).or_else(|| {
        if problems.is_empty() {
            None
        } else {
            rule_for(None)
        }
    });
    let outcome = match rule {
        Some((index, r)) => Outcome::Rule {
            index,
            action: action_text(&r.action),
            span: r.span,
        },
        None if problems.is_empty() => Outcome::TakenOver,
        None => Outcome::Uncovered,
    };
    Verdict {
        contact: card.contact.clone(),
        card: card.card,
        stage: card.stage.clone(),
        problems,
        outcome,
    }
}

fn action_text(a: &MigrateAction) -> String {
    match a {
        MigrateAction::Goto(s) => format!("goto {s}"),
        MigrateAction::Keep => "keep".into(),
        MigrateAction::Close { template, .. } => match template {
            Some((t, _)) => format!("close with template {t}"),
            None => "close".into(),
        },
    }
}

fn problems(old: &Program, new: &Program, card: &CardSummary) -> Vec<Problem> {
    let mut out = Vec::new();
    let stage = new.stage_ids.get(&card.stage).copied();
    if stage.is_none() {
        out.push(Problem::StageGone {
            stage: card.stage.clone(),
        });
    }
    for (name, value) in &card.fields {
        if let Some(spec) = new.fields.get(name)
            && !crate::engine::validate::fits(&spec.kind, value)
        {
            out.push(Problem::FieldType {
                field: name.clone(),
                value: value.clone(),
                expected: crate::engine::validate::type_name(&spec.kind),
            });
        }
    }
    if let Some(w) = &card.waiting {
        match new.handler_by_key(&w.handler) {
            None => out.push(Problem::WaitingGone {
                handler: w.handler.clone(),
            }),
            Some((_, h)) if h.fingerprint != w.fingerprint => out.push(Problem::WaitingChanged {
                handler: w.handler.clone(),
            }),
            Some(_) => {}
        }
    }
    for t in &card.timers {
        let here = new
            .handler_by_key(t)
            .is_some_and(|(_, h)| h.trigger.is_timer());
        if !here {
            out.push(Problem::TimerGone { handler: t.clone() });
        }
    }
    for form in &card.forms {
        if let Some(why) = form_change(old, new, form, stage) {
            out.push(Problem::FormChanged {
                form: form.clone(),
                why,
            });
        }
    }
    out
}

/// Why a form sent under `old` cannot be submitted to `new` as it is.
fn form_change(
    old: &Program,
    new: &Program,
    form: &str,
    stage: Option<crate::compile::StageId>,
) -> Option<String> {
    let Some(after) = new.forms.get(form) else {
        return Some("is gone".into());
    };
    if let Some(before) = old.forms.get(form) {
        if before.inputs != after.inputs {
            return Some(format!(
                "has other inputs now ({} instead of {})",
                after.inputs.join(", "),
                before.inputs.join(", ")
            ));
        }
        for input in &after.inputs {
            let kind = |p: &Program| p.fields.get(input).map(|f| variant(&f.kind));
            if kind(old) != kind(new) {
                return Some(format!("input `{input}` has another type now"));
            }
        }
    }
    let handled = |hs: &[crate::compile::Handler]| {
        hs.iter()
            .any(|h| matches!(&h.trigger, Trigger::FormSubmitted(f) if f == form))
    };
    let in_stage = stage
        .and_then(|s| new.stages.get(s))
        .is_some_and(|s| handled(&s.handlers));
    if !in_stage && !handled(&new.anywhere) {
        return Some("is no longer handled by `on form ... submitted` in the card's stage".into());
    }
    None
}

/// The kind of a field type, constraints left out.
fn variant(c: &FieldCheck) -> String {
    match c {
        FieldCheck::Choice(options) => format!("choice {options:?}"),
        other => crate::engine::validate::type_name(other),
    }
}

/// The verdicts on every open card, and whether publishing may go ahead.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Plan {
    pub verdicts: Vec<Verdict>,
    /// `migrate` rules (by index) that no open card falls under.
    pub unused_rules: Vec<usize>,
}

impl Plan {
    /// Publishing may go ahead: every open card is taken over or covered by a rule.
    pub fn publishable(&self) -> bool {
        self.uncovered().next().is_none()
    }

    /// The cards nothing covers.
    pub fn uncovered(&self) -> impl Iterator<Item = &Verdict> {
        self.verdicts
            .iter()
            .filter(|v| v.outcome == Outcome::Uncovered)
    }

    /// How many cards each rule (by index) covers.
    pub fn covered_by(&self, rule: usize) -> usize {
        self.verdicts
            .iter()
            .filter(|v| matches!(v.outcome, Outcome::Rule { index, .. } if index == rule))
            .count()
    }

    /// A report for people: counts, then each card that is not simply taken over.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let taken = self
            .verdicts
            .iter()
            .filter(|v| v.outcome == Outcome::TakenOver)
            .count();
        let ruled = self
            .verdicts
            .iter()
            .filter(|v| matches!(v.outcome, Outcome::Rule { .. }))
            .count();
        let uncovered = self.uncovered().count();
        let mut out = format!(
            "{} open card(s): {taken} taken over as they are, {ruled} by a `migrate` rule, {uncovered} not covered\n",
            self.verdicts.len()
        );
        for v in &self.verdicts {
            let what = match &v.outcome {
                Outcome::TakenOver => continue,
                Outcome::Rule { action, .. } => format!("migrate: {action}"),
                Outcome::Uncovered => "NOT COVERED".to_string(),
            };
            let _ = writeln!(
                out,
                "  card #{} of {} in `{}`: {what}",
                v.card, v.contact, v.stage
            );
            for p in &v.problems {
                let _ = writeln!(out, "    - {p}");
            }
        }
        if uncovered > 0 {
            out.push_str(
                "publishing is refused until every open card is covered: add a rule for its stage to `migrate { ... }`, or an `otherwise` rule\n",
            );
        }
        out
    }
}

/// The plan for publishing `new` over `old` with these open cards.
pub fn plan(old: &Program, new: &Program, cards: &[CardSummary]) -> Plan {
    let verdicts: Vec<Verdict> = cards.iter().map(|c| analyze(old, new, c)).collect();
    let unused_rules = (0..new.migrate.len())
        .filter(|i| {
            !verdicts
                .iter()
                .any(|v| matches!(v.outcome, Outcome::Rule { index, .. } if index == *i))
        })
        .collect();
    Plan {
        verdicts,
        unused_rules,
    }
}
