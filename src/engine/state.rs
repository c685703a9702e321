//! The engine's data: conversation state (stored by the daemon between events), the
//! events it consumes and the effects it produces.

use crate::compile::{HandlerRef, SlaTarget, Value};
use crate::syntax::span::Span;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Everything the engine remembers about one contact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub contact: Contact,
    /// The open conversation, if any.
    pub card: Option<Card>,
    /// The most recently closed conversation.
    pub last_closed: Option<Card>,
    /// How many cards this contact has had; the next card's id is this plus one.
    pub cards_opened: u64,
    /// Set by an opt-out word: no automated message goes to this contact.
    pub opted_out: bool,
    /// The customer's last message; the 24-hour service window runs from it.
    pub last_inbound: Option<Timestamp>,
    pub last_outbound: Option<Timestamp>,
    /// When the window template last went out; it goes at most once per closed window.
    #[serde(default)]
    pub window_template_at: Option<Timestamp>,
    /// Running timers by id.
    pub timers: BTreeMap<String, Timer>,
    /// Counter for outbound message and call ids, so they are deterministic.
    pub seq: u64,
}

impl State {
    /// The state of a contact the engine has never seen.
    pub fn new(contact: Contact) -> State {
        State {
            contact,
            card: None,
            last_closed: None,
            cards_opened: 0,
            opted_out: false,
            last_inbound: None,
            last_outbound: None,
            window_template_at: None,
            timers: BTreeMap::new(),
            seq: 0,
        }
    }

    /// The open card, else the last closed one.
    pub fn current_card(&self) -> Option<&Card> {
        self.card.as_ref().or(self.last_closed.as_ref())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// As received, e.g. `+5511988887777`.
    pub phone: String,
    pub name: Option<String>,
    /// ISO 3166 alpha-2 code derived from the phone number's calling code.
    pub country: Option<String>,
    /// True when the contact had a conversation before (or is known to the business).
    pub returning: bool,
    pub tags: BTreeSet<String>,
    pub attrs: BTreeMap<String, String>,
}

impl Contact {
    /// A contact from a phone number; the country comes from the calling code.
    pub fn new(phone: impl Into<String>) -> Contact {
        let phone = phone.into();
        Contact {
            country: super::country_of(&phone).map(str::to_string),
            phone,
            name: None,
            returning: false,
            tags: BTreeSet::new(),
            attrs: BTreeMap::new(),
        }
    }
}

/// One conversation (ticket): opened by the first message of a contact with no open card.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Card {
    pub id: u64,
    pub stage: String,
    pub status: CardStatus,
    pub fields: BTreeMap<String, Value>,
    pub team: Option<String>,
    pub agent: Option<String>,
    pub priority: Priority,
    pub close_reason: Option<String>,
    pub opened_at: Timestamp,
    pub stage_entered_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    /// The most recent lines of the conversation, at most [`HISTORY_WINDOW`]: the
    /// engine only appends to it; the whole history lives in the daemon's storage.
    pub history: Vec<HistoryEntry>,
    /// Where the automation waits: an `ask` for an answer, a `call` for its webhook.
    pub suspended: Option<Suspension>,
    /// Messages that arrived while a `call` was waiting; handled after it resumes.
    pub held: Vec<Inbound>,
    /// When a person first replied on this card (absent in states stored before it existed).
    #[serde(default)]
    pub first_reply_at: Option<Timestamp>,
    /// The service levels that started on this card, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub slas: BTreeMap<String, SlaClock>,
}

/// A service level running on a card: where each of its targets stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlaClock {
    /// When the card reached one of the service level's teams (or opened, without teams).
    pub started_at: Timestamp,
    pub targets: Vec<SlaTargetState>,
}

/// One target of a running service level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlaTargetState {
    pub target: SlaTarget,
    /// The hours whose open time the target counts, by name; the wall clock when absent.
    pub hours: Option<String>,
    /// When the target is breached; absent when its hours never open.
    pub due: Option<Timestamp>,
    pub status: SlaStatus,
    /// When it was met, breached or stopped.
    pub settled_at: Option<Timestamp>,
}

/// Where a service-level target stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaStatus {
    /// The clock runs.
    Running,
    /// Reached in time.
    Met,
    /// Not reached in time; the `else` ran.
    Breached,
    /// No longer applies: the card left the service level's teams, or closed before a
    /// person replied.
    Stopped,
}

impl SlaStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SlaStatus::Running => "running",
            SlaStatus::Met => "met",
            SlaStatus::Breached => "breached",
            SlaStatus::Stopped => "stopped",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CardStatus {
    /// Automation runs.
    Open,
    /// A human owns the conversation; automation stays silent.
    Handoff,
    Closed,
}

