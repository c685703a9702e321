//! A card's story in one timeline: the messages of the history (with their delivery
//! status) merged with what each audited step did (stage moves, routing, webhooks,
//! forms, timers, notes), each automated step with the rule that caused it.

use super::model::{Rules, TimelineEntry, at_ms, short_hash};
use crate::daemon::store::{AuditRow, HistoryRow};
use crate::daemon::wire::inbound::InMessage;
use crate::engine::InboundMessage;
use serde_json::Value as Json;
use std::collections::VecDeque;

/// The text a customer's stored message shows.
pub fn inbound_text(payload: &str) -> String {
    let Ok(msg) = serde_json::from_str::<InMessage>(payload) else {
        return "[message]".into();
    };
    match crate::daemon::worker::to_engine(&msg).map(|i| i.message) {
        Some(InboundMessage::Text(t))
        | Some(InboundMessage::Button(t))
        | Some(InboundMessage::ListChoice(t)) => t,
        Some(InboundMessage::Media { kind, caption }) => match caption {
            Some(c) => format!("[{}] {c}", kind.as_str()),
            None => format!("[{}]", kind.as_str()),
        },
        Some(InboundMessage::Form { form, .. }) => format!("[form] {form}"),
        None => "[form or reaction]".into(),
    }
}

/// The text of a sent message (a wire message as JSON).
fn outbound_text(wire: &Json) -> String {
    let s = |k: &str| wire.get(k).and_then(Json::as_str).unwrap_or("").to_string();
    match wire.get("type").and_then(Json::as_str) {
        Some("template") => format!("[template] {}", s("name")),
        Some("flow") => format!("[form] {}", s("body")),
        _ => s("body"),
    }
}

