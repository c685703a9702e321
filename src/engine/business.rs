//! Events from business systems: the one check of an event's payload against the
//! script's declaration (the daemon's `POST /events`, `wafl test`, the REPL and replay all
//! call [`check_event`]), and how `on event` handlers run.
//!
//! The rules (`docs/semantics.md`, "Events"):
//! - With an open card, the `anywhere` handlers and then the stage's own `on event NAME`
//!   handlers are tried in order; the first whose guard holds runs. A handler that takes
//!   the event ends any wait for an answer, as a `goto` would. A card handed to a person
//!   takes no event: it is only counted.
//! - With no open card, the handlers of the start stage (and `anywhere`) are tried; the
//!   first that takes the event opens a card in the start stage and runs there. No card
//!   is opened for an event no handler takes.
//! - For a contact who opted out, nothing runs but the handler's `optout` block, which
//!   the checker lets only post to webhooks and tag the contact; no card is opened and
//!   nothing is sent.

use super::run::Run;
use super::state::*;
use crate::compile::{DateBound, FieldCheck, HandlerRef, Program, Trigger, Value};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An event a business system sent about one contact, its payload checked and typed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BusinessEvent {
    /// The declared event, e.g. `order_shipped`.
    pub name: String,
    /// The sender's id for this event; the daemon takes each id once.
    pub id: String,
    /// The payload by key, each value of its declared type; optional keys left out are
    /// absent.
    pub payload: BTreeMap<String, Value>,
}

/// Why an event was refused. Each says what is wrong in words a sender can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventError {
    /// The script declares no event of this name.
    Unknown {
        name: String,
        /// The closest declared name, if one is close.
        suggestion: Option<String>,
    },
    /// The event id is empty.
    MissingId,
    /// The payload is not a JSON object.
    NotAnObject,
    /// A key the declaration requires is absent (or `null`).
    MissingKey { key: String },
    /// A key the declaration does not have.
    UnknownKey {
        key: String,
        suggestion: Option<String>,
    },
    /// A value of the wrong JSON type.
    WrongType {
        key: String,
        expected: &'static str,
        got: &'static str,
    },
    /// A value of the right type that breaks the declared constraint.
    Invalid {
        key: String,
        value: String,
        rule: String,
    },
}

impl std::fmt::Display for EventError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EventError::Unknown { name, suggestion } => {
                write!(f, "unknown event `{name}`")?;
                match suggestion {
                    Some(s) => write!(f, "; did you mean `{s}`?"),
                    None => write!(f, "; the script declares it with `event {name} {{ ... }}`"),
                }
            }
            EventError::MissingId => {
                f.write_str("the event has no id; give every event a unique, non-empty `id`")
            }
            EventError::NotAnObject => {
                f.write_str("the payload must be a JSON object of the event's keys")
            }
            EventError::MissingKey { key } => {
                write!(f, "the payload lacks `{key}`, which the event requires")
            }
            EventError::UnknownKey { key, suggestion } => {
                write!(f, "the event has no key `{key}`")?;
                match suggestion {
                    Some(s) => write!(f, "; did you mean `{s}`?"),
                    None => Ok(()),
                }
            }
            EventError::WrongType { key, expected, got } => {
                write!(f, "`{key}` must be {expected}, not {got}")
            }
            EventError::Invalid { key, value, rule } => {
                write!(f, "`{key}` is {value}, but it {rule}")
            }
        }
    }
}

impl std::error::Error for EventError {}

