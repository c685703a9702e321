//! Stage 3 of the pipeline: a checked syntax tree to what runs and ships — the
//! executable [`Program`], the build bundle and the WhatsApp Flow JSON of forms.
//!
//! Per stage, a handler table in source order and one keyword automaton; regexes
//! compiled; action blocks lowered to a flat instruction list with explicit suspension
//! points (`ask` and `call` wait for the next message or the webhook answer).
//!
//! **Invariant:** compiling never fails and never panics: a name that does not resolve
//! (the checker reported it) is skipped, a regex that does not compile never matches.

pub mod bundle;
pub mod expr;
pub mod fold;
pub mod forms;
pub mod identity;
pub mod intents;
mod lower;
pub mod sla;
pub mod value;

use crate::check::Symbols;
use crate::check::knowledge::Resources;
use crate::syntax::ast::{self, FieldKind, Item};
use crate::syntax::span::Span;
pub use ast::{MediaKind, Priority};
pub use expr::{Expr, Interp, InterpPart, Path};
pub use fold::{KeywordMatcher, fold};
pub use identity::HandlerKey;
use regex::Regex;
pub use sla::{Sla, SlaTarget, SlaTargetSpec};
use std::collections::BTreeMap;
pub use value::Value;

/// The default step budget per event, when the flow header does not set one.
pub const DEFAULT_BUDGET: u32 = 1000;
/// Opt-out words when the flow header does not name any.
pub const DEFAULT_OPTOUT: &[&str] = &["STOP", "SAIR", "PARAR", "BAJA"];
/// Opt-in words when the flow header does not name any.
pub const DEFAULT_OPTIN: &[&str] = &["START", "VOLTAR", "ALTA"];
/// How many answers `ask` accepts before it falls back, when `tries` is not written.
pub const DEFAULT_TRIES: u32 = 3;
/// How long `call` waits for the webhook, when neither the action nor the webhook says.
pub const DEFAULT_CALL_TIMEOUT: i64 = 10;

/// Index of a stage in [`Program::stages`].
pub type StageId = usize;

/// Where a handler lives: the `anywhere` table or a stage's.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum HandlerRef {
    Anywhere(usize),
    Stage(StageId, usize),
    /// The `else` of target `.1` of service level `.0` (indexes into [`Program::slas`]).
    Sla(usize, usize),
}

/// A compiled script.
#[derive(Clone, Debug)]
pub struct Program {
    pub name: String,
    pub timezone: jiff::tz::TimeZone,
    /// The stage a new card enters; `None` only for a script without stages.
    pub start: Option<StageId>,
    pub stages: Vec<Stage>,
    pub stage_ids: BTreeMap<String, StageId>,
    /// Handlers every stage inherits, tried before the stage's own.
    pub anywhere: Vec<Handler>,
    pub anywhere_keywords: KeywordMatcher,
    pub anywhere_index: HandlerIndex,
    /// Every handler by its stable key (what persisted data names handlers by).
    pub handler_keys: BTreeMap<HandlerKey, HandlerRef>,
    /// All instructions; a handler's code starts at [`Handler::entry`].
    pub code: Vec<Instr>,
    pub fields: BTreeMap<String, FieldSpec>,
    pub teams: BTreeMap<String, Team>,
    pub templates: BTreeMap<String, Template>,
    pub webhooks: BTreeMap<String, Webhook>,
    pub forms: BTreeMap<String, Form>,
    /// The events business systems may send, with their payload checks.
    pub events: BTreeMap<String, EventSpec>,
    /// The `migrate` rules, in source order.
    pub migrate: Vec<MigrateRule>,
    pub hours: Vec<Hours>,
    pub hours_ids: BTreeMap<String, usize>,
    /// Folded opt-out and opt-in words; a message equal to one (after folding) counts.
    pub optout: Vec<String>,
    pub optin: Vec<String>,
    /// The longest opt word in bytes: longer messages skip the comparison.
    pub opt_word_len: usize,
    /// Service levels, in source order.
    pub slas: Vec<Sla>,
    /// The template sent instead of a free-form message outside the 24-hour window.
    pub window_template: Option<String>,
    pub budget: u32,
    /// The intent classifier with its threshold and margin.
    pub intents: intents::Intents,
    /// Knowledge bases by name.
    pub knowledge: BTreeMap<String, intents::Knowledge>,
    /// External AI endpoints by name.
    pub ais: BTreeMap<String, intents::AiEndpoint>,
}

