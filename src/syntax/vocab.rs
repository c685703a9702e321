//! The vocabulary of the language, spelled once: keywords with the documentation editors
//! show, the properties of `contact`, `card` and `message`, media kinds, weekdays,
//! priority levels and duration units.
//!
//! The lexer, the tree builder, the checker, the language server (completion and hover),
//! the REPL (completion) and the formatter read these tables. The pest grammar
//! (`grammar/wafl.pest`) cannot read a Rust table, so it spells its literals itself; the
//! tests at the bottom of this file read the grammar and fail when the two disagree. To
//! add a keyword: add its rule to the grammar and its entry here (sorted), and say in its
//! documentation what it does.

use super::ast::{MediaKind, Priority, Weekday};

/// A keyword of the grammar and its one-paragraph documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keyword {
    pub word: &'static str,
    pub doc: &'static str,
}

const fn kw(word: &'static str, doc: &'static str) -> Keyword {
    Keyword { word, doc }
}

/// Every word the grammar uses as a keyword somewhere (keywords are contextual), sorted,
/// operators written as words (`and`, `contains`) and literals (`true`, `now`) included.
/// Media kinds, weekdays and priority levels have tables of their own.
pub const KEYWORDS: &[Keyword] = &[
    kw(
        "above",
        "`expect intent refund above 0.6`: the classifier's confidence must be higher than this.",
    ),
    kw(
        "advance",
        "`advance 25h`: moves the test clock forward, firing the timers that fall due.",
    ),
    kw(
        "after",
        "`after 10m silence` / `after 2h in stage`: a timer. As a date constraint: `after today`.",
    ),
    kw(
        "agent",
        "In a test: `agent reply \"text\"`, `agent resolve [\"reason\"]`, `agent release`, `agent assign \"ana\"`, `agent route TEAM`: a person acts on the card.",
    ),
    kw(
        "agents",
        "`agents \"ana@acme.com\", ...`: the agents of a team, by e-mail.",
    ),
    kw(
        "ai",
        "`ai helper \"https://.../v1/chat/completions\" { model \"...\"; key env(\"KEY\"); timeout 10s; retry 2 }`: an OpenAI-compatible endpoint for `classify` and `answer ... with`.",
    ),
    kw(
        "and",
        "`A and B`: both conditions hold. In a field type: `length between 2 and 80`.",
    ),
    kw(
        "answer",
        "`answer faq [threshold 0.3 | with helper] [else ACTION]`: quotes, verbatim, the section of the knowledge base that best matches the message, or runs `else`.",
    ),
    kw(
        "anywhere",
        "`anywhere { handlers }`: handlers every stage inherits; they are tried before the stage's own.",
    ),
    kw(
        "ask",
        "`ask FIELD \"prompt\" [tries N] [else ACTION]`: asks until the answer validates; after the last try the `else` runs and ends the handler.",
    ),
    kw(
        "assign",
        "`assign \"ana@acme.com\"`: gives the card to one agent.",
    ),
    kw(
        "assigned",
        "`expect assigned \"ana@acme.com\"`: the card was given to that agent.",
    ),
    kw(
        "before",
        "`before today` / `before 2027-12-31`: a bound of a date field.",
    ),
    kw(
        "between",
        "`between N and M`: the range of a number, or of a text's length.",
    ),
    kw(
        "breached",
        "`expect sla NAME breached`: a target of the service level was not met in time.",
    ),
    kw(
        "budget",
        "`budget 200`: the most steps the engine may take for one event.",
    ),
    kw(
        "button",
        "`on button \"Billing\"`: a tap on a reply button with that title. In a list: `button \"Label\"` names the list's button; in a form screen, its footer button.",
    ),
    kw(
        "buttons",
        "`reply buttons \"body\" [\"A\", \"B\", \"C\"]`: up to 3 reply buttons of at most 20 characters.",
    ),
    kw(
        "call",
        "`call WEBHOOK { ... } save a, b [timeout 5s] [else ACTION]`: calls a webhook and waits; keys of the answer named in `save` set those fields.",
    ),
    kw(
        "choice",
        "`on choice \"Row\"`: a list-row choice. As a field type: `choice \"a\", \"b\"`.",
    ),
    kw(
        "choose",
        "`choose \"Row\"`: the test customer picks a list row.",
    ),
    kw(
        "classify",
        "`classify with helper [\"instructions\"] [into a, b] [else ACTION]`: an external model picks one of the intents and its `on intent` handler runs; a timeout or an answer outside the choices runs `else`.",
    ),
    kw(
        "clock",
        "`clock 2026-03-07 22:00`: sets the test clock to that moment, in the flow's time zone.",
    ),
    kw("close", "`close [\"reason\"]`: closes the card."),
    kw(
        "closed",
        "In `hours`: holidays (`closed 2026-12-25`). In a test: `expect closed [\"reason\"]`.",
    ),
    kw(
        "contact",
        "`contact.phone`, `.name`, `.country`, `.tags`, `.new`, `.returning`, `.attr.NAME`. In a test: `contact \"+55 ...\" [named \"Ana\"]`.",
    ),
    kw(
        "contains",
        "`X contains \"part\"`: substring or list membership. In a test: `expect reply contains \"part\"`.",
    ),
    kw(
        "data",
        "`form NAME \"Title\" data WEBHOOK [timeout 3s]`: the webhook that supplies live screen data to the form.",
    ),
    kw(
        "date",
        "`date [past|future] [after D] [before D]`: a date field.",
    ),
    kw(
        "else",
        "The other branch of `if`, or the fallback of `ask` and `call`.",
    ),
    kw("email", "`email`: an e-mail address field."),
    kw("enter", "`on enter`: runs when the card enters the stage."),
    kw(
        "env",
        "`env(\"NAME\")`: a secret read from the environment when the daemon starts, never written in the script.",
    ),
    kw(
        "event",
        "`event NAME { key: type; ... }`: something a business system sends with a typed payload. `on event NAME` handles it: it advances the open card, or opens one. In a test: `event NAME { key: value }` sends one; `expect event KIND [\"name\"]`: the latest step recorded a card event of that kind (`asked`, `routed`, `closed`...), about that name.",
    ),
    kw(
        "every",
        "`retry 5 every 30s`: the first wait between two attempts of a webhook; it doubles after each.",
    ),
    kw(
        "examples",
        "`examples \"...\", \"...\"`: ways customers say an intent, in every language they use.",
    ),
    kw(
        "expect",
        "`expect stage|routed|assigned|reply|template|field|posted|tagged|handoff|closed|sent nothing|intent|sla|event`: a check in a test.",
    ),
    kw(
        "failed",
        "`respond WEBHOOK failed`: in a test, the waiting `call` fails.",
    ),
    kw("false", "The yes/no value *no*."),
    kw(
        "field",
        "`field order: text matching /re/ invalid \"...\"`: a value collected from the customer with `ask`, a form or `call ... save`, validated by its type.",
    ),
    kw(
        "first",
        "`first reply within 2h`: a service-level target on a person's first reply.",
    ),
    kw(
        "flow",
        "`flow \"Name\" { ... }`: the header of the script: its name, language, time zone, start stage, opt-out and opt-in words, the window template and the step budget.",
    ),
    kw(
        "for",
        "`sla NAME for billing, technical { ... }`: the teams whose cards a service level covers.",
    ),
    kw(
        "form",
        "`form booking \"Title\" { screen \"...\" { ... } }`: a WhatsApp Flow; its typed inputs declare fields. `reply form NAME \"text\"` sends it, `on form NAME submitted` reacts to it.",
    ),
    kw(
        "from",
        "`knowledge faq from \"faq.md\"`: the Markdown file of a knowledge base, relative to the script.",
    ),
    kw(
        "future",
        "`future`: a date field's answer must be after today.",
    ),
    kw(
        "goto",
        "`goto STAGE`: moves the card to another stage (its `on enter` runs).",
    ),
    kw(
        "handoff",
        "`handoff [TEAM]`: a person takes over; automation stays silent for this card.",
    ),
    kw(
        "has",
        "`contact has tag \"vip\"` / `contact has no tag \"vip\"`.",
    ),
    kw(
        "hours",
        "`hours office { mon-fri 09:00-18:00; closed 2026-12-25 }`: business hours, used by `inside office`/`outside office` and by teams.",
    ),
    kw(
        "if",
        "`if COND { ... } else { ... }`: runs one block or the other.",
    ),
    kw("ignore", "`ignore`: stay silent on purpose."),
    kw(
        "in",
        "`after 2h in stage`: a timer from the moment the card entered the stage. In expressions: `contact.country in [\"BR\", \"PT\"]`.",
    ),
    kw(
        "inside",
        "`inside HOURS`: true during those business hours.",
    ),
    kw(
        "intent",
        "`intent refund { examples \"quero meu dinheiro de volta\", \"refund\" }`: a kind of request learned from examples; `on intent refund` takes the text messages the classifier puts in it. In a test: `expect intent refund`.",
    ),
    kw(
        "intents",
        "`intents threshold 0.15 margin 0.02` in the flow header: how sure the intent classifier must be, and how far ahead of the second intent.",
    ),
    kw(
        "into",
        "`classify with helper into refund, delivery`: the intents the model may pick from.",
    ),
    kw(
        "invalid",
        "`invalid \"...\"`: the message sent when an answer does not validate; always the last part of a field.",
    ),
    kw("is", "`FIELD is set` / `FIELD is not set`."),
    kw(
        "keep",
        "In `migrate`: `stage NAME keep` lets the open cards of that stage finish on their old revision.",
    ),
    kw(
        "key",
        "`key env(\"OPENAI_API_KEY\")`: the environment variable holding an AI endpoint's key.",
    ),
    kw(
        "keyword",
        "`on keyword \"fatura\", \"boleto\"`: a text containing one of the words, as whole words, ignoring case and accents.",
    ),
    kw(
        "knowledge",
        "`knowledge faq from \"faq.md\"`: a Markdown file whose sections `answer` quotes verbatim.",
    ),
    kw(
        "lang",
        "`lang \"pt_BR\"`: in the flow header, the language of the conversation (labels the script does not write itself follow it); in a template, the language it was approved in.",
    ),
    kw(
        "length",
        "`length between N and M`: the number of characters a text answer may have.",
    ),
    kw(
        "list",
        "`reply list \"body\" button \"Label\" [rows]`: up to 10 rows of at most 24 characters.",
    ),
    kw(
        "margin",
        "`margin 0.05`: how far the best intent must lead the second one.",
    ),
    kw(
        "matches",
        "`X matches /re/`: true when the text matches the pattern.",
    ),
    kw(
        "matching",
        "`matching /re/`: the answer must match the pattern.",
    ),
    kw(
        "message",
        "`on message`: any inbound message. In expressions, `message.text` and `message.type`.",
    ),
    kw(
        "met",
        "`expect sla NAME met`: every target of the service level that applies was met in time.",
    ),
    kw(
        "migrate",
        "`migrate { stage OLD goto NEW; stage OLD keep; otherwise close \"reason\" template T }`: what publishing does with open cards the new revision cannot take over.",
    ),
    kw(
        "model",
        "`model \"gpt-4o-mini\"`: the model an AI endpoint is asked for.",
    ),
    kw(
        "named",
        "`contact \"+55 ...\" named \"Ana\"`: the profile name of the test contact.",
    ),
    kw(
        "no",
        "`contact has no tag \"vip\"`: the contact lacks the tag.",
    ),
    kw(
        "not",
        "`not COND`: the condition does not hold. `FIELD is not set`: the field has no value.",
    ),
    kw(
        "nothing",
        "`expect sent nothing`: the last step sent no message.",
    ),
    kw("now", "The current time."),
    kw("number", "`number [between N and M]`: a numeric field."),
    kw(
        "on",
        "`on TRIGGER [when COND] { actions }`: a handler. Triggers: `enter`, `message`, `keyword`, `regex`, `button`, `choice`, a media type, `form NAME submitted`.",
    ),
    kw("optin", "`optin \"START\"`: words that lift an opt-out."),
    kw(
        "optional",
        "`optional`: a form input the customer may leave empty.",
    ),
    kw(
        "optout",
        "`optout \"STOP\", \"SAIR\"`: words that stop all automated messages to the contact. After an `on event` handler: `optout { ... }` says what happens instead for a contact who opted out.",
    ),
    kw("or", "`A or B`: at least one of the conditions holds."),
    kw(
        "otherwise",
        "`otherwise { ... }`: any inbound message no earlier handler took. A stage must answer every message; `otherwise` makes it total.",
    ),
    kw(
        "outside",
        "`outside HOURS`: true outside those business hours.",
    ),
    kw(
        "past",
        "`past`: a date field's answer must be before today.",
    ),
    kw(
        "pending",
        "`expect sla NAME pending`: a target of the service level is still running.",
    ),
    kw("phone", "`phone`: a phone number field."),
    kw(
        "post",
        "`post WEBHOOK { key: value }`: sends a JSON body to a webhook, fire and forget.",
    ),
    kw(
        "posted",
        "`expect posted WEBHOOK { key: value }`: a post whose body holds these entries.",
    ),
    kw(
        "priority",
        "`priority low|normal|high|urgent`: the card's priority.",
    ),
    kw(
        "regex",
        "`on regex /pattern/`: a text message matching the pattern.",
    ),
    kw(
        "release",
        "`agent release`: in a test, a person gives the card back to the automation.",
    ),
    kw(
        "reply",
        "`reply \"text\"`, `reply buttons`, `reply list`, `reply template`, `reply form`: send a message to the customer.",
    ),
    kw(
        "resolution",
        "`resolution within 1d`: a service-level target on the card's closing.",
    ),
    kw(
        "resolve",
        "`agent resolve [\"reason\"]`: in a test, a person closes the card.",
    ),
    kw(
        "respond",
        "`respond WEBHOOK { key: value }` / `respond WEBHOOK failed`: in a test, answers the `call` the conversation waits for.",
    ),
    kw(
        "retry",
        "`retry 5 [every 30s]`: how many times a failed webhook call is attempted.",
    ),
    kw(
        "returning",
        "`contact \"+55 ...\" returning`: the test contact has written before.",
    ),
    kw(
        "route",
        "`route TEAM [priority P]`: gives the card to a team.",
    ),
    kw(
        "routed",
        "`expect routed TEAM`: the card was given to that team.",
    ),
    kw(
        "save",
        "`save a, b`: the fields a `call` sets from its answer.",
    ),
    kw(
        "screen",
        "`screen \"Title\" [button \"Label\"] { inputs }`: one screen of a form; `button` names its footer button.",
    ),
    kw(
        "secret",
        "`secret env(\"NAME\")`: the key that signs the requests to a webhook.",
    ),
    kw(
        "send",
        "`send template NAME(args)`: the same as `reply template`. In a test: `send \"text\"` or `send image`.",
    ),
    kw(
        "sent",
        "`expect sent nothing`: the last step sent no message.",
    ),
    kw(
        "set",
        "`set FIELD = EXPR`: stores a value in a field. In conditions: `FIELD is set`.",
    ),
    kw(
        "silence",
        "`after 10m silence`: no message in either direction for that long.",
    ),
    kw(
        "sla",
        "`sla NAME [for TEAM, ...] { first reply within 2h [inside HOURS] [else ACTION]; resolution within 1d ... }`: service-level targets, measured from the moment the card reaches one of the teams (from its opening without `for`), in the open time of the hours (`inside`, else the team's). The `else` runs when a target is breached. In a test: `expect sla NAME [first reply|resolution] met|breached|pending`.",
    ),
    kw(
        "stage",
        "`stage NAME { handlers }`: a step of the conversation. A card is in exactly one stage; its handlers decide what happens to each event.",
    ),
    kw(
        "start",
        "`start entry`: the stage a new card enters. Default: the first stage declared.",
    ),
    kw(
        "submit",
        "`submit FORM { key: value }`: the test customer submits a form.",
    ),
    kw(
        "submitted",
        "`on form NAME submitted`: the customer sent the form.",
    ),
    kw("tag", "`tag \"vip\"`: adds tags to the contact."),
    kw(
        "tagged",
        "`contact \"+55 ...\" tagged \"vip\"`: the test contact's tags. `expect tagged \"vip\"`: the contact has the tag.",
    ),
    kw(
        "tap",
        "`tap \"Billing\"`: the test customer taps a reply button.",
    ),
    kw(
        "team",
        "`team billing { agents \"ana@acme.com\"; hours office }`: a team of agents that `route` and `handoff` send cards to.",
    ),
    kw(
        "template",
        "`template name \"wa_name\" lang \"pt_BR\" [with a, b]`: a message template approved in WhatsApp Manager; the only kind of message allowed outside the 24-hour window.",
    ),
    kw(
        "test",
        "`test \"name\" { steps }`: a scripted conversation run by `wafl test`.",
    ),
    kw(
        "text",
        "`text [matching /re/] [length between N and M]`: a free-text field.",
    ),
    kw(
        "threshold",
        "`threshold 0.3`: the lowest confidence (0 to 1) that counts, for an intent or `answer`.",
    ),
    kw(
        "timeout",
        "`timeout 10s`: how long a webhook call or a form's data request may take.",
    ),
    kw(
        "timezone",
        "`timezone \"America/Sao_Paulo\"`: the time zone for business hours, dates and `today` (a tz database name).",
    ),
    kw("today", "The current date in the flow's time zone."),
    kw(
        "tries",
        "`tries 3`: how many answers `ask` accepts before giving up.",
    ),
    kw("true", "The yes/no value *yes*."),
    kw("untag", "`untag \"vip\"`: removes tags from the contact."),
    kw(
        "webhook",
        "`webhook crm \"https://...\" { secret env(\"X\"); retry 5 every 30s; timeout 10s }`: a business system the flow posts to or calls.",
    ),
    kw(
        "when",
        "`when COND { ... }`: any inbound message while the condition holds. After a trigger, `when COND` is a guard.",
    ),
    kw(
        "window",
        "`window template back_soon`: the template sent instead of a free-form message when the 24-hour service window has closed.",
    ),
    kw(
        "with",
        "`template ... with name, order`: the template's body parameters, in order.",
    ),
    kw(
        "within",
        "`first reply within 2h`: how long a service-level target allows.",
    ),
    kw(
        "yesno",
        "`yesno`: a yes/no field (accepts sim/não, yes/no).",
    ),
];

