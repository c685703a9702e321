//! Card events: what happened to a conversation, derived once from each engine step, with
//! its cause, its instant and the script version that ran it.
//!
//! [`derive`] reads one step — the event, the state before, the effects with their
//! traces — and returns the card events in the order they happened. Every front (the
//! daemon, `wafl test`, the REPL, replays) calls it, so they all see the same events;
//! reports (`crate::measure`) are computed from nothing else.
//!
//! Card events are persisted: [`CardEvent`] is a versioned record (`v`), and it names the
//! rules of the script by their stable key, never by a position in the program.

use super::state::*;
use super::{Outcome, hours};
use crate::compile::{HandlerKey, HandlerRef, Program, SlaTarget};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The version of [`CardEvent`] records written today.
pub const CARD_EVENT_VERSION: u32 = 1;

/// One thing that happened to one card.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CardEvent {
    /// The record version ([`CARD_EVENT_VERSION`]).
    pub v: u32,
    /// The contact's phone number, as the engine knows it.
    pub contact: String,
    /// The card's number for this contact (1 for the first card).
    pub card: u64,
    pub at: Timestamp,
    /// The content hash of the script that ran the step.
    pub script: String,
    /// The stage the card was in when it happened (the stage entered or left, for those).
    pub stage: String,
    pub cause: Cause,
    pub what: What,
}

/// Why something happened: what started the step, and the rule whose code did it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cause {
    pub origin: Origin,
    /// The rule (handler) whose code did it; absent when no rule did (the card opened on
    /// a message, an agent acted, a form was refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleKey>,
}

/// What started a step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    /// A message from the customer (text, tap, choice, media, form).
    Customer,
    /// A timer came due.
    Timer(TimerCause),
    /// A person acted; the agent is named when the action says who.
    Agent { agent: Option<String> },
    /// The answer of a webhook `call`.
    Webhook { webhook: String },
    /// A delivery status from WhatsApp.
    Channel,
    /// An event from a business system, by name and the id its sender gave it.
    Business { event: String, id: String },
}

/// Which timer came due.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "timer", rename_all = "snake_case")]
pub enum TimerCause {
    /// An `after ... silence` or `after ... in stage` rule.
    After { rule: RuleKey },
    /// The timeout of a webhook `call`.
    CallTimeout { webhook: String },
    /// The deadline of a service-level target.
    Sla { sla: String, target: SlaTarget },
}

/// A rule of the script, by its stable key: the same handler keeps its key across edits
/// of other handlers, so events of different script versions can be compared.
pub type RuleKey = HandlerKey;