#[derive(Clone, Debug)]
pub struct Stage {
    pub name: String,
    pub span: Span,
    pub handlers: Vec<Handler>,
    pub keywords: KeywordMatcher,
    pub index: HandlerIndex,
}

/// Handler positions by kind, so the engine does not scan the whole table per message.
#[derive(Clone, Debug, Default)]
pub struct HandlerIndex {
    /// Handlers that take messages but are not keyword triggers (keyword handlers come
    /// from the automaton), in order.
    pub message: Vec<usize>,
    /// `after ...` handlers, in order.
    pub timers: Vec<usize>,
    /// `on event ...` handlers, in order.
    pub events: Vec<usize>,
}

impl HandlerIndex {
    pub fn new(handlers: &[Handler]) -> HandlerIndex {
        let mut ix = HandlerIndex::default();
        for (i, h) in handlers.iter().enumerate() {
            match h.trigger {
                Trigger::Keyword(_) | Trigger::Enter => {}
                Trigger::Silence(_) | Trigger::InStage(_) => ix.timers.push(i),
                Trigger::Event(_) => ix.events.push(i),
                _ => ix.message.push(i),
            }
        }
        ix
    }
}

#[derive(Clone, Debug)]
pub struct Handler {
    pub trigger: Trigger,
    pub guard: Option<Expr>,
    /// Index of the first instruction in [`Program::code`].
    pub entry: usize,
    /// One past the handler's last instruction (its out-of-line `else` blocks included).
    pub code_end: usize,
    pub span: Span,
    /// The handler's stable name (`identity`), unique in the program.
    pub key: HandlerKey,
    /// A hash of the handler's own compiled code; it changes exactly when that code does.
    pub fingerprint: String,
    /// The `optout` block of an event handler: where the code for a contact who opted out
    /// starts, in [`Program::code`].
    pub optout: Option<usize>,
}

/// A trigger with its words folded and its regex compiled.
#[derive(Clone, Debug)]
pub enum Trigger {
    Enter,
    Message,
    /// Folded keywords, as written order; matching goes through the stage automaton.
    Keyword(Vec<String>),
    Regex(Option<Regex>),
    /// Folded button titles.
    Button(Vec<String>),
    /// Folded list-row titles.
    Choice(Vec<String>),
    Media(MediaKind),
    FormSubmitted(String),
    /// The intents, as written; matching goes through the classifier's verdict.
    Intent(Vec<String>),
    /// `on event NAME`
    Event(String),
    When,
    Silence(i64),
    InStage(i64),
    Otherwise,
    /// The `else` of a service-level target: runs when the target is breached.
    Breach(SlaTarget),
}

impl Trigger {
    /// Timer triggers are armed, not matched against messages.
    pub fn is_timer(&self) -> bool {
        matches!(self, Trigger::Silence(_) | Trigger::InStage(_))
    }
}

/// One instruction. Control flow is explicit (`JumpUnless`, `Jump`, `End`); `Ask` and
/// `Call` are the suspension points.
#[derive(Clone, Debug)]
pub enum Instr {
    Send(Outgoing),
    /// Sends the prompt and waits for the next message; the answer resumes at the next
    /// instruction. `fallback` is where the code goes after the last failed try.
    Ask {
        field: String,
        prompt: Interp,
        tries: u32,
        fallback: Option<usize>,
    },
    Set {
        field: String,
        value: Expr,
    },
    Tag(Vec<String>),
    Untag(Vec<String>),
    Route {
        team: String,
        priority: Option<Priority>,
    },
    Assign(Interp),
    Priority(Priority),
    Handoff(Option<String>),
    Post {
        webhook: String,
        body: Vec<(String, Expr)>,
    },
    /// Calls a webhook and waits for its answer; keys named in `save` set those fields.
    Call {
        webhook: String,
        body: Vec<(String, Expr)>,
        save: Vec<String>,
        timeout: i64,
        fallback: Option<usize>,
    },
    /// Quotes the best-matching section of a knowledge base; `fallback` runs when none
    /// clears the threshold (or, with `ai`, when the model's pick is not a section).
    Answer {
        knowledge: String,
        threshold: f32,
        ai: Option<String>,
        fallback: Option<usize>,
    },
    /// Asks an external model to pick one of `into` for the message and waits; the pick
    /// runs that intent's handler. `fallback` runs on failure or an answer outside `into`.
    Classify {
        ai: String,
        instructions: Option<String>,
        into: Vec<String>,
        fallback: Option<usize>,
    },
    Goto(StageId),
    Close(Option<Interp>),
    Ignore,
    /// Evaluates the condition and jumps to `target` when it does not hold.
    JumpUnless {
        cond: Expr,
        target: usize,
    },
    Jump(usize),
    End,
}

