//! The abstract syntax tree of a `.flow` file. Every node carries a [`Span`].
//!
//! The tree is what the parser could build: a broken block is left out (and reported),
//! so later stages always get a tree. Values are kept raw where their validity is a
//! checker question (clock times, dates, regex sources, time zones), so that the checker
//! can explain the problem with the right code.

use super::span::Span;
use super::vocab;

/// A whole source file.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct File {
    pub items: Vec<Item>,
    pub span: Span,
}

/// One top-level declaration.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Flow(FlowDecl),
    Hours(HoursDecl),
    Team(TeamDecl),
    Field(FieldDecl),
    Template(TemplateDecl),
    Webhook(WebhookDecl),
    Form(FormDecl),
    Intent(IntentDecl),
    Knowledge(KnowledgeDecl),
    Ai(AiDecl),
    Event(EventDecl),
    Stage(StageDecl),
    Anywhere(AnywhereDecl),
    Migrate(MigrateDecl),
    Test(TestDecl),
    Sla(SlaDecl),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Flow(d) => d.span,
            Item::Hours(d) => d.span,
            Item::Team(d) => d.span,
            Item::Field(d) => d.span,
            Item::Template(d) => d.span,
            Item::Webhook(d) => d.span,
            Item::Form(d) => d.span,
            Item::Intent(d) => d.span,
            Item::Knowledge(d) => d.span,
            Item::Ai(d) => d.span,
            Item::Event(d) => d.span,
            Item::Stage(d) => d.span,
            Item::Anywhere(d) => d.span,
            Item::Migrate(d) => d.span,
            Item::Test(d) => d.span,
            Item::Sla(d) => d.span,
        }
    }
}

/// A name written by the user: a stage, field, team, template, webhook, form or hours.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A string literal. `value` is the unescaped text with `{...}` kept verbatim; `parts`
/// splits it into literal text and interpolated expressions.
#[derive(Clone, Debug, PartialEq)]
pub struct Text {
    pub value: String,
    pub parts: Vec<TextPart>,
    pub span: Span,
}

impl Text {
    /// True when the string has no `{...}` interpolation.
    pub fn is_plain(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, TextPart::Lit(_)))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum TextPart {
    /// Literal text, escapes already resolved.
    Lit(String),
    /// `{expr}` inside a string.
    Interp(Expr),
}

/// `/.../`: the pattern source between the slashes, with `\/` turned into `/`.
#[derive(Clone, Debug, PartialEq)]
pub struct RegexLit {
    pub source: String,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NumLit {
    pub value: f64,
    pub span: Span,
}

/// `10m`, `24h`, `1h30m`, `2d`, `45s`, as a number of seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DurationLit {
    pub seconds: u64,
    pub span: Span,
}

/// `09:00` as written; the checker validates the range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockLit {
    pub hour: u32,
    pub minute: u32,
    pub span: Span,
}

/// `2026-12-25` as written; the checker validates that the day exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateLit {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub span: Span,
}

/// `env("NAME")`: a secret read from the environment at run time, never written in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvRef {
    pub var: Text,
    pub span: Span,
}

// ---------------------------------------------------------------------------------------
// Declarations
// ---------------------------------------------------------------------------------------

