//! The symbol table: every declaration by kind and name, with duplicates reported.

use crate::diag::{Diagnostic, codes};
use crate::syntax::ast::{self, FieldKind, Item};
use crate::syntax::span::Span;
use std::collections::BTreeMap;

/// The kinds of names a script declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeclKind {
    Stage,
    Field,
    Team,
    Template,
    Webhook,
    Form,
    Hours,
    Intent,
    Knowledge,
    Ai,
    Event,
    Sla,
}

impl DeclKind {
    pub fn noun(self) -> &'static str {
        match self {
            DeclKind::Stage => "stage",
            DeclKind::Field => "field",
            DeclKind::Team => "team",
            DeclKind::Template => "template",
            DeclKind::Webhook => "webhook",
            DeclKind::Form => "form",
            DeclKind::Hours => "hours",
            DeclKind::Intent => "intent",
            DeclKind::Knowledge => "knowledge base",
            DeclKind::Ai => "ai endpoint",
            DeclKind::Event => "event",
            DeclKind::Sla => "sla",
        }
    }
}

/// A declared field, from a `field` declaration or a typed form input.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldInfo {
    pub name: String,
    pub kind: FieldKind,
    pub span: Span,
    /// The form whose input declares it, if it was not declared with `field`.
    pub form: Option<String>,
}

/// Names of one kind: name -> (index of the item in the file, span of the name).
pub type Decls = BTreeMap<String, (usize, Span)>;

#[derive(Clone, Debug, Default)]
pub struct Symbols {
    pub stages: Decls,
    /// Stage names in source order; the first is the start stage unless `start` says otherwise.
    pub stage_order: Vec<String>,
    pub fields: BTreeMap<String, FieldInfo>,
    pub teams: Decls,
    pub templates: Decls,
    pub webhooks: Decls,
    pub forms: Decls,
    pub hours: Decls,
    pub intents: Decls,
    pub knowledge: Decls,
    pub ais: Decls,
    pub events: Decls,
    pub slas: Decls,
    /// Index of the `flow` header item, if any.
    pub flow: Option<usize>,
    /// Index of the `migrate` block, if any.
    pub migrate: Option<usize>,
}

impl Symbols {
    pub fn decls(&self, kind: DeclKind) -> Option<&Decls> {
        match kind {
            DeclKind::Stage => Some(&self.stages),
            DeclKind::Team => Some(&self.teams),
            DeclKind::Template => Some(&self.templates),
            DeclKind::Webhook => Some(&self.webhooks),
            DeclKind::Form => Some(&self.forms),
            DeclKind::Hours => Some(&self.hours),
            DeclKind::Intent => Some(&self.intents),
            DeclKind::Knowledge => Some(&self.knowledge),
            DeclKind::Ai => Some(&self.ais),
            DeclKind::Event => Some(&self.events),
            DeclKind::Sla => Some(&self.slas),
            DeclKind::Field => None,
        }
    }

    /// All names of a kind, for "did you mean".
    pub fn names(&self, kind: DeclKind) -> Vec<&str> {
        match kind {
            DeclKind::Field => self.fields.keys().map(String::as_str).collect(),
            k => self
                .decls(k)
                .map(|d| d.keys().map(String::as_str).collect())
                .unwrap_or_default(),
        }
    }

    pub fn has(&self, kind: DeclKind, name: &str) -> bool {
        match kind {
            DeclKind::Field => self.fields.contains_key(name),
            k => self.decls(k).is_some_and(|d| d.contains_key(name)),
        }
    }

    /// The start stage: `start NAME` in the flow header, else the first stage declared.
    pub fn start_stage<'a>(&'a self, file: &'a ast::File) -> Option<&'a str> {
        if let Some(Item::Flow(flow)) = self.flow.and_then(|i| file.items.get(i)) {
            for s in &flow.settings {
                if let ast::FlowSettingKind::Start(id) = &s.kind
                    && self.stages.contains_key(&id.name)
                {
                    return Some(id.name.as_str());
                }
            }
        }
        self.stage_order.first().map(String::as_str)
    }
}

fn insert(
    map: &mut Decls,
    kind: DeclKind,
    id: &ast::Ident,
    item: usize,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    if let Some((_, first)) = map.get(&id.name) {
        diags.push(
            Diagnostic::new(
                codes::DUPLICATE,
                format!("{} `{}` is defined twice", kind.noun(), id.name),
                id.span,
                "defined again here",
            )
            .with_secondary(*first, "first defined here")
            .with_help(format!(
                "rename one of them or merge the two {}s",
                kind.noun()
            )),
        );
        false
    } else {
        map.insert(id.name.clone(), (item, id.span));
        true
    }
}

