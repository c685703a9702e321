//! Stable names for handlers: what persisted data (a waiting `ask` or `call`, a timer, a
//! card event's cause) uses to point into a script, instead of positions that shift when
//! a handler is inserted above another.
//!
//! A handler's [`HandlerKey`] is its scope (a stage, or `anywhere`) plus a canonical
//! rendering of its trigger and guard, with an ordinal only when the same trigger and
//! guard appear more than once in the scope. Its fingerprint is a hash of its compiled
//! code in a canonical, position-free form: stages, hours and jumps are written by name or
//! relative offset, so the fingerprint changes exactly when the handler's own code does.
//!
//! **Invariant:** keys and fingerprints depend only on the handler's own text and the
//! names it uses — never on spans, on the order of declarations, or on other handlers'
//! code (save the ordinal that tells identical triggers apart).

use super::expr::{Expr, Interp, InterpPart, Path};
use super::{Handler, Instr, Outgoing, Program, Trigger};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A handler's stable name: its scope and the canonical text of its trigger (and guard).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HandlerKey {
    /// The stage the handler belongs to; `None` for `anywhere` handlers (and for the
    /// `else` of a service level, which names its `sla` instead).
    pub stage: Option<String>,
    /// The canonical trigger, e.g. `keyword "fatura","boleto"`, `after 600s silence`,
    /// `message when contact.new`, with `#2`, `#3`… for repeats within the scope;
    /// `first reply breached` for the `else` of a service-level target.
    pub trigger: String,
    /// The service level whose target's `else` this is; absent for every other handler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<String>,
}

impl std::fmt::Display for HandlerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.sla, &self.stage) {
            (Some(s), _) => write!(f, "sla {s}: {}", self.trigger),
            (None, Some(s)) => write!(f, "stage {s}: {}", self.trigger),
            (None, None) => write!(f, "anywhere: {}", self.trigger),
        }
    }
}

