//! One row per card: everything the report needs from a card's events, folded in one pass
//! over the stream, plus what the stream says about it later (a reopening).

use super::{Period, REOPEN_WINDOW_SECS};
use crate::compile::SlaTarget;
use crate::engine::events::{CardEvent, Durations, Origin, TimerCause, What};
use jiff::Timestamp;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// How a card closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClosedBy {
    /// A rule, on a message of the customer or the answer of a webhook.
    Rule,
    /// An `after` rule: the customer had gone quiet (the card was abandoned).
    Timer,
    /// A person resolved it.
    Agent,
}

impl ClosedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            ClosedBy::Rule => "rule",
            ClosedBy::Timer => "timer",
            ClosedBy::Agent => "agent",
        }
    }
}

/// A stay of a card in a stage.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Visit {
    pub stage: String,
    pub entered: Timestamp,
    pub left: Option<Timestamp>,
    /// The stage it went to; none when it closed there (or has not left).
    pub to: Option<String>,
}

/// One `ask` of a field in a stage, on one card.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AskTrace {
    pub stage: String,
    pub field: String,
    /// How many times the `ask` ran (more than once: the question was repeated).
    pub asked: u32,
    pub answered: bool,
    pub refused: u32,
    /// The `ask` ran out of tries.
    pub gave_up: bool,
}

/// One form on one card.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FormTrace {
    pub form: String,
    pub sent: bool,
    /// The screens the customer reached, in the order first reached.
    pub screens: Vec<String>,
    pub submitted: bool,
    pub refused: u32,
}

/// Everything the report reads about one card. The flat fields are the per-card export;
/// the lists feed the funnels.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CardRow {
    /// The content hash of the script the card opened with.
    pub script: String,
    pub contact: String,
    pub card: u64,
    pub opened_at: Timestamp,
    pub first_stage: String,
    pub last_stage: String,
    pub closed_at: Option<Timestamp>,
    pub close_reason: Option<String>,
    pub closed_by: Option<ClosedBy>,
    pub first_team: Option<String>,
    pub team: Option<String>,
    /// Routings to another team after the first.
    pub reroutes: u32,
    pub handed_off: bool,
    /// A person acted on the card: a handoff, a reply, a reassignment, a resolution.
    pub human: bool,
    pub first_response: Option<Durations>,
    pub resolution: Option<Durations>,
    /// From the first form submission to the closing.
    pub after_form_secs: Option<i64>,
    pub refused_answers: u32,
    pub otherwise_hits: u32,
    pub unanswered: u32,
    pub repeated_questions: u32,
    pub forms_submitted: u32,
    pub forms_refused: u32,
    pub template_fallbacks: u32,
    pub calls: u32,
    pub calls_failed: u32,
    /// The contact opened another card within 7 days of this one closing.
    pub reopened_within_7d: bool,
    pub sla_met: u32,
    pub sla_breached: u32,
    #[serde(skip)]
    pub visits: Vec<Visit>,
    #[serde(skip)]
    pub asks: Vec<AskTrace>,
    #[serde(skip)]
    pub forms: Vec<FormTrace>,
    /// Each `call`'s webhook and whether it answered.
    #[serde(skip)]
    pub call_results: Vec<(String, bool)>,
    /// Each settled service-level target: its service level, target, and whether met.
    #[serde(skip)]
    pub slas: Vec<(String, SlaTarget, bool)>,
}

impl CardRow {
    fn new(e: &CardEvent) -> CardRow {
        CardRow {
            script: e.script.clone(),
            contact: e.contact.clone(),
            card: e.card,
            opened_at: e.at,
            first_stage: e.stage.clone(),
            last_stage: e.stage.clone(),
            closed_at: None,
            close_reason: None,
            closed_by: None,
            first_team: None,
            team: None,
            reroutes: 0,
            handed_off: false,
            human: false,
            first_response: None,
            resolution: None,
            after_form_secs: None,
            refused_answers: 0,
            otherwise_hits: 0,
            unanswered: 0,
            repeated_questions: 0,
            forms_submitted: 0,
            forms_refused: 0,
            template_fallbacks: 0,
            calls: 0,
            calls_failed: 0,
            reopened_within_7d: false,
            sla_met: 0,
            sla_breached: 0,
            visits: Vec::new(),
            asks: Vec::new(),
            forms: Vec::new(),
            call_results: Vec::new(),
            slas: Vec::new(),
        }
    }

    /// Closed, and not by the customer going quiet.
    pub fn resolved(&self) -> bool {
        matches!(self.closed_by, Some(ClosedBy::Rule | ClosedBy::Agent))
    }

    /// Closed by an `after` rule: the customer stopped answering.
    pub fn abandoned(&self) -> bool {
        self.closed_by == Some(ClosedBy::Timer)
    }

    fn form(&mut self, form: &str) -> &mut FormTrace {
        let i = match self.forms.iter().position(|f| f.form == form) {
            Some(i) => i,
            None => {
                self.forms.push(FormTrace {
                    form: form.to_string(),
                    sent: false,
                    screens: Vec::new(),
                    submitted: false,
                    refused: 0,
                });
                self.forms.len() - 1
            }
        };
        &mut self.forms[i]
    }

    /// The latest `ask` of a field (answers and refusals belong to it).
    fn ask(&mut self, field: &str) -> Option<&mut AskTrace> {
        self.asks.iter_mut().rev().find(|a| a.field == field)
    }

