//! The logos lexer and the pest parser agree on every file the parser accepts.
//!
//! For every `.flow` file under `tests/cases/**/ok/` and `examples/`, and for inline
//! sources covering the syntax summary: (a) a file the parser accepts without diagnostics
//! lexes without an error token; (b) every literal and name in the tree is exactly one
//! lexer token of the matching kind, everything inside an interpolation lies inside the
//! lexer's interpolation ranges, and no comment the lexer finds overlaps a string or regex.
//! The inline sources are valid by construction, so the parser must accept them too.

use std::path::{Path, PathBuf};

use wafl::syntax::ast::*;
use wafl::syntax::lexer::{self, Token, TokenKind};
use wafl::syntax::span::{FileId, Span};
use wafl::syntax::{self};

/// What the lexer must produce for one span of the tree.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Want {
    /// Exactly one token of this kind.
    Kind(TokenKind),
    /// Exactly one identifier or keyword (keywords are contextual, names may be keywords).
    Word,
    /// The span of an expression that has no literal span of its own (`12`, `true`,
    /// `today`): one token of this kind, possibly inside balanced parentheses, since a
    /// parenthesised expression keeps its parentheses in its span.
    Expr(TokenKind),
}

/// The spans of a tree, gathered by [`Walk`].
#[derive(Default, Debug)]
struct Spans {
    /// Spans outside strings, each of which must be exactly one token.
    exact: Vec<(Span, Want)>,
    /// Spans of nodes inside a `{...}` interpolation: they must lie inside one of the
    /// lexer's interpolation ranges.
    interpolated: Vec<Span>,
    /// Every string and regex span, nested ones included: no comment may overlap them.
    quoted: Vec<Span>,
}

/// A walk over every node of the tree. The matches are exhaustive on purpose: a new node
/// kind must be added here before this test compiles again.
#[derive(Default)]
struct Walk {
    spans: Spans,
    /// Depth of interpolations we are inside.
    interp: usize,
}

impl Walk {
    fn want(&mut self, span: Span, want: Want) {
        if self.interp > 0 {
            self.spans.interpolated.push(span);
        } else {
            self.spans.exact.push((span, want));
        }
    }

    fn ident(&mut self, id: &Ident) {
        self.want(id.span, Want::Word);
    }

    fn keyword(&mut self, span: Span) {
        self.want(span, Want::Kind(TokenKind::Keyword));
    }

    fn expr_literal(&mut self, e: &Expr, kind: TokenKind) {
        self.want(e.span, Want::Expr(kind));
    }

    fn text(&mut self, t: &Text) {
        self.want(t.span, Want::Kind(TokenKind::String));
        self.spans.quoted.push(t.span);
        for part in &t.parts {
            match part {
                TextPart::Lit(_) => {}
                TextPart::Interp(e) => {
                    self.interp += 1;
                    self.expr(e);
                    self.interp -= 1;
                }
            }
        }
    }

    fn texts(&mut self, ts: &[Text]) {
        for t in ts {
            self.text(t);
        }
    }

    fn regex(&mut self, r: &RegexLit) {
        self.want(r.span, Want::Kind(TokenKind::Regex));
        self.spans.quoted.push(r.span);
    }

    fn num(&mut self, n: &NumLit) {
        self.want(n.span, Want::Kind(TokenKind::Number));
    }

    fn duration(&mut self, d: &DurationLit) {
        self.want(d.span, Want::Kind(TokenKind::Duration));
    }

    fn clock(&mut self, c: &ClockLit) {
        self.want(c.span, Want::Kind(TokenKind::Clock));
    }

    fn date(&mut self, d: &DateLit) {
        self.want(d.span, Want::Kind(TokenKind::Date));
    }

