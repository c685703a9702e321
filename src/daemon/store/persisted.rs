//! Versioned bodies: what the store writes inside its rows. Every body is `{"v": N, ...}`;
//! reading accepts every version ever written and upgrades it here, so the in-memory
//! types can change without breaking stored data.
//!
//! **Invariant:** nothing persisted points into a compiled program by position. A waiting
//! `ask`/`call`/AI step and a handler timer name their handler by [`HandlerName`] (stable
//! key + fingerprint of its compiled code), and every conversation carries the hash of
//! the program that made it.
//!
//! Versions:
//! - conversation `v1` (unversioned): the engine's state as it was in memory, with
//!   handler positions. Read against the running program, as wafl always did.
//! - conversation `v2`: `{v, program, state}`, handlers by name; the `resume` and
//!   `fallback` instruction positions of a suspension relative to its handler's first
//!   instruction (the handler's code is the same whenever its fingerprint is).
//! - conversation `v3`: as `v2`, with a card's `history` holding only its most recent
//!   lines ([`crate::engine::HISTORY_WINDOW`], each cut to
//!   [`crate::engine::HISTORY_TEXT_CHARS`] characters), so a state has the same size
//!   however long the conversation; the whole history is in the store's tables. Older
//!   bodies are cut to the same window when read.
//! - outbox item `v0` (unversioned, kind in its own column): the same fields as `v1`
//!   without the `kind` tag. `v1`: `{v, kind, ...}` ([`OutboxItem`]).

use crate::compile::identity::HandlerKey;
use crate::compile::{HandlerRef, Program};
use crate::daemon::outbox::item::{OutboxItem, OutboxKind};
use crate::engine::State;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The current version of conversation bodies.
pub const CONVERSATION_VERSION: u64 = 3;
/// The current version of outbox item bodies.
pub const OUTBOX_VERSION: u64 = 1;

