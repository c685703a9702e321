//! Transcript rendering: engine effects as chat lines (bot replies with their buttons and
//! lists drawn, templates named, webhook posts as JSON, stage changes and routing
//! marked), and the card, contact and clock views. Pure functions from values to text.

use crate::compile::Program;
use crate::compile::value::show_duration;
use crate::engine::events::{CardEvent, Cause, Durations, Origin, TimerCause, What};
use crate::engine::{Card, Effect, EffectKind, OutMessage, State, Timer, TimerTarget};
use crate::syntax::ast;
use crate::syntax::source::SourceMap;
use crate::syntax::span::Span;
use jiff::Timestamp;
use std::fmt::Write as _;

/// The margin of the lines that describe what happened rather than what was said.
const MARK: &str = "   --";

/// Renders the effects of one event. With `trace`, timers, metrics and the rule behind
/// each group of effects are shown too.
pub fn effects(
    out: &mut String,
    effects: &[Effect],
    trace: bool,
    program: &Program,
    sources: &SourceMap,
    file: &ast::File,
) {
    let mut last_rule: Option<Span> = None;
    for e in effects {
        let bookkeeping = matches!(
            e.kind,
            EffectKind::StartTimer { .. }
                | EffectKind::CancelTimer { .. }
                | EffectKind::Metric { .. }
                | EffectKind::Fact(_)
        );
        if trace
            && !bookkeeping
            && !e.trace.handler_span.is_empty()
            && last_rule != Some(e.trace.handler_span)
        {
            last_rule = Some(e.trace.handler_span);
            let _ = writeln!(
                out,
                "   ~~ rule {}",
                rule_title(
                    sources,
                    e.trace.handler_span,
                    &owner(file, e.trace.handler_span)
                )
            );
            for (cond, value) in &e.trace.conditions {
                let _ = writeln!(out, "   ~~   {cond} = {value}");
            }
        }
        effect(out, e, trace, program);
    }
}

/// One effect as transcript lines (nothing for the bookkeeping ones unless tracing).
fn effect(out: &mut String, e: &Effect, trace: bool, program: &Program) {
    match &e.kind {
        EffectKind::Send { message, .. } => message_lines(out, "bot", message),
        EffectKind::SendFailed { reason, message } => {
            let _ = writeln!(out, "   !! not sent ({reason}):");
            message_lines(out, "   (bot", message);
        }
        EffectKind::Post { webhook, url, body } => {
            let _ = writeln!(out, "   => POST {webhook} {url}");
            json_lines(out, body);
        }
        EffectKind::Call {
            webhook,
            url,
            body,
            timeout_secs,
            ..
        } => {
            let _ = writeln!(
                out,
                "   => CALL {webhook} {url} (waits up to {})",
                show_duration(*timeout_secs)
            );
            json_lines(out, body);
        }
        EffectKind::AskAi {
            ai,
            model,
            user,
            choices,
            timeout_secs,
            ..
        } => {
            let _ = writeln!(
                out,
                "   => ASK {ai} ({model}, waits up to {}) to pick one of: {}",
                show_duration(*timeout_secs),
                choices.join(", ")
            );
            let _ = writeln!(out, "      message: {user:?}");
        }
        EffectKind::OpenCard { card } => {
            let _ = writeln!(out, "{MARK} card #{card} opened");
        }
        EffectKind::StageChanged { from, to } => {
            let _ = writeln!(out, "{MARK} stage {from} -> {to}");
        }
        EffectKind::Route { team, priority } => {
            let p = priority
                .map(|p| format!(" (priority {})", p.as_str()))
                .unwrap_or_default();
            let _ = writeln!(out, "{MARK} routed to team {team}{p}");
        }
        EffectKind::Assign { agent } => {
            let _ = writeln!(out, "{MARK} assigned to {agent}");
        }
        EffectKind::SetPriority { priority } => {
            let _ = writeln!(out, "{MARK} priority {}", priority.as_str());
        }
        EffectKind::Tag { tag } => {
            let _ = writeln!(out, "{MARK} tagged {tag:?}");
        }
        EffectKind::Untag { tag } => {
            let _ = writeln!(out, "{MARK} untagged {tag:?}");
        }
        EffectKind::SetField { field, value } => {
            let _ = writeln!(out, "{MARK} set {field} = {}", quoted(value));
        }
        EffectKind::Handoff { team } => match team {
            Some(t) => {
                let _ = writeln!(out, "{MARK} handed off to team {t}");
            }
            None => {
                let _ = writeln!(out, "{MARK} handed off to a person");
            }
        },
        EffectKind::Release => {
            let _ = writeln!(out, "{MARK} back to the automation");
        }
        EffectKind::Close { reason } => match reason {
            Some(r) => {
                let _ = writeln!(out, "{MARK} closed {r:?}");
            }
            None => {
                let _ = writeln!(out, "{MARK} closed");
            }
        },
        EffectKind::OptOut => {
            let _ = writeln!(out, "{MARK} opted out: no more automated messages");
        }
        EffectKind::OptIn => {
            let _ = writeln!(out, "{MARK} opted in again");
        }
        EffectKind::Error { message } => {
            let _ = writeln!(out, "   !! error: {message}");
        }
        EffectKind::StartTimer { id, at } if trace => {
            let _ = writeln!(out, "   ~~ timer {} set for {}", id, clock(*at, program));
        }
        EffectKind::CancelTimer { id } if trace => {
            let _ = writeln!(out, "   ~~ timer {} cancelled", id);
        }
        EffectKind::Metric { name, labels } if trace => {
            let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(out, "   ~~ metric {name} {}", labels.join(" "));
        }
        EffectKind::StartTimer { .. }
        | EffectKind::CancelTimer { .. }
        | EffectKind::Metric { .. }
        | EffectKind::Fact(_) => {}
    }
}