    fn file(&mut self, f: &File) {
        for item in &f.items {
            self.item(item);
        }
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Flow(d) => {
                self.text(&d.name);
                for s in &d.settings {
                    match &s.kind {
                        FlowSettingKind::Timezone(t) => self.text(t),
                        FlowSettingKind::Start(id) | FlowSettingKind::WindowTemplate(id) => {
                            self.ident(id)
                        }
                        FlowSettingKind::OptOut(ts) | FlowSettingKind::OptIn(ts) => self.texts(ts),
                        FlowSettingKind::Budget(n) => self.num(n),
                        FlowSettingKind::Intents { threshold, margin } => {
                            for n in threshold.iter().chain(margin) {
                                self.num(n);
                            }
                        }
                    }
                }
            }
            Item::Hours(d) => {
                self.ident(&d.name);
                if let Some(t) = &d.timezone {
                    self.text(t);
                }
                for rule in &d.rules {
                    for day in &rule.days {
                        // A single day is one keyword; a range `mon-fri` has no span per end.
                        if day.to.is_none() {
                            self.keyword(day.span);
                        }
                    }
                    self.clock(&rule.from);
                    self.clock(&rule.to);
                }
                for date in &d.closed {
                    self.date(date);
                }
            }
            Item::Team(d) => {
                self.ident(&d.name);
                self.texts(&d.agents);
                if let Some(h) = &d.hours {
                    self.ident(h);
                }
            }
            Item::Field(d) => {
                self.ident(&d.name);
                self.field_type(&d.ty);
                if let Some(t) = &d.invalid {
                    self.text(t);
                }
            }
            Item::Template(d) => {
                self.ident(&d.name);
                self.text(&d.wa_name);
                self.text(&d.lang);
                for p in &d.params {
                    self.ident(p);
                }
            }
            Item::Webhook(d) => {
                self.ident(&d.name);
                self.text(&d.url);
                if let Some(env) = &d.secret {
                    self.text(&env.var);
                }
                if let Some(retry) = &d.retry {
                    self.num(&retry.attempts);
                    if let Some(b) = &retry.backoff {
                        self.duration(b);
                    }
                }
                if let Some(t) = &d.timeout {
                    self.duration(t);
                }
            }
            Item::Intent(d) => {
                self.ident(&d.name);
                self.texts(&d.examples);
                if let Some(t) = &d.threshold {
                    self.num(t);
                }
            }
            Item::Knowledge(d) => {
                self.ident(&d.name);
                self.text(&d.path);
            }
            Item::Ai(d) => {
                self.ident(&d.name);
                self.text(&d.url);
                if let Some(m) = &d.model {
                    self.text(m);
                }
                if let Some(k) = &d.key {
                    self.text(&k.var);
                }
                if let Some(t) = &d.timeout {
                    self.duration(t);
                }
                if let Some(r) = &d.retry {
                    self.num(r);
                }
            }
            Item::Form(d) => {
                self.ident(&d.name);
                self.text(&d.title);
                for screen in &d.screens {
                    self.text(&screen.title);
                    for input in &screen.inputs {
                        self.ident(&input.name);
                        if let Some(l) = &input.label {
                            self.text(l);
                        }
                        if let Some(ty) = &input.ty {
                            self.field_type(ty);
                        }
                    }
                }
            }
            Item::Event(d) => {
                self.ident(&d.name);
                for k in &d.keys {
                    self.ident(&k.name);
                    self.field_type(&k.ty);
                }
            }
            Item::Migrate(d) => {
                for r in &d.rules {
                    if let Some(s) = &r.stage {
                        self.ident(s);
                    }
                    match &r.action {
                        MigrateAction::Goto(s) => self.ident(s),
                        MigrateAction::Keep => {}
                        MigrateAction::Close { reason, template } => {
                            if let Some(t) = reason {
                                self.text(t);
                            }
                            if let Some(m) = template {
                                self.message(m);
                            }
                        }
                    }
                }
            }
            Item::Stage(d) => {
                self.ident(&d.name);
                self.handlers(&d.handlers);
            }
            Item::Anywhere(d) => self.handlers(&d.handlers),
            Item::Test(d) => {
                self.text(&d.name);
                for step in &d.steps {
                    self.step(step);
                }
            }
            Item::Sla(d) => {
                self.ident(&d.name);
                for t in &d.teams {
                    self.ident(t);
                }
                for target in &d.targets {
                    self.duration(&target.within);
                    if let Some(h) = &target.inside {
                        self.ident(h);
                    }
                    if let Some(b) = &target.breach {
                        self.block(b);
                    }
                }
            }
        }
    }

    fn field_type(&mut self, ty: &FieldType) {
        match &ty.kind {
            FieldKind::Text { pattern, length } => {
                if let Some(r) = pattern {
                    self.regex(r);
                }
                if let Some((a, b)) = length {
                    self.num(a);
                    self.num(b);
                }
            }
            FieldKind::Number { range } => {
                if let Some((a, b)) = range {
                    self.num(a);
                    self.num(b);
                }
            }
            FieldKind::Date { after, before } => {
                for bound in [after, before].into_iter().flatten() {
                    match bound {
                        DateBound::Today(span) => self.keyword(*span),
                        DateBound::Date(d) => self.date(d),
                    }
                }
            }
            FieldKind::Choice(ts) => self.texts(ts),
            FieldKind::Email | FieldKind::Phone | FieldKind::YesNo => {}
        }
    }

    fn handlers(&mut self, hs: &[Handler]) {
        for h in hs {
            match &h.trigger.kind {
                TriggerKind::Keyword(ts) | TriggerKind::Button(ts) | TriggerKind::Choice(ts) => {
                    self.texts(ts)
                }
                TriggerKind::Regex(r) => self.regex(r),
                TriggerKind::FormSubmitted(id) => self.ident(id),
                TriggerKind::Intent(ids) => {
                    for id in ids {
                        self.ident(id);
                    }
                }
                TriggerKind::Event { name, optout } => {
                    self.ident(name);
                    if let Some(b) = optout {
                        self.block(b);
                    }
                }
                TriggerKind::Silence(d) | TriggerKind::InStage(d) => self.duration(d),
                TriggerKind::Enter
                | TriggerKind::Message
                | TriggerKind::Media(_)
                | TriggerKind::When
                | TriggerKind::Otherwise => {}
            }
            if let Some(g) = &h.guard {
                self.expr(g);
            }
            self.block(&h.body);
        }
    }

    fn block(&mut self, b: &Block) {
        for a in &b.actions {
            self.action(a);
        }
    }

    fn entries(&mut self, es: &[ObjEntry]) {
        for e in es {
            self.ident(&e.key);
            self.expr(&e.value);
        }
    }

    fn action(&mut self, a: &Action) {
        match &a.kind {
            ActionKind::Reply(m) => self.message(m),
            ActionKind::Ask {
                field,
                prompt,
                tries,
                fallback,
            } => {
                self.ident(field);
                self.text(prompt);
                if let Some(n) = tries {
                    self.num(n);
                }
                if let Some(b) = fallback {
                    self.block(b);
                }
            }
            ActionKind::Set { field, value } => {
                self.ident(field);
                self.expr(value);
            }
            ActionKind::Tag(ts) | ActionKind::Untag(ts) => self.texts(ts),
            ActionKind::Route { team, priority } => {
                self.ident(team);
                if let Some(p) = priority {
                    self.keyword(p.span);
                }
            }
            ActionKind::Assign(t) => self.text(t),
            ActionKind::Priority(p) => self.keyword(p.span),
            ActionKind::Handoff(team) => {
                if let Some(t) = team {
                    self.ident(t);
                }
            }
            ActionKind::Post { webhook, body } => {
                self.ident(webhook);
                self.entries(body);
            }
            ActionKind::Call {
                webhook,
                body,
                save,
                timeout,
                fallback,
            } => {
                self.ident(webhook);
                self.entries(body);
                for s in save {
                    self.ident(s);
                }
                if let Some(t) = timeout {
                    self.duration(t);
                }
                if let Some(b) = fallback {
                    self.block(b);
                }
            }
            ActionKind::Goto(id) => self.ident(id),
            ActionKind::Answer {
                knowledge,
                via,
                fallback,
            } => {
                self.ident(knowledge);
                match via {
                    AnswerVia::Threshold(Some(n)) => self.num(n),
                    AnswerVia::Threshold(None) => {}
                    AnswerVia::Ai(a) => self.ident(a),
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
                self.ident(ai);
                if let Some(t) = instructions {
                    self.text(t);
                }
                for id in into {
                    self.ident(id);
                }
                if let Some(b) = fallback {
                    self.block(b);
                }
            }
            ActionKind::Close(reason) => {
                if let Some(t) = reason {
                    self.text(t);
                }
            }
            ActionKind::Ignore => {}
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
        }
    }

    fn message(&mut self, m: &Message) {
        match &m.kind {
            MessageKind::Text(t) => self.text(t),
            MessageKind::Buttons { body, buttons } => {
                self.text(body);
                self.texts(buttons);
            }
            MessageKind::List { body, button, rows } => {
                self.text(body);
                self.text(button);
                self.texts(rows);
            }
            MessageKind::Template { name, args } => {
                self.ident(name);
                for e in args {
                    self.expr(e);
                }
            }
            MessageKind::Form { name, body } => {
                self.ident(name);
                self.text(body);
            }
        }
    }

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Str(t) => self.text(t),
            ExprKind::Num(_) => self.expr_literal(e, TokenKind::Number),
            ExprKind::Bool(_) | ExprKind::Today | ExprKind::Now => {
                self.expr_literal(e, TokenKind::Keyword)
            }
            ExprKind::Duration(d) => self.duration(d),
            ExprKind::Date(d) => self.date(d),
            ExprKind::Clock(c) => self.clock(c),
            ExprKind::Path(ids) => {
                for id in ids {
                    self.ident(id);
                }
            }
            ExprKind::List(es) => {
                for x in es {
                    self.expr(x);
                }
            }
            ExprKind::Unary { expr, .. } => self.expr(expr),
            ExprKind::Binary { lhs, rhs, .. } => {
                self.expr(lhs);
                self.expr(rhs);
            }
            ExprKind::HasTag { subject, tag, .. } => {
                self.expr(subject);
                self.text(tag);
            }
            ExprKind::InHours { hours, .. } => self.ident(hours),
            ExprKind::IsSet { expr, .. } => self.expr(expr),
            ExprKind::Matches { expr, regex } => {
                self.expr(expr);
                self.regex(regex);
            }
        }
    }

    fn step(&mut self, s: &TestStep) {
        match &s.kind {
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
            StepKind::SendMedia(_) => {}
            StepKind::Submit { form, values } => {
                self.ident(form);
                self.entries(values);
            }
            StepKind::Event { name, values } => {
                self.ident(name);
                self.entries(values);
            }
            StepKind::Respond { webhook, answer } => {
                self.ident(webhook);
                if let Some(values) = answer {
                    self.entries(values);
                }
            }
            StepKind::Advance(d) => self.duration(d),
            StepKind::Clock { date, time } => {
                self.date(date);
                self.clock(time);
            }
            StepKind::Agent(a) => match a {
                AgentStep::Reply(t) | AgentStep::Assign(t) => self.text(t),
                AgentStep::Resolve(r) => {
                    if let Some(t) = r {
                        self.text(t);
                    }
                }
                AgentStep::Release => {}
                AgentStep::Route(team) => self.ident(team),
            },
            StepKind::Expect(x) => match x {
                Expectation::Stage(id) | Expectation::Routed(id) | Expectation::Template(id) => {
                    self.ident(id)
                }
                Expectation::Assigned(t) | Expectation::Tagged(t) => self.text(t),
                Expectation::Reply(r) => match r {
                    ReplyMatch::Exact(t) | ReplyMatch::Contains(t) => self.text(t),
                    ReplyMatch::Matching(re) => self.regex(re),
                },
                Expectation::Field(e) => self.expr(e),
                Expectation::Posted { webhook, body } => {
                    self.ident(webhook);
                    self.entries(body);
                }
                Expectation::Closed(reason) => {
                    if let Some(t) = reason {
                        self.text(t);
                    }
                }
                Expectation::Sla { sla, .. } => self.ident(sla),
                Expectation::Event { kind, detail } => {
                    self.ident(kind);
                    if let Some(t) = detail {
                        self.text(t);
                    }
                }
                Expectation::Handoff | Expectation::SentNothing => {}
                Expectation::Intent { intent, above } => {
                    if let Some(id) = intent {
                        self.ident(id);
                    }
                    if let Some(n) = above {
                        self.num(n);
                    }
                }
            },
        }
    }
}

