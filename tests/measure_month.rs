//! A month of traffic with known ground truth: about 10,000 conversations through
//! `examples/claims_desk.flow` — drop-offs in the menu, at the question and in the form,
//! invalid answers, failed policy lookups, handoffs, re-routes, late replies over nights,
//! weekends, a holiday and a daylight-saving change, reopened cards — are driven through
//! the engine on one virtual clock. Every number of the report must equal the truth this
//! test computes on its own, from what it planned, with its own business-hours
//! arithmetic and its own aggregation.

#[path = "support/engine.rs"]
mod engine_support;

use jiff::Timestamp;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use std::collections::BTreeMap;
use wafl::compile::{Program, SlaTarget, Value};
use wafl::engine::{AgentAction, Event, Inbound, InboundMessage, Suspension, WebhookResult};
use wafl::measure::{
    self, AskFunnel, CallStats, Clarifications, Counts, FormFunnel, Percentiles, Period, Routing,
    ScreenStep, SlaStats, StageFunnel, Times, VersionReport,
};
use wafl::testrun::sim::Sim;

const SCRIPT: &str = "sha256:claims-desk-under-test";
const HOUR: i64 = 3600;
const MIN: i64 = 60;
const DAY: i64 = 86_400;

// ---------------------------------------------------------------------------------------
// Randomness: a fixed generator, so the month is the same on every run.
// ---------------------------------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    /// Seconds in `[lo, hi]`.
    fn secs(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % ((hi - lo + 1) as u64)) as i64
    }
}

// ---------------------------------------------------------------------------------------
// Business hours, computed here without the engine: office is Monday to Friday,
// 09:00-18:00 in New York, closed on 2026-03-20.
// ---------------------------------------------------------------------------------------

fn tz() -> TimeZone {
    TimeZone::get("America/New_York").expect("zone")
}

fn office_day(tz: &TimeZone, d: Date) -> Option<(i64, i64)> {
    if matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
        || d == jiff::civil::date(2026, 3, 20)
    {
        return None;
    }
    let open = tz.to_timestamp(d.at(9, 0, 0, 0)).ok()?.as_second();
    let close = tz.to_timestamp(d.at(18, 0, 0, 0)).ok()?.as_second();
    Some((open, close))
}

fn office_secs(tz: &TimeZone, from: i64, to: i64) -> i64 {
    if to <= from {
        return 0;
    }
    let mut d = tz
        .to_datetime(Timestamp::from_second(from).expect("t"))
        .date();
    let last = tz
        .to_datetime(Timestamp::from_second(to).expect("t"))
        .date();
    let mut sum = 0;
    while d <= last {
        if let Some((o, c)) = office_day(tz, d) {
            sum += (c.min(to) - o.max(from)).max(0);
        }
        d = d.tomorrow().expect("date");
    }
    sum
}

fn office_deadline(tz: &TimeZone, from: i64, mut secs: i64) -> i64 {
    let mut d = tz
        .to_datetime(Timestamp::from_second(from).expect("t"))
        .date();
    loop {
        if let Some((o, c)) = office_day(tz, d) {
            let start = o.max(from);
            if c > start {
                if c - start >= secs {
                    return start + secs;
                }
                secs -= c - start;
            }
        }
        d = d.tomorrow().expect("date");
    }
}

