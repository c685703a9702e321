//! The interpreter: one event through the program. See `docs/semantics.md` for the rules
//! this file implements.

use super::state::*;
use crate::compile::fold::{fold, fold_answer};
use crate::compile::{
    HandlerRef, Instr, KeywordMatcher, MediaKind, Outgoing, Program, StageId, Trigger, Value,
};
use crate::syntax::span::Span;
use jiff::{SignedDuration, Timestamp};

/// The state of one `step`.
pub(super) struct Run<'p> {
    pub(super) p: &'p Program,
    pub(super) s: State,
    pub(super) now: Timestamp,
    /// The message being handled, for `message.*`.
    pub(super) msg: Option<InboundMessage>,
    /// Condition values of the running handler, copied into every effect's trace.
    pub(super) conditions: Vec<(String, String)>,
    effects: Vec<Effect>,
    span: Span,
    steps: u32,
    /// A message went either way: silence timers restart at the end of the step.
    quiet_reset: bool,
    /// The running handler is an `after ... silence` one: its own sends do not restart
    /// the silence it measures.
    in_silence_handler: bool,
    /// The window template was sent in this step already.
    window_template_sent: bool,
}

/// How a piece of code ended.
enum Next {
    Done,
    Goto(StageId),
    Suspended,
    Closed,
    OutOfBudget,
}

pub(super) fn step(p: &Program, s: State, ev: &Event, now: Timestamp) -> super::Outcome {
    let mut r = Run {
        p,
        s,
        now,
        msg: None,
        conditions: Vec::new(),
        effects: Vec::new(),
        span: Span::default(),
        steps: 0,
        quiet_reset: false,
        in_silence_handler: false,
        window_template_sent: false,
    };
    match ev {
        Event::Inbound(inb) => r.inbound(inb, false),
        Event::Timer { id } => r.timer(id),
        Event::Status { message_id, status } => r.status(message_id, status),
        Event::Agent(a) => r.agent(a),
        Event::WebhookResult { call_id, result } => r.webhook_result(call_id, result),
    }
    r.finish();
    super::Outcome {
        state: r.s,
        effects: r.effects,
    }
}

impl<'p> Run<'p> {
    // --- small helpers -------------------------------------------------------------

    pub(super) fn today(&self) -> jiff::civil::Date {
        self.p.timezone.to_datetime(self.now).date()
    }

    fn stage_name(&self) -> String {
        self.s
            .card
            .as_ref()
            .map(|c| c.stage.clone())
            .unwrap_or_default()
    }

    fn stage_id(&self) -> Option<StageId> {
        let card = self.s.card.as_ref()?;
        self.p.stage_ids.get(&card.stage).copied()
    }

    fn emit(&mut self, kind: EffectKind) {
        let trace = Trace {
            stage: self.stage_name(),
            handler_span: self.span,
            conditions: self.conditions.clone(),
        };
        self.effects.push(Effect { kind, trace });
    }

    fn metric(&mut self, name: &str, labels: &[(&str, &str)]) {
        self.emit(EffectKind::Metric {
            name: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
        });
    }

    fn history(&mut self, who: Who, text: String) {
        let at = self.now;
        if let Some(card) = self.s.card.as_mut() {
            card.history.push(HistoryEntry { at, who, text });
        }
    }

    fn next_id(&mut self, prefix: &str) -> String {
        self.s.seq = self.s.seq.saturating_add(1);
        format!("{prefix}-{}", self.s.seq)
    }

    /// One unit of the step budget; false when the budget is spent.
    fn tick(&mut self) -> bool {
        self.steps = self.steps.saturating_add(1);
        self.steps <= self.p.budget
    }

    fn at(&self, secs: i64) -> Option<Timestamp> {
        self.now.checked_add(SignedDuration::from_secs(secs)).ok()
    }

    fn window_open(&self) -> bool {
        self.s.last_inbound.is_some_and(|t| {
            t.checked_add(SignedDuration::from_hours(24))
                .is_ok_and(|end| self.now < end)
        })
    }

    // --- events --------------------------------------------------------------------

