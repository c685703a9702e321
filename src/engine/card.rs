//! Cards, stages and timers: opening, entering a stage, arming and cancelling timers,
//! closing and handing off.

use super::run::Run;
use super::state::*;
use crate::compile::{HandlerRef, StageId, Trigger, Value};
use jiff::SignedDuration;

impl Run<'_> {
    pub(super) fn open_card(&mut self) -> bool {
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
            first_reply_at: None,
            slas: Default::default(),
        });
        self.emit(EffectKind::OpenCard {
            card: self.s.cards_opened,
        });
        self.arm_timers(true);
        true
    }

    /// The id of a handler's timer. Hosts deliver timers due at the same instant in the
    /// order of their ids, so ids sort in source order: `anywhere` (`a`) before the
    /// stage's own (`s`), and the handler index with one `~` per extra digit (`s9` <
    /// `s~10` < `s~~100`), which keeps the ids of the first ten handlers as they were.
    pub(super) fn timer_id(stage: &str, kind: &str, h: HandlerRef) -> String {
        fn index(i: usize) -> String {
            let digits = i.to_string();
            format!("{}{digits}", "~".repeat(digits.len() - 1))
        }
        match h {
            HandlerRef::Anywhere(i) => format!("{stage}/{kind}/a{}", index(i)),
            HandlerRef::Stage(_, i) => format!("{stage}/{kind}/s{}", index(i)),
            HandlerRef::Sla(s, t) => format!("{stage}/{kind}/sla{s}.{t}"),
        }
    }

    /// Starts the silence timers of the current stage from now; with `in_stage`, also
    /// its `after ... in stage` timers, from the moment the stage was entered.
    pub(super) fn arm_timers(&mut self, in_stage: bool) {
        let Some(sid) = self.stage_id() else { return };
        let Some(stage) = self.p.stages.get(sid) else {
            return;
        };
        let entered = self
            .s
            .card
            .as_ref()
            .map_or(self.now, |c| c.stage_entered_at);
        let refs = self
            .p
            .anywhere_index
            .timers
            .iter()
            .map(|&i| HandlerRef::Anywhere(i))
            .chain(
                stage
                    .index
                    .timers
                    .iter()
                    .map(|&i| HandlerRef::Stage(sid, i)),
            );
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
                handler: Some(h.key.clone()),
                conditions: Vec::new(),
            };
            self.effects.push(Effect {
                kind: EffectKind::StartTimer { id, at },
                trace,
            });
        }
    }

    /// Cancels the stage timers (and, with `all`, a waiting call's timeout too).
    /// Service-level timers run on: their targets settle them (`sla.rs`).
    pub(super) fn cancel_timers(&mut self, all: bool) {
        let ids: Vec<String> = self
            .s
            .timers
            .iter()
            .filter(|(_, t)| match t.target {
                TimerTarget::Handler { .. } => true,
                TimerTarget::CallTimeout { .. } | TimerTarget::AiTimeout { .. } => all,
                TimerTarget::Sla { .. } => false,
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            self.s.timers.remove(&id);
            self.emit(EffectKind::CancelTimer { id });
        }
    }

    pub(super) fn clear_suspension(&mut self) {
        let timer = match self.s.card.as_mut().and_then(|c| c.suspended.take()) {
            Some(Suspension::Call { call_id, .. }) => Some(format!("call/{call_id}")),
            Some(Suspension::Ai { request_id, .. }) => Some(format!("ai/{request_id}")),
            _ => None,
        };
        if let Some(id) = timer
            && self.s.timers.remove(&id).is_some()
        {
            self.emit(EffectKind::CancelTimer { id });
        }
    }

    pub(super) fn change_stage(&mut self, to: StageId) {
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

    pub(super) fn close(&mut self, reason: Option<String>) {
        self.sla_closing();
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
                handler: self.handler.clone(),
                conditions: self.conditions.clone(),
            },
        });
    }

    pub(super) fn handoff(&mut self, team: Option<String>) {
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

    /// A person takes the card: what the automation was doing stops (timers, a waiting
    /// step, messages held for it) and it stays silent until the card is released; the
    /// card is assigned to that person.
    pub(super) fn take_over(&mut self, agent: &str) {
        let Some(card) = self.s.card.as_ref() else {
            return;
        };
        if card.status == CardStatus::Open {
            let team = card.team.clone();
            self.clear_suspension();
            self.cancel_timers(true);
            if let Some(card) = self.s.card.as_mut() {
                card.status = CardStatus::Handoff;
                card.held.clear();
            }
            self.emit(EffectKind::Handoff { team });
        }
        if let Some(card) = self.s.card.as_mut()
            && card.agent.as_deref() != Some(agent)
        {
            card.agent = Some(agent.to_string());
            self.emit(EffectKind::Assign {
                agent: agent.to_string(),
            });
        }
    }

    pub(super) fn set_field(&mut self, name: &str, value: Value) {
        if let Some(card) = self.s.card.as_mut() {
            card.fields.insert(name.to_string(), value.clone());
        }
        self.emit(EffectKind::SetField {
            field: name.to_string(),
            value,
        });
    }
}