/// A duration in wall-clock time and in business hours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Durations {
    pub wall_secs: i64,
    /// Open time of the card's team's `hours` in between; absent when the team has no
    /// hours (or the card no team).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_secs: Option<i64>,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum What {
    /// A new card, in the start stage (followed by [`What::StageEntered`]).
    Opened,
    /// The card opened after an earlier card of the same contact had closed.
    Reopened {
        previous: u64,
        previous_closed_at: Timestamp,
    },
    /// The card entered `stage`, coming from `from` (none when the card just opened).
    StageEntered {
        from: Option<String>,
    },
    /// The card left `stage` for `to` (none when the card closed there).
    StageLeft {
        to: Option<String>,
    },
    /// Routed to a team; `previous` is the team it had (a re-route when it differs).
    Routed {
        team: String,
        previous: Option<String>,
    },
    Assigned {
        agent: String,
        previous: Option<String>,
    },
    PriorityChanged {
        priority: Priority,
    },
    HandedOff {
        team: Option<String>,
    },
    /// A person replied on the card for the first time, `waited` after it opened.
    FirstHumanReply {
        agent: String,
        waited: Durations,
    },
    /// A person gave the card back to the automation.
    Released,
    Asked {
        field: String,
    },
    Answered {
        field: String,
    },
    /// An answer did not validate; `tries_left` is 0 when the `ask` gave up.
    AnswerRefused {
        field: String,
        tries_left: u32,
    },
    FormSent {
        form: String,
    },
    /// The customer reached a screen of a form (when the Flow data endpoint reports it).
    FormScreen {
        form: String,
        screen: String,
    },
    FormSubmitted {
        form: String,
    },
    FormRefused {
        form: String,
        fields: Vec<String>,
    },
    /// A webhook `call` answered (`ok`) or failed (`reason`, `timeout` for a timeout).
    CallResult {
        webhook: String,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A free-form message went as this template: the 24-hour window was closed.
    TemplateFallback {
        template: String,
    },
    /// An `otherwise` rule took the message: no specific rule did.
    Otherwise,
    /// No rule took the message.
    Unanswered,
    /// The card closed, `open_for` after it opened.
    Closed {
        reason: Option<String>,
        open_for: Durations,
    },
    /// A service-level target started; `due` is its deadline (none when its hours never
    /// open).
    SlaStarted {
        sla: String,
        target: SlaTarget,
        due: Option<Timestamp>,
    },
    /// A service-level target was met, `took` after it started (business time in the
    /// target's hours).
    SlaMet {
        sla: String,
        target: SlaTarget,
        took: Durations,
    },
    /// A service-level target passed its deadline; its `else` ran.
    SlaBreached {
        sla: String,
        target: SlaTarget,
    },
    /// A service-level target no longer applies.
    SlaStopped {
        sla: String,
        target: SlaTarget,
        reason: String,
    },
}

impl What {
    /// The `kind` tag as serialised (`stage_entered`, `answer_refused`...).
    pub fn name(&self) -> &'static str {
        match self {
            What::Opened => "opened",
            What::Reopened { .. } => "reopened",
            What::StageEntered { .. } => "stage_entered",
            What::StageLeft { .. } => "stage_left",
            What::Routed { .. } => "routed",
            What::Assigned { .. } => "assigned",
            What::PriorityChanged { .. } => "priority_changed",
            What::HandedOff { .. } => "handed_off",
            What::FirstHumanReply { .. } => "first_human_reply",
            What::Released => "released",
            What::Asked { .. } => "asked",
            What::Answered { .. } => "answered",
            What::AnswerRefused { .. } => "answer_refused",
            What::FormSent { .. } => "form_sent",
            What::FormScreen { .. } => "form_screen",
            What::FormSubmitted { .. } => "form_submitted",
            What::FormRefused { .. } => "form_refused",
            What::CallResult { .. } => "call_result",
            What::TemplateFallback { .. } => "template_fallback",
            What::Otherwise => "otherwise",
            What::Unanswered => "unanswered",
            What::Closed { .. } => "closed",
            What::SlaStarted { .. } => "sla_started",
            What::SlaMet { .. } => "sla_met",
            What::SlaBreached { .. } => "sla_breached",
            What::SlaStopped { .. } => "sla_stopped",
        }
    }

    /// The name an event is about (the field, form, team, stage...), for listings and
    /// for `expect event NAME "detail"` in tests.
    pub fn detail(&self) -> Option<&str> {
        match self {
            What::StageEntered { .. } | What::StageLeft { .. } => None,
            What::Routed { team, .. } => Some(team),
            What::Assigned { agent, .. } | What::FirstHumanReply { agent, .. } => Some(agent),
            What::PriorityChanged { priority } => Some(priority.as_str()),
            What::HandedOff { team } => team.as_deref(),
            What::Asked { field }
            | What::Answered { field }
            | What::AnswerRefused { field, .. } => Some(field),
            What::FormSent { form }
            | What::FormScreen { form, .. }
            | What::FormSubmitted { form }
            | What::FormRefused { form, .. } => Some(form),
            What::CallResult { webhook, .. } => Some(webhook),
            What::TemplateFallback { template } => Some(template),
            What::Closed { reason, .. } => reason.as_deref(),
            What::SlaStarted { sla, .. }
            | What::SlaMet { sla, .. }
            | What::SlaBreached { sla, .. }
            | What::SlaStopped { sla, .. } => Some(sla),
            What::Opened
            | What::Reopened { .. }
            | What::Released
            | What::Otherwise
            | What::Unanswered => None,
        }
    }
}

