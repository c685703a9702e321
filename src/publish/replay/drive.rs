//! Re-driving one recorded conversation through a candidate program, sending nothing: the
//! recorded inputs go to the engine at their recorded instants, and each turn's effects
//! are compared with the live bot's until the first divergence.
//!
//! The live bot's later inputs answered the live bot, so nothing after the first
//! divergence says anything about the candidate: replay stops there.
//!
//! Ids the engine hands out are mapped, so that a recorded answer reaches the candidate's
//! matching request: a webhook answer goes to the candidate's call made in the same turn
//! and order as the live one, a delivery status to the matching message. Timers are
//! matched by the handler they run: a recorded timer firing fires the candidate's timer
//! of the same handler key at the recorded instant; a timer only the candidate started
//! fires at its own due instant, when that falls before the next recorded input (or
//! before [`Recording::until`]) — if it does anything, that is a divergence.

use super::compare::{self, Class};
use super::record::{Output, OutputKind, Recording, describe_input};
use crate::compile::{HandlerKey, Program};
use crate::engine::{self, Event, State, Timer, TimerTarget};
use crate::syntax::span::Span;
use jiff::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;

/// Most candidate-only timers fired between two recorded inputs: past this the candidate
/// loops on timers, which is reported as its error.
const MAX_TIMERS_BETWEEN_TURNS: usize = 1_000;

/// One turn side by side: the input, then what each side did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TurnPair {
    pub at: Timestamp,
    pub input: String,
    pub recorded: Vec<Output>,
    pub candidate: Vec<Output>,
    /// The stage the candidate's card was in when the input came.
    pub stage: String,
    /// The candidate's handlers that acted, by key.
    pub handlers: Vec<HandlerKey>,
    pub class: Class,
}

/// Where and how a conversation parts from the recording.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Divergence {
    pub class: Class,
    /// Index of the recorded turn where the two part; a timer only the candidate has is
    /// counted at the turn it fires before.
    pub turn: usize,
    pub at: Timestamp,
    /// The stage and handler where they part: the candidate's handler when it acted, else
    /// the live bot's.
    pub stage: String,
    pub handler: Option<HandlerKey>,
    /// The candidate's handler's span, when the candidate has that handler.
    #[serde(skip)]
    pub span: Option<Span>,
    /// One sentence for people.
    pub detail: String,
}

/// How one conversation replayed.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Identical,
    Diverged(Divergence),
    /// Not replayed: the recording cannot be driven (it starts inside an open card, or its
    /// version is unknown).
    Skipped {
        reason: String,
    },
}

/// One conversation's replay.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Conversation {
    pub contact: String,
    /// Turns the recording holds.
    pub turns: usize,
    pub verdict: Verdict,
    /// The turns replayed, up to and including the divergence.
    pub pairs: Vec<TurnPair>,
}

impl Conversation {
    pub fn class(&self) -> Option<Class> {
        match &self.verdict {
            Verdict::Identical => Some(Class::Identical),
            Verdict::Diverged(d) => Some(d.class),
            Verdict::Skipped { .. } => None,
        }
    }
}

/// A live timer, by what makes it the same timer in another program.
#[derive(Clone, Debug)]
enum LiveTimer {
    /// An `after` handler, by its key.
    Handler(Option<HandlerKey>),
    /// The timeout of the call with this (recorded) id.
    Call(String),
    /// A timer whose id names it in every program: a service-level deadline.
    Named,
}

struct Driver<'p> {
    p: &'p Program,
    state: State,
    live_timers: BTreeMap<String, LiveTimer>,
    /// Recorded call id -> the candidate's.
    calls: BTreeMap<String, String>,
    /// Recorded message id -> the candidate's.
    messages: BTreeMap<String, String>,
    pairs: Vec<TurnPair>,
}