/// Words that open a top-level declaration.
pub const DECLARATIONS: &[&str] = &[
    "flow",
    "hours",
    "team",
    "field",
    "template",
    "webhook",
    "form",
    "intent",
    "knowledge",
    "ai",
    "event",
    "stage",
    "anywhere",
    "migrate",
    "test",
    "sla",
];

/// Words that open a handler of a stage or `anywhere` block.
pub const HANDLER_STARTS: &[&str] = &["on", "when", "after", "otherwise"];

/// Words that open an action.
pub const ACTION_STARTS: &[&str] = &[
    "reply", "send", "ask", "set", "tag", "untag", "route", "assign", "priority", "handoff",
    "post", "call", "answer", "classify", "goto", "close", "ignore", "if",
];

/// Words that open a test step.
pub const STEP_STARTS: &[&str] = &[
    "contact", "send", "tap", "choose", "submit", "event", "respond", "advance", "clock", "expect",
    "agent",
];

/// Words reserved inside expressions: they cannot start a path.
pub const RESERVED: &[&str] = &["and", "or", "not", "true", "false", "today", "now"];

/// Message types a trigger can wait for; `media` is any of the first five.
pub const MEDIA: &[(MediaKind, &str, &str)] = &[
    (MediaKind::Image, "image", "`on image`: a photo."),
    (MediaKind::Video, "video", "`on video`: a video."),
    (
        MediaKind::Audio,
        "audio",
        "`on audio`: a voice note or audio file.",
    ),
    (
        MediaKind::Document,
        "document",
        "`on document`: a file (PDF, spreadsheet...).",
    ),
    (MediaKind::Sticker, "sticker", "`on sticker`: a sticker."),
    (
        MediaKind::Location,
        "location",
        "`on location`: a shared location.",
    ),
    (
        MediaKind::Contacts,
        "contacts",
        "`on contacts`: shared contact cards.",
    ),
    (
        MediaKind::AnyMedia,
        "media",
        "`on media`: an image, video, audio, document or sticker.",
    ),
];

