//! Which handler takes an event: dispatch of messages (first match wins, `anywhere`
//! first), escapes during a question, answers to `ask`, and following `goto`s.

use super::run::{Next, Run};
use super::state::*;
use crate::compile::fold::{fold, fold_answer};
use crate::compile::{HandlerRef, KeywordMatcher, MediaKind, Trigger, Value};
use crate::syntax::span::Span;

impl Run<'_> {
    /// Runs the first handler (`anywhere` first, then the stage's) whose trigger matches
    /// and whose guard holds.
    pub(super) fn dispatch(&mut self, msg: &InboundMessage) {
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
        // Candidates in order: keyword handlers the automaton found, merged with the
        // handlers of other triggers; `anywhere` first.
        let candidates = merge(&any_hits, &p.anywhere_index.message)
            .map(|(i, kw)| (HandlerRef::Anywhere(i), kw))
            .chain(
                merge(&stage_hits, &stage.index.message)
                    .map(|(i, kw)| (HandlerRef::Stage(sid, i), kw)),
            );
        for (r, kw) in candidates {
            let Some(h) = p.handler(r) else { continue };
            let matched = match kw {
                Some(k) => Some(("keyword".to_string(), k.to_string())),
                None => trigger_matches(&h.trigger, msg, 0, &[]),
            };
            let Some(cond) = matched else {
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
            if matches!(h.trigger, Trigger::Otherwise) {
                self.set_handler_trace(r, conds.clone());
                self.emit(EffectKind::Fact(Fact::Otherwise));
            }
            self.start(r, conds);
            return;
        }
        self.conditions.clear();
        self.span = Span::default();
        self.handler = None;
        self.metric("unanswered", &[("stage", &stage.name)]);
        self.emit(EffectKind::Fact(Fact::Unanswered));
    }

    /// An `anywhere` handler triggered by a word, button or row: the customer's way out
    /// of a pending question.
    pub(super) fn escape(
        &mut self,
        msg: &InboundMessage,
    ) -> Option<(HandlerRef, (String, String))> {
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
    pub(super) fn answer(
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
            self.emit(EffectKind::Fact(Fact::Answered {
                field: field.to_string(),
            }));
            let next = self.exec(handler, resume);
            self.drive(next);
            return;
        }
        let stage = self.stage_name();
        self.metric("validation_failed", &[("field", field), ("stage", &stage)]);
        let left = tries_left.saturating_sub(1);
        self.emit(EffectKind::Fact(Fact::AnswerRefused {
            field: field.to_string(),
            tries_left: left,
        }));
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

    pub(super) fn set_handler_trace(&mut self, r: HandlerRef, conds: Vec<(String, String)>) {
        let h = self.p.handler(r);
        self.span = h.map_or(Span::default(), |h| h.span);
        self.handler = h.map(|h| h.key.clone());
        self.conditions = conds;
    }

    /// Runs a handler from its first instruction, then follows any `goto`.
    pub(super) fn start(&mut self, r: HandlerRef, conds: Vec<(String, String)>) {
        let Some(h) = self.p.handler(r) else { return };
        let entry = h.entry;
        self.set_handler_trace(r, conds);
        let next = self.exec(r, entry);
        self.drive(next);
    }

    /// Follows `goto`s: each enters the stage and runs its first `on enter` whose guard
    /// holds.
    pub(super) fn drive(&mut self, mut next: Next) {
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

    pub(super) fn out_of_budget(&mut self) {
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
}

/// Merges keyword hits (sorted by handler) with other handler indexes (sorted), in order.
fn merge<'a>(
    hits: &'a [crate::compile::fold::KeywordHit<'a>],
    others: &'a [usize],
) -> impl Iterator<Item = (usize, Option<&'a str>)> + 'a {
    let (mut i, mut j) = (0, 0);
    std::iter::from_fn(move || {
        let h = hits.get(i);
        let o = others.get(j);
        match (h, o) {
            (Some(h), Some(&o)) if h.handler < o => {
                i += 1;
                Some((h.handler, Some(h.keyword)))
            }
            (Some(h), None) => {
                i += 1;
                Some((h.handler, Some(h.keyword)))
            }
            (_, Some(&o)) => {
                j += 1;
                Some((o, None))
            }
            (None, None) => None,
        }
    })
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
