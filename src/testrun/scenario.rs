//! A scripted conversation: one contact, a virtual clock, and the engine. The test runner
//! drives it from `test` steps; other fronts (the REPL) can drive it step by step.

use super::Problem;
use super::sim::Sim;
use crate::compile::expr::Lower;
use crate::compile::{Program, Value};
use crate::engine::events::CardEvent;
use crate::engine::{
    self, AgentAction, CardStatus, Contact, Effect, EffectKind, Event, Inbound, InboundMessage,
    MediaType, OutMessage, State,
};
use crate::syntax::ast::{self, Expectation, ReplyMatch, StepKind};
use jiff::{SignedDuration, Timestamp};
use std::collections::BTreeMap;

/// The contact a test plays when it does not say.
pub const DEFAULT_CONTACT: &str = "+1 555 0100";

/// Monday 2026-01-05 10:00 in the program's time zone: where every test clock starts.
pub fn start_instant(program: &Program) -> Timestamp {
    let dt = jiff::civil::DateTime::new(2026, 1, 5, 10, 0, 0, 0).unwrap_or_default();
    program
        .timezone
        .to_timestamp(dt)
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// One contact talking to a program under a virtual clock.
#[derive(Debug)]
pub struct Scenario<'p> {
    program: &'p Program,
    sim: Sim,
    contact: String,
    /// Effects of the latest action step.
    last: Vec<Effect>,
    /// Card events of the latest action step.
    last_events: Vec<CardEvent>,
    transcript: Vec<String>,
    /// The latest text the contact sent, for `expect intent`.
    last_text: Option<String>,
    /// The webhook of every `call` made so far, by call id, for `respond`.
    calls: BTreeMap<String, String>,
    /// Events sent so far; the next test event's id is `test-` and this plus one.
    events_sent: u64,
    /// Whether any event was delivered yet: until then `clock` may go back.
    started: bool,
}

