//! A recorded conversation as a `test` block: an incident becomes a regression test.
//!
//! The customer's inputs become test steps at their recorded instants (`clock`, then
//! `advance` between them, so timers fire as they did), a person's actions `agent` steps,
//! webhook answers `respond` and business events `event`; what the script does with
//! them becomes `expect` steps. Personal data is masked by type ([`super::mask`]): the
//! contact's phone (its country kept) and name, e-mails, phones, dates and free text in
//! answers, form submissions, webhook answers and event payloads. Words the script
//! reacts to (keywords, the part a `regex` trigger matched, button and row titles,
//! choices, numbers, yes/no) are kept: they decide the route.
//!
//! The steps are played against the script while they are written, and each turn must
//! take the route the recording took. When a masked value changes the route, that value
//! is kept as written (and listed); when even the original value does not keep the route
//! (the recording depends on something a test cannot set, such as a contact attribute or
//! a caption), the test stops before that turn and says why. The result is checked by
//! running it as `wafl test` does; it passes against the script it was recorded with.

use super::mask::Masker;
use super::replay::compare::{self, Class};
use super::replay::record::{Output, OutputKind, Recording, Turn};
use crate::compile::{Program, Trigger, Value};
use crate::engine::{
    Contact, Effect, EffectKind, Event, Inbound, InboundMessage, OutMessage, Suspension,
    WebhookResult,
};
use crate::syntax::ast::Item;
use crate::syntax::span::FileId;
use crate::testrun::{self, Scenario};
use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

/// A test made from a recording.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedTest {
    /// The `test` block, to be added to the script.
    pub text: String,
    /// Values kept as written, each with the turn it belongs to.
    pub kept: Vec<String>,
    /// Why the test stops before the end of the recording, if it does.
    pub cut: Option<String>,
}

/// Writes the recording as a `test` block named `name`, checked against `program`.
pub fn save_test(program: &Program, rec: &Recording, name: &str) -> Result<SavedTest, String> {
    if rec.start.card.is_some() {
        return Err("the recording starts inside an open card; a test starts with none".into());
    }
    let mut keep: BTreeSet<usize> = BTreeSet::new();
    let mut stop: Option<usize> = None;
    let mut written = write(program, rec, name, &keep, stop);
    for _ in 0..=rec.turns.len() {
        let Some(at) = written.route_break else {
            break;
        };
        if keep.insert(at) {
            written = write(program, rec, name, &keep, stop);
            continue;
        }
        stop = Some(at);
        written = write(program, rec, name, &keep, stop);
        written.cut.get_or_insert_with(|| {
            format!(
                "the test stops before turn {}: played as a test, it takes another route than the recording (the recording depends on something a test cannot set, such as a contact attribute or an earlier conversation)",
                at + 1
            )
        });
        break;
    }
    verify(program, &written.text)?;
    Ok(SavedTest {
        text: written.text,
        kept: written.kept,
        cut: written.cut,
    })
}

/// Runs the test block as `wafl test` would.
fn verify(program: &Program, text: &str) -> Result<(), String> {
    let parsed = crate::syntax::parse(FileId(0), text);
    if let Some(d) = parsed.diagnostics.first() {
        return Err(format!("the written test does not parse: {}", d.message));
    }
    let Some(Item::Test(test)) = parsed
        .file
        .items
        .iter()
        .find(|i| matches!(i, Item::Test(_)))
    else {
        return Err("the written text holds no test".into());
    };
    let result = testrun::run_test(program, test);
    match result.failure {
        None => Ok(()),
        Some(d) => Err(format!(
            "the written test fails: {}: {}",
            d.message, d.primary.message
        )),
    }
}

/// One attempt at writing the test.
struct Written {
    text: String,
    kept: Vec<String>,
    cut: Option<String>,
    /// The first turn that took another route than the recording.
    route_break: Option<usize>,
}

struct Writer<'p> {
    p: &'p Program,
    sc: Scenario<'p>,
    masker: Masker,
    lines: Vec<String>,
    kept: Vec<String>,
    /// Webhook of each recorded call id.
    calls: BTreeMap<String, String>,
}

