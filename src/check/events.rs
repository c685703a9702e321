//! Checker pass: events from business systems and the `migrate` block.
//!
//! Events:
//! - a payload key is declared once, and none is called `id` (that is `event.id`) (E0202);
//! - `event.*` is read only inside an `on event` handler, and names `id` or a key of
//!   that handler's event (E0203); never after the handler waited for an answer or a
//!   webhook, when the event is gone (E0903);
//! - an `on event` handler that can open a card — one in `anywhere` or in the start
//!   stage — says what happens for a contact who opted out, with `optout { ... }` or
//!   `optout ignore` (E0901). An `optout` block may only `post`, `tag`, `untag`, `ignore`
//!   and branch with `if` (E0205): nothing is sent to the contact and no card is touched;
//! - such a handler sends no free-form message before the customer answers: the customer
//!   has not written, so the 24-hour window is closed and only templates get through
//!   (E0902). The rule follows `goto`s into `on enter` handlers, as the window pass does.
//!
//! Migration rules: one rule per old stage and one `otherwise` (E0202); `message` and
//! `event` mean nothing when publishing moves a card (E0205). Names, template arity and
//! types of the rules are checked by the names, values and types passes.

use super::Cx;
use super::graph::Graph;
use super::walk::{self, Owner};
use super::window;
use crate::diag::{Diagnostic, codes, did_you_mean};
use crate::syntax::ast::{
    Action, ActionKind, Block, EventDecl, Expr, ExprKind, Handler, Ident, Item, MessageKind,
    MigrateAction, TriggerKind,
};
use crate::syntax::span::Span;
use std::collections::BTreeMap;

pub(crate) fn run(cx: &mut Cx) {
    let mut diags = Vec::new();
    for item in &cx.file.items {
        match item {
            Item::Event(e) => declaration(e, &mut diags),
            Item::Migrate(m) => migrate(m, &mut diags),
            _ => {}
        }
    }
    let g = Graph::build(cx.file, cx.syms);
    let start = g
        .start
        .and_then(|i| g.stages.get(i))
        .map(|s| s.name.name.as_str());
    let mut entered = vec![false; g.stages.len()];
    for (owner, h) in walk::handlers(cx.file) {
        let event = match &h.trigger.kind {
            TriggerKind::Event { name, .. } => event_decl(cx, name),
            _ => None,
        };
        paths(h, event, &mut diags);
        let TriggerKind::Event { name, optout } = &h.trigger.kind else {
            continue;
        };
        if let Some(b) = optout {
            optout_block(b, &mut diags);
        }
        let opens = match owner {
            Owner::Anywhere(_) => true,
            Owner::Stage(s) => Some(s.name.name.as_str()) == start,
        };
        if !opens {
            continue;
        }
        if optout.is_none() {
            diags.push(
                Diagnostic::new(
                    codes::EVENT_OPTOUT,
                    format!(
                        "`on event {}` does not say what happens for a contact who opted out",
                        name.name
                    ),
                    h.trigger.span,
                    "this handler can open a card",
                )
                .with_note(
                    "an event may arrive for a contact who opted out; the engine then sends nothing and opens no card, and runs only the handler's `optout` block",
                )
                .with_help(
                    "add `optout ignore` after the handler's block, or `optout { post ... }` to tell a business system",
                ),
            );
        }
        for send in window::closed_sends(&g, &h.body, &mut entered) {
            let mut d = Diagnostic::new(
                codes::EVENT_FREE_FORM,
                format!(
                    "free-form `{}` in an event handler that can open a card",
                    send.word
                ),
                send.at,
                match &send.via {
                    None => format!(
                        "this `{}` goes to a customer who has not written",
                        send.word
                    ),
                    Some((_, target)) => format!(
                        "this `{}` runs on entering `{target}` before the customer wrote",
                        send.word
                    ),
                },
            )
            .with_secondary(h.trigger.span, "the event may open a new card here");
            if let Some((goto_span, target)) = &send.via {
                d = d.with_secondary(
                    *goto_span,
                    format!("`goto {target}` runs before the customer answered"),
                );
            }
            diags.push(
                d.with_note(
                    "a card an event opens starts outside the 24-hour service window: WhatsApp accepts only approved templates until the customer answers",
                )
                .with_help(
                    "start with `send template NAME(...)`, and move free-form messages to handlers of the customer's answer",
                ),
            );
        }
    }
    for d in diags {
        cx.report(d);
    }
}

fn event_decl<'a>(cx: &Cx<'a>, name: &Ident) -> Option<&'a EventDecl> {
    let (index, _) = cx.syms.events.get(&name.name)?;
    match cx.file.items.get(*index) {
        Some(Item::Event(e)) => Some(e),
        _ => None,
    }
}

