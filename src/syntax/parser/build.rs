//! Turns pest pairs into the AST: spans shifted by the offset of the piece that was
//! parsed, strings unescaped and split at interpolations, literals converted with
//! checked arithmetic, and expressions ordered by precedence.

use super::scan::{MAX_NESTING, max_depth};
use super::{Ctx, Rule, WaflParser};
use crate::diag::{Diagnostic, codes};
use crate::syntax::ast::*;
use crate::syntax::span::Span;
use crate::syntax::vocab;
use pest::Parser as _;
use pest::iterators::Pair;

/// How tall an expression tree may grow (long operator chains, prefix runs). Taller
/// trees are refused so that walking or dropping them can never exhaust the stack.
const MAX_EXPR_HEIGHT: u32 = 256;

/// The construct was dropped; a diagnostic has been recorded.
#[derive(Debug)]
pub(super) struct Fail;

pub(super) type R<T> = Result<T, Fail>;

/// Builds AST nodes from pairs of one piece of text that starts at `base` in the file.
pub(super) struct Builder<'c, 's> {
    pub cx: &'c mut Ctx<'s>,
    pub base: usize,
    /// Blocks entered so far (`if` chains and `else ACTION` nest without braces).
    depth: usize,
}

/// The children of a pair, without punctuation.
pub(super) fn kids(p: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    p.into_inner().filter(|k| {
        !matches!(
            k.as_rule(),
            Rule::lbrace
                | Rule::rbrace
                | Rule::lparen
                | Rule::rparen
                | Rule::lbrack
                | Rule::rbrack
                | Rule::comma
                | Rule::colon
                | Rule::semi
                | Rule::assign_op
                | Rule::dash
                | Rule::EOI
        )
    })
}

/// One element of an expression before precedence is applied.
enum ExprTok {
    Prefix(UnOp, Span),
    Atom(Expr, u32),
    Postfix(Postfix, Span),
    Infix(BinOp, Span),
}

enum Postfix {
    HasTag { tag: Text, negated: bool },
    IsSet { negated: bool },
    Matches(RegexLit),
}

impl<'c, 's> Builder<'c, 's> {
    pub(super) fn new(cx: &'c mut Ctx<'s>, base: usize) -> Self {
        Builder { cx, base, depth: 0 }
    }

    pub(super) fn span(&self, p: &Pair<'_, Rule>) -> Span {
        let s = p.as_span();
        Span::new(self.cx.file, self.base + s.start(), self.base + s.end())
    }

    /// A pair without the child the grammar promises: a parser bug, reported rather than
    /// panicking so that the rest of the file still gets checked.
    pub(super) fn shape(&mut self, span: Span) -> Fail {
        self.cx.diags.push(
            Diagnostic::new(
                codes::SYNTAX,
                "this construct could not be read",
                span,
                "not understood",
            )
            .with_note("the parser accepted this text but could not build a tree from it"),
        );
        Fail
    }

    pub(super) fn need<T>(&mut self, v: Option<T>, span: Span) -> R<T> {
        match v {
            Some(v) => Ok(v),
            None => Err(self.shape(span)),
        }
    }

    pub(super) fn ident(&self, p: &Pair<'_, Rule>) -> Ident {
        Ident {
            name: p.as_str().to_string(),
            span: self.span(p),
        }
    }

    // -----------------------------------------------------------------------------------
    // Items
    // -----------------------------------------------------------------------------------

    /// Builds the item inside an `item_entry` pair.
    pub(super) fn item_entry(&mut self, entry: Pair<'_, Rule>) -> R<Item> {
        let span = self.span(&entry);
        let item = kids(entry).next();
        let item = self.need(item, span)?;
        self.item(item)
    }

    fn item(&mut self, p: Pair<'_, Rule>) -> R<Item> {
        let span = self.span(&p);
        Ok(match p.as_rule() {
            Rule::flow_decl => Item::Flow(self.flow(p)?),
            Rule::hours_decl => Item::Hours(self.hours(p)?),
            Rule::team_decl => Item::Team(self.team(p)?),
            Rule::field_decl => Item::Field(self.field(p)?),
            Rule::template_decl => Item::Template(self.template(p)?),
            Rule::webhook_decl => Item::Webhook(self.webhook(p)?),
            Rule::form_decl => Item::Form(self.form(p)?),
            Rule::intent_decl => Item::Intent(self.intent(p)?),
            Rule::knowledge_decl => {
                let name = self.first_name(p.clone())?;
                let path = self.first_text(p)?;
                Item::Knowledge(KnowledgeDecl { name, path, span })
            }
            Rule::ai_decl => Item::Ai(self.ai(p)?),
            Rule::event_decl => Item::Event(self.event(p)?),
            Rule::migrate_decl => Item::Migrate(self.migrate(p)?),
            Rule::sla_decl => Item::Sla(self.sla(p)?),
            Rule::stage_decl => {
                let mut name = None;
                let mut handlers = Vec::new();
                let mut last_ok = false;
                for k in kids(p) {
                    match k.as_rule() {
                        Rule::stage_name => name = Some(self.ident(&k)),
                        Rule::handler => match self.handler(k) {
                            Ok(h) => {
                                handlers.push(h);
                                last_ok = true;
                            }
                            Err(_) => last_ok = false,
                        },
                        Rule::optout_clause if last_ok => self.attach_optout(&mut handlers, k),
                        _ => {}
                    }
                }
                let name = self.need(name, span)?;
                Item::Stage(StageDecl {
                    name,
                    handlers,
                    span,
                })
            }
            Rule::anywhere_decl => {
                let mut handlers = Vec::new();
                let mut last_ok = false;
                for k in kids(p) {
                    match k.as_rule() {
                        Rule::handler => match self.handler(k) {
                            Ok(h) => {
                                handlers.push(h);
                                last_ok = true;
                            }
                            Err(_) => last_ok = false,
                        },
                        Rule::optout_clause if last_ok => self.attach_optout(&mut handlers, k),
                        _ => {}
                    }
                }
                Item::Anywhere(AnywhereDecl { handlers, span })
            }
            Rule::test_decl => {
                let mut name = None;
                let mut steps = Vec::new();
                for k in kids(p) {
                    match k.as_rule() {
                        Rule::string => name = Some(self.text(k)),
                        Rule::test_step => {
                            if let Ok(s) = self.step(k) {
                                steps.push(s);
                            }
                        }
                        _ => {}
                    }
                }
                let name = self.need(name, span)?;
                Item::Test(TestDecl { name, steps, span })
            }
            _ => return Err(self.shape(span)),
        })
    }

    fn flow(&mut self, p: Pair<'_, Rule>) -> R<FlowDecl> {
        let span = self.span(&p);
        let mut name = None;
        let mut settings = Vec::new();
        for k in kids(p) {
            let sspan = self.span(&k);
            let kind = match k.as_rule() {
                Rule::string => {
                    name = Some(self.text(k));
                    continue;
                }
                Rule::set_timezone => FlowSettingKind::Timezone(self.first_text(k)?),
                Rule::set_start => FlowSettingKind::Start(self.first_name(k)?),
                Rule::set_optout => FlowSettingKind::OptOut(self.first_list(k)?),
                Rule::set_optin => FlowSettingKind::OptIn(self.first_list(k)?),
                Rule::set_window => FlowSettingKind::WindowTemplate(self.first_name(k)?),
                Rule::set_intents => {
                    let (mut threshold, mut margin) = (None, None);
                    for s in kids(k) {
                        let n = kids(s.clone()).find(|n| n.as_rule() == Rule::number);
                        let n = n.map(|n| self.number(&n));
                        match s.as_rule() {
                            Rule::intents_threshold => threshold = n,
                            Rule::intents_margin => margin = n,
                            _ => {}
                        }
                    }
                    FlowSettingKind::Intents { threshold, margin }
                }
                Rule::set_budget => {
                    let n = kids(k).find(|n| n.as_rule() == Rule::number);
                    let n = self.need(n, sspan)?;
                    FlowSettingKind::Budget(self.number(&n))
                }
                _ => continue,
            };
            settings.push(FlowSetting { kind, span: sspan });
        }
        let name = self.need(name, span)?;
        Ok(FlowDecl {
            name,
            settings,
            span,
        })
    }