fn write(
    p: &Program,
    rec: &Recording,
    name: &str,
    keep: &BTreeSet<usize>,
    stop: Option<usize>,
) -> Written {
    let mut w = Writer {
        p,
        sc: Scenario::new(p),
        masker: Masker::default(),
        lines: Vec::new(),
        kept: Vec::new(),
        calls: BTreeMap::new(),
    };
    let contact = &rec.start.contact;
    let phone = w.masker.contact_phone(&contact.phone);
    let named = contact.name.is_some()
        || rec.turns.iter().any(|t| {
            matches!(
                &t.input,
                Event::Inbound(Inbound {
                    profile_name: Some(_),
                    ..
                })
            )
        });
    let mut c = Contact::new(phone.clone());
    let mut line = format!("contact {}", quote(&phone));
    if named {
        c.name = Some(w.masker.name());
        line.push_str(&format!(" named {}", quote(&w.masker.name())));
    }
    if !contact.tags.is_empty() {
        c.tags = contact.tags.clone();
        let tags: Vec<String> = contact.tags.iter().map(|t| quote(t)).collect();
        line.push_str(&format!(" tagged {}", tags.join(", ")));
    }
    if contact.returning {
        c.returning = true;
        line.push_str(" returning");
    }
    w.sc.set_contact(c);
    w.lines.push(line);
    let mut cut = None;
    let mut route_break = None;
    if let Some(first) = rec.turns.first() {
        let start = minute_of(p, first.at);
        let dt = p.timezone.to_datetime(start);
        w.lines
            .push(format!("clock {}", dt.strftime("%Y-%m-%d %H:%M")));
        let _ = w.sc.set_clock(start);
    }
    if rec.start.opted_out
        && let Some(word) = p.optout.first()
    {
        w.lines
            .push("// the contact had opted out before this conversation".into());
        w.lines.push(format!("send {}", quote(word)));
        w.sc.event(Event::Inbound(Inbound::text(word.clone())));
    }
    let mut last_at = None;
    for (i, turn) in rec.turns.iter().enumerate() {
        if stop == Some(i) {
            break;
        }
        for o in &turn.outputs {
            if let OutputKind::Call {
                call_id, webhook, ..
            } = &o.kind
            {
                w.calls.insert(call_id.clone(), webhook.clone());
            }
        }
        match &turn.input {
            // Timers fire during `advance`; statuses and the screens of a form change
            // nothing a test checks.
            Event::Timer { .. } | Event::Status { .. } | Event::FormScreen { .. } => continue,
            _ => {}
        }
        w.advance_to(second_of(turn.at));
        last_at = Some(turn.at);
        let masked = !keep.contains(&i);
        let Some(effects) = w.input(i, turn, masked) else {
            route_break.get_or_insert(i);
            break;
        };
        let outputs: Vec<Output> = effects.iter().filter_map(Output::from_effect).collect();
        let class = compare::classify(&turn.outputs, &outputs);
        if matches!(class, Class::OtherRoute | Class::CandidateError) {
            route_break.get_or_insert(i);
        }
        w.expect(&effects, true);
    }
    // Timers the recording saw fire after the last input fire in the test too.
    if cut.is_none()
        && stop.is_none()
        && let Some(end) = rec.turns.last().map(|t| t.at)
        && last_at.is_some_and(|l| l < end)
    {
        w.advance_to(second_of(end));
    }
    if let Some(at) = stop {
        cut = Some(format!("the test stops before turn {}", at + 1));
    }
    let mut text = String::new();
    text.push_str(&format!(
        "// Recorded with {phone}; personal data masked by type{}.\n",
        if w.kept.is_empty() {
            String::new()
        } else {
            format!(" (kept as written: {})", w.kept.join("; "))
        }
    ));
    if let Some(c) = &cut {
        text.push_str(&format!("// {c}.\n"));
    }
    text.push_str(&format!("test {} {{\n", quote(name)));
    for l in &w.lines {
        text.push_str("  ");
        text.push_str(l);
        text.push('\n');
    }
    text.push_str("}\n");
    Written {
        text,
        kept: w.kept,
        cut,
        route_break,
    }
}

/// The instant cut to whole seconds, as test steps count time.
fn second_of(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second()).unwrap_or(t)
}

/// The instant cut to the minute in the flow's time zone, where `clock` can set it.
fn minute_of(p: &Program, t: Timestamp) -> Timestamp {
    let dt = p.timezone.to_datetime(second_of(t));
    let start = dt.with().second(0).build().unwrap_or(dt);
    p.timezone.to_timestamp(start).unwrap_or(t)
}

