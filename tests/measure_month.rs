//! A month of traffic with known ground truth: about 10,000 conversations through
//! `examples/claims_desk.flow` — drop-offs in the menu, at the question and in the form,
//! invalid answers, failed policy lookups, handoffs, re-routes, late replies over nights,
//! weekends, a holiday and a daylight-saving change, reopened cards — are driven through
//! the engine on one virtual clock. Every number of the report must equal the truth this
//! test computes on its own, from what it planned, with its own business-hours
//! arithmetic and its own aggregation.

#[path = "support/engine.rs"]
mod engine_support;
#[path = "support/month.rs"]
mod month;

use jiff::Timestamp;
use month::*;
use std::collections::BTreeMap;
use wafl::compile::{Program, SlaTarget, Value};
use wafl::engine::{AgentAction, Event, Inbound, InboundMessage, Suspension, WebhookResult};
use wafl::measure::{
    self, AskFunnel, CallStats, Clarifications, Counts, FormFunnel, Percentiles, Period, Routing,
    ScreenStep, SlaStats, StageFunnel, Times, VersionReport,
};
use wafl::testrun::sim::Sim;

// ---------------------------------------------------------------------------------------
// Driving the engine.
// ---------------------------------------------------------------------------------------

fn ts(s: i64) -> Timestamp {
    Timestamp::from_second(s).expect("instant")
}

fn deliver(sim: &mut Sim, program: &Program, contact: &str, act: &Act) {
    let inbound = |message| {
        Event::Inbound(Inbound {
            profile_name: None,
            message,
        })
    };
    let ev = match act {
        Act::Text(s) => Event::Inbound(Inbound::text(*s)),
        Act::Tap(s) => inbound(InboundMessage::Button(s.to_string())),
        Act::CallResult(ok) => {
            let call_id = match sim
                .state(contact)
                .and_then(|s| s.card.as_ref())
                .and_then(|c| c.suspended.clone())
            {
                Some(Suspension::Call { call_id, .. }) => call_id,
                other => panic!("{contact}: expected a waiting call, found {other:?}"),
            };
            let result = if *ok {
                WebhookResult::Ok {
                    body: serde_json::json!({"holder": "Dana Reyes"}),
                }
            } else {
                WebhookResult::Failed {
                    reason: "HTTP 503".into(),
                }
            };
            Event::WebhookResult { call_id, result }
        }
        Act::Screen(s) => Event::FormScreen {
            form: "claim".into(),
            screen: s.clone(),
        },
        Act::FormRefused => Event::FormRefused {
            form: "claim".into(),
            fields: vec!["amount".into()],
        },
        Act::Submit => {
            let mut values = BTreeMap::new();
            values.insert("kind".to_string(), Value::Str("Theft".into()));
            values.insert("amount".to_string(), Value::Num(1200.0));
            inbound(InboundMessage::Form {
                form: "claim".into(),
                values,
            })
        }
        Act::AgentReply => Event::Agent(AgentAction::Reply {
            agent: "ana@harbor.example".into(),
            text: "Looking into it.".into(),
        }),
        Act::AgentRoute(team) => Event::Agent(AgentAction::Reassign {
            agent: None,
            team: Some(team.to_string()),
        }),
        Act::AgentResolve => Event::Agent(AgentAction::Resolve { reason: None }),
    };
    sim.deliver(program, contact, &ev);
}

// ---------------------------------------------------------------------------------------
// The expected report, aggregated here from the truths.
// ---------------------------------------------------------------------------------------

fn pct(mut v: Vec<i64>) -> Percentiles {
    v.sort_unstable();
    let at = |p: usize| -> Option<i64> {
        if v.is_empty() {
            return None;
        }
        let rank = ((p * v.len()) as f64 / 100.0).ceil().max(1.0) as usize;
        v.get(rank - 1).copied()
    };
    Percentiles {
        count: v.len() as u64,
        p50: at(50),
        p90: at(90),
    }
}

fn ratio(n: u64, d: u64) -> Option<f64> {
    if d == 0 {
        None
    } else {
        Some(n as f64 / d as f64)
    }
}