impl<'p> Scenario<'p> {
    pub fn new(program: &'p Program) -> Scenario<'p> {
        let mut sim = Sim::new(start_instant(program), "");
        sim.set_state(DEFAULT_CONTACT, State::new(Contact::new(DEFAULT_CONTACT)));
        Scenario {
            program,
            sim,
            contact: DEFAULT_CONTACT.to_string(),
            last: Vec::new(),
            last_events: Vec::new(),
            transcript: Vec::new(),
            last_text: None,
            calls: BTreeMap::new(),
            events_sent: 0,
            started: false,
        }
    }

    pub fn state(&self) -> &State {
        static EMPTY: std::sync::OnceLock<State> = std::sync::OnceLock::new();
        self.sim
            .state(&self.contact)
            .unwrap_or_else(|| EMPTY.get_or_init(|| State::new(Contact::new(DEFAULT_CONTACT))))
    }

    pub fn now(&self) -> Timestamp {
        self.sim.now()
    }

    /// What the latest action step produced.
    pub fn last_effects(&self) -> &[Effect] {
        &self.last
    }

    /// The card events of the latest action step.
    pub fn last_events(&self) -> &[CardEvent] {
        &self.last_events
    }

    /// Every card event so far.
    pub fn events(&self) -> &[CardEvent] {
        self.sim.events()
    }

    /// Everything so far, one line per event or visible effect.
    pub fn transcript(&self) -> &[String] {
        &self.transcript
    }

    /// Replaces the contact (and forgets the conversation).
    pub fn set_contact(&mut self, contact: Contact) {
        self.transcript.push(format!(
            "  contact {}{}",
            contact.phone,
            contact
                .name
                .as_ref()
                .map(|n| format!(" named {n:?}"))
                .unwrap_or_default()
        ));
        self.contact = contact.phone.clone();
        self.sim.set_state(&self.contact, State::new(contact));
        self.last.clear();
        self.last_events.clear();
    }

    /// Delivers one event now and records what it did.
    pub fn event(&mut self, ev: Event) -> &[Effect] {
        self.started = true;
        self.last.clear();
        self.last_events.clear();
        let contact = self.contact.clone();
        let step = self.sim.deliver(self.program, &contact, &ev);
        self.record(step.effects, step.events);
        &self.last
    }

    fn record(&mut self, effects: Vec<Effect>, events: Vec<CardEvent>) {
        for e in &effects {
            if let Some(line) = describe(e) {
                self.transcript.push(line);
            }
            if let EffectKind::Call {
                call_id, webhook, ..
            } = &e.kind
            {
                self.calls.insert(call_id.clone(), webhook.clone());
            }
        }
        self.last.extend(effects);
        self.last_events.extend(events);
    }

    /// The flow's local date now, for checks relative to `today`.
    pub fn today(&self) -> jiff::civil::Date {
        self.program.timezone.to_datetime(self.now()).date()
    }

    /// Sends a business event with a payload of JSON values, checked as the daemon
    /// checks it; a refused event is an `Err` with the reason.
    pub fn business_event(
        &mut self,
        name: &str,
        payload: &serde_json::Value,
    ) -> Result<&[Effect], engine::EventError> {
        self.events_sent += 1;
        let id = format!("test-{}", self.events_sent);
        let ev = engine::check_event(self.program, name, &id, payload, self.today())?;
        self.transcript.push(format!("> event {name} {payload}"));
        Ok(self.event(Event::Business(ev)))
    }

    /// Answers the `call` the conversation waits for: with a JSON body, or as failed.
    /// `Err` says why there is nothing to answer.
    pub fn respond(
        &mut self,
        webhook: &str,
        body: Option<serde_json::Value>,
    ) -> Result<(), String> {
        let waiting = self.state().card.as_ref().and_then(|c| match &c.suspended {
            Some(engine::Suspension::Call { call_id, .. }) => Some(call_id.clone()),
            _ => None,
        });
        let Some(call_id) = waiting else {
            return Err("no webhook call is waiting for an answer".into());
        };
        let called = self.calls.get(&call_id).cloned().unwrap_or_default();
        if called != webhook {
            return Err(format!(
                "the conversation waits for `{called}`, not `{webhook}`"
            ));
        }
        let result = match body {
            Some(body) => {
                self.transcript.push(format!("> respond {webhook} {body}"));
                engine::WebhookResult::Ok { body }
            }
            None => {
                self.transcript.push(format!("> respond {webhook} failed"));
                engine::WebhookResult::Failed {
                    reason: "failed in the test".into(),
                }
            }
        };
        self.event(Event::WebhookResult { call_id, result });
        Ok(())
    }

    /// Sets the clock to a moment: forward, firing due timers like `advance`, or anywhere
    /// before the conversation started.
    pub fn set_clock(&mut self, at: Timestamp) -> Result<(), String> {
        let now = self.now();
        if at >= now {
            let secs = at.duration_since(now).as_secs();
            self.advance(secs);
            self.sim.set_now(at);
            Ok(())
        } else if !self.started {
            self.sim.set_now(at);
            self.last.clear();
            self.last_events.clear();
            Ok(())
        } else {
            Err(format!(
                "the clock is at {} already and cannot go back",
                self.program
                    .timezone
                    .to_datetime(now)
                    .strftime("%Y-%m-%d %H:%M")
            ))
        }
    }

    /// Moves the clock forward, firing due timers in order, each at its instant.
    pub fn advance(&mut self, seconds: i64) {
        self.last.clear();
        self.last_events.clear();
        let now = self.sim.now();
        let target = now
            .checked_add(SignedDuration::from_secs(seconds))
            .unwrap_or(now);
        let mut steps = Vec::new();
        self.sim
            .advance_to(self.program, target, |_, step| steps.push(step.clone()));
        for step in steps {
            self.record(step.effects, step.events);
        }
    }

    /// A form submission as the client sends it, through the one check of the script's
    /// rules ([`engine::forms::check`]): accepted values reach the handlers, a refusal
    /// is an [`Event::FormRefused`].
    pub fn submit(&mut self, form: &str, values: &BTreeMap<String, Value>) {
        let today = self.program.timezone.to_datetime(self.now()).date();
        let raw = engine::forms::as_submitted(values);
        let ev = match engine::forms::check(self.program, form, &raw, today) {
            Ok(values) => inbound(InboundMessage::Form {
                form: form.to_string(),
                values,
            }),
            Err(engine::forms::Refused::Invalid(fields)) => Event::FormRefused {
                form: form.to_string(),
                fields,
            },
            Err(engine::forms::Refused::UnknownForm) => Event::FormRefused {
                form: form.to_string(),
                fields: Vec::new(),
            },
        };
        self.event(ev);
    }

    /// Runs one test step; an expectation that does not hold is an `Err`.
    pub fn step(&mut self, step: &ast::TestStep) -> Result<(), Problem> {
        match &step.kind {
            StepKind::Contact {
                phone,
                name,
                tags,
                returning,
            } => {
                let mut c = Contact::new(phone.value.clone());
                c.name = name.as_ref().map(|n| n.value.clone());
                c.tags = tags.iter().map(|t| t.value.clone()).collect();
                c.returning = *returning;
                self.set_contact(c);
            }
            StepKind::Send(text) => {
                self.transcript.push(format!("> send {:?}", text.value));
                self.last_text = Some(text.value.clone());
                self.event(Event::Inbound(Inbound::text(text.value.clone())));
            }
            StepKind::SendMedia(kind) => {
                let kind = match kind {
                    ast::MediaKind::AnyMedia => MediaType::Image,
                    k => MediaType::from(*k),
                };
                self.transcript.push(format!("> send {}", kind.as_str()));
                self.event(inbound(InboundMessage::Media {
                    kind,
                    caption: None,
                }));
            }
            StepKind::Tap(t) => {
                self.transcript.push(format!("> tap {:?}", t.value));
                self.event(inbound(InboundMessage::Button(t.value.clone())));
            }
            StepKind::Choose(t) => {
                self.transcript.push(format!("> choose {:?}", t.value));
                self.event(inbound(InboundMessage::ListChoice(t.value.clone())));
            }
            StepKind::Submit { form, values } => {
                let mut map = BTreeMap::new();
                for e in values {
                    map.insert(e.key.name.clone(), self.value_of(&e.value));
                }
                self.transcript.push(format!("> submit {}", form.name));
                self.submit(&form.name, &map);
            }
            StepKind::Event { name, values } => {
                let payload = self.json_object(values);
                if let Err(e) = self.business_event(&name.name, &payload) {
                    return Err(Problem {
                        expected: format!("expected event `{}` to be accepted", name.name),
                        got: Some(format!("refused: {e}")),
                    });
                }
            }
            StepKind::Respond { webhook, answer } => {
                let body = answer.as_ref().map(|a| self.json_object(a));
                if let Err(why) = self.respond(&webhook.name, body) {
                    return Err(Problem {
                        expected: format!(
                            "expected a `call` to `{}` waiting for its answer",
                            webhook.name
                        ),
                        got: Some(why),
                    });
                }
            }
            StepKind::Clock { date, time } => {
                let at = match crate::compile::expr::date_value(date) {
                    Value::Date(d) => jiff::civil::DateTime::new(
                        d.year(),
                        d.month(),
                        d.day(),
                        i8::try_from(time.hour).unwrap_or(-1),
                        i8::try_from(time.minute).unwrap_or(-1),
                        0,
                        0,
                    )
                    .ok()
                    .and_then(|dt| self.program.timezone.to_timestamp(dt).ok()),
                    _ => None,
                };
                let Some(at) = at else {
                    return Err(Problem {
                        expected: "expected a moment that exists in the flow's time zone".into(),
                        got: None,
                    });
                };
                self.transcript.push(format!(
                    "> clock {:04}-{:02}-{:02} {:02}:{:02}",
                    date.year, date.month, date.day, time.hour, time.minute
                ));
                if let Err(why) = self.set_clock(at) {
                    return Err(Problem {
                        expected: "expected the clock to move forward".into(),
                        got: Some(why),
                    });
                }
            }
            StepKind::Advance(d) => {
                let secs = i64::try_from(d.seconds).unwrap_or(i64::MAX);
                self.transcript.push(format!(
                    "> advance {}",
                    crate::compile::value::show_duration(secs)
                ));
                self.advance(secs);
            }
            StepKind::Expect(e) => self.expect(e)?,
            StepKind::Agent(a) => self.agent(a),
        }
        Ok(())
    }

    /// `{ key: value, ... }` as a JSON object, each value evaluated.
    fn json_object(&self, entries: &[ast::ObjEntry]) -> serde_json::Value {
        serde_json::Value::Object(
            entries
                .iter()
                .map(|e| (e.key.name.clone(), self.value_of(&e.value).to_json()))
                .collect(),
        )
    }

    /// A person acts on the card, as the card's agent (or `agent` when it has none).
    fn agent(&mut self, a: &ast::AgentStep) {
        let me = self
            .state()
            .card
            .as_ref()
            .and_then(|c| c.agent.clone())
            .unwrap_or_else(|| "agent".into());
        let (line, action) = match a {
            ast::AgentStep::Reply(t) => (
                format!("> agent reply {:?}", t.value),
                AgentAction::Reply {
                    agent: me,
                    text: t.value.clone(),
                },
            ),
            ast::AgentStep::Resolve(r) => (
                "> agent resolve".to_string(),
                AgentAction::Resolve {
                    reason: r.as_ref().map(|r| r.value.clone()),
                },
            ),
            ast::AgentStep::Release => ("> agent release".to_string(), AgentAction::Release),
            ast::AgentStep::Assign(t) => (
                format!("> agent assign {:?}", t.value),
                AgentAction::Reassign {
                    agent: Some(t.value.clone()),
                    team: None,
                },
            ),
            ast::AgentStep::Route(team) => (
                format!("> agent route {}", team.name),
                AgentAction::Reassign {
                    agent: None,
                    team: Some(team.name.clone()),
                },
            ),
        };
        self.transcript.push(line);
        self.event(Event::Agent(action));
    }

    /// `expect sla ...`: where the service level's targets stand on the card.
    fn expect_sla(
        &self,
        sla: &ast::Ident,
        measure: Option<ast::SlaMeasure>,
        outcome: ast::SlaOutcome,
    ) -> Result<(), Problem> {
        let what = match measure {
            Some(m) => format!("`{}` {}", sla.name, m.as_str()),
            None => format!("`{}`", sla.name),
        };
        let expected = format!("expected service level {what} {}", outcome.as_str());
        let clock = self
            .state()
            .current_card()
            .and_then(|c| c.slas.get(&sla.name));
        let Some(clock) = clock else {
            return Err(Problem {
                expected,
                got: Some("the service level has not started on this card".into()),
            });
        };
        let want = measure.map(crate::compile::SlaTarget::from);
        let targets: Vec<&engine::SlaTargetState> = clock
            .targets
            .iter()
            .filter(|t| want.is_none_or(|w| w == t.target))
            .collect();
        let has = |s: engine::SlaStatus| targets.iter().any(|t| t.status == s);
        let ok = match (outcome, want) {
            (ast::SlaOutcome::Met, _) => {
                has(engine::SlaStatus::Met)
                    && !has(engine::SlaStatus::Running)
                    && !has(engine::SlaStatus::Breached)
            }
            (ast::SlaOutcome::Breached, _) => has(engine::SlaStatus::Breached),
            (ast::SlaOutcome::Pending, _) => has(engine::SlaStatus::Running),
        };
        if ok {
            return Ok(());
        }
        let got = clock
            .targets
            .iter()
            .map(|t| format!("{} {}", t.target.as_str(), t.status.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        Err(Problem {
            expected,
            got: Some(if got.is_empty() {
                "the service level has no targets".into()
            } else {
                got
            }),
        })
    }

    /// `expect event KIND ["detail"]`: among the card events of the latest step.
    fn expect_event(&self, kind: &ast::Ident, detail: Option<&ast::Text>) -> Result<(), Problem> {
        let ok = self.last_events.iter().any(|e| {
            e.what.name() == kind.name
                && detail.is_none_or(|d| e.what.detail() == Some(d.value.as_str()))
        });
        if ok {
            return Ok(());
        }
        let expected = match detail {
            Some(d) => format!(
                "expected the card event `{}` about {:?}",
                kind.name, d.value
            ),
            None => format!("expected the card event `{}`", kind.name),
        };
        let got: Vec<String> = self
            .last_events
            .iter()
            .map(|e| match e.what.detail() {
                Some(d) => format!("{} {d:?}", e.what.name()),
                None => e.what.name().to_string(),
            })
            .collect();
        Err(Problem {
            expected,
            got: Some(if got.is_empty() {
                "no card event".into()
            } else {
                format!("card events: {}", got.join(", "))
            }),
        })
    }

    fn value_of(&self, e: &ast::Expr) -> Value {
        let lower = Lower {
            hours: &self.program.hours_ids,
        };
        engine::evaluate(self.program, self.state(), &lower.expr(e), self.now())
    }

    fn sent(&self) -> impl Iterator<Item = &OutMessage> {
        self.last.iter().filter_map(|e| match &e.kind {
            EffectKind::Send { message, .. } => Some(message),
            _ => None,
        })
    }

    fn sent_summary(&self) -> String {
        let all: Vec<String> = self.sent().map(|m| m.to_string()).collect();
        if all.is_empty() {
            "nothing was sent".into()
        } else {
            all.join("; ")
        }
    }

    fn expect(&self, e: &Expectation) -> Result<(), Problem> {
        let card = self.state().current_card();
        let fail = |expected: String, got: Option<String>| Err(Problem { expected, got });
        match e {
            Expectation::Intent { intent, above } => {
                let Some(text) = &self.last_text else {
                    return fail(
                        "expected an intent for the last text sent".into(),
                        Some("no text was sent yet".into()),
                    );
                };
                let v = self.program.intents.classify(text);
                let got = match &v.intent {
                    Some(i) => format!("intent `{i}` ({:.2})", v.confidence),
                    None => match v.ranking.best() {
                        Some(b) if b.score > 0.0 => {
                            format!("no intent; the best was `{}` ({:.2})", b.label, b.score)
                        }
                        _ => "no intent".into(),
                    },
                };
                match intent {
                    None if v.intent.is_some() => {
                        return fail(format!("expected no intent for {text:?}"), Some(got));
                    }
                    None => {}
                    Some(id) => {
                        let min = above.map_or(0.0, |n| n.value);
                        let ok = v.intent.as_deref() == Some(id.name.as_str())
                            && f64::from(v.confidence) > min;
                        if !ok {
                            let expected = match above {
                                Some(n) => format!(
                                    "expected intent `{}` above {} for {text:?}",
                                    id.name, n.value
                                ),
                                None => format!("expected intent `{}` for {text:?}", id.name),
                            };
                            return fail(expected, Some(got));
                        }
                    }
                }
            }
            Expectation::Stage(id) => {
                let got = card.map(|c| c.stage.as_str());
                if got != Some(id.name.as_str()) {
                    return fail(
                        format!("expected stage `{}`", id.name),
                        Some(got.map_or("no conversation".into(), |s| format!("stage `{s}`"))),
                    );
                }
            }
            Expectation::Routed(id) => {
                let got = card.and_then(|c| c.team.as_deref());
                if got != Some(id.name.as_str()) {
                    return fail(
                        format!("expected the conversation routed to `{}`", id.name),
                        Some(got.map_or("not routed".into(), |t| format!("routed to `{t}`"))),
                    );
                }
            }
            Expectation::Assigned(t) => {
                let got = card.and_then(|c| c.agent.as_deref());
                if got != Some(t.value.as_str()) {
                    return fail(
                        format!("expected the conversation assigned to {:?}", t.value),
                        Some(got.map_or("not assigned".into(), |a| format!("assigned to {a:?}"))),
                    );
                }
            }
            Expectation::Reply(m) => {
                let ok = self.sent().any(|msg| match (m, msg) {
                    (_, OutMessage::Template { .. }) => false,
                    (ReplyMatch::Exact(t), msg) => msg.body() == t.value,
                    (ReplyMatch::Contains(t), msg) => msg.body().contains(&t.value),
                    (ReplyMatch::Matching(re), msg) => {
                        regex::Regex::new(&re.source).is_ok_and(|r| r.is_match(msg.body()))
                    }
                });
                if !ok {
                    let expected = match m {
                        ReplyMatch::Exact(t) => format!("expected the reply {:?}", t.value),
                        ReplyMatch::Contains(t) => {
                            format!("expected a reply containing {:?}", t.value)
                        }
                        ReplyMatch::Matching(r) => {
                            format!("expected a reply matching /{}/", r.source)
                        }
                    };
                    return fail(expected, Some(self.sent_summary()));
                }
            }
            Expectation::Template(id) => {
                let ok = self
                    .sent()
                    .any(|m| matches!(m, OutMessage::Template { name, .. } if *name == id.name));
                if !ok {
                    return fail(
                        format!("expected the template `{}`", id.name),
                        Some(self.sent_summary()),
                    );
                }
            }
            Expectation::Field(expr) => {
                let v = self.value_of(expr);
                if !v.is_true() {
                    let shown = crate::compile::expr::show(expr);
                    return fail(format!("expected `{shown}`"), Some(self.field_values(expr)));
                }
            }
            Expectation::Posted { webhook, body } => {
                let want: Vec<(String, serde_json::Value)> = body
                    .iter()
                    .map(|e| (e.key.name.clone(), self.value_of(&e.value).to_json()))
                    .collect();
                let posts: Vec<&serde_json::Value> = self
                    .last
                    .iter()
                    .filter_map(|e| match &e.kind {
                        EffectKind::Post {
                            webhook: w, body, ..
                        } if *w == webhook.name => Some(body),
                        _ => None,
                    })
                    .collect();
                let ok = posts.iter().any(|b| {
                    want.iter()
                        .all(|(k, v)| b.get(k).is_some_and(|got| json_eq(got, v)))
                });
                if !ok {
                    let got = if posts.is_empty() {
                        format!("no post to `{}`", webhook.name)
                    } else {
                        posts
                            .iter()
                            .map(|b| b.to_string())
                            .collect::<Vec<_>>()
                            .join("; ")
                    };
                    return fail(
                        format!(
                            "expected a post to `{}` with {}",
                            webhook.name,
                            serde_json::Value::Object(want.into_iter().collect())
                        ),
                        Some(got),
                    );
                }
            }
            Expectation::Tagged(t) => {
                if !self.state().contact.tags.contains(&t.value) {
                    let tags: Vec<&str> = self
                        .state()
                        .contact
                        .tags
                        .iter()
                        .map(String::as_str)
                        .collect();
                    return fail(
                        format!("expected the contact tagged {:?}", t.value),
                        Some(if tags.is_empty() {
                            "no tags".into()
                        } else {
                            format!("tags {}", tags.join(", "))
                        }),
                    );
                }
            }
            Expectation::Handoff => {
                let got = self.state().card.as_ref().map(|c| c.status);
                if got != Some(CardStatus::Handoff) {
                    return fail(
                        "expected the conversation handed off to a person".into(),
                        Some(status_of(self.state())),
                    );
                }
            }
            Expectation::Closed(reason) => {
                let closed = self.state().card.is_none() && self.state().last_closed.is_some();
                let got_reason = self
                    .state()
                    .last_closed
                    .as_ref()
                    .and_then(|c| c.close_reason.clone());
                let ok = closed
                    && reason
                        .as_ref()
                        .is_none_or(|r| got_reason.as_deref() == Some(r.value.as_str()));
                if !ok {
                    let expected = match reason {
                        Some(r) => format!("expected the conversation closed as {:?}", r.value),
                        None => "expected the conversation closed".into(),
                    };
                    let got = if closed {
                        format!(
                            "closed as {}",
                            got_reason.map_or("(no reason)".into(), |r| format!("{r:?}"))
                        )
                    } else {
                        status_of(self.state())
                    };
                    return fail(expected, Some(got));
                }
            }
            Expectation::SentNothing => {
                if self.sent().next().is_some() {
                    return fail("expected nothing sent".into(), Some(self.sent_summary()));
                }
            }
            Expectation::Sla {
                sla,
                measure,
                outcome,
            } => self.expect_sla(sla, *measure, *outcome)?,
            Expectation::Event { kind, detail } => self.expect_event(kind, detail.as_ref())?,
        }
        Ok(())
    }

    /// The current values of the fields an expression reads, for a failure note.
    fn field_values(&self, expr: &ast::Expr) -> String {
        let mut names = Vec::new();
        crate::check::walk::each_expr(expr, &mut |e| {
            if let ast::ExprKind::Path(ids) = &e.kind
                && let [id] = ids.as_slice()
                && !names.contains(&id.name)
            {
                names.push(id.name.clone());
            }
        });
        let fields = self.state().current_card().map(|c| &c.fields);
        let shown: Vec<String> = names
            .iter()
            .map(|n| match fields.and_then(|f| f.get(n)) {
                Some(v) => format!("{n} = {:?}", v.to_string()),
                None => format!("{n} is not set"),
            })
            .collect();
        if shown.is_empty() {
            "false".into()
        } else {
            shown.join(", ")
        }
    }
}

fn inbound(message: InboundMessage) -> Event {
    Event::Inbound(Inbound {
        profile_name: None,
        message,
    })
}

fn status_of(s: &State) -> String {
    match (&s.card, &s.last_closed) {
        (Some(c), _) => format!(
            "the conversation is {} in stage `{}`",
            c.status.as_str(),
            c.stage
        ),
        (None, Some(_)) => "the conversation is closed".into(),
        (None, None) => "no conversation".into(),
    }
}

/// JSON equality where numbers compare by value (`1` equals `1.0`).
fn json_eq(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// One transcript line for the effects a reader cares about.
fn describe(e: &Effect) -> Option<String> {
    let line = match &e.kind {
        EffectKind::Send { message, .. } => format!("< {message}"),
        EffectKind::SendFailed { reason, message } => format!("! not sent ({reason}): {message}"),
        EffectKind::Post { webhook, body, .. } => format!("  posted {webhook} {body}"),
        EffectKind::Call { webhook, body, .. } => format!("  called {webhook} {body}"),
        EffectKind::StageChanged { from, to } => format!("  stage {from} -> {to}"),
        EffectKind::Route { team, .. } => format!("  routed {team}"),
        EffectKind::Assign { agent } => format!("  assigned {agent:?}"),
        EffectKind::Tag { tag } => format!("  tagged {tag:?}"),
        EffectKind::SetField { field, value } => format!("  set {field} = {:?}", value.to_string()),
        EffectKind::Handoff { team } => match team {
            Some(t) => format!("  handoff {t}"),
            None => "  handoff".into(),
        },
        EffectKind::Close { reason } => match reason {
            Some(r) => format!("  closed {r:?}"),
            None => "  closed".into(),
        },
        EffectKind::OptOut => "  opted out".into(),
        EffectKind::OptIn => "  opted in".into(),
        EffectKind::Error { message } => format!("! error: {message}"),
        EffectKind::Fact(engine::Fact::FormRefused { form, fields }) => {
            format!("  form {form} refused: {}", fields.join(", "))
        }
        EffectKind::Fact(engine::Fact::SlaMet { sla, target, .. }) => {
            format!("  sla {sla} {} met", target.as_str())
        }
        EffectKind::Fact(engine::Fact::SlaBreached { sla, target }) => {
            format!("  sla {sla} {} breached", target.as_str())
        }
        _ => return None,
    };
    Some(line)
}
