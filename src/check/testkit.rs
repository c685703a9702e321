//! Builders of small syntax trees for the checker's unit tests, so a test states the
//! script's shape without going through the parser. Every node gets a fresh span, so
//! labels in the results can be told apart.

use crate::diag::Diagnostic;
use crate::syntax::ast::*;
use crate::syntax::span::{FileId, Span};
use std::cell::Cell;

thread_local! {
    static NEXT: Cell<usize> = const { Cell::new(0) };
}

pub fn sp() -> Span {
    NEXT.with(|n| {
        let at = n.get();
        n.set(at + 2);
        Span::new(FileId(0), at, at + 1)
    })
}

pub fn id(name: &str) -> Ident {
    Ident {
        name: name.to_string(),
        span: sp(),
    }
}

pub fn text(s: &str) -> Text {
    Text {
        value: s.to_string(),
        parts: vec![TextPart::Lit(s.to_string())],
        span: sp(),
    }
}

/// A string with one interpolated field: `"{field}"`.
pub fn text_with(field: &str) -> Text {
    Text {
        value: format!("{{{field}}}"),
        parts: vec![TextPart::Interp(path(field))],
        span: sp(),
    }
}

pub fn path(name: &str) -> Expr {
    Expr {
        kind: ExprKind::Path(name.split('.').map(id).collect()),
        span: sp(),
    }
}

pub fn is_set(name: &str, negated: bool) -> Expr {
    Expr {
        kind: ExprKind::IsSet {
            expr: Box::new(path(name)),
            negated,
        },
        span: sp(),
    }
}

pub fn bin(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
    Expr {
        kind: ExprKind::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        },
        span: sp(),
    }
}

pub fn not(e: Expr) -> Expr {
    Expr {
        kind: ExprKind::Unary {
            op: UnOp::Not,
            expr: Box::new(e),
        },
        span: sp(),
    }
}

pub fn act(kind: ActionKind) -> Action {
    Action { kind, span: sp() }
}

pub fn block(actions: Vec<Action>) -> Block {
    Block {
        actions,
        span: sp(),
    }
}

pub fn goto(stage: &str) -> Action {
    act(ActionKind::Goto(id(stage)))
}

pub fn close() -> Action {
    act(ActionKind::Close(None))
}

pub fn reply(t: Text) -> Action {
    act(ActionKind::Reply(Message {
        kind: MessageKind::Text(t),
        span: sp(),
    }))
}

pub fn template(name: &str) -> Action {
    act(ActionKind::Reply(Message {
        kind: MessageKind::Template {
            name: id(name),
            args: Vec::new(),
        },
        span: sp(),
    }))
}

pub fn ask(field: &str, fallback: Option<Vec<Action>>) -> Action {
    act(ActionKind::Ask {
        field: id(field),
        prompt: text("?"),
        tries: None,
        fallback: fallback.map(block),
    })
}

pub fn if_(cond: Expr, then: Vec<Action>, otherwise: Option<Vec<Action>>) -> Action {
    act(ActionKind::If {
        cond,
        then: block(then),
        otherwise: otherwise.map(block),
    })
}

pub fn handler(kind: TriggerKind, guard: Option<Expr>, actions: Vec<Action>) -> Handler {
    Handler {
        trigger: Trigger { kind, span: sp() },
        guard,
        body: block(actions),
        span: sp(),
    }
}

pub fn on(kind: TriggerKind, actions: Vec<Action>) -> Handler {
    handler(kind, None, actions)
}

pub fn stage(name: &str, handlers: Vec<Handler>) -> Item {
    Item::Stage(StageDecl {
        name: id(name),
        handlers,
        span: sp(),
    })
}

pub fn anywhere(handlers: Vec<Handler>) -> Item {
    Item::Anywhere(AnywhereDecl {
        handlers,
        span: sp(),
    })
}

pub fn field(name: &str) -> Item {
    Item::Field(FieldDecl {
        name: id(name),
        ty: FieldType {
            kind: FieldKind::Email,
            span: sp(),
        },
        invalid: None,
        span: sp(),
    })
}

pub fn flow() -> Item {
    Item::Flow(FlowDecl {
        name: text("Test"),
        settings: Vec::new(),
        span: sp(),
    })
}

pub fn keywords(words: &[&str]) -> TriggerKind {
    TriggerKind::Keyword(words.iter().map(|w| text(w)).collect())
}

pub fn file(items: Vec<Item>) -> File {
    File { items, span: sp() }
}

/// Runs one pass over a file and returns the codes and primary-label spans it reported.
pub fn check_with(items: Vec<Item>, pass: fn(&mut super::Cx)) -> Vec<Diagnostic> {
    let f = file(items);
    let mut sink = Vec::new();
    let syms = super::symbols::collect(&f, &mut sink);
    let res = super::knowledge::Resources::default();
    let mut cx = super::Cx {
        file: &f,
        res: &res,
        syms: &syms,
        diags: Vec::new(),
    };
    pass(&mut cx);
    cx.diags
}

/// The codes of a list of diagnostics, for compact assertions.
pub fn codes(diags: &[Diagnostic]) -> Vec<&'static str> {
    diags.iter().map(|d| d.code.as_str()).collect()
}