/// Every `kind` of card event, for listings, docs and the test language.
pub const KINDS: &[&str] = &[
    "opened",
    "reopened",
    "stage_entered",
    "stage_left",
    "routed",
    "assigned",
    "priority_changed",
    "handed_off",
    "first_human_reply",
    "released",
    "asked",
    "answered",
    "answer_refused",
    "form_sent",
    "form_screen",
    "form_submitted",
    "form_refused",
    "call_result",
    "template_fallback",
    "otherwise",
    "unanswered",
    "closed",
    "sla_started",
    "sla_met",
    "sla_breached",
    "sla_stopped",
];

/// Why a stored card event could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Not a card event record at all.
    Malformed(String),
    /// Written by a newer wafl than this one.
    UnknownVersion(u32),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Malformed(e) => write!(f, "not a card event record: {e}"),
            DecodeError::UnknownVersion(v) => write!(
                f,
                "card event record version {v} is newer than this wafl reads ({CARD_EVENT_VERSION}); upgrade wafl"
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

impl CardEvent {
    /// Reads a stored record, checking its version first.
    pub fn decode(json: &str) -> Result<CardEvent, DecodeError> {
        #[derive(Deserialize)]
        struct Head {
            v: u32,
        }
        let head: Head =
            serde_json::from_str(json).map_err(|e| DecodeError::Malformed(e.to_string()))?;
        if head.v != CARD_EVENT_VERSION {
            return Err(DecodeError::UnknownVersion(head.v));
        }
        serde_json::from_str(json).map_err(|e| DecodeError::Malformed(e.to_string()))
    }

    /// The record as stored: one line of JSON.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What the walk over a step's effects knows about the card at each effect.
struct Cursor {
    id: u64,
    stage: String,
    team: Option<String>,
    agent: Option<String>,
    opened_at: Timestamp,
}

/// The card events of one step, in the order they happened. `script` is the content hash
/// of the script `program` was compiled from; `before` and `event` are what
/// [`super::step`] was given, `out` what it returned, `now` the instant it ran at.
pub fn derive(
    program: &Program,
    script: &str,
    before: &State,
    event: &Event,
    out: &Outcome,
    now: Timestamp,
) -> Vec<CardEvent> {
    let origin = origin_of(program, before, event);
    let contact = &before.contact.phone;
    let mut cur = before.card.as_ref().map(|c| Cursor {
        id: c.id,
        stage: c.stage.clone(),
        team: c.team.clone(),
        agent: c.agent.clone(),
        opened_at: c.opened_at,
    });
    let mut events = Vec::new();
    for e in &out.effects {
        let rule = e.trace.handler.clone();
        let mut push = |cur: &Cursor, stage: &str, what: What| {
            events.push(CardEvent {
                v: CARD_EVENT_VERSION,
                contact: contact.clone(),
                card: cur.id,
                at: now,
                script: script.to_string(),
                stage: stage.to_string(),
                cause: Cause {
                    origin: origin.clone(),
                    rule: rule.clone(),
                },
                what,
            });
        };
        if let EffectKind::OpenCard { card } = &e.kind {
            let c = Cursor {
                id: *card,
                stage: e.trace.stage.clone(),
                team: None,
                agent: None,
                opened_at: now,
            };
            push(&c, &c.stage, What::Opened);
            if let Some(prev) = &before.last_closed
                && let Some(closed_at) = prev.closed_at
            {
                push(
                    &c,
                    &c.stage,
                    What::Reopened {
                        previous: prev.id,
                        previous_closed_at: closed_at,
                    },
                );
            }
            push(&c, &c.stage, What::StageEntered { from: None });
            cur = Some(c);
            continue;
        }
        let Some(c) = cur.as_mut() else { continue };
        let stage = c.stage.clone();
        match &e.kind {
            EffectKind::StageChanged { from, to } => {
                push(
                    c,
                    from,
                    What::StageLeft {
                        to: Some(to.clone()),
                    },
                );
                push(
                    c,
                    to,
                    What::StageEntered {
                        from: Some(from.clone()),
                    },
                );
                c.stage = to.clone();
            }
            EffectKind::Route { team, priority } => {
                let previous = c.team.replace(team.clone());
                push(
                    c,
                    &stage,
                    What::Routed {
                        team: team.clone(),
                        previous,
                    },
                );
                if let Some(p) = priority {
                    push(c, &stage, What::PriorityChanged { priority: *p });
                }
            }
            EffectKind::Assign { agent } => {
                let previous = c.agent.replace(agent.clone());
                push(
                    c,
                    &stage,
                    What::Assigned {
                        agent: agent.clone(),
                        previous,
                    },
                );
            }
            EffectKind::SetPriority { priority } => {
                push(
                    c,
                    &stage,
                    What::PriorityChanged {
                        priority: *priority,
                    },
                );
            }
            EffectKind::Handoff { team } => {
                push(c, &stage, What::HandedOff { team: team.clone() });
            }
            EffectKind::Release => push(c, &stage, What::Released),
            EffectKind::Send {
                message: OutMessage::Form { form, .. },
                ..
            } => push(c, &stage, What::FormSent { form: form.clone() }),
            EffectKind::Close { reason } => {
                let open_for = durations(program, c.team.as_deref(), c.opened_at, now);
                push(c, &stage, What::StageLeft { to: None });
                push(
                    c,
                    &stage,
                    What::Closed {
                        reason: reason.clone(),
                        open_for,
                    },
                );
                cur = None;
            }
            EffectKind::Fact(f) => {
                let what = match f {
                    Fact::Asked { field } => What::Asked {
                        field: field.clone(),
                    },
                    Fact::Answered { field } => What::Answered {
                        field: field.clone(),
                    },
                    Fact::AnswerRefused { field, tries_left } => What::AnswerRefused {
                        field: field.clone(),
                        tries_left: *tries_left,
                    },
                    Fact::Otherwise => What::Otherwise,
                    Fact::Unanswered => What::Unanswered,
                    Fact::FormSubmitted { form } => What::FormSubmitted { form: form.clone() },
                    Fact::FormRefused { form, fields } => What::FormRefused {
                        form: form.clone(),
                        fields: fields.clone(),
                    },
                    Fact::FormScreen { form, screen } => What::FormScreen {
                        form: form.clone(),
                        screen: screen.clone(),
                    },
                    Fact::CallAnswered { webhook } => What::CallResult {
                        webhook: webhook.clone(),
                        ok: true,
                        reason: None,
                    },
                    Fact::CallFailed { webhook, reason } => What::CallResult {
                        webhook: webhook.clone(),
                        ok: false,
                        reason: Some(reason.clone()),
                    },
                    Fact::WindowFallback { template } => What::TemplateFallback {
                        template: template.clone(),
                    },
                    Fact::FirstHumanReply { agent } => What::FirstHumanReply {
                        agent: agent.clone(),
                        waited: durations(program, c.team.as_deref(), c.opened_at, now),
                    },
                    Fact::SlaStarted { sla, target, due } => What::SlaStarted {
                        sla: sla.clone(),
                        target: *target,
                        due: *due,
                    },
                    Fact::SlaMet {
                        sla,
                        target,
                        wall_secs,
                        business_secs,
                    } => What::SlaMet {
                        sla: sla.clone(),
                        target: *target,
                        took: Durations {
                            wall_secs: *wall_secs,
                            business_secs: *business_secs,
                        },
                    },
                    Fact::SlaBreached { sla, target } => What::SlaBreached {
                        sla: sla.clone(),
                        target: *target,
                    },
                    Fact::SlaStopped {
                        sla,
                        target,
                        reason,
                    } => What::SlaStopped {
                        sla: sla.clone(),
                        target: *target,
                        reason: reason.clone(),
                    },
                };
                push(c, &stage, what);
            }
            _ => {}
        }
    }
    events
}

/// What started the step, from the event and the state it met.
fn origin_of(program: &Program, before: &State, event: &Event) -> Origin {
    match event {
        Event::Inbound(_) | Event::FormRefused { .. } | Event::FormScreen { .. } => {
            Origin::Customer
        }
        Event::Timer { id } => match before.timers.get(id).map(|t| &t.target) {
            Some(TimerTarget::Handler { handler, .. }) => Origin::Timer(TimerCause::After {
                rule: rule_key(program, *handler),
            }),
            Some(TimerTarget::Sla { sla, target }) => Origin::Timer(TimerCause::Sla {
                sla: sla.clone(),
                target: *target,
            }),
            Some(TimerTarget::AiTimeout { .. }) => Origin::Webhook {
                webhook: waiting_ai(program, before),
            },
            Some(TimerTarget::CallTimeout { .. }) | None => {
                Origin::Timer(TimerCause::CallTimeout {
                    webhook: waiting_webhook(before),
                })
            }
        },
        Event::Agent(a) => Origin::Agent {
            agent: match a {
                AgentAction::Reply { agent, .. }
                | AgentAction::TakeOver { agent }
                | AgentAction::Template { agent, .. }
                | AgentAction::Note { agent, .. } => Some(agent.clone()),
                AgentAction::Reassign { .. }
                | AgentAction::Resolve { .. }
                | AgentAction::Tag { .. }
                | AgentAction::Untag { .. }
                | AgentAction::Release => None,
            },
        },
        Event::WebhookResult { .. } => Origin::Webhook {
            webhook: waiting_webhook(before),
        },
        // An external model answers like a webhook: the origin names its endpoint.
        Event::AiResult { .. } => Origin::Webhook {
            webhook: waiting_ai(program, before),
        },
        Event::Status { .. } => Origin::Channel,
        Event::Business(b) => Origin::Business {
            event: b.name.clone(),
            id: b.id.clone(),
        },
    }
}

/// The stable key of a handler of the program.
fn rule_key(program: &Program, r: HandlerRef) -> RuleKey {
    program
        .handler(r)
        .map(|h| h.key.clone())
        .unwrap_or(HandlerKey {
            stage: None,
            trigger: "?".into(),
            sla: None,
        })
}

/// The AI endpoint a waiting AI step asked, named by the instruction it waits at.
fn waiting_ai(program: &Program, s: &State) -> String {
    let Some(Suspension::Ai { resume, .. }) = s.card.as_ref().and_then(|c| c.suspended.as_ref())
    else {
        return String::new();
    };
    match resume.checked_sub(1).and_then(|pc| program.code.get(pc)) {
        Some(crate::compile::Instr::Classify { ai, .. })
        | Some(crate::compile::Instr::Answer { ai: Some(ai), .. }) => ai.clone(),
        _ => String::new(),
    }
}

fn waiting_webhook(s: &State) -> String {
    match s.card.as_ref().and_then(|c| c.suspended.as_ref()) {
        Some(Suspension::Call { webhook, .. }) => webhook.clone(),
        _ => String::new(),
    }
}

/// `from` to `to` in wall-clock time and in the open time of the team's hours.
pub fn durations(
    program: &Program,
    team: Option<&str>,
    from: Timestamp,
    to: Timestamp,
) -> Durations {
    let business = team
        .and_then(|t| program.teams.get(t))
        .and_then(|t| t.hours)
        .and_then(|i| program.hours.get(i))
        .map(|h| hours::open_seconds(h, from, to));
    Durations {
        wall_secs: to.as_second().saturating_sub(from.as_second()).max(0),
        business_secs: business,
    }
}
