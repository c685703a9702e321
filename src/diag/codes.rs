//! The registry of stable diagnostic codes. Codes never change meaning once published;
//! each one is documented in `docs/diagnostics.md` with a bad and a fixed example, and
//! covered by a snapshot under `tests/cases/`. `E` codes are errors, `W` codes warnings, `T` codes test failures (errors).

use super::Severity;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Code(&'static str);

impl Code {
    pub fn as_str(self) -> &'static str {
        self.0
    }

    pub fn severity(self) -> Severity {
        if self.0.starts_with('W') {
            Severity::Warning
        } else {
            Severity::Error
        }
    }

    /// The one-line title of the code, from [`ALL`].
    pub fn title(self) -> &'static str {
        ALL.iter()
            .find(|(c, _)| *c == self)
            .map(|(_, t)| *t)
            .unwrap_or("")
    }

    pub fn parse(s: &str) -> Option<Code> {
        ALL.iter()
            .map(|(c, _)| *c)
            .find(|c| c.0.eq_ignore_ascii_case(s))
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

// --- syntax (E01xx) -------------------------------------------------------------------
/// Unexpected input: the parser expected something else here.
pub const SYNTAX: Code = Code("E0100");
/// A string literal without its closing quote.
pub const UNTERMINATED_STRING: Code = Code("E0101");
/// A literal that cannot be read: bad escape, number or duration out of range.
pub const BAD_LITERAL: Code = Code("E0102");
/// Blocks or expressions nested deeper than the parser allows.
pub const TOO_DEEP: Code = Code("E0103");
/// A `{` without its `}` (or the reverse).
pub const UNBALANCED: Code = Code("E0104");

// --- names (E02xx) --------------------------------------------------------------------
/// A stage, field, team, template, webhook, form or hours name that is not declared.
pub const UNKNOWN_NAME: Code = Code("E0201");
/// Two declarations of the same kind with the same name.
pub const DUPLICATE: Code = Code("E0202");
/// `contact.foo`, `card.bar`: a property that does not exist.
pub const UNKNOWN_PROPERTY: Code = Code("E0203");
/// No `flow` header, or more than one.
pub const FLOW_HEADER: Code = Code("E0204");
/// A trigger or action used where it has no meaning (`on enter` in `anywhere`...).
pub const MISPLACED: Code = Code("E0205");

// --- types and values (E03xx) ---------------------------------------------------------
/// An expression of the wrong type.
pub const TYPE_MISMATCH: Code = Code("E0301");
/// A regular expression that does not compile.
pub const BAD_REGEX: Code = Code("E0302");
/// A time zone name that is not in the tz database.
pub const BAD_TIMEZONE: Code = Code("E0303");
/// A clock time, date or duration that does not exist (`25:00`, `2026-02-30`, `0m`).
pub const BAD_TIME: Code = Code("E0304");
/// A template used with the wrong number of parameters.
pub const TEMPLATE_ARITY: Code = Code("E0305");
/// A comparison of a choice field with a value that is not one of its choices.
pub const NOT_A_CHOICE: Code = Code("E0306");
/// A field constraint that cannot hold (`between 10 and 1`, `tries 0`).
pub const BAD_CONSTRAINT: Code = Code("E0307");

// --- flow shape (E04xx) ---------------------------------------------------------------
/// A stage no path from the start stage reaches.
pub const UNREACHABLE_STAGE: Code = Code("E0401");
/// A stage from which no path leads to `close`.
pub const NO_WAY_TO_CLOSE: Code = Code("E0402");
/// `goto` through `on enter` handlers that loops without waiting for the customer.
pub const ENTER_LOOP: Code = Code("E0403");
/// A script without any stage.
pub const NO_STAGES: Code = Code("E0404");
/// A stage that does not answer every kind of inbound message.
pub const NOT_TOTAL: Code = Code("E0405");
/// A field used on a path where it may not have been collected.
pub const MAYBE_UNSET: Code = Code("E0407");
/// A free-form message sent when the 24-hour service window is surely closed.
pub const WINDOW_CLOSED: Code = Code("E0408");

// --- WhatsApp limits (E05xx) ----------------------------------------------------------
/// More than 3 reply buttons.
pub const TOO_MANY_BUTTONS: Code = Code("E0501");
/// A button title over 20 characters.
pub const BUTTON_TOO_LONG: Code = Code("E0502");
/// More than 10 list rows.
pub const TOO_MANY_ROWS: Code = Code("E0503");
/// A list row title over 24 characters (or the list button label over 20).
pub const ROW_TOO_LONG: Code = Code("E0504");
/// A message text over the WhatsApp limit (4096, or 1024 for an interactive body).
pub const TEXT_TOO_LONG: Code = Code("E0505");
/// A form that breaks a WhatsApp Flows rule (components per screen, label lengths...).
pub const FORM_LIMIT: Code = Code("E0506");
/// Two buttons or rows with the same title in one message.
pub const DUPLICATE_OPTION: Code = Code("E0507");

// --- warnings (W06xx) -----------------------------------------------------------------
/// A declaration nothing uses.
pub const UNUSED: Code = Code("W0601");
/// A handler that can never fire because an earlier one always matches first.
pub const SHADOWED: Code = Code("W0602");
/// `{...}` in a string where it is not interpolated (keywords, button titles).
pub const NO_INTERPOLATION: Code = Code("W0603");
/// A handler with an empty body: the message is swallowed without a word.
pub const EMPTY_HANDLER: Code = Code("W0604");

// --- intents, knowledge and AI (E10xx, W10xx) --------------------------------------
/// A knowledge file that cannot be read.
pub const KNOWLEDGE_MISSING: Code = Code("E1001");
/// A knowledge file without any section.
pub const KNOWLEDGE_EMPTY: Code = Code("E1002");
/// Two sections of a knowledge file with the same heading.
pub const KNOWLEDGE_DUPLICATE: Code = Code("E1003");
/// An intent without examples.
pub const INTENT_NO_EXAMPLES: Code = Code("E1004");
/// A `classify` whose possible answer no `on intent` handler takes.
pub const AI_CHOICE_UNHANDLED: Code = Code("E1005");
/// An intent example that, held out, classifies as another intent.
pub const CONFUSABLE_INTENTS: Code = Code("W1006");
/// An `on intent` handler whose examples an earlier keyword or regex handler all takes.
pub const INTENT_CAUGHT_FIRST: Code = Code("W1007");
// --- events (E09xx) -------------------------------------------------------------------
/// An `on event` handler that can open a card and does not say what happens for a contact
/// who opted out.
pub const EVENT_OPTOUT: Code = Code("E0901");
/// A free-form message in an `on event` handler that can open a card: the customer has
/// not written, so only templates get through.
pub const EVENT_FREE_FORM: Code = Code("E0902");
/// `event.KEY` read after the handler waited (`ask`, `call`): the event is gone by then.
pub const EVENT_AFTER_WAIT: Code = Code("E0903");

// --- tests (T07xx) --------------------------------------------------------------------
/// An `expect` step of a `test` block that did not hold (reported by `wafl test`).
pub const EXPECTATION_FAILED: Code = Code("T0701");

// --- service levels (E08xx, W08xx) ------------------------------------------------------
/// A service-level target counted in hours that never open: it can never come due.
pub const SLA_CLOCK_NEVER_RUNS: Code = Code("E0801");
/// A first-reply target for teams without agents: nobody can meet it.
pub const SLA_NOBODY_REPLIES: Code = Code("E0802");
/// A service level for teams no rule routes a card to.
pub const SLA_NEVER_APPLIES: Code = Code("W0801");

/// Every code with its title, in order. Documentation and tests iterate this table.
pub const ALL: &[(Code, &str)] = &[
    (SYNTAX, "syntax error"),
    (UNTERMINATED_STRING, "unterminated string"),
    (BAD_LITERAL, "invalid literal"),
    (TOO_DEEP, "nesting too deep"),
    (UNBALANCED, "unbalanced braces"),
    (UNKNOWN_NAME, "unknown name"),
    (DUPLICATE, "duplicate declaration"),
    (UNKNOWN_PROPERTY, "unknown property"),
    (FLOW_HEADER, "missing or repeated flow header"),
    (MISPLACED, "trigger or action not allowed here"),
    (TYPE_MISMATCH, "type mismatch"),
    (BAD_REGEX, "invalid regular expression"),
    (BAD_TIMEZONE, "unknown time zone"),
    (BAD_TIME, "invalid time, date or duration"),
    (TEMPLATE_ARITY, "wrong number of template parameters"),
    (NOT_A_CHOICE, "value is not one of the choices"),
    (BAD_CONSTRAINT, "impossible constraint"),
    (UNREACHABLE_STAGE, "unreachable stage"),
    (NO_WAY_TO_CLOSE, "stage cannot reach closure"),
    (ENTER_LOOP, "goto loop without waiting"),
    (NO_STAGES, "no stages"),
    (NOT_TOTAL, "stage does not answer every message"),
    (MAYBE_UNSET, "field may not be collected"),
    (
        WINDOW_CLOSED,
        "free-form message outside the 24-hour window",
    ),
    (TOO_MANY_BUTTONS, "too many reply buttons"),
    (BUTTON_TOO_LONG, "button title too long"),
    (TOO_MANY_ROWS, "too many list rows"),
    (ROW_TOO_LONG, "list row title too long"),
    (TEXT_TOO_LONG, "message text too long"),
    (FORM_LIMIT, "form breaks a WhatsApp Flows rule"),
    (DUPLICATE_OPTION, "duplicate button or row title"),
    (UNUSED, "unused declaration"),
    (SHADOWED, "handler can never fire"),
    (NO_INTERPOLATION, "interpolation not allowed here"),
    (EMPTY_HANDLER, "empty handler"),
    (KNOWLEDGE_MISSING, "knowledge file cannot be read"),
    (KNOWLEDGE_EMPTY, "knowledge file without sections"),
    (KNOWLEDGE_DUPLICATE, "duplicate knowledge section"),
    (INTENT_NO_EXAMPLES, "intent without examples"),
    (AI_CHOICE_UNHANDLED, "ai step choice not handled"),
    (CONFUSABLE_INTENTS, "confusable intents"),
    (INTENT_CAUGHT_FIRST, "intent always caught first"),
    (
        EVENT_OPTOUT,
        "event handler says nothing about opted-out contacts",
    ),
    (
        EVENT_FREE_FORM,
        "free-form message in an event handler that can open a card",
    ),
    (EVENT_AFTER_WAIT, "event read after the handler waited"),
    (EXPECTATION_FAILED, "test expectation failed"),
    (SLA_CLOCK_NEVER_RUNS, "service-level clock never runs"),
    (SLA_NOBODY_REPLIES, "nobody can give the first reply"),
    (SLA_NEVER_APPLIES, "service level never applies"),
];
