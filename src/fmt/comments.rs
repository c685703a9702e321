//! Finding `//` comments: every `//` outside a string or a regex literal starts one. The
//! tree says where the strings and regexes are, so no second lexer is needed here.

use crate::check::walk;
use crate::syntax::ast::{
    self, Block, Expectation, Expr, ExprKind, FieldKind, FieldType, FlowSettingKind, Handler, Item,
    ReplyMatch, StepKind, Text, TriggerKind,
};
use crate::syntax::span::Span;

/// One `//` comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    /// Byte offset of the first `/`.
    pub start: usize,
    /// Byte offset of the end of the line (before `\r\n` or `\n`).
    pub end: usize,
    /// The comment as written, trailing whitespace removed.
    pub text: String,
    /// True when code precedes the comment on its line.
    pub trailing: bool,
}

/// The comments of a text, in order. `tree` must be the parse of `src`.
pub fn comments(src: &str, tree: &ast::File) -> Vec<Comment> {
    let mut opaque = Vec::new();
    literal_spans(tree, &mut opaque);
    opaque.sort_by_key(|s| s.start);
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut lit = 0;
    while i + 1 < bytes.len() {
        // Skip over the literal containing `i`, if any.
        while lit < opaque.len() && (opaque[lit].end as usize) <= i {
            lit += 1;
        }
        if let Some(s) = opaque.get(lit)
            && (s.start as usize) <= i
            && i < s.end as usize
        {
            i = s.end as usize;
            continue;
        }
        if bytes[i] == b'/' && bytes[i + 1] == b'/' {
            let end = src
                .get(i..)
                .and_then(|r| r.find('\n'))
                .map_or(src.len(), |n| i + n);
            let text = src.get(i..end).unwrap_or("").trim_end().to_owned();
            let line_start = src
                .get(..i)
                .and_then(|r| r.rfind('\n'))
                .map_or(0, |n| n + 1);
            let trailing = !src.get(line_start..i).unwrap_or("").trim().is_empty();
            out.push(Comment {
                start: i,
                end,
                text,
                trailing,
            });
            i = end;
            continue;
        }
        i += 1;
    }
    out
}

/// Spans of every string and regex literal of the tree.
fn literal_spans(file: &ast::File, out: &mut Vec<Span>) {
    let mut c = Collector { out };
    for item in &file.items {
        c.item(item);
    }
}

struct Collector<'a> {
    out: &'a mut Vec<Span>,
}