/// Keys are declared once, and none hides `event.id`.
fn declaration(e: &EventDecl, diags: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
    for k in &e.keys {
        if k.name.name == "id" {
            diags.push(
                Diagnostic::new(
                    codes::DUPLICATE,
                    format!("event `{}` declares `id` again", e.name.name),
                    k.name.span,
                    "every event has an `id` already",
                )
                .with_note("`event.id` is the id the sending system gives the event; the daemon takes each id once")
                .with_help("give this key another name, such as `order_id`"),
            );
            continue;
        }
        if let Some(first) = seen.get(k.name.name.as_str()) {
            diags.push(
                Diagnostic::new(
                    codes::DUPLICATE,
                    format!("event `{}` declares `{}` twice", e.name.name, k.name.name),
                    k.name.span,
                    "declared again here",
                )
                .with_secondary(*first, "first declared here")
                .with_help("remove one of them, or give them different names"),
            );
        } else {
            seen.insert(&k.name.name, k.name.span);
        }
    }
}

/// Only webhooks and tags in an `optout` block.
fn optout_block(b: &Block, diags: &mut Vec<Diagnostic>) {
    walk::each_action(b, &mut |a: &Action| {
        let word = match &a.kind {
            ActionKind::Post { .. }
            | ActionKind::Tag(_)
            | ActionKind::Untag(_)
            | ActionKind::Ignore
            | ActionKind::If { .. } => return,
            ActionKind::Reply(m) => match m.kind {
                MessageKind::Template { .. } => "send template",
                MessageKind::Form { .. } => "reply form",
                _ => "reply",
            },
            ActionKind::Ask { .. } => "ask",
            ActionKind::Set { .. } => "set",
            ActionKind::Route { .. } => "route",
            ActionKind::Assign(_) => "assign",
            ActionKind::Priority(_) => "priority",
            ActionKind::Handoff(_) => "handoff",
            ActionKind::Call { .. } => "call",
            ActionKind::Answer { .. } => "answer",
            ActionKind::Classify { .. } => "classify",
            ActionKind::Goto(_) => "goto",
            ActionKind::Close(_) => "close",
        };
        diags.push(
            Diagnostic::new(
                codes::MISPLACED,
                format!("`{word}` cannot be used in an `optout` block"),
                a.span,
                "not allowed for a contact who opted out",
            )
            .with_note(
                "nothing is sent to a contact who opted out and no card is opened or changed for them; an `optout` block may only `post` to webhooks, `tag` and `untag` the contact, `ignore`, and branch with `if`",
            )
            .with_help("tell a business system with `post`, or write `optout ignore`"),
        );
    });
}

/// `event.*` in a handler: only in `on event` handlers, only names the event has, and
/// never after the handler waited.
fn paths(h: &Handler, event: Option<&EventDecl>, diags: &mut Vec<Diagnostic>) {
    let is_event = matches!(h.trigger.kind, TriggerKind::Event { .. });
    let mut check = |e: &Expr, waited: Option<Span>, diags: &mut Vec<Diagnostic>| {
        walk::each_expr(e, &mut |e| {
            if let ExprKind::Path(path) = &e.kind
                && path.first().is_some_and(|p| p.name == "event")
            {
                event_path(path, e.span, is_event, event, waited, diags);
            }
        });
    };
    if let Some(g) = &h.guard {
        check(g, None, diags);
    }
    let mut waited = None;
    block_paths(&h.body, &mut waited, &mut check, diags);
    if let TriggerKind::Event {
        optout: Some(b), ..
    } = &h.trigger.kind
    {
        let mut waited = None;
        block_paths(b, &mut waited, &mut check, diags);
    }
}

type Check<'c> = dyn FnMut(&Expr, Option<Span>, &mut Vec<Diagnostic>) + 'c;

/// Checks the expressions of a block in the order they run; `waited` becomes the span of
/// the first `ask` or `call` after which the code may run.
fn block_paths(
    b: &Block,
    waited: &mut Option<Span>,
    check: &mut Check<'_>,
    diags: &mut Vec<Diagnostic>,
) {
    for a in &b.actions {
        for e in walk::exprs_of_action(a) {
            check(e, *waited, diags);
        }
        match &a.kind {
            ActionKind::Ask {
                fallback, prompt, ..
            } => {
                waited.get_or_insert(Span {
                    end: prompt.span.end.min(a.span.end),
                    ..a.span
                });
                if let Some(fb) = fallback {
                    block_paths(fb, waited, check, diags);
                }
            }
            ActionKind::Call {
                fallback, webhook, ..
            } => {
                waited.get_or_insert(Span {
                    end: webhook.span.end.min(a.span.end),
                    ..a.span
                });
                if let Some(fb) = fallback {
                    block_paths(fb, waited, check, diags);
                }
            }
            ActionKind::If {
                then, otherwise, ..
            } => {
                let mut t = *waited;
                block_paths(then, &mut t, check, diags);
                let mut o = *waited;
                if let Some(other) = otherwise {
                    block_paths(other, &mut o, check, diags);
                }
                *waited = waited.or(t).or(o);
            }
            _ => {}
        }
    }
}

