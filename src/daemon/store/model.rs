//! Typed records that cross the [`Store`](super::Store) seam. Backends turn them into rows
//! and back; nothing above the seam sees SQL or JSON column layouts.

use super::persisted::{ConversationBody, HandlerName};
use crate::daemon::outbox::item::{OutboxItem, OutboxKind};

/// An inbound message to store: the dedupe key, the contact, and the decoded message.
#[derive(Clone, Debug)]
pub struct NewInbound {
    pub wamid: String,
    pub contact: String,
    /// The decoded message (`wire::inbound::InMessage`) as JSON.
    pub payload: String,
}

/// A stored inbound message waiting for (or done with) the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboundRow {
    pub seq: i64,
    pub wamid: String,
    pub contact: String,
    pub payload: String,
}

/// A delivery status to store (deduplicated by wamid + status).
#[derive(Clone, Debug)]
pub struct NewStatus {
    pub wamid: String,
    pub status: String,
    pub at: i64,
    pub payload: String,
}

/// One batch of webhook content, stored atomically.
#[derive(Clone, Debug, Default)]
pub struct IngestBatch {
    pub messages: Vec<NewInbound>,
    pub statuses: Vec<NewStatus>,
    /// Changes wafl does not handle, kept for inspection as `(kind, raw)`.
    pub unknown: Vec<(String, String)>,
}

/// What one ingest batch did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestResult {
    pub new_messages: Vec<InboundRow>,
    pub duplicate_messages: usize,
    pub new_statuses: Vec<NewStatusRef>,
    pub duplicate_statuses: usize,
}

/// A status that was new.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewStatusRef {
    pub wamid: String,
    pub status: String,
}

/// The rank of a delivery status: a message's status only ever moves up
/// (`sent` < `delivered` < `read`), and `failed` is final.
pub fn status_rank(status: &str) -> i64 {
    match status {
        "accepted" => 0,
        "sent" => 1,
        "delivered" => 2,
        "read" | "played" => 3,
        "failed" => 4,
        _ => -1,
    }
}

/// An outbox row to create.
#[derive(Clone, Debug)]
pub struct NewOutbox {
    pub contact: String,
    pub item: OutboxItem,
    /// Stable across retries and restarts: it is what receivers deduplicate on.
    pub idem_key: String,
}

/// Where an outbox row stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutboxState {
    Pending,
    Inflight,
    Done,
    Dead,
}

impl OutboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Inflight => "inflight",
            OutboxState::Done => "done",
            OutboxState::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<OutboxState> {
        match s {
            "pending" => Some(OutboxState::Pending),
            "inflight" => Some(OutboxState::Inflight),
            "done" => Some(OutboxState::Done),
            "dead" => Some(OutboxState::Dead),
            _ => None,
        }
    }
}

/// A claimed outbox row: the head of its contact's queue, now in flight.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxRow {
    pub id: i64,
    pub contact: String,
    pub item: OutboxItem,
    pub idem_key: String,
    /// Attempts made, this one included.
    pub attempts: i64,
    /// When the row was created (or last resent from the dead letters): the retry
    /// horizon counts from here.
    pub created_ms: i64,
}

/// How an attempt at an outbox row ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Settlement {
    /// The receiver took it. For a WhatsApp message: the wamid it got and the body for
    /// the history (`None` for receipts, which are not history).
    Done {
        wamid: Option<String>,
        history: Option<String>,
    },
    /// Try again at `next_ms`; the contact's later rows wait behind it.
    Retry { next_ms: i64, error: String },
    /// Given up: a dead letter, visible and resendable. `history` says, in the card's
    /// history, what never went out and why.
    Dead {
        error: String,
        history: Option<String>,
    },
    /// Send this instead, now (e.g. the window template after the window closed).
    Replace { item: OutboxItem, note: String },
}

/// An outbox row that was given up on.
#[derive(Clone, Debug, PartialEq)]
pub struct DeadLetter {
    pub id: i64,
    pub contact: String,
    pub kind: OutboxKind,
    pub idem_key: String,
    pub attempts: i64,
    pub error: Option<String>,
    pub created_ms: i64,
    pub item: Option<OutboxItem>,
}

/// Which dead letters to send again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeadLetterSelection {
    One(i64),
    All,
}

/// The contact and item of the outbox row a status refers to.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxRef {
    pub id: i64,
    pub contact: String,
    pub item: OutboxItem,
}

/// A timer row: fires `timer` of `contact` at `due_ms`.
#[derive(Clone, Debug, PartialEq)]
pub struct TimerRow {
    /// Unique per contact and timer: `contact|timer`.
    pub id: String,
    pub contact: String,
    pub due_ms: i64,
    /// The engine's timer id.
    pub timer: String,
}

