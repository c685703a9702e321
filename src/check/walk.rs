//! Small traversal helpers over the syntax tree shared by the checker passes, so each
//! pass only says what it looks for, not how to reach it.

use crate::syntax::ast::{
    self, Action, ActionKind, Block, Expr, ExprKind, Handler, Item, MessageKind, Text, TextPart,
};

/// Where a handler lives.
#[derive(Clone, Copy, Debug)]
pub enum Owner<'a> {
    Stage(&'a ast::StageDecl),
    Anywhere(&'a ast::AnywhereDecl),
}

/// Every handler of the file with its owner, in source order.
pub fn handlers(file: &ast::File) -> impl Iterator<Item = (Owner<'_>, &Handler)> {
    file.items
        .iter()
        .flat_map(|item| -> Box<dyn Iterator<Item = (Owner<'_>, &Handler)>> {
            match item {
                Item::Stage(s) => Box::new(s.handlers.iter().map(move |h| (Owner::Stage(s), h))),
                Item::Anywhere(a) => {
                    Box::new(a.handlers.iter().map(move |h| (Owner::Anywhere(a), h)))
                }
                _ => Box::new(std::iter::empty()),
            }
        })
}

/// The blocks of a handler: its body, then the `optout` block of an event handler.
pub fn handler_blocks(h: &Handler) -> impl Iterator<Item = &Block> {
    let optout = match &h.trigger.kind {
        ast::TriggerKind::Event { optout, .. } => optout.as_ref(),
        _ => None,
    };
    std::iter::once(&h.body).chain(optout)
}

/// The stages of the file in source order.
pub fn stages(file: &ast::File) -> impl Iterator<Item = &ast::StageDecl> {
    file.items.iter().filter_map(|i| match i {
        Item::Stage(s) => Some(s),
        _ => None,
    })
}

/// The handlers of all `anywhere` blocks, in source order.
pub fn anywhere_handlers(file: &ast::File) -> impl Iterator<Item = &Handler> {
    file.items.iter().flat_map(|i| match i {
        Item::Anywhere(a) => a.handlers.as_slice(),
        _ => &[],
    })
}

/// The `else` blocks of the service-level targets: what runs when a target is breached.
pub fn sla_blocks(file: &ast::File) -> impl Iterator<Item = &Block> {
    file.items.iter().flat_map(|i| match i {
        Item::Sla(s) => s.targets.iter().filter_map(|t| t.breach.as_ref()).collect(),
        _ => Vec::new(),
    })
}

/// The nested blocks of an action (`if`/`else`, `ask ... else`, `call ... else`).
pub fn sub_blocks(action: &Action) -> Vec<&Block> {
    match &action.kind {
        ActionKind::Ask { fallback, .. }
        | ActionKind::Call { fallback, .. }
        | ActionKind::Answer { fallback, .. }
        | ActionKind::Classify { fallback, .. } => fallback.iter().collect(),
        ActionKind::If {
            then, otherwise, ..
        } => std::iter::once(then).chain(otherwise.iter()).collect(),
        _ => Vec::new(),
    }
}

/// Calls `f` on every action of a block, nested ones included, depth first in order.
pub fn each_action<'a>(block: &'a Block, f: &mut dyn FnMut(&'a Action)) {
    for a in &block.actions {
        f(a);
        for b in sub_blocks(a) {
            each_action(b, f);
        }
    }
}

/// The strings an action shows to the customer or sends out (interpolation possible).
pub fn texts_of_action(action: &Action) -> Vec<&Text> {
    match &action.kind {
        ActionKind::Reply(m) => match &m.kind {
            MessageKind::Text(t) => vec![t],
            MessageKind::Buttons { body, buttons } => {
                std::iter::once(body).chain(buttons).collect()
            }
            MessageKind::List { body, button, rows } => {
                [body, button].into_iter().chain(rows).collect()
            }
            MessageKind::Template { .. } => Vec::new(),
            MessageKind::Form { body, .. } => vec![body],
        },
        ActionKind::Ask { prompt, .. } => vec![prompt],
        ActionKind::Tag(ts) | ActionKind::Untag(ts) => ts.iter().collect(),
        ActionKind::Assign(t) => vec![t],
        ActionKind::Close(reason) => reason.iter().collect(),
        ActionKind::Classify { instructions, .. } => instructions.iter().collect(),
        _ => Vec::new(),
    }
}

/// The expressions an action evaluates directly (not those of nested blocks), including
/// interpolations inside its strings.
pub fn exprs_of_action(action: &Action) -> Vec<&Expr> {
    let mut out: Vec<&Expr> = Vec::new();
    for t in texts_of_action(action) {
        out.extend(interpolations(t));
    }
    match &action.kind {
        ActionKind::Reply(m) => {
            if let MessageKind::Template { args, .. } = &m.kind {
                out.extend(args);
            }
        }
        ActionKind::Set { value, .. } => out.push(value),
        ActionKind::Post { body, .. } | ActionKind::Call { body, .. } => {
            out.extend(body.iter().map(|e| &e.value))
        }
        ActionKind::If { cond, .. } => out.push(cond),
        _ => {}
    }
    out
}

/// The `{...}` expressions of a string.
pub fn interpolations(text: &Text) -> impl Iterator<Item = &Expr> {
    text.parts.iter().filter_map(|p| match p {
        TextPart::Interp(e) => Some(e),
        TextPart::Lit(_) => None,
    })
}

/// The direct sub-expressions of an expression (strings' interpolations included).
pub fn children(expr: &Expr) -> Vec<&Expr> {
    match &expr.kind {
        ExprKind::Str(t) => interpolations(t).collect(),
        ExprKind::List(items) => items.iter().collect(),
        ExprKind::Unary { expr, .. } => vec![expr],
        ExprKind::Binary { lhs, rhs, .. } => vec![lhs, rhs],
        ExprKind::HasTag { subject, .. } => vec![subject],
        ExprKind::IsSet { expr, .. } | ExprKind::Matches { expr, .. } => vec![expr],
        ExprKind::Num(_)
        | ExprKind::Bool(_)
        | ExprKind::Duration(_)
        | ExprKind::Date(_)
        | ExprKind::Clock(_)
        | ExprKind::Path(_)
        | ExprKind::Today
        | ExprKind::Now
        | ExprKind::InHours { .. } => Vec::new(),
    }
}

/// Calls `f` on an expression and all its sub-expressions, parents first.
pub fn each_expr<'a>(expr: &'a Expr, f: &mut dyn FnMut(&'a Expr)) {
    f(expr);
    for c in children(expr) {
        each_expr(c, f);
    }
}