    fn fold(&mut self, e: &CardEvent, first_form: &mut Option<Timestamp>) {
        if matches!(e.cause.origin, Origin::Agent { .. }) {
            self.human = true;
        }
        match &e.what {
            What::Opened | What::Reopened { .. } => {}
            What::StageEntered { .. } => {
                self.last_stage = e.stage.clone();
                self.visits.push(Visit {
                    stage: e.stage.clone(),
                    entered: e.at,
                    left: None,
                    to: None,
                });
            }
            What::StageLeft { to } => {
                if let Some(v) = self
                    .visits
                    .iter_mut()
                    .rev()
                    .find(|v| v.left.is_none() && v.stage == e.stage)
                {
                    v.left = Some(e.at);
                    v.to.clone_from(to);
                }
            }
            What::Routed { team, previous } => {
                if self.first_team.is_none() {
                    self.first_team = Some(team.clone());
                }
                if previous.as_ref().is_some_and(|p| p != team) {
                    self.reroutes += 1;
                }
                self.team = Some(team.clone());
            }
            What::HandedOff { .. } => {
                self.handed_off = true;
                self.human = true;
            }
            What::FirstHumanReply { waited, .. } => {
                self.human = true;
                if self.first_response.is_none() {
                    self.first_response = Some(*waited);
                }
            }
            What::Asked { field } => {
                let same = self
                    .asks
                    .iter_mut()
                    .find(|a| a.field == *field && a.stage == e.stage);
                match same {
                    Some(a) => {
                        a.asked += 1;
                        self.repeated_questions += 1;
                    }
                    None => {
                        if self.asks.iter().any(|a| a.field == *field) {
                            self.repeated_questions += 1;
                        }
                        self.asks.push(AskTrace {
                            stage: e.stage.clone(),
                            field: field.clone(),
                            asked: 1,
                            answered: false,
                            refused: 0,
                            gave_up: false,
                        });
                    }
                }
            }
            What::Answered { field } => {
                if let Some(a) = self.ask(field) {
                    a.answered = true;
                }
            }
            What::AnswerRefused { field, tries_left } => {
                self.refused_answers += 1;
                if let Some(a) = self.ask(field) {
                    a.refused += 1;
                    if *tries_left == 0 {
                        a.gave_up = true;
                    }
                }
            }
            What::FormSent { form } => self.form(form).sent = true,
            What::FormScreen { form, screen } => {
                let f = self.form(form);
                if !f.screens.contains(screen) {
                    f.screens.push(screen.clone());
                }
            }
            What::FormSubmitted { form } => {
                self.forms_submitted += 1;
                self.form(form).submitted = true;
                if first_form.is_none() {
                    *first_form = Some(e.at);
                }
            }
            What::FormRefused { form, .. } => {
                self.forms_refused += 1;
                self.form(form).refused += 1;
            }
            What::CallResult { webhook, ok, .. } => {
                self.calls += 1;
                if !ok {
                    self.calls_failed += 1;
                }
                self.call_results.push((webhook.clone(), *ok));
            }
            What::TemplateFallback { .. } => self.template_fallbacks += 1,
            What::Otherwise => self.otherwise_hits += 1,
            What::Unanswered => self.unanswered += 1,
            What::Closed { reason, open_for } => {
                self.closed_at = Some(e.at);
                self.close_reason.clone_from(reason);
                self.resolution = Some(*open_for);
                self.closed_by = Some(match &e.cause.origin {
                    Origin::Timer(TimerCause::After { .. }) => ClosedBy::Timer,
                    Origin::Agent { .. } => ClosedBy::Agent,
                    _ => ClosedBy::Rule,
                });
                if let Some(f) = first_form {
                    self.after_form_secs = Some(e.at.as_second() - f.as_second());
                }
            }
            What::SlaMet { sla, target, .. } => {
                self.sla_met += 1;
                self.slas.push((sla.clone(), *target, true));
            }
            What::SlaBreached { sla, target } => {
                self.sla_breached += 1;
                self.slas.push((sla.clone(), *target, false));
            }
            What::Assigned { .. }
            | What::PriorityChanged { .. }
            | What::Released
            | What::SlaStarted { .. }
            | What::SlaStopped { .. } => {}
        }
    }
}

/// The rows of the cards opened in the period, in the order they opened in the stream.
/// `events` are in the order they were recorded (each card's in order).
pub fn cards(events: &[CardEvent], period: Period) -> Vec<CardRow> {
    let mut rows: Vec<CardRow> = Vec::new();
    let mut first_forms: Vec<Option<Timestamp>> = Vec::new();
    let mut index: HashMap<(&str, u64), usize> = HashMap::new();
    // (contact, previous card, closed at, reopened at)
    let mut reopens: Vec<(&str, u64, Timestamp, Timestamp)> = Vec::new();
    // Cards of another period are skipped quickly, by key.
    let mut skipped: HashSet<(&str, u64)> = HashSet::new();
    for e in events {
        let key = (e.contact.as_str(), e.card);
        if let What::Reopened {
            previous,
            previous_closed_at,
        } = &e.what
        {
            reopens.push((&e.contact, *previous, *previous_closed_at, e.at));
        }
        let i = match index.get(&key) {
            Some(&i) => i,
            None => {
                if !matches!(e.what, What::Opened) || skipped.contains(&key) {
                    continue;
                }
                if !period.contains(e.at) {
                    skipped.insert(key);
                    continue;
                }
                index.insert(key, rows.len());
                rows.push(CardRow::new(e));
                first_forms.push(None);
                rows.len() - 1
            }
        };
        if let (Some(row), Some(first_form)) = (rows.get_mut(i), first_forms.get_mut(i)) {
            row.fold(e, first_form);
        }
    }
    for (contact, previous, closed_at, at) in reopens {
        if at.as_second() - closed_at.as_second() > REOPEN_WINDOW_SECS {
            continue;
        }
        if let Some(row) = index
            .get(&(contact, previous))
            .and_then(|&i| rows.get_mut(i))
        {
            row.reopened_within_7d = true;
        }
    }
    rows
}