    fn inbound(&mut self, inb: &Inbound, replay: bool) {
        if !replay {
            self.s.last_inbound = Some(self.now);
            if self.s.contact.name.is_none() {
                self.s.contact.name.clone_from(&inb.profile_name);
            }
            if let InboundMessage::Text(t) = &inb.message {
                let word = fold_answer(t);
                if self.s.opted_out && self.p.optin.contains(&word) {
                    self.s.opted_out = false;
                    self.history(Who::Customer, t.clone());
                    self.emit(EffectKind::OptIn);
                    return;
                }
                if self.p.optout.contains(&word) {
                    self.s.opted_out = true;
                    self.history(Who::Customer, t.clone());
                    self.emit(EffectKind::OptOut);
                    return;
                }
            }
        }
        self.msg = Some(inb.message.clone());
        if self.s.card.is_none() && !self.open_card() {
            return;
        }
        if !replay {
            self.history(Who::Customer, describe(&inb.message));
        }
        self.quiet_reset = true;
        let Some(card) = self.s.card.as_ref() else {
            return;
        };
        if card.status != CardStatus::Open {
            // A human owns the conversation: record, stay silent.
            self.metric("message_in_handoff", &[]);
            return;
        }
        if let InboundMessage::Form { values, .. } = &inb.message {
            for (k, v) in values {
                self.set_field(k, v.clone());
            }
        }
        match self.s.card.as_ref().and_then(|c| c.suspended.clone()) {
            Some(Suspension::Ask {
                handler,
                resume,
                fallback,
                field,
                prompt,
                tries_left,
            }) => {
                if let Some((h, cond)) = self.escape(&inb.message) {
                    self.clear_suspension();
                    self.start(h, vec![cond]);
                } else {
                    self.answer(handler, resume, fallback, &field, &prompt, tries_left);
                }
            }
            Some(Suspension::Call { .. }) => {
                if let Some((h, cond)) = self.escape(&inb.message) {
                    self.clear_suspension();
                    self.start(h, vec![cond]);
                } else if let Some(card) = self.s.card.as_mut() {
                    card.held.push(inb.clone());
                }
            }
            None => self.dispatch(&inb.message),
        }
    }

    fn timer(&mut self, id: &str) {
        let Some(timer) = self.s.timers.get(id) else {
            return; // cancelled or already fired
        };
        if timer.at > self.now {
            return; // early; it will be delivered again
        }
        let Some(timer) = self.s.timers.remove(id) else {
            return;
        };
        match timer.target {
            TimerTarget::Handler { stage, handler } => {
                let open = self
                    .s
                    .card
                    .as_ref()
                    .is_some_and(|c| c.status == CardStatus::Open && c.stage == stage);
                let Some(h) = self.p.handler(handler) else {
                    return;
                };
                if !open {
                    return;
                }
                let label = match h.trigger {
                    Trigger::Silence(d) => format!("after {} silence", show(d)),
                    Trigger::InStage(d) => format!("after {} in stage", show(d)),
                    _ => "timer".into(),
                };
                self.in_silence_handler = matches!(h.trigger, Trigger::Silence(_));
                self.msg = None;
                let mut conds = vec![("timer".to_string(), label)];
                if let Some(g) = &h.guard {
                    self.conditions.clear();
                    if !self.eval(g).is_true() {
                        return;
                    }
                    conds.append(&mut self.conditions);
                }
                self.start(handler, conds);
                self.in_silence_handler = false;
            }
            TimerTarget::CallTimeout { call_id } => {
                if let Some(Suspension::Call {
                    call_id: waiting,
                    handler,
                    fallback,
                    ..
                }) = self.s.card.as_ref().and_then(|c| c.suspended.clone())
                    && waiting == call_id
                {
                    self.clear_suspension();
                    self.call_failed(handler, fallback, "timeout");
                    self.replay_held();
                }
            }
        }
    }

    fn status(&mut self, message_id: &str, status: &DeliveryStatus) {
        let (name, code) = match status {
            DeliveryStatus::Sent => ("sent", None),
            DeliveryStatus::Delivered => ("delivered", None),
            DeliveryStatus::Read => ("read", None),
            DeliveryStatus::Failed { code } => ("failed", Some(code.to_string())),
        };
        let mut labels = vec![("message", message_id)];
        if let Some(code) = code.as_deref() {
            labels.push(("code", code));
            self.history(
                Who::System,
                format!("message {message_id} failed with code {code}"),
            );
        }
        self.metric(&format!("delivery_{name}"), &labels);
    }

