//! The planner of the month of traffic in `tests/measure_month.rs`: who writes what and
//! when through `examples/claims_desk.flow`, and the truth of what must follow — stays in
//! stages, closings, routing, replies, service levels, forms, timers — computed from the
//! script's rules as written, with business hours counted here without the engine.

#![allow(dead_code)]

use jiff::Timestamp;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;

pub const SCRIPT: &str = "sha256:claims-desk-under-test";
pub const HOUR: i64 = 3600;
pub const MIN: i64 = 60;
pub const DAY: i64 = 86_400;

// ---------------------------------------------------------------------------------------
// Randomness: a fixed generator, so the month is the same on every run.
// ---------------------------------------------------------------------------------------

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    /// Seconds in `[lo, hi]`.
    pub fn secs(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % ((hi - lo + 1) as u64)) as i64
    }
}

// ---------------------------------------------------------------------------------------
// Business hours, computed here without the engine: office is Monday to Friday,
// 09:00-18:00 in New York, closed on 2026-03-20.
// ---------------------------------------------------------------------------------------

pub fn tz() -> TimeZone {
    TimeZone::get("America/New_York").expect("zone")
}

pub fn office_day(tz: &TimeZone, d: Date) -> Option<(i64, i64)> {
    if matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
        || d == jiff::civil::date(2026, 3, 20)
    {
        return None;
    }
    let open = tz.to_timestamp(d.at(9, 0, 0, 0)).ok()?.as_second();
    let close = tz.to_timestamp(d.at(18, 0, 0, 0)).ok()?.as_second();
    Some((open, close))
}

pub fn office_secs(tz: &TimeZone, from: i64, to: i64) -> i64 {
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

pub fn office_deadline(tz: &TimeZone, from: i64, mut secs: i64) -> i64 {
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
pub enum Act {
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
pub enum By {
    Rule,
    Timer,
    Agent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum St {
    Running(i64),
    Met,
    Breached,
    Stopped,
}

#[derive(Clone, Debug)]
pub struct Ask {
    pub stage: &'static str,
    pub asked: u32,
    pub answered: bool,
    pub refused: u32,
    pub gave_up: bool,
}

#[derive(Clone, Debug, Default)]
pub struct FormT {
    pub sent: bool,
    pub screens: Vec<String>,
    pub submitted: bool,
    pub refused: u32,
}

/// Everything the report should say about one card, kept while planning it.
#[derive(Clone, Debug)]
pub struct Truth {
    pub contact: String,
    pub card: u64,
    pub opened: i64,
    pub visits: Vec<(&'static str, i64, Option<i64>, Option<&'static str>)>,
    pub closed: Option<(i64, &'static str, By)>,
    pub first_team: Option<&'static str>,
    pub team: Option<&'static str>,
    pub reroutes: u32,
    pub handed_off: bool,
    pub human: bool,
    pub first_response: Option<(i64, Option<i64>)>,
    pub resolution: Option<(i64, Option<i64>)>,
    pub first_form: Option<i64>,
    pub refused: u32,
    pub otherwise: u32,
    pub repeated: u32,
    pub asks: Vec<Ask>,
    pub form: FormT,
    pub calls: Vec<bool>,
    pub fallbacks: u32,
    pub fr: Option<St>,
    pub res: Option<St>,
    pub sla_started: bool,
    pub reopened: bool,
    /// For the planner: the stage now, the handoff flag, the last exchange (either way)
    /// and the customer's last message, and whether the 20h check-in fired this quiet
    /// stretch.
    pub stage: &'static str,
    pub handoff: bool,
    pub last_exchange: i64,
    pub last_customer: i64,
    pub checked_in: bool,
}

pub struct Plan {
    pub truth: Truth,
    pub acts: Vec<(i64, Act)>,
    pub tz: TimeZone,
}

impl Plan {
    pub fn new(contact: &str, card: u64, at: i64, tz: &TimeZone) -> Plan {
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

    pub fn open(&self) -> bool {
        self.truth.closed.is_none()
    }

    pub fn business(&self, from: i64, to: i64) -> Option<i64> {
        self.truth.team.map(|_| office_secs(&self.tz, from, to))
    }

    pub fn close(&mut self, at: i64, reason: &'static str, by: By) {
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
    pub fn run_timers(&mut self, until: i64) -> bool {
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
    pub fn act(&mut self, at: i64, act: Act) -> bool {
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
    pub fn exchange(&mut self, at: i64) {
        self.truth.last_exchange = at;
        self.truth.checked_in = false;
    }

    pub fn goto(&mut self, at: i64, to: &'static str) {
        let t = &mut self.truth;
        if let Some(v) = t.visits.last_mut() {
            v.2 = Some(at);
            v.3 = Some(to);
        }
        t.visits.push((to, at, None, None));
        t.stage = to;
        self.exchange(at);
    }

    pub fn route(&mut self, at: i64, team: &'static str) {
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

    pub fn handoff(&mut self, at: i64, team: &'static str) {
        self.route(at, team);
        let t = &mut self.truth;
        t.handoff = true;
        t.handed_off = true;
        t.human = true;
    }

    pub fn ask(&mut self, stage: &'static str) {
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

    pub fn agent_reply(&mut self, at: i64) -> bool {
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
pub fn plan_conversation(
    rng: &mut Rng,
    contact: &str,
    card: u64,
    start: i64,
    tz: &TimeZone,
) -> Plan {
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
pub fn answer_policy(rng: &mut Rng, p: &mut Plan, mut t: i64, drop: f64) -> Option<i64> {
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

pub fn claim_phase(rng: &mut Rng, p: &mut Plan, t: i64, screens_allowed: bool) {
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

pub fn status_phase(rng: &mut Rng, p: &mut Plan, t: i64) {
    let Some(t) = answer_policy(rng, p, t, 0.05) else {
        return;
    };
    p.route(t, "support");
    p.goto(t, "review");
    review_phase(rng, p, t, "support");
}

pub fn review_phase(rng: &mut Rng, p: &mut Plan, mut t: i64, team: &'static str) {
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
pub fn agent_phase(rng: &mut Rng, p: &mut Plan, mut t: i64) {
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