impl Collector<'_> {
    fn text(&mut self, t: &Text) {
        self.out.push(t.span);
    }

    fn texts(&mut self, ts: &[Text]) {
        for t in ts {
            self.text(t);
        }
    }

    fn ty(&mut self, ty: &FieldType) {
        match &ty.kind {
            FieldKind::Text {
                pattern: Some(r), ..
            } => self.out.push(r.span),
            FieldKind::Choice(ts) => self.texts(ts),
            _ => {}
        }
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Flow(f) => {
                self.text(&f.name);
                for s in &f.settings {
                    match &s.kind {
                        FlowSettingKind::Timezone(t) => self.text(t),
                        FlowSettingKind::OptOut(ts) | FlowSettingKind::OptIn(ts) => self.texts(ts),
                        _ => {}
                    }
                }
            }
            Item::Hours(h) => {
                if let Some(t) = &h.timezone {
                    self.text(t);
                }
            }
            Item::Team(t) => self.texts(&t.agents),
            Item::Field(f) => {
                self.ty(&f.ty);
                if let Some(t) = &f.invalid {
                    self.text(t);
                }
            }
            Item::Template(t) => {
                self.text(&t.wa_name);
                self.text(&t.lang);
            }
            Item::Webhook(w) => {
                self.text(&w.url);
                if let Some(s) = &w.secret {
                    self.text(&s.var);
                }
            }
            Item::Form(f) => {
                self.text(&f.title);
                for s in &f.screens {
                    self.text(&s.title);
                    for i in &s.inputs {
                        if let Some(l) = &i.label {
                            self.text(l);
                        }
                        if let Some(ty) = &i.ty {
                            self.ty(ty);
                        }
                    }
                }
            }
            Item::Intent(i) => self.texts(&i.examples),
            Item::Knowledge(k) => self.text(&k.path),
            Item::Ai(a) => {
                self.text(&a.url);
                if let Some(m) = &a.model {
                    self.text(m);
                }
                if let Some(k) = &a.key {
                    self.text(&k.var);
                }
            }
            Item::Event(e) => {
                for k in &e.keys {
                    self.ty(&k.ty);
                }
            }
            Item::Migrate(m) => {
                for r in &m.rules {
                    if let ast::MigrateAction::Close { reason, template } = &r.action {
                        if let Some(t) = reason {
                            self.text(t);
                        }
                        if let Some(ast::Message {
                            kind: ast::MessageKind::Template { args, .. },
                            ..
                        }) = template
                        {
                            for a in args {
                                self.expr(a);
                            }
                        }
                    }
                }
            }
            Item::Stage(s) => self.handlers(&s.handlers),
            Item::Anywhere(a) => self.handlers(&a.handlers),
            Item::Test(t) => {
                self.text(&t.name);
                for step in &t.steps {
                    self.step(&step.kind);
                }
            }
            Item::Sla(sla) => {
                for b in sla.targets.iter().filter_map(|t| t.breach.as_ref()) {
                    self.block(b);
                }
            }
        }
    }

    fn handlers(&mut self, hs: &[Handler]) {
        for h in hs {
            match &h.trigger.kind {
                TriggerKind::Keyword(ts) | TriggerKind::Button(ts) | TriggerKind::Choice(ts) => {
                    self.texts(ts)
                }
                TriggerKind::Regex(r) => self.out.push(r.span),
                _ => {}
            }
            if let Some(g) = &h.guard {
                self.expr(g);
            }
            self.block(&h.body);
            if let TriggerKind::Event {
                optout: Some(b), ..
            } = &h.trigger.kind
            {
                self.block(b);
            }
        }
    }

    fn block(&mut self, b: &Block) {
        walk::each_action(b, &mut |a| {
            for t in walk::texts_of_action(a) {
                self.out.push(t.span);
            }
            for e in walk::exprs_of_action(a) {
                self.expr(e);
            }
        });
    }

    fn expr(&mut self, e: &Expr) {
        walk::each_expr(e, &mut |e| match &e.kind {
            ExprKind::Str(t) => self.out.push(t.span),
            ExprKind::HasTag { tag, .. } => self.out.push(tag.span),
            ExprKind::Matches { regex, .. } => self.out.push(regex.span),
            _ => {}
        });
    }

    fn step(&mut self, step: &StepKind) {
        match step {
            StepKind::Contact {
                phone, name, tags, ..
            } => {
                self.text(phone);
                if let Some(n) = name {
                    self.text(n);
                }
                self.texts(tags);
            }
            StepKind::Send(t) | StepKind::Tap(t) | StepKind::Choose(t) => self.text(t),
            StepKind::Agent(
                ast::AgentStep::Reply(t)
                | ast::AgentStep::Assign(t)
                | ast::AgentStep::Resolve(Some(t)),
            ) => self.text(t),
            StepKind::Submit { values, .. }
            | StepKind::Event { values, .. }
            | StepKind::Respond {
                answer: Some(values),
                ..
            } => {
                for v in values {
                    self.expr(&v.value);
                }
            }
            StepKind::Expect(e) => match e {
                Expectation::Assigned(t) | Expectation::Tagged(t) => self.text(t),
                Expectation::Closed(Some(t)) => self.text(t),
                Expectation::Reply(ReplyMatch::Exact(t) | ReplyMatch::Contains(t)) => self.text(t),
                Expectation::Reply(ReplyMatch::Matching(r)) => self.out.push(r.span),
                Expectation::Field(e) => self.expr(e),
                Expectation::Posted { body, .. } => {
                    for v in body {
                        self.expr(&v.value);
                    }
                }
                Expectation::Event {
                    detail: Some(t), ..
                } => self.text(t),
                _ => {}
            },
            _ => {}
        }
    }
}