    fn hours(&mut self, p: Pair<'_, Rule>) -> R<HoursDecl> {
        let span = self.span(&p);
        let mut name = None;
        let mut timezone = None;
        let mut rules = Vec::new();
        let mut closed = Vec::new();
        for k in kids(p) {
            match k.as_rule() {
                Rule::hours_name => name = Some(self.ident(&k)),
                Rule::hours_timezone => timezone = Some(self.first_text(k)?),
                Rule::hours_closed => {
                    for d in kids(k) {
                        if d.as_rule() == Rule::date {
                            closed.push(self.date(&d));
                        }
                    }
                }
                Rule::hours_rule => {
                    let rspan = self.span(&k);
                    let mut days = Vec::new();
                    let mut clocks = Vec::new();
                    for r in kids(k) {
                        match r.as_rule() {
                            Rule::day_spec => {
                                // The span runs from the first to the last weekday: a
                                // non-atomic rule's own span would include the space
                                // skipped before a missing `-weekday`.
                                let inner: Vec<_> = kids(r.clone()).collect();
                                let dspan = match (inner.first(), inner.last()) {
                                    (Some(a), Some(b)) => self.span(a).to(self.span(b)),
                                    _ => self.span(&r),
                                };
                                let mut ws = inner.iter().map(|w| weekday(w.as_str()));
                                let from = ws.next().flatten();
                                let to = ws.next().flatten();
                                let from = self.need(from, dspan)?;
                                days.push(DaySpec {
                                    from,
                                    to,
                                    span: dspan,
                                });
                            }
                            Rule::clock => clocks.push(self.clock(&r)),
                            _ => {}
                        }
                    }
                    let mut clocks = clocks.into_iter();
                    let from = clocks.next();
                    let to = clocks.next();
                    let from = self.need(from, rspan)?;
                    let to = self.need(to, rspan)?;
                    rules.push(HoursRule {
                        days,
                        from,
                        to,
                        span: rspan,
                    });
                }
                _ => {}
            }
        }
        let name = self.need(name, span)?;
        Ok(HoursDecl {
            name,
            timezone,
            rules,
            closed,
            span,
        })
    }

    fn team(&mut self, p: Pair<'_, Rule>) -> R<TeamDecl> {
        let span = self.span(&p);
        let mut name = None;
        let mut agents = Vec::new();
        let mut hours = None;
        for k in kids(p) {
            match k.as_rule() {
                Rule::team_name => name = Some(self.ident(&k)),
                Rule::team_agents => agents.extend(self.first_list(k)?),
                Rule::team_hours => hours = Some(self.first_name(k)?),
                _ => {}
            }
        }
        let name = self.need(name, span)?;
        Ok(TeamDecl {
            name,
            agents,
            hours,
            span,
        })
    }

    fn field(&mut self, p: Pair<'_, Rule>) -> R<FieldDecl> {
        let span = self.span(&p);
        let mut name = None;
        let mut ty = None;
        let mut invalid = None;
        for k in kids(p) {
            match k.as_rule() {
                Rule::field_name => name = Some(self.ident(&k)),
                Rule::field_type => ty = Some(self.field_type(k)?.0),
                Rule::field_invalid => invalid = Some(self.first_text(k)?),
                _ => {}
            }
        }
        let name = self.need(name, span)?;
        let ty = self.need(ty, span)?;
        Ok(FieldDecl {
            name,
            ty,
            invalid,
            span,
        })
    }

    /// A `field_type` or `input_type` pair: the type and, for form inputs, the label.
    fn field_type(&mut self, p: Pair<'_, Rule>) -> R<(FieldType, Option<Text>)> {
        let span = self.span(&p);
        let inner = kids(p).next();
        let inner = self.need(inner, span)?;
        let rule = inner.as_rule();
        let mut label = None;
        let mut pattern = None;
        let mut range = None;
        let mut after = None;
        let mut before = None;
        let mut choices = Vec::new();
        for k in kids(inner) {
            match k.as_rule() {
                Rule::input_label => label = Some(self.first_text(k)?),
                Rule::text_matching => {
                    let r = kids(k).find(|r| r.as_rule() == Rule::regex);
                    let r = self.need(r, span)?;
                    pattern = Some(self.regex(&r));
                }
                Rule::text_length | Rule::num_between => {
                    let ns: Vec<NumLit> = kids(k)
                        .filter(|n| n.as_rule() == Rule::number)
                        .map(|n| self.number(&n))
                        .collect();
                    if let [a, b] = ns[..] {
                        range = Some((a, b));
                    }
                }
                Rule::kw_past => before = Some(DateBound::Today(self.span(&k))),
                Rule::kw_future => after = Some(DateBound::Today(self.span(&k))),
                Rule::date_after => after = Some(self.date_bound(k)?),
                Rule::date_before => before = Some(self.date_bound(k)?),
                Rule::string_list => choices = self.list(k),
                _ => {}
            }
        }
        let kind = match rule {
            Rule::ty_text | Rule::in_text => FieldKind::Text {
                pattern,
                length: range,
            },
            Rule::ty_number | Rule::in_number => FieldKind::Number { range },
            Rule::ty_email | Rule::in_email => FieldKind::Email,
            Rule::ty_phone | Rule::in_phone => FieldKind::Phone,
            Rule::ty_date | Rule::in_date => FieldKind::Date { after, before },
            Rule::ty_choice | Rule::in_choice => FieldKind::Choice(choices),
            Rule::ty_yesno | Rule::in_yesno => FieldKind::YesNo,
            _ => return Err(self.shape(span)),
        };
        Ok((FieldType { kind, span }, label))
    }

    fn date_bound(&mut self, p: Pair<'_, Rule>) -> R<DateBound> {
        let span = self.span(&p);
        let b = kids(p).find(|b| b.as_rule() == Rule::date_bound);
        let b = self.need(b, span)?;
        let bspan = self.span(&b);
        let inner = kids(b).next();
        let inner = self.need(inner, bspan)?;
        Ok(match inner.as_rule() {
            Rule::date => DateBound::Date(self.date(&inner)),
            _ => DateBound::Today(self.span(&inner)),
        })
    }

    fn template(&mut self, p: Pair<'_, Rule>) -> R<TemplateDecl> {
        let span = self.span(&p);
        let mut name = None;
        let mut texts = Vec::new();
        let mut params = Vec::new();
        for k in kids(p) {
            match k.as_rule() {
                Rule::template_name => name = Some(self.ident(&k)),
                Rule::string => texts.push(self.text(k)),
                Rule::template_params => {
                    for n in kids(k) {
                        if n.as_rule() == Rule::param_name {
                            params.push(self.ident(&n));
                        }
                    }
                }
                _ => {}
            }
        }
        let name = self.need(name, span)?;
        let mut texts = texts.into_iter();
        let wa_name = texts.next();
        let lang = texts.next();
        let wa_name = self.need(wa_name, span)?;
        let lang = self.need(lang, span)?;
        Ok(TemplateDecl {
            name,
            wa_name,
            lang,
            params,
            span,
        })
    }

    fn webhook(&mut self, p: Pair<'_, Rule>) -> R<WebhookDecl> {
        let span = self.span(&p);
        let mut name = None;
        let mut url = None;
        let mut secret = None;
        let mut retry = None;
        let mut timeout = None;
        for k in kids(p) {
            let kspan = self.span(&k);
            match k.as_rule() {
                Rule::webhook_name => name = Some(self.ident(&k)),
                Rule::string => url = Some(self.text(k)),
                Rule::wh_secret => {
                    let env = kids(k).find(|e| e.as_rule() == Rule::env_ref);
                    let env = self.need(env, kspan)?;
                    let espan = self.span(&env);
                    let var = self.first_text(env)?;
                    secret = Some(EnvRef { var, span: espan });
                }
                Rule::wh_retry => {
                    let mut attempts = None;
                    let mut backoff = None;
                    for r in kids(k) {
                        match r.as_rule() {
                            Rule::number => attempts = Some(self.number(&r)),
                            Rule::duration => backoff = Some(self.duration(&r)),
                            _ => {}
                        }
                    }
                    let attempts = self.need(attempts, kspan)?;
                    retry = Some(RetryPolicy {
                        attempts,
                        backoff,
                        span: kspan,
                    });
                }
                Rule::wh_timeout => {
                    let d = kids(k).find(|d| d.as_rule() == Rule::duration);
                    let d = self.need(d, kspan)?;
                    timeout = Some(self.duration(&d));
                }
                _ => {}
            }
        }
        let name = self.need(name, span)?;
        let url = self.need(url, span)?;
        Ok(WebhookDecl {
            name,
            url,
            secret,
            retry,
            timeout,
            span,
        })
    }