/// A bot message, with buttons and list rows drawn under it.
fn message_lines(out: &mut String, who: &str, m: &OutMessage) {
    let close = if who.starts_with("   (") { ")" } else { "" };
    match m {
        OutMessage::Text { body } => body_lines(out, who, body, close),
        OutMessage::Buttons { body, buttons } => {
            body_lines(out, who, body, "");
            let drawn: Vec<String> = buttons.iter().map(|b| format!("[ {b} ]")).collect();
            let _ = writeln!(out, "     {}{close}", drawn.join(" "));
        }
        OutMessage::List { body, button, rows } => {
            body_lines(out, who, body, "");
            let _ = writeln!(out, "     [= {button} ]");
            for (i, r) in rows.iter().enumerate() {
                let end = if i + 1 == rows.len() { close } else { "" };
                let _ = writeln!(out, "       - {r}{end}");
            }
        }
        OutMessage::Template {
            name,
            wa_name,
            lang,
            params,
        } => {
            let shown: Vec<String> = params.iter().map(|p| format!("{p:?}")).collect();
            let _ = writeln!(
                out,
                "{who}: [template {name}: \"{wa_name}\" {lang}]({}){close}",
                shown.join(", ")
            );
        }
        OutMessage::Form { form, title, body } => {
            body_lines(out, who, body, "");
            let _ = writeln!(out, "     [form {form}: {title}]{close}");
        }
    }
}

/// A message body; continuation lines are indented under the first.
fn body_lines(out: &mut String, who: &str, body: &str, close: &str) {
    let mut lines = body.split('\n');
    let first = lines.next().unwrap_or("");
    let rest: Vec<&str> = lines.collect();
    if rest.is_empty() {
        let _ = writeln!(out, "{who}: {first}{close}");
        return;
    }
    let _ = writeln!(out, "{who}: {first}");
    for (i, l) in rest.iter().enumerate() {
        let end = if i + 1 == rest.len() { close } else { "" };
        let _ = writeln!(out, "     {l}{end}");
    }
}

fn json_lines(out: &mut String, body: &serde_json::Value) {
    let text = serde_json::to_string_pretty(body).unwrap_or_else(|_| body.to_string());
    for l in text.lines() {
        let _ = writeln!(out, "      {l}");
    }
}

/// A value as scripts write it: text quoted, the rest as is.
pub fn quoted(v: &crate::compile::Value) -> String {
    match v {
        crate::compile::Value::Str(s) => format!("{s:?}"),
        crate::compile::Value::Null => "(not set)".into(),
        other => other.to_string(),
    }
}

/// "stage `triage`, line 12: on keyword "boleto"": where a rule is and how it starts.
pub fn rule_title(sources: &SourceMap, span: Span, stage: &str) -> String {
    let Some(f) = sources.get(span.file) else {
        return format!("in stage `{stage}`");
    };
    let (line, _) = f.line_col(span.start as usize);
    let first = f
        .text
        .get(span.range())
        .and_then(|t| t.lines().next())
        .unwrap_or("")
        .trim()
        .trim_end_matches('{')
        .trim_end();
    let place = match stage {
        "" => String::new(),
        "anywhere" => "anywhere, ".into(),
        s => format!("stage `{s}`, "),
    };
    format!("{place}{}:{line}: {first}", f.name)
}

