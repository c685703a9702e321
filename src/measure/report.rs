//! The aggregate report: per script version, the numbers `docs/measurement.md` defines,
//! computed from the per-card rows.

use super::cards::CardRow;
use super::{Period, percentile};
use crate::compile::SlaTarget;
use crate::engine::events::CardEvent;
use jiff::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;

/// A report over a period: one section per script version, in the order the versions
/// first opened a card.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub versions: Vec<VersionReport>,
}

/// Everything about the cards one script version opened.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VersionReport {
    /// The content hash of the script.
    pub script: String,
    pub counts: Counts,
    pub funnel: Vec<StageFunnel>,
    pub asks: Vec<AskFunnel>,
    pub forms: Vec<FormFunnel>,
    pub routing: Routing,
    pub clarifications: Clarifications,
    pub times: Times,
    pub slas: Vec<SlaStats>,
    pub calls: Vec<CallStats>,
}

/// How many cards, and what became of them.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Counts {
    pub cards: u64,
    pub closed: u64,
    pub open: u64,
    /// Closed by a rule or a person (not by the customer going quiet).
    pub resolved: u64,
    /// Closed by an `after` rule.
    pub abandoned: u64,
    pub handed_off: u64,
    /// `handed_off / cards`.
    pub handoff_rate: Option<f64>,
    /// Resolved cards no person acted on.
    pub resolved_without_human: u64,
    /// `resolved_without_human / resolved`.
    pub automation_rate: Option<f64>,
    /// Closed cards whose contact opened another card within 7 days.
    pub reopened_within_7d: u64,
    /// `reopened_within_7d / closed`.
    pub reopen_rate: Option<f64>,
    /// Messages that went as the window template.
    pub template_fallbacks: u64,
}

/// The 50th and 90th percentiles (nearest rank) of some durations, in seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50: Option<i64>,
    pub p90: Option<i64>,
}

impl Percentiles {
    fn of(mut v: Vec<i64>) -> Percentiles {
        v.sort_unstable();
        Percentiles {
            count: v.len() as u64,
            p50: percentile(&v, 50),
            p90: percentile(&v, 90),
        }
    }
}

/// One stage of the funnel: the stays of cards in it and how they ended.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StageFunnel {
    pub stage: String,
    /// Stays in the stage (a card entering twice counts twice).
    pub entered: u64,
    /// Cards that entered it at least once.
    pub cards: u64,
    /// Stays that moved on, by the stage they went to.
    pub moved_on: BTreeMap<String, u64>,
    /// Stays that ended with the card closing here, by close reason (`-` for none), the
    /// abandoned ones included.
    pub closed: BTreeMap<String, u64>,
    /// Stays that ended with an `after` rule closing the card here.
    pub abandoned: u64,
    /// Stays not over yet.
    pub still_there: u64,
    /// How long the stays that are over lasted.
    pub time_in_stage: Percentiles,
}

/// One `ask` (a field in a stage): how many cards were asked, answered, dropped.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AskFunnel {
    pub stage: String,
    pub field: String,
    pub cards: u64,
    pub answered: u64,
    /// Asked and never answered.
    pub dropped: u64,
    /// Answers refused, in all.
    pub refused_answers: u64,
    /// Cards where the `ask` ran out of tries.
    pub gave_up: u64,
}

/// One form: sent, screens reached, submitted.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FormFunnel {
    pub form: String,
    /// Cards it was sent to.
    pub sent: u64,
    /// Its screens in the order customers reached them, with drop-off.
    pub screens: Vec<ScreenStep>,
    /// Cards it was sent to that never submitted it and reported no screen.
    pub dropped_before_screens: u64,
    /// Cards that submitted it.
    pub submitted: u64,
    /// Submissions refused, in all.
    pub refused: u64,
}

/// A form screen: how many cards reached it, and how many stopped there.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ScreenStep {
    pub screen: String,
    pub reached: u64,
    /// Reached it as their last screen and never submitted.
    pub dropped: u64,
}

/// Routing accuracy: how many routed cards had to be routed again.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Routing {
    pub routed: u64,
    /// Cards routed to another team after their first.
    pub rerouted: u64,
    /// Re-routings in all.
    pub reroutes: u64,
    /// `1 - rerouted / routed`.
    pub accuracy: Option<f64>,
    /// By the team a card was first routed to: cards, and how many left it.
    pub by_first_team: BTreeMap<String, TeamRouting>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TeamRouting {
    pub routed: u64,
    pub rerouted: u64,
}

/// Messages that clarified rather than progressed.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Clarifications {
    pub refused_answers: u64,
    pub otherwise_hits: u64,
    pub repeated_questions: u64,
    /// Messages no rule took (not counted in `per_card`).
    pub unanswered: u64,
    /// `(refused_answers + otherwise_hits + repeated_questions) / cards`.
    pub per_card: Option<f64>,
}