/// Who did a step, from its audited event.
fn actor_of(row: &AuditRow, event: &Json) -> String {
    match event.get("event").and_then(Json::as_str) {
        Some("agent") => row
            .actor
            .clone()
            .or_else(|| {
                event
                    .get("agent")
                    .and_then(Json::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "agent".into()),
        Some("timer") => {
            let id = event.get("id").and_then(Json::as_str).unwrap_or("");
            // Timer ids are `stage/kind/handler`; the kind names it.
            let kind = id.split('/').nth(1).unwrap_or(id);
            format!("timer:{kind}")
        }
        Some("inbound") | Some("form_refused") | Some("form_screen") => "automation".into(),
        _ => "automation".into(),
    }
}

fn why_of(trace: &Json) -> Option<String> {
    let conds = trace.get("conditions")?.as_array()?;
    let parts: Vec<String> = conds
        .iter()
        .filter_map(|c| {
            let k = c.get(0)?.as_str()?;
            let v = c.get(1)?.as_str()?;
            Some(format!("{k}: {v}"))
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// What one effect shows in the timeline: `(kind, text)`; `None` for effects with no
/// place in a person's story (metrics, timers started, sends, which the history shows).
fn effect_entry(kind: &Json) -> Option<(&'static str, Option<String>)> {
    let s = |k: &str| kind.get(k).and_then(Json::as_str).map(str::to_string);
    let entry = match kind.get("effect").and_then(Json::as_str)? {
        "stage_changed" => ("stage", Some(format!("{} → {}", s("from")?, s("to")?))),
        "route" => ("routed", s("team")),
        "assign" => ("assigned", s("agent")),
        "handoff" => ("handoff", s("team")),
        "release" => ("released", None),
        "close" => ("closed", s("reason")),
        "tag" => ("tag", s("tag").map(|t| format!("+{t}"))),
        "untag" => ("tag", s("tag").map(|t| format!("-{t}"))),
        "post" => ("webhook", s("webhook").map(|w| format!("post {w}"))),
        "call" => ("webhook", s("webhook").map(|w| format!("call {w}"))),
        "send" => match kind.pointer("/message/type").and_then(Json::as_str) {
            Some("form") => (
                "form_sent",
                kind.pointer("/message/form")
                    .and_then(Json::as_str)
                    .map(str::to_string),
            ),
            _ => return None,
        },
        "fact" => match kind.get("fact").and_then(Json::as_str)? {
            "form_submitted" => ("form_submitted", s("form")),
            "form_refused" => {
                let fields: Vec<&str> = kind
                    .get("fields")
                    .and_then(Json::as_array)
                    .map(|a| a.iter().filter_map(Json::as_str).collect())
                    .unwrap_or_default();
                (
                    "form_refused",
                    Some(format!("{}: {}", s("form")?, fields.join(", "))),
                )
            }
            "call_answered" => ("webhook", s("webhook").map(|w| format!("{w} answered"))),
            "call_failed" => (
                "webhook",
                Some(format!("{} failed: {}", s("webhook")?, s("reason")?)),
            ),
            "window_fallback" => ("template_fallback", s("template")),
            _ => return None,
        },
        _ => return None,
    };
    Some(entry)
}

/// The card's timeline, oldest first.
pub fn build(history: &[HistoryRow], audit: &[AuditRow], rules: &Rules) -> Vec<TimelineEntry> {
    // (at ms, order within the same instant, entry)
    let mut out: Vec<(i64, u8, TimelineEntry)> = Vec::new();
    // Replies and templates agents sent, in order, to name the author of sent messages.
    let mut agent_texts: VecDeque<(String, String)> = VecDeque::new();
    for row in audit {
        let event: Json = serde_json::from_str(&row.event).unwrap_or(Json::Null);
        let ev_kind = event.get("event").and_then(Json::as_str).unwrap_or("");
        if ev_kind == "status" {
            continue;
        }
        let actor = actor_of(row, &event);
        let version = Some(short_hash(&row.script_hash));
        let same = short_hash(&row.script_hash) == rules.running();
        let push = |out: &mut Vec<(i64, u8, TimelineEntry)>,
                    kind: &'static str,
                    text: Option<String>,
                    rule| {
            out.push((
                row.at_ms,
                1,
                TimelineEntry {
                    at: at_ms(row.at_ms),
                    kind,
                    text,
                    status: None,
                    actor: actor.clone(),
                    rule,
                    script_version: version.clone(),
                },
            ))
        };
        if ev_kind == "agent" {
            let text = event.get("text").and_then(Json::as_str).map(str::to_string);
            match event.get("action").and_then(Json::as_str) {
                Some("note") => push(&mut out, "note", text, None),
                Some("reply") => {
                    if let Some(t) = text {
                        agent_texts.push_back((t, actor.clone()));
                    }
                }
                Some("template") => {
                    if let Some(n) = event.get("name").and_then(Json::as_str) {
                        agent_texts.push_back((format!("[template] {n}"), actor.clone()));
                    }
                }
                _ => {}
            }
        }
        let effects: Json = serde_json::from_str(&row.effects).unwrap_or(Json::Null);
        let effects = effects.as_array().cloned().unwrap_or_default();
        if ev_kind == "timer" && !effects.is_empty() {
            let rule = effects
                .iter()
                .find_map(|e| e.pointer("/trace/handler").filter(|h| !h.is_null()))
                .and_then(|h| rules.rule(h, None, same));
            push(
                &mut out,
                "timer",
                Some(actor.trim_start_matches("timer:").to_string()),
                rule,
            );
        }
        for e in &effects {
            let Some(kind) = e.get("kind") else { continue };
            let Some((k, text)) = effect_entry(kind) else {
                continue;
            };
            let trace = e.get("trace").cloned().unwrap_or(Json::Null);
            let rule = trace
                .get("handler")
                .filter(|h| !h.is_null())
                .and_then(|h| rules.rule(h, why_of(&trace), same));
            push(&mut out, k, text, rule);
        }
    }
    for h in history {
        let (kind, text, status, order) = match h.direction.as_str() {
            "in" => ("message_in", inbound_text(&h.body), None, 0),
            "out" => {
                let wire: Json = serde_json::from_str(&h.body).unwrap_or(Json::Null);
                (
                    "message_out",
                    outbound_text(&wire),
                    h.status.clone().or_else(|| Some("sent".into())),
                    2,
                )
            }
            "out-failed" | "out-dead" => {
                let body: Json = serde_json::from_str(&h.body).unwrap_or(Json::Null);
                let msg = body.get("message").cloned().unwrap_or(Json::Null);
                let reason = body.get("reason").and_then(Json::as_str).unwrap_or("");
                let text = if msg.get("wa_name").is_some() || msg.get("lang").is_some() {
                    format!(
                        "[template] {}",
                        msg.get("name").and_then(Json::as_str).unwrap_or("")
                    )
                } else {
                    outbound_text(&msg)
                };
                (
                    "message_out",
                    format!("{text} (not sent: {reason})"),
                    Some("failed".into()),
                    2,
                )
            }
            _ => continue,
        };
        let actor = if kind == "message_in" {
            "customer".to_string()
        } else {
            match agent_texts.front() {
                Some((t, _)) if text.starts_with(t.as_str()) => {
                    agent_texts.pop_front().map(|(_, a)| a).unwrap_or_default()
                }
                _ => "automation".to_string(),
            }
        };
        out.push((
            h.at_ms,
            order,
            TimelineEntry {
                at: at_ms(h.at_ms),
                kind,
                text: Some(text),
                status,
                actor,
                rule: None,
                script_version: None,
            },
        ));
    }
    out.sort_by_key(|(at, order, _)| (*at, *order));
    out.into_iter().map(|(_, _, e)| e).collect()
}