/// A message to build at run time.
#[derive(Clone, Debug)]
pub enum Outgoing {
    Text(Interp),
    Buttons {
        body: Interp,
        buttons: Vec<String>,
    },
    List {
        body: Interp,
        button: String,
        rows: Vec<String>,
    },
    Template {
        name: String,
        args: Vec<Expr>,
    },
    Form {
        form: String,
        body: Interp,
    },
}

/// A declared field with its validation.
#[derive(Clone, Debug)]
pub struct FieldSpec {
    pub name: String,
    pub kind: FieldCheck,
    pub invalid: Option<Interp>,
}

#[derive(Clone, Debug)]
pub enum FieldCheck {
    Text {
        pattern: Option<Regex>,
        length: Option<(f64, f64)>,
    },
    Number {
        range: Option<(f64, f64)>,
    },
    Email,
    Phone,
    Date {
        after: Option<DateBound>,
        before: Option<DateBound>,
    },
    /// The choices as written.
    Choice(Vec<String>),
    YesNo,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DateBound {
    Today,
    Date(jiff::civil::Date),
}

#[derive(Clone, Debug)]
pub struct Team {
    pub name: String,
    pub agents: Vec<String>,
    pub hours: Option<usize>,
}

#[derive(Clone, Debug)]
pub struct Template {
    pub name: String,
    pub wa_name: String,
    pub lang: String,
    pub params: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Webhook {
    pub name: String,
    pub url: String,
    pub secret_env: Option<String>,
    pub attempts: u32,
    pub backoff: i64,
    pub timeout: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct Form {
    pub name: String,
    pub title: String,
    /// Every input name, in order.
    pub inputs: Vec<String>,
    /// The inputs marked `optional`: a submission may leave them out.
    pub optional: Vec<String>,
    /// The Flow JSON screen ids, in order; the first is where the form opens.
    pub screens: Vec<String>,
    /// `data WEBHOOK [timeout D]`: the live-data source of the Flow data endpoint.
    pub data: Option<FormDataSource>,
    /// Per screen, the data it shows without the webhook (choice options), by screen index.
    pub screen_data: Vec<serde_json::Value>,
}

/// A declared event: what its payload must hold.
#[derive(Clone, Debug)]
pub struct EventSpec {
    pub name: String,
    /// The payload keys in declaration order.
    pub keys: Vec<EventKeySpec>,
}

/// One key of an event's payload, checked like a field's answer.
#[derive(Clone, Debug)]
pub struct EventKeySpec {
    pub name: String,
    pub check: FieldCheck,
    pub optional: bool,
}

/// A `migrate` rule: which open cards it covers and what it does with them.
#[derive(Clone, Debug)]
pub struct MigrateRule {
    /// The old stage it is for; `None` for `otherwise`.
    pub stage: Option<String>,
    pub action: MigrateAction,
    /// Where the rule is written, for reports.
    pub span: Span,
}

/// What a `migrate` rule does with a card.
#[derive(Clone, Debug)]
pub enum MigrateAction {
    /// Move the card to this stage of the new revision.
    Goto(String),
    /// Let the card finish on its old revision.
    Keep,
    /// Close the card, sending the template first when there is one.
    Close {
        reason: Option<Interp>,
        template: Option<(String, Vec<Expr>)>,
    },
}

/// Where a form's screens get live data, and how long to wait for it.
#[derive(Clone, Debug, PartialEq)]
pub struct FormDataSource {
    pub webhook: String,
    pub timeout_ms: Option<u64>,
}

/// Business hours in a time zone: weekly ranges in minutes after midnight (an end before
/// the start crosses midnight) and closed dates.
#[derive(Clone, Debug)]
pub struct Hours {
    pub name: String,
    pub timezone: jiff::tz::TimeZone,
    /// `(days, from, to)`: `days[0]` is Monday.
    pub rules: Vec<([bool; 7], u32, u32)>,
    pub closed: Vec<jiff::civil::Date>,
}

impl Program {
    pub fn stage(&self, id: StageId) -> Option<&Stage> {
        self.stages.get(id)
    }

    pub fn handler(&self, r: HandlerRef) -> Option<&Handler> {
        match r {
            HandlerRef::Anywhere(i) => self.anywhere.get(i),
            HandlerRef::Stage(s, i) => self.stages.get(s).and_then(|st| st.handlers.get(i)),
            HandlerRef::Sla(s, t) => self
                .slas
                .get(s)
                .and_then(|sla| sla.targets.get(t))
                .and_then(|t| t.breach.as_ref()),
        }
    }

    /// The handler with this stable key, if the program has one.
    pub fn handler_by_key(&self, key: &HandlerKey) -> Option<(HandlerRef, &Handler)> {
        let r = *self.handler_keys.get(key)?;
        Some((r, self.handler(r)?))
    }

    /// Every handler with where it lives, `anywhere` first, then stage by stage.
    pub fn handlers(&self) -> impl Iterator<Item = (HandlerRef, &Handler)> {
        let anywhere = self
            .anywhere
            .iter()
            .enumerate()
            .map(|(i, h)| (HandlerRef::Anywhere(i), h));
        let staged = self.stages.iter().enumerate().flat_map(|(s, st)| {
            st.handlers
                .iter()
                .enumerate()
                .map(move |(i, h)| (HandlerRef::Stage(s, i), h))
        });
        let breaches = self.slas.iter().enumerate().flat_map(|(s, sla)| {
            sla.targets
                .iter()
                .enumerate()
                .filter_map(move |(t, target)| {
                    Some((HandlerRef::Sla(s, t), target.breach.as_ref()?))
                })
        });
        anywhere.chain(staged).chain(breaches)
    }
}

/// Compiles a checked file. Names that do not resolve are skipped.
///
/// Declarations are read from the tree itself, first one of each name winning, so the
/// result is the same whether or not the checker accepted the file; `syms` is the
/// checker's table for the same file and settles the start stage.
pub fn compile(file: &ast::File, syms: &Symbols) -> Program {
    compile_with(file, syms, &Resources::default())
}

/// Compiles a checked file with the contents of the files it refers to (knowledge bases),
/// which the front read.
pub fn compile_with(file: &ast::File, syms: &Symbols, res: &Resources) -> Program {
    let mut p = Program {
        name: String::new(),
        timezone: jiff::tz::TimeZone::UTC,
        start: None,
        stages: Vec::new(),
        stage_ids: BTreeMap::new(),
        anywhere: Vec::new(),
        anywhere_keywords: KeywordMatcher::default(),
        anywhere_index: HandlerIndex::default(),
        handler_keys: BTreeMap::new(),
        code: Vec::new(),
        fields: BTreeMap::new(),
        teams: BTreeMap::new(),
        templates: BTreeMap::new(),
        webhooks: BTreeMap::new(),
        forms: BTreeMap::new(),
        events: BTreeMap::new(),
        migrate: Vec::new(),
        hours: Vec::new(),
        hours_ids: BTreeMap::new(),
        optout: DEFAULT_OPTOUT
            .iter()
            .map(|w| fold::fold_answer(w))
            .collect(),
        optin: DEFAULT_OPTIN.iter().map(|w| fold::fold_answer(w)).collect(),
        slas: Vec::new(),
        window_template: None,
        budget: DEFAULT_BUDGET,
        opt_word_len: 0,
        intents: intents::intents(file),
        knowledge: intents::knowledge(file, res),
        ais: intents::ais(file),
    };
    // Declarations first: stages get their ids before any `goto` is lowered.
    let mut start_name = None;
    let mut flow_seen = false;
    for item in &file.items {
        match item {
            Item::Flow(f) if !flow_seen => {
                flow_seen = true;
                p.name = f.name.value.clone();
                for s in &f.settings {
                    match &s.kind {
                        ast::FlowSettingKind::Timezone(tz) => {
                            if let Ok(tz) = jiff::tz::TimeZone::get(&tz.value) {
                                p.timezone = tz;
                            }
                        }
                        ast::FlowSettingKind::Start(id) => start_name = Some(id.name.clone()),
                        ast::FlowSettingKind::OptOut(ws) => {
                            p.optout = ws.iter().map(|w| fold::fold_answer(&w.value)).collect()
                        }
                        ast::FlowSettingKind::OptIn(ws) => {
                            p.optin = ws.iter().map(|w| fold::fold_answer(&w.value)).collect()
                        }
                        ast::FlowSettingKind::WindowTemplate(id) => {
                            p.window_template = Some(id.name.clone())
                        }
                        ast::FlowSettingKind::Budget(n) => {
                            if n.value.is_finite() && n.value >= 1.0 {
                                p.budget = n.value.min(1_000_000.0) as u32;
                            }
                        }
                        // Read by `intents::intents`.
                        ast::FlowSettingKind::Intents { .. } => {}
                    }
                }
            }
            Item::Stage(s) if !p.stage_ids.contains_key(&s.name.name) => {
                p.stage_ids.insert(s.name.name.clone(), p.stages.len());
                p.stages.push(Stage {
                    name: s.name.name.clone(),
                    span: s.span,
                    handlers: Vec::new(),
                    keywords: KeywordMatcher::default(),
                    index: HandlerIndex::default(),
                });
            }
            _ => {}
        }
    }
    // Hours may use the flow's zone, so they come after the header.
    for item in &file.items {
        if let Item::Hours(h) = item
            && !p.hours_ids.contains_key(&h.name.name)
        {
            let tz = h
                .timezone
                .as_ref()
                .and_then(|t| jiff::tz::TimeZone::get(&t.value).ok())
                .unwrap_or_else(|| p.timezone.clone());
            p.hours_ids.insert(h.name.name.clone(), p.hours.len());
            p.hours.push(Hours {
                name: h.name.name.clone(),
                timezone: tz,
                rules: h.rules.iter().filter_map(hours_rule).collect(),
                closed: h
                    .closed
                    .iter()
                    .filter_map(|d| match expr::date_value(d) {
                        Value::Date(d) => Some(d),
                        _ => None,
                    })
                    .collect(),
            });
        }
    }
    p.opt_word_len = p
        .optout
        .iter()
        .chain(&p.optin)
        .map(String::len)
        .max()
        .unwrap_or(0);
    p.start = syms
        .start_stage(file)
        .and_then(|n| p.stage_ids.get(n).copied())
        .or(start_name.and_then(|n| p.stage_ids.get(&n).copied()))
        .or(if p.stages.is_empty() { None } else { Some(0) });

    let hours_ids = p.hours_ids.clone();
    let lower = expr::Lower { hours: &hours_ids };
    for item in &file.items {
        match item {
            Item::Field(f) => {
                p.fields
                    .entry(f.name.name.clone())
                    .or_insert_with(|| FieldSpec {
                        name: f.name.name.clone(),
                        kind: field_check(&f.ty.kind),
                        invalid: f.invalid.as_ref().map(|t| lower.text(t)),
                    });
            }
            Item::Team(t) => {
                p.teams.entry(t.name.name.clone()).or_insert_with(|| Team {
                    name: t.name.name.clone(),
                    agents: t.agents.iter().map(|a| a.value.clone()).collect(),
                    hours: t
                        .hours
                        .as_ref()
                        .and_then(|h| hours_ids.get(&h.name).copied()),
                });
            }
            Item::Template(t) => {
                p.templates
                    .entry(t.name.name.clone())
                    .or_insert_with(|| Template {
                        name: t.name.name.clone(),
                        wa_name: t.wa_name.value.clone(),
                        lang: t.lang.value.clone(),
                        params: t.params.iter().map(|i| i.name.clone()).collect(),
                    });
            }
            Item::Webhook(w) => {
                p.webhooks
                    .entry(w.name.name.clone())
                    .or_insert_with(|| Webhook {
                        name: w.name.name.clone(),
                        url: w.url.value.clone(),
                        secret_env: w.secret.as_ref().map(|s| s.var.value.clone()),
                        attempts: w
                            .retry
                            .as_ref()
                            .map(|r| r.attempts.value.clamp(1.0, 100.0) as u32)
                            .unwrap_or(1),
                        backoff: w
                            .retry
                            .as_ref()
                            .and_then(|r| r.backoff)
                            .map(|d| secs(d.seconds))
                            .unwrap_or(30),
                        timeout: w.timeout.map(|d| secs(d.seconds)),
                    });
            }
            Item::Form(f) => {
                let mut inputs = Vec::new();
                let mut optional = Vec::new();
                for screen in &f.screens {
                    for input in &screen.inputs {
                        inputs.push(input.name.name.clone());
                        if input.optional {
                            optional.push(input.name.name.clone());
                        }
                        if let Some(ty) = &input.ty {
                            p.fields
                                .entry(input.name.name.clone())
                                .or_insert_with(|| FieldSpec {
                                    name: input.name.name.clone(),
                                    kind: field_check(&ty.kind),
                                    invalid: None,
                                });
                        }
                    }
                }
                p.forms.entry(f.name.name.clone()).or_insert_with(|| Form {
                    name: f.name.name.clone(),
                    title: f.title.value.clone(),
                    inputs,
                    optional,
                    screens: crate::check::flows::screen_ids(f),
                    screen_data: forms::static_screen_data(file, syms, f),
                    data: f.data.as_ref().map(|d| FormDataSource {
                        webhook: d.webhook.name.clone(),
                        timeout_ms: d.timeout.map(|t| t.seconds.saturating_mul(1000)),
                    }),
                });
            }
            Item::Event(e) => {
                p.events
                    .entry(e.name.name.clone())
                    .or_insert_with(|| EventSpec {
                        name: e.name.name.clone(),
                        keys: e
                            .keys
                            .iter()
                            .map(|k| EventKeySpec {
                                name: k.name.name.clone(),
                                check: field_check(&k.ty.kind),
                                optional: k.optional,
                            })
                            .collect(),
                    });
            }
            Item::Migrate(m) if p.migrate.is_empty() => {
                p.migrate = m
                    .rules
                    .iter()
                    .map(|r| MigrateRule {
                        stage: r.stage.as_ref().map(|s| s.name.clone()),
                        span: r.span,
                        action: match &r.action {
                            ast::MigrateAction::Goto(s) => MigrateAction::Goto(s.name.clone()),
                            ast::MigrateAction::Keep => MigrateAction::Keep,
                            ast::MigrateAction::Close { reason, template } => {
                                MigrateAction::Close {
                                    reason: reason.as_ref().map(|t| lower.text(t)),
                                    template: template.as_ref().and_then(|m| match &m.kind {
                                        ast::MessageKind::Template { name, args } => Some((
                                            name.name.clone(),
                                            args.iter().map(|a| lower.expr(a)).collect(),
                                        )),
                                        _ => None,
                                    }),
                                }
                            }
                        },
                    })
                    .collect();
            }
            _ => {}
        }
    }

    // Handlers and their code.
    let mut lw = lower::Lowerer {
        code: Vec::new(),
        lower: &lower,
        stage_ids: &p.stage_ids,
    };
    let mut anywhere = Vec::new();
    let mut stage_handlers: Vec<Vec<Handler>> = vec![Vec::new(); p.stages.len()];
    let mut seen_stage = vec![false; p.stages.len()];
    for item in &file.items {
        match item {
            Item::Anywhere(a) => {
                for h in &a.handlers {
                    anywhere.push(lw.handler(h));
                }
            }
            Item::Stage(s) => {
                let Some(&id) = p.stage_ids.get(&s.name.name) else {
                    continue;
                };
                // A duplicate stage (reported by the checker) is skipped.
                if seen_stage.get(id).copied().unwrap_or(true) {
                    continue;
                }
                if let Some(flag) = seen_stage.get_mut(id) {
                    *flag = true;
                }
                let hs: Vec<Handler> = s.handlers.iter().map(|h| lw.handler(h)).collect();
                if let Some(slot) = stage_handlers.get_mut(id) {
                    *slot = hs;
                }
            }
            _ => {}
        }
    }
    p.slas = sla::lower(file, &mut lw, &hours_ids);
    p.code = lw.code;
    p.anywhere_keywords = keyword_matcher(&anywhere);
    p.anywhere_index = HandlerIndex::new(&anywhere);
    p.anywhere = anywhere;
    for (stage, hs) in p.stages.iter_mut().zip(stage_handlers) {
        stage.keywords = keyword_matcher(&hs);
        stage.index = HandlerIndex::new(&hs);
        stage.handlers = hs;
    }
    name_handlers(&mut p);
    p
}

/// Gives every handler its stable key and fingerprint, and indexes them by key.
fn name_handlers(p: &mut Program) {
    let mut anywhere = std::mem::take(&mut p.anywhere);
    identity::assign_keys(p, None, &mut anywhere);
    for h in &mut anywhere {
        h.fingerprint = identity::fingerprint(p, h);
    }
    p.anywhere = anywhere;
    sla::name_breaches(p);
    for sid in 0..p.stages.len() {
        let Some(stage) = p.stages.get_mut(sid) else {
            continue;
        };
        let name = stage.name.clone();
        let mut hs = std::mem::take(&mut stage.handlers);
        identity::assign_keys(p, Some(&name), &mut hs);
        for h in &mut hs {
            h.fingerprint = identity::fingerprint(p, h);
        }
        if let Some(stage) = p.stages.get_mut(sid) {
            stage.handlers = hs;
        }
    }
    let keys: Vec<(HandlerKey, HandlerRef)> =
        p.handlers().map(|(r, h)| (h.key.clone(), r)).collect();
    p.handler_keys = keys.into_iter().collect();
}

pub(crate) fn secs(s: u64) -> i64 {
    i64::try_from(s).unwrap_or(i64::MAX)
}

fn keyword_matcher(handlers: &[Handler]) -> KeywordMatcher {
    KeywordMatcher::new(handlers.iter().enumerate().flat_map(|(i, h)| {
        let kws: &[String] = match &h.trigger {
            Trigger::Keyword(k) => k,
            _ => &[],
        };
        kws.iter().map(move |k| (k.as_str(), i))
    }))
}

fn hours_rule(r: &ast::HoursRule) -> Option<([bool; 7], u32, u32)> {
    let mut days = [false; 7];
    for d in &r.days {
        let from = d.from as usize;
        let to = d.to.map_or(from, |t| t as usize);
        // `fri-mon` wraps around the week.
        let mut i = from;
        for _ in 0..7 {
            if let Some(slot) = days.get_mut(i) {
                *slot = true;
            }
            if i == to {
                break;
            }
            i = (i + 1) % 7;
        }
    }
    let from = r.from.hour.checked_mul(60)?.checked_add(r.from.minute)?;
    let to = r.to.hour.checked_mul(60)?.checked_add(r.to.minute)?;
    if from > 24 * 60 || to > 24 * 60 {
        return None;
    }
    Some((days, from, to))
}

fn field_check(kind: &FieldKind) -> FieldCheck {
    let bound = |b: &ast::DateBound| match b {
        ast::DateBound::Today(_) => Some(DateBound::Today),
        ast::DateBound::Date(d) => match expr::date_value(d) {
            Value::Date(d) => Some(DateBound::Date(d)),
            _ => None,
        },
    };
    match kind {
        FieldKind::Text { pattern, length } => FieldCheck::Text {
            pattern: pattern.as_ref().and_then(|r| Regex::new(&r.source).ok()),
            length: length.map(|(a, b)| (a.value, b.value)),
        },
        FieldKind::Number { range } => FieldCheck::Number {
            range: range.map(|(a, b)| (a.value, b.value)),
        },
        FieldKind::Email => FieldCheck::Email,
        FieldKind::Phone => FieldCheck::Phone,
        FieldKind::Date { after, before } => FieldCheck::Date {
            after: after.as_ref().and_then(bound),
            before: before.as_ref().and_then(bound),
        },
        FieldKind::Choice(cs) => FieldCheck::Choice(cs.iter().map(|c| c.value.clone()).collect()),
        FieldKind::YesNo => FieldCheck::YesNo,
    }
}