/// Collects all declarations, reporting duplicates and a missing or repeated flow header.
pub fn collect(file: &ast::File, diags: &mut Vec<Diagnostic>) -> Symbols {
    let mut s = Symbols::default();
    let mut field_spans: BTreeMap<String, Span> = BTreeMap::new();
    for (i, item) in file.items.iter().enumerate() {
        match item {
            Item::Flow(f) => {
                if let Some(first) = s.flow.and_then(|j| file.items.get(j)) {
                    diags.push(
                        Diagnostic::new(
                            codes::FLOW_HEADER,
                            "more than one `flow` header",
                            f.span,
                            "second header",
                        )
                        .with_secondary(first.span(), "first header here")
                        .with_note("a script describes exactly one flow")
                        .with_help("merge the settings into the first `flow` block"),
                    );
                } else {
                    s.flow = Some(i);
                }
            }
            Item::Stage(st) => {
                if insert(&mut s.stages, DeclKind::Stage, &st.name, i, diags) {
                    s.stage_order.push(st.name.name.clone());
                }
            }
            Item::Team(t) => {
                insert(&mut s.teams, DeclKind::Team, &t.name, i, diags);
            }
            Item::Template(t) => {
                insert(&mut s.templates, DeclKind::Template, &t.name, i, diags);
            }
            Item::Webhook(w) => {
                insert(&mut s.webhooks, DeclKind::Webhook, &w.name, i, diags);
            }
            Item::Hours(h) => {
                insert(&mut s.hours, DeclKind::Hours, &h.name, i, diags);
            }
            Item::Form(f) => {
                insert(&mut s.forms, DeclKind::Form, &f.name, i, diags);
            }
            Item::Intent(d) => {
                insert(&mut s.intents, DeclKind::Intent, &d.name, i, diags);
            }
            Item::Knowledge(d) => {
                insert(&mut s.knowledge, DeclKind::Knowledge, &d.name, i, diags);
            }
            Item::Ai(d) => {
                insert(&mut s.ais, DeclKind::Ai, &d.name, i, diags);
            }
            Item::Field(f) => {
                if let Some(first) = field_spans.get(&f.name.name) {
                    diags.push(
                        Diagnostic::new(
                            codes::DUPLICATE,
                            format!("field `{}` is defined twice", f.name.name),
                            f.name.span,
                            "defined again here",
                        )
                        .with_secondary(*first, "first defined here")
                        .with_help("give the fields different names"),
                    );
                } else {
                    field_spans.insert(f.name.name.clone(), f.name.span);
                    s.fields.insert(
                        f.name.name.clone(),
                        FieldInfo {
                            name: f.name.name.clone(),
                            kind: f.ty.kind.clone(),
                            span: f.name.span,
                            form: None,
                        },
                    );
                }
            }
            Item::Event(e) => {
                insert(&mut s.events, DeclKind::Event, &e.name, i, diags);
            }
            Item::Migrate(m) => {
                if let Some(first) = s.migrate.and_then(|j| file.items.get(j)) {
                    diags.push(
                        Diagnostic::new(
                            codes::DUPLICATE,
                            "more than one `migrate` block",
                            m.span,
                            "second block",
                        )
                        .with_secondary(first.span(), "first block here")
                        .with_note("publishing reads one set of migration rules")
                        .with_help("merge the rules into the first `migrate` block"),
                    );
                } else {
                    s.migrate = Some(i);
                }
            }
            Item::Sla(sla) => {
                insert(&mut s.slas, DeclKind::Sla, &sla.name, i, diags);
            }
            Item::Anywhere(_) | Item::Test(_) => {}
        }
    }
    // Typed form inputs declare fields too; a bare input reuses a declared field.
    for item in &file.items {
        if let Item::Form(form) = item {
            for screen in &form.screens {
                for input in &screen.inputs {
                    let Some(ty) = &input.ty else { continue };
                    if let Some(first) = field_spans.get(&input.name.name) {
                        diags.push(
                            Diagnostic::new(
                                codes::DUPLICATE,
                                format!("field `{}` is defined twice", input.name.name),
                                input.name.span,
                                "this form input declares it again",
                            )
                            .with_secondary(*first, "first defined here")
                            .with_help(format!(
                                "to reuse the declared field, write just `{}` in the screen",
                                input.name.name
                            )),
                        );
                    } else {
                        field_spans.insert(input.name.name.clone(), input.name.span);
                        s.fields.insert(
                            input.name.name.clone(),
                            FieldInfo {
                                name: input.name.name.clone(),
                                kind: ty.kind.clone(),
                                span: input.name.span,
                                form: Some(form.name.name.clone()),
                            },
                        );
                    }
                }
            }
        }
    }
    if s.flow.is_none() && !file.items.is_empty() {
        let at = file.items.first().map(|i| i.span()).unwrap_or(file.span);
        let at = crate::syntax::span::Span::new(at.file, at.start as usize, at.start as usize);
        diags.push(
            Diagnostic::new(
                codes::FLOW_HEADER,
                "missing `flow` header",
                at,
                "expected a `flow` header before this",
            )
            .with_note("every script starts by naming its flow and its time zone")
            .with_help("add `flow \"My Support\" { timezone \"UTC\" }` at the top of the file"),
        );
    }
    s
}