impl CardStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CardStatus::Open => "open",
            CardStatus::Handoff => "handoff",
            CardStatus::Closed => "closed",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

impl From<crate::syntax::ast::Priority> for Priority {
    fn from(p: crate::syntax::ast::Priority) -> Priority {
        use crate::syntax::ast::Priority as P;
        match p {
            P::Low => Priority::Low,
            P::Normal => Priority::Normal,
            P::High => Priority::High,
            P::Urgent => Priority::Urgent,
        }
    }
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
}

/// How many history lines a card keeps in its state.
pub const HISTORY_WINDOW: usize = 20;

/// How many characters of one history line a card keeps in its state.
pub const HISTORY_TEXT_CHARS: usize = 500;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: Timestamp,
    pub who: Who,
    pub text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Who {
    Customer,
    Bot,
    Agent,
    System,
}

/// A suspension point: where a handler resumes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Suspension {
    Ask {
        handler: HandlerRef,
        /// The instruction after the `ask`.
        resume: usize,
        fallback: Option<usize>,
        field: String,
        prompt: String,
        tries_left: u32,
    },
    Call {
        handler: HandlerRef,
        resume: usize,
        fallback: Option<usize>,
        call_id: String,
        save: Vec<String>,
        /// The webhook called (empty in states stored before it was recorded).
        #[serde(default)]
        webhook: String,
    },
    /// Waiting for an external model's pick (`classify`, `answer ... with`).
    Ai {
        handler: HandlerRef,
        resume: usize,
        fallback: Option<usize>,
        request_id: String,
        purpose: AiPurpose,
        /// The answers the script accepts, as declared.
        choices: Vec<String>,
        /// The message being classified, handed to the handler the pick runs.
        message: InboundMessage,
    },
}

/// What an AI request decides.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "purpose", rename_all = "lowercase")]
pub enum AiPurpose {
    /// Pick an intent; its `on intent` handler runs.
    Classify,
    /// Pick a section of this knowledge base; it is quoted.
    Answer { knowledge: String },
}

/// A running timer; it comes back as [`Event::Timer`] with its id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timer {
    pub at: Timestamp,
    pub target: TimerTarget,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum TimerTarget {
    /// An `after ... silence` or `after ... in stage` handler of the named stage.
    Handler { stage: String, handler: HandlerRef },
    /// The timeout of a waiting `call`.
    CallTimeout { call_id: String },
    /// The deadline of a waiting AI request.
    AiTimeout { request_id: String },
    /// The deadline of a service-level target.
    Sla { sla: String, target: SlaTarget },
}

// ---------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------