/// Replays one recorded conversation through the candidate.
pub fn replay(candidate: &Program, rec: &Recording) -> Conversation {
    let skipped = |reason: String| Conversation {
        contact: rec.contact.clone(),
        turns: rec.turns.len(),
        verdict: Verdict::Skipped { reason },
        pairs: Vec::new(),
    };
    if rec.v != super::record::RECORDING_VERSION {
        return skipped(format!(
            "recording version {} is not known to this release",
            rec.v
        ));
    }
    if rec.start.card.is_some() {
        return skipped("the recording starts inside an open card".into());
    }
    let mut d = Driver {
        p: candidate,
        state: rec.start.clone(),
        live_timers: BTreeMap::new(),
        calls: BTreeMap::new(),
        messages: BTreeMap::new(),
        pairs: Vec::new(),
    };
    // The start holds no card, so only timers of no card: none the engine would fire.
    d.state.timers.clear();
    let verdict = d.run(rec);
    Conversation {
        contact: rec.contact.clone(),
        turns: rec.turns.len(),
        verdict,
        pairs: d.pairs,
    }
}

impl Driver<'_> {
    fn run(&mut self, rec: &Recording) -> Verdict {
        for (i, turn) in rec.turns.iter().enumerate() {
            if let Some(d) = self.own_timers(i, turn.at) {
                return Verdict::Diverged(d);
            }
            let before = self.stage();
            if let Event::Timer { id } = &turn.input {
                let fired = self.live_timers.remove(id);
                let ev = fired
                    .as_ref()
                    .and_then(|t| self.matching_timer(id, t))
                    .or_else(|| self.state.timers.contains_key(id).then(|| id.clone()));
                let candidate = match ev {
                    Some(id) => self.step(&Event::Timer { id }, turn.at),
                    None => Ok(Vec::new()),
                };
                if let Some(d) = self.compare(i, turn, candidate, before) {
                    return Verdict::Diverged(d);
                }
                continue;
            }
            let candidate = match self.map_input(&turn.input, turn.at) {
                Ok(ev) => self.step(&ev, turn.at),
                Err(why) => Err(why),
            };
            if let Some(d) = self.compare(i, turn, candidate, before) {
                return Verdict::Diverged(d);
            }
        }
        let end = rec
            .until
            .or_else(|| rec.turns.last().map(|t| t.at))
            .and_then(|t| t.checked_add(jiff::SignedDuration::from_nanos(1)).ok());
        if let Some(end) = end
            && let Some(d) = self.own_timers(rec.turns.len(), end)
        {
            return Verdict::Diverged(d);
        }
        Verdict::Identical
    }

    /// One engine step of the candidate; an `Err` is a candidate error.
    fn step(&mut self, ev: &Event, at: Timestamp) -> Result<Vec<Output>, String> {
        let stepped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            engine::step(self.p, &self.state, ev, at)
        }));
        match stepped {
            Ok(out) => {
                self.state = out.state;
                Ok(out.effects.iter().filter_map(Output::from_effect).collect())
            }
            Err(_) => Err("the engine failed on this input".into()),
        }
    }

    /// The recorded input as the candidate must get it: ids mapped, events re-checked.
    fn map_input(&self, ev: &Event, at: Timestamp) -> Result<Event, String> {
        Ok(match ev {
            Event::WebhookResult { call_id, result } => Event::WebhookResult {
                call_id: self.calls.get(call_id).unwrap_or(call_id).clone(),
                result: result.clone(),
            },
            Event::Status { message_id, status } => Event::Status {
                message_id: self.messages.get(message_id).unwrap_or(message_id).clone(),
                status: status.clone(),
            },
            Event::Business(b) => {
                let payload = serde_json::Value::Object(
                    b.payload
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_json()))
                        .collect(),
                );
                let today = self.p.timezone.to_datetime(at).date();
                let checked = engine::check_event(self.p, &b.name, &b.id, &payload, today)
                    .map_err(|e| format!("the candidate refuses the event: {e}"))?;
                Event::Business(checked)
            }
            other => other.clone(),
        })
    }

    /// The candidate's timer that corresponds to a live one.
    fn matching_timer(&self, id: &str, live: &LiveTimer) -> Option<String> {
        self.state
            .timers
            .iter()
            .find(|(cid, t)| self.corresponds(id, live, cid, t))
            .map(|(cid, _)| cid.clone())
    }

    /// Whether the candidate's timer `cid` is the live timer `id`: the same handler (by
    /// key), the timeout of the matching call, or the same service-level deadline.
    fn corresponds(&self, id: &str, live: &LiveTimer, cid: &str, t: &Timer) -> bool {
        match (live, &t.target) {
            (LiveTimer::Call(call), TimerTarget::CallTimeout { call_id }) => {
                self.calls.get(call).is_some_and(|c| c == call_id)
            }
            (LiveTimer::Handler(key), TimerTarget::Handler { .. }) => {
                key.is_some() && self.timer_key(t) == *key
            }
            (LiveTimer::Named, TimerTarget::Sla { .. }) => id == cid,
            _ => false,
        }
    }

    fn timer_key(&self, t: &Timer) -> Option<HandlerKey> {
        match &t.target {
            TimerTarget::Handler { handler, .. } => self.p.handler(*handler).map(|h| h.key.clone()),
            TimerTarget::CallTimeout { .. }
            | TimerTarget::AiTimeout { .. }
            | TimerTarget::Sla { .. } => None,
        }
    }

    /// Whether a candidate timer has a live counterpart still running.
    fn has_counterpart(&self, cid: &str, t: &Timer) -> bool {
        self.live_timers
            .iter()
            .any(|(id, live)| self.corresponds(id, live, cid, t))
    }

    /// Fires the timers only the candidate has that fall due before `until`, each at its
    /// own instant; the first that does something is a divergence at turn `turn`.
    fn own_timers(&mut self, turn: usize, until: Timestamp) -> Option<Divergence> {
        for _ in 0..MAX_TIMERS_BETWEEN_TURNS {
            let due = self
                .state
                .timers
                .iter()
                .filter(|(id, t)| t.at < until && !self.has_counterpart(id, t))
                .min_by(|a, b| (a.1.at, a.0).cmp(&(b.1.at, b.0)))
                .map(|(id, t)| (id.clone(), t.at));
            // Nothing left to fire before `until`: no divergence here.
            let (id, at) = due?;
            let stage = self.stage();
            let out = match self.step(&Event::Timer { id: id.clone() }, at) {
                Ok(out) => out,
                Err(why) => {
                    return Some(self.part(turn, at, Class::CandidateError, stage, &[], &[], why));
                }
            };
            if out.iter().any(Output::is_observable) {
                let input = format!("timer {id} (the candidate's own)");
                self.pairs.push(pair(
                    at,
                    input,
                    Vec::new(),
                    out.clone(),
                    stage.clone(),
                    Class::OtherRoute,
                ));
                let detail = format!(
                    "the candidate's timer `{id}` fired at {at}; the live bot did nothing then"
                );
                return Some(self.part(turn, at, Class::OtherRoute, stage, &[], &out, detail));
            }
        }
        let stage = self.stage();
        Some(self.part(
            turn,
            until,
            Class::CandidateError,
            stage,
            &[],
            &[],
            "the candidate's timers keep firing without end".into(),
        ))
    }

    fn stage(&self) -> String {
        self.state
            .card
            .as_ref()
            .map(|c| c.stage.clone())
            .unwrap_or_default()
    }

    /// Compares one turn; records the pair; the divergence if the turn differs.
    fn compare(
        &mut self,
        i: usize,
        turn: &super::record::Turn,
        candidate: Result<Vec<Output>, String>,
        before: String,
    ) -> Option<Divergence> {
        // The stage the card was in when the input came; for the turn that opens it, the
        // stage it opens in.
        let stage = if before.is_empty() {
            turn.outputs
                .first()
                .map(|o| o.stage.clone())
                .unwrap_or_default()
        } else {
            before
        };
        let input = describe_input(&turn.input);
        let (candidate, error) = match candidate {
            Ok(c) => (c, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        let class = match &error {
            Some(_) => Class::CandidateError,
            None => compare::classify(&turn.outputs, &candidate),
        };
        self.learn(turn, &candidate);
        self.pairs.push(pair(
            turn.at,
            input,
            turn.outputs.clone(),
            candidate.clone(),
            stage.clone(),
            class,
        ));
        if class == Class::Identical {
            return None;
        }
        let detail = error.unwrap_or_else(|| explain(class, &turn.outputs, &candidate));
        Some(self.part(i, turn.at, class, stage, &turn.outputs, &candidate, detail))
    }

    /// Learns the live timers and the id pairs a turn shows.
    fn learn(&mut self, turn: &super::record::Turn, candidate: &[Output]) {
        for o in &turn.outputs {
            match &o.kind {
                OutputKind::StartTimer { id, .. } => {
                    let live = if let Some(call) = id.strip_prefix("call/") {
                        LiveTimer::Call(call.to_string())
                    } else if id.starts_with("sla/") {
                        LiveTimer::Named
                    } else {
                        LiveTimer::Handler(o.handler.clone())
                    };
                    self.live_timers.insert(id.clone(), live);
                }
                OutputKind::CancelTimer { id } => {
                    self.live_timers.remove(id);
                }
                _ => {}
            }
        }
        let ids = |os: &[Output], calls: bool| -> Vec<String> {
            os.iter()
                .filter_map(|o| match (&o.kind, calls) {
                    (OutputKind::Call { call_id, .. }, true) => Some(call_id.clone()),
                    (OutputKind::Send { id, .. }, false) => Some(id.clone()),
                    _ => None,
                })
                .collect()
        };
        for (r, c) in ids(&turn.outputs, true)
            .into_iter()
            .zip(ids(candidate, true))
        {
            self.calls.insert(r, c);
        }
        for (r, c) in ids(&turn.outputs, false)
            .into_iter()
            .zip(ids(candidate, false))
        {
            self.messages.insert(r, c);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn part(
        &self,
        turn: usize,
        at: Timestamp,
        class: Class,
        stage: String,
        recorded: &[Output],
        candidate: &[Output],
        detail: String,
    ) -> Divergence {
        let recorded = observable(recorded);
        let candidate = observable(candidate);
        let (recorded, candidate) = (recorded.as_slice(), candidate.as_slice());
        // Where they part: the first position that differs, the candidate's side first.
        let first = (0..recorded.len().max(candidate.len()))
            .find(|&i| compare::differs_at(recorded, candidate, i));
        let at_i = |os: &[Output]| first.and_then(|i| os.get(i)).cloned();
        let who = at_i(candidate)
            .filter(|o| o.handler.is_some())
            .or_else(|| at_i(recorded).filter(|o| o.handler.is_some()))
            .or_else(|| candidate.iter().find(|o| o.handler.is_some()).cloned())
            .or_else(|| recorded.iter().find(|o| o.handler.is_some()).cloned());
        let handler = who.as_ref().and_then(|o| o.handler.clone());
        let stage = who
            .map(|o| o.stage)
            .filter(|s| !s.is_empty())
            .unwrap_or(stage);
        let span = handler
            .as_ref()
            .and_then(|k| self.p.handler_by_key(k))
            .map(|(_, h)| h.span);
        Divergence {
            class,
            turn,
            at,
            stage,
            handler,
            span,
            detail,
        }
    }
}

fn pair(
    at: Timestamp,
    input: String,
    recorded: Vec<Output>,
    candidate: Vec<Output>,
    stage: String,
    class: Class,
) -> TurnPair {
    let mut handlers: Vec<HandlerKey> = Vec::new();
    for o in candidate.iter().filter(|o| o.is_observable()) {
        if let Some(h) = &o.handler
            && !handlers.contains(h)
        {
            handlers.push(h.clone());
        }
    }
    let stage = candidate
        .first()
        .map(|o| o.stage.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or(stage);
    TurnPair {
        at,
        input,
        recorded: recorded.into_iter().filter(Output::is_observable).collect(),
        candidate: candidate
            .into_iter()
            .filter(Output::is_observable)
            .collect(),
        stage,
        handlers,
        class,
    }
}

fn observable(os: &[Output]) -> Vec<Output> {
    os.iter().filter(|o| o.is_observable()).cloned().collect()
}

/// One sentence on how a turn differs.
fn explain(class: Class, recorded: &[Output], candidate: &[Output]) -> String {
    let (recorded, candidate) = (observable(recorded), observable(candidate));
    let first = (0..recorded.len().max(candidate.len()))
        .find(|&i| compare::differs_at(&recorded, &candidate, i));
    let show = |os: &[Output]| {
        first
            .and_then(|i| os.get(i))
            .map_or("nothing".to_string(), |o| o.to_string())
    };
    match class {
        Class::CandidateError => candidate
            .iter()
            .find_map(|o| match &o.kind {
                OutputKind::Error { message } => Some(format!("the candidate fails: {message}")),
                _ => None,
            })
            .unwrap_or_else(|| "the candidate fails".into()),
        _ => format!(
            "{}: the live bot did {}, the candidate {}",
            class.label(),
            show(&recorded),
            show(&candidate)
        ),
    }
}