/// Weekdays of `hours` rules, Monday first.
pub const WEEKDAYS: &[(Weekday, &str)] = &[
    (Weekday::Mon, "mon"),
    (Weekday::Tue, "tue"),
    (Weekday::Wed, "wed"),
    (Weekday::Thu, "thu"),
    (Weekday::Fri, "fri"),
    (Weekday::Sat, "sat"),
    (Weekday::Sun, "sun"),
];

/// Priority levels of a card, lowest first.
pub const PRIORITIES: &[(Priority, &str)] = &[
    (Priority::Low, "low"),
    (Priority::Normal, "normal"),
    (Priority::High, "high"),
    (Priority::Urgent, "urgent"),
];

/// Units of a duration literal (`1h30m`): the letter, its length in seconds, its name.
pub const DURATION_UNITS: &[(char, u64, &str)] = &[
    ('w', 604_800, "weeks"),
    ('d', 86_400, "days"),
    ('h', 3_600, "hours"),
    ('m', 60, "minutes"),
    ('s', 1, "seconds"),
];

/// The objects a path may start with, and what they hold.
pub const ROOTS: &[(&str, &str)] = &[
    (
        "contact",
        "The customer: `contact.phone`, `.name`, `.country`, `.tags`, `.new`, `.returning`, `.attr.NAME`.",
    ),
    (
        "card",
        "The conversation: `card.stage`, `.team`, `.agent`, `.priority`, `.status`, `.close_reason`, `.opened_at`.",
    ),
    (
        "message",
        "The message being handled: `message.text`, `message.type`.",
    ),
    (
        "event",
        "In an `on event NAME` handler, the event being handled: `event.id` and the keys of its payload, `event.order`.",
    ),
];