fn spans_of(file: &File) -> Spans {
    let mut walk = Walk::default();
    walk.file(file);
    walk.spans
}

fn show(src: &str, span: Span) -> String {
    format!(
        "{}..{} {:?}",
        span.start,
        span.end,
        src.get(span.range()).unwrap_or("<not on char boundaries>")
    )
}

/// True when the tokens of `span` are exactly `(`… one token of `kind` …`)`, balanced,
/// with only trivia in between.
fn parenthesised(src: &str, toks: &[Token], span: Span, kind: TokenKind) -> bool {
    let range = span.range();
    let inside: Vec<Token> = toks
        .iter()
        .filter(|t| overlaps(t.range(), range.clone()))
        .copied()
        .collect();
    let tiles = inside.first().is_some_and(|t| t.start == range.start)
        && inside.last().is_some_and(|t| t.end == range.end);
    let solid: Vec<&str> = inside
        .iter()
        .filter(|t| !t.kind.is_trivia())
        .map(|t| &src[t.range()])
        .collect();
    let depth = solid.len() / 2;
    let middle = inside
        .iter()
        .filter(|t| !t.kind.is_trivia())
        .nth(depth)
        .is_some_and(|t| t.kind == kind);
    tiles
        && depth > 0
        && solid.len() == 2 * depth + 1
        && solid[..depth].iter().all(|s| *s == "(")
        && solid[depth + 1..].iter().all(|s| *s == ")")
        && middle
}

