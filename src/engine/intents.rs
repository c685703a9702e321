//! Intents, knowledge answers and AI steps at run time: the classifier's verdict on the
//! message (computed once per event, only when an `on intent` handler asks), `answer`
//! quoting a section, and the AI requests whose picks come back as events.

use super::run::{Next, Run};
use super::state::*;
use crate::compile::fold::fold_answer;
use crate::compile::intents::Verdict;
use crate::compile::{HandlerRef, Trigger};

/// The most examples per intent a classification prompt shows the model.
const PROMPT_EXAMPLES: usize = 3;
/// The answer a model gives when no choice fits (never a choice itself).
const NONE_ANSWER: &str = "none";

/// An AI step as the instruction describes it.
pub(super) struct AiAsk<'a> {
    pub ai: &'a str,
    pub purpose: AiPurpose,
    pub instructions: Option<&'a str>,
    pub choices: Vec<String>,
    pub fallback: Option<usize>,
}

impl Run<'_> {
    /// The classifier's verdict on the current text message, computed on first use.
    pub(super) fn verdict(&mut self) -> Option<&Verdict> {
        if self.verdict.is_none() {
            let text = match &self.msg {
                Some(InboundMessage::Text(t)) => t.clone(),
                _ => return None,
            };
            self.verdict = Some(self.p.intents.classify(&text));
        }
        self.verdict.as_ref()
    }

    /// Whether an `on intent` trigger takes the current message: the trace condition.
    pub(super) fn intent_matches(&mut self, names: &[String]) -> Option<(String, String)> {
        let v = self.verdict()?;
        let got = v.intent.as_ref()?;
        names
            .contains(got)
            .then(|| ("intent".to_string(), format!("{got} {:.2}", v.confidence)))
    }

    /// The text `answer` and `classify` work on: the message text or a media caption.
    fn message_text(&self) -> Option<String> {
        self.msg
            .as_ref()
            .and_then(|m| m.text())
            .map(str::to_string)
            .filter(|t| !t.trim().is_empty())
    }

    /// `answer KB [threshold T]`: quotes the best section, or returns the fallback's pc.
    pub(super) fn answer_locally(
        &mut self,
        knowledge: &str,
        threshold: f32,
        fallback: Option<usize>,
    ) -> Option<usize> {
        let p = self.p;
        let kb = p.knowledge.get(knowledge);
        let text = self.message_text();
        let ranking = match (kb, &text) {
            (Some(kb), Some(t)) => kb.model.rank(t),
            _ => Default::default(),
        };
        let best = ranking.best().filter(|b| b.score > 0.0);
        let section = best
            .filter(|b| b.score >= threshold)
            .and_then(|b| kb.and_then(|kb| kb.section(&b.label)).map(|s| (s, b.score)));
        match section {
            Some((s, score)) => {
                self.conditions.push((
                    "knowledge".into(),
                    format!("{knowledge}: {} {score:.2}", s.heading),
                ));
                self.metric(
                    "knowledge_answered",
                    &[("knowledge", knowledge), ("section", &s.heading)],
                );
                self.send(
                    OutMessage::Text {
                        body: s.body.clone(),
                    },
                    true,
                );
                None
            }
            None => {
                let why = match best {
                    Some(b) => format!(
                        "{knowledge}: no section above {threshold:.2} (best {} {:.2})",
                        b.label, b.score
                    ),
                    None => format!("{knowledge}: no section matches"),
                };
                self.conditions.push(("knowledge".into(), why));
                self.metric("knowledge_unanswered", &[("knowledge", knowledge)]);
                fallback
            }
        }
    }

    /// Sends an AI request and suspends the handler; `Err(pc)` when it cannot be sent
    /// (no text to decide on, unknown endpoint) and the fallback should run instead.
    pub(super) fn ask_ai(
        &mut self,
        r: HandlerRef,
        resume: usize,
        ask: AiAsk<'_>,
    ) -> Result<Next, Option<usize>> {
        let AiAsk {
            ai,
            purpose,
            instructions,
            choices,
            fallback,
        } = ask;
        let p = self.p;
        let (Some(endpoint), Some(text), Some(msg)) =
            (p.ais.get(ai), self.message_text(), self.msg.clone())
        else {
            self.conditions
                .push(("ai".into(), format!("{ai}: nothing to ask about")));
            return Err(fallback);
        };
        if choices.is_empty() {
            self.conditions
                .push(("ai".into(), format!("{ai}: no choices to pick from")));
            return Err(fallback);
        }
        let system = self.system_prompt(&purpose, instructions, &choices);
        let request_id = self.next_id("ai");
        self.emit(EffectKind::AskAi {
            request_id: request_id.clone(),
            ai: ai.to_string(),
            url: endpoint.url.clone(),
            model: endpoint.model.clone(),
            key_env: endpoint.key_env.clone(),
            timeout_secs: endpoint.timeout_secs,
            retries: endpoint.retries,
            system,
            user: text,
            choices: choices.clone(),
        });
        // The engine's own deadline covers every attempt and a short pause between them.
        let retries = i64::from(endpoint.retries);
        let deadline = endpoint
            .timeout_secs
            .saturating_mul(retries + 1)
            .saturating_add(retries * 2);
        if let Some(at) = self.at(deadline) {
            let id = format!("ai/{request_id}");
            self.s.timers.insert(
                id.clone(),
                Timer {
                    at,
                    target: TimerTarget::AiTimeout {
                        request_id: request_id.clone(),
                    },
                },
            );
            self.emit(EffectKind::StartTimer { id, at });
        }
        if let Some(card) = self.s.card.as_mut() {
            card.suspended = Some(Suspension::Ai {
                handler: r,
                resume,
                fallback,
                request_id,
                purpose,
                choices,
                message: msg,
            });
        }
        Ok(Next::Suspended)
    }

    fn system_prompt(
        &self,
        purpose: &AiPurpose,
        instructions: Option<&str>,
        choices: &[String],
    ) -> String {
        let mut out = String::new();
        if let Some(i) = instructions {
            out.push_str(i.trim());
            out.push_str("\n\n");
        }
        match purpose {
            AiPurpose::Classify => {
                out.push_str(
                    "Classify the customer's message into exactly one of these intents.\n",
                );
                for c in choices {
                    out.push_str(&format!("- {c}"));
                    let examples: Vec<String> = self
                        .p
                        .intents
                        .model
                        .examples_of(c)
                        .take(PROMPT_EXAMPLES)
                        .map(|e| format!("{e:?}"))
                        .collect();
                    if !examples.is_empty() {
                        out.push_str(&format!(" (e.g. {})", examples.join(", ")));
                    }
                    out.push('\n');
                }
            }
            AiPurpose::Answer { .. } => {
                out.push_str(
                    "Pick the one section of our help text that answers the customer's message.\nSections:\n",
                );
                for c in choices {
                    out.push_str(&format!("- {c}\n"));
                }
            }
        }
        out.push_str(&format!(
            "Answer with the name exactly as listed and nothing else. If none fits, answer {NONE_ANSWER}."
        ));
        out
    }

    /// The model's answer (or failure) for a waiting AI step.
    pub(super) fn ai_result(&mut self, request_id: &str, result: &AiResult) {
        let Some(Suspension::Ai {
            request_id: waiting,
            handler,
            resume,
            fallback,
            purpose,
            choices,
            message,
        }) = self.s.card.as_ref().and_then(|c| c.suspended.clone())
        else {
            // Nothing waits (the conversation moved on, or a person took it): the answer
            // is recorded by the caller and otherwise ignored. The bot stays silent.
            self.metric("ai_ignored", &[]);
            return;
        };
        if waiting != request_id {
            return;
        }
        self.clear_suspension();
        let ai = self.ai_name(handler, resume);
        self.msg = Some(message);
        self.verdict = None;
        match result {
            AiResult::Answered { raw } => {
                self.history(Who::System, format!("ai {ai} answered {raw:?}"));
                match pick(raw, &choices) {
                    Some(choice) => {
                        self.set_handler_trace(
                            handler,
                            vec![("ai".into(), format!("{ai} answered {raw:?}"))],
                        );
                        self.metric("ai_answered", &[("ai", &ai)]);
                        self.ai_picked(handler, resume, fallback, &purpose, &choice);
                    }
                    None => {
                        self.ai_failed(
                            handler,
                            fallback,
                            &ai,
                            &format!("answer outside the choices: {raw:?}"),
                        );
                    }
                }
            }
            AiResult::Failed { reason } => {
                self.history(Who::System, format!("ai {ai} failed: {reason}"));
                self.ai_failed(handler, fallback, &ai, reason);
            }
        }
        self.replay_held();
    }

    /// The endpoint named by the instruction before `resume`, for traces.
    fn ai_name(&self, _handler: HandlerRef, resume: usize) -> String {
        match resume.checked_sub(1).and_then(|pc| self.p.code.get(pc)) {
            Some(crate::compile::Instr::Classify { ai, .. }) => ai.clone(),
            Some(crate::compile::Instr::Answer { ai: Some(ai), .. }) => ai.clone(),
            _ => "ai".into(),
        }
    }

    fn ai_picked(
        &mut self,
        handler: HandlerRef,
        resume: usize,
        fallback: Option<usize>,
        purpose: &AiPurpose,
        choice: &str,
    ) {
        match purpose {
            AiPurpose::Answer { knowledge } => {
                let section = self
                    .p
                    .knowledge
                    .get(knowledge)
                    .and_then(|kb| kb.section(choice))
                    .map(|s| s.body.clone());
                let Some(body) = section else {
                    self.ai_failed(handler, fallback, knowledge, "the section is gone");
                    return;
                };
                self.conditions
                    .push(("knowledge".into(), format!("{knowledge}: {choice}")));
                self.metric(
                    "knowledge_answered",
                    &[("knowledge", knowledge), ("section", choice)],
                );
                self.send(OutMessage::Text { body }, true);
                let next = self.exec(handler, resume);
                self.drive(next);
            }
            AiPurpose::Classify => {
                // The pick runs the first `on intent` handler that lists it and whose
                // guard holds, `anywhere` first; the `classify` handler ends here.
                let Some(sid) = self.stage_id() else { return };
                let p = self.p;
                let anywhere = (0..p.anywhere.len()).map(HandlerRef::Anywhere);
                let own = (0..p.stages.get(sid).map_or(0, |s| s.handlers.len()))
                    .map(|i| HandlerRef::Stage(sid, i));
                let mut taken = None;
                for r in anywhere.chain(own) {
                    let Some(h) = p.handler(r) else { continue };
                    let Trigger::Intent(names) = &h.trigger else {
                        continue;
                    };
                    if !names.iter().any(|n| n == choice) {
                        continue;
                    }
                    let before = std::mem::take(&mut self.conditions);
                    let mut conds = vec![("intent".to_string(), format!("{choice} (ai)"))];
                    if let Some(g) = &h.guard {
                        if !self.eval(g).is_true() {
                            self.conditions = before;
                            continue;
                        }
                        conds.append(&mut self.conditions);
                    }
                    let mut all = before;
                    all.extend(conds);
                    taken = Some((r, all));
                    break;
                }
                match taken {
                    Some((r, conds)) => self.start(r, conds),
                    None => self.ai_failed(
                        handler,
                        fallback,
                        choice,
                        "no `on intent` handler takes the pick",
                    ),
                }
            }
        }
    }

    /// A failed, late or unusable answer: the `else` block, or an error and a handoff.
    pub(super) fn ai_failed(
        &mut self,
        handler: HandlerRef,
        fallback: Option<usize>,
        ai: &str,
        reason: &str,
    ) {
        self.set_handler_trace(
            handler,
            vec![("ai".into(), format!("{ai} failed: {reason}"))],
        );
        self.metric("ai_failed", &[("reason", reason)]);
        match fallback {
            Some(pc) => {
                let next = self.exec(handler, pc);
                self.drive(next);
            }
            None => {
                self.emit(EffectKind::Error {
                    message: format!("ai step failed ({reason}) and the script has no `else`"),
                });
                self.handoff(None);
            }
        }
    }
}

/// The choice a raw answer names: trimmed of quotes, backticks, a trailing full stop and
/// case and accents, it must equal one choice. Anything else is outside the choices.
pub fn pick(raw: &str, choices: &[String]) -> Option<String> {
    let t = raw
        .trim()
        .trim_matches(|c: char| matches!(c, '"' | '\'' | '`' | '*' | '.') || c.is_whitespace());
    if t.is_empty() || t.len() > 400 {
        return None;
    }
    let folded = fold_answer(t);
    choices.iter().find(|c| fold_answer(c) == folded).cloned()
}

#[cfg(test)]
mod tests {
    use super::pick;

    #[test]
    fn picks_only_a_listed_choice() {
        let choices = vec!["refund".to_string(), "Delivery status".to_string()];
        assert_eq!(pick(" \"Refund\".\n", &choices).as_deref(), Some("refund"));
        assert_eq!(
            pick("`delivery STATUS`", &choices).as_deref(),
            Some("Delivery status")
        );
        assert_eq!(pick("none", &choices), None);
        assert_eq!(pick("refund, I think", &choices), None);
        assert_eq!(pick("", &choices), None);
    }
}
