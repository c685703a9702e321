//! What the outbox carries: the one definition of an outbound request. Effects of a step
//! become [`OutboxItem`]s; the store persists them (versioned, see
//! `store::persisted`), and the sender performs them.

use crate::daemon::wire::outbound::OutMessage as WireOut;
use serde::{Deserialize, Serialize};

/// One outbound request of a contact, performed in order with the contact's others.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OutboxItem {
    /// A WhatsApp message (or a read receipt) through the channel.
    Whatsapp {
        /// E.164 number of the recipient.
        to: String,
        /// The engine's id of the message (empty for receipts); statuses refer to it.
        engine_id: String,
        message: WireOut,
    },
    /// A `post` or `call` to one of the script's webhooks.
    Webhook {
        webhook: String,
        url: String,
        body: serde_json::Value,
        /// Present for a `call`: its answer resumes the waiting handler.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_secs: Option<i64>,
    },
    /// A request to an external model (an AI step).
    Ai {
        request_id: String,
        ai: String,
        url: String,
        model: String,
        #[serde(default)]
        key_env: Option<String>,
        timeout_secs: i64,
        #[serde(default)]
        retries: u32,
        system: String,
        user: String,
        #[serde(default)]
        choices: Vec<String>,
    },
}

/// The kind of an outbox item, as stored in its own column (stable names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutboxKind {
    Whatsapp,
    Webhook,
    Ai,
}

impl OutboxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxKind::Whatsapp => "whatsapp",
            OutboxKind::Webhook => "webhook",
            OutboxKind::Ai => "ai",
        }
    }

    pub fn parse(s: &str) -> Option<OutboxKind> {
        match s {
            "whatsapp" => Some(OutboxKind::Whatsapp),
            "webhook" => Some(OutboxKind::Webhook),
            "ai" => Some(OutboxKind::Ai),
            _ => None,
        }
    }
}

impl OutboxItem {
    pub fn kind(&self) -> OutboxKind {
        match self {
            OutboxItem::Whatsapp { .. } => OutboxKind::Whatsapp,
            OutboxItem::Webhook { .. } => OutboxKind::Webhook,
            OutboxItem::Ai { .. } => OutboxKind::Ai,
        }
    }

    /// The engine's message id of a WhatsApp send ("" otherwise).
    pub fn engine_id(&self) -> &str {
        match self {
            OutboxItem::Whatsapp { engine_id, .. } => engine_id,
            _ => "",
        }
    }
}