fn overlaps(a: std::ops::Range<usize>, b: std::ops::Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

/// Every way the lexer's tokens of `src` disagree with the tree, as readable lines.
fn disagreements(src: &str, file: &File) -> Vec<String> {
    let toks = lexer::tokens(src);
    let spans = spans_of(file);
    let mut out = Vec::new();
    let token_at = |start: usize| -> Option<Token> {
        toks.binary_search_by_key(&start, |t| t.start)
            .ok()
            .and_then(|i| toks.get(i).copied())
    };

    for (span, want) in &spans.exact {
        let tok = token_at(span.start as usize).filter(|t| t.end == span.end as usize);
        let ok = match (tok, want) {
            (Some(t), Want::Kind(k) | Want::Expr(k)) => t.kind == *k,
            (Some(t), Want::Word) => matches!(t.kind, TokenKind::Ident | TokenKind::Keyword),
            (None, Want::Expr(k)) => parenthesised(src, &toks, *span, *k),
            (None, _) => false,
        };
        if !ok {
            let covering: Vec<String> = toks
                .iter()
                .filter(|t| overlaps(t.range(), span.range()))
                .map(|t| format!("{:?} {:?}", t.kind, &src[t.range()]))
                .collect();
            out.push(format!(
                "tree has {want:?} at {}, lexer has [{}]",
                show(src, *span),
                covering.join(", ")
            ));
        }
    }

    for span in &spans.interpolated {
        let inside = toks
            .iter()
            .filter(|t| t.kind == TokenKind::String)
            .flat_map(|t| lexer::interpolations(src, *t))
            .any(|r| r.start <= span.start as usize && span.end as usize <= r.end);
        if !inside {
            out.push(format!(
                "interpolated node at {} is not inside a lexer interpolation",
                show(src, *span)
            ));
        }
    }

    for comment in toks.iter().filter(|t| t.kind == TokenKind::Comment) {
        for q in &spans.quoted {
            if overlaps(comment.range(), q.range()) {
                out.push(format!(
                    "lexer comment {:?} overlaps the string or regex at {}",
                    &src[comment.range()],
                    show(src, *q)
                ));
            }
        }
    }
    out
}

fn errors(src: &str) -> Vec<String> {
    lexer::tokens(src)
        .into_iter()
        .filter(|t| t.kind == TokenKind::Error)
        .map(|t| format!("error token {}..{} {:?}", t.start, t.end, &src[t.range()]))
        .collect()
}

/// Checks one source the parser accepts; returns the problems found.
fn check_accepted(name: &str, src: &str) -> Vec<String> {
    let parsed = syntax::parse(FileId(0), src);
    if !parsed.diagnostics.is_empty() {
        return Vec::new();
    }
    errors(src)
        .into_iter()
        .chain(disagreements(src, &parsed.file))
        .map(|p| format!("{name}: {p}"))
        .collect()
}

fn flow_files(dir: &Path, only_ok: bool, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            flow_files(&path, only_ok, out);
        } else if path.extension().is_some_and(|e| e == "flow")
            && (!only_ok
                || path
                    .parent()
                    .and_then(|p| p.file_name())
                    .is_some_and(|n| n == "ok"))
        {
            out.push(path);
        }
    }
}

