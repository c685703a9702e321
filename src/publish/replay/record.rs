//! A recorded conversation: what replay and `--save-test` read. The daemon fills it from
//! its audit of engine steps — each step's input event at its instant, and the effects
//! the live bot produced — so the shape follows that log: one [`Turn`] per step.
//!
//! Everything in it is named by stable names (stages, handler keys), never by positions
//! in a program, and the record carries its version: a recording made by one release is
//! read by the next.

use crate::compile::{HandlerKey, Value};
use crate::engine::{Effect, EffectKind, Event, OutMessage, Priority, State};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The version of [`Recording`] this release writes.
pub const RECORDING_VERSION: u32 = 1;

/// One contact's recorded conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recording {
    /// The record's format version ([`RECORDING_VERSION`]).
    pub v: u32,
    /// The contact's phone number, as the daemon knows it.
    pub contact: String,
    /// The contact's state before the first turn. Replay starts from it, so it must hold
    /// no open card: recordings start where a card opens, or with the contact's first
    /// event.
    pub start: State,
    /// Every input the engine got, in order, with what the live bot did.
    pub turns: Vec<Turn>,
    /// Until when the recording is complete. Timers the candidate starts that are due
    /// before this instant fire in replay even when the live bot had none; `None` means
    /// the instant of the last turn.
    #[serde(default)]
    pub until: Option<Timestamp>,
    /// The content hash of the revision the live bot ran, when known.
    #[serde(default)]
    pub revision: Option<String>,
}

/// One engine step of the live bot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    /// When the step ran.
    pub at: Timestamp,
    /// What came in: a customer's message or form, a timer firing, a delivery status, an
    /// agent's action, a webhook's answer, a business event.
    pub input: Event,
    /// What the live bot did, in order.
    pub outputs: Vec<Output>,
}

/// One effect of a live step, with the stage and handler that caused it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Output {
    /// The stage the card was in when the effect happened.
    pub stage: String,
    /// The handler that caused it; `None` for effects no handler caused (opt-out).
    #[serde(default)]
    pub handler: Option<HandlerKey>,
    #[serde(flatten)]
    pub kind: OutputKind,
}

/// What a live step did. Metrics and facts (what card events are derived from) are left
/// out: they change nothing a customer sees.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "output", rename_all = "snake_case")]
pub enum OutputKind {
    Send {
        id: String,
        message: OutMessage,
    },
    NotSent {
        reason: String,
        message: OutMessage,
    },
    Post {
        webhook: String,
        body: serde_json::Value,
    },
    Call {
        call_id: String,
        webhook: String,
        body: serde_json::Value,
    },
    StartTimer {
        id: String,
        at: Timestamp,
    },
    CancelTimer {
        id: String,
    },
    OpenCard,
    StageChanged {
        from: String,
        to: String,
    },
    Route {
        team: String,
        priority: Option<Priority>,
    },
    Assign {
        agent: String,
    },
    Priority {
        priority: Priority,
    },
    Tag {
        tag: String,
    },
    Untag {
        tag: String,
    },
    SetField {
        field: String,
        value: Value,
    },
    Handoff {
        team: Option<String>,
    },
    Release,
    Close {
        reason: Option<String>,
    },
    OptOut,
    OptIn,
    Error {
        message: String,
    },
}

impl Output {
    /// The record of an engine effect; `None` for metrics.
    pub fn from_effect(e: &Effect) -> Option<Output> {
        let kind = match &e.kind {
            EffectKind::Send { id, message } => OutputKind::Send {
                id: id.clone(),
                message: message.clone(),
            },
            EffectKind::SendFailed { reason, message } => OutputKind::NotSent {
                reason: reason.clone(),
                message: message.clone(),
            },
            EffectKind::Post { webhook, body, .. } => OutputKind::Post {
                webhook: webhook.clone(),
                body: body.clone(),
            },
            EffectKind::Call {
                call_id,
                webhook,
                body,
                ..
            } => OutputKind::Call {
                call_id: call_id.clone(),
                webhook: webhook.clone(),
                body: body.clone(),
            },
            // An AI request is recorded like a call: the endpoint, and what it was asked.
            EffectKind::AskAi {
                request_id,
                ai,
                system,
                user,
                choices,
                ..
            } => OutputKind::Call {
                call_id: request_id.clone(),
                webhook: ai.clone(),
                body: serde_json::json!({ "system": system, "user": user, "choices": choices }),
            },
            EffectKind::StartTimer { id, at } => OutputKind::StartTimer {
                id: id.clone(),
                at: *at,
            },
            EffectKind::CancelTimer { id } => OutputKind::CancelTimer { id: id.clone() },
            EffectKind::OpenCard { .. } => OutputKind::OpenCard,
            EffectKind::StageChanged { from, to } => OutputKind::StageChanged {
                from: from.clone(),
                to: to.clone(),
            },
            EffectKind::Route { team, priority } => OutputKind::Route {
                team: team.clone(),
                priority: *priority,
            },
            EffectKind::Assign { agent } => OutputKind::Assign {
                agent: agent.clone(),
            },
            EffectKind::SetPriority { priority } => OutputKind::Priority {
                priority: *priority,
            },
            EffectKind::Tag { tag } => OutputKind::Tag { tag: tag.clone() },
            EffectKind::Untag { tag } => OutputKind::Untag { tag: tag.clone() },
            EffectKind::SetField { field, value } => OutputKind::SetField {
                field: field.clone(),
                value: value.clone(),
            },
            EffectKind::Handoff { team } => OutputKind::Handoff { team: team.clone() },
            EffectKind::Release => OutputKind::Release,
            EffectKind::Close { reason } => OutputKind::Close {
                reason: reason.clone(),
            },
            EffectKind::OptOut => OutputKind::OptOut,
            EffectKind::OptIn => OutputKind::OptIn,
            EffectKind::Error { message } => OutputKind::Error {
                message: message.clone(),
            },
            EffectKind::Metric { .. } | EffectKind::Fact(_) => return None,
        };
        Some(Output {
            stage: e.trace.stage.clone(),
            handler: e.trace.handler.clone(),
            kind,
        })
    }

