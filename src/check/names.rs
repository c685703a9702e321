//! Checker pass: every reference resolves (E0201), paths name real properties (E0203),
//! triggers and actions sit where they mean something (E0205), declarations are used
//! (W0601), `{...}` appears only where strings interpolate (W0603), and handlers are not
//! silently empty (W0604).
//!
//! References from `test` blocks are resolved but do not count as uses: a declaration
//! only a test mentions is still dead in the flow.

use super::Cx;
use super::symbols::{DeclKind, Symbols};
use super::types::{is_root, properties};
use super::walk::{self, Owner};
use crate::diag::{Diagnostic, codes, did_you_mean};
use crate::syntax::ast::{
    self, Action, ActionKind, AgentStep, Block, Expectation, Expr, ExprKind, FieldKind, File,
    FlowSettingKind, FormDecl, Handler, Ident, Item, MessageKind, ObjEntry, StepKind, Text,
    TriggerKind,
};
use crate::syntax::span::Span;
use std::collections::BTreeSet;

pub(crate) fn run(cx: &mut Cx) {
    let mut r = Resolver {
        file: cx.file,
        syms: cx.syms,
        diags: Vec::new(),
        used: BTreeSet::new(),
        in_test: false,
    };
    for item in &cx.file.items {
        r.item(item);
    }
    for (owner, handler) in walk::handlers(cx.file) {
        r.handler(owner, handler);
    }
    r.unused();
    cx.diags.append(&mut r.diags);
}

struct Resolver<'a> {
    file: &'a File,
    syms: &'a Symbols,
    diags: Vec<Diagnostic>,
    used: BTreeSet<(DeclKind, String)>,
    in_test: bool,
}

/// How to declare a name of each kind, for the help of an unknown name.
fn declare_hint(kind: DeclKind, name: &str) -> String {
    match kind {
        DeclKind::Stage => format!("declare it with `stage {name} {{ ... }}`"),
        DeclKind::Field => format!("declare it with `field {name}: text` (or another type)"),
        DeclKind::Team => format!("declare it with `team {name} {{ agents \"...\" }}`"),
        DeclKind::Template => {
            format!("declare it with `template {name} \"approved_name\" lang \"en_US\"`")
        }
        DeclKind::Webhook => format!("declare it with `webhook {name} \"https://...\"`"),
        DeclKind::Form => format!("declare it with `form {name} \"Title\" {{ screen ... }}`"),
        DeclKind::Hours => format!("declare it with `hours {name} {{ mon-fri 09:00-18:00 }}`"),
        DeclKind::Intent => {
            format!("declare it with `intent {name} {{ examples \"...\", \"...\" }}`")
        }
        DeclKind::Knowledge => format!("declare it with `knowledge {name} from \"{name}.md\"`"),
        DeclKind::Ai => format!(
            "declare it with `ai {name} \"https://.../v1/chat/completions\" {{ model \"...\"; key env(\"...\") }}`"
        ),
        DeclKind::Event => format!("declare it with `event {name} {{ key: text }}`"),
        DeclKind::Sla => {
            format!("declare it with `sla {name} for TEAM {{ first reply within 2h }}`")
        }
    }
}

