//! What a `migrate` rule does to an open card when a new revision is published
//! (`docs/publishing.md`). Publishing is not a conversation event, so nothing here runs
//! a handler: no `on enter`, no message but a rule's own template.
//!
//! - `goto STAGE` moves the card to that stage of the new revision: the question it
//!   waited on is dropped, its timers are cancelled and those of the new stage started
//!   from now, and fields whose values no longer fit their type are unset.
//! - `keep` changes nothing: the card finishes on the revision it started on.
//! - `close ["reason"] [template T(args)]` sends the template (unless the contact opted
//!   out; a template needs no open window) and closes the card.

use super::run::Run;
use super::state::*;
use crate::compile::{MigrateAction, Program, Value};
use crate::syntax::span::Span;
use jiff::Timestamp;

/// Applies a `migrate` rule of `program` (the new revision) to one contact's state.
pub fn migrate_card(
    program: &Program,
    state: &State,
    action: &MigrateAction,
    now: Timestamp,
) -> super::Outcome {
    let mut r = Run {
        p: program,
        s: state.clone(),
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
        event: None,
        cardless: false,
        verdict: None,
    };
    if r.s.card.is_some() {
        r.conditions = vec![("migrate".into(), describe(action))];
        r.migrate(action);
    }
    super::Outcome {
        state: r.s,
        effects: r.effects,
    }
}

fn describe(action: &MigrateAction) -> String {
    match action {
        MigrateAction::Goto(s) => format!("goto {s}"),
        MigrateAction::Keep => "keep".into(),
        MigrateAction::Close { template, .. } => match template {
            Some((t, _)) => format!("close with template {t}"),
            None => "close".into(),
        },
    }
}

impl Run<'_> {
    fn migrate(&mut self, action: &MigrateAction) {
        match action {
            MigrateAction::Keep => {}
            MigrateAction::Goto(stage) => {
                let Some(&to) = self.p.stage_ids.get(stage) else {
                    self.emit(EffectKind::Error {
                        message: format!(
                            "the new revision has no stage `{stage}` to move the card to"
                        ),
                    });
                    return;
                };
                // Old timers and a waiting question point into the old revision.
                self.cancel_timers(true);
                if let Some(card) = self.s.card.as_mut() {
                    card.suspended = None;
                    card.held.clear();
                }
                let stale: Vec<String> = self
                    .s
                    .card
                    .as_ref()
                    .map(|c| {
                        c.fields
                            .iter()
                            .filter(|(name, v)| {
                                self.p
                                    .fields
                                    .get(*name)
                                    .is_some_and(|f| !super::validate::fits(&f.kind, v))
                            })
                            .map(|(name, _)| name.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                for name in stale {
                    if let Some(card) = self.s.card.as_mut() {
                        card.fields.remove(&name);
                    }
                    self.emit(EffectKind::SetField {
                        field: name,
                        value: Value::Null,
                    });
                }
                let open = self
                    .s
                    .card
                    .as_ref()
                    .is_some_and(|c| c.status == CardStatus::Open);
                // `change_stage` starts the new stage's timers only for a card automation
                // runs; a handed-off card gets them when it is released.
                self.change_stage(to);
                if !open {
                    self.cancel_timers(false);
                }
            }
            MigrateAction::Close { reason, template } => {
                if let Some((name, args)) = template {
                    let params = args.iter().map(|a| self.eval(a).to_string()).collect();
                    let msg = self.template(name, params);
                    self.send(msg, true);
                }
                let reason = reason.as_ref().map(|r| self.interp(r));
                self.close(reason);
            }
        }
    }
}