/// The stage (or `anywhere`) whose handler a span is: the trace names the stage the card
/// was in, which after a `goto` is not the one the rule belongs to.
pub fn owner(file: &ast::File, span: Span) -> String {
    for item in &file.items {
        let s = item.span();
        if s.file == span.file && s.start <= span.start && span.end <= s.end {
            return match item {
                ast::Item::Stage(d) => d.name.name.clone(),
                ast::Item::Anywhere(_) => "anywhere".into(),
                _ => String::new(),
            };
        }
    }
    String::new()
}

/// "stage `triage` at support.flow:12": where a rule is.
pub fn rule_place(sources: &SourceMap, span: Span, stage: &str) -> String {
    let Some(f) = sources.get(span.file) else {
        return format!("stage `{stage}`");
    };
    let (line, _) = f.line_col(span.start as usize);
    match stage {
        "anywhere" => format!("the `anywhere` block at {}:{line}", f.name),
        s => format!("stage `{s}` at {}:{line}", f.name),
    }
}

/// The source lines of a span with line numbers, as a snippet.
pub fn snippet(sources: &SourceMap, span: Span, max_lines: usize) -> String {
    let mut out = String::new();
    let Some(f) = sources.get(span.file) else {
        return out;
    };
    let (first, _) = f.line_col(span.start as usize);
    let (last, _) = f.line_col(span.end.max(span.start) as usize);
    let starts = f.line_starts();
    let width = last.to_string().len();
    for line in first..=last {
        if line - first >= max_lines {
            let _ = writeln!(out, "   {:>width$} | ...", "");
            break;
        }
        let s = starts.get(line - 1).copied().unwrap_or(0);
        let e = starts.get(line).copied().unwrap_or(f.text.len());
        let text = f.text.get(s..e).unwrap_or("").trim_end();
        let _ = writeln!(out, "   {line:>width$} | {text}");
    }
    out
}

/// The clock in the program's time zone: `Mon 2026-01-05 10:00`.
pub fn clock(t: Timestamp, program: &Program) -> String {
    let z = t.to_zoned_datetime(program.timezone.clone());
    // Seconds only when they matter (a 5-second call timeout), to keep the usual short.
    if z.second() == 0 {
        z.strftime("%a %Y-%m-%d %H:%M").to_string()
    } else {
        z.strftime("%a %Y-%m-%d %H:%M:%S").to_string()
    }
}

fn timer_line(t: &Timer, program: &Program, sources: &SourceMap) -> String {
    match &t.target {
        TimerTarget::Handler { stage, handler } => {
            let span = program
                .handler(*handler)
                .map(|h| h.span)
                .unwrap_or_default();
            let title = rule_title(sources, span, "");
            let rule = title.split_once(": ").map_or(title.as_str(), |(_, r)| r);
            format!("{} ({rule} in {stage})", clock(t.at, program))
        }
        TimerTarget::Sla { sla, target } => format!(
            "{} (sla {sla} {} is due)",
            clock(t.at, program),
            target.as_str()
        ),
        TimerTarget::CallTimeout { call_id } => {
            format!("{} (call {call_id} times out)", clock(t.at, program))
        }
        TimerTarget::AiTimeout { request_id } => {
            format!(
                "{} (ai request {request_id} times out)",
                clock(t.at, program)
            )
        }
    }
}

/// The window: open until 24 hours after the customer's last message.
fn window(state: &State, now: Timestamp, program: &Program) -> String {
    let Some(last) = state.last_inbound else {
        return "closed (the customer has not written yet)".into();
    };
    let until = last
        .checked_add(jiff::SignedDuration::from_hours(24))
        .unwrap_or(last);
    let left = until.as_second() - now.as_second();
    if left > 0 {
        format!(
            "open until {} ({} left)",
            clock(until, program),
            show_duration(left)
        )
    } else {
        format!("closed since {} (templates only)", clock(until, program))
    }
}

