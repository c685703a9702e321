//! The name index: every declaration and every use of a stage, field, team, template,
//! webhook, form or hours name in a file, with its span. Editors use it for go to
//! definition, find references and rename; it is pure and knows nothing of the protocol.

use super::symbols::DeclKind;
use super::walk;
use crate::syntax::ast::{
    self, Action, ActionKind, Block, Expectation, Expr, ExprKind, FlowSettingKind, Handler, Item,
    MessageKind, StepKind, TriggerKind,
};
use crate::syntax::span::Span;

/// Whether an occurrence declares the name or uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Decl,
    Ref,
}

/// One written name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Occurrence {
    pub kind: DeclKind,
    pub name: String,
    pub span: Span,
    pub role: Role,
    /// The stage whose handlers contain the occurrence, if any.
    pub stage: Option<String>,
    /// How the name is used: `goto`, `route`, `start`, `expect stage`...; empty for a
    /// declaration.
    pub via: &'static str,
}

/// All occurrences of declared names in one file, in source order.
#[derive(Clone, Debug, Default)]
pub struct RefIndex {
    pub occurrences: Vec<Occurrence>,
}

impl RefIndex {
    /// Indexes a file. Paths with one segment that is not `contact`, `card` or `message`
    /// are field uses, whether or not the field exists (so a misspelt name is still found).
    pub fn build(file: &ast::File) -> RefIndex {
        let mut b = Builder::default();
        for item in &file.items {
            b.item(item);
        }
        let mut occurrences = b.out;
        occurrences.sort_by_key(|o| (o.span.start, o.span.end));
        occurrences.dedup_by(|a, b| a.span == b.span && a.kind == b.kind);
        RefIndex { occurrences }
    }

    /// The occurrence whose name touches the byte offset (the end counts, so a cursor right
    /// after a name still finds it).
    pub fn at(&self, offset: usize) -> Option<&Occurrence> {
        self.occurrences
            .iter()
            .filter(|o| o.span.contains(offset))
            .min_by_key(|o| o.span.len())
    }

    /// The first declaration of a name.
    pub fn declaration(&self, kind: DeclKind, name: &str) -> Option<&Occurrence> {
        self.occurrences
            .iter()
            .find(|o| o.role == Role::Decl && o.kind == kind && o.name == name)
    }

    /// Every occurrence of a name, declarations included, in source order.
    pub fn all_of<'a>(
        &'a self,
        kind: DeclKind,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Occurrence> + 'a {
        self.occurrences
            .iter()
            .filter(move |o| o.kind == kind && o.name == name)
    }

    /// The uses of a name, declarations left out.
    pub fn uses<'a>(
        &'a self,
        kind: DeclKind,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Occurrence> + 'a {
        self.all_of(kind, name).filter(|o| o.role == Role::Ref)
    }
}

#[derive(Default)]
struct Builder {
    out: Vec<Occurrence>,
    stage: Option<String>,
}

impl Builder {
    fn push(&mut self, kind: DeclKind, id: &ast::Ident, role: Role, via: &'static str) {
        if id.name.is_empty() {
            return;
        }
        self.out.push(Occurrence {
            kind,
            name: id.name.clone(),
            span: id.span,
            role,
            stage: self.stage.clone(),
            via,
        });
    }

    fn decl(&mut self, kind: DeclKind, id: &ast::Ident) {
        self.push(kind, id, Role::Decl, "");
    }

    fn use_(&mut self, kind: DeclKind, id: &ast::Ident, via: &'static str) {
        self.push(kind, id, Role::Ref, via);
    }