    fn agent(&mut self, a: &AgentAction) {
        if self.s.card.is_none() {
            self.emit(EffectKind::Error {
                message: "agent action on a contact without an open conversation".into(),
            });
            return;
        }
        match a {
            AgentAction::Reply { agent, text } => {
                self.history(Who::Agent, text.clone());
                self.send(OutMessage::Text { body: text.clone() }, false);
                if let Some(card) = self.s.card.as_mut()
                    && card.agent.is_none()
                {
                    card.agent = Some(agent.clone());
                }
            }
            AgentAction::Resolve { reason } => {
                self.close(Some(reason.clone().unwrap_or_else(|| "resolved".into())));
            }
            AgentAction::Reassign { agent, team } => {
                if let Some(team) = team {
                    if let Some(card) = self.s.card.as_mut() {
                        card.team = Some(team.clone());
                    }
                    self.emit(EffectKind::Route {
                        team: team.clone(),
                        priority: None,
                    });
                }
                if let Some(agent) = agent {
                    if let Some(card) = self.s.card.as_mut() {
                        card.agent = Some(agent.clone());
                    }
                    self.emit(EffectKind::Assign {
                        agent: agent.clone(),
                    });
                }
            }
            AgentAction::Release => {
                let Some(card) = self.s.card.as_mut() else {
                    return;
                };
                if card.status != CardStatus::Handoff {
                    return;
                }
                card.status = CardStatus::Open;
                self.emit(EffectKind::Release);
                self.arm_timers(true);
            }
        }
    }

    fn webhook_result(&mut self, call_id: &str, result: &WebhookResult) {
        let Some(Suspension::Call {
            call_id: waiting,
            handler,
            resume,
            fallback,
            save,
        }) = self.s.card.as_ref().and_then(|c| c.suspended.clone())
        else {
            return;
        };
        if waiting != call_id {
            return;
        }
        self.clear_suspension();
        let timer = format!("call/{call_id}");
        if self.s.timers.remove(&timer).is_some() {
            self.emit(EffectKind::CancelTimer { id: timer });
        }
        match result {
            WebhookResult::Ok { body } => {
                self.set_handler_trace(handler, vec![("call".into(), "answered".into())]);
                for name in &save {
                    if let Some(v) = body.get(name) {
                        self.set_field(name, Value::from_json(v));
                    }
                }
                let next = self.exec(handler, resume);
                self.drive(next);
            }
            WebhookResult::Failed { reason } => self.call_failed(handler, fallback, reason),
        }
        self.replay_held();
    }

    /// Messages held while a `call` waited, handled now in arrival order.
    fn replay_held(&mut self) {
        loop {
            let waiting = self.s.card.as_ref().is_some_and(|c| c.suspended.is_some());
            if waiting {
                return;
            }
            let Some(inb) = self.s.card.as_mut().and_then(|c| {
                if c.held.is_empty() {
                    None
                } else {
                    Some(c.held.remove(0))
                }
            }) else {
                return;
            };
            self.inbound(&inb, true);
        }
    }

    fn call_failed(&mut self, handler: HandlerRef, fallback: Option<usize>, reason: &str) {
        self.set_handler_trace(handler, vec![("call".into(), format!("failed: {reason}"))]);
        self.metric("call_failed", &[("reason", reason)]);
        match fallback {
            Some(pc) => {
                let next = self.exec(handler, pc);
                self.drive(next);
            }
            None => {
                self.emit(EffectKind::Error {
                    message: format!("webhook call failed ({reason}) and the script has no `else`"),
                });
                self.handoff(None);
            }
        }
    }

    fn finish(&mut self) {
        if self.quiet_reset
            && self
                .s
                .card
                .as_ref()
                .is_some_and(|c| c.status == CardStatus::Open)
        {
            self.arm_timers(false);
        }
    }

    // --- cards, stages, timers -----------------------------------------------------

    fn open_card(&mut self) -> bool {
        let Some(stage) = self.p.start.and_then(|s| self.p.stages.get(s)) else {
            self.emit(EffectKind::Error {
                message: "the script has no stage to open a conversation in".into(),
            });
            return false;
        };
        if self.s.cards_opened > 0 {
            self.s.contact.returning = true;
        }
        self.s.cards_opened = self.s.cards_opened.saturating_add(1);
        self.s.card = Some(Card {
            id: self.s.cards_opened,
            stage: stage.name.clone(),
            status: CardStatus::Open,
            fields: Default::default(),
            team: None,
            agent: None,
            priority: Priority::Normal,
            close_reason: None,
            opened_at: self.now,
            stage_entered_at: self.now,
            closed_at: None,
            history: Vec::new(),
            suspended: None,
            held: Vec::new(),
        });
        self.emit(EffectKind::OpenCard {
            card: self.s.cards_opened,
        });
        self.arm_timers(true);
        true
    }

    fn timer_id(stage: &str, kind: &str, h: HandlerRef) -> String {
        match h {
            HandlerRef::Anywhere(i) => format!("{stage}/{kind}/a{i}"),
            HandlerRef::Stage(_, i) => format!("{stage}/{kind}/s{i}"),
        }
    }

