//! One-paragraph documentation of each keyword, shown on hover and in completion.

/// The documentation of a keyword, if the word is one.
pub(super) fn keyword(word: &str) -> Option<&'static str> {
    KEYWORDS.iter().find(|(k, _)| *k == word).map(|(_, d)| *d)
}

/// Every documented keyword with its text.
pub(super) const KEYWORDS: &[(&str, &str)] = &[
    (
        "flow",
        "`flow \"Name\" { ... }`: the header of the script: its name, time zone, start stage, opt-out and opt-in words, the window template and the step budget.",
    ),
    (
        "timezone",
        "`timezone \"America/Sao_Paulo\"`: the time zone for business hours, dates and `today` (a tz database name).",
    ),
    (
        "start",
        "`start entry`: the stage a new card enters. Default: the first stage declared.",
    ),
    (
        "optout",
        "`optout \"STOP\", \"SAIR\"`: words that stop all automated messages to the contact.",
    ),
    ("optin", "`optin \"START\"`: words that lift an opt-out."),
    (
        "window",
        "`window template back_soon`: the template sent instead of a free-form message when the 24-hour service window has closed.",
    ),
    (
        "budget",
        "`budget 200`: the most steps the engine may take for one event.",
    ),
    (
        "hours",
        "`hours office { mon-fri 09:00-18:00; closed 2026-12-25 }`: business hours, used by `inside office`/`outside office` and by teams.",
    ),
    (
        "closed",
        "In `hours`: holidays (`closed 2026-12-25`). In a test: `expect closed [\"reason\"]`.",
    ),
    (
        "team",
        "`team billing { agents \"ana@acme.com\"; hours office }`: a team of agents that `route` and `handoff` send cards to.",
    ),
    (
        "agents",
        "`agents \"ana@acme.com\", ...`: the agents of a team, by e-mail.",
    ),
    (
        "field",
        "`field order: text matching /re/ invalid \"...\"`: a value collected from the customer with `ask`, a form or `call ... save`, validated by its type.",
    ),
    (
        "invalid",
        "`invalid \"...\"`: the message sent when an answer does not validate; always the last part of a field.",
    ),
    (
        "template",
        "`template name \"wa_name\" lang \"pt_BR\" [with a, b]`: a message template approved in WhatsApp Manager; the only kind of message allowed outside the 24-hour window.",
    ),
    (
        "webhook",
        "`webhook crm \"https://...\" { secret env(\"X\"); retry 5 every 30s; timeout 10s }`: a business system the flow posts to or calls.",
    ),
    (
        "form",
        "`form booking \"Title\" { screen \"...\" { ... } }`: a WhatsApp Flow; its typed inputs declare fields. `reply form NAME \"text\"` sends it, `on form NAME submitted` reacts to it.",
    ),
    (
        "screen",
        "`screen \"Title\" { inputs }`: one screen of a form.",
    ),
    (
        "stage",
        "`stage NAME { handlers }`: a step of the conversation. A card is in exactly one stage; its handlers decide what happens to each event.",
    ),
    (
        "anywhere",
        "`anywhere { handlers }`: handlers every stage inherits; they are tried before the stage's own.",
    ),
    (
        "test",
        "`test \"name\" { steps }`: a scripted conversation run by `wafl test`.",
    ),
    (
        "on",
        "`on TRIGGER [when COND] { actions }`: a handler. Triggers: `enter`, `message`, `keyword`, `regex`, `button`, `choice`, a media type, `form NAME submitted`.",
    ),
    ("enter", "`on enter`: runs when the card enters the stage."),
    (
        "message",
        "`on message`: any inbound message. In expressions, `message.text` and `message.type`.",
    ),
    (
        "keyword",
        "`on keyword \"fatura\", \"boleto\"`: a text containing one of the words, as whole words, ignoring case and accents.",
    ),
    (
        "regex",
        "`on regex /pattern/`: a text message matching the pattern.",
    ),
    (
        "button",
        "`on button \"Billing\"`: a tap on a reply button with that title.",
    ),
    (
        "choice",
        "`on choice \"Row\"`: a list-row choice. As a field type: `choice \"a\", \"b\"`.",
    ),
    (
        "when",
        "`when COND { ... }`: any inbound message while the condition holds. After a trigger, `when COND` is a guard.",
    ),
    (
        "after",
        "`after 10m silence` / `after 2h in stage`: a timer. As a date constraint: `after today`.",
    ),
    (
        "silence",
        "`after 10m silence`: no message in either direction for that long.",
    ),
    (
        "otherwise",
        "`otherwise { ... }`: any inbound message no earlier handler took. A stage must answer every message; `otherwise` makes it total.",
    ),
    (
        "reply",
        "`reply \"text\"`, `reply buttons`, `reply list`, `reply template`, `reply form`: send a message to the customer.",
    ),
    (
        "send",
        "`send template NAME(args)`: the same as `reply template`. In a test: `send \"text\"` or `send image`.",
    ),
    (
        "buttons",
        "`reply buttons \"body\" [\"A\", \"B\", \"C\"]`: up to 3 reply buttons of at most 20 characters.",
    ),
    (
        "list",
        "`reply list \"body\" button \"Label\" [rows]`: up to 10 rows of at most 24 characters.",
    ),
    (
        "ask",
        "`ask FIELD \"prompt\" [tries N] [else ACTION]`: asks until the answer validates; after the last try the `else` runs and ends the handler.",
    ),
    (
        "tries",
        "`tries 3`: how many answers `ask` accepts before giving up.",
    ),
    ("set", "`set FIELD = EXPR`: stores a value in a field."),
    ("tag", "`tag \"vip\"`: adds tags to the contact."),
    ("untag", "`untag \"vip\"`: removes tags from the contact."),
    (
        "route",
        "`route TEAM [priority P]`: gives the card to a team.",
    ),
    (
        "assign",
        "`assign \"ana@acme.com\"`: gives the card to one agent.",
    ),
    (
        "priority",
        "`priority low|normal|high|urgent`: the card's priority.",
    ),
    (
        "handoff",
        "`handoff [TEAM]`: a person takes over; automation stays silent for this card.",
    ),
    (
        "post",
        "`post WEBHOOK { key: value }`: sends a JSON body to a webhook, fire and forget.",
    ),
    (
        "call",
        "`call WEBHOOK { ... } save a, b [timeout 5s] [else ACTION]`: calls a webhook and waits; keys of the answer named in `save` set those fields.",
    ),
    (
        "save",
        "`save a, b`: the fields a `call` sets from its answer.",
    ),
    (
        "goto",
        "`goto STAGE`: moves the card to another stage (its `on enter` runs).",
    ),
    ("close", "`close [\"reason\"]`: closes the card."),
    ("ignore", "`ignore`: stay silent on purpose."),
    (
        "if",
        "`if COND { ... } else { ... }`: runs one block or the other.",
    ),
    (
        "else",
        "The other branch of `if`, or the fallback of `ask` and `call`.",
    ),
    (
        "inside",
        "`inside HOURS`: true during those business hours.",
    ),
    (
        "outside",
        "`outside HOURS`: true outside those business hours.",
    ),
    (
        "contact",
        "`contact.phone`, `.name`, `.country`, `.tags`, `.new`, `.returning`, `.attr.NAME`. In a test: `contact \"+55 ...\" [named \"Ana\"]`.",
    ),
    (
        "card",
        "`card.stage`, `.team`, `.agent`, `.priority`, `.status`, `.close_reason`, `.opened_at`.",
    ),
    ("today", "The current date in the flow's time zone."),
    ("now", "The current time."),
    (
        "expect",
        "`expect stage|routed|assigned|reply|template|field|posted|tagged|handoff|closed|sent nothing`: a check in a test.",
    ),
    ("advance", "`advance 25h`: moves the test clock forward."),
    (
        "tap",
        "`tap \"Billing\"`: the test customer taps a reply button.",
    ),
    (
        "choose",
        "`choose \"Row\"`: the test customer picks a list row.",
    ),
    (
        "submit",
        "`submit FORM { key: value }`: the test customer submits a form.",
    ),
    (
        "text",
        "`text [matching /re/] [length between N and M]`: a free-text field.",
    ),
    ("number", "`number [between N and M]`: a numeric field."),
    ("email", "`email`: an e-mail address field."),
    ("phone", "`phone`: a phone number field."),
    (
        "date",
        "`date [past|future] [after D] [before D]`: a date field.",
    ),
    (
        "yesno",
        "`yesno`: a yes/no field (accepts sim/não, yes/no).",
    ),
    (
        "matching",
        "`matching /re/`: the answer must match the pattern.",
    ),
    (
        "matches",
        "`X matches /re/`: true when the text matches the pattern.",
    ),
    (
        "contains",
        "`X contains \"part\"`: substring or list membership.",
    ),
    (
        "has",
        "`contact has tag \"vip\"` / `contact has no tag \"vip\"`.",
    ),
    ("is", "`FIELD is set` / `FIELD is not set`."),
    (
        "intent",
        "`intent refund { examples \"quero meu dinheiro de volta\", \"refund\" }`: a kind of request learned from examples; `on intent refund` takes text messages the classifier puts in it. See docs/intents.md.",
    ),
    (
        "intents",
        "`intents threshold 0.3 margin 0.04` in the flow header: how sure the classifier must be (confidence from 0 to 1) and how far ahead of the second intent.",
    ),
    (
        "examples",
        "`examples \"...\", \"...\"`: ways customers say an intent, in every language they use.",
    ),
    (
        "threshold",
        "`threshold 0.4`: the lowest confidence (0 to 1) that counts, for intents or `answer`.",
    ),
    (
        "margin",
        "`margin 0.05`: how far the best intent must lead the second one.",
    ),
    (
        "knowledge",
        "`knowledge faq from \"faq.md\"`: a Markdown file whose sections `answer` quotes verbatim.",
    ),
    (
        "answer",
        "`answer faq [threshold 0.3 | with helper] [else ...]`: quotes the section that best matches the message, or runs `else`.",
    ),
    (
        "ai",
        "`ai helper \"https://.../v1/chat/completions\" { model \"...\"; key env(\"KEY\"); timeout 10s; retry 2 }`: an OpenAI-compatible endpoint for `classify` and `answer ... with`.",
    ),
    (
        "classify",
        "`classify with helper [\"instructions\"] [into a, b] [else ...]`: an external model picks an intent; its `on intent` handler runs. A timeout or an answer outside the choices runs `else`.",
    ),
];