    fn intent(&mut self, p: Pair<'_, Rule>) -> R<IntentDecl> {
        let span = self.span(&p);
        let mut name = None;
        let mut examples = Vec::new();
        let mut threshold = None;
        for k in kids(p) {
            match k.as_rule() {
                Rule::intent_name => name = Some(self.ident(&k)),
                Rule::intent_examples => examples.extend(self.first_list(k)?),
                Rule::intents_threshold => {
                    let n = kids(k).find(|n| n.as_rule() == Rule::number);
                    threshold = n.map(|n| self.number(&n));
                }
                _ => {}
            }
        }
        let name = self.need(name, span)?;
        Ok(IntentDecl {
            name,
            examples,
            threshold,
            span,
        })
    }

    fn ai(&mut self, p: Pair<'_, Rule>) -> R<AiDecl> {
        let span = self.span(&p);
        let mut name = None;
        let mut url = None;
        let mut model = None;
        let mut key = None;
        let mut timeout = None;
        let mut retry = None;
        for k in kids(p) {
            let kspan = self.span(&k);
            match k.as_rule() {
                Rule::ai_name => name = Some(self.ident(&k)),
                Rule::string => url = Some(self.text(k)),
                Rule::ai_model => model = Some(self.first_text(k)?),
                Rule::ai_key => {
                    let env = kids(k).find(|e| e.as_rule() == Rule::env_ref);
                    let env = self.need(env, kspan)?;
                    let espan = self.span(&env);
                    let var = self.first_text(env)?;
                    key = Some(EnvRef { var, span: espan });
                }
                Rule::wh_timeout => {
                    let d = kids(k).find(|d| d.as_rule() == Rule::duration);
                    let d = self.need(d, kspan)?;
                    timeout = Some(self.duration(&d));
                }
                Rule::ai_retry => {
                    let n = kids(k).find(|n| n.as_rule() == Rule::number);
                    let n = self.need(n, kspan)?;
                    retry = Some(self.number(&n));
                }
                _ => {}
            }
        }
        let name = self.need(name, span)?;
        let url = self.need(url, span)?;
        Ok(AiDecl {
            name,
            url,
            model,
            key,
            timeout,
            retry,
            span,
        })
    }

    fn form(&mut self, p: Pair<'_, Rule>) -> R<FormDecl> {
        let span = self.span(&p);
        let mut name = None;
        let mut title = None;
        let mut data = None;
        let mut screens = Vec::new();
        for k in kids(p) {
            match k.as_rule() {
                Rule::form_name => name = Some(self.ident(&k)),
                Rule::string => title = Some(self.text(k)),
                Rule::form_data => {
                    let dspan = self.span(&k);
                    let mut webhook = None;
                    let mut timeout = None;
                    for d in kids(k) {
                        match d.as_rule() {
                            Rule::webhook_name => webhook = Some(self.ident(&d)),
                            Rule::duration => timeout = Some(self.duration(&d)),
                            _ => {}
                        }
                    }
                    let webhook = self.need(webhook, dspan)?;
                    data = Some(FormData {
                        webhook,
                        timeout,
                        span: dspan,
                    });
                }
                Rule::screen => {
                    let sspan = self.span(&k);
                    let mut stitle = None;
                    let mut inputs = Vec::new();
                    for s in kids(k) {
                        match s.as_rule() {
                            Rule::string => stitle = Some(self.text(s)),
                            Rule::form_input => inputs.push(self.form_input(s)?),
                            _ => {}
                        }
                    }
                    let stitle = self.need(stitle, sspan)?;
                    screens.push(Screen {
                        title: stitle,
                        inputs,
                        span: sspan,
                    });
                }
                _ => {}
            }
        }
        let name = self.need(name, span)?;
        let title = self.need(title, span)?;
        Ok(FormDecl {
            name,
            title,
            data,
            screens,
            span,
        })
    }

    fn event(&mut self, p: Pair<'_, Rule>) -> R<EventDecl> {
        let span = self.span(&p);
        let mut name = None;
        let mut keys = Vec::new();
        for k in kids(p) {
            match k.as_rule() {
                Rule::event_name => name = Some(self.ident(&k)),
                Rule::event_key => {
                    let kspan = self.span(&k);
                    let mut key = None;
                    let mut ty = None;
                    let mut optional = false;
                    for e in kids(k) {
                        match e.as_rule() {
                            Rule::key_name => key = Some(self.ident(&e)),
                            Rule::field_type => ty = Some(self.field_type(e)?.0),
                            Rule::kw_optional => optional = true,
                            _ => {}
                        }
                    }
                    let name = self.need(key, kspan)?;
                    let ty = self.need(ty, kspan)?;
                    keys.push(EventKey {
                        name,
                        ty,
                        optional,
                        span: kspan,
                    });
                }
                _ => {}
            }
        }
        let name = self.need(name, span)?;
        Ok(EventDecl { name, keys, span })
    }

    fn migrate(&mut self, p: Pair<'_, Rule>) -> R<MigrateDecl> {
        let span = self.span(&p);
        let mut rules = Vec::new();
        for r in kids(p) {
            if r.as_rule() != Rule::migrate_rule {
                continue;
            }
            let rspan = self.span(&r);
            let mut stage = None;
            let mut action = None;
            for k in kids(r) {
                let kspan = self.span(&k);
                match k.as_rule() {
                    Rule::stage_name => stage = Some(self.ident(&k)),
                    Rule::mig_goto => action = Some(MigrateAction::Goto(self.first_name(k)?)),
                    Rule::mig_keep => action = Some(MigrateAction::Keep),
                    Rule::mig_close => {
                        let mut reason = None;
                        let mut template = None;
                        for c in kids(k) {
                            match c.as_rule() {
                                Rule::string => reason = Some(self.text(c)),
                                Rule::msg_template => template = Some(self.message(c)?),
                                _ => {}
                            }
                        }
                        action = Some(MigrateAction::Close { reason, template });
                    }
                    Rule::kw_stage | Rule::kw_otherwise => {}
                    _ => return Err(self.shape(kspan)),
                }
            }
            let action = self.need(action, rspan)?;
            rules.push(MigrateRule {
                stage,
                action,
                span: rspan,
            });
        }
        Ok(MigrateDecl { rules, span })
    }

    fn form_input(&mut self, p: Pair<'_, Rule>) -> R<FormInput> {
        let span = self.span(&p);
        let mut name = None;
        let mut label = None;
        let mut ty = None;
        let mut optional = false;
        for k in kids(p) {
            match k.as_rule() {
                Rule::field_name => name = Some(self.ident(&k)),
                Rule::input_type => {
                    let (t, l) = self.field_type(k)?;
                    ty = Some(t);
                    label = l;
                }
                Rule::kw_optional => optional = true,
                _ => {}
            }
        }
        let name = self.need(name, span)?;
        Ok(FormInput {
            name,
            label,
            ty,
            optional,
            span,
        })
    }

    // -----------------------------------------------------------------------------------
    // Handlers and actions
    // -----------------------------------------------------------------------------------

    /// Builds a head parsed alone: the stage name, or the test name.
    pub(super) fn head(&mut self, entry: Pair<'_, Rule>) -> (Option<Ident>, Option<Text>) {
        let mut name = None;
        let mut text = None;
        for k in kids(entry) {
            match k.as_rule() {
                Rule::stage_name => name = Some(self.ident(&k)),
                Rule::string => text = Some(self.text(k)),
                _ => {}
            }
        }
        (name, text)
    }

