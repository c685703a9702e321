//! The instructions of a handler, one by one, and the sending rules (opt-out, the
//! 24-hour window and its template).

use super::run::{Next, Run};
use super::state::*;
use crate::compile::{HandlerRef, Instr, Outgoing};

impl Run<'_> {
    pub(super) fn exec(&mut self, r: HandlerRef, mut pc: usize) -> Next {
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
                    self.emit(EffectKind::Fact(Fact::Asked {
                        field: field.clone(),
                    }));
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
                Instr::Handoff(team) => {
                    self.handoff(team.clone());
                    return Next::Done;
                }
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
                            webhook: webhook.clone(),
                        });
                    }
                    return Next::Suspended;
                }
                Instr::Answer {
                    knowledge,
                    threshold,
                    ai: None,
                    fallback,
                } => {
                    if let Some(fb) = self.answer_locally(knowledge, *threshold, *fallback) {
                        pc = fb;
                    }
                }
                Instr::Answer {
                    knowledge,
                    ai: Some(ai),
                    fallback,
                    ..
                } => {
                    let choices = p
                        .knowledge
                        .get(knowledge)
                        .map(|kb| kb.sections.iter().map(|s| s.heading.clone()).collect())
                        .unwrap_or_default();
                    let purpose = AiPurpose::Answer {
                        knowledge: knowledge.clone(),
                    };
                    let ask = super::intents::AiAsk {
                        ai,
                        purpose,
                        instructions: None,
                        choices,
                        fallback: *fallback,
                    };
                    match self.ask_ai(r, pc, ask) {
                        Ok(next) => return next,
                        Err(Some(fb)) => pc = fb,
                        Err(None) => {}
                    }
                }
                Instr::Classify {
                    ai,
                    instructions,
                    into,
                    fallback,
                } => {
                    let choices = if into.is_empty() {
                        p.intents.model.labels().to_vec()
                    } else {
                        into.clone()
                    };
                    let purpose = AiPurpose::Classify;
                    let ask = super::intents::AiAsk {
                        ai,
                        purpose,
                        instructions: instructions.as_deref(),
                        choices,
                        fallback: *fallback,
                    };
                    match self.ask_ai(r, pc, ask) {
                        Ok(next) => return next,
                        Err(Some(fb)) => pc = fb,
                        Err(None) => {}
                    }
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
            if self.s.card.is_none() && !self.cardless {
                return Next::Closed;
            }
        }
    }

    pub(super) fn body(&mut self, entries: &[(String, crate::compile::Expr)]) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for (k, e) in entries {
            let v = self.eval(e);
            map.insert(k.clone(), v.to_json());
        }
        serde_json::Value::Object(map)
    }

    pub(super) fn build(&mut self, out: &Outgoing) -> OutMessage {
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

    pub(super) fn template(&self, name: &str, params: Vec<String>) -> OutMessage {
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
    /// True when a message went out.
    pub(super) fn send(&mut self, msg: OutMessage, automated: bool) -> bool {
        if automated && self.s.opted_out {
            self.emit(EffectKind::SendFailed {
                reason: "the contact opted out".into(),
                message: msg,
            });
            return false;
        }
        let mut msg = msg;
        if msg.is_free_form() && !self.window_open() {
            let fallback = if automated && !self.window_template_sent {
                self.window_template(msg.body())
            } else {
                None
            };
            match fallback {
                Some(template) => msg = template,
                None => {
                    self.emit(EffectKind::SendFailed {
                        reason: "the 24-hour service window is closed".into(),
                        message: msg,
                    });
                    return false;
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
        true
    }

    /// The script's window template, its parameters filled from the card, in place of
    /// `replaced` (a free-form message the closed window refuses); `None` when the script
    /// has none. The one implementation of the window fallback: a closed window seen by
    /// the engine's clock (`send`) and one reported by WhatsApp (131047, `status`) both
    /// come here.
    pub(super) fn window_template(&mut self, replaced: &str) -> Option<OutMessage> {
        let name = self.p.window_template.clone()?;
        let params = self
            .p
            .templates
            .get(&name)
            .map(|t| t.params.iter().map(|p| self.template_param(p)).collect())
            .unwrap_or_default();
        self.window_template_sent = true;
        self.s.window_template_at = Some(self.now);
        self.emit(EffectKind::Metric {
            name: "window_template".into(),
            labels: vec![("replaced".into(), replaced.to_string())],
        });
        self.emit(EffectKind::Fact(Fact::WindowFallback {
            template: name.clone(),
        }));
        Some(self.template(&name, params))
    }

    /// A window-template parameter by name: a field, else a contact property.
    pub(super) fn template_param(&self, name: &str) -> String {
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