#[test]
fn case_and_example_files_agree() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    flow_files(&root.join("tests/cases"), true, &mut files);
    flow_files(&root.join("examples"), false, &mut files);
    files.sort();
    let mut problems = Vec::new();
    for path in &files {
        let src = std::fs::read_to_string(path).expect("test file is readable UTF-8");
        problems.extend(check_accepted(&path.display().to_string(), &src));
    }
    assert!(
        problems.is_empty(),
        "lexer and parser disagree:\n{}",
        problems.join("\n")
    );
}

/// Sources covering the whole syntax summary, so the test means something before the case
/// folders fill up.
const SUMMARY: &[(&str, &str)] = &[
    (
        "declarations",
        r#"
flow "Acme Support" {
  timezone "America/Sao_Paulo"
  start entry                        // start stage; default: first stage declared
  optout "STOP", "SAIR", "PARAR"
  optin "START", "VOLTAR"
  window template back_soon
  budget 200;
}

hours office {
  timezone "America/Sao_Paulo"
  mon-fri 09:00-18:00
  sat 09:00-12:00; sun 10:00-14:00
  mon, wed 22:00-02:00
  closed 2026-12-25, 2027-01-01
}

team billing { agents "ana@acme.com", "joao@acme.com"; hours office }
team technical { agents "li@acme.com" }

field order: text matching /^[A-Z]{2}[0-9]{6}$/
  invalid "Order numbers look like AB123456. Please send it again."
field name: text length between 2 and 80
field quantity: number between 1 and 100
field email: email
field mobile: phone
field birthday: date past
field visit: date future
field start_day: date after today before 2027-12-31
field urgency: choice "low", "normal", "high"
field consent: yesno
field path: text matching /a\/b\\/

template back_soon "we_are_back" lang "pt_BR"
template order_ready "order_ready" lang "en_US" with name, order

webhook crm "https://crm.example.com/hooks/whatsapp" {
  secret env("CRM_SECRET")
  retry 5 every 30s
  timeout 10s
}
webhook slack "https://hooks.slack.example/T000"

form booking "Book a visit" {
  screen "When" {
    day: date "Preferred day" after today
    period: choice "Period" "Morning", "Afternoon"
    notes: text "Anything else?" optional
  }
  screen "Contact" { email }
}
"#,
    ),
    (
        "handlers and actions",
        r#"
stage entry {
  on enter { reply "Hello {contact.name}, order {order}!" }
  on message when outside office { reply "We are closed \{until 9\}." }
  on keyword "fatura", "boleto" { route billing priority high }
  on regex /pedido\s+\d+/ { goto service }
  on button "Billing", "Other" { handoff billing }
  on choice "Delivery" { handoff }
  on image { ignore }
  on location { close "resolved" }
  on media { close }
  on form booking submitted { reply "Booked for {day}" }
  when contact has tag "vip" { priority urgent }
  after 10m silence { reply template back_soon() }
  after 2h in stage { send template back_soon }
  after 1h30m silence { ignore }
  otherwise {
    reply buttons "How can we help?" ["Billing", "Technical", "Other"]
    reply list "Pick a topic" button "Topics" ["Billing", "Delivery", "Returns"]
    reply template order_ready(contact.name, order)
    reply form booking "Pick a day for your visit"
    ask order "What is your order number?" tries 3 else { handoff technical }
    ask quantity "How many?" else close "no answer"
    set urgency = "high"
    set quantity = quantity * 2 + 1 - 3 / 4
    tag "vip", "gold"
    untag "vip"
    assign "ana@acme.com"
    post crm { phone: contact.phone, order: order }
    call crm { order: order } save status, eta timeout 5s else { ignore }
    if contact.country in ["BR", "PT"] and not contact.returning {
      reply "Olá"
    } else if message.text matches /^oi$/ or order is not set {
      reply "Hi {contact.attr.plan}"
    } else {
      reply "{quantity} items"
    }
  }
}

anywhere {
  on message when message.text contains "humano" and quantity >= 3.5 { handoff }
  on message when today == 2026-12-25 or now < 09:00 or -quantity != 0 { ignore }
  on message when card.priority <= 2 and true != false and order is set { ignore }
}
"#,
    ),
    (
        "tests",
        r#"
test "billing words go to billing" {
  contact "+55 11 98888-7777" named "Ana" tagged "vip", "gold" returning
  send "preciso da segunda via do boleto"
  send image
  tap "Billing"
  choose "Delivery"
  submit booking { day: 2026-12-01, period: "Morning" }
  advance 25h
  expect stage service
  expect routed billing
  expect assigned "ana@acme.com"
  expect reply "exact text"
  expect reply contains "part"
  expect reply matching /^Hello .*\/ok$/
  expect template back_soon
  expect field order == "AB123456"
  expect posted crm { order: "AB123456" }
  expect tagged "vip"
  expect handoff
  expect closed "reason"
  expect closed
  expect sent nothing
  expect intent refund above 0.5
  expect intent refund
  expect no intent
}
"#,
    ),
    (
        "intents, knowledge and ai",
        r#"
flow "Acme" { timezone "UTC"; intents threshold 0.15 margin 0.02 }
intent refund {
  examples "quero meu dinheiro de volta", "quiero un reembolso"
  examples "I want a refund"
  threshold 0.25
}
knowledge help from "help_center.md"
ai helper "https://api.example.com/v1/chat/completions" {
  model "gpt-4o-mini"
  key env("OPENAI_API_KEY")
  timeout 8s
  retry 2
}
stage triage {
  on intent refund, delivery when contact has no tag "vip" { answer help threshold 0.3 else { handoff } }
  on intent cancel { answer help with helper else handoff }
  otherwise { classify with helper "We sell phones." into refund, delivery else { handoff desk } }
}
"#,
    ),
];