    /// Starts the silence timers of the current stage from now; with `in_stage`, also
    /// its `after ... in stage` timers, from the moment the stage was entered.
    fn arm_timers(&mut self, in_stage: bool) {
        let Some(sid) = self.stage_id() else { return };
        let Some(stage) = self.p.stages.get(sid) else {
            return;
        };
        let entered = self
            .s
            .card
            .as_ref()
            .map_or(self.now, |c| c.stage_entered_at);
        let refs = (0..self.p.anywhere.len())
            .map(HandlerRef::Anywhere)
            .chain((0..stage.handlers.len()).map(|i| HandlerRef::Stage(sid, i)));
        for r in refs {
            let Some(h) = self.p.handler(r) else { continue };
            let (kind, at) = match h.trigger {
                Trigger::Silence(d) => ("silence", self.at(d)),
                Trigger::InStage(d) if in_stage => (
                    "stage",
                    entered.checked_add(SignedDuration::from_secs(d)).ok(),
                ),
                _ => continue,
            };
            let Some(at) = at else { continue };
            if at <= self.now && kind == "stage" {
                continue;
            }
            let id = Self::timer_id(&stage.name, kind, r);
            self.s.timers.insert(
                id.clone(),
                Timer {
                    at,
                    target: TimerTarget::Handler {
                        stage: stage.name.clone(),
                        handler: r,
                    },
                },
            );
            let trace = Trace {
                stage: stage.name.clone(),
                handler_span: h.span,
                conditions: Vec::new(),
            };
            self.effects.push(Effect {
                kind: EffectKind::StartTimer { id, at },
                trace,
            });
        }
    }