/// Checks an event against the script: the event is declared, the id is not empty, and
/// the payload has exactly the declared keys (optional ones may be absent or `null`),
/// each of its type and within its constraints. `today` is the flow's local date, for
/// date bounds such as `future`.
pub fn check_event(
    program: &Program,
    name: &str,
    id: &str,
    payload: &serde_json::Value,
    today: Date,
) -> Result<BusinessEvent, EventError> {
    let Some(spec) = program.events.get(name) else {
        return Err(EventError::Unknown {
            name: name.to_string(),
            suggestion: crate::diag::did_you_mean(name, program.events.keys().map(String::as_str))
                .map(str::to_string),
        });
    };
    if id.trim().is_empty() {
        return Err(EventError::MissingId);
    }
    let empty = serde_json::Map::new();
    let object = match payload {
        serde_json::Value::Object(o) => o,
        serde_json::Value::Null => &empty,
        _ => return Err(EventError::NotAnObject),
    };
    for key in object.keys() {
        if !spec.keys.iter().any(|k| k.name == *key) {
            return Err(EventError::UnknownKey {
                key: key.clone(),
                suggestion: crate::diag::did_you_mean(
                    key,
                    spec.keys.iter().map(|k| k.name.as_str()),
                )
                .map(str::to_string),
            });
        }
    }
    let mut values = BTreeMap::new();
    for k in &spec.keys {
        match object.get(&k.name) {
            None | Some(serde_json::Value::Null) => {
                if !k.optional {
                    return Err(EventError::MissingKey {
                        key: k.name.clone(),
                    });
                }
            }
            Some(v) => {
                values.insert(k.name.clone(), typed(&k.name, &k.check, v, today)?);
            }
        }
    }
    Ok(BusinessEvent {
        name: name.to_string(),
        id: id.to_string(),
        payload: values,
    })
}

/// One payload value as a flow value of its declared type.
fn typed(
    key: &str,
    check: &FieldCheck,
    v: &serde_json::Value,
    today: Date,
) -> Result<Value, EventError> {
    use serde_json::Value as J;
    let wrong = |expected: &'static str| EventError::WrongType {
        key: key.to_string(),
        expected,
        got: json_kind(v),
    };
    let invalid = |value: String| EventError::Invalid {
        key: key.to_string(),
        value,
        rule: rule(check, today),
    };
    match (check, v) {
        (FieldCheck::Number { range }, J::Number(n)) => {
            let n = n
                .as_f64()
                .filter(|n| n.is_finite())
                .ok_or_else(|| invalid(n.to_string()))?;
            match range {
                Some((min, max)) if n < *min || n > *max => Err(invalid(Value::Num(n).to_string())),
                _ => Ok(Value::Num(n)),
            }
        }
        (FieldCheck::Number { .. }, _) => Err(wrong("a number")),
        (FieldCheck::YesNo, J::Bool(b)) => Ok(Value::Bool(*b)),
        (FieldCheck::YesNo, _) => Err(wrong("`true` or `false`")),
        (FieldCheck::Date { .. }, J::String(s)) => {
            if !is_iso_date(s) || s.parse::<Date>().is_err() {
                return Err(EventError::Invalid {
                    key: key.to_string(),
                    value: format!("{s:?}"),
                    rule: "must be a calendar date written YYYY-MM-DD".into(),
                });
            }
            super::validate::validate(check, s, today).ok_or_else(|| invalid(format!("{s:?}")))
        }
        (FieldCheck::Date { .. }, _) => Err(wrong("a date string such as \"2026-12-01\"")),
        (_, J::String(s)) => {
            super::validate::validate(check, s, today).ok_or_else(|| invalid(format!("{s:?}")))
        }
        (_, _) => Err(wrong("a string")),
    }
}

fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a yes/no value",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