/// What a property holds, for the checker's types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropKind {
    Text,
    /// A list of texts.
    Tags,
    Bool,
    /// A moment in time.
    Moment,
    /// The name of one of the script's stages.
    Stage,
    /// The name of one of the script's teams.
    Team,
    /// One of [`PRIORITIES`].
    Priority,
    /// `contact.attr.NAME`: a custom attribute, text.
    Attributes,
}

/// A property of one of the [`ROOTS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Property {
    pub root: &'static str,
    pub name: &'static str,
    pub kind: PropKind,
    /// Why the property may have no value when a message shows it, if it may.
    pub may_be_empty: Option<&'static str>,
    pub doc: &'static str,
}

const fn prop(
    root: &'static str,
    name: &'static str,
    kind: PropKind,
    may_be_empty: Option<&'static str>,
    doc: &'static str,
) -> Property {
    Property {
        root,
        name,
        kind,
        may_be_empty,
        doc,
    }
}

/// Every property, grouped by root, in the order messages list them.
pub const PROPERTIES: &[Property] = &[
    prop(
        "contact",
        "phone",
        PropKind::Text,
        None,
        "The contact's phone number, as WhatsApp sends it.",
    ),
    prop(
        "contact",
        "name",
        PropKind::Text,
        Some("WhatsApp sends a profile name only when the customer has set one"),
        "The contact's WhatsApp profile name; not every customer has one.",
    ),
    prop(
        "contact",
        "country",
        PropKind::Text,
        Some("the country is read from the phone number's prefix and is unknown for some numbers"),
        "The contact's country (`BR`, `PT`...), from the phone number.",
    ),
    prop(
        "contact",
        "tags",
        PropKind::Tags,
        None,
        "The contact's tags, a list: `contact.tags contains \"vip\"`.",
    ),
    prop(
        "contact",
        "new",
        PropKind::Bool,
        None,
        "True on the contact's first conversation.",
    ),
    prop(
        "contact",
        "returning",
        PropKind::Bool,
        None,
        "True when the contact has had a conversation before.",
    ),
    prop(
        "contact",
        "attr",
        PropKind::Attributes,
        Some("a custom attribute has a value only once something stored it"),
        "Custom attributes of the contact: `contact.attr.plan`.",
    ),
    prop(
        "card",
        "stage",
        PropKind::Stage,
        None,
        "The stage the card is in.",
    ),
    prop(
        "card",
        "team",
        PropKind::Team,
        Some("a card has a team only after `route` or `handoff TEAM`"),
        "The team the card was routed to.",
    ),
    prop(
        "card",
        "agent",
        PropKind::Text,
        Some("a card has an agent only after `assign` or once an agent answers"),
        "The agent the card is assigned to.",
    ),
    prop(
        "card",
        "priority",
        PropKind::Priority,
        None,
        "The card's priority: `low`, `normal`, `high` or `urgent`.",
    ),
    prop(
        "card",
        "status",
        PropKind::Text,
        None,
        "`open`, `handoff` or `closed`.",
    ),
    prop(
        "card",
        "close_reason",
        PropKind::Text,
        Some("a card has a close reason only once it is closed"),
        "The reason given to `close`.",
    ),
    prop(
        "card",
        "opened_at",
        PropKind::Moment,
        None,
        "When the card was opened.",
    ),
    prop(
        "message",
        "text",
        PropKind::Text,
        None,
        "The text of the message being handled (a caption for media).",
    ),
    prop(
        "message",
        "type",
        PropKind::Text,
        None,
        "The type of the message: `text`, `image`, `button`...",
    ),
    prop(
        "event",
        "id",
        PropKind::Text,
        None,
        "The id the business system gave the event (events are taken once per id).",
    ),
];