/// A line of a card's history written by a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewHistory {
    /// `out-failed`: a reply the engine could not send (and why).
    pub direction: String,
    pub body: String,
}

/// Everything one engine step changes, written atomically.
#[derive(Clone, Debug)]
pub struct StepWrite {
    pub contact: String,
    /// The inbound row this step consumed, marked processed.
    pub inbound_seq: Option<i64>,
    /// The new conversation state, with the program hash it was made with.
    pub conversation: ConversationBody,
    pub stage: Option<String>,
    pub outbox: Vec<NewOutbox>,
    pub timers_set: Vec<TimerRow>,
    pub timers_cancelled: Vec<String>,
    /// A fired timer to delete (its row id and due instant).
    pub timer_done: Option<(String, i64)>,
    pub history: Vec<NewHistory>,
    pub audit_event: String,
    pub audit_effects: String,
    pub script_hash: String,
    /// Flow tokens issued by this step's form sends.
    pub tokens_issued: Vec<FlowToken>,
    /// A flow token this step consumed (an accepted form submission).
    pub token_used: Option<String>,
    /// Rejected input to keep for inspection, as `(kind, raw)`.
    pub rejected: Vec<(String, String)>,
    /// The person whose action this step ran (an agent's e-mail or `manager`); `None`
    /// for the automation.
    pub actor: Option<String>,
}

impl StepWrite {
    pub fn new(contact: &str, conversation: ConversationBody, script_hash: &str) -> StepWrite {
        StepWrite {
            contact: contact.to_string(),
            inbound_seq: None,
            conversation,
            stage: None,
            outbox: Vec::new(),
            timers_set: Vec::new(),
            timers_cancelled: Vec::new(),
            timer_done: None,
            history: Vec::new(),
            audit_event: "null".into(),
            audit_effects: "[]".into(),
            script_hash: script_hash.to_string(),
            tokens_issued: Vec::new(),
            token_used: None,
            rejected: Vec::new(),
            actor: None,
        }
    }
}

/// What a stored step produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepApplied {
    /// Ids of the outbox rows created (rows whose key existed are not repeated).
    pub outbox_ids: Vec<i64>,
}

/// A flow token: what it was issued for, and when it was used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowToken {
    pub token: String,
    pub contact: String,
    pub form: String,
    pub card_id: i64,
    pub issued_ms: i64,
    pub used_ms: Option<i64>,
}

/// A stored conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredConversation {
    pub contact: String,
    pub stage: Option<String>,
    pub body: ConversationBody,
    pub updated_ms: i64,
}

/// One line of a contact's history, inbound and outbound merged in time order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryRow {
    /// `in`, `out`, `out-failed` (never sent: the engine refused) or `out-dead` (given up).
    pub direction: String,
    pub wamid: Option<String>,
    pub body: String,
    pub status: Option<String>,
    pub at_ms: i64,
}

/// One engine step of a contact, as audited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    pub at_ms: i64,
    pub script_hash: String,
    pub event: String,
    pub effects: String,
    /// Who acted (an agent's e-mail or `manager`); `None` for the automation.
    pub actor: Option<String>,
}

/// An agent's console account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentAccount {
    /// Lower case; what the agent signs in with and the script's teams list.
    pub email: String,
    pub name: String,
    /// Teams of the script the agent works in.
    pub teams: Vec<String>,
    /// Argon2id, as a PHC string.
    pub password_hash: String,
    pub created_ms: i64,
}

/// A console session as stored: the SHA-256 of its id (the id itself is only in the
/// browser's cookie), who it is, and its CSRF token.
#[derive(Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    pub id_hash: String,
    /// An agent's e-mail, or `manager`.
    pub user: String,
    pub csrf: String,
    pub created_ms: i64,
    pub seen_ms: i64,
}

impl std::fmt::Debug for ConsoleSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleSession")
            .field("user", &self.user)
            .field("created_ms", &self.created_ms)
            .field("seen_ms", &self.seen_ms)
            .finish_non_exhaustive()
    }
}

/// How many cards wait (in an `ask`, `call` or AI step) inside one handler version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitingCount {
    pub handler: HandlerName,
    pub cards: u64,
}

/// Counts of the outbox by state, for metrics and the console.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub pending: i64,
    pub inflight: i64,
    pub dead: i64,
}

/// Stored messages not processed yet ([`super::Store::inbound_backlog`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backlog {
    pub messages: i64,
    /// When the oldest of them was received (ms); `None` without any.
    pub oldest_ms: Option<i64>,
}
