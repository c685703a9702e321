//! The console's records in the product's vocabulary: cards, their story, the attention
//! queue. Built from what storage keeps (conversation states, the message history, the
//! audit of steps) and the running script; nothing here is an engine enum, a byte offset
//! or an epoch millisecond. Times are RFC 3339 (UTC), phones E.164.

use crate::compile::{Program, Value};
use crate::daemon::Loaded;
use crate::daemon::store::{AuditRow, HistoryRow, StoredConversation};
use crate::engine::{CardStatus, HistoryEntry, Priority, Who};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};

/// A card as the board and lists show it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CardSummary {
    pub phone: String,
    pub name: Option<String>,
    pub stage: String,
    pub team: Option<String>,
    pub agent: Option<String>,
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: Option<&'static str>,
    pub tags: Vec<String>,
    /// `open` (the automation runs), `waiting_human` (handed off, nobody has it yet),
    /// `with_agent` (a person holds it) or `closed`.
    pub status: &'static str,
    /// `automation` or `agent`: who answers the customer now.
    pub held_by: &'static str,
    pub stage_since: String,
    /// Since when the customer's last message waits for an answer (from a person or the
    /// automation); `null` when answered.
    pub waiting_since: Option<String>,
    pub last_message: Option<LastMessage>,
    /// The first 12 hex digits of the script version that made the card's state.
    pub script_version: String,
}

/// The last message of a card, either way.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LastMessage {
    /// `in` (from the customer) or `out`.
    pub direction: &'static str,
    pub text: String,
    pub at: String,
}

/// A card with everything the card page shows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CardDetail {
    #[serde(flatten)]
    pub summary: CardSummary,
    pub fields: Vec<FieldValue>,
    pub window: Window,
    pub templates: Vec<TemplateInfo>,
    pub timers: Vec<PendingTimer>,
    pub timeline: Vec<TimelineEntry>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldValue {
    pub name: String,
    pub value: String,
    /// `text`, `number`, `boolean`, `duration`, `date`, `time`, `timestamp` or `list`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// WhatsApp's 24-hour customer service window: free text only while it is open.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Window {
    pub open: bool,
    pub closes_at: Option<String>,
}

/// An approved template of the script, with the parameters it takes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TemplateInfo {
    pub name: String,
    pub params: Vec<String>,
}

/// A timer that will fire unless something happens first.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PendingTimer {
    pub name: String,
    pub fires_at: String,
    pub rule: Option<RuleRef>,
}

/// The rule of the script that caused a step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleRef {
    /// The line in the running script; `null` when the step was made by another version
    /// of the script.
    pub line: Option<usize>,
    pub source: String,
    /// The conditions that held, e.g. `keyword: oi`.
    pub why: Option<String>,
}

/// One line of a card's story.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimelineEntry {
    pub at: String,
    pub kind: &'static str,
    pub text: Option<String>,
    /// For messages out: `sent`, `delivered`, `read` or `failed`.
    pub status: Option<String>,
    /// `customer`, `automation`, an agent's id, `manager` or `timer:<name>`.
    pub actor: String,
    pub rule: Option<RuleRef>,
    pub script_version: Option<String>,
}

/// A card in the attention queue.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AttentionCard {
    #[serde(flatten)]
    pub card: CardSummary,
    /// `handed_off_unanswered`, `first_reply_overdue` or `sla_at_risk`.
    pub reason: &'static str,
    pub waiting_since: String,
}

// ---- reading stored states ------------------------------------------------------------