/// `flow "Acme Support" { timezone "America/Sao_Paulo" ... }`
#[derive(Clone, Debug, PartialEq)]
pub struct FlowDecl {
    pub name: Text,
    pub settings: Vec<FlowSetting>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FlowSetting {
    pub kind: FlowSettingKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FlowSettingKind {
    /// `timezone "America/Sao_Paulo"`
    Timezone(Text),
    /// `start entry`: the stage a new card enters (default: the first stage).
    Start(Ident),
    /// `optout "STOP", "SAIR"`: words that stop all automated sends to the contact.
    OptOut(Vec<Text>),
    /// `optin "START", "VOLTAR"`: words that lift an opt-out.
    OptIn(Vec<Text>),
    /// `window template back_soon`: sent instead of a free-form message when the 24-hour
    /// service window is closed.
    WindowTemplate(Ident),
    /// `budget 200`: the step budget per event.
    Budget(NumLit),
    /// `intents threshold 0.5 margin 0.1`: how sure the intent classifier must be.
    Intents {
        threshold: Option<NumLit>,
        margin: Option<NumLit>,
    },
}

/// `hours office { mon-fri 09:00-18:00; sat 09:00-12:00; closed 2026-12-25 }`
#[derive(Clone, Debug, PartialEq)]
pub struct HoursDecl {
    pub name: Ident,
    pub timezone: Option<Text>,
    pub rules: Vec<HoursRule>,
    pub closed: Vec<DateLit>,
    pub span: Span,
}

/// `mon-fri 09:00-18:00` or `mon, wed 14:00-02:00` (an end before the start crosses midnight).
#[derive(Clone, Debug, PartialEq)]
pub struct HoursRule {
    pub days: Vec<DaySpec>,
    pub from: ClockLit,
    pub to: ClockLit,
    pub span: Span,
}

/// `mon` or `mon-fri`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DaySpec {
    pub from: Weekday,
    pub to: Option<Weekday>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

/// `team billing { agents "ana@acme.com", "joao@acme.com"; hours office }`
#[derive(Clone, Debug, PartialEq)]
pub struct TeamDecl {
    pub name: Ident,
    pub agents: Vec<Text>,
    pub hours: Option<Ident>,
    pub span: Span,
}

/// `field order: text matching /^[A-Z]{2}[0-9]{6}$/ invalid "..."`
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDecl {
    pub name: Ident,
    pub ty: FieldType,
    /// Shown to the customer when an answer does not validate.
    pub invalid: Option<Text>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FieldType {
    pub kind: FieldKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FieldKind {
    /// `text [matching /re/] [length between N and M]`
    Text {
        pattern: Option<RegexLit>,
        length: Option<(NumLit, NumLit)>,
    },
    /// `number [between N and M]`
    Number { range: Option<(NumLit, NumLit)> },
    /// `email`
    Email,
    /// `phone`
    Phone,
    /// `date [past|future] [after BOUND] [before BOUND]`
    Date {
        after: Option<DateBound>,
        before: Option<DateBound>,
    },
    /// `choice "low", "normal", "high"`
    Choice(Vec<Text>),
    /// `yesno`
    YesNo,
}

/// A bound of a date field: `today` or a fixed date. `past` is `before today`, `future`
/// is `after today`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DateBound {
    Today(Span),
    Date(DateLit),
}

/// `template back_soon "we_are_back" lang "pt_BR" with name, order`
#[derive(Clone, Debug, PartialEq)]
pub struct TemplateDecl {
    pub name: Ident,
    /// The template name approved in WhatsApp Manager.
    pub wa_name: Text,
    pub lang: Text,
    /// Names of the body parameters `{{1}}`, `{{2}}`…, in order.
    pub params: Vec<Ident>,
    pub span: Span,
}

/// `webhook crm "https://..." { secret env("CRM_SECRET"); retry 5 every 30s; timeout 10s }`
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookDecl {
    pub name: Ident,
    pub url: Text,
    pub secret: Option<EnvRef>,
    pub retry: Option<RetryPolicy>,
    pub timeout: Option<DurationLit>,
    pub span: Span,
}

/// `retry 5 every 30s`: at most 5 attempts, backoff starting at 30 seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    pub attempts: NumLit,
    pub backoff: Option<DurationLit>,
    pub span: Span,
}

/// `form booking "Book a visit" { screen "When" { ... } ... }`
#[derive(Clone, Debug, PartialEq)]
pub struct FormDecl {
    pub name: Ident,
    pub title: Text,
    /// `data slots [timeout 3s]`: where the Flow data endpoint gets live screen data.
    pub data: Option<FormData>,
    pub screens: Vec<Screen>,
    pub span: Span,
}

/// The live-data source of a form: a declared webhook, called by the daemon's Flow data
/// endpoint with a timeout; on failure the screens show their static content.
#[derive(Clone, Debug, PartialEq)]
pub struct FormData {
    pub webhook: Ident,
    pub timeout: Option<DurationLit>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Screen {
    pub title: Text,
    pub inputs: Vec<FormInput>,
    pub span: Span,
}

/// `day: date "Preferred day" after today [optional]`, or a bare `email` that reuses the
/// declared field of that name.
#[derive(Clone, Debug, PartialEq)]
pub struct FormInput {
    pub name: Ident,
    /// `None` for a bare reuse of a declared field.
    pub label: Option<Text>,
    pub ty: Option<FieldType>,
    pub optional: bool,
    pub span: Span,
}

/// `intent refund { examples "quero meu dinheiro de volta", "refund"; threshold 0.6 }`
#[derive(Clone, Debug, PartialEq)]
pub struct IntentDecl {
    pub name: Ident,
    /// Every example, from every `examples` line, in order.
    pub examples: Vec<Text>,
    /// This intent's own confidence threshold, over the flow's.
    pub threshold: Option<NumLit>,
    pub span: Span,
}

/// `knowledge faq from "faq.md"`: a Markdown file whose sections are the answers.
#[derive(Clone, Debug, PartialEq)]
pub struct KnowledgeDecl {
    pub name: Ident,
    /// The path as written, relative to the script's folder.
    pub path: Text,
    pub span: Span,
}

/// `ai helper "https://.../v1/chat/completions" { model "m"; key env("K"); timeout 10s; retry 2 }`
#[derive(Clone, Debug, PartialEq)]
pub struct AiDecl {
    pub name: Ident,
    /// An OpenAI-compatible chat completions URL.
    pub url: Text,
    pub model: Option<Text>,
    pub key: Option<EnvRef>,
    pub timeout: Option<DurationLit>,
    /// Attempts after the first one.
    pub retry: Option<NumLit>,
    pub span: Span,
}

/// `event order_shipped { order: text; eta: date optional }`: something a business system
/// sends to a contact, with a typed payload.
#[derive(Clone, Debug, PartialEq)]
pub struct EventDecl {
    pub name: Ident,
    pub keys: Vec<EventKey>,
    pub span: Span,
}

/// `eta: date future optional`: one key of an event's payload, typed like a field.
#[derive(Clone, Debug, PartialEq)]
pub struct EventKey {
    pub name: Ident,
    pub ty: FieldType,
    /// An optional key may be left out of the payload; then it reads as unset.
    pub optional: bool,
    pub span: Span,
}

/// `migrate { rules }`: what publishing does with open cards the new revision cannot take
/// over as they are.
#[derive(Clone, Debug, PartialEq)]
pub struct MigrateDecl {
    pub rules: Vec<MigrateRule>,
    pub span: Span,
}

/// `stage triage goto intake`, `stage legacy keep`, `otherwise close "moved" template t`.
#[derive(Clone, Debug, PartialEq)]
pub struct MigrateRule {
    /// The old stage the rule is for; `None` for `otherwise`.
    pub stage: Option<Ident>,
    pub action: MigrateAction,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum MigrateAction {
    /// `goto STAGE`: the card moves to a stage of the new revision.
    Goto(Ident),
    /// `keep`: the card finishes on the revision it started on.
    Keep,
    /// `close ["reason"] [template NAME(args)]`: the card is closed, the template sent.
    Close {
        reason: Option<Text>,
        template: Option<Message>,
    },
}

/// `sla billing_desk for billing { first reply within 2h inside office else { ... } }`:
/// service-level targets of the cards of some teams (of every card without `for`).
#[derive(Clone, Debug, PartialEq)]
pub struct SlaDecl {
    pub name: Ident,
    /// `for billing, technical`; empty for every card.
    pub teams: Vec<Ident>,
    pub targets: Vec<SlaTarget>,
    pub span: Span,
}

/// `first reply within 2h [inside office] [else ...]`
#[derive(Clone, Debug, PartialEq)]
pub struct SlaTarget {
    pub measure: SlaMeasure,
    /// The span of the measure's words (`first reply`, `resolution`).
    pub measure_span: Span,
    pub within: DurationLit,
    /// `inside office`: the target counts only these hours' open time.
    pub inside: Option<Ident>,
    /// Runs when the target is breached.
    pub breach: Option<Block>,
    pub span: Span,
}

/// What a service-level target measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SlaMeasure {
    /// From the start of the service level to a person's first reply.
    FirstReply,
    /// From the start of the service level to the card's closing.
    Resolution,
}

impl SlaMeasure {
    /// As scripts write it.
    pub fn as_str(self) -> &'static str {
        match self {
            SlaMeasure::FirstReply => "first reply",
            SlaMeasure::Resolution => "resolution",
        }
    }
}

/// `stage triage { handlers }`
#[derive(Clone, Debug, PartialEq)]
pub struct StageDecl {
    pub name: Ident,
    pub handlers: Vec<Handler>,
    pub span: Span,
}

/// `anywhere { handlers }`: handlers every stage inherits, tried before the stage's own.
#[derive(Clone, Debug, PartialEq)]
pub struct AnywhereDecl {
    pub handlers: Vec<Handler>,
    pub span: Span,
}

/// A trigger, an optional `when` guard, and a block of actions.
#[derive(Clone, Debug, PartialEq)]
pub struct Handler {
    pub trigger: Trigger,
    /// `on message when outside office { ... }`; for `when cond { ... }` the condition
    /// is here and the trigger is [`TriggerKind::When`].
    pub guard: Option<Expr>,
    pub body: Block,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Trigger {
    pub kind: TriggerKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TriggerKind {
    /// `on enter`: runs when the card enters the stage.
    Enter,
    /// `on message`: any inbound message.
    Message,
    /// `on keyword "fatura", "boleto"`: whole words, case- and accent-insensitive.
    Keyword(Vec<Text>),
    /// `on regex /pattern/`: a text message matching the pattern.
    Regex(RegexLit),
    /// `on button "Billing", "Other"`: a reply-button tap.
    Button(Vec<Text>),
    /// `on choice "Row title"`: a list-row choice.
    Choice(Vec<Text>),
    /// `on image`, `on location`...: a message of that type.
    Media(MediaKind),
    /// `on form booking submitted`
    FormSubmitted(Ident),
    /// `on intent refund, cancel`: a text message the classifier puts in one of them.
    Intent(Vec<Ident>),
    /// `on event order_shipped { ... } [optout { ... }]`: a business system's event. The
    /// `optout` block runs instead of the handler's when the contact opted out.
    Event { name: Ident, optout: Option<Block> },
    /// `when <cond>`: any inbound message while the condition (in `guard`) holds.
    When,
    /// `after 10m silence`: no message either way for that long.
    Silence(DurationLit),
    /// `after 2h in stage`: that long since the card entered the stage.
    InStage(DurationLit),
    /// `otherwise`: any inbound message no earlier handler took.
    Otherwise,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MediaKind {
    Image,
    Video,
    Audio,
    Document,
    Sticker,
    Location,
    Contacts,
    /// `on media`: any of image, video, audio, document, sticker.
    AnyMedia,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub actions: Vec<Action>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    pub kind: ActionKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ActionKind {
    /// `reply ...` / `send template ...`
    Reply(Message),
    /// `ask order "What is your order number?" [tries 3] [else <action> | else { ... }]`
    /// The fallback runs after the last failed try and ends the handler.
    Ask {
        field: Ident,
        prompt: Text,
        tries: Option<NumLit>,
        fallback: Option<Block>,
    },
    /// `set field = expr`
    Set { field: Ident, value: Expr },
    /// `tag "vip", "gold"`
    Tag(Vec<Text>),
    /// `untag "vip"`
    Untag(Vec<Text>),
    /// `route billing [priority high]`
    Route {
        team: Ident,
        priority: Option<PriorityLit>,
    },
    /// `assign "ana@acme.com"`
    Assign(Text),
    /// `priority high`
    Priority(PriorityLit),
    /// `handoff [team]`: a human owns the conversation; automation stays silent.
    Handoff(Option<Ident>),
    /// `post crm { phone: contact.phone, order: order }`: fire and forget (through the outbox).
    Post { webhook: Ident, body: Vec<ObjEntry> },
    /// `call stock { order: order } save status, eta [timeout 5s] [else ...]`:
    /// waits for the response; keys of the JSON answer named in `save` set those fields.
    Call {
        webhook: Ident,
        body: Vec<ObjEntry>,
        save: Vec<Ident>,
        timeout: Option<DurationLit>,
        fallback: Option<Block>,
    },
    /// `answer faq [threshold 0.5 | with helper] [else ...]`: quotes the section of the
    /// knowledge base that best matches the message, verbatim; `else` runs (and ends the
    /// handler) when none matches well enough.
    Answer {
        knowledge: Ident,
        via: AnswerVia,
        fallback: Option<Block>,
    },
    /// `classify with helper ["instructions"] [into a, b] [else ...]`: an external model
    /// picks one of the intents for the message, whose `on intent` handler then runs.
    Classify {
        ai: Ident,
        instructions: Option<Text>,
        /// The choices; empty means every declared intent.
        into: Vec<Ident>,
        fallback: Option<Block>,
    },
    /// `goto service`
    Goto(Ident),
    /// `close ["reason"]`
    Close(Option<Text>),
    /// `ignore`: stay silent on purpose.
    Ignore,
    /// `if cond { ... } [else { ... }]`
    If {
        cond: Expr,
        then: Block,
        otherwise: Option<Block>,
    },
}

/// How `answer` picks a section: the built-in matcher with an optional threshold, or an
/// external model.
#[derive(Clone, Debug, PartialEq)]
pub enum AnswerVia {
    Threshold(Option<NumLit>),
    Ai(Ident),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub kind: MessageKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum MessageKind {
    /// `reply "Hello {contact.name}"`
    Text(Text),
    /// `reply buttons "How can we help?" ["Billing", "Technical"]`
    Buttons { body: Text, buttons: Vec<Text> },
    /// `reply list "Pick a topic" button "Topics" ["Billing", "Delivery", ...]`
    List {
        body: Text,
        button: Text,
        rows: Vec<Text>,
    },
    /// `reply template back_soon(contact.name)` or `send template back_soon(...)`
    Template { name: Ident, args: Vec<Expr> },
    /// `reply form booking "Pick a day for your visit"`
    Form { name: Ident, body: Text },
}

/// `key: expr` in a webhook body or a form submission.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjEntry {
    pub key: Ident,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PriorityLit {
    pub level: Priority,
    pub span: Span,
}

// ---------------------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Str(Text),
    Num(f64),
    Bool(bool),
    Duration(DurationLit),
    Date(DateLit),
    Clock(ClockLit),
    /// `order`, `contact.name`, `card.stage`, `message.text`, `contact.attr.plan`.
    Path(Vec<Ident>),
    /// `today`
    Today,
    /// `now`
    Now,
    /// `[expr, expr]`, used with `in`.
    List(Vec<Expr>),
    Unary {
        op: UnOp,
        expr: Box<Expr>,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `contact has tag "vip"` / `contact has no tag "vip"`
    HasTag {
        subject: Box<Expr>,
        tag: Text,
        negated: bool,
    },
    /// `inside office` / `outside office`
    InHours {
        hours: Ident,
        negated: bool,
    },
    /// `order is set` / `order is not set`
    IsSet {
        expr: Box<Expr>,
        negated: bool,
    },
    /// `message.text matches /re/`
    Matches {
        expr: Box<Expr>,
        regex: RegexLit,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    Not,
    Neg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `message.text contains "x"`, `contact.tags contains "vip"`
    Contains,
    /// `contact.country in ["BR", "PT"]`
    In,
    Add,
    Sub,
    Mul,
    Div,
}

impl MediaKind {
    /// The word scripts use: `on image`, `send location`, `on media` ([`vocab::MEDIA`]).
    pub fn as_str(self) -> &'static str {
        vocab::MEDIA
            .iter()
            .find(|(k, _, _)| *k == self)
            .map_or("", |(_, w, _)| w)
    }
}

impl Priority {
    /// The word scripts use ([`vocab::PRIORITIES`]).
    pub fn as_str(self) -> &'static str {
        vocab::PRIORITIES
            .iter()
            .find(|(p, _)| *p == self)
            .map_or("", |(_, w)| w)
    }
}

impl Weekday {
    /// The word scripts use ([`vocab::WEEKDAYS`]).
    pub fn as_str(self) -> &'static str {
        vocab::WEEKDAYS
            .iter()
            .find(|(d, _)| *d == self)
            .map_or("", |(_, w)| w)
    }
}

impl BinOp {
    /// Binding power: higher binds tighter (`or` 1, `and` 2, comparisons 4, `+ -` 5,
    /// `* /` 6). The parser and the formatter share it.
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And => 2,
            BinOp::Eq
            | BinOp::Ne
            | BinOp::Lt
            | BinOp::Le
            | BinOp::Gt
            | BinOp::Ge
            | BinOp::Contains
            | BinOp::In => 4,
            BinOp::Add | BinOp::Sub => 5,
            BinOp::Mul | BinOp::Div => 6,
        }
    }

    /// The operator as written in scripts.
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Contains => "contains",
            BinOp::In => "in",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
        }
    }
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

/// `test "billing words go to billing" { steps }`
#[derive(Clone, Debug, PartialEq)]
pub struct TestDecl {
    pub name: Text,
    pub steps: Vec<TestStep>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TestStep {
    pub kind: StepKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StepKind {
    /// `contact "+55 11 98888-7777" [named "Ana"] [tagged "vip", "gold"] [returning]`
    Contact {
        phone: Text,
        name: Option<Text>,
        tags: Vec<Text>,
        returning: bool,
    },
    /// `send "text"`
    Send(Text),
    /// `send image` / `send location` ...
    SendMedia(MediaKind),
    /// `tap "Billing"`: a reply-button tap.
    Tap(Text),
    /// `choose "Row"`: a list-row choice.
    Choose(Text),
    /// `submit booking { day: 2026-12-01, period: "Morning" }`
    Submit { form: Ident, values: Vec<ObjEntry> },
    /// `event order_shipped { order: "AB123456" }`
    Event { name: Ident, values: Vec<ObjEntry> },
    /// `respond orders { status: "shipped" }`, or `respond orders failed` (`answer: None`).
    Respond {
        webhook: Ident,
        answer: Option<Vec<ObjEntry>>,
    },
    /// `advance 25h`
    Advance(DurationLit),
    /// `clock 2026-03-07 22:00`
    Clock { date: DateLit, time: ClockLit },
    /// `expect ...`
    Expect(Expectation),
    /// `agent reply "..."` and friends: a person acts on the card.
    Agent(AgentStep),
}

/// What a person does in a test.
#[derive(Clone, Debug, PartialEq)]
pub enum AgentStep {
    /// `agent reply "text"`
    Reply(Text),
    /// `agent resolve ["reason"]`
    Resolve(Option<Text>),
    /// `agent release`
    Release,
    /// `agent assign "ana@acme.com"`
    Assign(Text),
    /// `agent route team`
    Route(Ident),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expectation {
    /// `expect stage service`
    Stage(Ident),
    /// `expect routed billing`
    Routed(Ident),
    /// `expect assigned "ana@acme.com"`
    Assigned(Text),
    /// `expect reply "exact"`, `expect reply contains "part"`, `expect reply matching /re/`
    Reply(ReplyMatch),
    /// `expect template back_soon`
    Template(Ident),
    /// `expect field order == "AB123456"` (any comparison expression over fields)
    Field(Expr),
    /// `expect posted crm { order: "AB123456" }`: a post whose body contains these entries.
    Posted { webhook: Ident, body: Vec<ObjEntry> },
    /// `expect tagged "vip"`
    Tagged(Text),
    /// `expect handoff`
    Handoff,
    /// `expect closed ["reason"]`
    Closed(Option<Text>),
    /// `expect sent nothing`
    SentNothing,
    /// `expect intent refund [above 0.6]`, `expect no intent` (`intent` is `None`): what
    /// the classifier makes of the last text sent.
    Intent {
        intent: Option<Ident>,
        above: Option<NumLit>,
    },
    /// `expect sla billing_desk [first reply | resolution] met|breached|pending`
    Sla {
        sla: Ident,
        measure: Option<SlaMeasure>,
        outcome: SlaOutcome,
    },
    /// `expect event asked ["order"]`: the latest step recorded such a card event.
    Event { kind: Ident, detail: Option<Text> },
}

/// Where a service-level target stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SlaOutcome {
    Met,
    Breached,
    Pending,
}

impl SlaOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            SlaOutcome::Met => "met",
            SlaOutcome::Breached => "breached",
            SlaOutcome::Pending => "pending",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ReplyMatch {
    Exact(Text),
    Contains(Text),
    Matching(RegexLit),
}