/// Durations, in seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Times {
    /// Opening to a person's first reply.
    pub first_response: Percentiles,
    /// The same, counting only the open time of the team's hours.
    pub first_response_business: Percentiles,
    /// Opening to closing.
    pub resolution: Percentiles,
    pub resolution_business: Percentiles,
    /// First form submission to closing.
    pub after_form: Percentiles,
}

/// One service-level target: met, breached, attainment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SlaStats {
    pub sla: String,
    pub target: SlaTarget,
    pub met: u64,
    pub breached: u64,
    /// `met / (met + breached)`.
    pub attainment: Option<f64>,
}

/// One webhook's `call`s.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CallStats {
    pub webhook: String,
    pub calls: u64,
    pub failed: u64,
    /// `failed / calls`.
    pub failure_rate: Option<f64>,
}

fn rate(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

/// The report of the cards opened in the period.
pub fn report(events: &[CardEvent], period: Period) -> Report {
    from_rows(&super::cards(events, period), period)
}

pub(super) fn from_rows(rows: &[CardRow], period: Period) -> Report {
    let mut order: Vec<&str> = Vec::new();
    let mut by_version: BTreeMap<&str, Vec<&CardRow>> = BTreeMap::new();
    for r in rows {
        let v = by_version.entry(r.script.as_str()).or_default();
        if v.is_empty() {
            order.push(&r.script);
        }
        v.push(r);
    }
    Report {
        since: period.since,
        until: period.until,
        versions: order
            .into_iter()
            .map(|s| version(s, by_version.get(s).map_or(&[][..], Vec::as_slice)))
            .collect(),
    }
}

fn version(script: &str, rows: &[&CardRow]) -> VersionReport {
    VersionReport {
        script: script.to_string(),
        counts: counts(rows),
        funnel: funnel(rows),
        asks: asks(rows),
        forms: forms(rows),
        routing: routing(rows),
        clarifications: clarifications(rows),
        times: times(rows),
        slas: slas(rows),
        calls: calls(rows),
    }
}

fn counts(rows: &[&CardRow]) -> Counts {
    let n = |f: &dyn Fn(&CardRow) -> bool| rows.iter().filter(|r| f(r)).count() as u64;
    let cards = rows.len() as u64;
    let closed = n(&|r| r.closed_at.is_some());
    let resolved = n(&|r| r.resolved());
    let handed_off = n(&|r| r.handed_off);
    let resolved_without_human = n(&|r| r.resolved() && !r.human);
    let reopened = n(&|r| r.closed_at.is_some() && r.reopened_within_7d);
    Counts {
        cards,
        closed,
        open: cards - closed,
        resolved,
        abandoned: n(&|r| r.abandoned()),
        handed_off,
        handoff_rate: rate(handed_off, cards),
        resolved_without_human,
        automation_rate: rate(resolved_without_human, resolved),
        reopened_within_7d: reopened,
        reopen_rate: rate(reopened, closed),
        template_fallbacks: rows.iter().map(|r| u64::from(r.template_fallbacks)).sum(),
    }
}

fn funnel(rows: &[&CardRow]) -> Vec<StageFunnel> {
    let mut out: Vec<StageFunnel> = Vec::new();
    let mut at: BTreeMap<&str, usize> = BTreeMap::new();
    let mut times: Vec<Vec<i64>> = Vec::new();
    for r in rows {
        let mut seen: Vec<usize> = Vec::new();
        let last = r.visits.len().saturating_sub(1);
        for (k, v) in r.visits.iter().enumerate() {
            let i = *at.entry(v.stage.as_str()).or_insert_with(|| {
                out.push(StageFunnel {
                    stage: v.stage.clone(),
                    ..StageFunnel::default()
                });
                times.push(Vec::new());
                out.len() - 1
            });
            let Some(f) = out.get_mut(i) else { continue };
            f.entered += 1;
            if !seen.contains(&i) {
                seen.push(i);
                f.cards += 1;
            }
            match (&v.left, &v.to) {
                (None, _) => f.still_there += 1,
                (Some(left), to) => {
                    if let Some(t) = times.get_mut(i) {
                        t.push(left.as_second() - v.entered.as_second());
                    }
                    match to {
                        Some(to) => *f.moved_on.entry(to.clone()).or_default() += 1,
                        None => {
                            // Only the card's last stay can end in its closing.
                            if k == last && r.closed_at.is_some() {
                                let reason = r.close_reason.clone().unwrap_or_else(|| "-".into());
                                *f.closed.entry(reason).or_default() += 1;
                                if r.abandoned() {
                                    f.abandoned += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    for (f, t) in out.iter_mut().zip(times) {
        f.time_in_stage = Percentiles::of(t);
    }
    out
}

fn asks(rows: &[&CardRow]) -> Vec<AskFunnel> {
    let mut out: Vec<AskFunnel> = Vec::new();
    for r in rows {
        for a in &r.asks {
            let i = match out
                .iter()
                .position(|f| f.stage == a.stage && f.field == a.field)
            {
                Some(i) => i,
                None => {
                    out.push(AskFunnel {
                        stage: a.stage.clone(),
                        field: a.field.clone(),
                        ..AskFunnel::default()
                    });
                    out.len() - 1
                }
            };
            let Some(f) = out.get_mut(i) else { continue };
            f.cards += 1;
            if a.answered {
                f.answered += 1;
            } else {
                f.dropped += 1;
            }
            f.refused_answers += u64::from(a.refused);
            if a.gave_up {
                f.gave_up += 1;
            }
        }
    }
    out
}

fn forms(rows: &[&CardRow]) -> Vec<FormFunnel> {
    let mut out: Vec<FormFunnel> = Vec::new();
    for r in rows {
        for t in &r.forms {
            let i = match out.iter().position(|f| f.form == t.form) {
                Some(i) => i,
                None => {
                    out.push(FormFunnel {
                        form: t.form.clone(),
                        ..FormFunnel::default()
                    });
                    out.len() - 1
                }
            };
            let Some(f) = out.get_mut(i) else { continue };
            if t.sent {
                f.sent += 1;
            }
            if t.submitted {
                f.submitted += 1;
            }
            f.refused += u64::from(t.refused);
            for s in &t.screens {
                if !f.screens.iter().any(|x| x.screen == *s) {
                    f.screens.push(ScreenStep {
                        screen: s.clone(),
                        ..ScreenStep::default()
                    });
                }
            }
        }
    }
    // Reached and dropped, now that each form's screen order is known.
    for r in rows {
        for t in &r.forms {
            let Some(f) = out.iter_mut().find(|f| f.form == t.form) else {
                continue;
            };
            let mut furthest: Option<usize> = None;
            for s in &t.screens {
                if let Some(k) = f.screens.iter().position(|x| x.screen == *s) {
                    if let Some(step) = f.screens.get_mut(k) {
                        step.reached += 1;
                    }
                    furthest = Some(furthest.map_or(k, |m: usize| m.max(k)));
                }
            }
            if t.submitted || !t.sent {
                continue;
            }
            match furthest.and_then(|k| f.screens.get_mut(k)) {
                Some(step) => step.dropped += 1,
                None => f.dropped_before_screens += 1,
            }
        }
    }
    out
}

fn routing(rows: &[&CardRow]) -> Routing {
    let mut r = Routing::default();
    for c in rows {
        let Some(first) = &c.first_team else { continue };
        r.routed += 1;
        let t = r.by_first_team.entry(first.clone()).or_default();
        t.routed += 1;
        if c.reroutes > 0 {
            r.rerouted += 1;
            t.rerouted += 1;
        }
        r.reroutes += u64::from(c.reroutes);
    }
    r.accuracy = rate(r.routed - r.rerouted, r.routed);
    r
}

fn clarifications(rows: &[&CardRow]) -> Clarifications {
    let sum = |f: &dyn Fn(&CardRow) -> u32| rows.iter().map(|r| u64::from(f(r))).sum::<u64>();
    let refused_answers = sum(&|r| r.refused_answers);
    let otherwise_hits = sum(&|r| r.otherwise_hits);
    let repeated_questions = sum(&|r| r.repeated_questions);
    Clarifications {
        refused_answers,
        otherwise_hits,
        repeated_questions,
        unanswered: sum(&|r| r.unanswered),
        per_card: rate(
            refused_answers + otherwise_hits + repeated_questions,
            rows.len() as u64,
        ),
    }
}

fn times(rows: &[&CardRow]) -> Times {
    let of = |f: &dyn Fn(&CardRow) -> Option<i64>| {
        Percentiles::of(rows.iter().filter_map(|r| f(r)).collect())
    };
    Times {
        first_response: of(&|r| r.first_response.map(|d| d.wall_secs)),
        first_response_business: of(&|r| r.first_response.and_then(|d| d.business_secs)),
        resolution: of(&|r| r.resolution.map(|d| d.wall_secs)),
        resolution_business: of(&|r| r.resolution.and_then(|d| d.business_secs)),
        after_form: of(&|r| r.after_form_secs),
    }
}

fn slas(rows: &[&CardRow]) -> Vec<SlaStats> {
    let mut acc: BTreeMap<(&str, SlaTarget), (u64, u64)> = BTreeMap::new();
    for r in rows {
        for (sla, target, met) in &r.slas {
            let e = acc.entry((sla.as_str(), *target)).or_default();
            if *met {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
    }
    acc.into_iter()
        .map(|((sla, target), (met, breached))| SlaStats {
            sla: sla.to_string(),
            target,
            met,
            breached,
            attainment: rate(met, met + breached),
        })
        .collect()
}

fn calls(rows: &[&CardRow]) -> Vec<CallStats> {
    let mut acc: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for r in rows {
        for (webhook, ok) in &r.call_results {
            let e = acc.entry(webhook.as_str()).or_default();
            e.0 += 1;
            if !ok {
                e.1 += 1;
            }
        }
    }
    acc.into_iter()
        .map(|(webhook, (calls, failed))| CallStats {
            webhook: webhook.to_string(),
            calls,
            failed,
            failure_rate: rate(failed, calls),
        })
        .collect()
}