    /// Cancels the stage timers (and, with `all`, a waiting call's timeout too).
    fn cancel_timers(&mut self, all: bool) {
        let ids: Vec<String> = self
            .s
            .timers
            .iter()
            .filter(|(_, t)| all || matches!(t.target, TimerTarget::Handler { .. }))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            self.s.timers.remove(&id);
            self.emit(EffectKind::CancelTimer { id });
        }
    }

    fn clear_suspension(&mut self) {
        if let Some(card) = self.s.card.as_mut()
            && let Some(Suspension::Call { call_id, .. }) = card.suspended.take()
        {
            let id = format!("call/{call_id}");
            if self.s.timers.remove(&id).is_some() {
                self.emit(EffectKind::CancelTimer { id });
            }
        }
    }

    fn change_stage(&mut self, to: StageId) {
        let Some(target) = self.p.stages.get(to) else {
            return;
        };
        self.cancel_timers(false);
        self.clear_suspension();
        let from = self.stage_name();
        if let Some(card) = self.s.card.as_mut() {
            card.stage = target.name.clone();
            card.stage_entered_at = self.now;
        }
        self.emit(EffectKind::StageChanged {
            from,
            to: target.name.clone(),
        });
        self.arm_timers(true);
    }

    fn close(&mut self, reason: Option<String>) {
        self.cancel_timers(true);
        let now = self.now;
        let Some(mut card) = self.s.card.take() else {
            return;
        };
        card.status = CardStatus::Closed;
        card.close_reason.clone_from(&reason);
        card.closed_at = Some(now);
        card.suspended = None;
        let stage = card.stage.clone();
        self.s.last_closed = Some(card);
        self.effects.push(Effect {
            kind: EffectKind::Close { reason },
            trace: Trace {
                stage,
                handler_span: self.span,
                conditions: self.conditions.clone(),
            },
        });
    }

    fn handoff(&mut self, team: Option<String>) {
        if let Some(team) = &team {
            if let Some(card) = self.s.card.as_mut() {
                card.team = Some(team.clone());
            }
            self.emit(EffectKind::Route {
                team: team.clone(),
                priority: None,
            });
        }
        self.clear_suspension();
        self.cancel_timers(true);
        if let Some(card) = self.s.card.as_mut() {
            card.status = CardStatus::Handoff;
            card.held.clear();
        }
        self.emit(EffectKind::Handoff { team });
    }

    fn set_field(&mut self, name: &str, value: Value) {
        if let Some(card) = self.s.card.as_mut() {
            card.fields.insert(name.to_string(), value.clone());
        }
        self.emit(EffectKind::SetField {
            field: name.to_string(),
            value,
        });
    }

    // --- dispatch ------------------------------------------------------------------

    /// Runs the first handler (`anywhere` first, then the stage's) whose trigger matches
    /// and whose guard holds.
    fn dispatch(&mut self, msg: &InboundMessage) {
        let Some(sid) = self.stage_id() else { return };
        let folded = match msg {
            InboundMessage::Text(t) => Some(fold(t)),
            _ => None,
        };
        let p = self.p;
        let Some(stage) = p.stages.get(sid) else {
            return;
        };
        let any_hits = hits(&p.anywhere_keywords, folded.as_deref());
        let stage_hits = hits(&stage.keywords, folded.as_deref());
        let candidates = p
            .anywhere
            .iter()
            .enumerate()
            .map(|(i, h)| (HandlerRef::Anywhere(i), h, &any_hits))
            .chain(
                stage
                    .handlers
                    .iter()
                    .enumerate()
                    .map(|(i, h)| (HandlerRef::Stage(sid, i), h, &stage_hits)),
            );
        for (r, h, kw) in candidates {
            let index = match r {
                HandlerRef::Anywhere(i) | HandlerRef::Stage(_, i) => i,
            };
            let Some(cond) = trigger_matches(&h.trigger, msg, index, kw) else {
                continue;
            };
            let mut conds = vec![cond];
            if let Some(g) = &h.guard {
                self.conditions.clear();
                if !self.eval(g).is_true() {
                    continue;
                }
                conds.append(&mut self.conditions);
            }
            self.start(r, conds);
            return;
        }
        self.conditions.clear();
        self.span = Span::default();
        self.metric("unanswered", &[("stage", &stage.name)]);
    }

    /// An `anywhere` handler triggered by a word, button or row: the customer's way out
    /// of a pending question.
    fn escape(&mut self, msg: &InboundMessage) -> Option<(HandlerRef, (String, String))> {
        let p = self.p;
        let folded = match msg {
            InboundMessage::Text(t) => Some(fold(t)),
            _ => None,
        };
        let kw = hits(&p.anywhere_keywords, folded.as_deref());
        for (i, h) in p.anywhere.iter().enumerate() {
            if !matches!(
                h.trigger,
                Trigger::Keyword(_) | Trigger::Regex(_) | Trigger::Button(_) | Trigger::Choice(_)
            ) {
                continue;
            }
            let Some(cond) = trigger_matches(&h.trigger, msg, i, &kw) else {
                continue;
            };
            if let Some(g) = &h.guard {
                self.conditions.clear();
                if !self.eval(g).is_true() {
                    continue;
                }
            }
            return Some((HandlerRef::Anywhere(i), cond));
        }
        None
    }

    /// The answer to a pending `ask`.
    fn answer(
        &mut self,
        handler: HandlerRef,
        resume: usize,
        fallback: Option<usize>,
        field: &str,
        prompt: &str,
        tries_left: u32,
    ) {
        let text = self.msg.as_ref().and_then(|m| m.text()).map(str::to_string);
        let spec = self.p.fields.get(field);
        let today = self.today();
        let value = match (&text, spec) {
            (Some(t), Some(spec)) => super::validate::validate(&spec.kind, t, today),
            (Some(t), None) => Some(Value::Str(t.trim().to_string())),
            (None, _) => None,
        };
        let answer = text.unwrap_or_else(|| {
            self.msg
                .as_ref()
                .map_or_else(String::new, |m| format!("[{}]", m.type_name()))
        });
        self.set_handler_trace(handler, vec![("answer".into(), answer)]);
        if let Some(v) = value {
            self.clear_suspension();
            self.set_field(field, v);
            let next = self.exec(handler, resume);
            self.drive(next);
            return;
        }
        let stage = self.stage_name();
        self.metric("validation_failed", &[("field", field), ("stage", &stage)]);
        let left = tries_left.saturating_sub(1);
        if left > 0 {
            let again = match spec.and_then(|s| s.invalid.as_ref()) {
                Some(msg) => self.interp(msg),
                None => prompt.to_string(),
            };
            self.send(OutMessage::Text { body: again }, true);
            if let Some(Suspension::Ask { tries_left, .. }) =
                self.s.card.as_mut().and_then(|c| c.suspended.as_mut())
            {
                *tries_left = left;
            }
            return;
        }
        self.clear_suspension();
        match fallback {
            Some(pc) => {
                let next = self.exec(handler, pc);
                self.drive(next);
            }
            None => {
                self.emit(EffectKind::Error {
                    message: format!("no valid answer for `{field}`, and the `ask` has no `else`"),
                });
                self.handoff(None);
            }
        }
    }

    fn set_handler_trace(&mut self, r: HandlerRef, conds: Vec<(String, String)>) {
        self.span = self.p.handler(r).map_or(Span::default(), |h| h.span);
        self.conditions = conds;
    }

    /// Runs a handler from its first instruction, then follows any `goto`.
    fn start(&mut self, r: HandlerRef, conds: Vec<(String, String)>) {
        let Some(h) = self.p.handler(r) else { return };
        let entry = h.entry;
        self.set_handler_trace(r, conds);
        let next = self.exec(r, entry);
        self.drive(next);
    }

    /// Follows `goto`s: each enters the stage and runs its first `on enter` whose guard
    /// holds.
    fn drive(&mut self, mut next: Next) {
        loop {
            match next {
                Next::Goto(id) => {
                    if !self.tick() {
                        self.out_of_budget();
                        return;
                    }
                    self.in_silence_handler = false;
                    self.change_stage(id);
                    let Some(stage) = self.p.stages.get(id) else {
                        return;
                    };
                    let mut found = None;
                    for (i, h) in stage.handlers.iter().enumerate() {
                        if !matches!(h.trigger, Trigger::Enter) {
                            continue;
                        }
                        self.conditions.clear();
                        if h.guard.as_ref().is_none_or(|g| self.eval(g).is_true()) {
                            found = Some(HandlerRef::Stage(id, i));
                            break;
                        }
                    }
                    let Some(r) = found else { return };
                    let mut conds = vec![("trigger".to_string(), "enter".to_string())];
                    conds.append(&mut self.conditions);
                    let Some(entry) = self.p.handler(r).map(|h| h.entry) else {
                        return;
                    };
                    self.set_handler_trace(r, conds);
                    next = self.exec(r, entry);
                }
                Next::OutOfBudget => {
                    self.out_of_budget();
                    return;
                }
                Next::Done | Next::Suspended | Next::Closed => return,
            }
        }
    }

    fn out_of_budget(&mut self) {
        self.emit(EffectKind::Error {
            message: format!(
                "step budget of {} exceeded; the conversation was handed to a person",
                self.p.budget
            ),
        });
        if self.s.card.is_some() {
            self.handoff(None);
        }
    }

    // --- instructions --------------------------------------------------------------

    fn exec(&mut self, r: HandlerRef, mut pc: usize) -> Next {
        let p = self.p;
        loop {
            if !self.tick() {
                return Next::OutOfBudget;
            }
            let Some(instr) = p.code.get(pc) else {
                return Next::Done;
            };
            pc += 1;
            match instr {
                Instr::Send(out) => {
                    let msg = self.build(out);
                    self.send(msg, true);
                }
                Instr::Ask {
                    field,
                    prompt,
                    tries,
                    fallback,
                } => {
                    let text = self.interp(prompt);
                    self.send(OutMessage::Text { body: text.clone() }, true);
                    if let Some(card) = self.s.card.as_mut() {
                        card.suspended = Some(Suspension::Ask {
                            handler: r,
                            resume: pc,
                            fallback: *fallback,
                            field: field.clone(),
                            prompt: text,
                            tries_left: *tries,
                        });
                    }
                    return Next::Suspended;
                }
                Instr::Set { field, value } => {
                    let v = self.eval(value);
                    self.set_field(field, v);
                }
                Instr::Tag(tags) => {
                    for t in tags {
                        if self.s.contact.tags.insert(t.clone()) {
                            self.emit(EffectKind::Tag { tag: t.clone() });
                        }
                    }
                }
                Instr::Untag(tags) => {
                    for t in tags {
                        if self.s.contact.tags.remove(t) {
                            self.emit(EffectKind::Untag { tag: t.clone() });
                        }
                    }
                }
                Instr::Route { team, priority } => {
                    let priority = priority.map(Priority::from);
                    if let Some(card) = self.s.card.as_mut() {
                        card.team = Some(team.clone());
                        if let Some(pr) = priority {
                            card.priority = pr;
                        }
                    }
                    self.emit(EffectKind::Route {
                        team: team.clone(),
                        priority,
                    });
                }
                Instr::Assign(agent) => {
                    let agent = self.interp(agent);
                    if let Some(card) = self.s.card.as_mut() {
                        card.agent = Some(agent.clone());
                    }
                    self.emit(EffectKind::Assign { agent });
                }
                Instr::Priority(pr) => {
                    let priority = Priority::from(*pr);
                    if let Some(card) = self.s.card.as_mut() {
                        card.priority = priority;
                    }
                    self.emit(EffectKind::SetPriority { priority });
                }
                Instr::Handoff(team) => self.handoff(team.clone()),
                Instr::Post { webhook, body } => {
                    let Some(hook) = p.webhooks.get(webhook) else {
                        continue;
                    };
                    let body = self.body(body);
                    self.emit(EffectKind::Post {
                        webhook: webhook.clone(),
                        url: hook.url.clone(),
                        body,
                    });
                }
                Instr::Call {
                    webhook,
                    body,
                    save,
                    timeout,
                    fallback,
                } => {
                    let Some(hook) = p.webhooks.get(webhook) else {
                        continue;
                    };
                    let body = self.body(body);
                    let call_id = self.next_id("call");
                    let secs = if *timeout > 0 {
                        *timeout
                    } else {
                        hook.timeout.unwrap_or(crate::compile::DEFAULT_CALL_TIMEOUT)
                    };
                    self.emit(EffectKind::Call {
                        call_id: call_id.clone(),
                        webhook: webhook.clone(),
                        url: hook.url.clone(),
                        body,
                        timeout_secs: secs,
                    });
                    if let Some(at) = self.at(secs) {
                        let id = format!("call/{call_id}");
                        self.s.timers.insert(
                            id.clone(),
                            Timer {
                                at,
                                target: TimerTarget::CallTimeout {
                                    call_id: call_id.clone(),
                                },
                            },
                        );
                        self.emit(EffectKind::StartTimer { id, at });
                    }
                    if let Some(card) = self.s.card.as_mut() {
                        card.suspended = Some(Suspension::Call {
                            handler: r,
                            resume: pc,
                            fallback: *fallback,
                            call_id,
                            save: save.clone(),
                        });
                    }
                    return Next::Suspended;
                }
                Instr::Goto(id) => return Next::Goto(*id),
                Instr::Close(reason) => {
                    let reason = reason.as_ref().map(|r| self.interp(r));
                    self.close(reason);
                    return Next::Closed;
                }
                Instr::Ignore => {}
                Instr::JumpUnless { cond, target } => {
                    if !self.eval(cond).is_true() {
                        pc = *target;
                    }
                }
                Instr::Jump(target) => pc = *target,
                Instr::End => return Next::Done,
            }
            if self.s.card.is_none() {
                return Next::Closed;
            }
        }
    }

    fn body(&mut self, entries: &[(String, crate::compile::Expr)]) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for (k, e) in entries {
            let v = self.eval(e);
            map.insert(k.clone(), v.to_json());
        }
        serde_json::Value::Object(map)
    }

    fn build(&mut self, out: &Outgoing) -> OutMessage {
        match out {
            Outgoing::Text(t) => OutMessage::Text {
                body: self.interp(t),
            },
            Outgoing::Buttons { body, buttons } => OutMessage::Buttons {
                body: self.interp(body),
                buttons: buttons.clone(),
            },
            Outgoing::List { body, button, rows } => OutMessage::List {
                body: self.interp(body),
                button: button.clone(),
                rows: rows.clone(),
            },
            Outgoing::Template { name, args } => {
                let params = args.iter().map(|a| self.eval(a).to_string()).collect();
                self.template(name, params)
            }
            Outgoing::Form { form, body } => OutMessage::Form {
                form: form.clone(),
                title: self
                    .p
                    .forms
                    .get(form)
                    .map(|f| f.title.clone())
                    .unwrap_or_default(),
                body: self.interp(body),
            },
        }
    }

    fn template(&self, name: &str, params: Vec<String>) -> OutMessage {
        let t = self.p.templates.get(name);
        OutMessage::Template {
            name: name.to_string(),
            wa_name: t.map(|t| t.wa_name.clone()).unwrap_or_default(),
            lang: t.map(|t| t.lang.clone()).unwrap_or_default(),
            params,
        }
    }

    /// Sends a message, unless the contact opted out (automated messages only) or the
    /// 24-hour window is closed (then the window template goes instead, once per event).
    fn send(&mut self, msg: OutMessage, automated: bool) {
        if automated && self.s.opted_out {
            self.emit(EffectKind::SendFailed {
                reason: "the contact opted out".into(),
                message: msg,
            });
            return;
        }
        let mut msg = msg;
        if msg.is_free_form() && !self.window_open() {
            let fallback = self
                .p
                .window_template
                .as_ref()
                .filter(|_| automated && !self.window_template_sent);
            match fallback {
                Some(name) => {
                    let params = self
                        .p
                        .templates
                        .get(name)
                        .map(|t| t.params.iter().map(|p| self.template_param(p)).collect())
                        .unwrap_or_default();
                    self.window_template_sent = true;
                    self.emit(EffectKind::Metric {
                        name: "window_template".into(),
                        labels: vec![("replaced".into(), msg.body().to_string())],
                    });
                    msg = self.template(name, params);
                }
                None => {
                    self.emit(EffectKind::SendFailed {
                        reason: "the 24-hour service window is closed".into(),
                        message: msg,
                    });
                    return;
                }
            }
        }
        let id = self.next_id("out");
        if automated {
            self.history(Who::Bot, msg.to_string());
        }
        self.s.last_outbound = Some(self.now);
        if !self.in_silence_handler {
            self.quiet_reset = true;
        }
        self.emit(EffectKind::Send { id, message: msg });
    }

    /// A window-template parameter by name: a field, else a contact property.
    fn template_param(&self, name: &str) -> String {
        if let Some(v) = self
            .s
            .current_card()
            .and_then(|c| c.fields.get(name))
            .filter(|v| !v.is_null())
        {
            return v.to_string();
        }
        match name {
            "name" => self.s.contact.name.clone().unwrap_or_default(),
            "phone" => self.s.contact.phone.clone(),
            _ => String::new(),
        }
    }
}