impl<'a> Resolver<'a> {
    /// Resolves a reference to a declaration, recording the use.
    fn resolve(&mut self, kind: DeclKind, id: &Ident) -> bool {
        if self.syms.has(kind, &id.name) {
            if !self.in_test {
                self.used.insert((kind, id.name.clone()));
            }
            return true;
        }
        let noun = kind.noun();
        // "hours" is its own plural: say "hours declaration" where a singular is needed.
        let one = if kind == DeclKind::Hours {
            "hours declaration"
        } else {
            noun
        };
        let names = self.syms.names(kind);
        let help = did_you_mean(&id.name, names.iter().copied())
            .map(|s| format!("did you mean `{s}`?"))
            .unwrap_or_else(|| declare_hint(kind, &id.name));
        let note = if names.is_empty() {
            format!("this script declares no {one}")
        } else {
            format!("names are case-sensitive; every {one} used must be declared in this script")
        };
        self.diags.push(
            Diagnostic::new(
                codes::UNKNOWN_NAME,
                format!("unknown {noun} `{}`", id.name),
                id.span,
                format!("no {one} has this name"),
            )
            .with_note(note)
            .with_help(help),
        );
        false
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Flow(flow) => {
                self.plain(&flow.name, "flow names");
                for s in &flow.settings {
                    match &s.kind {
                        FlowSettingKind::Start(id) => {
                            self.resolve(DeclKind::Stage, id);
                        }
                        FlowSettingKind::WindowTemplate(id) => {
                            self.resolve(DeclKind::Template, id);
                        }
                        FlowSettingKind::Timezone(t) => self.plain(t, "time zone names"),
                        FlowSettingKind::OptOut(ts) | FlowSettingKind::OptIn(ts) => {
                            self.plains(ts, "opt-out and opt-in words")
                        }
                        FlowSettingKind::Budget(_) | FlowSettingKind::Intents { .. } => {}
                    }
                }
            }
            Item::Hours(h) => {
                if let Some(tz) = &h.timezone {
                    self.plain(tz, "time zone names");
                }
            }
            Item::Team(t) => {
                self.plains(&t.agents, "agent addresses");
                if let Some(h) = &t.hours {
                    self.resolve(DeclKind::Hours, h);
                }
            }
            Item::Field(f) => {
                self.field_kind(&f.ty.kind);
                if let Some(invalid) = &f.invalid {
                    self.text(invalid);
                }
            }
            Item::Template(t) => {
                self.plain(&t.wa_name, "template names");
                self.plain(&t.lang, "template languages");
            }
            Item::Webhook(w) => {
                self.plain(&w.url, "webhook addresses");
                if let Some(secret) = &w.secret {
                    self.plain(&secret.var, "environment variable names");
                }
            }
            Item::Form(form) => {
                self.plain(&form.title, "form titles");
                if let Some(data) = &form.data {
                    self.resolve(DeclKind::Webhook, &data.webhook);
                }
                for screen in &form.screens {
                    self.plain(&screen.title, "screen titles");
                    for input in &screen.inputs {
                        if let Some(label) = &input.label {
                            self.plain(label, "form labels");
                        }
                        match &input.ty {
                            Some(ty) => self.field_kind(&ty.kind),
                            // A bare input reuses the declared field of that name.
                            None => {
                                self.resolve(DeclKind::Field, &input.name);
                            }
                        }
                    }
                }
            }
            Item::Test(test) => {
                self.in_test = true;
                for step in &test.steps {
                    self.step(&step.kind);
                }
                self.in_test = false;
            }
            Item::Intent(_) => {}
            Item::Knowledge(k) => self.plain(&k.path, "file paths"),
            Item::Ai(a) => {
                self.plain(&a.url, "ai endpoint addresses");
                if let Some(m) = &a.model {
                    self.plain(m, "model names");
                }
                if let Some(key) = &a.key {
                    self.plain(&key.var, "environment variable names");
                }
            }
            Item::Event(e) => {
                for k in &e.keys {
                    self.field_kind(&k.ty.kind);
                }
            }
            Item::Migrate(m) => {
                for r in &m.rules {
                    match &r.action {
                        ast::MigrateAction::Goto(stage) => {
                            self.resolve(DeclKind::Stage, stage);
                        }
                        ast::MigrateAction::Close { reason, template } => {
                            if let Some(t) = reason {
                                self.text(t);
                            }
                            if let Some(ast::Message {
                                kind: MessageKind::Template { name, args },
                                ..
                            }) = template
                            {
                                self.resolve(DeclKind::Template, name);
                                for a in args {
                                    self.expr(a);
                                }
                            }
                        }
                        ast::MigrateAction::Keep => {}
                    }
                }
            }
            Item::Sla(sla) => {
                for team in &sla.teams {
                    self.resolve(DeclKind::Team, team);
                }
                for target in &sla.targets {
                    if let Some(h) = &target.inside {
                        self.resolve(DeclKind::Hours, h);
                    }
                    if let Some(b) = &target.breach {
                        self.block(b);
                    }
                }
            }
            Item::Stage(_) | Item::Anywhere(_) => {}
        }
    }

    fn field_kind(&mut self, kind: &FieldKind) {
        if let FieldKind::Choice(options) = kind {
            self.plains(options, "choice options");
        }
    }

    fn step(&mut self, step: &StepKind) {
        match step {
            StepKind::Submit { form, values } => {
                if self.resolve(DeclKind::Form, form) {
                    self.submit_keys(form, values);
                }
                for v in values {
                    self.expr(&v.value);
                }
            }
            StepKind::Event { name, values } => {
                if self.resolve(DeclKind::Event, name) {
                    self.event_keys(name, values);
                }
                for v in values {
                    self.expr(&v.value);
                }
            }
            StepKind::Respond { webhook, answer } => {
                self.resolve(DeclKind::Webhook, webhook);
                for v in answer.iter().flatten() {
                    self.expr(&v.value);
                }
            }
            StepKind::Expect(e) => match e {
                Expectation::Stage(id) => {
                    self.resolve(DeclKind::Stage, id);
                }
                Expectation::Routed(id) => {
                    self.resolve(DeclKind::Team, id);
                }
                Expectation::Template(id) => {
                    self.resolve(DeclKind::Template, id);
                }
                Expectation::Posted { webhook, body } => {
                    self.resolve(DeclKind::Webhook, webhook);
                    for entry in body {
                        self.expr(&entry.value);
                    }
                }
                Expectation::Field(expr) => self.expr(expr),
                Expectation::Intent {
                    intent: Some(id), ..
                } => {
                    self.resolve(DeclKind::Intent, id);
                }
                Expectation::Sla { sla, .. } => {
                    self.resolve(DeclKind::Sla, sla);
                }
                Expectation::Event { kind, detail } => {
                    self.event_kind(kind);
                    if let Some(d) = detail {
                        self.plain(d, "event names");
                    }
                }
                _ => {}
            },
            StepKind::Agent(AgentStep::Route(team)) => {
                self.resolve(DeclKind::Team, team);
            }
            StepKind::Agent(AgentStep::Reply(t)) => self.plain(t, "test messages"),
            StepKind::Agent(AgentStep::Assign(t)) => self.plain(t, "agent addresses"),
            _ => {}
        }
    }

    /// `expect event KIND`: the kind must be one of the card events.
    fn event_kind(&mut self, kind: &Ident) {
        let kinds = crate::engine::events::KINDS;
        if kinds.contains(&kind.name.as_str()) {
            return;
        }
        let help = did_you_mean(&kind.name, kinds.iter().copied())
            .map(|s| format!("did you mean `{s}`?"))
            .unwrap_or_else(|| "see `docs/measurement.md` for every card event".into());
        self.diags.push(
            Diagnostic::new(
                codes::UNKNOWN_NAME,
                format!("unknown card event `{}`", kind.name),
                kind.span,
                "no card event has this name",
            )
            .with_note(format!("card events are {}", kinds.join(", ")))
            .with_help(help),
        );
    }

    /// The keys of `submit FORM { ... }` must be inputs of that form.
    fn submit_keys(&mut self, form: &Ident, values: &[ObjEntry]) {
        let Some(decl) = self.form_decl(&form.name) else {
            return;
        };
        let inputs: Vec<&str> = decl
            .screens
            .iter()
            .flat_map(|s| &s.inputs)
            .map(|i| i.name.name.as_str())
            .collect();
        for entry in values {
            if inputs.contains(&entry.key.name.as_str()) {
                continue;
            }
            let help = did_you_mean(&entry.key.name, inputs.iter().copied())
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| format!("submit only the inputs of `{}`", form.name));
            self.diags.push(
                Diagnostic::new(
                    codes::UNKNOWN_NAME,
                    format!("form `{}` has no input `{}`", form.name, entry.key.name),
                    entry.key.span,
                    "not an input of this form",
                )
                .with_secondary(decl.name.span, "form declared here")
                .with_note(format!(
                    "the inputs of `{}` are {}",
                    form.name,
                    inputs
                        .iter()
                        .map(|i| format!("`{i}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                .with_help(help),
            );
        }
    }

    /// The keys of `event NAME { ... }` in a test must be keys of that event's payload.
    fn event_keys(&mut self, event: &Ident, values: &[ObjEntry]) {
        let Some((index, _)) = self.syms.events.get(&event.name) else {
            return;
        };
        let Some(Item::Event(decl)) = self.file.items.get(*index) else {
            return;
        };
        let keys: Vec<&str> = decl.keys.iter().map(|k| k.name.name.as_str()).collect();
        for entry in values {
            if keys.contains(&entry.key.name.as_str()) {
                continue;
            }
            let help = did_you_mean(&entry.key.name, keys.iter().copied())
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| format!("send only the keys of `{}`", event.name));
            self.diags.push(
                Diagnostic::new(
                    codes::UNKNOWN_NAME,
                    format!("event `{}` has no key `{}`", event.name, entry.key.name),
                    entry.key.span,
                    "not a key of this event",
                )
                .with_secondary(decl.name.span, "event declared here")
                .with_note(if keys.is_empty() {
                    format!("`{}` has no payload", event.name)
                } else {
                    format!(
                        "the keys of `{}` are {}",
                        event.name,
                        keys.iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
                .with_help(help),
            );
        }
    }

    fn form_decl(&self, name: &str) -> Option<&'a FormDecl> {
        let (index, _) = self.syms.forms.get(name)?;
        match self.file.items.get(*index) {
            Some(Item::Form(f)) => Some(f),
            _ => None,
        }
    }

    fn handler(&mut self, owner: Owner, handler: &Handler) {
        if let Owner::Anywhere(_) = owner {
            let why = match handler.trigger.kind {
                TriggerKind::Enter => Some((
                    "`on enter` cannot be used in `anywhere`",
                    "a card enters stages, never `anywhere`, so this handler would never run",
                    "move it into the stage it belongs to",
                )),
                TriggerKind::Otherwise => Some((
                    "`otherwise` cannot be used in `anywhere`",
                    "`anywhere` handlers are tried before each stage's own, so an `otherwise` here would take every message and no stage handler would ever run",
                    "give each stage its own `otherwise`",
                )),
                _ => None,
            };
            if let Some((message, note, help)) = why {
                self.diags.push(
                    Diagnostic::new(
                        codes::MISPLACED,
                        message,
                        handler.trigger.span,
                        "not allowed in `anywhere`",
                    )
                    .with_note(note)
                    .with_help(help),
                );
            }
        }
        match &handler.trigger.kind {
            TriggerKind::Keyword(ts) => self.plains(ts, "keywords"),
            TriggerKind::Button(ts) => self.plains(ts, "button titles"),
            TriggerKind::Choice(ts) => self.plains(ts, "list row titles"),
            TriggerKind::FormSubmitted(form) => {
                self.resolve(DeclKind::Form, form);
            }
            TriggerKind::Intent(ids) => {
                for id in ids {
                    self.resolve(DeclKind::Intent, id);
                }
            }
            TriggerKind::Event { name, optout } => {
                self.resolve(DeclKind::Event, name);
                if let Some(b) = optout {
                    self.block(b);
                }
            }
            _ => {}
        }
        if let Some(guard) = &handler.guard {
            self.expr(guard);
        }
        if handler.body.actions.is_empty() {
            self.diags.push(
                Diagnostic::new(
                    codes::EMPTY_HANDLER,
                    "empty handler",
                    handler.body.span,
                    "nothing happens here",
                )
                .with_secondary(handler.trigger.span, "this trigger takes the event")
                .with_note(
                    "the handler takes the event and does nothing: no later handler sees it, and the customer hears nothing",
                )
                .with_help(
                    "write `ignore` inside the braces to stay silent on purpose, or add actions",
                ),
            );
        }
        self.block(&handler.body);
    }

    fn block(&mut self, block: &Block) {
        let mut end: Option<&Action> = None;
        let mut reported = false;
        for action in &block.actions {
            if let Some(end) = end
                && !reported
            {
                // One report per block: the rest is dead for the same reason.
                reported = true;
                let (word, leaves) = match &end.kind {
                    ActionKind::Goto(_) => ("goto", "the card leaves the stage here"),
                    ActionKind::Close(_) => ("close", "the conversation is closed here"),
                    ActionKind::If { .. } => (
                        "if",
                        "every branch of this `if` ends the handler (`goto`, `close` or `handoff`)",
                    ),
                    _ => ("handoff", "a human takes over here"),
                };
                self.diags.push(
                    Diagnostic::new(
                        codes::MISPLACED,
                        format!("`{}` after `{word}` never runs", action_word(&action.kind)),
                        action.span,
                        "this never runs",
                    )
                    .with_secondary(end.span, leaves)
                    .with_note(if word == "if" {
                        "an `if` whose every branch ends with `goto`, `close` or `handoff` ends the handler; the actions after it are skipped"
                    } else {
                        "`goto`, `close` and `handoff` end the handler; the actions after them are skipped"
                    })
                    .with_help(if word == "if" {
                        "move it into the branches (before their `goto`, `close` or `handoff`), or delete it".to_string()
                    } else {
                        format!("move it before the `{word}`, or delete it")
                    }),
                );
            }
            self.action(action);
            if end.is_none() && ends(action) {
                end = Some(action);
            }
        }
    }

    fn action(&mut self, action: &Action) {
        match &action.kind {
            ActionKind::Reply(m) => match &m.kind {
                MessageKind::Text(t) => self.text(t),
                MessageKind::Buttons { body, buttons } => {
                    self.text(body);
                    self.plains(buttons, "button titles");
                }
                MessageKind::List { body, button, rows } => {
                    self.text(body);
                    self.plain(button, "list button labels");
                    self.plains(rows, "list row titles");
                }
                MessageKind::Template { name, args } => {
                    self.resolve(DeclKind::Template, name);
                    for a in args {
                        self.expr(a);
                    }
                }
                MessageKind::Form { name, body } => {
                    self.resolve(DeclKind::Form, name);
                    self.text(body);
                }
            },
            ActionKind::Ask {
                field,
                prompt,
                fallback,
                ..
            } => {
                self.resolve(DeclKind::Field, field);
                self.text(prompt);
                if let Some(b) = fallback {
                    self.block(b);
                }
            }
            ActionKind::Set { field, value } => {
                self.resolve(DeclKind::Field, field);
                self.expr(value);
            }
            ActionKind::Tag(ts) | ActionKind::Untag(ts) => self.plains(ts, "tags"),
            ActionKind::Route { team, .. } | ActionKind::Handoff(Some(team)) => {
                self.resolve(DeclKind::Team, team);
            }
            ActionKind::Assign(t) => self.plain(t, "agent addresses"),
            ActionKind::Post { webhook, body } => {
                self.resolve(DeclKind::Webhook, webhook);
                for e in body {
                    self.expr(&e.value);
                }
            }
            ActionKind::Call {
                webhook,
                body,
                save,
                fallback,
                ..
            } => {
                self.resolve(DeclKind::Webhook, webhook);
                for e in body {
                    self.expr(&e.value);
                }
                for f in save {
                    self.resolve(DeclKind::Field, f);
                }
                if let Some(b) = fallback {
                    self.block(b);
                }
            }
            ActionKind::Answer {
                knowledge,
                via,
                fallback,
            } => {
                self.resolve(DeclKind::Knowledge, knowledge);
                if let crate::syntax::ast::AnswerVia::Ai(ai) = via {
                    self.resolve(DeclKind::Ai, ai);
                }
                if let Some(b) = fallback {
                    self.block(b);
                }
            }
            ActionKind::Classify {
                ai,
                instructions,
                into,
                fallback,
            } => {
                self.resolve(DeclKind::Ai, ai);
                if let Some(t) = instructions {
                    self.plain(t, "ai instructions");
                }
                for id in into {
                    self.resolve(DeclKind::Intent, id);
                }
                if let Some(b) = fallback {
                    self.block(b);
                }
            }
            ActionKind::Goto(stage) => {
                self.resolve(DeclKind::Stage, stage);
            }
            ActionKind::Close(reason) => {
                if let Some(t) = reason {
                    self.text(t);
                }
            }
            ActionKind::If {
                cond,
                then,
                otherwise,
            } => {
                self.expr(cond);
                self.block(then);
                if let Some(b) = otherwise {
                    self.block(b);
                }
            }
            ActionKind::Priority(_) | ActionKind::Handoff(None) | ActionKind::Ignore => {}
        }
    }

    /// A string whose `{...}` parts are interpolated: resolve them.
    fn text(&mut self, text: &Text) {
        for e in walk::interpolations(text) {
            self.expr(e);
        }
    }

    /// A string used as written: `{...}` in it is a mistake (W0603).
    fn plain(&mut self, text: &Text, what: &str) {
        let Some(first) = walk::interpolations(text).next() else {
            return;
        };
        self.diags.push(
            Diagnostic::new(
                codes::NO_INTERPOLATION,
                format!("`{{...}}` is not interpolated in {what}"),
                first.span,
                "kept as written, not replaced by a value",
            )
            .with_note(format!(
                "{what} are used exactly as written; only message texts, prompts and template arguments fill in `{{...}}`"
            ))
            .with_help("write `\\{` and `\\}` for literal braces, or move the value into a message text"),
        );
    }

    fn plains(&mut self, texts: &[Text], what: &str) {
        for t in texts {
            self.plain(t, what);
        }
    }

    fn expr(&mut self, expr: &Expr) {
        match &expr.kind {
            ExprKind::Path(path) => self.path(path),
            ExprKind::InHours { hours, .. } => {
                self.resolve(DeclKind::Hours, hours);
            }
            // `contact has tag "vip"`: here `contact` stands alone on purpose.
            ExprKind::HasTag { subject, .. } => {
                // `card has tag` is a type error, reported once by the types pass.
                let bare_root = matches!(&subject.kind, ExprKind::Path(p)
                    if p.len() == 1 && p.first().is_some_and(|i| is_root(&i.name)));
                if !bare_root {
                    self.expr(subject);
                }
                return;
            }
            _ => {}
        }
        for c in walk::children(expr) {
            self.expr(c);
        }
    }

    /// `order`, `contact.name`, `card.stage`, `contact.attr.plan`.
    fn path(&mut self, path: &[Ident]) {
        let Some(first) = path.first() else { return };
        let root = first.name.as_str();
        // What `event` holds depends on the handler: the events pass checks it.
        if root == "event" {
            return;
        }
        if !is_root(root) {
            if self.resolve(DeclKind::Field, first)
                && let Some(extra) = path.get(1)
            {
                self.no_more(path, 1, extra, &format!("field `{root}` has no properties"));
            }
            return;
        }
        let props = properties(root);
        let listed = props
            .iter()
            .map(|p| {
                if *p == "attr" {
                    "attr.NAME".to_string()
                } else {
                    (*p).to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let Some(prop) = path.get(1) else {
            self.diags.push(
                Diagnostic::new(
                    codes::UNKNOWN_PROPERTY,
                    format!("`{root}` needs a property"),
                    first.span,
                    "not a value by itself",
                )
                .with_note(format!("`{root}` has: {listed}"))
                .with_help(match root {
                    "contact" => "write e.g. `contact.name`, or `contact has tag \"vip\"` for tags",
                    "card" => "write e.g. `card.stage`",
                    _ => "write e.g. `message.text`",
                }),
            );
            return;
        };
        if !props.contains(&prop.name.as_str()) {
            let help = match did_you_mean(&prop.name, props.iter().copied()) {
                Some(s) => format!("did you mean `{root}.{s}`?"),
                None if root == "contact" => format!(
                    "custom contact data is written `contact.attr.{}`",
                    prop.name
                ),
                None => format!("use one of the properties of `{root}`"),
            };
            self.diags.push(
                Diagnostic::new(
                    codes::UNKNOWN_PROPERTY,
                    format!("unknown property `{root}.{}`", prop.name),
                    prop.span,
                    format!("`{root}` has no property `{}`", prop.name),
                )
                .with_note(format!("`{root}` has: {listed}"))
                .with_help(help),
            );
            return;
        }
        if root == "contact" && prop.name == "attr" {
            match path.get(2) {
                None => self.diags.push(
                    Diagnostic::new(
                        codes::UNKNOWN_PROPERTY,
                        "`contact.attr` needs an attribute name",
                        prop.span,
                        "which attribute?",
                    )
                    .with_note("custom contact attributes are read as `contact.attr.NAME`")
                    .with_help("name the attribute, e.g. `contact.attr.plan`"),
                ),
                Some(_) => {
                    if let Some(extra) = path.get(3) {
                        let attr = path_text(path.get(..3).unwrap_or(path));
                        let owner = format!("`{attr}` has no properties");
                        self.no_more(path, 3, extra, &owner);
                    }
                }
            }
            return;
        }
        if let Some(extra) = path.get(2) {
            self.no_more(
                path,
                2,
                extra,
                &format!("`{root}.{}` has no properties", prop.name),
            );
        }
    }

    /// E0203 for `x.y.z` where `x.y` is already a plain value.
    fn no_more(&mut self, path: &[Ident], keep: usize, extra: &Ident, message: &str) {
        let kept = path_text(path.get(..keep).unwrap_or(path));
        self.diags.push(
            Diagnostic::new(
                codes::UNKNOWN_PROPERTY,
                message.to_string(),
                extra.span,
                "no such property",
            )
            .with_note("only `contact`, `card`, `message` and `contact.attr` have properties")
            .with_help(format!("write just `{kept}`")),
        );
    }

    /// W0601 for declarations nothing refers to.
    fn unused(&mut self) {
        let kinds = [
            (DeclKind::Team, "no `route` or `handoff` names it"),
            (
                DeclKind::Template,
                "no `reply template`, `send template` or `window template` names it",
            ),
            (
                DeclKind::Webhook,
                "no `post`, `call` or form `data` names it",
            ),
            (
                DeclKind::Form,
                "no `reply form` sends it and no `on form ... submitted` handles it",
            ),
            (
                DeclKind::Hours,
                "no `inside`/`outside` condition or team uses it",
            ),
            (
                DeclKind::Intent,
                "no `on intent` handler and no `classify ... into` names it",
            ),
            (DeclKind::Knowledge, "no `answer` quotes from it"),
            (DeclKind::Ai, "no `classify` or `answer ... with` calls it"),
            (DeclKind::Event, "no `on event` handler takes it"),
        ];
        let mut unused: Vec<(DeclKind, String, Span, &str)> = Vec::new();
        for (kind, note) in kinds {
            if let Some(decls) = self.syms.decls(kind) {
                for (name, (_, span)) in decls {
                    if !self.used.contains(&(kind, name.clone())) {
                        unused.push((kind, name.clone(), *span, note));
                    }
                }
            }
        }
        for (name, info) in &self.syms.fields {
            // A form input is used by its form.
            if info.form.is_none() && !self.used.contains(&(DeclKind::Field, name.clone())) {
                unused.push((
                    DeclKind::Field,
                    name.clone(),
                    info.span,
                    "no `ask`, `set`, `call ... save`, form or expression uses it",
                ));
            }
        }
        for (kind, name, span, note) in unused {
            self.diags.push(
                Diagnostic::new(
                    codes::UNUSED,
                    format!("unused {} `{name}`", kind.noun()),
                    span,
                    "declared here but never used",
                )
                .with_note(format!("{note} (tests do not count)"))
                .with_help("remove it, or use it in a stage"),
            );
        }
    }
}

fn path_text(path: &[Ident]) -> String {
    path.iter()
        .map(|i| i.name.as_str())
        .collect::<Vec<_>>()
        .join(".")
}

/// The keyword that starts an action, for messages.
fn action_word(kind: &ActionKind) -> &'static str {
    match kind {
        ActionKind::Reply(m) => match m.kind {
            MessageKind::Template { .. } => "reply template",
            MessageKind::Form { .. } => "reply form",
            _ => "reply",
        },
        ActionKind::Ask { .. } => "ask",
        ActionKind::Set { .. } => "set",
        ActionKind::Tag(_) => "tag",
        ActionKind::Untag(_) => "untag",
        ActionKind::Route { .. } => "route",
        ActionKind::Assign(_) => "assign",
        ActionKind::Priority(_) => "priority",
        ActionKind::Handoff(_) => "handoff",
        ActionKind::Post { .. } => "post",
        ActionKind::Call { .. } => "call",
        ActionKind::Answer { .. } => "answer",
        ActionKind::Classify { .. } => "classify",
        ActionKind::Goto(_) => "goto",
        ActionKind::Close(_) => "close",
        ActionKind::Ignore => "ignore",
        ActionKind::If { .. } => "if",
    }
}

/// Whether an action ends the handler on every path: `goto`, `close`, `handoff`, or an
/// `if` with an `else` whose branches both end it.
fn ends(action: &Action) -> bool {
    match &action.kind {
        ActionKind::Goto(_) | ActionKind::Close(_) | ActionKind::Handoff(_) => true,
        ActionKind::If {
            then,
            otherwise: Some(otherwise),
            ..
        } => then.actions.iter().any(ends) && otherwise.actions.iter().any(ends),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::syntax::span::FileId;

    /// Codes and messages of the checker's findings for a script.
    fn findings(src: &str) -> Vec<(&'static str, String)> {
        let parsed = crate::syntax::parse(FileId(0), src);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        crate::check::check(&parsed.file)
            .diagnostics
            .into_iter()
            .map(|d| (d.code.as_str(), d.message))
            .collect()
    }

    const HEAD: &str = "flow \"T\" { timezone \"UTC\" }\n";

    #[test]
    fn tests_do_not_make_a_declaration_used_but_forms_do() {
        let src = format!(
            "{HEAD}field order: text\nform f \"F\" {{ screen \"S\" {{ day: date \"Day\" }} }}\n\
             stage s {{ on enter {{ reply form f \"Pick\" }} otherwise {{ close }} }}\n\
             test \"t\" {{ expect field order == \"x\" }}\n"
        );
        let unused: Vec<_> = findings(&src)
            .into_iter()
            .filter(|(c, _)| *c == "W0601")
            .map(|(_, m)| m)
            .collect();
        assert_eq!(unused, ["unused field `order`"]);
    }

    #[test]
    fn tags_of_something_else_than_the_contact_are_reported_once() {
        let src = format!(
            "{HEAD}stage s {{ on message when card has tag \"x\" {{ close }} otherwise {{ close }} }}\n"
        );
        let codes: Vec<_> = findings(&src)
            .into_iter()
            .map(|(c, _)| c)
            .filter(|c| c.starts_with("E02") || c.starts_with("E03"))
            .collect();
        assert_eq!(codes, ["E0301"]);
    }

    #[test]
    fn dead_actions_are_reported_once_per_block() {
        let src = format!(
            "{HEAD}stage s {{ on enter {{ close; reply \"a\"; reply \"b\" }} otherwise {{ close }} }}\n"
        );
        let found: Vec<_> = findings(&src)
            .into_iter()
            .filter(|(c, _)| *c == "E0205")
            .map(|(_, m)| m)
            .collect();
        assert_eq!(found, ["`reply` after `close` never runs"]);
    }
}