impl Writer<'_> {
    fn today(&self) -> jiff::civil::Date {
        self.sc.today()
    }

    fn advance_to(&mut self, at: Timestamp) {
        if at <= self.sc.now() {
            return;
        }
        let secs = at.duration_since(self.sc.now()).as_secs();
        self.lines.push(format!(
            "advance {}",
            crate::compile::value::show_duration(secs)
        ));
        self.sc.advance(secs);
        let effects = self.sc.last_effects().to_vec();
        self.expect(&effects, false);
    }

    /// Plays one recorded input, writing its step; `None` when the test cannot play it
    /// where the conversation is (a webhook answer nobody waits for).
    fn input(&mut self, i: usize, turn: &Turn, masked: bool) -> Option<Vec<Effect>> {
        let Event::Inbound(inb) = &turn.input else {
            return self.other_input(i, turn, masked);
        };
        let (line, message) = match &inb.message {
            InboundMessage::Text(t) => {
                let sent = if masked {
                    self.mask_text(i, turn, t)
                } else {
                    t.clone()
                };
                if !masked {
                    self.kept.push(format!("turn {}: {}", i + 1, quote(t)));
                }
                (format!("send {}", quote(&sent)), InboundMessage::Text(sent))
            }
            InboundMessage::Button(t) => (format!("tap {}", quote(t)), inb.message.clone()),
            InboundMessage::ListChoice(t) => (format!("choose {}", quote(t)), inb.message.clone()),
            InboundMessage::Media { kind, .. } => (
                format!("send {}", kind.as_str()),
                InboundMessage::Media {
                    kind: *kind,
                    caption: None,
                },
            ),
            InboundMessage::Form { form, values } => {
                let values = self.mask_values(i, values, masked, |p, k| {
                    p.fields.get(k).map(|f| f.kind.clone())
                });
                // Through the one check of submissions, as the `submit` step does.
                self.lines
                    .push(format!("submit {form} {}", object(&values)));
                self.sc.submit(form, &values);
                return Some(self.sc.last_effects().to_vec());
            }
        };
        self.lines.push(line);
        Some(
            self.sc
                .event(Event::Inbound(Inbound {
                    profile_name: None,
                    message,
                }))
                .to_vec(),
        )
    }

    fn other_input(&mut self, i: usize, turn: &Turn, masked: bool) -> Option<Vec<Effect>> {
        match &turn.input {
            Event::Agent(a) => Some(self.agent(a, masked)),
            Event::FormRefused { form, .. } => {
                // A refused submission: the customer sent values the form's rules refuse;
                // a test submits the form with none, which the same rules refuse.
                self.lines.push(format!("submit {form} {{}}"));
                self.sc.submit(form, &BTreeMap::new());
                Some(self.sc.last_effects().to_vec())
            }
            Event::Business(ev) => {
                let keys: BTreeMap<String, crate::compile::FieldCheck> = self
                    .p
                    .events
                    .get(&ev.name)
                    .map(|e| {
                        e.keys
                            .iter()
                            .map(|k| (k.name.clone(), k.check.clone()))
                            .collect()
                    })
                    .unwrap_or_default();
                let values = self.mask_values(i, &ev.payload, masked, |_, k| keys.get(k).cloned());
                self.lines
                    .push(format!("event {} {}", ev.name, object(&values)));
                let payload = serde_json::Value::Object(
                    values
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_json()))
                        .collect(),
                );
                match self.sc.business_event(&ev.name, &payload) {
                    Ok(effects) => Some(effects.to_vec()),
                    Err(_) => None,
                }
            }
            Event::WebhookResult { call_id, result } => {
                let webhook = self.calls.get(call_id).cloned()?;
                let save = match self
                    .sc
                    .state()
                    .card
                    .as_ref()
                    .and_then(|c| c.suspended.as_ref())
                {
                    Some(Suspension::Call { save, .. }) => save.clone(),
                    _ => return None,
                };
                let body = match result {
                    WebhookResult::Ok { body } => {
                        // Only the keys the script saves are read; the rest is left out.
                        let values: BTreeMap<String, Value> = save
                            .iter()
                            .filter_map(|k| body.get(k).map(|v| (k.clone(), Value::from_json(v))))
                            .collect();
                        let values = self.mask_values(i, &values, masked, |p, k| {
                            p.fields.get(k).map(|f| f.kind.clone())
                        });
                        self.lines
                            .push(format!("respond {webhook} {}", object(&values)));
                        Some(serde_json::Value::Object(
                            values
                                .iter()
                                .map(|(k, v)| (k.clone(), v.to_json()))
                                .collect(),
                        ))
                    }
                    WebhookResult::Failed { .. } => {
                        self.lines.push(format!("respond {webhook} failed"));
                        None
                    }
                };
                self.sc.respond(&webhook, body).ok()?;
                Some(self.sc.last_effects().to_vec())
            }
            _ => None,
        }
    }

    /// A person's action, as the `agent` steps of a test play it: replies come from the
    /// card's agent (`agent` when it has none), and their texts are masked like free text.
    fn agent(&mut self, a: &crate::engine::AgentAction, masked: bool) -> Vec<Effect> {
        use crate::engine::AgentAction as A;
        let me = self
            .sc
            .state()
            .card
            .as_ref()
            .and_then(|c| c.agent.clone())
            .unwrap_or_else(|| "agent".into());
        let mut actions = Vec::new();
        match a {
            A::Reply { text, .. } => {
                let text = if masked {
                    self.masker.free_text(text)
                } else {
                    text.clone()
                };
                self.lines.push(format!("agent reply {}", quote(&text)));
                actions.push(A::Reply { agent: me, text });
            }
            A::Resolve { reason } => {
                self.lines.push(match reason {
                    Some(r) => format!("agent resolve {}", quote(r)),
                    None => "agent resolve".into(),
                });
                actions.push(a.clone());
            }
            A::Release => {
                self.lines.push("agent release".into());
                actions.push(A::Release);
            }
            A::Reassign { agent, team } => {
                if let Some(agent) = agent {
                    self.lines.push(format!("agent assign {}", quote(agent)));
                    actions.push(A::Reassign {
                        agent: Some(agent.clone()),
                        team: None,
                    });
                }
                if let Some(team) = team {
                    self.lines.push(format!("agent route {team}"));
                    actions.push(A::Reassign {
                        agent: None,
                        team: Some(team.clone()),
                    });
                }
            }
            // The test language has no step for these yet: the saved test plays them
            // through the scenario and says so in a comment.
            A::TakeOver { .. }
            | A::Template { .. }
            | A::Note { .. }
            | A::Tag { .. }
            | A::Untag { .. } => {
                let what = crate::publish::replay::record::describe_input(&Event::Agent(a.clone()));
                self.lines.push(format!("// {what} (no test step for it)"));
                actions.push(a.clone());
            }
        }
        let mut effects = Vec::new();
        for action in actions {
            effects.extend(self.sc.event(Event::Agent(action)).iter().cloned());
        }
        effects
    }

    /// Values masked by the type `check_of` gives each key; kept ones are listed.
    fn mask_values(
        &mut self,
        i: usize,
        values: &BTreeMap<String, Value>,
        masked: bool,
        check_of: impl Fn(&Program, &str) -> Option<crate::compile::FieldCheck>,
    ) -> BTreeMap<String, Value> {
        let today = self.today();
        values
            .iter()
            .map(|(k, v)| {
                let m = if masked {
                    check_of(self.p, k).and_then(|c| self.masker.value(&c, v, today))
                } else {
                    None
                };
                let v = match m {
                    Some(m) => m,
                    None => {
                        if !matches!(v, Value::Null | Value::Num(_) | Value::Bool(_)) {
                            self.kept.push(format!("turn {}: {k} = {}", i + 1, v));
                        }
                        v.clone()
                    }
                };
                (k.clone(), v)
            })
            .collect()
    }

    /// A customer's text, masked so that the script takes it the same way.
    fn mask_text(&mut self, i: usize, turn: &Turn, t: &str) -> String {
        // Opt-out and opt-in words are the script's own.
        if turn
            .outputs
            .iter()
            .any(|o| matches!(o.kind, OutputKind::OptOut | OutputKind::OptIn))
        {
            return t.to_string();
        }
        let acting = turn
            .outputs
            .iter()
            .find(|o| o.is_observable() && o.handler.is_some())
            .and_then(|o| o.handler.as_ref())
            .and_then(|k| self.p.handler_by_key(k))
            .map(|(_, h)| h);
        match acting.map(|h| &h.trigger) {
            Some(Trigger::Keyword(words)) => {
                let folded = crate::compile::fold(t);
                if let Some(w) = words.iter().find(|w| folded.contains(w.as_str())) {
                    return w.clone();
                }
            }
            Some(Trigger::Regex(Some(re))) => {
                if let Some(m) = re.find(t) {
                    let masked = self.masker.free_text(m.as_str());
                    return if re.is_match(&masked) {
                        masked
                    } else {
                        self.kept.push(format!("turn {}: {:?}", i + 1, m.as_str()));
                        m.as_str().to_string()
                    };
                }
            }
            _ => {}
        }
        let asked = match self
            .sc
            .state()
            .card
            .as_ref()
            .and_then(|c| c.suspended.as_ref())
        {
            Some(Suspension::Ask { field, .. }) => self.p.fields.get(field).map(|f| f.kind.clone()),
            _ => None,
        };
        if let Some(check) = asked {
            let today = self.today();
            if let Some(m) = self.masker.answer(&check, t, today) {
                return m;
            }
        }
        self.masker.free_text(t)
    }

    /// `expect` steps for what a step did.
    fn expect(&mut self, effects: &[Effect], input: bool) {
        let mut sent = false;
        let mut stage_moved = false;
        for e in effects {
            match &e.kind {
                EffectKind::Send { message, .. } => {
                    sent = true;
                    match message {
                        OutMessage::Template { name, .. } => {
                            self.lines.push(format!("expect template {name}"))
                        }
                        m => self.lines.push(format!("expect reply {}", quote(m.body()))),
                    }
                }
                EffectKind::Post { webhook, body, .. } => {
                    let entries: BTreeMap<String, Value> = body
                        .as_object()
                        .map(|o| {
                            o.iter()
                                .filter(|(_, v)| !v.is_object() && !v.is_array() && !v.is_null())
                                .map(|(k, v)| (k.clone(), Value::from_json(v)))
                                .collect()
                        })
                        .unwrap_or_default();
                    if !entries.is_empty() {
                        self.lines
                            .push(format!("expect posted {webhook} {}", object(&entries)));
                    }
                }
                EffectKind::StageChanged { .. } => stage_moved = true,
                _ => {}
            }
        }
        if input && !sent {
            self.lines.push("expect sent nothing".into());
        }
        let state = self.sc.state();
        if let Some(team) = effects.iter().rev().find_map(|e| match &e.kind {
            EffectKind::Route { team, .. } => Some(team.clone()),
            _ => None,
        }) {
            self.lines.push(format!("expect routed {team}"));
        }
        if effects
            .iter()
            .any(|e| matches!(e.kind, EffectKind::Close { .. }))
        {
            let reason = state
                .last_closed
                .as_ref()
                .and_then(|c| c.close_reason.clone());
            if state.card.is_none() {
                self.lines.push(match reason {
                    Some(r) => format!("expect closed {}", quote(&r)),
                    None => "expect closed".into(),
                });
            }
        } else if effects
            .iter()
            .any(|e| matches!(e.kind, EffectKind::Handoff { .. }))
        {
            self.lines.push("expect handoff".into());
        } else if stage_moved && let Some(card) = &state.card {
            self.lines.push(format!("expect stage {}", card.stage));
        }
    }
}

/// `{ key: value, ... }` in test syntax; unset values are left out.
fn object(values: &BTreeMap<String, Value>) -> String {
    let entries: Vec<String> = values
        .iter()
        .filter_map(|(k, v)| literal(v).map(|l| format!("{k}: {l}")))
        .collect();
    if entries.is_empty() {
        "{}".into()
    } else {
        format!("{{ {} }}", entries.join(", "))
    }
}

/// A value as a literal of the language.
fn literal(v: &Value) -> Option<String> {
    Some(match v {
        Value::Null => return None,
        Value::Str(s) => quote(s),
        Value::Num(_) | Value::Bool(_) | Value::Date(_) | Value::Clock(_) => v.to_string(),
        Value::Duration(s) => crate::compile::value::show_duration(*s),
        Value::Timestamp(t) => quote(&t.to_string()),
        Value::List(items) => format!(
            "[{}]",
            items
                .iter()
                .filter_map(literal)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

/// A string literal: quotes, backslashes and braces escaped, control characters as
/// spaces (strings may not span lines).
pub fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '{' => out.push_str("\\{"),
            '}' => out.push_str("\\}"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