    /// Whether a customer, an agent or a business system could tell this effect apart:
    /// timers are the engine's own bookkeeping.
    pub fn is_observable(&self) -> bool {
        !matches!(
            self.kind,
            OutputKind::StartTimer { .. } | OutputKind::CancelTimer { .. }
        )
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            OutputKind::Send { message, .. } => write!(f, "< {message}"),
            OutputKind::NotSent { reason, message } => {
                write!(f, "! not sent ({reason}): {message}")
            }
            OutputKind::Post { webhook, body } => write!(f, "post {webhook} {body}"),
            OutputKind::Call { webhook, body, .. } => write!(f, "call {webhook} {body}"),
            OutputKind::StartTimer { id, .. } => write!(f, "timer {id}"),
            OutputKind::CancelTimer { id } => write!(f, "cancel timer {id}"),
            OutputKind::OpenCard => f.write_str("card opened"),
            OutputKind::StageChanged { from, to } => write!(f, "stage {from} -> {to}"),
            OutputKind::Route { team, priority } => match priority {
                Some(p) => write!(f, "routed {team} priority {}", p.as_str()),
                None => write!(f, "routed {team}"),
            },
            OutputKind::Assign { agent } => write!(f, "assigned {agent:?}"),
            OutputKind::Priority { priority } => write!(f, "priority {}", priority.as_str()),
            OutputKind::Tag { tag } => write!(f, "tagged {tag:?}"),
            OutputKind::Untag { tag } => write!(f, "untagged {tag:?}"),
            OutputKind::SetField { field, value } => {
                write!(f, "set {field} = {:?}", value.to_string())
            }
            OutputKind::Handoff { team } => match team {
                Some(t) => write!(f, "handoff {t}"),
                None => f.write_str("handoff"),
            },
            OutputKind::Release => f.write_str("released to automation"),
            OutputKind::Close { reason } => match reason {
                Some(r) => write!(f, "closed {r:?}"),
                None => f.write_str("closed"),
            },
            OutputKind::OptOut => f.write_str("opted out"),
            OutputKind::OptIn => f.write_str("opted in"),
            OutputKind::Error { message } => write!(f, "! error: {message}"),
        }
    }
}

/// What came in, in one line: `> "text"`, `> tap "Billing"`, `timer triage/silence`.
pub fn describe_input(e: &Event) -> String {
    use crate::engine::{AgentAction, InboundMessage, WebhookResult};
    match e {
        Event::Inbound(inb) => match &inb.message {
            InboundMessage::Text(t) => format!("> {t:?}"),
            InboundMessage::Button(t) => format!("> tap {t:?}"),
            InboundMessage::ListChoice(t) => format!("> choose {t:?}"),
            InboundMessage::Media { kind, .. } => format!("> {}", kind.as_str()),
            InboundMessage::Form { form, .. } => format!("> submit {form}"),
        },
        Event::Timer { id } => format!("timer {id}"),
        Event::Status { message_id, status } => format!("status {message_id} {status:?}"),
        Event::Agent(a) => match a {
            AgentAction::Reply { agent, text } => format!("agent {agent} replies {text:?}"),
            AgentAction::Resolve { reason } => format!("agent resolves {reason:?}"),
            AgentAction::Reassign { agent, team } => format!("agent reassigns {agent:?} {team:?}"),
            AgentAction::Release => "agent releases".into(),
            AgentAction::TakeOver { agent } => format!("agent {agent} takes over"),
            AgentAction::Template {
                agent,
                name,
                params,
            } => format!("agent {agent} sends template {name}({})", params.join(", ")),
            AgentAction::Note { agent, .. } => format!("agent {agent} notes"),
            AgentAction::Tag { tag } => format!("agent tags {tag}"),
            AgentAction::Untag { tag } => format!("agent untags {tag}"),
        },
        Event::WebhookResult { call_id, result } => match result {
            WebhookResult::Ok { body } => format!("webhook answers {call_id}: {body}"),
            WebhookResult::Failed { reason } => format!("webhook {call_id} failed: {reason}"),
        },
        Event::FormRefused { form, fields } => {
            format!("> submit {form} (refused: {})", fields.join(", "))
        }
        Event::FormScreen { form, screen } => format!("form {form} at screen {screen}"),
        Event::AiResult { request_id, result } => match result {
            crate::engine::AiResult::Answered { raw } => {
                format!("ai answers {request_id}: {raw:?}")
            }
            crate::engine::AiResult::Failed { reason } => {
                format!("ai {request_id} failed: {reason}")
            }
        },
        Event::Business(ev) => format!(
            "event {} {}",
            ev.name,
            serde_json::Value::Object(
                ev.payload
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect()
            )
        ),
    }
}