    /// Builds the handler of a `handler_entry` or the step of a `step_entry`.
    pub(super) fn handler_entry(&mut self, entry: Pair<'_, Rule>) -> R<Handler> {
        let span = self.span(&entry);
        let mut handlers = Vec::new();
        for k in kids(entry) {
            match k.as_rule() {
                Rule::handler => handlers.push(self.handler(k)?),
                Rule::optout_clause => self.attach_optout(&mut handlers, k),
                _ => {}
            }
        }
        let h = handlers.pop();
        self.need(h, span)
    }

    /// Gives the `optout` clause that follows a handler to it, when it handles an event;
    /// after any other handler the clause is reported and dropped.
    fn attach_optout(&mut self, handlers: &mut [Handler], p: Pair<'_, Rule>) {
        let at = self.span(&p);
        let Some(h) = handlers.last_mut() else {
            return;
        };
        let saved = self.depth;
        let block = self.optout_clause(p);
        self.depth = saved;
        let Ok(block) = block else { return };
        match &mut h.trigger.kind {
            TriggerKind::Event { optout, .. } => *optout = Some(block),
            _ => self.cx.diags.push(
                Diagnostic::new(
                    codes::MISPLACED,
                    "`optout` only follows an `on event` handler",
                    at,
                    "not allowed here",
                )
                .with_secondary(h.trigger.span, "this trigger is not an event")
                .with_note(
                    "a customer's own message already tells the engine that the contact opted out; only events from business systems need a rule for them",
                )
                .with_help("remove the `optout` clause"),
            ),
        }
    }

    pub(super) fn step_entry(&mut self, entry: Pair<'_, Rule>) -> R<TestStep> {
        let span = self.span(&entry);
        let s = kids(entry).find(|s| s.as_rule() == Rule::test_step);
        let s = self.need(s, span)?;
        self.step(s)
    }

    fn handler(&mut self, p: Pair<'_, Rule>) -> R<Handler> {
        let saved = self.depth;
        let h = self.handler_inner(p);
        self.depth = saved;
        h
    }

    fn handler_inner(&mut self, p: Pair<'_, Rule>) -> R<Handler> {
        let span = self.span(&p);
        let mut trigger = None;
        let mut guard = None;
        let mut body = None;
        for k in kids(p) {
            let kspan = self.span(&k);
            match k.as_rule() {
                Rule::when_trigger => {
                    trigger = Some(Trigger {
                        kind: TriggerKind::When,
                        span: kspan,
                    })
                }
                Rule::expr => guard = Some(self.expr(k)?),
                Rule::guard => {
                    let e = kids(k).find(|e| e.as_rule() == Rule::expr);
                    let e = self.need(e, kspan)?;
                    guard = Some(self.expr(e)?);
                }
                Rule::on_trigger => {
                    let what = kids(k).find(|w| w.as_rule() != Rule::kw_on);
                    let what = self.need(what, kspan)?;
                    let kind = match what.as_rule() {
                        Rule::tr_enter => TriggerKind::Enter,
                        Rule::tr_message => TriggerKind::Message,
                        Rule::tr_keyword => TriggerKind::Keyword(self.first_list(what)?),
                        Rule::tr_button => TriggerKind::Button(self.first_list(what)?),
                        Rule::tr_choice => TriggerKind::Choice(self.first_list(what)?),
                        Rule::tr_regex => {
                            let r = kids(what).find(|r| r.as_rule() == Rule::regex);
                            let r = self.need(r, kspan)?;
                            TriggerKind::Regex(self.regex(&r))
                        }
                        Rule::tr_form => TriggerKind::FormSubmitted(self.first_name(what)?),
                        Rule::tr_intent => TriggerKind::Intent(
                            kids(what)
                                .filter(|n| n.as_rule() == Rule::intent_name)
                                .map(|n| self.ident(&n))
                                .collect(),
                        ),
                        Rule::tr_event => TriggerKind::Event {
                            name: self.first_name(what)?,
                            optout: None,
                        },
                        Rule::media_kind => {
                            let m = media(what.as_str());
                            TriggerKind::Media(self.need(m, kspan)?)
                        }
                        _ => return Err(self.shape(kspan)),
                    };
                    trigger = Some(Trigger { kind, span: kspan });
                }
                Rule::after_trigger => {
                    let mut d = None;
                    let mut silence = false;
                    for a in kids(k) {
                        match a.as_rule() {
                            Rule::duration => d = Some(self.duration(&a)),
                            Rule::kw_silence => silence = true,
                            _ => {}
                        }
                    }
                    let d = self.need(d, kspan)?;
                    let kind = if silence {
                        TriggerKind::Silence(d)
                    } else {
                        TriggerKind::InStage(d)
                    };
                    trigger = Some(Trigger { kind, span: kspan });
                }
                Rule::otherwise_trigger => {
                    trigger = Some(Trigger {
                        kind: TriggerKind::Otherwise,
                        span: kspan,
                    })
                }
                Rule::block => body = Some(self.block(k)?),
                _ => {}
            }
        }
        let trigger = self.need(trigger, span)?;
        let body = self.need(body, span)?;
        Ok(Handler {
            trigger,
            guard,
            body,
            span,
        })
    }