/// The canonical text of a trigger plus guard, before ordinals are added.
pub(super) fn trigger_signature(p: &Program, h: &Handler) -> String {
    let words = |ws: &[String]| {
        ws.iter()
            .map(|w| format!("{w:?}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut sig = match &h.trigger {
        Trigger::Enter => "enter".to_string(),
        Trigger::Message => "message".to_string(),
        Trigger::Keyword(ws) => format!("keyword {}", words(ws)),
        Trigger::Regex(r) => format!("regex /{}/", r.as_ref().map_or("", |r| r.as_str())),
        Trigger::Button(ws) => format!("button {}", words(ws)),
        Trigger::Choice(ws) => format!("choice {}", words(ws)),
        Trigger::Media(m) => format!("media {}", m.as_str()),
        Trigger::FormSubmitted(f) => format!("form {f} submitted"),
        Trigger::Intent(names) => format!("intent {}", names.join(",")),
        Trigger::Event(e) => format!("event {e}"),
        Trigger::When => "when".to_string(),
        Trigger::Silence(s) => format!("after {s}s silence"),
        Trigger::InStage(s) => format!("after {s}s in stage"),
        Trigger::Otherwise => "otherwise".to_string(),
        Trigger::Breach(m) => format!("{} breached", m.as_str()),
    };
    if let Some(g) = &h.guard {
        sig.push_str(" if ");
        expr(p, g, &mut sig);
    }
    sig
}

/// Gives each handler of one scope its key: the signature, with `#n` from the second
/// handler of the same signature on.
pub(super) fn assign_keys(p: &Program, stage: Option<&str>, handlers: &mut [Handler]) {
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    for h in handlers.iter_mut() {
        let sig = trigger_signature(p, h);
        let n = seen.entry(sig.clone()).or_insert(0);
        *n += 1;
        let trigger = if *n == 1 { sig } else { format!("{sig} #{n}") };
        h.key = HandlerKey {
            stage: stage.map(str::to_string),
            trigger,
            sla: None,
        };
    }
}

/// The fingerprint of a handler's compiled code: 16 hex digits of a SHA-256 over its
/// canonical form (guard and instructions, jumps relative to the handler's entry).
pub(super) fn fingerprint(p: &Program, h: &Handler) -> String {
    let mut text = String::new();
    if let Some(g) = &h.guard {
        text.push_str("guard ");
        expr(p, g, &mut text);
        text.push('\n');
    }
    let code = p.code.get(h.entry..h.code_end).unwrap_or(&[]);
    for i in code {
        instr(p, h.entry, i, &mut text);
        text.push('\n');
    }
    let digest = Sha256::digest(text.as_bytes());
    hex::encode(digest.get(..8).unwrap_or(&[]))
}

fn rel(entry: usize, target: usize) -> i64 {
    i64::try_from(target).unwrap_or(i64::MAX) - i64::try_from(entry).unwrap_or(i64::MAX)
}

fn instr(p: &Program, entry: usize, i: &Instr, out: &mut String) {
    match i {
        Instr::Send(o) => {
            out.push_str("send ");
            outgoing(p, o, out);
        }
        Instr::Ask {
            field,
            prompt,
            tries,
            fallback,
        } => {
            let _ = write!(
                out,
                "ask {field} tries {tries} else {:?} ",
                fallback.map(|f| rel(entry, f))
            );
            interp(p, prompt, out);
        }
        Instr::Set { field, value } => {
            let _ = write!(out, "set {field} = ");
            expr(p, value, out);
        }
        Instr::Tag(ts) => {
            let _ = write!(out, "tag {ts:?}");
        }
        Instr::Untag(ts) => {
            let _ = write!(out, "untag {ts:?}");
        }
        Instr::Route { team, priority } => {
            let _ = write!(out, "route {team} {:?}", priority.map(|p| p.as_str()));
        }
        Instr::Assign(a) => {
            out.push_str("assign ");
            interp(p, a, out);
        }
        Instr::Priority(pr) => {
            let _ = write!(out, "priority {}", pr.as_str());
        }
        Instr::Handoff(team) => {
            let _ = write!(out, "handoff {team:?}");
        }
        Instr::Post { webhook, body } => {
            let _ = write!(out, "post {webhook} ");
            entries(p, body, out);
        }
        Instr::Call {
            webhook,
            body,
            save,
            timeout,
            fallback,
        } => {
            let _ = write!(
                out,
                "call {webhook} save {save:?} timeout {timeout} else {:?} ",
                fallback.map(|f| rel(entry, f))
            );
            entries(p, body, out);
        }
        Instr::Answer {
            knowledge,
            threshold,
            ai,
            fallback,
        } => {
            let _ = write!(
                out,
                "answer {knowledge} threshold {threshold} ai {ai:?} else {:?}",
                fallback.map(|f| rel(entry, f))
            );
        }
        Instr::Classify {
            ai,
            instructions,
            into,
            fallback,
        } => {
            let _ = write!(
                out,
                "classify {ai} {instructions:?} into {into:?} else {:?}",
                fallback.map(|f| rel(entry, f))
            );
        }
        Instr::Goto(id) => {
            let name = p.stages.get(*id).map_or("?", |s| s.name.as_str());
            let _ = write!(out, "goto {name}");
        }
        Instr::Close(reason) => {
            out.push_str("close ");
            if let Some(r) = reason {
                interp(p, r, out);
            }
        }
        Instr::Ignore => out.push_str("ignore"),
        Instr::JumpUnless { cond, target } => {
            let _ = write!(out, "unless {} ", rel(entry, *target));
            expr(p, cond, out);
        }
        Instr::Jump(t) => {
            let _ = write!(out, "jump {}", rel(entry, *t));
        }
        Instr::End => out.push_str("end"),
    }
}

fn outgoing(p: &Program, o: &Outgoing, out: &mut String) {
    match o {
        Outgoing::Text(t) => {
            out.push_str("text ");
            interp(p, t, out);
        }
        Outgoing::Buttons { body, buttons } => {
            let _ = write!(out, "buttons {buttons:?} ");
            interp(p, body, out);
        }
        Outgoing::List { body, button, rows } => {
            let _ = write!(out, "list {button:?} {rows:?} ");
            interp(p, body, out);
        }
        Outgoing::Template { name, args } => {
            let _ = write!(out, "template {name} (");
            for a in args {
                expr(p, a, out);
                out.push(',');
            }
            out.push(')');
        }
        Outgoing::Form { form, body } => {
            let _ = write!(out, "form {form} ");
            interp(p, body, out);
        }
    }
}

fn entries(p: &Program, body: &[(String, Expr)], out: &mut String) {
    out.push('{');
    for (k, v) in body {
        let _ = write!(out, "{k:?}: ");
        expr(p, v, out);
        out.push(',');
    }
    out.push('}');
}

fn interp(p: &Program, t: &Interp, out: &mut String) {
    out.push('"');
    for part in &t.parts {
        match part {
            InterpPart::Lit(s) => {
                let _ = write!(out, "{}", s.escape_debug());
            }
            InterpPart::Expr(e) => {
                out.push('{');
                expr(p, e, out);
                out.push('}');
            }
        }
    }
    out.push('"');
}

fn expr(p: &Program, e: &Expr, out: &mut String) {
    match e {
        Expr::Lit(v) => {
            let _ = write!(out, "{v:?}");
        }
        Expr::Path(path) => path_text(path, out),
        Expr::Today => out.push_str("today"),
        Expr::Now => out.push_str("now"),
        Expr::List(items) => {
            out.push('[');
            for i in items {
                expr(p, i, out);
                out.push(',');
            }
            out.push(']');
        }
        Expr::Interp(t) => interp(p, t, out),
        Expr::Not(x) => {
            out.push_str("not(");
            expr(p, x, out);
            out.push(')');
        }
        Expr::Neg(x) => {
            out.push_str("-(");
            expr(p, x, out);
            out.push(')');
        }
        Expr::Bin(op, a, b) => {
            out.push('(');
            expr(p, a, out);
            let _ = write!(out, " {} ", op.as_str());
            expr(p, b, out);
            out.push(')');
        }
        Expr::HasTag {
            subject,
            tag,
            negated,
        } => {
            expr(p, subject, out);
            let _ = write!(
                out,
                " {} {tag:?}",
                if *negated { "lacks tag" } else { "has tag" }
            );
        }
        Expr::InHours { hours, negated } => {
            let name = hours
                .and_then(|i| p.hours.get(i))
                .map_or("?", |h| h.name.as_str());
            let _ = write!(
                out,
                "{} {name}",
                if *negated { "outside" } else { "inside" }
            );
        }
        Expr::IsSet { expr: x, negated } => {
            expr(p, x, out);
            out.push_str(if *negated { " is not set" } else { " is set" });
        }
        Expr::Matches { expr: x, regex } => {
            expr(p, x, out);
            let _ = write!(
                out,
                " matches /{}/",
                regex.as_ref().map_or("", |r| r.as_str())
            );
        }
        // The label is the atom as written, for traces; the atom itself says what runs.
        Expr::Cond { inner, .. } => expr(p, inner, out),
    }
}

fn path_text(path: &Path, out: &mut String) {
    let s = match path {
        Path::ContactPhone => "contact.phone",
        Path::ContactName => "contact.name",
        Path::ContactCountry => "contact.country",
        Path::ContactTags => "contact.tags",
        Path::ContactNew => "contact.new",
        Path::ContactReturning => "contact.returning",
        Path::ContactAttr(a) => {
            let _ = write!(out, "contact.{a}");
            return;
        }
        Path::CardStage => "card.stage",
        Path::CardTeam => "card.team",
        Path::CardAgent => "card.agent",
        Path::CardPriority => "card.priority",
        Path::CardStatus => "card.status",
        Path::CardCloseReason => "card.close_reason",
        Path::CardOpenedAt => "card.opened_at",
        Path::MessageText => "message.text",
        Path::MessageType => "message.type",
        Path::EventId => "event.id",
        Path::EventKey(k) => {
            let _ = write!(out, "event.{k}");
            return;
        }
        Path::Field(f) => {
            let _ = write!(out, "field {f}");
            return;
        }
        Path::Unknown => "?",
    };
    out.push_str(s);
}