    fn item(&mut self, item: &Item) {
        self.stage = None;
        match item {
            Item::Flow(f) => {
                for s in &f.settings {
                    match &s.kind {
                        FlowSettingKind::Start(id) => self.use_(DeclKind::Stage, id, "start"),
                        FlowSettingKind::WindowTemplate(id) => {
                            self.use_(DeclKind::Template, id, "window template")
                        }
                        _ => {}
                    }
                }
            }
            Item::Hours(h) => self.decl(DeclKind::Hours, &h.name),
            Item::Team(t) => {
                self.decl(DeclKind::Team, &t.name);
                if let Some(h) = &t.hours {
                    self.use_(DeclKind::Hours, h, "hours");
                }
            }
            Item::Field(f) => self.decl(DeclKind::Field, &f.name),
            Item::Template(t) => {
                self.decl(DeclKind::Template, &t.name);
            }
            Item::Webhook(w) => self.decl(DeclKind::Webhook, &w.name),
            Item::Intent(i) => self.decl(DeclKind::Intent, &i.name),
            Item::Knowledge(k) => self.decl(DeclKind::Knowledge, &k.name),
            Item::Ai(a) => self.decl(DeclKind::Ai, &a.name),
            Item::Form(f) => {
                self.decl(DeclKind::Form, &f.name);
                if let Some(data) = &f.data {
                    self.use_(DeclKind::Webhook, &data.webhook, "form data");
                }
                for screen in &f.screens {
                    for input in &screen.inputs {
                        if input.ty.is_some() {
                            self.decl(DeclKind::Field, &input.name);
                        } else {
                            self.use_(DeclKind::Field, &input.name, "form input");
                        }
                    }
                }
            }
            Item::Event(e) => self.decl(DeclKind::Event, &e.name),
            Item::Migrate(m) => {
                for r in &m.rules {
                    match &r.action {
                        ast::MigrateAction::Goto(stage) => {
                            self.use_(DeclKind::Stage, stage, "migrate goto")
                        }
                        ast::MigrateAction::Close {
                            template: Some(m), ..
                        } => {
                            if let MessageKind::Template { name, args } = &m.kind {
                                self.use_(DeclKind::Template, name, "migrate template");
                                for a in args {
                                    self.expr(a);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            Item::Stage(s) => {
                self.decl(DeclKind::Stage, &s.name);
                self.stage = Some(s.name.name.clone());
                for h in &s.handlers {
                    self.handler(h);
                }
            }
            Item::Anywhere(a) => {
                for h in &a.handlers {
                    self.handler(h);
                }
            }
            Item::Test(t) => {
                for step in &t.steps {
                    self.step(&step.kind);
                }
            }
            Item::Sla(sla) => {
                self.decl(DeclKind::Sla, &sla.name);
                for team in &sla.teams {
                    self.use_(DeclKind::Team, team, "sla for");
                }
                for target in &sla.targets {
                    if let Some(h) = &target.inside {
                        self.use_(DeclKind::Hours, h, "sla inside");
                    }
                    if let Some(b) = &target.breach {
                        self.block(b);
                    }
                }
            }
        }
    }

    fn handler(&mut self, h: &Handler) {
        match &h.trigger.kind {
            TriggerKind::FormSubmitted(form) => self.use_(DeclKind::Form, form, "on form"),
            TriggerKind::Event { name, optout } => {
                self.use_(DeclKind::Event, name, "on event");
                if let Some(b) = optout {
                    self.block(b);
                }
            }
            _ => {}
        }
        if let TriggerKind::Intent(ids) = &h.trigger.kind {
            for id in ids {
                self.use_(DeclKind::Intent, id, "on intent");
            }
        }
        if let Some(g) = &h.guard {
            self.expr(g);
        }
        self.block(&h.body);
    }

    fn block(&mut self, block: &Block) {
        for a in &block.actions {
            self.action(a);
        }
    }

    fn action(&mut self, a: &Action) {
        for e in walk::exprs_of_action(a) {
            self.expr(e);
        }
        match &a.kind {
            ActionKind::Reply(m) => match &m.kind {
                MessageKind::Template { name, .. } => {
                    self.use_(DeclKind::Template, name, "template")
                }
                MessageKind::Form { name, .. } => self.use_(DeclKind::Form, name, "reply form"),
                _ => {}
            },
            ActionKind::Ask { field, .. } => self.use_(DeclKind::Field, field, "ask"),
            ActionKind::Set { field, .. } => self.use_(DeclKind::Field, field, "set"),
            ActionKind::Route { team, .. } => self.use_(DeclKind::Team, team, "route"),
            ActionKind::Handoff(Some(team)) => self.use_(DeclKind::Team, team, "handoff"),
            ActionKind::Post { webhook, .. } => self.use_(DeclKind::Webhook, webhook, "post"),
            ActionKind::Call { webhook, save, .. } => {
                self.use_(DeclKind::Webhook, webhook, "call");
                for f in save {
                    self.use_(DeclKind::Field, f, "call save");
                }
            }
            ActionKind::Goto(stage) => self.use_(DeclKind::Stage, stage, "goto"),
            ActionKind::Answer { knowledge, via, .. } => {
                self.use_(DeclKind::Knowledge, knowledge, "answer");
                if let ast::AnswerVia::Ai(ai) = via {
                    self.use_(DeclKind::Ai, ai, "answer with");
                }
            }
            ActionKind::Classify { ai, into, .. } => {
                self.use_(DeclKind::Ai, ai, "classify");
                for id in into {
                    self.use_(DeclKind::Intent, id, "classify into");
                }
            }
            _ => {}
        }
        for b in walk::sub_blocks(a) {
            self.block(b);
        }
    }

    fn expr(&mut self, e: &Expr) {
        walk::each_expr(e, &mut |e| match &e.kind {
            ExprKind::Path(segs) if segs.len() == 1 => {
                if let Some(first) = segs.first()
                    && !matches!(
                        first.name.as_str(),
                        "contact" | "card" | "message" | "event"
                    )
                {
                    self.use_(DeclKind::Field, first, "expression");
                }
            }
            ExprKind::InHours { hours, .. } => self.use_(DeclKind::Hours, hours, "hours check"),
            _ => {}
        });
    }

    fn step(&mut self, step: &StepKind) {
        match step {
            StepKind::Submit { form, values } => {
                self.use_(DeclKind::Form, form, "submit");
                for v in values {
                    self.use_(DeclKind::Field, &v.key, "submit");
                    self.expr(&v.value);
                }
            }
            StepKind::Event { name, values } => {
                self.use_(DeclKind::Event, name, "test event");
                for v in values {
                    self.expr(&v.value);
                }
            }
            StepKind::Respond { webhook, answer } => {
                self.use_(DeclKind::Webhook, webhook, "respond");
                for v in answer.iter().flatten() {
                    self.expr(&v.value);
                }
            }
            StepKind::Expect(e) => match e {
                Expectation::Stage(id) => self.use_(DeclKind::Stage, id, "expect stage"),
                Expectation::Routed(id) => self.use_(DeclKind::Team, id, "expect routed"),
                Expectation::Template(id) => self.use_(DeclKind::Template, id, "expect template"),
                Expectation::Field(e) => self.expr(e),
                Expectation::Intent {
                    intent: Some(id), ..
                } => self.use_(DeclKind::Intent, id, "expect intent"),
                Expectation::Posted { webhook, body } => {
                    self.use_(DeclKind::Webhook, webhook, "expect posted");
                    for v in body {
                        self.expr(&v.value);
                    }
                }
                Expectation::Sla { sla, .. } => self.use_(DeclKind::Sla, sla, "expect sla"),
                _ => {}
            },
            StepKind::Agent(ast::AgentStep::Route(team)) => {
                self.use_(DeclKind::Team, team, "agent route")
            }
            _ => {}
        }
    }
}