#[test]
fn summary_sources_agree() {
    let mut problems = Vec::new();
    for (name, src) in SUMMARY {
        // These sources are valid by construction: the parser must accept them, or the
        // comparison below would be skipped without anyone noticing.
        let parsed = syntax::parse(FileId(0), src);
        problems.extend(
            parsed
                .diagnostics
                .iter()
                .map(|d| format!("{name}: the parser rejects it: {}", d.message)),
        );
        problems.extend(errors(src).into_iter().map(|e| format!("{name}: {e}")));
        problems.extend(
            disagreements(src, &parsed.file)
                .into_iter()
                .map(|p| format!("{name}: {p}")),
        );
    }
    assert!(
        problems.is_empty(),
        "lexer and parser disagree:\n{}",
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// The walker and the comparison themselves, on a tree built by hand.
// ---------------------------------------------------------------------------------------

const HAND: &str = r#"hours office { mon-fri 09:00-18:00; sun 10:00-14:00; closed 2026-12-25 }
field order: text matching /^[A-Z]+$/ invalid "Bad {order}" // a note
stage triage {
  after 10m silence { set qty = 3.5 }
}
"#;

/// The span of the `nth` occurrence of `needle` in [`HAND`].
fn at(needle: &str, nth: usize) -> Span {
    let start = HAND
        .match_indices(needle)
        .nth(nth)
        .map(|(i, _)| i)
        .expect("needle occurs in the hand-written source");
    Span::new(FileId(0), start, start + needle.len())
}

fn id(name: &str, nth: usize) -> Ident {
    Ident {
        name: name.to_string(),
        span: at(name, nth),
    }
}

fn clock(text: &str) -> ClockLit {
    ClockLit {
        hour: 0,
        minute: 0,
        span: at(text, 0),
    }
}

/// The tree a correct parser builds for [`HAND`].
fn hand_tree() -> File {
    let hours = HoursDecl {
        name: id("office", 0),
        timezone: None,
        rules: vec![
            HoursRule {
                days: vec![DaySpec {
                    from: Weekday::Mon,
                    to: Some(Weekday::Fri),
                    span: at("mon-fri", 0),
                }],
                from: clock("09:00"),
                to: clock("18:00"),
                span: at("mon-fri 09:00-18:00", 0),
            },
            HoursRule {
                days: vec![DaySpec {
                    from: Weekday::Sun,
                    to: None,
                    span: at("sun", 0),
                }],
                from: clock("10:00"),
                to: clock("14:00"),
                span: at("sun 10:00-14:00", 0),
            },
        ],
        closed: vec![DateLit {
            year: 2026,
            month: 12,
            day: 25,
            span: at("2026-12-25", 0),
        }],
        span: at("hours", 0),
    };
    let field = FieldDecl {
        name: id("order", 0),
        ty: FieldType {
            kind: FieldKind::Text {
                pattern: Some(RegexLit {
                    source: "^[A-Z]+$".into(),
                    span: at("/^[A-Z]+$/", 0),
                }),
                length: None,
            },
            span: at("text", 0),
        },
        invalid: Some(Text {
            value: "Bad {order}".into(),
            parts: vec![
                TextPart::Lit("Bad ".into()),
                TextPart::Interp(Expr {
                    kind: ExprKind::Path(vec![id("order", 1)]),
                    span: at("order", 1),
                }),
            ],
            span: at(r#""Bad {order}""#, 0),
        }),
        span: at("field", 0),
    };
    let stage = StageDecl {
        name: id("triage", 0),
        handlers: vec![Handler {
            trigger: Trigger {
                kind: TriggerKind::Silence(DurationLit {
                    seconds: 600,
                    span: at("10m", 0),
                }),
                span: at("after 10m silence", 0),
            },
            guard: None,
            body: Block {
                actions: vec![Action {
                    kind: ActionKind::Set {
                        field: id("qty", 0),
                        value: Expr {
                            kind: ExprKind::Num(3.5),
                            span: at("3.5", 0),
                        },
                    },
                    span: at("set qty = 3.5", 0),
                }],
                span: at("{ set qty = 3.5 }", 0),
            },
            span: at("after", 0),
        }],
        span: at("stage", 0),
    };
    File {
        items: vec![Item::Hours(hours), Item::Field(field), Item::Stage(stage)],
        span: Span::new(FileId(0), 0, HAND.len()),
    }
}

#[test]
fn walker_accepts_a_correct_tree() {
    let tree = hand_tree();
    let spans = spans_of(&tree);
    // office, 09:00, 18:00, sun, 10:00, 14:00, 2026-12-25, order, regex, string, triage,
    // 10m, qty, 3.5; `order` inside the interpolation is checked separately.
    assert_eq!(spans.exact.len(), 14, "{spans:#?}");
    assert_eq!(spans.interpolated, vec![at("order", 1)]);
    assert_eq!(disagreements(HAND, &tree), Vec::<String>::new());
}

fn first_field(tree: &mut File) -> &mut FieldDecl {
    match tree.items.get_mut(1) {
        Some(Item::Field(f)) => f,
        _ => panic!("the hand tree has a field second"),
    }
}

#[test]
fn walker_reports_a_string_span_off_by_one() {
    let mut tree = hand_tree();
    if let Some(t) = &mut first_field(&mut tree).invalid {
        t.span.end -= 1;
    }
    let found = disagreements(HAND, &tree);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].contains("Kind(String)"), "{found:#?}");
}

#[test]
fn walker_reports_a_wrong_kind() {
    let mut tree = hand_tree();
    if let Some(Item::Hours(h)) = tree.items.get_mut(0) {
        // Claim the date is a clock time.
        h.rules[0].from.span = h.closed[0].span;
    }
    let found = disagreements(HAND, &tree);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].contains("Kind(Clock)"), "{found:#?}");
}

