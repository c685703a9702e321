//! The REPL core: takes one input (a message, a `:command` or a declaration) and returns
//! the text to show. It owns the session (sources and diagnostics), the compiled program,
//! the engine state of every contact and the virtual clock; the engine does all the
//! work, the core only turns input into events and effects into a transcript.

use super::command::{self, AgentCmd, Command, ContactCmd};
use super::decl;
use super::input::{self, InputKind};
use super::render;
use crate::check::Symbols;
use crate::compile::expr::Lower;
use crate::compile::{self, Program, Value};
use crate::diag::Diagnostic;
use crate::engine::{self, Contact, Effect, EffectKind, Event, Inbound, InboundMessage, State};
use crate::session::Session;
use crate::syntax::ast;
use crate::syntax::span::FileId;
use crate::syntax::vocab;
use crate::testrun;
use crate::testrun::sim::{Sim, Step};
use jiff::{SignedDuration, Timestamp};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

/// What the rustyline front needs for completion: names, commands' arguments.
#[derive(Clone, Debug, Default)]
pub struct Vocabulary {
    /// Stage, field, team, template, webhook, form and hours names.
    pub names: Vec<String>,
    /// Reply-button titles (those of the last bot message first).
    pub buttons: Vec<String>,
    /// List-row titles.
    pub rows: Vec<String>,
    /// Form names and their input names.
    pub forms: BTreeMap<String, Vec<String>>,
    /// Event names and their payload keys.
    pub events: BTreeMap<String, Vec<String>>,
}

/// Paths every expression may read, from the vocabulary (`contact.attr.` is completed up
/// to the attribute name).
static PATHS: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
    vocab::PROPERTIES
        .iter()
        .map(|p| match p.kind {
            vocab::PropKind::Attributes => format!("{}.{}.", p.root, p.name),
            _ => format!("{}.{}", p.root, p.name),
        })
        .collect()
});

impl Vocabulary {
    /// Words for an expression: names, paths and keywords.
    pub fn expression_words(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        Box::new(
            self.names
                .iter()
                .map(String::as_str)
                .chain(PATHS.iter().map(|p| -> &str { p }))
                .chain(vocab::all_words().map(|w| -> &str { w })),
        )
    }

    /// Words for a declaration: the same, as declarations hold expressions.
    pub fn declaration_words(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        self.expression_words()
    }
}

/// The loaded script: the file's text plus declarations typed at the prompt.
struct Script {
    /// The file as loaded, with typed declarations merged in.
    file: ast::File,
    symbols: Symbols,
    program: Program,
    /// Diagnostics of `file` as it stands, so a new declaration shows only new ones.
    diagnostics: Vec<Diagnostic>,
    /// The files the script refers to (knowledge bases), as loaded with the file.
    resources: crate::check::knowledge::Resources,
    /// The content hash card events carry: of the file, then of each typed declaration.
    hash: String,
}

impl Script {
    fn new(
        file: ast::File,
        symbols: Symbols,
        diagnostics: Vec<Diagnostic>,
        resources: crate::check::knowledge::Resources,
        hash: String,
    ) -> Script {
        let program = compile::compile_with(&file, &symbols, &resources);
        Script {
            file,
            symbols,
            program,
            diagnostics,
            resources,
            hash,
        }
    }
}

/// One REPL: everything but the terminal.
pub struct ReplCore {
    path: Option<PathBuf>,
    session: Session,
    base: Option<FileId>,
    script: Script,
    /// Declarations typed at the prompt, in order, for `:decls`.
    typed: Vec<String>,
    /// The contacts, their conversations and the virtual clock.
    sim: Sim,
    current: String,
    start: Timestamp,
    trace: bool,
    /// The effects of the last event, for `:why`.
    last: Vec<Effect>,
    /// The last text the current contact sent, for the intents part of `:why`.
    last_text: Option<String>,
    finished: bool,
    /// Events sent from the prompt so far, for their ids.
    events_sent: u64,
    /// Numbers the sources of typed input: `<prompt 3>`.
    inputs: usize,
}