/// `:card`: the current conversation of one contact.
pub fn card(state: &State, now: Timestamp, program: &Program, sources: &SourceMap) -> String {
    let mut out = String::new();
    let Some(c) = state.current_card() else {
        let _ = writeln!(
            out,
            "{} has no conversation yet; a message opens one",
            state.contact.phone
        );
        return out;
    };
    card_fields(&mut out, state, c, now, program);
    let _ = writeln!(out, "  window    {}", window(state, now, program));
    if let Some(c) = state.current_card() {
        for (name, levels) in &c.slas {
            let targets: Vec<String> = levels
                .targets
                .iter()
                .map(|t| match (t.status, t.due) {
                    (crate::engine::SlaStatus::Running, Some(due)) => format!(
                        "{} running (due {})",
                        t.target.as_str(),
                        clock(due, program)
                    ),
                    (status, _) => format!("{} {}", t.target.as_str(), status.as_str()),
                })
                .collect();
            let _ = writeln!(out, "  sla       {name}: {}", targets.join(", "));
        }
    }
    if state.timers.is_empty() {
        let _ = writeln!(out, "  timers    none");
    }
    let mut timers: Vec<&Timer> = state.timers.values().collect();
    timers.sort_by_key(|t| t.at);
    for (i, t) in timers.into_iter().enumerate() {
        let head = if i == 0 { "timers" } else { "" };
        let _ = writeln!(out, "  {head:<9} {}", timer_line(t, program, sources));
    }
    if state.opted_out {
        let _ = writeln!(out, "  opted out: automated messages are not sent");
    }
    out
}

fn card_fields(out: &mut String, state: &State, c: &Card, now: Timestamp, program: &Program) {
    let since = show_duration(now.as_second() - c.stage_entered_at.as_second());
    let _ = writeln!(
        out,
        "card #{} of {}{}",
        c.id,
        state.contact.phone,
        state
            .contact
            .name
            .as_ref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default()
    );
    let _ = writeln!(out, "  stage     {} (for {since})", c.stage);
    let status = match &c.close_reason {
        Some(r) => format!("{} {r:?}", c.status.as_str()),
        None => c.status.as_str().to_string(),
    };
    let _ = writeln!(out, "  status    {status}");
    let dash = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    let _ = writeln!(out, "  team      {}", dash(&c.team));
    let _ = writeln!(out, "  agent     {}", dash(&c.agent));
    let _ = writeln!(out, "  priority  {}", c.priority.as_str());
    if c.fields.is_empty() {
        let _ = writeln!(out, "  fields    none set");
    }
    for (i, (k, v)) in c.fields.iter().enumerate() {
        let head = if i == 0 { "fields" } else { "" };
        let _ = writeln!(out, "  {head:<9} {k} = {}", quoted(v));
    }
    if let Some(s) = &c.suspended {
        let what = match s {
            crate::engine::Suspension::Ask {
                field, tries_left, ..
            } => format!("an answer for `{field}` ({tries_left} tries left)"),
            crate::engine::Suspension::Call { call_id, .. } => {
                format!("the answer of call {call_id}")
            }
            crate::engine::Suspension::Ai {
                request_id,
                choices,
                ..
            } => format!(
                "the model's pick for {request_id}, one of: {}",
                choices.join(", ")
            ),
        };
        let _ = writeln!(out, "  waiting   for {what}");
    }
    let _ = writeln!(out, "  opened    {}", clock(c.opened_at, program));
}

/// `:cards`: one line per contact with an open card.
pub fn cards<'a>(states: impl Iterator<Item = &'a State>, current: &str, now: Timestamp) -> String {
    let mut out = String::new();
    let mut any = false;
    for s in states {
        let Some(c) = &s.card else { continue };
        any = true;
        let mark = if s.contact.phone == current { "*" } else { " " };
        let since = show_duration(now.as_second() - c.stage_entered_at.as_second());
        let _ = writeln!(
            out,
            "{mark} {}  #{}  {}  {} for {since}{}",
            s.contact.phone,
            c.id,
            c.status.as_str(),
            c.stage,
            c.team
                .as_ref()
                .map(|t| format!("  team {t}"))
                .unwrap_or_default()
        );
    }
    if !any {
        out.push_str("no open cards\n");
    }
    out
}

/// `:contact`: who the customer is.
pub fn contact(state: &State) -> String {
    let c = &state.contact;
    let mut out = String::new();
    let _ = writeln!(out, "contact {}", c.phone);
    let _ = writeln!(
        out,
        "  name      {}",
        c.name.clone().unwrap_or_else(|| "-".into())
    );
    let _ = writeln!(
        out,
        "  country   {}",
        c.country.clone().unwrap_or_else(|| "-".into())
    );
    let _ = writeln!(
        out,
        "  kind      {}",
        if c.returning { "returning" } else { "new" }
    );
    let tags: Vec<&str> = c.tags.iter().map(String::as_str).collect();
    let _ = writeln!(
        out,
        "  tags      {}",
        if tags.is_empty() {
            "-".into()
        } else {
            tags.join(", ")
        }
    );
    if c.attrs.is_empty() {
        let _ = writeln!(out, "  attrs     -");
    }
    for (i, (k, v)) in c.attrs.iter().enumerate() {
        let head = if i == 0 { "attrs" } else { "" };
        let _ = writeln!(out, "  {head:<9} {k} = {v:?}");
    }
    if state.opted_out {
        let _ = writeln!(out, "  opted out");
    }
    out
}