fn expected(truths: &[Truth]) -> VersionReport {
    let n = |f: &dyn Fn(&Truth) -> bool| truths.iter().filter(|t| f(t)).count() as u64;
    let resolved = |t: &Truth| matches!(t.closed, Some((_, _, By::Rule | By::Agent)));
    let cards = truths.len() as u64;
    let closed = n(&|t| t.closed.is_some());
    let resolved_n = n(&resolved);
    let handed_off = n(&|t| t.handed_off);
    let without_human = n(&|t| resolved(t) && !t.human);
    let reopened = n(&|t| t.closed.is_some() && t.reopened);
    let counts = Counts {
        cards,
        closed,
        open: cards - closed,
        resolved: resolved_n,
        abandoned: n(&|t| matches!(t.closed, Some((_, _, By::Timer)))),
        handed_off,
        handoff_rate: ratio(handed_off, cards),
        resolved_without_human: without_human,
        automation_rate: ratio(without_human, resolved_n),
        reopened_within_7d: reopened,
        reopen_rate: ratio(reopened, closed),
        template_fallbacks: truths.iter().map(|t| u64::from(t.fallbacks)).sum(),
    };

    // The funnel, stages in the order they first appear.
    let mut funnel: Vec<StageFunnel> = Vec::new();
    let mut stage_times: Vec<Vec<i64>> = Vec::new();
    for t in truths {
        let mut seen = Vec::new();
        for (k, (stage, enter, leave, to)) in t.visits.iter().enumerate() {
            let i = match funnel.iter().position(|f| f.stage == *stage) {
                Some(i) => i,
                None => {
                    funnel.push(StageFunnel {
                        stage: stage.to_string(),
                        ..StageFunnel::default()
                    });
                    stage_times.push(Vec::new());
                    funnel.len() - 1
                }
            };
            let f = &mut funnel[i];
            f.entered += 1;
            if !seen.contains(&i) {
                seen.push(i);
                f.cards += 1;
            }
            match (leave, to) {
                (None, _) => f.still_there += 1,
                (Some(l), Some(to)) => {
                    stage_times[i].push(l - enter);
                    *f.moved_on.entry(to.to_string()).or_default() += 1;
                }
                (Some(l), None) => {
                    stage_times[i].push(l - enter);
                    assert_eq!(k, t.visits.len() - 1);
                    let (_, reason, by) = t.closed.expect("a stay ends with the card closing");
                    *f.closed.entry(reason.to_string()).or_default() += 1;
                    if by == By::Timer {
                        f.abandoned += 1;
                    }
                }
            }
        }
    }
    for (f, v) in funnel.iter_mut().zip(stage_times) {
        f.time_in_stage = pct(v);
    }

    let mut asks: Vec<AskFunnel> = Vec::new();
    for t in truths {
        for a in &t.asks {
            let i = match asks.iter().position(|f| f.stage == a.stage) {
                Some(i) => i,
                None => {
                    asks.push(AskFunnel {
                        stage: a.stage.to_string(),
                        field: "policy".into(),
                        ..AskFunnel::default()
                    });
                    asks.len() - 1
                }
            };
            let f = &mut asks[i];
            f.cards += 1;
            if a.answered {
                f.answered += 1;
            } else {
                f.dropped += 1;
            }
            f.refused_answers += u64::from(a.refused);
            f.gave_up += u64::from(a.gave_up);
            assert_eq!(a.asked, 1);
        }
    }

    let mut forms: Vec<FormFunnel> = Vec::new();
    if truths
        .iter()
        .any(|t| t.form.sent || t.form.refused > 0 || !t.form.screens.is_empty())
    {
        let mut f = FormFunnel {
            form: "claim".into(),
            ..FormFunnel::default()
        };
        for t in truths {
            for s in &t.form.screens {
                if !f.screens.iter().any(|x| x.screen == *s) {
                    f.screens.push(ScreenStep {
                        screen: s.clone(),
                        ..ScreenStep::default()
                    });
                }
            }
        }
        for t in truths {
            let fm = &t.form;
            if !(fm.sent || fm.submitted || fm.refused > 0 || !fm.screens.is_empty()) {
                continue;
            }
            f.sent += u64::from(fm.sent);
            f.submitted += u64::from(fm.submitted);
            f.refused += u64::from(fm.refused);
            let mut furthest = None;
            for s in &fm.screens {
                let k = f
                    .screens
                    .iter()
                    .position(|x| x.screen == *s)
                    .expect("screen");
                f.screens[k].reached += 1;
                furthest = Some(furthest.map_or(k, |m: usize| m.max(k)));
            }
            if fm.sent && !fm.submitted {
                match furthest {
                    Some(k) => f.screens[k].dropped += 1,
                    None => f.dropped_before_screens += 1,
                }
            }
        }
        forms.push(f);
    }

    let mut routing = Routing::default();
    for t in truths {
        let Some(first) = t.first_team else { continue };
        routing.routed += 1;
        let e = routing.by_first_team.entry(first.to_string()).or_default();
        e.routed += 1;
        if t.reroutes > 0 {
            routing.rerouted += 1;
            e.rerouted += 1;
        }
        routing.reroutes += u64::from(t.reroutes);
    }
    routing.accuracy = ratio(routing.routed - routing.rerouted, routing.routed);

    let sum = |f: &dyn Fn(&Truth) -> u32| truths.iter().map(|t| u64::from(f(t))).sum::<u64>();
    let (refused, otherwise, repeated) = (
        sum(&|t| t.refused),
        sum(&|t| t.otherwise),
        sum(&|t| t.repeated),
    );
    let clarifications = Clarifications {
        refused_answers: refused,
        otherwise_hits: otherwise,
        repeated_questions: repeated,
        unanswered: 0,
        per_card: ratio(refused + otherwise + repeated, cards),
    };

    let col = |f: &dyn Fn(&Truth) -> Option<i64>| pct(truths.iter().filter_map(f).collect());
    let times = Times {
        first_response: col(&|t| t.first_response.map(|d| d.0)),
        first_response_business: col(&|t| t.first_response.and_then(|d| d.1)),
        resolution: col(&|t| t.resolution.map(|d| d.0)),
        resolution_business: col(&|t| t.resolution.and_then(|d| d.1)),
        after_form: col(&|t| match (t.first_form, t.closed) {
            (Some(f), Some((c, _, _))) => Some(c - f),
            _ => None,
        }),
    };

    let mut slas = Vec::new();
    for (target, pick) in [
        (
            SlaTarget::FirstReply,
            (|t: &Truth| t.fr) as fn(&Truth) -> Option<St>,
        ),
        (SlaTarget::Resolution, |t: &Truth| t.res),
    ] {
        let met = truths.iter().filter(|t| pick(t) == Some(St::Met)).count() as u64;
        let breached = truths
            .iter()
            .filter(|t| pick(t) == Some(St::Breached))
            .count() as u64;
        slas.push(SlaStats {
            sla: "claims_desk".into(),
            target,
            met,
            breached,
            attainment: ratio(met, met + breached),
        });
    }

    let calls_n: u64 = truths.iter().map(|t| t.calls.len() as u64).sum();
    let failed: u64 = truths
        .iter()
        .map(|t| t.calls.iter().filter(|ok| !**ok).count() as u64)
        .sum();
    VersionReport {
        script: SCRIPT.into(),
        counts,
        funnel,
        asks,
        forms,
        routing,
        clarifications,
        times,
        slas,
        calls: vec![CallStats {
            webhook: "policies".into(),
            calls: calls_n,
            failed,
            failure_rate: ratio(failed, calls_n),
        }],
    }
}

