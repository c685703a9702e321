//! The interpreter: one event through the program. See `docs/semantics.md` for the rules
//! this file implements.

use super::state::*;
use crate::compile::fold::fold_answer;
use crate::compile::{HandlerRef, Program, StageId, Trigger, Value};
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
    pub(super) effects: Vec<Effect>,
    pub(super) span: Span,
    /// The stable key of the running handler, for traces.
    pub(super) handler: Option<crate::compile::HandlerKey>,
    pub(super) steps: u32,
    /// A message went either way: silence timers restart at the end of the step.
    pub(super) quiet_reset: bool,
    /// The running handler is an `after ... silence` one: its own sends do not restart
    /// the silence it measures.
    pub(super) in_silence_handler: bool,
    /// The window template was sent in this step already.
    pub(super) window_template_sent: bool,
    /// The classifier's verdict on the message, once asked for.
    pub(super) verdict: Option<crate::compile::intents::Verdict>,
    /// The business event being handled, for `event.*`.
    pub(super) event: Option<super::BusinessEvent>,
    /// Code runs without a card on purpose (an `optout` block): it goes on after each
    /// instruction instead of stopping as it does once a card closes.
    pub(super) cardless: bool,
}

/// How a piece of code ended.
pub(super) enum Next {
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
        handler: None,
        steps: 0,
        quiet_reset: false,
        in_silence_handler: false,
        window_template_sent: false,
        verdict: None,
        event: None,
        cardless: false,
    };
    match ev {
        Event::Inbound(inb) => r.inbound(inb, false),
        Event::Timer { id } => r.timer(id),
        Event::Status { message_id, status } => r.status(message_id, status),
        Event::Agent(a) => r.agent(a),
        Event::WebhookResult { call_id, result } => r.webhook_result(call_id, result),
        Event::AiResult { request_id, result } => r.ai_result(request_id, result),
        Event::Business(e) => r.business(e),
        Event::FormRefused { form, fields } => r.form_refused(form, fields),
        Event::FormScreen { form, screen } => {
            if r.s.card.is_some() {
                r.emit(EffectKind::Fact(Fact::FormScreen {
                    form: form.clone(),
                    screen: screen.clone(),
                }));
            }
        }
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

    pub(super) fn stage_name(&self) -> String {
        self.s
            .card
            .as_ref()
            .map(|c| c.stage.clone())
            .unwrap_or_default()
    }

    pub(super) fn stage_id(&self) -> Option<StageId> {
        let card = self.s.card.as_ref()?;
        self.p.stage_ids.get(&card.stage).copied()
    }

    pub(super) fn emit(&mut self, kind: EffectKind) {
        let trace = Trace {
            stage: self.stage_name(),
            handler_span: self.span,
            handler: self.handler.clone(),
            conditions: self.conditions.clone(),
        };
        self.effects.push(Effect { kind, trace });
    }

    pub(super) fn metric(&mut self, name: &str, labels: &[(&str, &str)]) {
        self.emit(EffectKind::Metric {
            name: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
        });
    }

    /// Records a line in the card's recent history: the last [`HISTORY_WINDOW`] lines,
    /// each cut to [`HISTORY_TEXT_CHARS`] characters, so a state stays the same size
    /// however long the conversation (the daemon keeps the whole history in storage).
    pub(super) fn history(&mut self, who: Who, text: String) {
        let at = self.now;
        if let Some(card) = self.s.card.as_mut() {
            let text = match text.char_indices().nth(HISTORY_TEXT_CHARS) {
                Some((cut, _)) => format!("{}…", &text[..cut]),
                None => text,
            };
            card.history.push(HistoryEntry { at, who, text });
            let over = card.history.len().saturating_sub(HISTORY_WINDOW);
            card.history.drain(..over);
        }
    }

    pub(super) fn next_id(&mut self, prefix: &str) -> String {
        self.s.seq = self.s.seq.saturating_add(1);
        format!("{prefix}-{}", self.s.seq)
    }

    /// One unit of the step budget; false when the budget is spent.
    pub(super) fn tick(&mut self) -> bool {
        self.steps = self.steps.saturating_add(1);
        self.steps <= self.p.budget
    }

    pub(super) fn at(&self, secs: i64) -> Option<Timestamp> {
        self.now.checked_add(SignedDuration::from_secs(secs)).ok()
    }

    pub(super) fn window_open(&self) -> bool {
        self.s.last_inbound.is_some_and(|t| {
            t.checked_add(SignedDuration::from_hours(24))
                .is_ok_and(|end| self.now < end)
        })
    }

    // --- events --------------------------------------------------------------------

    pub(super) fn inbound(&mut self, inb: &Inbound, replay: bool) {
        if !replay {
            self.s.last_inbound = Some(self.now);
            if self.s.contact.name.is_none() {
                self.s.contact.name.clone_from(&inb.profile_name);
            }
            if let InboundMessage::Text(t) = &inb.message
                && t.len() <= self.p.opt_word_len.saturating_mul(4).saturating_add(16)
            {
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
        self.verdict = None;
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
        if let InboundMessage::Form { form, values } = &inb.message {
            self.emit(EffectKind::Fact(Fact::FormSubmitted { form: form.clone() }));
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
            Some(Suspension::Call { .. }) | Some(Suspension::Ai { .. }) => {
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

    pub(super) fn timer(&mut self, id: &str) {
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
            TimerTarget::AiTimeout { request_id } => {
                if let Some(Suspension::Ai {
                    request_id: waiting,
                    handler,
                    fallback,
                    ..
                }) = self.s.card.as_ref().and_then(|c| c.suspended.clone())
                    && waiting == request_id
                {
                    self.clear_suspension();
                    self.history(Who::System, format!("ai request {request_id} timed out"));
                    self.ai_failed(handler, fallback, &request_id, "timeout");
                    self.replay_held();
                }
            }
            TimerTarget::Sla { sla, target } => self.sla_due(&sla, target),
            TimerTarget::CallTimeout { call_id } => {
                if let Some(Suspension::Call {
                    call_id: waiting,
                    handler,
                    fallback,
                    webhook,
                    ..
                }) = self.s.card.as_ref().and_then(|c| c.suspended.clone())
                    && waiting == call_id
                {
                    self.clear_suspension();
                    self.call_failed(handler, fallback, &webhook, "timeout");
                    self.replay_held();
                }
            }
        }
    }

    pub(super) fn status(&mut self, message_id: &str, status: &DeliveryStatus) {
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
        if matches!(
            status,
            DeliveryStatus::Failed {
                code: WINDOW_CLOSED
            }
        ) {
            self.window_closed_by_whatsapp(message_id);
        }
    }

    /// WhatsApp refused a free-form message because the 24-hour window is closed (131047,
    /// in the send's answer or in a `failed` status): the window template goes instead,
    /// once per closed window (not again until the customer writes).
    fn window_closed_by_whatsapp(&mut self, message_id: &str) {
        let already = match (self.s.window_template_at, self.s.last_inbound) {
            (Some(sent), Some(inbound)) => sent >= inbound,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if already || self.window_template_sent {
            return;
        }
        if let Some(template) = self.window_template(message_id) {
            self.send(template, true);
        }
    }

    pub(super) fn agent(&mut self, a: &AgentAction) {
        if self.s.card.is_none() {
            self.emit(EffectKind::Error {
                message: "agent action on a contact without an open conversation".into(),
            });
            return;
        }
        match a {
            AgentAction::TakeOver { agent } => self.take_over(agent),
            AgentAction::Reply { agent, text } => {
                self.history(Who::Agent, text.clone());
                let sent = self.send(OutMessage::Text { body: text.clone() }, false);
                self.agent_replied(agent, sent);
            }
            AgentAction::Template {
                agent,
                name,
                params,
            } => {
                self.history(Who::Agent, format!("[template] {name}"));
                let msg = self.template(name, params.clone());
                let sent = self.send(msg, false);
                self.agent_replied(agent, sent);
            }
            // Kept in the audit with who wrote it; nothing else changes.
            AgentAction::Note { .. } => {}
            AgentAction::Tag { tag } => {
                if self.s.contact.tags.insert(tag.clone()) {
                    self.emit(EffectKind::Tag { tag: tag.clone() });
                }
            }
            AgentAction::Untag { tag } => {
                if self.s.contact.tags.remove(tag) {
                    self.emit(EffectKind::Untag { tag: tag.clone() });
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

    /// After a person's message: the card's agent (if it had none), the first reply and
    /// the service levels it meets.
    fn agent_replied(&mut self, agent: &str, sent: bool) {
        let now = self.now;
        let mut first = false;
        if let Some(card) = self.s.card.as_mut() {
            if card.agent.is_none() {
                card.agent = Some(agent.to_string());
            }
            if sent && card.first_reply_at.is_none() {
                card.first_reply_at = Some(now);
                first = true;
            }
        }
        if first {
            self.emit(EffectKind::Fact(Fact::FirstHumanReply {
                agent: agent.to_string(),
            }));
        }
        if sent {
            self.sla_replied();
        }
    }

    pub(super) fn webhook_result(&mut self, call_id: &str, result: &WebhookResult) {
        let Some(Suspension::Call {
            call_id: waiting,
            handler,
            resume,
            fallback,
            save,
            webhook,
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
                self.emit(EffectKind::Fact(Fact::CallAnswered { webhook }));
                for name in &save {
                    if let Some(v) = body.get(name) {
                        self.set_field(name, Value::from_json(v));
                    }
                }
                let next = self.exec(handler, resume);
                self.drive(next);
            }
            WebhookResult::Failed { reason } => {
                self.call_failed(handler, fallback, &webhook, reason)
            }
        }
        self.replay_held();
    }

    /// A refused form submission: recorded on the card, and answered with the `invalid`
    /// messages of the failing fields (when they have one) while automation runs.
    pub(super) fn form_refused(&mut self, form: &str, fields: &[String]) {
        self.s.last_inbound = Some(self.now);
        let Some(status) = self.s.card.as_ref().map(|c| c.status) else {
            return;
        };
        self.history(
            Who::Customer,
            format!("[form] {form} refused: {}", fields.join(", ")),
        );
        self.emit(EffectKind::Fact(Fact::FormRefused {
            form: form.to_string(),
            fields: fields.to_vec(),
        }));
        self.quiet_reset = true;
        if status != CardStatus::Open {
            return;
        }
        let p = self.p;
        let mut lines: Vec<String> = Vec::new();
        for name in fields {
            let Some(msg) = p.fields.get(name).and_then(|s| s.invalid.as_ref()) else {
                continue;
            };
            let text = self.interp(msg);
            if !text.trim().is_empty() && !lines.contains(&text) {
                lines.push(text);
            }
        }
        if !lines.is_empty() {
            self.send(
                OutMessage::Text {
                    body: lines.join("\n"),
                },
                true,
            );
        }
    }

    /// Messages held while a `call` waited, handled now in arrival order.
    pub(super) fn replay_held(&mut self) {
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

    pub(super) fn call_failed(
        &mut self,
        handler: HandlerRef,
        fallback: Option<usize>,
        webhook: &str,
        reason: &str,
    ) {
        self.set_handler_trace(handler, vec![("call".into(), format!("failed: {reason}"))]);
        self.metric("call_failed", &[("reason", reason)]);
        self.emit(EffectKind::Fact(Fact::CallFailed {
            webhook: webhook.to_string(),
            reason: reason.to_string(),
        }));
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

    pub(super) fn finish(&mut self) {
        self.sla_sweep();
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
        handler: None,
        steps: 0,
        quiet_reset: false,
        in_silence_handler: false,
        window_template_sent: false,
        verdict: None,
        event: None,
        cardless: false,
    };
    r.eval(e)
}