/// What a value of this type must be, for refusals: "must match /^[A-Z]{2}[0-9]{6}$/".
pub fn rule(check: &FieldCheck, today: Date) -> String {
    let bound = |b: &DateBound| match b {
        DateBound::Today => format!("today ({today})"),
        DateBound::Date(d) => d.to_string(),
    };
    match check {
        FieldCheck::Text { pattern, length } => {
            let mut parts = Vec::new();
            if let Some(re) = pattern {
                parts.push(format!("match /{}/", re.as_str()));
            }
            if let Some((min, max)) = length {
                parts.push(format!(
                    "have between {} and {} characters",
                    Value::Num(*min),
                    Value::Num(*max)
                ));
            }
            if parts.is_empty() {
                "must not be empty".into()
            } else {
                format!("must {}", parts.join(" and "))
            }
        }
        FieldCheck::Number { range } => match range {
            Some((min, max)) => format!(
                "must be between {} and {}",
                Value::Num(*min),
                Value::Num(*max)
            ),
            None => "must be a number".into(),
        },
        FieldCheck::Email => "must be an e-mail address".into(),
        FieldCheck::Phone => "must be a phone number of 8 to 15 digits".into(),
        FieldCheck::Date { after, before } => {
            let mut parts = vec!["must be a date".to_string()];
            if let Some(a) = after {
                parts.push(format!("after {}", bound(a)));
            }
            if let Some(b) = before {
                parts.push(format!("before {}", bound(b)));
            }
            parts.join(" ")
        }
        FieldCheck::Choice(options) => format!(
            "must be one of {}",
            options
                .iter()
                .map(|o| format!("{o:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        FieldCheck::YesNo => "must be `true` or `false`".into(),
    }
}

impl Run<'_> {
    /// An event from a business system (see the module documentation).
    pub(super) fn business(&mut self, ev: &BusinessEvent) {
        if !self.p.events.contains_key(&ev.name) {
            self.emit(EffectKind::Error {
                message: format!(
                    "event `{}` is not declared in this script; it was recorded and ignored",
                    ev.name
                ),
            });
            return;
        }
        self.event = Some(ev.clone());
        let opted_out = self.s.opted_out;
        let status = self.s.card.as_ref().map(|c| c.status);
        if status == Some(CardStatus::Handoff) {
            let stage = self.stage_name();
            self.metric(
                "event_in_handoff",
                &[("event", &ev.name), ("stage", &stage)],
            );
            return;
        }
        let stage = match status {
            Some(_) => self.stage_id(),
            None => self.p.start,
        };
        let Some(stage) = stage else {
            self.emit(EffectKind::Error {
                message: "the script has no stage to open a conversation in".into(),
            });
            return;
        };
        let Some((r, conds)) = self.event_handler(stage, &ev.name) else {
            let stage = self
                .p
                .stages
                .get(stage)
                .map(|s| s.name.clone())
                .unwrap_or_default();
            self.conditions.clear();
            self.metric("event_unhandled", &[("event", &ev.name), ("stage", &stage)]);
            return;
        };
        if opted_out {
            self.opted_out_block(r, conds, status.is_none());
            return;
        }
        if status.is_none() {
            if !self.open_card() {
                return;
            }
        } else {
            // The handler takes over from any question the card was waiting on.
            self.clear_suspension();
        }
        self.start(r, conds);
    }

    /// The first `on event NAME` handler of `anywhere` then of the stage whose guard
    /// holds, with the trace conditions that say why.
    fn event_handler(
        &mut self,
        stage: crate::compile::StageId,
        name: &str,
    ) -> Option<(HandlerRef, Vec<(String, String)>)> {
        let p = self.p;
        let st = p.stages.get(stage)?;
        let refs = p
            .anywhere_index
            .events
            .iter()
            .map(|&i| HandlerRef::Anywhere(i))
            .chain(st.index.events.iter().map(|&i| HandlerRef::Stage(stage, i)));
        for r in refs {
            let Some(h) = p.handler(r) else { continue };
            if !matches!(&h.trigger, Trigger::Event(e) if e == name) {
                continue;
            }
            let mut conds = vec![("event".to_string(), name.to_string())];
            if let Some(g) = &h.guard {
                self.conditions.clear();
                if !self.eval(g).is_true() {
                    continue;
                }
                conds.append(&mut self.conditions);
            }
            return Some((r, conds));
        }
        None
    }

    /// A contact who opted out: only the handler's `optout` block runs, and never opens
    /// a card.
    fn opted_out_block(&mut self, r: HandlerRef, mut conds: Vec<(String, String)>, cardless: bool) {
        let Some(pc) = self.p.handler(r).and_then(|h| h.optout) else {
            self.metric("event_opted_out", &[]);
            return;
        };
        conds.push(("contact".into(), "opted out".into()));
        self.set_handler_trace(r, conds);
        self.cardless = cardless;
        let next = self.exec(r, pc);
        self.cardless = false;
        self.drive(next);
    }
}