#[test]
fn a_month_of_traffic_reports_exactly_what_happened() {
    let src = std::fs::read_to_string("examples/claims_desk.flow").expect("example");
    let program = engine_support::program(&src);
    let tz = tz();
    let month_start = tz
        .to_timestamp(jiff::civil::date(2026, 3, 1).at(0, 0, 0, 0))
        .expect("start")
        .as_second();
    let month = 31 * DAY;
    let mut rng = Rng(0x5eed_cafe_f00d_0001);

    // Plan every conversation; some contacts come back after their card closed.
    let mut plans: Vec<Plan> = Vec::new();
    let mut queue: Vec<(String, u64, i64)> = (0..9_650)
        .map(|i| {
            (
                format!("+1555{i:07}"),
                1,
                month_start + rng.secs(0, month - 1),
            )
        })
        .collect();
    while let Some((contact, card, start)) = queue.pop() {
        let plan = plan_conversation(&mut rng, &contact, card, start, &tz);
        if let Some((closed_at, _, by)) = plan.truth.closed
            && by != By::Timer
            && rng.chance(0.06)
        {
            queue.push((
                contact.clone(),
                card + 1,
                closed_at + rng.secs(DAY, 10 * DAY),
            ));
        }
        plans.push(plan);
    }
    // A returning contact's earlier card was reopened when the gap is at most 7 days.
    let mut closes: BTreeMap<(String, u64), i64> = BTreeMap::new();
    for p in &plans {
        if let Some((at, _, _)) = p.truth.closed {
            closes.insert((p.truth.contact.clone(), p.truth.card), at);
        }
    }
    let reopened: Vec<(String, u64)> = plans
        .iter()
        .filter(|p| p.truth.card > 1)
        .filter_map(|p| {
            let key = (p.truth.contact.clone(), p.truth.card - 1);
            let closed = closes.get(&key)?;
            (p.truth.opened - closed <= 7 * DAY).then_some(key)
        })
        .collect();
    for p in &mut plans {
        if reopened.contains(&(p.truth.contact.clone(), p.truth.card)) {
            p.truth.reopened = true;
        }
    }
    assert!(
        plans.len() >= 9_950,
        "about 10,000 conversations: {}",
        plans.len()
    );

    // Every action of every conversation, in time order, on one clock.
    let mut acts: Vec<(i64, usize, usize)> = Vec::new();
    for (pi, p) in plans.iter().enumerate() {
        for (ai, (at, _)) in p.acts.iter().enumerate() {
            acts.push((*at, pi, ai));
        }
    }
    acts.sort();
    let mut sim = Sim::new(ts(month_start), SCRIPT);
    sim.max_timers = usize::MAX;
    for (at, pi, ai) in &acts {
        sim.advance_to(&program, ts(*at), |_, _| {});
        let p = &plans[*pi];
        deliver(&mut sim, &program, &p.truth.contact, &p.acts[*ai].1);
    }
    let end = acts.last().map_or(month_start, |a| a.0) + 60 * DAY;
    sim.advance_to(&program, ts(end), |_, _| {});
    let events = sim.take_events();
    assert!(events.len() > 100_000, "{} events", events.len());

    // The truths in the order the cards opened (ties broken as the clock broke them).
    let truths: Vec<Truth> = acts
        .iter()
        .filter(|(_, _, ai)| *ai == 0)
        .map(|(_, pi, _)| plans[*pi].truth.clone())
        .collect();

    let report = measure::report(&events, Period::all());
    if std::env::var("SHOW").is_ok() {
        eprintln!("{}", measure::render::table(&report));
        eprintln!("{} events, {} cards", events.len(), truths.len());
    }
    assert_eq!(report.versions.len(), 1);
    let got = &report.versions[0];
    let want = expected(&truths);
    // Section by section, so a difference is easy to read.
    assert_eq!(got.counts, want.counts, "counts");
    assert_eq!(got.funnel, want.funnel, "stage funnel");
    assert_eq!(got.asks, want.asks, "asks");
    assert_eq!(got.forms, want.forms, "forms");
    assert_eq!(got.routing, want.routing, "routing");
    assert_eq!(got.clarifications, want.clarifications, "clarifications");
    assert_eq!(got.times, want.times, "times");
    assert_eq!(got.slas, want.slas, "service levels");
    assert_eq!(got.calls, want.calls, "webhook calls");
    assert_eq!(*got, want);

    // The mix is what the month was meant to hold.
    let c = &want.counts;
    assert!(
        c.abandoned > 500 && c.handed_off > 1_000 && c.open > 50,
        "{c:?}"
    );
    assert!(want.routing.rerouted > 300 && want.clarifications.repeated_questions > 50);
    assert!(
        c.template_fallbacks > 100 && c.reopened_within_7d > 100,
        "{c:?}"
    );
    assert!(
        want.slas.iter().all(|s| s.met > 100 && s.breached > 100),
        "{:?}",
        want.slas
    );
    assert!(want.forms[0].screens.iter().all(|s| s.dropped > 50));

    // One row per card in the export, the same cards as the report.
    let rows = measure::cards(&events, Period::all());
    assert_eq!(rows.len(), truths.len());
    let csv = measure::render::cards_csv(&rows);
    assert_eq!(csv.lines().count(), truths.len() + 1);
    for (row, t) in rows.iter().zip(&truths) {
        assert_eq!(
            (row.contact.as_str(), row.card),
            (t.contact.as_str(), t.card)
        );
        assert_eq!(row.reopened_within_7d, t.reopened, "{}", t.contact);
        assert_eq!(row.human, t.human, "{} #{}", t.contact, t.card);
    }
}