#[test]
fn walker_reports_names_and_numbers_split_differently() {
    let mut tree = hand_tree();
    first_field(&mut tree).name.span.end -= 1;
    if let Some(Item::Stage(s)) = tree.items.get_mut(2)
        && let ActionKind::Set { value, .. } = &mut s.handlers[0].body.actions[0].kind
    {
        value.span.end -= 2; // `3` of `3.5`
    }
    let found = disagreements(HAND, &tree);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].contains("Word"), "{found:#?}");
    assert!(found[1].contains("Expr(Number)"), "{found:#?}");
}

#[test]
fn walker_reports_interpolated_nodes_outside_the_braces() {
    let mut tree = hand_tree();
    if let Some(t) = &mut first_field(&mut tree).invalid
        && let Some(TextPart::Interp(e)) = t.parts.get_mut(1)
    {
        e.kind = ExprKind::Path(vec![id("Bad", 0)]);
    }
    let found = disagreements(HAND, &tree);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].contains("interpolat"), "{found:#?}");
}

#[test]
fn expression_literals_may_keep_their_parentheses() {
    let src = "x ( (3.5 ) ) y (4";
    let toks = lexer::tokens(src);
    let span = |a: usize, b: usize| Span::new(FileId(0), a, b);
    assert!(parenthesised(src, &toks, span(2, 12), TokenKind::Number));
    assert!(parenthesised(src, &toks, span(4, 10), TokenKind::Number));
    // Unbalanced, cut short, or the wrong kind inside.
    assert!(!parenthesised(src, &toks, span(2, 10), TokenKind::Number));
    assert!(!parenthesised(src, &toks, span(2, 11), TokenKind::Number));
    assert!(!parenthesised(src, &toks, span(15, 17), TokenKind::Number));
    assert!(!parenthesised(src, &toks, span(2, 12), TokenKind::Keyword));
    assert!(!parenthesised(src, &toks, span(0, 14), TokenKind::Number));
}

#[test]
fn walker_reports_a_comment_inside_a_string() {
    // A tree that believes the string runs on over the comment.
    let mut tree = hand_tree();
    if let Some(t) = &mut first_field(&mut tree).invalid {
        t.span = at(r#""Bad {order}" // a note"#, 0);
    }
    let found = disagreements(HAND, &tree);
    assert!(found.iter().any(|f| f.contains("comment")), "{found:#?}");
}
