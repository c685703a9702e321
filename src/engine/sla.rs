//! Service levels on a card: started when the card reaches one of a service level's teams
//! (when it opens, for those without teams), met by a person's first reply or by the
//! card's closing, breached by their timer — which runs the target's `else`, even while
//! a person owns the card.

use super::hours;
use super::run::Run;
use super::state::*;
use crate::compile::{HandlerRef, SlaTarget};
use jiff::{SignedDuration, Timestamp};

impl Run<'_> {
    /// The timer id of a target.
    fn sla_timer_id(sla: &str, target: SlaTarget) -> String {
        let t = match target {
            SlaTarget::FirstReply => "first_reply",
            SlaTarget::Resolution => "resolution",
        };
        format!("sla/{sla}/{t}")
    }

    /// At the end of a step: starts the service levels that now cover the card, and stops
    /// those whose teams the card has left.
    pub(super) fn sla_sweep(&mut self) {
        let p = self.p;
        if p.slas.is_empty() {
            return;
        }
        for sla in &p.slas {
            let Some(card) = self.s.card.as_ref() else {
                return;
            };
            let covered = sla.covers(card.team.as_deref());
            match card.slas.get(&sla.name) {
                Some(_) if !covered => self.sla_stop(&sla.name, None, "the card left its teams"),
                Some(_) => {}
                None if covered => self.sla_start(sla),
                None => {}
            }
        }
    }

    fn sla_start(&mut self, sla: &crate::compile::Sla) {
        let p = self.p;
        let now = self.now;
        // No rule starts a service level: the card reaching a team does.
        self.handler = None;
        self.span = crate::syntax::span::Span::default();
        self.conditions.clear();
        let team_hours = self
            .s
            .card
            .as_ref()
            .and_then(|c| c.team.as_ref())
            .and_then(|t| p.teams.get(t))
            .and_then(|t| t.hours);
        let mut targets = Vec::new();
        for t in &sla.targets {
            let hours = t.inside.or(team_hours).and_then(|i| p.hours.get(i));
            let due = match hours {
                Some(h) => hours::add_open(h, now, t.within),
                None => now.checked_add(SignedDuration::from_secs(t.within)).ok(),
            };
            targets.push(SlaTargetState {
                target: t.measure,
                hours: hours.map(|h| h.name.clone()),
                due,
                status: SlaStatus::Running,
                settled_at: None,
            });
        }
        if let Some(card) = self.s.card.as_mut() {
            card.slas.insert(
                sla.name.clone(),
                SlaClock {
                    started_at: now,
                    targets: targets.clone(),
                },
            );
        }
        for t in targets {
            if let Some(at) = t.due {
                let id = Self::sla_timer_id(&sla.name, t.target);
                self.s.timers.insert(
                    id.clone(),
                    Timer {
                        at,
                        target: TimerTarget::Sla {
                            sla: sla.name.clone(),
                            target: t.target,
                        },
                    },
                );
                self.emit(EffectKind::StartTimer { id, at });
            }
            self.emit(EffectKind::Fact(Fact::SlaStarted {
                sla: sla.name.clone(),
                target: t.target,
                due: t.due,
            }));
        }
    }

    /// Settles the running targets of one kind (all kinds with `None`) as `status`.
    fn sla_settle(&mut self, only: Option<SlaTarget>, status: SlaStatus, reason: &str) {
        let names: Vec<String> = self
            .s
            .card
            .as_ref()
            .map(|c| c.slas.keys().cloned().collect())
            .unwrap_or_default();
        for name in names {
            self.sla_settle_one(&name, only, status, reason);
        }
    }

    fn sla_stop(&mut self, name: &str, only: Option<SlaTarget>, reason: &str) {
        self.sla_settle_one(name, only, SlaStatus::Stopped, reason);
    }

    fn sla_settle_one(
        &mut self,
        name: &str,
        only: Option<SlaTarget>,
        status: SlaStatus,
        reason: &str,
    ) {
        let now = self.now;
        let p = self.p;
        let mut settled: Vec<(SlaTarget, Timestamp, Option<String>)> = Vec::new();
        if let Some(clock) = self.s.card.as_mut().and_then(|c| c.slas.get_mut(name)) {
            for t in &mut clock.targets {
                if t.status != SlaStatus::Running || only.is_some_and(|o| o != t.target) {
                    continue;
                }
                t.status = status;
                t.settled_at = Some(now);
                settled.push((t.target, clock.started_at, t.hours.clone()));
            }
        }
        for (target, started, hours_name) in settled {
            let id = Self::sla_timer_id(name, target);
            if self.s.timers.remove(&id).is_some() {
                self.emit(EffectKind::CancelTimer { id });
            }
            let fact = match status {
                SlaStatus::Met => {
                    let business = hours_name
                        .and_then(|h| p.hours_ids.get(&h))
                        .and_then(|i| p.hours.get(*i))
                        .map(|h| hours::open_seconds(h, started, now));
                    Fact::SlaMet {
                        sla: name.to_string(),
                        target,
                        wall_secs: now.as_second().saturating_sub(started.as_second()),
                        business_secs: business,
                    }
                }
                _ => Fact::SlaStopped {
                    sla: name.to_string(),
                    target,
                    reason: reason.to_string(),
                },
            };
            self.emit(EffectKind::Fact(fact));
        }
    }

    /// A person's first reply since each service level started meets its first-reply target.
    pub(super) fn sla_replied(&mut self) {
        self.sla_settle(Some(SlaTarget::FirstReply), SlaStatus::Met, "");
    }

    /// The card closes: resolution targets are met; first replies that never came no
    /// longer apply.
    pub(super) fn sla_closing(&mut self) {
        self.sla_settle(Some(SlaTarget::Resolution), SlaStatus::Met, "");
        self.sla_settle(
            Some(SlaTarget::FirstReply),
            SlaStatus::Stopped,
            "the card closed before a person replied",
        );
    }

    /// A target's deadline came: breached if it still runs, and its `else` runs.
    pub(super) fn sla_due(&mut self, name: &str, target: SlaTarget) {
        let p = self.p;
        let running = self
            .s
            .card
            .as_ref()
            .and_then(|c| c.slas.get(name))
            .and_then(|c| c.targets.iter().find(|t| t.target == target))
            .is_some_and(|t| t.status == SlaStatus::Running);
        if !running {
            return;
        }
        let now = self.now;
        if let Some(t) = self
            .s
            .card
            .as_mut()
            .and_then(|c| c.slas.get_mut(name))
            .and_then(|c| c.targets.iter_mut().find(|t| t.target == target))
        {
            t.status = SlaStatus::Breached;
            t.settled_at = Some(now);
        }
        self.handler = None;
        self.conditions.clear();
        self.emit(EffectKind::Fact(Fact::SlaBreached {
            sla: name.to_string(),
            target,
        }));
        let Some(i) = p.slas.iter().position(|s| s.name == name) else {
            return;
        };
        let Some(j) = p
            .slas
            .get(i)
            .and_then(|s| s.targets.iter().position(|t| t.measure == target))
        else {
            return;
        };
        let r = HandlerRef::Sla(i, j);
        if p.handler(r).is_some() {
            self.msg = None;
            self.start(
                r,
                vec![(
                    "sla".to_string(),
                    format!("{name} {} breached", target.as_str()),
                )],
            );
        }
    }
}
