//! Handler bodies to instructions: blocks become a flat list with explicit jumps, and
//! `ask`/`call` keep their `else` block out of line after the suspension point.

use super::{DEFAULT_TRIES, Handler, Instr, Outgoing, StageId, Trigger, expr, fold, secs};
use crate::compile::Expr;
use crate::syntax::ast::{self, ActionKind, MessageKind, TriggerKind};
use regex::Regex;
use std::collections::BTreeMap;

/// Lowers handler bodies into the shared instruction list.
pub(super) struct Lowerer<'a> {
    pub(super) code: Vec<Instr>,
    pub(super) lower: &'a expr::Lower<'a>,
    pub(super) stage_ids: &'a BTreeMap<String, StageId>,
}

impl Lowerer<'_> {
    pub(super) fn handler(&mut self, h: &ast::Handler) -> Handler {
        let folded = |ts: &[ast::Text]| -> Vec<String> {
            ts.iter().map(|t| fold::fold_answer(&t.value)).collect()
        };
        let trigger = match &h.trigger.kind {
            TriggerKind::Enter => Trigger::Enter,
            TriggerKind::Message => Trigger::Message,
            TriggerKind::Keyword(ks) => Trigger::Keyword(folded(ks)),
            TriggerKind::Regex(r) => Trigger::Regex(Regex::new(&r.source).ok()),
            TriggerKind::Button(bs) => Trigger::Button(folded(bs)),
            TriggerKind::Choice(cs) => Trigger::Choice(folded(cs)),
            TriggerKind::Media(m) => Trigger::Media(*m),
            TriggerKind::FormSubmitted(f) => Trigger::FormSubmitted(f.name.clone()),
            TriggerKind::Intent(ids) => {
                Trigger::Intent(ids.iter().map(|i| i.name.clone()).collect())
            }
            TriggerKind::Event { name, .. } => Trigger::Event(name.name.clone()),
            TriggerKind::When => Trigger::When,
            TriggerKind::Silence(d) => Trigger::Silence(secs(d.seconds).max(1)),
            TriggerKind::InStage(d) => Trigger::InStage(secs(d.seconds).max(1)),
            TriggerKind::Otherwise => Trigger::Otherwise,
        };
        let entry = self.code.len();
        self.block(&h.body);
        self.code.push(Instr::End);
        // The `optout` block follows the handler's own code, inside its fingerprint.
        let optout = match &h.trigger.kind {
            TriggerKind::Event {
                optout: Some(b), ..
            } => {
                let start = self.code.len();
                self.block(b);
                self.code.push(Instr::End);
                Some(start)
            }
            _ => None,
        };
        Handler {
            trigger,
            guard: h.guard.as_ref().map(|g| self.lower.expr(g)),
            entry,
            code_end: self.code.len(),
            span: h.span,
            // Named once the whole program is lowered (`identity`).
            key: super::HandlerKey {
                stage: None,
                trigger: String::new(),
                sla: None,
            },
            fingerprint: String::new(),
            optout,
        }
    }

    /// The `else` of a service-level target, as a handler of its own.
    pub(super) fn breach(&mut self, measure: super::SlaTarget, b: &ast::Block) -> Handler {
        let entry = self.code.len();
        self.block(b);
        self.code.push(Instr::End);
        Handler {
            trigger: Trigger::Breach(measure),
            guard: None,
            entry,
            code_end: self.code.len(),
            span: b.span,
            key: super::HandlerKey {
                stage: None,
                trigger: String::new(),
                sla: None,
            },
            fingerprint: String::new(),
            optout: None,
        }
    }

    fn block(&mut self, b: &ast::Block) {
        for a in &b.actions {
            self.action(a);
        }
    }

    /// Emits `fallback` out of line after the suspension point at `at`:
    /// `at: Ask/Call; at+1: Jump(after); fallback...; End; after:`.
    fn fallback(&mut self, at: usize, fallback: Option<&ast::Block>) {
        let Some(fb) = fallback else { return };
        let jump = self.code.len();
        self.code.push(Instr::Jump(0));
        let start = self.code.len();
        self.block(fb);
        self.code.push(Instr::End);
        let after = self.code.len();
        if let Some(Instr::Jump(t)) = self.code.get_mut(jump) {
            *t = after;
        }
        match self.code.get_mut(at) {
            Some(Instr::Ask { fallback, .. })
            | Some(Instr::Call { fallback, .. })
            | Some(Instr::Answer { fallback, .. })
            | Some(Instr::Classify { fallback, .. }) => *fallback = Some(start),
            _ => {}
        }
    }

    fn action(&mut self, a: &ast::Action) {
        let l = self.lower;
        let body = |entries: &[ast::ObjEntry]| -> Vec<(String, Expr)> {
            entries
                .iter()
                .map(|e| (e.key.name.clone(), l.expr(&e.value)))
                .collect()
        };
        let instr = match &a.kind {
            ActionKind::Reply(m) => Instr::Send(match &m.kind {
                MessageKind::Text(t) => Outgoing::Text(l.text(t)),
                MessageKind::Buttons { body, buttons } => Outgoing::Buttons {
                    body: l.text(body),
                    buttons: buttons.iter().map(|b| b.value.clone()).collect(),
                },
                MessageKind::List { body, button, rows } => Outgoing::List {
                    body: l.text(body),
                    button: button.value.clone(),
                    rows: rows.iter().map(|r| r.value.clone()).collect(),
                },
                MessageKind::Template { name, args } => Outgoing::Template {
                    name: name.name.clone(),
                    args: args.iter().map(|e| l.expr(e)).collect(),
                },
                MessageKind::Form { name, body } => Outgoing::Form {
                    form: name.name.clone(),
                    body: l.text(body),
                },
            }),
            ActionKind::Ask {
                field,
                prompt,
                tries,
                fallback,
            } => {
                let at = self.code.len();
                self.code.push(Instr::Ask {
                    field: field.name.clone(),
                    prompt: l.text(prompt),
                    tries: tries
                        .map(|t| t.value.clamp(1.0, 100.0) as u32)
                        .unwrap_or(DEFAULT_TRIES),
                    fallback: None,
                });
                self.fallback(at, fallback.as_ref());
                return;
            }
            ActionKind::Set { field, value } => Instr::Set {
                field: field.name.clone(),
                value: l.expr(value),
            },
            ActionKind::Tag(ts) => Instr::Tag(ts.iter().map(|t| t.value.clone()).collect()),
            ActionKind::Untag(ts) => Instr::Untag(ts.iter().map(|t| t.value.clone()).collect()),
            ActionKind::Route { team, priority } => Instr::Route {
                team: team.name.clone(),
                priority: priority.map(|p| p.level),
            },
            ActionKind::Assign(t) => Instr::Assign(l.text(t)),
            ActionKind::Priority(p) => Instr::Priority(p.level),
            ActionKind::Handoff(team) => Instr::Handoff(team.as_ref().map(|t| t.name.clone())),
            ActionKind::Post { webhook, body: b } => Instr::Post {
                webhook: webhook.name.clone(),
                body: body(b),
            },
            ActionKind::Call {
                webhook,
                body: b,
                save,
                timeout,
                fallback,
            } => {
                let at = self.code.len();
                self.code.push(Instr::Call {
                    webhook: webhook.name.clone(),
                    body: body(b),
                    save: save.iter().map(|s| s.name.clone()).collect(),
                    timeout: timeout.map(|d| secs(d.seconds).max(1)).unwrap_or(0),
                    fallback: None,
                });
                self.fallback(at, fallback.as_ref());
                return;
            }
            ActionKind::Answer {
                knowledge,
                via,
                fallback,
            } => {
                let at = self.code.len();
                let (threshold, ai) = match via {
                    ast::AnswerVia::Threshold(t) => (
                        t.as_ref()
                            .filter(|n| (0.0..=1.0).contains(&n.value))
                            .map_or(super::intents::DEFAULT_ANSWER_THRESHOLD, |n| n.value as f32),
                        None,
                    ),
                    ast::AnswerVia::Ai(a) => (0.0, Some(a.name.clone())),
                };
                self.code.push(Instr::Answer {
                    knowledge: knowledge.name.clone(),
                    threshold,
                    ai,
                    fallback: None,
                });
                self.fallback(at, fallback.as_ref());
                return;
            }
            ActionKind::Classify {
                ai,
                instructions,
                into,
                fallback,
            } => {
                let at = self.code.len();
                self.code.push(Instr::Classify {
                    ai: ai.name.clone(),
                    instructions: instructions.as_ref().map(|t| t.value.clone()),
                    into: into.iter().map(|i| i.name.clone()).collect(),
                    fallback: None,
                });
                self.fallback(at, fallback.as_ref());
                return;
            }
            ActionKind::Goto(stage) => match self.stage_ids.get(&stage.name) {
                Some(&id) => Instr::Goto(id),
                None => return,
            },
            ActionKind::Close(reason) => Instr::Close(reason.as_ref().map(|r| l.text(r))),
            ActionKind::Ignore => Instr::Ignore,
            ActionKind::If {
                cond,
                then,
                otherwise,
            } => {
                let at = self.code.len();
                self.code.push(Instr::JumpUnless {
                    cond: l.expr(cond),
                    target: 0,
                });
                self.block(then);
                let target = if let Some(other) = otherwise {
                    let jump = self.code.len();
                    self.code.push(Instr::Jump(0));
                    let else_start = self.code.len();
                    self.block(other);
                    let end = self.code.len();
                    if let Some(Instr::Jump(t)) = self.code.get_mut(jump) {
                        *t = end;
                    }
                    else_start
                } else {
                    self.code.len()
                };
                if let Some(Instr::JumpUnless { target: t, .. }) = self.code.get_mut(at) {
                    *t = target;
                }
                return;
            }
        };
        self.code.push(instr);
    }
}