/// The documentation of a keyword, media kind, weekday, priority level or root object.
pub fn doc(word: &str) -> Option<&'static str> {
    if let Ok(i) = KEYWORDS.binary_search_by(|k| k.word.cmp(word)) {
        return KEYWORDS.get(i).map(|k| k.doc);
    }
    if let Some((_, _, d)) = MEDIA.iter().find(|(_, w, _)| *w == word) {
        return Some(d);
    }
    if WEEKDAYS.iter().any(|(_, w)| *w == word) {
        return Some("A weekday of an `hours` rule: `mon-fri 09:00-18:00`.");
    }
    if PRIORITIES.iter().any(|(_, w)| *w == word) {
        return Some("A priority level: `low`, `normal`, `high` or `urgent`.");
    }
    ROOTS.iter().find(|(r, _)| *r == word).map(|(_, d)| *d)
}

/// True when the grammar uses `word` as a keyword somewhere: a keyword, a media kind, a
/// weekday or a priority level.
pub fn is_keyword(word: &str) -> bool {
    KEYWORDS.binary_search_by(|k| k.word.cmp(word)).is_ok()
        || MEDIA.iter().any(|(_, w, _)| *w == word)
        || WEEKDAYS.iter().any(|(_, w)| *w == word)
        || PRIORITIES.iter().any(|(_, w)| *w == word)
}