/// Something that happened to a conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A message from the customer.
    Inbound(Inbound),
    /// A timer the engine started has come due.
    Timer { id: String },
    /// WhatsApp reports the fate of a message we sent.
    Status {
        message_id: String,
        status: DeliveryStatus,
    },
    /// A human agent did something.
    Agent(AgentAction),
    /// The answer to a `call`.
    WebhookResult {
        call_id: String,
        result: WebhookResult,
    },
    /// The answer of an external model to an [`EffectKind::AskAi`].
    AiResult {
        request_id: String,
        result: AiResult,
    },
    /// An event from a business system, its payload checked by
    /// [`check_event`](super::check_event).
    Business(super::BusinessEvent),
    /// A form submission refused by [`super::forms::check`]: these inputs broke their
    /// field rules. The customer is told why; no handler runs.
    FormRefused { form: String, fields: Vec<String> },
    /// The customer reached a screen of a form (the Flow data endpoint reports it).
    FormScreen { form: String, screen: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inbound {
    /// The customer's profile name, when WhatsApp sends one.
    pub profile_name: Option<String>,
    pub message: InboundMessage,
}

impl Inbound {
    pub fn text(s: impl Into<String>) -> Inbound {
        Inbound {
            profile_name: None,
            message: InboundMessage::Text(s.into()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum InboundMessage {
    Text(String),
    /// A reply-button tap, by title.
    Button(String),
    /// A list-row choice, by title.
    ListChoice(String),
    Media {
        kind: MediaType,
        caption: Option<String>,
    },
    /// A WhatsApp Flows form submission.
    Form {
        form: String,
        values: BTreeMap<String, Value>,
    },
}

impl InboundMessage {
    /// The text the message carries (button and row titles, media captions).
    pub fn text(&self) -> Option<&str> {
        match self {
            InboundMessage::Text(s) | InboundMessage::Button(s) | InboundMessage::ListChoice(s) => {
                Some(s)
            }
            InboundMessage::Media { caption, .. } => caption.as_deref(),
            InboundMessage::Form { .. } => None,
        }
    }

    /// `message.type` in scripts.
    pub fn type_name(&self) -> &'static str {
        match self {
            InboundMessage::Text(_) => "text",
            InboundMessage::Button(_) => "button",
            InboundMessage::ListChoice(_) => "choice",
            InboundMessage::Media { kind, .. } => kind.as_str(),
            InboundMessage::Form { .. } => "form",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaType {
    Image,
    Video,
    Audio,
    Document,
    Sticker,
    Location,
    Contacts,
    /// Anything else WhatsApp may deliver (reactions, unsupported types).
    Other,
}

impl MediaType {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::Image => "image",
            MediaType::Video => "video",
            MediaType::Audio => "audio",
            MediaType::Document => "document",
            MediaType::Sticker => "sticker",
            MediaType::Location => "location",
            MediaType::Contacts => "contacts",
            MediaType::Other => "other",
        }
    }
}

impl From<crate::syntax::ast::MediaKind> for MediaType {
    fn from(m: crate::syntax::ast::MediaKind) -> MediaType {
        use crate::syntax::ast::MediaKind as M;
        match m {
            M::Image | M::AnyMedia => MediaType::Image,
            M::Video => MediaType::Video,
            M::Audio => MediaType::Audio,
            M::Document => MediaType::Document,
            M::Sticker => MediaType::Sticker,
            M::Location => MediaType::Location,
            M::Contacts => MediaType::Contacts,
        }
    }
}

/// WhatsApp's error code for a free-form message outside the 24-hour service window.
pub const WINDOW_CLOSED: u32 = 131047;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum DeliveryStatus {
    Sent,
    Delivered,
    Read,
    Failed { code: u32 },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum AgentAction {
    /// A person takes the card: the automation stays silent for it (no handler, timer
    /// or waiting step runs) until it is released.
    TakeOver {
        agent: String,
    },
    /// A free-form reply. The automation keeps the card unless it was taken over (the
    /// console takes it over before a reply, so the customer never hears two voices).
    Reply {
        agent: String,
        text: String,
    },
    /// An approved template with its parameter values in the template's order: what
    /// WhatsApp accepts once the 24-hour window is closed.
    Template {
        agent: String,
        name: String,
        params: Vec<String>,
    },
    /// An internal note: kept in the card's story (the audit), never sent; it changes
    /// nothing.
    Note {
        agent: String,
        text: String,
    },
    Tag {
        tag: String,
    },
    Untag {
        tag: String,
    },
    Resolve {
        reason: Option<String>,
    },
    Reassign {
        agent: Option<String>,
        team: Option<String>,
    },
    /// Gives the conversation back to the automation.
    Release,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum WebhookResult {
    /// The JSON answer; keys named in `save` set those fields.
    Ok {
        body: serde_json::Value,
    },
    Failed {
        reason: String,
    },
}

/// What came back from an external model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum AiResult {
    /// The model's raw answer text, before it is matched against the choices.
    Answered { raw: String },
    /// No usable answer: timeout, HTTP error, malformed body...
    Failed { reason: String },
}

// ---------------------------------------------------------------------------------------
// Effects
// ---------------------------------------------------------------------------------------

/// Something the outside world must do, with the reason it happens.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Effect {
    pub kind: EffectKind,
    pub trace: Trace,
}

/// Why an effect happened: the stage, the handler (its source span; empty for effects
/// that no handler caused, such as an opt-out) and the condition values that led there.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Trace {
    pub stage: String,
    pub handler_span: crate::syntax::span::Span,
    /// The handler's stable name; `None` when no handler caused the effect.
    pub handler: Option<crate::compile::HandlerKey>,
    pub conditions: Vec<(String, String)>,
}

impl Trace {
    pub fn none(stage: impl Into<String>) -> Trace {
        Trace {
            stage: stage.into(),
            handler_span: Span::default(),
            handler: None,
            conditions: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum EffectKind {
    /// Send a message to the customer. `id` names it in later delivery statuses.
    Send {
        id: String,
        message: OutMessage,
    },
    /// A message that was not sent, and why (window closed without a template, opt-out).
    SendFailed {
        reason: String,
        message: OutMessage,
    },
    /// Fire-and-forget webhook post (through the outbox).
    Post {
        webhook: String,
        url: String,
        body: serde_json::Value,
    },
    /// A webhook call whose answer comes back as [`Event::WebhookResult`].
    Call {
        call_id: String,
        webhook: String,
        url: String,
        body: serde_json::Value,
        timeout_secs: i64,
    },
    /// Ask an external model to pick one of `choices`; the answer comes back as
    /// [`Event::AiResult`]. The key is read by the daemon from the environment variable
    /// `key_env`; the prompt is recorded with the request.
    AskAi {
        request_id: String,
        ai: String,
        url: String,
        model: String,
        key_env: Option<String>,
        timeout_secs: i64,
        retries: u32,
        system: String,
        user: String,
        choices: Vec<String>,
    },
    /// Start (or restart, if the id runs already) a timer.
    StartTimer {
        id: String,
        at: Timestamp,
    },
    CancelTimer {
        id: String,
    },
    OpenCard {
        card: u64,
    },
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
    SetPriority {
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
    /// The agent gave the conversation back to the automation.
    Release,
    Close {
        reason: Option<String>,
    },
    OptOut,
    OptIn,
    /// A counter for the funnel: `name` with labels.
    Metric {
        name: String,
        labels: Vec<(String, String)>,
    },
    /// Something went wrong that a person should see (step budget, failed call...).
    Error {
        message: String,
    },
    /// Something that happened which no other effect shows; card events are derived
    /// from it (`engine::events`). Nothing to perform.
    Fact(Fact),
}

/// A step of the conversation worth measuring that leaves no other trace in the effects.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum Fact {
    /// An `ask` sent its prompt and waits for the field.
    Asked { field: String },
    /// The answer to an `ask` validated and set the field.
    Answered { field: String },
    /// The answer to an `ask` did not validate; `tries_left` is 0 when the `ask` gave up.
    AnswerRefused { field: String, tries_left: u32 },
    /// An `otherwise` handler took the message: no specific rule did.
    Otherwise,
    /// No handler took the message at all.
    Unanswered,
    /// A form submission reached the conversation and set its fields.
    FormSubmitted { form: String },
    /// A form submission was refused: these inputs broke their field rules.
    FormRefused { form: String, fields: Vec<String> },
    /// The customer reached this screen of a form (reported by the Flow data endpoint).
    FormScreen { form: String, screen: String },
    /// A `call` got its answer.
    CallAnswered { webhook: String },
    /// A `call` failed or timed out (`reason` is `timeout` then).
    CallFailed { webhook: String, reason: String },
    /// A free-form message went as the window template because the 24-hour window was closed.
    WindowFallback { template: String },
    /// A person replied on the card for the first time.
    FirstHumanReply { agent: String },
    /// A service-level target started; `due` is its deadline (none when its hours never
    /// open).
    SlaStarted {
        sla: String,
        target: SlaTarget,
        due: Option<Timestamp>,
    },
    /// A service-level target was met, `wall_secs` (and `business_secs` of its clock's
    /// hours) after it started.
    SlaMet {
        sla: String,
        target: SlaTarget,
        wall_secs: i64,
        business_secs: Option<i64>,
    },
    /// A service-level target passed its deadline.
    SlaBreached { sla: String, target: SlaTarget },
    /// A service-level target no longer applies (`reason` says why).
    SlaStopped {
        sla: String,
        target: SlaTarget,
        reason: String,
    },
}

/// A message to send, fully built.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutMessage {
    Text {
        body: String,
    },
    Buttons {
        body: String,
        buttons: Vec<String>,
    },
    List {
        body: String,
        button: String,
        rows: Vec<String>,
    },
    Template {
        name: String,
        wa_name: String,
        lang: String,
        params: Vec<String>,
    },
    Form {
        form: String,
        title: String,
        body: String,
    },
}

impl OutMessage {
    /// The visible text: the body, or the template name.
    pub fn body(&self) -> &str {
        match self {
            OutMessage::Text { body }
            | OutMessage::Buttons { body, .. }
            | OutMessage::List { body, .. }
            | OutMessage::Form { body, .. } => body,
            OutMessage::Template { name, .. } => name,
        }
    }

    /// Free-form messages need the 24-hour window; templates do not.
    pub fn is_free_form(&self) -> bool {
        !matches!(self, OutMessage::Template { .. })
    }
}

impl std::fmt::Display for OutMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutMessage::Text { body } => write!(f, "{body:?}"),
            OutMessage::Buttons { body, buttons } => {
                write!(f, "{body:?} [{}]", buttons.join(" | "))
            }
            OutMessage::List { body, button, rows } => {
                write!(f, "{body:?} list {button:?} [{}]", rows.join(" | "))
            }
            OutMessage::Template { name, params, .. } => {
                write!(f, "template {name}({})", params.join(", "))
            }
            OutMessage::Form { form, body, .. } => write!(f, "form {form} {body:?}"),
        }
    }
}