/// A stored body that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PersistError {
    #[error("a stored {what} is not valid JSON: {reason}")]
    Json { what: &'static str, reason: String },
    #[error("a stored {what} has version {found}; this wafl reads up to {known}: upgrade wafl")]
    TooNew {
        what: &'static str,
        found: u64,
        known: u64,
    },
    #[error("a stored {what} does not match its version's shape: {reason}")]
    Shape { what: &'static str, reason: String },
    #[error("unknown outbox kind `{0}`")]
    UnknownKind(String),
    #[error("the state points at a handler the program does not have")]
    UnknownHandler,
    /// A waiting card would resume in a handler that is gone or whose code changed.
    #[error("the card waits in `{handler}`, which {how} in the running script")]
    HandlerChanged { handler: String, how: &'static str },
}

/// A handler named stably: its key and the fingerprint of its compiled code.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HandlerName {
    pub key: HandlerKey,
    pub fingerprint: String,
}

impl HandlerName {
    pub fn of(program: &Program, r: HandlerRef) -> Option<HandlerName> {
        program.handler(r).map(|h| HandlerName {
            key: h.key.clone(),
            fingerprint: h.fingerprint.clone(),
        })
    }

    /// Where this handler lives in `program`, if it is there with the same code.
    pub fn resolve(&self, program: &Program) -> Result<HandlerRef, PersistError> {
        match program.handler_by_key(&self.key) {
            Some((r, h)) if h.fingerprint == self.fingerprint => Ok(r),
            Some(_) => Err(PersistError::HandlerChanged {
                handler: self.key.to_string(),
                how: "changed",
            }),
            None => Err(PersistError::HandlerChanged {
                handler: self.key.to_string(),
                how: "no longer exists",
            }),
        }
    }
}

/// A conversation state as stored: the program hash it was made with and the engine
/// state with handlers by name.
#[derive(Clone, Debug, PartialEq)]
pub struct ConversationBody {
    pub version: u64,
    /// Content hash of the program that made this state (empty for `v1` bodies).
    pub program: String,
    /// The engine state; in `v2` handler positions are replaced by [`HandlerName`]s.
    pub state: Value,
}

fn json_err(what: &'static str) -> impl Fn(serde_json::Error) -> PersistError {
    move |e| PersistError::Json {
        what,
        reason: e.to_string(),
    }
}

/// The suspensions (`card.suspended`, `last_closed.suspended`) of a serialized state.
fn suspensions(state: &mut Value) -> Vec<&mut Map<String, Value>> {
    let mut out = Vec::new();
    let Value::Object(top) = state else {
        return out;
    };
    for (k, v) in top.iter_mut() {
        if (k == "card" || k == "last_closed")
            && let Some(Value::Object(s)) = v.get_mut("suspended")
        {
            out.push(s);
        }
    }
    out
}

/// The handler slots of handler timers (`timers.*.target.handler`).
fn timer_handlers(state: &mut Value) -> Vec<&mut Value> {
    let mut out = Vec::new();
    if let Some(Value::Object(ts)) = state.get_mut("timers") {
        for t in ts.values_mut() {
            if let Some(target) = t.get_mut("target")
                && target.get("kind").and_then(Value::as_str) == Some("handler")
                && let Some(h) = target.get_mut("handler")
            {
                out.push(h);
            }
        }
    }
    out
}

fn shape(e: impl std::fmt::Display) -> PersistError {
    PersistError::Shape {
        what: "conversation state",
        reason: e.to_string(),
    }
}

/// Moves the instruction positions of a suspension (`resume`, `fallback`) by `delta`:
/// stored relative to the handler's first instruction, used absolute.
fn shift_positions(s: &mut Map<String, Value>, delta: i64) -> Result<(), PersistError> {
    for field in ["resume", "fallback"] {
        if let Some(v) = s.get_mut(field)
            && let Some(n) = v.as_i64()
        {
            let moved = n + delta;
            if moved < 0 {
                return Err(shape(format!("`{field}` lies before its handler")));
            }
            *v = Value::from(moved);
        }
    }
    Ok(())
}

impl ConversationBody {
    /// Names every handler position of `state` by key and fingerprint in `program`.
    pub fn encode(
        state: &State,
        program: &Program,
        program_hash: &str,
    ) -> Result<ConversationBody, PersistError> {
        let mut value = serde_json::to_value(state).map_err(json_err("conversation state"))?;
        for susp in suspensions(&mut value) {
            let r: HandlerRef =
                serde_json::from_value(susp.get("handler").cloned().unwrap_or_default())
                    .map_err(shape)?;
            let h = program.handler(r).ok_or(PersistError::UnknownHandler)?;
            let entry = i64::try_from(h.entry).map_err(shape)?;
            shift_positions(susp, -entry)?;
            let name = HandlerName::of(program, r).ok_or(PersistError::UnknownHandler)?;
            susp.insert(
                "handler".into(),
                serde_json::to_value(name).map_err(json_err("handler name"))?,
            );
        }
        for slot in timer_handlers(&mut value) {
            let r: HandlerRef = serde_json::from_value(slot.clone()).map_err(shape)?;
            let name = HandlerName::of(program, r).ok_or(PersistError::UnknownHandler)?;
            *slot = serde_json::to_value(name).map_err(json_err("handler name"))?;
        }
        Ok(ConversationBody {
            version: CONVERSATION_VERSION,
            program: program_hash.to_string(),
            state: value,
        })
    }

    /// The engine state for `program`. A waiting card whose handler is gone or changed
    /// is an error (reloads refuse such programs); a handler timer whose handler is gone
    /// is dropped, and one whose handler changed runs the new code from its start.
    pub fn decode(&self, program: &Program) -> Result<State, PersistError> {
        let mut value = self.state.clone();
        if self.version >= 2 {
            for susp in suspensions(&mut value) {
                let name: HandlerName =
                    serde_json::from_value(susp.get("handler").cloned().unwrap_or_default())
                        .map_err(shape)?;
                let r = name.resolve(program)?;
                let entry = program
                    .handler(r)
                    .map(|h| h.entry)
                    .ok_or(PersistError::UnknownHandler)?;
                shift_positions(susp, i64::try_from(entry).map_err(shape)?)?;
                susp.insert(
                    "handler".into(),
                    serde_json::to_value(r).map_err(json_err("handler position"))?,
                );
            }
            let mut dropped = false;
            for slot in timer_handlers(&mut value) {
                let name: HandlerName = serde_json::from_value(slot.clone()).map_err(shape)?;
                match program.handler_by_key(&name.key) {
                    Some((r, _)) => {
                        *slot = serde_json::to_value(r).map_err(json_err("handler position"))?
                    }
                    None => {
                        *slot = Value::Null;
                        dropped = true;
                    }
                }
            }
            if dropped && let Some(Value::Object(ts)) = value.get_mut("timers") {
                ts.retain(|_, t| {
                    t.get("target")
                        .and_then(|x| x.get("handler"))
                        .is_none_or(|h| !h.is_null())
                });
            }
        }
        serde_json::from_value(value).map_err(|e| PersistError::Shape {
            what: "conversation state",
            reason: e.to_string(),
        })
    }

    /// The handler the open card waits in, if it waits.
    pub fn waiting(&self) -> Option<HandlerName> {
        if self.version < 2 {
            return None;
        }
        let h = self.state.get("card")?.get("suspended")?.get("handler")?;
        serde_json::from_value(h.clone()).ok()
    }

    /// The stage of the open card.
    pub fn stage(&self) -> Option<String> {
        self.state
            .get("card")?
            .get("stage")?
            .as_str()
            .map(str::to_string)
    }

    pub fn to_json(&self) -> String {
        let mut m = Map::new();
        m.insert("v".into(), Value::from(self.version));
        m.insert("program".into(), Value::String(self.program.clone()));
        m.insert("state".into(), self.state.clone());
        Value::Object(m).to_string()
    }

    /// Reads any version ever written.
    pub fn from_json(text: &str) -> Result<ConversationBody, PersistError> {
        let mut body = Self::from_json_as_written(text)?;
        if body.version < 3 {
            cut_histories(&mut body.state);
        }
        Ok(body)
    }

    fn from_json_as_written(text: &str) -> Result<ConversationBody, PersistError> {
        let value: Value = serde_json::from_str(text).map_err(json_err("conversation"))?;
        match value.get("v").and_then(Value::as_u64) {
            None => Ok(ConversationBody {
                version: 1,
                program: String::new(),
                state: value,
            }),
            Some(v @ (2 | 3)) => {
                let Value::Object(mut m) = value else {
                    return Err(PersistError::Shape {
                        what: "conversation",
                        reason: "not an object".into(),
                    });
                };
                let program = m
                    .get("program")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let state = m.remove("state").ok_or(PersistError::Shape {
                    what: "conversation",
                    reason: "no `state`".into(),
                })?;
                Ok(ConversationBody {
                    version: v,
                    program,
                    state,
                })
            }
            Some(found) => Err(PersistError::TooNew {
                what: "conversation",
                found,
                known: CONVERSATION_VERSION,
            }),
        }
    }
}

/// Cuts the history of the open and the last closed card to the window a `v3` state
/// keeps (bodies written before `v3` kept every line).
fn cut_histories(state: &mut Value) {
    let Value::Object(top) = state else {
        return;
    };
    for key in ["card", "last_closed"] {
        if let Some(Value::Array(lines)) = top.get_mut(key).and_then(|c| c.get_mut("history")) {
            let over = lines.len().saturating_sub(crate::engine::HISTORY_WINDOW);
            lines.drain(..over);
            for line in lines.iter_mut() {
                if let Some(Value::String(text)) = line.get_mut("text")
                    && let Some((cut, _)) =
                        text.char_indices().nth(crate::engine::HISTORY_TEXT_CHARS)
                {
                    text.truncate(cut);
                    text.push('…');
                }
            }
        }
    }
}

/// An outbox item as stored: `{"v":1,"kind":...,...}`.
pub fn encode_outbox(item: &OutboxItem) -> String {
    let mut value = serde_json::to_value(item).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut value {
        m.insert("v".into(), Value::from(OUTBOX_VERSION));
    }
    value.to_string()
}

/// Reads an outbox item of any version; `kind` is the row's kind column.
pub fn decode_outbox(kind: &str, payload: &str) -> Result<OutboxItem, PersistError> {
    let mut value: Value = serde_json::from_str(payload).map_err(json_err("outbox item"))?;
    let Value::Object(m) = &mut value else {
        return Err(PersistError::Shape {
            what: "outbox item",
            reason: "not an object".into(),
        });
    };
    match m.remove("v").and_then(|v| v.as_u64()) {
        None => {
            // v0: the kind lived only in its column.
            let kind = OutboxKind::parse(kind).ok_or(PersistError::UnknownKind(kind.into()))?;
            m.insert("kind".into(), Value::String(kind.as_str().into()));
        }
        Some(1) => {}
        Some(found) => {
            return Err(PersistError::TooNew {
                what: "outbox item",
                found,
                known: OUTBOX_VERSION,
            });
        }
    }
    serde_json::from_value(value).map_err(|e| PersistError::Shape {
        what: "outbox item",
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::wire::outbound::OutMessage;

    #[test]
    fn unversioned_outbox_payloads_are_upgraded() {
        let old = r#"{"to":"+551199","engine_id":"m1","message":{"type":"text","body":"oi"}}"#;
        let item = decode_outbox("whatsapp", old).expect("v0 reads");
        assert_eq!(
            item,
            OutboxItem::Whatsapp {
                to: "+551199".into(),
                engine_id: "m1".into(),
                message: OutMessage::Text { body: "oi".into() },
            }
        );
        let again = decode_outbox("whatsapp", &encode_outbox(&item)).expect("v1 reads");
        assert_eq!(again, item);
        assert!(matches!(
            decode_outbox("whatsapp", r#"{"v":9}"#),
            Err(PersistError::TooNew { found: 9, .. })
        ));
        assert!(matches!(
            decode_outbox("fax", "{}"),
            Err(PersistError::UnknownKind(_))
        ));
    }

    #[test]
    fn conversation_versions_round_trip() {
        let body = ConversationBody::from_json(r#"{"contact":{"phone":"+1"}}"#).expect("v1");
        assert_eq!(body.version, 1);
        let v2 = ConversationBody {
            version: 2,
            program: "sha256:ab".into(),
            state: serde_json::json!({"card": null}),
        };
        assert_eq!(ConversationBody::from_json(&v2.to_json()).expect("v2"), v2);
        let v3 = ConversationBody { version: 3, ..v2 };
        assert_eq!(ConversationBody::from_json(&v3.to_json()).expect("v3"), v3);
        assert!(matches!(
            ConversationBody::from_json(r#"{"v":4}"#),
            Err(PersistError::TooNew { found: 4, .. })
        ));
    }

    #[test]
    fn older_bodies_keep_only_the_recent_history_when_read() {
        use crate::engine::{HISTORY_TEXT_CHARS, HISTORY_WINDOW};
        let line = |i: usize| serde_json::json!({"at": "2026-01-01T00:00:00Z", "who": "customer", "text": format!("m{i}")});
        let lines: Vec<Value> = (0..500).map(line).collect();
        let mut long = lines.clone();
        long[499]["text"] = Value::String("é".repeat(HISTORY_TEXT_CHARS + 10));
        let v2 = serde_json::json!({"v": 2, "program": "sha256:ab", "state": {
            "card": {"stage": "s", "history": long},
            "last_closed": {"stage": "s", "history": lines},
        }})
        .to_string();
        let body = ConversationBody::from_json(&v2).expect("v2 reads");
        assert_eq!(
            body.version, 2,
            "the version read is kept; the next write is v3"
        );
        for key in ["card", "last_closed"] {
            let kept = body.state[key]["history"].as_array().expect("history");
            assert_eq!(kept.len(), HISTORY_WINDOW);
            assert_eq!(kept[0]["text"], format!("m{}", 500 - HISTORY_WINDOW));
        }
        let last = body.state["card"]["history"][HISTORY_WINDOW - 1]["text"]
            .as_str()
            .expect("text");
        assert_eq!(last.chars().count(), HISTORY_TEXT_CHARS + 1);
        assert!(last.ends_with('…'));
        // Unversioned bodies are cut the same way.
        let v1 = serde_json::json!({"card": {"history": (0..100).map(line).collect::<Vec<_>>()}})
            .to_string();
        let body = ConversationBody::from_json(&v1).expect("v1 reads");
        assert_eq!(
            body.state["card"]["history"].as_array().map(Vec::len),
            Some(HISTORY_WINDOW)
        );
    }
}