/// Every keyword-like word: keywords, media kinds, weekdays and priority levels.
pub fn all_words() -> impl Iterator<Item = &'static str> {
    KEYWORDS
        .iter()
        .map(|k| k.word)
        .chain(MEDIA.iter().map(|(_, w, _)| *w))
        .chain(WEEKDAYS.iter().map(|(_, w)| *w))
        .chain(PRIORITIES.iter().map(|(_, w)| *w))
}

/// The properties of a root object, in order.
pub fn properties(root: &str) -> impl Iterator<Item = &'static Property> + '_ {
    PROPERTIES.iter().filter(move |p| p.root == root)
}

/// The property `root.name`.
pub fn property(root: &str, name: &str) -> Option<&'static Property> {
    PROPERTIES.iter().find(|p| p.root == root && p.name == name)
}

/// The property a path reads (`contact.name`, `contact.attr.plan`), if it reads one.
pub fn property_of_path<S: AsRef<str>>(path: &[S]) -> Option<&'static Property> {
    match path {
        [root, name] => property(root.as_ref(), name.as_ref()),
        [root, attr, _] if root.as_ref() == "contact" && attr.as_ref() == "attr" => {
            property("contact", "attr")
        }
        _ => None,
    }
}

/// The media kind a word names.
pub fn media(word: &str) -> Option<MediaKind> {
    MEDIA
        .iter()
        .find(|(_, w, _)| *w == word)
        .map(|(k, _, _)| *k)
}