/// The card events of one card, one line each: when, what (and about what), in which
/// stage, and why.
pub fn card_events(events: &[&CardEvent], program: &Program) -> String {
    if events.is_empty() {
        return "no card events yet\n".into();
    }
    let mut out = String::new();
    for e in events {
        let what = describe_event(&e.what);
        let _ = writeln!(
            out,
            "[{}] {what:<40} in {:<14} {}",
            clock(e.at, program),
            e.stage,
            describe_cause(&e.cause)
        );
    }
    out
}

/// One card event's kind with what it is about: `asked order`, `routed billing (was
/// front_desk)`.
pub fn describe_event(w: &What) -> String {
    let dur = |d: &Durations| {
        let wall = show_duration(d.wall_secs);
        match d.business_secs {
            Some(b) => format!("{wall}, {} in business hours", show_duration(b)),
            None => wall,
        }
    };
    match w {
        What::StageEntered { from } => match from {
            Some(f) => format!("entered (from {f})"),
            None => "entered".into(),
        },
        What::StageLeft { to } => match to {
            Some(t) => format!("left (to {t})"),
            None => "left".into(),
        },
        What::Routed { team, previous } => match previous {
            Some(p) if p != team => format!("re-routed {team} (was {p})"),
            _ => format!("routed {team}"),
        },
        What::Assigned { agent, .. } => format!("assigned {agent}"),
        What::FirstHumanReply { agent, waited } => {
            format!("first human reply by {agent} after {}", dur(waited))
        }
        What::AnswerRefused { field, tries_left } => {
            format!("answer refused {field} ({tries_left} tries left)")
        }
        What::FormScreen { form, screen } => format!("form screen {form} {screen}"),
        What::FormRefused { form, fields } => {
            format!("form refused {form} ({})", fields.join(", "))
        }
        What::CallResult {
            webhook,
            ok,
            reason,
        } => {
            if *ok {
                format!("call {webhook} answered")
            } else {
                format!(
                    "call {webhook} failed ({})",
                    reason.as_deref().unwrap_or("?")
                )
            }
        }
        What::Reopened {
            previous,
            previous_closed_at,
        } => format!("reopened (card #{previous} closed {previous_closed_at})"),
        What::Closed { reason, open_for } => match reason {
            Some(r) => format!("closed {r:?} after {}", dur(open_for)),
            None => format!("closed after {}", dur(open_for)),
        },
        What::SlaStarted { sla, target, .. } => {
            format!("sla {sla} {} started", target.as_str())
        }
        What::SlaMet { sla, target, took } => {
            format!("sla {sla} {} met after {}", target.as_str(), dur(took))
        }
        What::SlaBreached { sla, target } => format!("sla {sla} {} breached", target.as_str()),
        What::SlaStopped {
            sla,
            target,
            reason,
        } => {
            format!("sla {sla} {} stopped: {reason}", target.as_str())
        }
        other => match other.detail() {
            Some(d) => format!("{} {d}", other.name()),
            None => other.name().to_string(),
        },
    }
}

/// Who or what caused an event: `rule triage/otherwise`, `timer triage/after 10m
/// silence`, `agent ana@acme.com`.
pub fn describe_cause(c: &Cause) -> String {
    let origin = match &c.origin {
        Origin::Customer => "customer".to_string(),
        Origin::Timer(TimerCause::After { rule }) => format!("timer {rule}"),
        Origin::Timer(TimerCause::CallTimeout { webhook }) => {
            format!("timeout of call {webhook}")
        }
        Origin::Timer(TimerCause::Sla { sla, target }) => {
            format!("deadline of sla {sla} {}", target.as_str())
        }
        Origin::Agent { agent } => match agent {
            Some(a) => format!("agent {a}"),
            None => "agent".into(),
        },
        Origin::Webhook { webhook } => format!("answer of {webhook}"),
        Origin::Channel => "whatsapp".into(),
        Origin::Business { event, id } => format!("event {event} ({id})"),
    };
    match &c.rule {
        Some(r) if !matches!(&c.origin, Origin::Timer(TimerCause::After { rule }) if rule == r) => {
            format!("{origin}, rule {r}")
        }
        _ => origin,
    }
}