fn hits<'m>(
    m: &'m KeywordMatcher,
    folded: Option<&str>,
) -> Vec<crate::compile::fold::KeywordHit<'m>> {
    match folded {
        Some(f) if !m.is_empty() => m.hits(f),
        _ => Vec::new(),
    }
}

/// Whether a trigger takes a message; the trace condition that says why.
fn trigger_matches(
    t: &Trigger,
    msg: &InboundMessage,
    index: usize,
    kw: &[crate::compile::fold::KeywordHit<'_>],
) -> Option<(String, String)> {
    let c = |k: &str, v: &str| Some((k.to_string(), v.to_string()));
    match (t, msg) {
        (Trigger::Message, _) => c("trigger", "message"),
        (Trigger::When, _) => c("trigger", "when"),
        (Trigger::Otherwise, _) => c("trigger", "otherwise"),
        (Trigger::Keyword(_), InboundMessage::Text(_)) => kw
            .iter()
            .find(|h| h.handler == index)
            .and_then(|h| c("keyword", h.keyword)),
        (Trigger::Regex(Some(re)), InboundMessage::Text(text)) => {
            re.find(text).and_then(|m| c("regex", m.as_str()))
        }
        (Trigger::Button(titles), InboundMessage::Button(title)) => titles
            .contains(&fold_answer(title))
            .then(|| ("button".to_string(), title.clone())),
        (Trigger::Choice(titles), InboundMessage::ListChoice(title)) => titles
            .contains(&fold_answer(title))
            .then(|| ("choice".to_string(), title.clone())),
        (Trigger::Media(kind), InboundMessage::Media { kind: got, .. }) => {
            let hit = match kind {
                MediaKind::AnyMedia => matches!(
                    got,
                    MediaType::Image
                        | MediaType::Video
                        | MediaType::Audio
                        | MediaType::Document
                        | MediaType::Sticker
                ),
                k => MediaType::from(*k) == *got,
            };
            hit.then(|| ("media".to_string(), got.as_str().to_string()))
        }
        (Trigger::FormSubmitted(f), InboundMessage::Form { form, .. }) => {
            (f == form).then(|| ("form".to_string(), form.clone()))
        }
        _ => None,
    }
}

fn describe(m: &InboundMessage) -> String {
    match m {
        InboundMessage::Text(t) => t.clone(),
        InboundMessage::Button(t) => format!("[button] {t}"),
        InboundMessage::ListChoice(t) => format!("[choice] {t}"),
        InboundMessage::Media { kind, caption } => match caption {
            Some(c) => format!("[{}] {c}", kind.as_str()),
            None => format!("[{}]", kind.as_str()),
        },
        InboundMessage::Form { form, .. } => format!("[form] {form}"),
    }
}

fn show(secs: i64) -> String {
    crate::compile::value::show_duration(secs)
}

/// Evaluates an expression against a state, outside any event (for `expect field`).
pub(super) fn evaluate(p: &Program, s: &State, e: &crate::compile::Expr, now: Timestamp) -> Value {
    let mut r = Run {
        p,
        s: s.clone(),
        now,
        msg: None,
        conditions: Vec::new(),
        effects: Vec::new(),
        span: Span::default(),
        steps: 0,
        quiet_reset: false,
        in_silence_handler: false,
        window_template_sent: false,
    };
    r.eval(e)
}