fn event_path(
    path: &[Ident],
    at: Span,
    is_event: bool,
    event: Option<&EventDecl>,
    waited: Option<Span>,
    diags: &mut Vec<Diagnostic>,
) {
    let shown = path
        .iter()
        .map(|i| i.name.as_str())
        .collect::<Vec<_>>()
        .join(".");
    if !is_event {
        diags.push(
            Diagnostic::new(
                codes::UNKNOWN_PROPERTY,
                format!("`{shown}` is only known in an `on event` handler"),
                at,
                "no event is being handled here",
            )
            .with_note("`event` is the event an `on event NAME` handler is running for")
            .with_help(
                "read the payload in the `on event` handler, and `set` a field to keep a value",
            ),
        );
        return;
    }
    // An unknown event was reported by the names pass.
    let Some(event) = event else { return };
    let keys: Vec<&str> = std::iter::once("id")
        .chain(event.keys.iter().map(|k| k.name.name.as_str()))
        .collect();
    let listed = keys
        .iter()
        .map(|k| format!("`event.{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let Some(key) = path.get(1) else {
        diags.push(
            Diagnostic::new(
                codes::UNKNOWN_PROPERTY,
                "`event` needs a key",
                at,
                "not a value by itself",
            )
            .with_note(format!("`{}` has {listed}", event.name.name))
            .with_help("write e.g. `event.id`"),
        );
        return;
    };
    if !keys.contains(&key.name.as_str()) {
        let help = did_you_mean(&key.name, keys.iter().copied())
            .map(|s| format!("did you mean `event.{s}`?"))
            .unwrap_or_else(|| {
                format!(
                    "declare the key in `event {} {{ ... }}`, or use one it has",
                    event.name.name
                )
            });
        diags.push(
            Diagnostic::new(
                codes::UNKNOWN_PROPERTY,
                format!("event `{}` has no key `{}`", event.name.name, key.name),
                key.span,
                "not a key of this event",
            )
            .with_secondary(event.name.span, "event declared here")
            .with_note(format!("`{}` has {listed}", event.name.name))
            .with_help(help),
        );
        return;
    }
    if let Some(extra) = path.get(2) {
        diags.push(
            Diagnostic::new(
                codes::UNKNOWN_PROPERTY,
                format!("`event.{}` has no properties", key.name),
                extra.span,
                "no such property",
            )
            .with_note("the keys of an event's payload are plain values")
            .with_help(format!("write just `event.{}`", key.name)),
        );
        return;
    }
    if let Some(wait) = waited {
        diags.push(
            Diagnostic::new(
                codes::EVENT_AFTER_WAIT,
                format!("`{shown}` is read after the handler waited"),
                at,
                "the event is gone by the time this runs",
            )
            .with_secondary(wait, "the handler waits here")
            .with_note(
                "after `ask` or `call` the handler goes on with the answer, in a later step; only the step that handles the event can read it",
            )
            .with_help(format!(
                "keep the value in a field before waiting: `set FIELD = {shown}`"
            )),
        );
    }
}

/// One rule per old stage, one `otherwise`, and no `message` or `event` in templates.
fn migrate(m: &crate::syntax::ast::MigrateDecl, diags: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<String, Span> = BTreeMap::new();
    for r in &m.rules {
        let (key, what) = match &r.stage {
            Some(s) => (s.name.clone(), format!("stage `{}`", s.name)),
            None => ("".to_string(), "`otherwise`".to_string()),
        };
        if let Some(first) = seen.get(&key) {
            diags.push(
                Diagnostic::new(
                    codes::DUPLICATE,
                    format!("{what} has two migration rules"),
                    r.span,
                    "second rule",
                )
                .with_secondary(*first, "first rule here")
                .with_note("each open card is covered by exactly one rule: the one for its stage, else `otherwise`")
                .with_help("keep one of the two rules"),
            );
        } else {
            seen.insert(key, r.span);
        }
        if let MigrateAction::Close {
            template: Some(msg),
            ..
        } = &r.action
            && let MessageKind::Template { args, .. } = &msg.kind
        {
            for a in args {
                walk::each_expr(a, &mut |e| {
                    if let ExprKind::Path(p) = &e.kind
                        && let Some(root) = p.first()
                        && matches!(root.name.as_str(), "message" | "event")
                    {
                        diags.push(
                            Diagnostic::new(
                                codes::MISPLACED,
                                format!("`{}` is not known in `migrate`", root.name),
                                e.span,
                                "no message or event is being handled here",
                            )
                            .with_note(
                                "publishing moves open cards without any message or event: only fields, `contact` and `card` have values",
                            )
                            .with_help("use a field or a `contact` property"),
                        );
                    }
                });
            }
        }
    }
}