    fn enter(&mut self, span: Span) -> R<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            self.cx.diags.push(too_deep(span));
            return Err(Fail);
        }
        Ok(())
    }

    fn block(&mut self, p: Pair<'_, Rule>) -> R<Block> {
        let span = self.span(&p);
        self.enter(span)?;
        let mut actions = Vec::new();
        for k in kids(p) {
            if k.as_rule() == Rule::action {
                actions.push(self.action(k)?);
            }
        }
        self.depth -= 1;
        Ok(Block { actions, span })
    }

    /// `optout ACTION` is a block of one action, like `else`.
    fn optout_clause(&mut self, p: Pair<'_, Rule>) -> R<Block> {
        self.else_clause(p)
    }

    /// `else ACTION` is a block of one action; `else { ... }` is the block itself.
    pub(super) fn else_clause(&mut self, p: Pair<'_, Rule>) -> R<Block> {
        let span = self.span(&p);
        let inner = kids(p).find(|k| !matches!(k.as_rule(), Rule::kw_else | Rule::kw_optout));
        let inner = self.need(inner, span)?;
        if inner.as_rule() == Rule::block {
            return self.block(inner);
        }
        let aspan = self.span(&inner);
        self.enter(aspan)?;
        let action = self.action(inner)?;
        self.depth -= 1;
        Ok(Block {
            actions: vec![action],
            span: aspan,
        })
    }

    fn action(&mut self, p: Pair<'_, Rule>) -> R<Action> {
        let span = self.span(&p);
        let a = kids(p).next();
        let a = self.need(a, span)?;
        let aspan = self.span(&a);
        let kind = match a.as_rule() {
            Rule::a_reply | Rule::a_send => {
                let m = kids(a).find(|m| matches!(m.as_rule(), Rule::message | Rule::msg_template));
                let m = self.need(m, aspan)?;
                ActionKind::Reply(self.message(m)?)
            }
            Rule::a_ask => {
                let mut field = None;
                let mut prompt = None;
                let mut tries = None;
                let mut fallback = None;
                for k in kids(a) {
                    match k.as_rule() {
                        Rule::field_name => field = Some(self.ident(&k)),
                        Rule::string => prompt = Some(self.text(k)),
                        Rule::number => tries = Some(self.number(&k)),
                        Rule::else_clause => fallback = Some(self.else_clause(k)?),
                        _ => {}
                    }
                }
                let field = self.need(field, aspan)?;
                let prompt = self.need(prompt, aspan)?;
                ActionKind::Ask {
                    field,
                    prompt,
                    tries,
                    fallback,
                }
            }
            Rule::a_set => {
                let mut field = None;
                let mut value = None;
                for k in kids(a) {
                    match k.as_rule() {
                        Rule::field_name => field = Some(self.ident(&k)),
                        Rule::expr => value = Some(self.expr(k)?),
                        _ => {}
                    }
                }
                let field = self.need(field, aspan)?;
                let value = self.need(value, aspan)?;
                ActionKind::Set { field, value }
            }
            Rule::a_tag => ActionKind::Tag(self.first_list(a)?),
            Rule::a_untag => ActionKind::Untag(self.first_list(a)?),
            Rule::a_route => {
                let mut team = None;
                let mut priority = None;
                for k in kids(a) {
                    match k.as_rule() {
                        Rule::team_name => team = Some(self.ident(&k)),
                        Rule::priority_level => priority = self.priority(&k),
                        _ => {}
                    }
                }
                let team = self.need(team, aspan)?;
                ActionKind::Route { team, priority }
            }
            Rule::a_assign => ActionKind::Assign(self.first_text(a)?),
            Rule::a_priority => {
                let l = kids(a).find(|l| l.as_rule() == Rule::priority_level);
                let l = l.and_then(|l| self.priority(&l));
                ActionKind::Priority(self.need(l, aspan)?)
            }
            Rule::a_handoff => {
                let t = kids(a).find(|t| t.as_rule() == Rule::team_name);
                ActionKind::Handoff(t.map(|t| self.ident(&t)))
            }
            Rule::a_post => {
                let mut webhook = None;
                let mut body = Vec::new();
                for k in kids(a) {
                    match k.as_rule() {
                        Rule::webhook_name => webhook = Some(self.ident(&k)),
                        Rule::object => body = self.object(k)?,
                        _ => {}
                    }
                }
                let webhook = self.need(webhook, aspan)?;
                ActionKind::Post { webhook, body }
            }
            Rule::a_call => {
                let mut webhook = None;
                let mut body = Vec::new();
                let mut save = Vec::new();
                let mut timeout = None;
                let mut fallback = None;
                for k in kids(a) {
                    match k.as_rule() {
                        Rule::webhook_name => webhook = Some(self.ident(&k)),
                        Rule::object => body = self.object(k)?,
                        Rule::call_save => {
                            for f in kids(k) {
                                if f.as_rule() == Rule::field_name {
                                    save.push(self.ident(&f));
                                }
                            }
                        }
                        Rule::duration => timeout = Some(self.duration(&k)),
                        Rule::else_clause => fallback = Some(self.else_clause(k)?),
                        _ => {}
                    }
                }
                let webhook = self.need(webhook, aspan)?;
                ActionKind::Call {
                    webhook,
                    body,
                    save,
                    timeout,
                    fallback,
                }
            }
            Rule::a_goto => ActionKind::Goto(self.first_name(a)?),
            Rule::a_answer => {
                let mut knowledge = None;
                let mut via = AnswerVia::Threshold(None);
                let mut fallback = None;
                for k in kids(a) {
                    match k.as_rule() {
                        Rule::knowledge_name => knowledge = Some(self.ident(&k)),
                        Rule::number => via = AnswerVia::Threshold(Some(self.number(&k))),
                        Rule::ai_name => via = AnswerVia::Ai(self.ident(&k)),
                        Rule::else_clause => fallback = Some(self.else_clause(k)?),
                        _ => {}
                    }
                }
                let knowledge = self.need(knowledge, aspan)?;
                ActionKind::Answer {
                    knowledge,
                    via,
                    fallback,
                }
            }
            Rule::a_classify => {
                let mut ai = None;
                let mut instructions = None;
                let mut into = Vec::new();
                let mut fallback = None;
                for k in kids(a) {
                    match k.as_rule() {
                        Rule::ai_name => ai = Some(self.ident(&k)),
                        Rule::string => instructions = Some(self.text(k)),
                        Rule::intent_name => into.push(self.ident(&k)),
                        Rule::else_clause => fallback = Some(self.else_clause(k)?),
                        _ => {}
                    }
                }
                let ai = self.need(ai, aspan)?;
                ActionKind::Classify {
                    ai,
                    instructions,
                    into,
                    fallback,
                }
            }
            Rule::a_close => {
                let t = kids(a).find(|t| t.as_rule() == Rule::string);
                ActionKind::Close(t.map(|t| self.text(t)))
            }
            Rule::a_ignore => ActionKind::Ignore,
            Rule::a_if => self.if_chain(a)?,
            _ => return Err(self.shape(aspan)),
        };
        Ok(Action { kind, span })
    }

    /// `if c1 {} else if c2 {} else {}` becomes nested `If`s, the inner ones each in a
    /// block of one action spanning from their `else if`.
    fn if_chain(&mut self, p: Pair<'_, Rule>) -> R<ActionKind> {
        let saved = self.depth;
        let r = self.if_chain_inner(p);
        self.depth = saved;
        r
    }

    fn if_chain_inner(&mut self, p: Pair<'_, Rule>) -> R<ActionKind> {
        let span = self.span(&p);
        let mut arms: Vec<(Expr, Block, Span)> = Vec::new();
        let mut last = None;
        let mut cond = None;
        for k in kids(p) {
            let kspan = self.span(&k);
            match k.as_rule() {
                Rule::expr => cond = Some(self.expr(k)?),
                Rule::block => {
                    let c = self.need(cond.take(), kspan)?;
                    arms.push((c, self.block(k)?, span));
                }
                Rule::else_if => {
                    self.enter(kspan)?;
                    let mut c = None;
                    let mut b = None;
                    for e in kids(k) {
                        match e.as_rule() {
                            Rule::expr => c = Some(self.expr(e)?),
                            Rule::block => b = Some(self.block(e)?),
                            _ => {}
                        }
                    }
                    let c = self.need(c, kspan)?;
                    let b = self.need(b, kspan)?;
                    arms.push((c, b, kspan));
                }
                Rule::else_block => {
                    let b = kids(k).find(|b| b.as_rule() == Rule::block);
                    let b = self.need(b, kspan)?;
                    last = Some(self.block(b)?);
                }
                _ => {}
            }
        }
        // Fold from the innermost `else if` outwards.
        let mut otherwise = last;
        while arms.len() > 1 {
            let Some((cond, then, aspan)) = arms.pop() else {
                break;
            };
            let inner = Action {
                kind: ActionKind::If {
                    cond,
                    then,
                    otherwise: otherwise.take(),
                },
                span: aspan,
            };
            otherwise = Some(Block {
                actions: vec![inner],
                span: aspan,
            });
        }
        let (cond, then, _) = match arms.pop() {
            Some(a) => a,
            None => return Err(self.shape(span)),
        };
        Ok(ActionKind::If {
            cond,
            then,
            otherwise,
        })
    }

    fn message(&mut self, p: Pair<'_, Rule>) -> R<Message> {
        let span = self.span(&p);
        let m = if p.as_rule() == Rule::msg_template {
            p
        } else {
            let m = kids(p).next();
            self.need(m, span)?
        };
        let mspan = self.span(&m);
        let kind = match m.as_rule() {
            Rule::msg_text => MessageKind::Text(self.first_text(m)?),
            Rule::msg_buttons => {
                let mut body = None;
                let mut buttons = Vec::new();
                for k in kids(m) {
                    match k.as_rule() {
                        Rule::string => body = Some(self.text(k)),
                        Rule::string_array => buttons = self.array(k),
                        _ => {}
                    }
                }
                let body = self.need(body, mspan)?;
                MessageKind::Buttons { body, buttons }
            }
            Rule::msg_list => {
                let mut texts = Vec::new();
                let mut rows = Vec::new();
                for k in kids(m) {
                    match k.as_rule() {
                        Rule::string => texts.push(self.text(k)),
                        Rule::string_array => rows = self.array(k),
                        _ => {}
                    }
                }
                let mut texts = texts.into_iter();
                let body = texts.next();
                let button = texts.next();
                let body = self.need(body, mspan)?;
                let button = self.need(button, mspan)?;
                MessageKind::List { body, button, rows }
            }
            Rule::msg_template => {
                let mut name = None;
                let mut args = Vec::new();
                for k in kids(m) {
                    match k.as_rule() {
                        Rule::template_name => name = Some(self.ident(&k)),
                        Rule::template_args => {
                            for e in kids(k) {
                                if e.as_rule() == Rule::expr {
                                    args.push(self.expr(e)?);
                                }
                            }
                        }
                        _ => {}
                    }
                }
                let name = self.need(name, mspan)?;
                MessageKind::Template { name, args }
            }
            Rule::msg_form => {
                let mut name = None;
                let mut body = None;
                for k in kids(m) {
                    match k.as_rule() {
                        Rule::form_name => name = Some(self.ident(&k)),
                        Rule::string => body = Some(self.text(k)),
                        _ => {}
                    }
                }
                let name = self.need(name, mspan)?;
                let body = self.need(body, mspan)?;
                MessageKind::Form { name, body }
            }
            _ => return Err(self.shape(mspan)),
        };
        Ok(Message { kind, span })
    }

    fn object(&mut self, p: Pair<'_, Rule>) -> R<Vec<ObjEntry>> {
        let mut out = Vec::new();
        for e in kids(p) {
            if e.as_rule() != Rule::obj_entry {
                continue;
            }
            let span = self.span(&e);
            let mut key = None;
            let mut value = None;
            for k in kids(e) {
                match k.as_rule() {
                    Rule::key_name => key = Some(self.ident(&k)),
                    Rule::expr => value = Some(self.expr(k)?),
                    _ => {}
                }
            }
            let key = self.need(key, span)?;
            let value = self.need(value, span)?;
            out.push(ObjEntry { key, value, span });
        }
        Ok(out)
    }

    // -----------------------------------------------------------------------------------
    // Test steps
    // -----------------------------------------------------------------------------------

    fn step(&mut self, p: Pair<'_, Rule>) -> R<TestStep> {
        let saved = self.depth;
        let s = self.step_inner(p);
        self.depth = saved;
        s
    }

    fn step_inner(&mut self, p: Pair<'_, Rule>) -> R<TestStep> {
        let span = self.span(&p);
        let s = kids(p).next();
        let s = self.need(s, span)?;
        let sspan = self.span(&s);
        let kind = match s.as_rule() {
            Rule::st_contact => {
                let mut phone = None;
                let mut name = None;
                let mut tags = Vec::new();
                let mut returning = false;
                for k in kids(s) {
                    match k.as_rule() {
                        Rule::string => phone = Some(self.text(k)),
                        Rule::contact_named => name = Some(self.first_text(k)?),
                        Rule::contact_tagged => tags.extend(self.first_list(k)?),
                        Rule::kw_returning => returning = true,
                        _ => {}
                    }
                }
                let phone = self.need(phone, sspan)?;
                StepKind::Contact {
                    phone,
                    name,
                    tags,
                    returning,
                }
            }
            Rule::st_send => {
                let what = kids(s).find(|w| w.as_rule() != Rule::kw_send);
                let what = self.need(what, sspan)?;
                if what.as_rule() == Rule::send_media {
                    let m = media(what.as_str());
                    StepKind::SendMedia(self.need(m, sspan)?)
                } else {
                    StepKind::Send(self.text(what))
                }
            }
            Rule::st_tap => StepKind::Tap(self.first_text(s)?),
            Rule::st_choose => StepKind::Choose(self.first_text(s)?),
            Rule::st_submit => {
                let mut form = None;
                let mut values = Vec::new();
                for k in kids(s) {
                    match k.as_rule() {
                        Rule::form_name => form = Some(self.ident(&k)),
                        Rule::object => values = self.object(k)?,
                        _ => {}
                    }
                }
                let form = self.need(form, sspan)?;
                StepKind::Submit { form, values }
            }
            Rule::st_event => {
                let mut name = None;
                let mut values = Vec::new();
                for k in kids(s) {
                    match k.as_rule() {
                        Rule::event_name => name = Some(self.ident(&k)),
                        Rule::object => values = self.object(k)?,
                        _ => {}
                    }
                }
                let name = self.need(name, sspan)?;
                StepKind::Event { name, values }
            }
            Rule::st_respond => {
                let mut webhook = None;
                let mut answer = None;
                for k in kids(s) {
                    match k.as_rule() {
                        Rule::webhook_name => webhook = Some(self.ident(&k)),
                        Rule::object => answer = Some(self.object(k)?),
                        _ => {}
                    }
                }
                let webhook = self.need(webhook, sspan)?;
                StepKind::Respond { webhook, answer }
            }
            Rule::st_advance => {
                let d = kids(s).find(|d| d.as_rule() == Rule::duration);
                let d = self.need(d, sspan)?;
                StepKind::Advance(self.duration(&d))
            }
            Rule::st_clock => {
                let d = kids(s.clone()).find(|d| d.as_rule() == Rule::date);
                let c = kids(s).find(|c| c.as_rule() == Rule::clock);
                let d = self.need(d, sspan)?;
                let c = self.need(c, sspan)?;
                StepKind::Clock {
                    date: self.date(&d),
                    time: self.clock(&c),
                }
            }
            Rule::st_expect => {
                let e = kids(s).find(|e| e.as_rule() != Rule::kw_expect);
                let e = self.need(e, sspan)?;
                StepKind::Expect(self.expectation(e)?)
            }
            Rule::st_agent => StepKind::Agent(self.agent_step(s)?),
            _ => return Err(self.shape(sspan)),
        };
        Ok(TestStep { kind, span })
    }

    fn expectation(&mut self, e: Pair<'_, Rule>) -> R<Expectation> {
        let span = self.span(&e);
        Ok(match e.as_rule() {
            Rule::ex_stage | Rule::ex_routed | Rule::ex_template => {
                let rule = e.as_rule();
                let n = self.first_name(e)?;
                match rule {
                    Rule::ex_stage => Expectation::Stage(n),
                    Rule::ex_routed => Expectation::Routed(n),
                    _ => Expectation::Template(n),
                }
            }
            Rule::ex_assigned => Expectation::Assigned(self.first_text(e)?),
            Rule::ex_tagged => Expectation::Tagged(self.first_text(e)?),
            Rule::ex_reply => {
                let mut contains = false;
                let mut m = None;
                for k in kids(e) {
                    match k.as_rule() {
                        Rule::kw_contains => contains = true,
                        Rule::string => {
                            let t = self.text(k);
                            m = Some(if contains {
                                ReplyMatch::Contains(t)
                            } else {
                                ReplyMatch::Exact(t)
                            });
                        }
                        Rule::regex => m = Some(ReplyMatch::Matching(self.regex(&k))),
                        _ => {}
                    }
                }
                Expectation::Reply(self.need(m, span)?)
            }
            Rule::ex_field => {
                let x = kids(e).find(|x| x.as_rule() == Rule::expr);
                let x = self.need(x, span)?;
                Expectation::Field(self.expr(x)?)
            }
            Rule::ex_posted => {
                let mut webhook = None;
                let mut body = Vec::new();
                for k in kids(e) {
                    match k.as_rule() {
                        Rule::webhook_name => webhook = Some(self.ident(&k)),
                        Rule::object => body = self.object(k)?,
                        _ => {}
                    }
                }
                let webhook = self.need(webhook, span)?;
                Expectation::Posted { webhook, body }
            }
            Rule::ex_handoff => Expectation::Handoff,
            Rule::ex_closed => {
                let t = kids(e).find(|t| t.as_rule() == Rule::string);
                Expectation::Closed(t.map(|t| self.text(t)))
            }
            Rule::ex_sent_nothing => Expectation::SentNothing,
            Rule::ex_intent => {
                let mut intent = None;
                let mut above = None;
                for k in kids(e) {
                    match k.as_rule() {
                        Rule::intent_name => intent = Some(self.ident(&k)),
                        Rule::number => above = Some(self.number(&k)),
                        _ => {}
                    }
                }
                Expectation::Intent { intent, above }
            }
            Rule::ex_sla => self.expect_sla(e)?,
            Rule::ex_event => self.expect_event(e)?,
            _ => return Err(self.shape(span)),
        })
    }

    // -----------------------------------------------------------------------------------
    // Expressions
    // -----------------------------------------------------------------------------------

    pub(super) fn expr(&mut self, p: Pair<'_, Rule>) -> R<Expr> {
        let span = self.span(&p);
        let mut toks = Vec::new();
        for k in kids(p) {
            let kspan = self.span(&k);
            let t = match k.as_rule() {
                Rule::op_not => ExprTok::Prefix(UnOp::Not, kspan),
                Rule::op_neg => ExprTok::Prefix(UnOp::Neg, kspan),
                Rule::op_or => ExprTok::Infix(BinOp::Or, kspan),
                Rule::op_and => ExprTok::Infix(BinOp::And, kspan),
                Rule::op_eq => ExprTok::Infix(BinOp::Eq, kspan),
                Rule::op_ne => ExprTok::Infix(BinOp::Ne, kspan),
                Rule::op_lt => ExprTok::Infix(BinOp::Lt, kspan),
                Rule::op_le => ExprTok::Infix(BinOp::Le, kspan),
                Rule::op_gt => ExprTok::Infix(BinOp::Gt, kspan),
                Rule::op_ge => ExprTok::Infix(BinOp::Ge, kspan),
                Rule::op_contains => ExprTok::Infix(BinOp::Contains, kspan),
                Rule::op_in => ExprTok::Infix(BinOp::In, kspan),
                Rule::op_add => ExprTok::Infix(BinOp::Add, kspan),
                Rule::op_sub => ExprTok::Infix(BinOp::Sub, kspan),
                Rule::op_mul => ExprTok::Infix(BinOp::Mul, kspan),
                Rule::op_div => ExprTok::Infix(BinOp::Div, kspan),
                Rule::pf_has_tag => {
                    let mut negated = false;
                    let mut tag = None;
                    for t in kids(k) {
                        match t.as_rule() {
                            Rule::kw_no => negated = true,
                            Rule::string => tag = Some(self.text(t)),
                            _ => {}
                        }
                    }
                    let tag = self.need(tag, kspan)?;
                    ExprTok::Postfix(Postfix::HasTag { tag, negated }, kspan)
                }
                Rule::pf_is_set => {
                    let negated = kids(k).any(|t| t.as_rule() == Rule::kw_not);
                    ExprTok::Postfix(Postfix::IsSet { negated }, kspan)
                }
                Rule::pf_matches => {
                    let r = kids(k).find(|r| r.as_rule() == Rule::regex);
                    let r = self.need(r, kspan)?;
                    ExprTok::Postfix(Postfix::Matches(self.regex(&r)), kspan)
                }
                _ => {
                    let (e, h) = self.primary(k)?;
                    ExprTok::Atom(e, h)
                }
            };
            toks.push(t);
        }
        let mut toks = toks.into_iter().map(Some).collect::<Vec<_>>();
        let mut pos = 0;
        let (e, _) = self.climb(&mut toks, &mut pos, 0, span, 0)?;
        Ok(e)
    }

    /// Precedence climbing over the flat token list. Binding powers, lowest first:
    /// `or` 1, `and` 2, `not` 3, comparisons 4, `+ -` 5, `* /` 6, unary `-` 7,
    /// postfix forms 8. Returns the expression and the height of its tree.
    fn climb(
        &mut self,
        toks: &mut [Option<ExprTok>],
        pos: &mut usize,
        min_bp: u8,
        span: Span,
        level: u32,
    ) -> R<(Expr, u32)> {
        // Each prefix operator recurses; refuse long runs before the stack does.
        self.height(level, span)?;
        let first = toks.get_mut(*pos).and_then(Option::take);
        *pos += 1;
        let (mut lhs, mut h) = match first {
            Some(ExprTok::Atom(e, h)) => (e, h),
            Some(ExprTok::Prefix(op, ospan)) => {
                let bp = if op == UnOp::Not { 3 } else { 7 };
                let (e, h) = self.climb(toks, pos, bp, span, level + 1)?;
                let h = self.height(h + 1, span)?;
                let espan = ospan.to(e.span);
                (
                    Expr {
                        kind: ExprKind::Unary {
                            op,
                            expr: Box::new(e),
                        },
                        span: espan,
                    },
                    h,
                )
            }
            _ => return Err(self.shape(span)),
        };
        loop {
            let (op, ospan) = match toks.get(*pos) {
                Some(Some(ExprTok::Postfix(..))) => {
                    let Some(Some(ExprTok::Postfix(pf, pspan))) =
                        toks.get_mut(*pos).map(Option::take)
                    else {
                        return Err(self.shape(span));
                    };
                    *pos += 1;
                    h = self.height(h + 1, span)?;
                    let espan = lhs.span.to(pspan);
                    let subject = Box::new(lhs);
                    let kind = match pf {
                        Postfix::HasTag { tag, negated } => ExprKind::HasTag {
                            subject,
                            tag,
                            negated,
                        },
                        Postfix::IsSet { negated } => ExprKind::IsSet {
                            expr: subject,
                            negated,
                        },
                        Postfix::Matches(regex) => ExprKind::Matches {
                            expr: subject,
                            regex,
                        },
                    };
                    lhs = Expr { kind, span: espan };
                    continue;
                }
                Some(Some(ExprTok::Infix(op, ospan))) => (*op, *ospan),
                _ => break,
            };
            let bp = op.precedence();
            if bp < min_bp {
                break;
            }
            let _ = ospan;
            *pos += 1;
            let (rhs, rh) = self.climb(toks, pos, bp + 1, span, level + 1)?;
            h = self.height(h.max(rh) + 1, span)?;
            let espan = lhs.span.to(rhs.span);
            lhs = Expr {
                kind: ExprKind::Binary {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                span: espan,
            };
        }
        Ok((lhs, h))
    }

    fn height(&mut self, h: u32, span: Span) -> R<u32> {
        if h > MAX_EXPR_HEIGHT {
            self.cx.diags.push(
                Diagnostic::new(
                    codes::TOO_DEEP,
                    "expression too long",
                    span,
                    "this expression nests too deeply",
                )
                .with_note(format!(
                    "an expression may chain at most {MAX_EXPR_HEIGHT} operators"
                ))
                .with_help("split the condition into several `if`s or handlers"),
            );
            return Err(Fail);
        }
        Ok(h)
    }

    fn primary(&mut self, p: Pair<'_, Rule>) -> R<(Expr, u32)> {
        let span = self.span(&p);
        let kind = match p.as_rule() {
            Rule::date => ExprKind::Date(self.date(&p)),
            Rule::clock => ExprKind::Clock(self.clock(&p)),
            Rule::duration => ExprKind::Duration(self.duration(&p)),
            Rule::number => ExprKind::Num(self.number(&p).value),
            Rule::string => ExprKind::Str(self.text(p)),
            Rule::lit_true => ExprKind::Bool(true),
            Rule::lit_false => ExprKind::Bool(false),
            Rule::lit_today => ExprKind::Today,
            Rule::lit_now => ExprKind::Now,
            Rule::in_hours => {
                let mut negated = false;
                let mut hours = None;
                for k in kids(p) {
                    match k.as_rule() {
                        Rule::kw_outside => negated = true,
                        Rule::hours_name => hours = Some(self.ident(&k)),
                        _ => {}
                    }
                }
                let hours = self.need(hours, span)?;
                ExprKind::InHours { hours, negated }
            }
            Rule::paren => {
                let e = kids(p).find(|e| e.as_rule() == Rule::expr);
                let e = self.need(e, span)?;
                self.enter(span)?;
                let mut inner = self.expr(e)?;
                self.depth -= 1;
                inner.span = span;
                return Ok((inner, 1));
            }
            Rule::list => {
                self.enter(span)?;
                let mut items = Vec::new();
                for e in kids(p) {
                    if e.as_rule() == Rule::expr {
                        items.push(self.expr(e)?);
                    }
                }
                self.depth -= 1;
                ExprKind::List(items)
            }
            Rule::path => ExprKind::Path(kids(p).map(|s| self.ident(&s)).collect()),
            _ => return Err(self.shape(span)),
        };
        Ok((Expr { kind, span }, 1))
    }

    // -----------------------------------------------------------------------------------
    // Literals
    // -----------------------------------------------------------------------------------

    pub(super) fn first_text(&mut self, p: Pair<'_, Rule>) -> R<Text> {
        let span = self.span(&p);
        let s = kids(p).find(|s| s.as_rule() == Rule::string);
        let s = self.need(s, span)?;
        Ok(self.text(s))
    }

    pub(super) fn first_name(&mut self, p: Pair<'_, Rule>) -> R<Ident> {
        let span = self.span(&p);
        let n = kids(p).find(|n| is_name(n.as_rule()));
        let n = self.need(n, span)?;
        Ok(self.ident(&n))
    }

    fn first_list(&mut self, p: Pair<'_, Rule>) -> R<Vec<Text>> {
        let span = self.span(&p);
        let l = kids(p).find(|l| l.as_rule() == Rule::string_list);
        let l = self.need(l, span)?;
        Ok(self.list(l))
    }

    fn list(&mut self, p: Pair<'_, Rule>) -> Vec<Text> {
        kids(p)
            .filter(|s| s.as_rule() == Rule::string)
            .map(|s| self.text(s))
            .collect()
    }

    fn array(&mut self, p: Pair<'_, Rule>) -> Vec<Text> {
        self.list(p)
    }

    fn number(&mut self, p: &Pair<'_, Rule>) -> NumLit {
        let span = self.span(p);
        let value = p.as_str().parse::<f64>().unwrap_or(f64::INFINITY);
        if !value.is_finite() {
            self.cx.diags.push(
                Diagnostic::new(
                    codes::BAD_LITERAL,
                    "number too large",
                    span,
                    "this number cannot be represented",
                )
                .with_help("use a smaller number"),
            );
            return NumLit { value: 0.0, span };
        }
        NumLit { value, span }
    }

    pub(super) fn duration(&mut self, p: &Pair<'_, Rule>) -> DurationLit {
        let span = self.span(p);
        let mut total: Option<u64> = Some(0);
        let mut digits: Option<u64> = Some(0);
        for c in p.as_str().chars() {
            if let Some(d) = c.to_digit(10) {
                digits = digits
                    .and_then(|n| n.checked_mul(10))
                    .and_then(|n| n.checked_add(u64::from(d)));
                continue;
            }
            // The grammar only lets unit letters through.
            let unit = vocab::unit_seconds(c).unwrap_or(1);
            total = match (total, digits) {
                (Some(t), Some(n)) => n.checked_mul(unit).and_then(|s| t.checked_add(s)),
                _ => None,
            };
            digits = Some(0);
        }
        match total {
            Some(seconds) => DurationLit { seconds, span },
            None => {
                self.cx.diags.push(
                    Diagnostic::new(
                        codes::BAD_LITERAL,
                        "duration too long",
                        span,
                        "this duration overflows",
                    )
                    .with_note("a duration must fit in 64 bits of seconds")
                    .with_help("use a shorter duration, such as `30d`"),
                );
                DurationLit { seconds: 0, span }
            }
        }
    }

    fn clock(&self, p: &Pair<'_, Rule>) -> ClockLit {
        let (h, m) = p.as_str().split_once(':').unwrap_or(("0", "0"));
        ClockLit {
            hour: h.parse().unwrap_or(0),
            minute: m.parse().unwrap_or(0),
            span: self.span(p),
        }
    }

    fn date(&self, p: &Pair<'_, Rule>) -> DateLit {
        let mut it = p.as_str().split('-');
        let year = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let month = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let day = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        DateLit {
            year,
            month,
            day,
            span: self.span(p),
        }
    }

    fn priority(&self, p: &Pair<'_, Rule>) -> Option<PriorityLit> {
        let level = vocab::priority(p.as_str())?;
        Some(PriorityLit {
            level,
            span: self.span(p),
        })
    }

    fn regex(&self, p: &Pair<'_, Rule>) -> RegexLit {
        let raw = p
            .clone()
            .into_inner()
            .next()
            .map(|b| b.as_str())
            .unwrap_or("");
        RegexLit {
            source: raw.replace("\\/", "/"),
            span: self.span(p),
        }
    }

    /// A string literal: escapes resolved, `{expr}` parsed into interpolations.
    pub(super) fn text(&mut self, p: Pair<'_, Rule>) -> Text {
        let span = self.span(&p);
        let (raw, off) = match p.into_inner().next() {
            Some(b) => (b.as_str(), self.base + b.as_span().start()),
            None => ("", span.start as usize + 1),
        };
        let file = self.cx.file;
        let mut value = String::new();
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut i = 0;
        while let Some(c) = raw.get(i..).and_then(|r| r.chars().next()) {
            let len = c.len_utf8();
            match c {
                '\\' => {
                    let Some(e) = raw.get(i + 1..).and_then(|r| r.chars().next()) else {
                        i += 1;
                        continue;
                    };
                    let r = match e {
                        '"' => '"',
                        '\\' => '\\',
                        'n' => '\n',
                        't' => '\t',
                        '{' => '{',
                        '}' => '}',
                        other => {
                            let espan = Span::new(file, off + i, off + i + 1 + other.len_utf8());
                            self.cx.diags.push(
                                Diagnostic::new(
                                    codes::BAD_LITERAL,
                                    format!("unknown escape `\\{other}` in a string"),
                                    espan,
                                    "not an escape",
                                )
                                .with_note(
                                    "strings know the escapes `\\\"` `\\\\` `\\n` `\\t` `\\{` `\\}`",
                                )
                                .with_help("write `\\\\` for a backslash"),
                            );
                            other
                        }
                    };
                    value.push(r);
                    lit.push(r);
                    i += 1 + e.len_utf8();
                }
                '{' => {
                    let Some(close) = interp_end(raw, i) else {
                        self.cx.diags.push(
                            Diagnostic::new(
                                codes::SYNTAX,
                                "`{` without `}` in a string",
                                Span::new(file, off + i, off + i + 1),
                                "this interpolation is not closed",
                            )
                            .with_note("`{...}` inside a string inserts the value of an expression")
                            .with_help("close it with `}`, or write `\\{` for a literal brace"),
                        );
                        value.push('{');
                        lit.push('{');
                        i += 1;
                        continue;
                    };
                    let inner = raw.get(i + 1..close).unwrap_or("");
                    value.push_str(raw.get(i..=close).unwrap_or(""));
                    if !lit.is_empty() {
                        parts.push(TextPart::Lit(std::mem::take(&mut lit)));
                    }
                    let ispan = Span::new(file, off + i, off + close + 1);
                    if let Some(e) = self.interpolation(inner, off + i + 1, ispan) {
                        parts.push(TextPart::Interp(e));
                    }
                    i = close + 1;
                }
                _ => {
                    value.push(c);
                    lit.push(c);
                    i += len;
                }
            }
        }
        if !lit.is_empty() {
            parts.push(TextPart::Lit(lit));
        }
        Text { value, parts, span }
    }

    fn interpolation(&mut self, inner: &str, at: usize, span: Span) -> Option<Expr> {
        if inner.trim().is_empty() {
            self.cx.diags.push(
                Diagnostic::new(codes::SYNTAX, "empty interpolation `{}`", span, "nothing to insert")
                    .with_help("put an expression inside, such as `{contact.name}`, or write `\\{` for a literal brace"),
            );
            return None;
        }
        if max_depth(inner) + self.depth > MAX_NESTING {
            self.cx.diags.push(too_deep(span));
            return None;
        }
        match WaflParser::parse(Rule::expr_entry, inner) {
            Ok(mut pairs) => {
                let entry = pairs.next()?;
                let e = kids(entry).find(|e| e.as_rule() == Rule::expr)?;
                let mut sub = Builder {
                    cx: &mut *self.cx,
                    base: at,
                    depth: self.depth,
                };
                sub.expr(e).ok()
            }
            Err(err) => {
                self.cx.report(&err, at, super::Context::Interpolation);
                None
            }
        }
    }
}

/// The byte index of the `}` closing the interpolation opened at `open`, skipping
/// escapes and nested braces.
fn interp_end(raw: &str, open: usize) -> Option<usize> {
    let bytes = raw.as_bytes();
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

pub(super) fn too_deep(span: Span) -> Diagnostic {
    Diagnostic::new(
        codes::TOO_DEEP,
        "nesting too deep",
        span,
        "this goes deeper than the parser allows",
    )
    .with_note(format!(
        "blocks, lists and parentheses may nest at most {MAX_NESTING} levels deep"
    ))
    .with_help("move the inner part into its own stage or handler")
}

fn is_name(r: Rule) -> bool {
    matches!(
        r,
        Rule::stage_name
            | Rule::team_name
            | Rule::field_name
            | Rule::template_name
            | Rule::webhook_name
            | Rule::form_name
            | Rule::hours_name
            | Rule::event_name
            | Rule::key_name
            | Rule::param_name
            | Rule::intent_name
            | Rule::knowledge_name
            | Rule::ai_name
    )
}

fn weekday(s: &str) -> Option<Weekday> {
    vocab::weekday(s)
}

fn media(s: &str) -> Option<MediaKind> {
    vocab::media(s)
}