/// The parts of a stored engine state the console reads. Lenient: states of every
/// version carry these.
#[derive(Clone, Debug, Deserialize)]
pub struct StateView {
    pub contact: ContactView,
    pub card: Option<CardView>,
    pub last_closed: Option<CardView>,
    pub last_inbound: Option<Timestamp>,
    #[serde(default)]
    pub timers: BTreeMap<String, TimerView>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ContactView {
    pub phone: String,
    pub name: Option<String>,
    #[serde(default)]
    pub tags: BTreeSet<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct CardView {
    pub stage: String,
    pub status: CardStatus,
    #[serde(default)]
    pub fields: BTreeMap<String, Value>,
    pub team: Option<String>,
    pub agent: Option<String>,
    #[serde(default)]
    pub priority: Priority,
    pub stage_entered_at: Timestamp,
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
    #[serde(default)]
    pub slas: BTreeMap<String, SlaView>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct SlaView {
    pub started_at: Timestamp,
    #[serde(default)]
    pub targets: Vec<SlaTargetView>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct SlaTargetView {
    pub target: crate::compile::SlaTarget,
    pub due: Option<Timestamp>,
    pub status: crate::engine::SlaStatus,
}

#[derive(Clone, Debug, Deserialize)]
pub struct TimerView {
    pub at: Timestamp,
    pub target: Json,
}

impl StateView {
    pub fn of(c: &StoredConversation) -> Option<StateView> {
        StateView::deserialize(&c.body.state).ok()
    }
}

/// A stored conversation read for the console.
#[derive(Clone, Debug)]
pub struct Conversation {
    pub key: String,
    pub state: StateView,
    pub program: String,
}

impl Conversation {
    pub fn of(c: &StoredConversation) -> Option<Conversation> {
        Some(Conversation {
            key: c.contact.clone(),
            state: StateView::of(c)?,
            program: c.body.program.clone(),
        })
    }

    /// The open card, else the last closed one.
    pub fn card(&self) -> Option<&CardView> {
        self.state.card.as_ref().or(self.state.last_closed.as_ref())
    }

    pub fn is_open(&self) -> bool {
        self.state.card.is_some()
    }
}

pub fn rfc3339(t: Timestamp) -> String {
    // Whole seconds: the console shows minutes at most.
    Timestamp::from_second(t.as_second())
        .unwrap_or(t)
        .to_string()
}

fn ms_rfc3339(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(rfc3339)
        .unwrap_or_default()
}

/// The first 12 hex digits of a script hash.
pub fn short_hash(hash: &str) -> String {
    crate::daemon::short_hash(hash).to_string()
}

/// The contact's phone in E.164.
pub fn e164(key: &str) -> String {
    crate::daemon::worker::phone_of(key)
}

/// The text of a history entry as a person reads it: the automation's messages are
/// kept quoted (`"Hello" [Yes | No]`), shown here without the quotes.
fn entry_text(e: &HistoryEntry) -> String {
    if e.who == Who::Bot
        && e.text.starts_with('"')
        && let Some(s) = leading_quoted(&e.text)
    {
        return s;
    }
    e.text.clone()
}

/// The leading Rust-quoted string of `text`, unescaped.
fn leading_quoted(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = text.chars().skip(1);
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '0' => out.push('\0'),
                'u' => {
                    // `\u{1f600}`
                    let hex: String = chars
                        .by_ref()
                        .skip_while(|c| *c == '{')
                        .take_while(|c| *c != '}')
                        .collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// Since when the customer's last message waits: no answer from a person or the
/// automation came after it.
fn waiting_since(card: &CardView) -> Option<Timestamp> {
    let mut since = None;
    for e in &card.history {
        match e.who {
            Who::Customer => {
                if since.is_none() {
                    since = Some(e.at);
                }
            }
            Who::Bot | Who::Agent => since = None,
            Who::System => {}
        }
    }
    since
}

/// `status` and `held_by` of a card.
fn status_of(card: &CardView, open: bool) -> (&'static str, &'static str) {
    match (open, card.status, &card.agent) {
        (false, _, _) | (_, CardStatus::Closed, _) => ("closed", "automation"),
        (true, CardStatus::Open, _) => ("open", "automation"),
        (true, CardStatus::Handoff, None) => ("waiting_human", "agent"),
        (true, CardStatus::Handoff, Some(_)) => ("with_agent", "agent"),
    }
}

/// A card's summary; `None` for a contact without any card.
pub fn summary(c: &Conversation) -> Option<CardSummary> {
    let card = c.card()?;
    let (status, held_by) = status_of(card, c.is_open());
    let last = card
        .history
        .iter()
        .rev()
        .find(|e| e.who != Who::System)
        .map(|e| LastMessage {
            direction: if e.who == Who::Customer { "in" } else { "out" },
            text: entry_text(e),
            at: rfc3339(e.at),
        });
    Some(CardSummary {
        phone: e164(&c.key),
        name: c.state.contact.name.clone(),
        stage: card.stage.clone(),
        team: card.team.clone(),
        agent: card.agent.clone(),
        priority: Some(card.priority.as_str()),
        tags: c.state.contact.tags.iter().cloned().collect(),
        status,
        held_by,
        stage_since: rfc3339(card.stage_entered_at),
        waiting_since: if c.is_open() {
            waiting_since(card).map(rfc3339)
        } else {
            None
        },
        last_message: last,
        script_version: short_hash(&c.program),
    })
}

/// Why an open card needs a person, and since when; `None` when it does not.
pub fn attention(c: &Conversation, now: Timestamp) -> Option<(&'static str, Timestamp)> {
    let card = c.state.card.as_ref()?;
    // A service level's first reply that is overdue, or has less than a fifth of its
    // allowance left.
    for clock in card.slas.values() {
        for t in &clock.targets {
            if t.target != crate::compile::SlaTarget::FirstReply
                || t.status != crate::engine::SlaStatus::Running
            {
                continue;
            }
            let Some(due) = t.due else { continue };
            if due <= now {
                return Some(("first_reply_overdue", clock.started_at));
            }
            let total = due.duration_since(clock.started_at);
            let left = due.duration_since(now);
            if left.as_secs().saturating_mul(5) < total.as_secs() {
                return Some(("sla_at_risk", clock.started_at));
            }
        }
    }
    if card.status == CardStatus::Handoff
        && let Some(since) = waiting_since(card)
    {
        return Some(("handed_off_unanswered", since));
    }
    None
}

/// The window, from the customer's last message.
pub fn window(state: &StateView, now: Timestamp) -> Window {
    let closes = state
        .last_inbound
        .and_then(|t| t.checked_add(SignedDuration::from_hours(24)).ok());
    Window {
        open: closes.is_some_and(|c| now < c),
        closes_at: closes.filter(|c| now < *c).map(rfc3339),
    }
}

pub fn templates(program: &Program) -> Vec<TemplateInfo> {
    program
        .templates
        .values()
        .map(|t| TemplateInfo {
            name: t.name.clone(),
            params: t.params.clone(),
        })
        .collect()
}

fn field_kind(v: &Value) -> &'static str {
    match v {
        Value::Null | Value::Str(_) => "text",
        Value::Num(_) => "number",
        Value::Bool(_) => "boolean",
        Value::Duration(_) => "duration",
        Value::Date(_) => "date",
        Value::Clock(_) => "time",
        Value::Timestamp(_) => "timestamp",
        Value::List(_) => "list",
    }
}

fn field_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Str(s) => s.clone(),
        Value::Timestamp(t) => rfc3339(*t),
        other => other.to_string(),
    }
}

/// Everything the card page shows.
pub fn detail(
    c: &Conversation,
    history: &[HistoryRow],
    audit: &[AuditRow],
    loaded: &Loaded,
    now: Timestamp,
) -> Option<CardDetail> {
    let summary = summary(c)?;
    let card = c.card()?;
    let fields = card
        .fields
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(name, v)| FieldValue {
            name: name.clone(),
            value: field_text(v),
            kind: field_kind(v),
        })
        .collect();
    let rules = Rules::new(loaded);
    let same = short_hash(&c.program) == rules.running();
    let timers = if c.is_open() {
        let mut t: Vec<PendingTimer> = c
            .state
            .timers
            .values()
            .map(|t| rules.timer(t, same))
            .collect();
        t.sort_by(|a, b| a.fires_at.cmp(&b.fires_at));
        t
    } else {
        Vec::new()
    };
    Some(CardDetail {
        summary,
        fields,
        window: window(&c.state, now),
        templates: templates(&loaded.program),
        timers,
        timeline: super::timeline::build(history, audit, &rules),
    })
}

// ---- rules ----------------------------------------------------------------------------

/// Names handlers of the running script by line and source.
pub struct Rules<'a> {
    pub loaded: &'a Loaded,
    short: String,
}

impl<'a> Rules<'a> {
    pub fn new(loaded: &'a Loaded) -> Rules<'a> {
        Rules {
            loaded,
            short: loaded.hash_short().to_string(),
        }
    }

    pub fn running(&self) -> &str {
        &self.short
    }

    /// The rule named by a stored handler key (`{stage, trigger, sla}`), with its line
    /// when the running script has it.
    pub fn rule(&self, key: &Json, why: Option<String>, same_version: bool) -> Option<RuleRef> {
        let key: crate::compile::HandlerKey = serde_json::from_value(key.clone()).ok()?;
        let line = self
            .loaded
            .program
            .handler_by_key(&key)
            .filter(|_| same_version)
            .map(|(_, h)| line_of(&self.loaded.source, h.span.start as usize));
        // As the script writes it: `otherwise` and `after ...` stand alone, other
        // triggers follow `on`.
        let written = if key.trigger.starts_with("otherwise") || key.trigger.starts_with("after ") {
            key.trigger.clone()
        } else {
            format!("on {}", key.trigger)
        };
        let source = match (&key.sla, &key.stage) {
            (Some(sla), _) => format!("sla {sla}: {}", key.trigger),
            (None, Some(stage)) => format!("stage {stage}: {written}"),
            (None, None) => format!("anywhere: {written}"),
        };
        Some(RuleRef { line, source, why })
    }

    fn timer(&self, t: &TimerView, same_version: bool) -> PendingTimer {
        let kind = t.target.get("kind").and_then(Json::as_str).unwrap_or("");
        let (name, rule) = match kind {
            "handler" => {
                let key = t
                    .target
                    .pointer("/handler/key")
                    .cloned()
                    .unwrap_or_default();
                let trigger = key
                    .get("trigger")
                    .and_then(Json::as_str)
                    .unwrap_or("timer")
                    .to_string();
                (trigger, self.rule(&key, None, same_version))
            }
            "calltimeout" => ("webhook call timeout".to_string(), None),
            "aitimeout" => ("AI answer timeout".to_string(), None),
            "sla" => {
                let sla = t.target.get("sla").and_then(Json::as_str).unwrap_or("");
                let target = t
                    .target
                    .get("target")
                    .and_then(Json::as_str)
                    .unwrap_or("")
                    .replace('_', " ");
                (format!("service level {sla}: {target} due"), None)
            }
            other => (other.to_string(), None),
        };
        PendingTimer {
            name,
            fires_at: rfc3339(t.at),
            rule,
        }
    }
}

/// The 1-based line of a byte offset.
pub fn line_of(source: &str, offset: usize) -> usize {
    let end = offset.min(source.len());
    source.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

pub(super) fn at_ms(ms: i64) -> String {
    ms_rfc3339(ms)
}

/// The summary of a card straight from the engine's state (after a step, before it is
/// read back from storage): what live events publish.
pub fn summary_of_state(
    key: &str,
    state: &crate::engine::State,
    program_hash: &str,
) -> Option<CardSummary> {
    let value = serde_json::to_value(state).ok()?;
    let c = Conversation {
        key: key.to_string(),
        state: StateView::deserialize(&value).ok()?,
        program: program_hash.to_string(),
    };
    summary(&c)
}