/// The weekday a word names.
pub fn weekday(word: &str) -> Option<Weekday> {
    WEEKDAYS.iter().find(|(_, w)| *w == word).map(|(d, _)| *d)
}

/// The priority level a word names.
pub fn priority(word: &str) -> Option<Priority> {
    PRIORITIES.iter().find(|(_, w)| *w == word).map(|(p, _)| *p)
}

/// The length in seconds of a duration unit letter.
pub fn unit_seconds(unit: char) -> Option<u64> {
    DURATION_UNITS
        .iter()
        .find(|(u, _, _)| *u == unit)
        .map(|(_, s, _)| *s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    const GRAMMAR: &str = include_str!("../../grammar/wafl.pest");

    /// The text of a rule's body: from `name = ` to the end of its line.
    fn rule(name: &str) -> &'static str {
        GRAMMAR
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} = ")))
            .unwrap_or_else(|| panic!("the grammar has no rule `{name}`"))
    }

    /// The quoted literals of a rule's body.
    fn literals(body: &str) -> Vec<String> {
        body.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }

    /// The `kw_*` names a rule's body mentions, in order, without the prefix.
    fn keyword_refs(body: &str) -> Vec<String> {
        body.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter_map(|w| w.strip_prefix("kw_"))
            .map(str::to_string)
            .collect()
    }

    /// The first keyword of each alternative of a rule made of sub-rules.
    fn first_keywords(alternatives: &str) -> Vec<String> {
        let body = alternatives
            .trim_start_matches(['_', '{', ' '])
            .trim_end_matches(['}', ' ']);
        body.split('|')
            .map(|alt| {
                let sub = alt.trim();
                keyword_refs(rule(sub))
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| panic!("`{sub}` does not start with a keyword"))
            })
            .collect()
    }

    fn set<S: ToString>(items: impl IntoIterator<Item = S>) -> BTreeSet<String> {
        items.into_iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn keywords_are_sorted_unique_and_documented() {
        assert!(
            KEYWORDS.windows(2).all(|w| w[0].word < w[1].word),
            "KEYWORDS must stay sorted and unique"
        );
        for k in KEYWORDS {
            assert!(!k.doc.is_empty(), "`{}` has no documentation", k.word);
        }
        for list in [
            DECLARATIONS,
            HANDLER_STARTS,
            ACTION_STARTS,
            STEP_STARTS,
            RESERVED,
        ] {
            for w in list {
                assert!(is_keyword(w), "`{w}` is not in KEYWORDS");
            }
        }
    }

    /// Every `kw_*` rule, word operator and word literal of the grammar is a keyword
    /// here, and nothing else is.
    #[test]
    fn the_grammar_and_the_keyword_table_agree() {
        let mut grammar = BTreeSet::new();
        for line in GRAMMAR.lines() {
            let Some((name, body)) = line.split_once(" = ") else {
                continue;
            };
            let word_rule = name.starts_with("kw_")
                || matches!(
                    name,
                    "op_not"
                        | "op_or"
                        | "op_and"
                        | "op_contains"
                        | "op_in"
                        | "lit_true"
                        | "lit_false"
                        | "lit_today"
                        | "lit_now"
                );
            if word_rule {
                let lits = literals(body);
                assert_eq!(lits.len(), 1, "`{name}` should spell one word");
                grammar.extend(lits);
            }
        }
        let table = set(KEYWORDS.iter().map(|k| k.word));
        assert_eq!(
            grammar.difference(&table).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "words of the grammar missing from KEYWORDS"
        );
        assert_eq!(
            table.difference(&grammar).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "words of KEYWORDS the grammar does not use"
        );
    }

    #[test]
    fn the_grammar_and_the_word_tables_agree() {
        assert_eq!(
            literals(rule("weekday")),
            WEEKDAYS
                .iter()
                .map(|(_, w)| w.to_string())
                .collect::<Vec<_>>()
        );
        assert_eq!(
            literals(rule("priority_level")),
            PRIORITIES
                .iter()
                .map(|(_, w)| w.to_string())
                .collect::<Vec<_>>()
        );
        assert_eq!(
            literals(rule("media_kind")),
            MEDIA
                .iter()
                .map(|(_, w, _)| w.to_string())
                .collect::<Vec<_>>()
        );
        // A test sends a concrete message type: every media kind but `media` itself.
        assert_eq!(
            literals(rule("send_media")),
            MEDIA
                .iter()
                .filter(|(k, _, _)| *k != MediaKind::AnyMedia)
                .map(|(_, w, _)| w.to_string())
                .collect::<Vec<_>>()
        );
        assert_eq!(
            set(literals(rule("duration"))),
            set(DURATION_UNITS.iter().map(|(u, _, _)| u))
        );
        assert_eq!(literals(rule("reserved")), RESERVED);
    }

    #[test]
    fn the_grammar_and_the_statement_starts_agree() {
        assert_eq!(first_keywords(rule("item")), DECLARATIONS);
        assert_eq!(keyword_refs(rule("action_start")), ACTION_STARTS);
        assert_eq!(first_keywords(rule("test_step")), STEP_STARTS);
        // `handler` alternatives start with a trigger rule each.
        let triggers: Vec<String> = [
            "when_trigger",
            "on_trigger",
            "after_trigger",
            "otherwise_trigger",
        ]
        .iter()
        .map(|t| keyword_refs(rule(t)).into_iter().next().unwrap_or_default())
        .collect();
        assert_eq!(set(triggers), set(HANDLER_STARTS));
        for t in [
            "when_trigger",
            "on_trigger",
            "after_trigger",
            "otherwise_trigger",
        ] {
            assert!(
                rule("handler").contains(t),
                "`handler` no longer uses `{t}`"
            );
        }
        // The actions of `action_start` are the alternatives of `action`.
        let actions: Vec<String> = rule("action")
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("a_"))
            .map(|a| keyword_refs(rule(a)).into_iter().next().unwrap_or_default())
            .collect();
        assert_eq!(set(actions), set(ACTION_STARTS));
    }

    #[test]
    fn properties_are_unique_and_rooted() {
        let mut seen = BTreeSet::new();
        for p in PROPERTIES {
            assert!(
                ROOTS.iter().any(|(r, _)| *r == p.root),
                "`{}` is not a root",
                p.root
            );
            assert!(seen.insert((p.root, p.name)), "{}.{} twice", p.root, p.name);
            assert!(!p.doc.is_empty());
        }
        assert_eq!(
            property_of_path(&["contact", "attr", "plan"]).map(|p| p.kind),
            Some(PropKind::Attributes)
        );
        assert!(property_of_path(&["contact"]).is_none());
    }

    #[test]
    fn lookups() {
        assert_eq!(media("sticker"), Some(MediaKind::Sticker));
        assert_eq!(weekday("fri"), Some(Weekday::Fri));
        assert_eq!(priority("urgent"), Some(Priority::Urgent));
        assert_eq!(unit_seconds('h'), Some(3600));
        assert!(is_keyword("goto") && is_keyword("media") && is_keyword("sun"));
        assert!(!is_keyword("card"));
        assert!(doc("card").is_some() && doc("sat").is_some() && doc("goto").is_some());
    }
}