impl ReplCore {
    /// A REPL over a file (or over an empty script), and the text to show first: the
    /// file's diagnostics, rendered as `wafl check` renders them.
    pub fn new(path: Option<PathBuf>) -> (ReplCore, String) {
        let mut core = ReplCore {
            path,
            session: Session::with_files(),
            base: None,
            script: Script::new(
                ast::File::default(),
                Symbols::default(),
                Vec::new(),
                Default::default(),
                String::new(),
            ),
            typed: Vec::new(),
            sim: Sim::new(Timestamp::UNIX_EPOCH, ""),
            current: testrun::DEFAULT_CONTACT.to_string(),
            start: Timestamp::UNIX_EPOCH,
            trace: false,
            last: Vec::new(),
            last_text: None,
            finished: false,
            events_sent: 0,
            inputs: 0,
        };
        let report = core.load();
        core.start = testrun::start_instant(&core.script.program);
        core.sim = Sim::new(core.start, core.script.hash.clone());
        (core, report)
    }

    /// Reads the file (again) and rebuilds the script from it. Typed declarations are
    /// dropped: the file is the source of truth.
    fn load(&mut self) -> String {
        let Some(path) = self.path.clone() else {
            // The errors of an empty script (no flow header, no stage) are known from
            // the start, so the first declarations typed are not blocked by them.
            let empty = ast::File::default();
            let checked = crate::check::check(&empty);
            self.script = Script::new(
                empty,
                checked.symbols,
                checked.diagnostics,
                Default::default(),
                compile::bundle::content_hash(""),
            );
            return String::new();
        };
        let name = path.display().to_string();
        let text = match std::fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(_) => return format!("error: `{name}` is not UTF-8 text\n"),
            },
            Err(e) => return format!("error: cannot read `{name}`: {e}\n"),
        };
        let hash = compile::bundle::content_hash(&text);
        let id = match self.base {
            Some(id) => {
                self.session.update(id, text);
                id
            }
            None => {
                let id = self.session.add(name.clone(), text);
                self.base = Some(id);
                id
            }
        };
        let Some(a) = self.session.analysis(id) else {
            return String::new();
        };
        self.script = Script::new(
            a.parsed.file.clone(),
            a.checked.symbols.clone(),
            a.diagnostics.clone(),
            a.resources.clone(),
            hash,
        );
        self.typed.clear();
        let mut out = self.session.render(id);
        let errors = a.diagnostics.iter().filter(|d| d.is_error()).count();
        if errors > 0 {
            let _ = writeln!(
                out,
                "warning: `{name}` has {errors} error(s); the REPL runs what could be compiled"
            );
        }
        out
    }

    /// The greeting of an interactive session.
    pub fn banner(&self) -> String {
        let name = self
            .path
            .as_ref()
            .map_or("an empty script".into(), |p| format!("`{}`", p.display()));
        format!(
            "wafl repl: {name}, {} stage(s); you are {} at {}.\n\
             Type a message, or `:help` for commands.\n",
            self.script.program.stages.len(),
            self.current,
            render::clock(self.now(), &self.script.program),
        )
    }

    /// The prompt: the current contact's stage, or `wafl` before a conversation.
    pub fn prompt(&self) -> String {
        let stage = self
            .state()
            .and_then(|s| s.card.as_ref())
            .map(|c| c.stage.clone());
        format!("{}> ", stage.unwrap_or_else(|| "wafl".into()))
    }

    /// True after `:quit`.
    pub fn finished(&self) -> bool {
        self.finished
    }

    fn state(&self) -> Option<&State> {
        self.sim.state(&self.current)
    }

    /// The virtual clock.
    fn now(&self) -> Timestamp {
        self.sim.now()
    }

    fn program(&self) -> &Program {
        &self.script.program
    }

    /// Names for completion.
    pub fn vocabulary(&self) -> Vocabulary {
        let syms = &self.script.symbols;
        let mut names: Vec<String> = syms.stages.keys().cloned().collect();
        names.extend(syms.fields.keys().cloned());
        for d in [
            &syms.teams,
            &syms.templates,
            &syms.webhooks,
            &syms.forms,
            &syms.hours,
        ] {
            names.extend(d.keys().cloned());
        }
        let mut buttons = Vec::new();
        let mut rows = Vec::new();
        // The last bot message's buttons come first: they are what can be tapped now.
        for e in self.last.iter().rev() {
            if let EffectKind::Send { message, .. } = &e.kind {
                match message {
                    engine::OutMessage::Buttons { buttons: b, .. } => buttons.extend(b.clone()),
                    engine::OutMessage::List { rows: r, .. } => rows.extend(r.clone()),
                    _ => {}
                }
            }
        }
        for (_, h) in crate::check::walk::handlers(&self.script.file) {
            crate::check::walk::each_action(&h.body, &mut |a| {
                if let ast::ActionKind::Reply(m) = &a.kind {
                    match &m.kind {
                        ast::MessageKind::Buttons { buttons: b, .. } => {
                            buttons.extend(b.iter().map(|t| t.value.clone()));
                        }
                        ast::MessageKind::List { rows: r, .. } => {
                            rows.extend(r.iter().map(|t| t.value.clone()));
                        }
                        _ => {}
                    }
                }
            });
        }
        let forms = self
            .script
            .program
            .forms
            .iter()
            .map(|(k, f)| (k.clone(), f.inputs.clone()))
            .collect();
        let events = self
            .script
            .program
            .events
            .iter()
            .map(|(k, e)| (k.clone(), e.keys.iter().map(|k| k.name.clone()).collect()))
            .collect();
        Vocabulary {
            names,
            buttons,
            rows,
            forms,
            events,
        }
    }

    /// Handles one input and returns what to show. Never panics on any input.
    pub fn eval_line(&mut self, line: &str) -> String {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            return String::new();
        }
        match input::kind(line) {
            InputKind::Command => match command::parse(trimmed) {
                Ok(cmd) => self.command(cmd),
                Err(e) => format!("error: {e}\n"),
            },
            InputKind::Declaration => self.define(line),
            InputKind::Message => self.inbound(InboundMessage::Text(trimmed.to_string())),
        }
    }

    fn command(&mut self, cmd: Command) -> String {
        match cmd {
            Command::Help(topic) => command::help(topic.as_deref()),
            Command::Say(text) => self.inbound(InboundMessage::Text(text)),
            Command::Tap(t) => self.inbound(InboundMessage::Button(t)),
            Command::Choose(t) => self.inbound(InboundMessage::ListChoice(t)),
            Command::Send(kind) => match media(&kind) {
                Some(kind) => self.inbound(InboundMessage::Media {
                    kind,
                    caption: None,
                }),
                None => format!(
                    "error: unknown message kind `{kind}`; expected one of {}\n",
                    super::front::media_words().join(", ")
                ),
            },
            Command::Submit { form, values } => self.submit(&form, &values),
            Command::Event { name, values } => self.business_event(&name, &values),
            Command::Answer(result) => self.answer(result),
            Command::Contact(c) => self.contact(c),
            Command::Advance(d) => match parse_duration(&d) {
                Some(secs) => self.advance_to(
                    self.now()
                        .checked_add(SignedDuration::from_secs(secs))
                        .unwrap_or(self.now()),
                ),
                None => format!(
                    "error: `{d}` is not a duration; write it as in scripts: `30s`, `10m`, `1h30m`, `2d`\n"
                ),
            },
            Command::Clock(None) => format!(
                "{} ({})\n",
                render::clock(self.now(), self.program()),
                self.program().timezone.iana_name().unwrap_or("UTC")
            ),
            Command::Clock(Some(at)) => self.set_clock(&at),
            Command::Card => match self.state() {
                Some(s) => render::card(s, self.now(), self.program(), &self.session.sources),
                None => format!(
                    "{} has no conversation yet; a message opens one\n",
                    self.current
                ),
            },
            Command::Cards => {
                render::cards(self.sim.states().map(|(_, s)| s), &self.current, self.now())
            }
            Command::Events => self.events(),
            Command::Agent(a) => self.agent(a),
            Command::Why => self.why(),
            Command::Trace(on) => {
                self.trace = on.unwrap_or(!self.trace);
                format!("trace {}\n", if self.trace { "on" } else { "off" })
            }
            Command::Eval(e) => self.eval(&e),
            Command::Decls => self.decls(),
            Command::Reload { keep } => {
                let mut out = self.load();
                if keep {
                    out.push_str("reloaded; conversations kept\n");
                } else {
                    self.reset();
                    out.push_str("reloaded; conversations reset\n");
                }
                out
            }
            Command::Reset => {
                self.reset();
                format!(
                    "conversations forgotten; the clock is back at {}\n",
                    render::clock(self.now(), self.program())
                )
            }
            Command::Quit => {
                self.finished = true;
                String::new()
            }
        }
    }

    fn reset(&mut self) {
        self.current = testrun::DEFAULT_CONTACT.to_string();
        self.start = testrun::start_instant(self.program());
        self.sim = Sim::new(self.start, self.script.hash.clone());
        self.last.clear();
    }

    /// The current contact, created on first use.
    fn contact_mut(&mut self) -> &mut Contact {
        let phone = self.current.clone();
        self.sim.contact_mut(&phone)
    }

    /// Runs one event for one contact and renders what it did.
    fn deliver(&mut self, phone: &str, ev: &Event) -> String {
        self.sim.set_script(self.script.hash.clone());
        let step = self.sim.deliver(&self.script.program, phone, ev);
        self.show(step, ev_is_inbound(ev))
    }

    /// Renders what a step did and keeps its effects for `:why`.
    fn show(&mut self, step: Step, inbound: bool) -> String {
        let mut out = String::new();
        render::effects(
            &mut out,
            &step.effects,
            self.trace,
            &self.script.program,
            &self.session.sources,
            &self.script.file,
        );
        if step.effects.iter().any(|e| {
            matches!(
                e.kind,
                EffectKind::Send { .. } | EffectKind::SendFailed { .. }
            )
        }) || inbound
        {
            self.last = step.effects;
        } else {
            self.last.extend(step.effects);
        }
        out
    }

    /// A person acts on the current card.
    fn agent(&mut self, a: AgentCmd) -> String {
        let Some(card) = self.state().and_then(|s| s.card.as_ref()) else {
            return format!(
                "error: {} has no open conversation for a person to act on\n",
                self.current
            );
        };
        let me = card.agent.clone().unwrap_or_else(|| "agent".into());
        let action = match a {
            AgentCmd::TakeOver => engine::AgentAction::TakeOver { agent: me },
            AgentCmd::Note(text) => engine::AgentAction::Note { agent: me, text },
            AgentCmd::Tag(tag) => engine::AgentAction::Tag { tag },
            AgentCmd::Untag(tag) => engine::AgentAction::Untag { tag },
            AgentCmd::Reply(text) => engine::AgentAction::Reply { agent: me, text },
            AgentCmd::Resolve(reason) => engine::AgentAction::Resolve { reason },
            AgentCmd::Release => engine::AgentAction::Release,
            AgentCmd::Assign(agent) => engine::AgentAction::Reassign {
                agent: Some(agent),
                team: None,
            },
            AgentCmd::Route(team) => engine::AgentAction::Reassign {
                agent: None,
                team: Some(team),
            },
        };
        let phone = self.current.clone();
        let out = self.deliver(&phone, &Event::Agent(action));
        if out.is_empty() {
            "   (nothing happened)\n".into()
        } else {
            out
        }
    }

    /// The card events of the current contact's card (the open one, else the last).
    fn events(&self) -> String {
        let Some(card) = self.state().and_then(|s| s.current_card()) else {
            return format!(
                "{} has no conversation yet; a message opens one\n",
                self.current
            );
        };
        let mine: Vec<_> = self
            .sim
            .events()
            .iter()
            .filter(|e| e.contact == self.current && e.card == card.id)
            .collect();
        render::card_events(&mine, self.program())
    }

    fn inbound(&mut self, message: InboundMessage) -> String {
        self.last_text = match &message {
            InboundMessage::Text(t) => Some(t.clone()),
            _ => None,
        };
        let phone = self.current.clone();
        let mut out = self.deliver(
            &phone,
            &Event::Inbound(Inbound {
                profile_name: None,
                message,
            }),
        );
        if out.is_empty() {
            out.push_str("   (no reply)\n");
        }
        out
    }

    fn submit(&mut self, form: &str, values: &[(String, String)]) -> String {
        if !self.program().forms.contains_key(form) {
            let known: Vec<&str> = self.program().forms.keys().map(String::as_str).collect();
            let mut msg = format!("error: unknown form `{form}`");
            if let Some(s) = crate::diag::did_you_mean(form, known.iter().copied()) {
                let _ = write!(msg, "; did you mean `{s}`?");
            }
            msg.push('\n');
            return msg;
        }
        let map = values
            .iter()
            .map(|(k, v)| (k.clone(), literal_value(v)))
            .collect();
        // The same check the daemon makes of a real submission.
        let today = self.program().timezone.to_datetime(self.now()).date();
        let raw = engine::forms::as_submitted(&map);
        match engine::forms::check(self.program(), form, &raw, today) {
            Ok(values) => self.inbound(InboundMessage::Form {
                form: form.to_string(),
                values,
            }),
            Err(engine::forms::Refused::Invalid(fields)) => {
                let phone = self.current.clone();
                let ev = Event::FormRefused {
                    form: form.to_string(),
                    fields: fields.clone(),
                };
                let mut out = format!(
                    "   !! submission refused: {} break the rules of their fields\n",
                    fields
                        .iter()
                        .map(|f| format!("`{f}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                out.push_str(&self.deliver(&phone, &ev));
                out
            }
            Err(engine::forms::Refused::UnknownForm) => format!("error: unknown form `{form}`\n"),
        }
    }

    /// A business system's event for the current contact, its payload checked as the
    /// daemon's `POST /events` checks it.
    fn business_event(&mut self, name: &str, values: &[(String, String)]) -> String {
        self.events_sent += 1;
        let payload = serde_json::Value::Object(
            values
                .iter()
                .map(|(k, v)| (k.clone(), literal_value(v).to_json()))
                .collect(),
        );
        let id = format!("repl-{}", self.events_sent);
        let today = self.program().timezone.to_datetime(self.now()).date();
        match engine::check_event(self.program(), name, &id, &payload, today) {
            Ok(ev) => {
                let phone = self.current.clone();
                let out = self.deliver(&phone, &Event::Business(ev));
                if out.is_empty() {
                    "   (nothing happened)\n".into()
                } else {
                    out
                }
            }
            Err(e) => format!("error: event refused: {e}\n"),
        }
    }

    /// Delivers the answer of the `call` the current conversation waits for.
    fn answer(&mut self, result: Result<serde_json::Value, String>) -> String {
        let call_id = self
            .state()
            .and_then(|s| s.card.as_ref())
            .and_then(|c| match &c.suspended {
                Some(engine::Suspension::Call { call_id, .. }) => Some(call_id.clone()),
                _ => None,
            });
        let Some(call_id) = call_id else {
            return "error: no webhook call is waiting for an answer\n".into();
        };
        let result = match result {
            Ok(body) => engine::WebhookResult::Ok { body },
            Err(reason) => engine::WebhookResult::Failed { reason },
        };
        let phone = self.current.clone();
        let out = self.deliver(&phone, &Event::WebhookResult { call_id, result });
        if out.is_empty() {
            "   (nothing happened)\n".into()
        } else {
            out
        }
    }

    fn contact(&mut self, c: ContactCmd) -> String {
        match c {
            ContactCmd::Describe => {}
            ContactCmd::Switch(phone) => {
                let known = self.sim.contains(&phone);
                self.current = phone;
                self.contact_mut();
                let mut out = self.contact_view();
                if known {
                    out.insert_str(0, "switched back to ");
                } else {
                    out.insert_str(0, "switched to a new ");
                }
                return out;
            }
            ContactCmd::Name(n) => self.contact_mut().name = Some(n),
            ContactCmd::Tag(t) => {
                self.contact_mut().tags.insert(t);
            }
            ContactCmd::Untag(t) => {
                self.contact_mut().tags.remove(&t);
            }
            ContactCmd::Attr(k, v) => {
                self.contact_mut().attrs.insert(k, v);
            }
            ContactCmd::New => self.contact_mut().returning = false,
            ContactCmd::Returning => self.contact_mut().returning = true,
        }
        self.contact_view()
    }

    /// The current contact as `:contact` shows it.
    fn contact_view(&mut self) -> String {
        self.contact_mut();
        match self.state() {
            Some(s) => render::contact(s),
            None => String::new(),
        }
    }

    /// Moves the clock to `target`, firing every due timer of every contact in order,
    /// each at its own instant, and showing what each did.
    fn advance_to(&mut self, target: Timestamp) -> String {
        let mut out = String::new();
        let program = self.script.program.clone();
        self.sim.set_script(self.script.hash.clone());
        let mut fired = Vec::new();
        self.sim.advance_to(&program, target, |firing, step| {
            fired.push((firing.clone(), step.clone()));
        });
        for (firing, step) in fired {
            let who = if firing.contact == self.current {
                String::new()
            } else {
                format!(" for {}", firing.contact)
            };
            let _ = writeln!(
                out,
                "[{}] timer{who}: {}",
                render::clock(firing.timer.at, &program),
                self.timer_title(&firing.timer, &firing.id)
            );
            let shown = self.show(step, false);
            out.push_str(if shown.is_empty() {
                "   (nothing happened)\n"
            } else {
                &shown
            });
        }
        let _ = writeln!(out, "[{}] now", render::clock(self.now(), &program));
        out
    }

    fn timer_title(&self, timer: &engine::Timer, id: &str) -> String {
        match &timer.target {
            engine::TimerTarget::Handler { handler, .. } => {
                let span = self
                    .program()
                    .handler(*handler)
                    .map(|h| h.span)
                    .unwrap_or_default();
                if span.is_empty() {
                    return id.to_string();
                }
                render::rule_title(
                    &self.session.sources,
                    span,
                    &render::owner(&self.script.file, span),
                )
            }
            engine::TimerTarget::CallTimeout { call_id } => format!("call {call_id} timed out"),
            engine::TimerTarget::AiTimeout { request_id } => {
                format!("ai request {request_id} timed out")
            }
            engine::TimerTarget::Sla { sla, target } => {
                format!("sla {sla} {} is due", target.as_str())
            }
        }
    }

    fn set_clock(&mut self, text: &str) -> String {
        let Some(target) = parse_datetime(text, self.program()) else {
            return format!(
                "error: `{text}` is not a date-time; write `2026-12-01 09:00` or `2026-12-01`\n"
            );
        };
        if target < self.now() {
            return format!(
                "error: the clock only moves forward; it is {} now\n",
                render::clock(self.now(), self.program())
            );
        }
        self.advance_to(target)
    }

    fn why(&self) -> String {
        let reply = self
            .last
            .iter()
            .rev()
            .find(|e| {
                matches!(
                    e.kind,
                    EffectKind::Send { .. } | EffectKind::SendFailed { .. }
                )
            })
            .or_else(|| {
                self.last
                    .iter()
                    .rev()
                    .find(|e| !e.trace.handler_span.is_empty())
            });
        let Some(e) = reply else {
            return "nothing has happened yet: send a message first\n".into();
        };
        let mut out = String::new();
        let what = match &e.kind {
            EffectKind::Send { message, .. } | EffectKind::SendFailed { message, .. } => {
                format!("the reply {message}")
            }
            _ => "the last effect".into(),
        };
        if e.trace.handler_span.is_empty() {
            let _ = writeln!(
                out,
                "{what} came from no rule of the script (in stage `{}`): the engine sent it itself",
                e.trace.stage
            );
            return out;
        }
        let _ = writeln!(
            out,
            "{what} came from {}",
            render::rule_place(
                &self.session.sources,
                e.trace.handler_span,
                &render::owner(&self.script.file, e.trace.handler_span)
            )
        );
        out.push_str(&render::snippet(
            &self.session.sources,
            e.trace.handler_span,
            8,
        ));
        if e.trace.conditions.is_empty() {
            out.push_str("   with no condition to evaluate\n");
        } else {
            out.push_str("   because\n");
            for (c, v) in &e.trace.conditions {
                let _ = writeln!(out, "     {c} = {v}");
            }
        }
        out.push_str(&self.why_intents());
        out
    }

    /// The classifier's view of the last text: the top intents with their scores, the
    /// verdict and the words that decided.
    fn why_intents(&self) -> String {
        let intents = &self.script.program.intents;
        let (Some(text), false) = (&self.last_text, intents.is_empty()) else {
            return String::new();
        };
        let v = intents.explain(text);
        if v.ranking.best().is_none_or(|b| b.score <= 0.0) {
            return format!("   intents: no word of {text:?} is in any example\n");
        }
        let mut out = String::new();
        let _ = writeln!(out, "   intents for {text:?}:");
        for s in v.ranking.scores.iter().take(3) {
            let near = s
                .nearest
                .as_ref()
                .map(|n| format!("  nearest example {n:?}"))
                .unwrap_or_default();
            let _ = writeln!(out, "     {:<14} {:.2}{near}", s.label, s.score);
        }
        match (&v.intent, v.refusal(intents)) {
            (Some(i), _) => {
                let _ = writeln!(
                    out,
                    "   verdict: `{i}` (threshold {:.2}, margin {:.2} over the next)",
                    intents.threshold_of(i),
                    v.ranking.margin()
                );
            }
            (None, Some(why)) => {
                let _ = writeln!(out, "   verdict: no intent: {why}");
            }
            (None, None) => {
                let _ = writeln!(
                    out,
                    "   verdict: no intent: no word of it is in any example"
                );
            }
        }
        let words = v.ranking.deciding_words(3);
        if !words.is_empty() {
            let shown: Vec<String> = words.iter().map(|(w, x)| format!("{w} ({x:.2})")).collect();
            let _ = writeln!(out, "   deciding words: {}", shown.join(", "));
        }
        out
    }

    fn eval(&mut self, text: &str) -> String {
        self.inputs += 1;
        let src = decl::expr_source(text);
        let id = self
            .session
            .sources
            .add(format!("<eval {}>", self.inputs), src.clone());
        let expr = match decl::parse_expr(&self.session.sources, id, &src) {
            Ok(e) => e,
            Err(report) => return report,
        };
        let unknown = decl::unknown_names(&expr, &self.script.symbols);
        if !unknown.is_empty() {
            let names: Vec<String> = unknown.iter().map(|n| format!("`{n}`")).collect();
            let mut msg = format!("error: unknown name {}", names.join(", "));
            if let Some(first) = unknown.first() {
                let candidates = self.script.symbols.names(crate::check::DeclKind::Field);
                if let Some(s) = crate::diag::did_you_mean(first, candidates) {
                    let _ = write!(msg, "; did you mean `{s}`?");
                }
            }
            msg.push('\n');
            return msg;
        }
        let lowered = Lower {
            hours: &self.script.program.hours_ids,
        }
        .expr(&expr);
        let phone = self.current.clone();
        let state = self
            .sim
            .state(&phone)
            .cloned()
            .unwrap_or_else(|| State::new(Contact::new(phone)));
        let v = engine::evaluate(&self.script.program, &state, &lowered, self.now());
        format!("= {}\n", render::quoted(&v))
    }

    fn define(&mut self, text: &str) -> String {
        self.inputs += 1;
        let id = self
            .session
            .sources
            .add(format!("<prompt {}>", self.inputs), text.to_string());
        let d = decl::define(
            &self.session.sources,
            id,
            text,
            &self.script.file,
            &self.script.diagnostics,
        );
        if let Some((file, symbols, diagnostics)) = d.applied {
            self.typed.extend(
                file.items
                    .iter()
                    .filter(|i| i.span().file == id)
                    .map(decl::describe),
            );
            let resources = self.script.resources.clone();
            let hash = compile::bundle::content_hash(&format!("{}\n{text}", self.script.hash));
            self.script = Script::new(file, symbols, diagnostics, resources, hash);
        }
        d.report
    }

    fn decls(&self) -> String {
        let mut out = String::new();
        for item in &self.script.file.items {
            let origin = self
                .session
                .sources
                .get(item.span().file)
                .map(|f| f.name.clone())
                .unwrap_or_default();
            let _ = writeln!(out, "{:<32} {origin}", decl::describe(item));
        }
        if out.is_empty() {
            out.push_str("no declarations yet; type one, e.g. `stage hello { otherwise { reply \"hi\" } }`\n");
        }
        out
    }
}

fn ev_is_inbound(ev: &Event) -> bool {
    matches!(ev, Event::Inbound(_))
}

fn media(kind: &str) -> Option<engine::MediaType> {
    use engine::MediaType as M;
    Some(match kind.trim() {
        "image" => M::Image,
        "video" => M::Video,
        "audio" => M::Audio,
        "document" => M::Document,
        "sticker" => M::Sticker,
        "location" => M::Location,
        "contacts" => M::Contacts,
        _ => return None,
    })
}

/// `1h30m` as seconds, the way scripts write durations.
pub fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut num: i64 = 0;
    let mut digits = false;
    for c in text.chars() {
        if let Some(d) = c.to_digit(10) {
            num = num.checked_mul(10)?.checked_add(i64::from(d))?;
            digits = true;
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        if !digits {
            return None;
        }
        total = total.checked_add(num.checked_mul(unit)?)?;
        num = 0;
        digits = false;
    }
    // Durations beyond a few centuries are not a clock a conversation needs.
    (!digits && total <= 100 * 365 * 86_400).then_some(total)
}

/// `2026-12-01 09:00`, `2026-12-01T09:00` or `2026-12-01` in the program's time zone.
fn parse_datetime(text: &str, program: &Program) -> Option<Timestamp> {
    let t = text.trim().replace('T', " ");
    let (date, time) = t.split_once(' ').unwrap_or((t.as_str(), "00:00"));
    let date: jiff::civil::Date = date.trim().parse().ok()?;
    let (h, m) = time.trim().split_once(':')?;
    let time = jiff::civil::Time::new(h.parse().ok()?, m.parse().ok()?, 0, 0).ok()?;
    program.timezone.to_timestamp(date.to_datetime(time)).ok()
}

/// A form value typed at the prompt: a number, a date, a clock time, `true`/`false`, or
/// else text.
fn literal_value(text: &str) -> Value {
    let t = text.trim();
    if let Ok(n) = t.parse::<f64>()
        && n.is_finite()
    {
        return Value::Num(n);
    }
    if let Ok(d) = t.parse::<jiff::civil::Date>() {
        return Value::Date(d);
    }
    match t {
        "true" | "yes" => return Value::Bool(true),
        "false" | "no" => return Value::Bool(false),
        _ => {}
    }
    if let Some((h, m)) = t.split_once(':')
        && let (Ok(h), Ok(m)) = (h.parse::<u32>(), m.parse::<u32>())
        && h < 24
        && m < 60
    {
        return Value::Clock(h * 60 + m);
    }
    Value::Str(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_scripts() {
        assert_eq!(parse_duration("1h30m"), Some(5400));
        assert_eq!(parse_duration("25h"), Some(90_000));
        assert_eq!(parse_duration("2d"), Some(172_800));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("99999999999999999999w"), None);
    }

    #[test]
    fn literal_values() {
        assert_eq!(literal_value("12"), Value::Num(12.0));
        assert_eq!(literal_value("Morning"), Value::Str("Morning".into()));
        assert_eq!(literal_value("09:30"), Value::Clock(570));
        assert!(matches!(literal_value("2026-12-01"), Value::Date(_)));
    }
}