// ---------------------------------------------------------------------------------------
// What the driver does, and what it expects to follow.
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Act {
    Text(&'static str),
    Tap(&'static str),
    CallResult(bool),
    Screen(String),
    FormRefused,
    Submit,
    AgentReply,
    AgentRoute(&'static str),
    AgentResolve,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum By {
    Rule,
    Timer,
    Agent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    Running(i64),
    Met,
    Breached,
    Stopped,
}

#[derive(Clone, Debug)]
struct Ask {
    stage: &'static str,
    asked: u32,
    answered: bool,
    refused: u32,
    gave_up: bool,
}

#[derive(Clone, Debug, Default)]
struct FormT {
    sent: bool,
    screens: Vec<String>,
    submitted: bool,
    refused: u32,
}

/// Everything the report should say about one card, kept while planning it.
#[derive(Clone, Debug)]
struct Truth {
    contact: String,
    card: u64,
    opened: i64,
    visits: Vec<(&'static str, i64, Option<i64>, Option<&'static str>)>,
    closed: Option<(i64, &'static str, By)>,
    first_team: Option<&'static str>,
    team: Option<&'static str>,
    reroutes: u32,
    handed_off: bool,
    human: bool,
    first_response: Option<(i64, Option<i64>)>,
    resolution: Option<(i64, Option<i64>)>,
    first_form: Option<i64>,
    refused: u32,
    otherwise: u32,
    repeated: u32,
    asks: Vec<Ask>,
    form: FormT,
    calls: Vec<bool>,
    fallbacks: u32,
    fr: Option<St>,
    res: Option<St>,
    sla_started: bool,
    reopened: bool,
    /// For the planner: the stage now, the handoff flag, the last exchange (either way)
    /// and the customer's last message, and whether the 20h check-in fired this quiet
    /// stretch.
    stage: &'static str,
    handoff: bool,
    last_exchange: i64,
    last_customer: i64,
    checked_in: bool,
}

struct Plan {
    truth: Truth,
    acts: Vec<(i64, Act)>,
    tz: TimeZone,
}

impl Plan {
    fn new(contact: &str, card: u64, at: i64, tz: &TimeZone) -> Plan {
        let mut p = Plan {
            truth: Truth {
                contact: contact.to_string(),
                card,
                opened: at,
                visits: vec![("menu", at, None, None)],
                closed: None,
                first_team: None,
                team: None,
                reroutes: 0,
                handed_off: false,
                human: false,
                first_response: None,
                resolution: None,
                first_form: None,
                refused: 0,
                otherwise: 0,
                repeated: 0,
                asks: Vec::new(),
                form: FormT::default(),
                calls: Vec::new(),
                fallbacks: 0,
                fr: None,
                res: None,
                sla_started: false,
                reopened: false,
                stage: "menu",
                handoff: false,
                last_exchange: at,
                last_customer: at,
                checked_in: false,
            },
            acts: Vec::new(),
            tz: tz.clone(),
        };
        // "hi" opens the card; the menu's `otherwise` answers it.
        p.acts.push((at, Act::Text("hi")));
        p.truth.otherwise += 1;
        p
    }

    fn open(&self) -> bool {
        self.truth.closed.is_none()
    }

    fn business(&self, from: i64, to: i64) -> Option<i64> {
        self.truth.team.map(|_| office_secs(&self.tz, from, to))
    }

    fn close(&mut self, at: i64, reason: &'static str, by: By) {
        let business = self.business(self.truth.opened, at);
        let t = &mut self.truth;
        if let Some(v) = t.visits.last_mut() {
            v.2 = Some(at);
        }
        // A first reply that never came no longer applies; a resolution is met.
        if let Some(St::Running(_)) = t.fr {
            t.fr = Some(St::Stopped);
        }
        if let Some(St::Running(_)) = t.res {
            t.res = Some(St::Met);
        }
        let opened = t.opened;
        t.closed = Some((at, reason, by));
        t.resolution = Some((at - opened, business));
    }

    /// Fires what the script's timers do before `until` (inclusive: a timer due at the
    /// instant of an action fires first). False when the card closed.
    fn run_timers(&mut self, until: i64) -> bool {
        loop {
            if !self.open() {
                return false;
            }
            let t = &self.truth;
            // The next timer: a service-level deadline, or a silence rule of the stage.
            let mut next: Option<(i64, u8)> = None;
            let mut consider = |at: i64, kind: u8| {
                if at <= until && next.is_none_or(|(n, _)| at < n) {
                    next = Some((at, kind));
                }
            };
            if let Some(St::Running(due)) = t.fr {
                consider(due, 0);
            }
            if let Some(St::Running(due)) = t.res {
                consider(due, 1);
            }
            if !t.handoff {
                match t.stage {
                    "review" => {
                        if !t.checked_in {
                            consider(t.last_exchange + 20 * HOUR, 2);
                        }
                        consider(t.last_exchange + 3 * DAY, 3);
                    }
                    _ => consider(t.last_exchange + 12 * HOUR, 4),
                }
            }
            let Some((at, kind)) = next else {
                return true;
            };
            match kind {
                0 => self.truth.fr = Some(St::Breached),
                1 => self.truth.res = Some(St::Breached),
                2 => {
                    self.truth.checked_in = true;
                    if at >= self.truth.last_customer + DAY {
                        self.truth.fallbacks += 1;
                    }
                }
                3 => self.close(at, "no answer", By::Timer),
                _ => self.close(at, "abandoned", By::Timer),
            }
        }
    }

    /// The customer (or the driver) acts at `at`; false when the card closed before.
    fn act(&mut self, at: i64, act: Act) -> bool {
        if !self.run_timers(at) {
            return false;
        }
        let customer = matches!(
            act,
            Act::Text(_) | Act::Tap(_) | Act::FormRefused | Act::Submit
        );
        if customer {
            self.truth.last_customer = at;
            self.exchange(at);
        }
        self.acts.push((at, act));
        true
    }

    /// A message either way: silence starts over (only while automation runs).
    fn exchange(&mut self, at: i64) {
        self.truth.last_exchange = at;
        self.truth.checked_in = false;
    }

    fn goto(&mut self, at: i64, to: &'static str) {
        let t = &mut self.truth;
        if let Some(v) = t.visits.last_mut() {
            v.2 = Some(at);
            v.3 = Some(to);
        }
        t.visits.push((to, at, None, None));
        t.stage = to;
        self.exchange(at);
    }

    fn route(&mut self, at: i64, team: &'static str) {
        let t = &mut self.truth;
        if t.first_team.is_none() {
            t.first_team = Some(team);
        }
        if t.team.is_some_and(|p| p != team) {
            t.reroutes += 1;
        }
        t.team = Some(team);
        // Leaving the claims team stops what still runs of its service level.
        if team != "claims" {
            if let Some(St::Running(_)) = t.fr {
                t.fr = Some(St::Stopped);
            }
            if let Some(St::Running(_)) = t.res {
                t.res = Some(St::Stopped);
            }
        } else if !t.sla_started {
            t.sla_started = true;
            t.fr = Some(St::Running(office_deadline(&self.tz, at, 4 * HOUR)));
            t.res = Some(St::Running(office_deadline(&self.tz, at, 18 * HOUR)));
        }
    }

    fn handoff(&mut self, at: i64, team: &'static str) {
        self.route(at, team);
        let t = &mut self.truth;
        t.handoff = true;
        t.handed_off = true;
        t.human = true;
    }

    fn ask(&mut self, stage: &'static str) {
        let t = &mut self.truth;
        // The policy asked again, in any stage, is a repeated question.
        if !t.asks.is_empty() {
            t.repeated += 1;
        }
        t.asks.push(Ask {
            stage,
            asked: 1,
            answered: false,
            refused: 0,
            gave_up: false,
        });
    }

    fn agent_reply(&mut self, at: i64) -> bool {
        if !self.act(at, Act::AgentReply) {
            return false;
        }
        // An agent's message needs the window; it never turns into a template.
        if at >= self.truth.last_customer + DAY {
            return true;
        }
        self.exchange(at);
        let opened = self.truth.opened;
        let business = self.business(opened, at);
        let t = &mut self.truth;
        t.human = true;
        if t.first_response.is_none() {
            t.first_response = Some((at - opened, business));
        }
        if let Some(St::Running(_)) = t.fr {
            t.fr = Some(St::Met);
        }
        true
    }
}

/// One planned conversation: its actions and its truth. `reopen` is the previous card's
/// close, for a contact who comes back.
fn plan_conversation(rng: &mut Rng, contact: &str, card: u64, start: i64, tz: &TimeZone) -> Plan {
    let mut p = Plan::new(contact, card, start, tz);
    let mut t = start;
    for _ in 0..[0, 0, 0, 0, 0, 0, 0, 1, 1, 2][rng.secs(0, 9) as usize] {
        t += rng.secs(30, 300);
        assert!(p.act(t, Act::Text("hello?")));
        p.truth.otherwise += 1;
    }
    let r = rng.unit();
    t += rng.secs(20, 600);
    if r < 0.10 {
        // Says nothing more: the menu's silence rule closes the card.
        p.run_timers(i64::MAX);
    } else if r < 0.18 {
        assert!(p.act(t, Act::Text("can I talk to a person")));
        p.handoff(t, "support");
        agent_phase(rng, &mut p, t);
    } else if r < 0.75 {
        assert!(p.act(t, Act::Tap("New claim")));
        p.goto(t, "claim");
        p.ask("claim");
        claim_phase(rng, &mut p, t, true);
    } else {
        assert!(p.act(t, Act::Tap("Claim status")));
        p.goto(t, "status");
        p.ask("status");
        status_phase(rng, &mut p, t);
    }
    p.run_timers(i64::MAX);
    p
}

/// Answers to the pending `ask`: some invalid, maybe none. Returns the instant of the
/// valid answer, or `None` when the customer dropped or the `ask` gave up.
fn answer_policy(rng: &mut Rng, p: &mut Plan, mut t: i64, drop: f64) -> Option<i64> {
    if rng.chance(drop) {
        p.run_timers(i64::MAX);
        return None;
    }
    let invalid = [0, 0, 0, 0, 0, 0, 1, 1, 2, 3][rng.secs(0, 9) as usize];
    for i in 0..invalid {
        t += rng.secs(20, 240);
        assert!(p.act(t, Act::Text("12345")));
        p.truth.refused += 1;
        if let Some(a) = p.truth.asks.last_mut() {
            a.refused += 1;
            if i == 2 {
                a.gave_up = true;
            }
        }
    }
    if invalid == 3 {
        // The `ask` ran out of tries: a person takes over.
        p.handoff(t, "support");
        agent_phase(rng, p, t);
        return None;
    }
    t += rng.secs(20, 240);
    assert!(p.act(t, Act::Text("P123456")));
    if let Some(a) = p.truth.asks.last_mut() {
        a.answered = true;
    }
    Some(t)
}

fn claim_phase(rng: &mut Rng, p: &mut Plan, t: i64, screens_allowed: bool) {
    let Some(mut t) = answer_policy(rng, p, t, 0.07) else {
        return;
    };
    let ok = !rng.chance(0.12);
    assert!(p.act(t, Act::CallResult(ok)));
    p.truth.calls.push(ok);
    if !ok {
        p.handoff(t, "claims");
        agent_phase(rng, p, t);
        return;
    }
    p.truth.form.sent = true;
    let r = rng.unit();
    let screens = ["WHAT_HAPPENED", "DETAILS"];
    let reported = if !screens_allowed || r < 0.08 || rng.chance(0.3) {
        0
    } else if r < 0.13 {
        1
    } else {
        2
    };
    for s in screens.iter().take(reported) {
        t += rng.secs(20, 300);
        assert!(p.act(t, Act::Screen(s.to_string())));
        p.truth.form.screens.push(s.to_string());
    }
    if r < 0.18 && screens_allowed {
        // Leaves the form: the stage's silence rule closes the card.
        p.run_timers(i64::MAX);
        return;
    }
    if rng.chance(0.1) {
        t += rng.secs(20, 300);
        assert!(p.act(t, Act::FormRefused));
        p.truth.form.refused += 1;
    }
    t += rng.secs(20, 300);
    if !p.act(t, Act::Submit) {
        return;
    }
    p.truth.form.submitted = true;
    if p.truth.first_form.is_none() {
        p.truth.first_form = Some(t);
    }
    p.route(t, "claims");
    p.goto(t, "review");
    review_phase(rng, p, t, "claims");
}

fn status_phase(rng: &mut Rng, p: &mut Plan, t: i64) {
    let Some(t) = answer_policy(rng, p, t, 0.05) else {
        return;
    };
    p.route(t, "support");
    p.goto(t, "review");
    review_phase(rng, p, t, "support");
}

fn review_phase(rng: &mut Rng, p: &mut Plan, mut t: i64, team: &'static str) {
    if rng.chance(0.15) {
        t += rng.secs(HOUR, 10 * HOUR);
        if !p.act(t, Act::Text("any news?")) {
            return;
        }
        p.truth.otherwise += 1;
    }
    if rng.chance(0.85) {
        t += rng.secs(5 * MIN, 30 * HOUR);
        if !p.agent_reply(t) {
            return;
        }
    }
    if team == "claims" && rng.chance(0.12) {
        t += rng.secs(10 * MIN, 3 * HOUR);
        if !p.act(t, Act::AgentRoute("support")) {
            return;
        }
        p.truth.human = true;
        p.route(t, "support");
    }
    if team == "support" && rng.chance(0.08) {
        // Back to a new claim: the policy is asked again.
        t += rng.secs(10 * MIN, 5 * HOUR);
        if !p.act(t, Act::Tap("New claim")) {
            return;
        }
        p.goto(t, "claim");
        p.ask("claim");
        claim_phase(rng, p, t, false);
        return;
    }
    let r = rng.unit();
    if r < 0.65 {
        t += rng.secs(10 * MIN, 2 * DAY);
        if p.act(t, Act::Text("thanks, solved")) {
            p.close(t, "resolved", By::Rule);
        }
    } else if r < 0.8 {
        t += rng.secs(10 * MIN, DAY);
        if p.act(t, Act::AgentResolve) {
            p.truth.human = true;
            p.close(t, "resolved", By::Agent);
        }
    } else {
        p.run_timers(i64::MAX);
    }
}

/// A person's work on a handed-off card.
fn agent_phase(rng: &mut Rng, p: &mut Plan, mut t: i64) {
    if !rng.chance(0.8) {
        p.run_timers(i64::MAX);
        return;
    }
    t += rng.secs(5 * MIN, 30 * HOUR);
    if !p.agent_reply(t) {
        return;
    }
    if rng.chance(0.9) {
        t += rng.secs(10 * MIN, 2 * DAY);
        if p.act(t, Act::AgentResolve) {
            p.close(t, "resolved", By::Agent);
        }
    }
    p.run_timers(i64::MAX);
}

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
