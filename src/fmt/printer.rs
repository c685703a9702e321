//! The pretty-printer: walks the tree and emits canonical lines, interleaving the
//! comments by position (an own-line comment goes before the first node that follows it,
//! a trailing comment goes to the end of the line printed last).

mod sla;

use super::Comment;
use crate::syntax::ast::{
    self, Action, ActionKind, Block, DateBound, DaySpec, Expectation, Expr, ExprKind, FieldKind,
    FieldType, FlowSettingKind, FormInput, Handler, Item, MessageKind, ObjEntry, ReplyMatch,
    StepKind, Text, TriggerKind, UnOp,
};
use crate::syntax::span::Span;

/// Prints a tree as canonical text. `src` is the text the tree was parsed from; literals
/// are copied from it as written.
pub(super) fn print(src: &str, file: &ast::File, comments: &[Comment]) -> String {
    let mut p = Printer {
        src,
        comments,
        next: 0,
        lines: Vec::new(),
        last_end: 0,
        block_start: true,
    };
    let mut prev_multi = false;
    for item in &file.items {
        let mark = p.lines.len();
        p.item(item);
        let code = p
            .lines
            .get(mark..)
            .unwrap_or(&[])
            .iter()
            .filter(|l| l.code)
            .count();
        // A field whose `invalid` message sits on its own line is not a block.
        let multi = code > 1 && !matches!(item, Item::Field(_));
        let blank_at = |i: usize, lines: &[Line]| lines.get(i).is_some_and(Line::is_blank);
        if (multi || prev_multi)
            && mark > 0
            && !blank_at(mark, &p.lines)
            && !blank_at(mark - 1, &p.lines)
        {
            p.lines.insert(mark, Line::blank());
        }
        prev_multi = multi;
    }
    p.flush(usize::MAX, 0);
    let mut out = String::new();
    for line in &p.lines {
        if !line.is_blank() {
            for _ in 0..line.indent {
                out.push_str("  ");
            }
            out.push_str(&line.text);
            if let Some(c) = &line.comment {
                if !line.text.is_empty() {
                    out.push(' ');
                }
                out.push_str(c);
            }
        }
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    if out.trim().is_empty() {
        return String::new();
    }
    out
}

#[derive(Debug)]
struct Line {
    indent: usize,
    text: String,
    comment: Option<String>,
    /// False for blank lines and own-line comments.
    code: bool,
}

impl Line {
    fn blank() -> Line {
        Line {
            indent: 0,
            text: String::new(),
            comment: None,
            code: false,
        }
    }

    fn is_blank(&self) -> bool {
        self.text.is_empty() && self.comment.is_none()
    }
}

/// A statement printed on one line, with its source span (for comments and blank lines).
struct Stmt {
    start: usize,
    end: usize,
    text: String,
}

fn stmt(span: Span, text: String) -> Stmt {
    Stmt {
        start: span.start as usize,
        end: span.end as usize,
        text,
    }
}

struct Printer<'a> {
    src: &'a str,
    comments: &'a [Comment],
    next: usize,
    lines: Vec<Line>,
    /// Source offset up to which everything has been printed.
    last_end: usize,
    /// True right after a `{` line: no blank line may follow.
    block_start: bool,
}

impl Printer<'_> {
    // --- the line emitter -----------------------------------------------------------

    /// Prints the comments that start before `pos`.
    fn flush(&mut self, pos: usize, indent: usize) {
        while let Some(c) = self.comments.get(self.next) {
            if c.start >= pos {
                break;
            }
            self.next += 1;
            let attach = c.trailing
                && self
                    .lines
                    .last()
                    .is_some_and(|l| l.code && l.comment.is_none());
            if attach {
                if let Some(last) = self.lines.last_mut() {
                    last.comment = Some(c.text.clone());
                }
            } else {
                self.blank_before(c.start);
                self.lines.push(Line {
                    indent,
                    text: String::new(),
                    comment: Some(c.text.clone()),
                    code: false,
                });
                self.block_start = false;
            }
            self.last_end = self.last_end.max(c.end);
        }
    }

    /// Keeps one blank line where the source had at least one.
    fn blank_before(&mut self, pos: usize) {
        if self.block_start || self.lines.last().is_none_or(Line::is_blank) {
            return;
        }
        let gap = self.src.get(self.last_end.min(pos)..pos).unwrap_or("");
        let pieces: Vec<&str> = gap.split('\n').collect();
        let blank = pieces.len() >= 3
            && pieces
                .get(1..pieces.len() - 1)
                .is_some_and(|mid| mid.iter().any(|l| l.trim().is_empty()));
        if blank {
            self.lines.push(Line::blank());
        }
    }

    fn emit(&mut self, indent: usize, start: usize, end: usize, text: String) {
        self.flush(start, indent);
        self.blank_before(start);
        self.lines.push(Line {
            indent,
            text,
            comment: None,
            code: true,
        });
        self.block_start = false;
        let end = self.trimmed(Span::new(Default::default(), start, end)).end as usize;
        self.last_end = self.last_end.max(end);
    }

    /// A line ending in `{`; `brace` is the offset of the `{`.
    fn open(&mut self, indent: usize, start: usize, brace: usize, text: String) {
        self.emit(indent, start, brace + 1, text);
        self.block_start = true;
    }

    /// A `}` line for a block ending at `end`; comments before it stay inside the block.
    fn close(&mut self, indent: usize, end: usize) {
        self.close_with(indent, end, "}".into());
    }

    /// A line such as `} else {` that closes one block and opens the next.
    fn close_with(&mut self, indent: usize, end: usize, text: String) {
        self.flush(end.saturating_sub(1), indent + 1);
        self.lines.push(Line {
            indent,
            text,
            comment: None,
            code: true,
        });
        self.block_start = text_opens(self.lines.last());
        self.last_end = self.last_end.max(end);
    }

    /// A declaration block of one-line statements: on one line if it was written on one
    /// line without comments, else one statement per line.
    fn simple_block(&mut self, indent: usize, span: Span, header: String, mut body: Vec<Stmt>) {
        body.sort_by_key(|s| s.start);
        let (start, end) = (span.start as usize, span.end as usize);
        let inner: Vec<&str> = body.iter().map(|s| s.text.as_str()).collect();
        let flat = format!("{header} {}", braces(&inner));
        if (self.flat_ok(span) && fits(indent, &flat))
            || (body.is_empty() && !self.has_comment(span))
        {
            self.emit(indent, start, end, flat);
            return;
        }
        let brace = self.find_brace(start, body.first().map_or(end, |s| s.start));
        self.open(indent, start, brace, format!("{header} {{"));
        for s in body {
            self.emit(indent + 1, s.start, s.end, s.text);
        }
        self.close(indent, end);
    }

    // --- source helpers -------------------------------------------------------------

    fn slice(&self, span: Span) -> Option<&str> {
        self.src
            .get(span.range())
            .filter(|s| !s.is_empty() && !s.contains('\n'))
    }

    /// The span without the whitespace and comments a node may end with (a node's span
    /// can reach past its last token to where the parser looked for an optional part).
    fn trimmed(&self, span: Span) -> Span {
        let start = span.start as usize;
        let mut end = span.end as usize;
        loop {
            let kept = self.src.get(start..end).map_or(0, |s| s.trim_end().len());
            end = start + kept;
            match self
                .comments
                .iter()
                .find(|c| c.end == end && c.start >= start)
            {
                Some(c) => end = c.start,
                None => break,
            }
        }
        Span::new(span.file, start, end)
    }

    fn one_line(&self, span: Span) -> bool {
        let span = self.trimmed(span);
        self.src
            .get(span.range())
            .is_some_and(|s| !s.contains('\n'))
    }

    fn has_comment(&self, span: Span) -> bool {
        let span = self.trimmed(span);
        self.comments
            .iter()
            .any(|c| c.start >= span.start as usize && c.start < span.end as usize)
    }

    fn flat_ok(&self, span: Span) -> bool {
        self.one_line(span) && !self.has_comment(span)
    }

    /// The offset of the first `{` in `[from, to)`, or `from`.
    fn find_brace(&self, from: usize, to: usize) -> usize {
        self.src
            .get(from..to.max(from))
            .and_then(|s| s.find('{'))
            .map_or(from, |i| from + i)
    }

    fn starts_with_brace(&self, span: Span) -> bool {
        self.src
            .get(span.start as usize..)
            .is_some_and(|s| s.starts_with('{'))
    }

    // --- literals -------------------------------------------------------------------

    fn text(&self, t: &Text) -> String {
        match self.slice(t.span) {
            Some(s) if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') => s.to_owned(),
            _ => {
                let mut out = String::from("\"");
                for c in t.value.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        '\t' => out.push_str("\\t"),
                        c => out.push(c),
                    }
                }
                out.push('"');
                out
            }
        }
    }

    fn texts(&self, ts: &[Text]) -> String {
        ts.iter()
            .map(|t| self.text(t))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn regex(&self, r: &ast::RegexLit) -> String {
        match self.slice(r.span) {
            Some(s) if s.len() >= 2 && s.starts_with('/') && s.ends_with('/') => s.to_owned(),
            _ => format!("/{}/", r.source.replace('/', "\\/")),
        }
    }

    /// A literal token copied from the source when it looks like one, else `fallback`.
    fn token(&self, span: Span, ok: fn(char) -> bool, fallback: impl FnOnce() -> String) -> String {
        match self.slice(span) {
            Some(s) if s.chars().all(ok) => s.to_owned(),
            _ => fallback(),
        }
    }

    fn num(&self, n: &ast::NumLit) -> String {
        self.token(
            n.span,
            |c| c.is_ascii_digit() || c == '.',
            || fmt_num(n.value),
        )
    }

    fn dur(&self, d: &ast::DurationLit) -> String {
        self.token(
            d.span,
            |c| c.is_ascii_alphanumeric(),
            || fmt_duration(d.seconds),
        )
    }

    fn clock(&self, c: &ast::ClockLit) -> String {
        self.token(
            c.span,
            |ch| ch.is_ascii_digit() || ch == ':',
            || format!("{:02}:{:02}", c.hour, c.minute),
        )
    }

    fn date(&self, d: &ast::DateLit) -> String {
        self.token(
            d.span,
            |c| c.is_ascii_digit() || c == '-',
            || format!("{:04}-{:02}-{:02}", d.year, d.month, d.day),
        )
    }

    fn obj(&self, entries: &[ObjEntry]) -> String {
        if entries.is_empty() {
            return "{}".into();
        }
        let inner: Vec<String> = entries
            .iter()
            .map(|e| format!("{}: {}", e.key.name, self.expr(&e.value)))
            .collect();
        format!("{{ {} }}", inner.join(", "))
    }

    // --- expressions ----------------------------------------------------------------

    fn expr(&self, e: &Expr) -> String {
        self.expr_prec(e).0
    }

    /// The text of an expression and its binding strength (higher binds tighter).
    fn expr_prec(&self, e: &Expr) -> (String, u8) {
        const ATOM: u8 = 8;
        match &e.kind {
            ExprKind::Str(t) => (self.text(t), ATOM),
            ExprKind::Num(v) => (
                self.token(e.span, |c| c.is_ascii_digit() || c == '.', || fmt_num(*v)),
                ATOM,
            ),
            ExprKind::Bool(b) => (b.to_string(), ATOM),
            ExprKind::Duration(d) => (self.dur(d), ATOM),
            ExprKind::Date(d) => (self.date(d), ATOM),
            ExprKind::Clock(c) => (self.clock(c), ATOM),
            ExprKind::Path(segs) => (
                segs.iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join("."),
                ATOM,
            ),
            ExprKind::Today => ("today".into(), ATOM),
            ExprKind::Now => ("now".into(), ATOM),
            ExprKind::List(items) => (
                format!(
                    "[{}]",
                    items
                        .iter()
                        .map(|i| self.expr(i))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                ATOM,
            ),
            ExprKind::Unary { op, expr } => {
                let (level, word) = match op {
                    UnOp::Not => (3, "not "),
                    UnOp::Neg => (7, "-"),
                };
                (format!("{word}{}", self.operand(expr, level)), level)
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let level = op.precedence();
                let l = self.operand(lhs, level);
                let r = self.operand(rhs, level + 1);
                (format!("{l} {} {r}", op.as_str()), level)
            }
            ExprKind::HasTag {
                subject,
                tag,
                negated,
            } => {
                let no = if *negated { "no " } else { "" };
                (
                    format!(
                        "{} has {no}tag {}",
                        self.operand(subject, ATOM),
                        self.text(tag)
                    ),
                    ATOM,
                )
            }
            ExprKind::InHours { hours, negated } => {
                let word = if *negated { "outside" } else { "inside" };
                (format!("{word} {}", hours.name), ATOM)
            }
            ExprKind::IsSet { expr, negated } => {
                let not = if *negated { "not " } else { "" };
                (format!("{} is {not}set", self.operand(expr, ATOM)), ATOM)
            }
            ExprKind::Matches { expr, regex } => (
                format!("{} matches {}", self.operand(expr, ATOM), self.regex(regex)),
                ATOM,
            ),
        }
    }

    /// An operand, in parentheses when it binds looser than `min`.
    fn operand(&self, e: &Expr, min: u8) -> String {
        let (text, level) = self.expr_prec(e);
        if level < min {
            format!("({text})")
        } else {
            text
        }
    }

    // --- declarations ---------------------------------------------------------------

    fn item(&mut self, item: &Item) {
        match item {
            Item::Flow(f) => {
                let body = f
                    .settings
                    .iter()
                    .map(|s| stmt(s.span, self.flow_setting(&s.kind)))
                    .collect();
                self.simple_block(0, f.span, format!("flow {}", self.text(&f.name)), body);
            }
            Item::Hours(h) => {
                let mut body = Vec::new();
                if let Some(tz) = &h.timezone {
                    body.push(stmt(tz.span, format!("timezone {}", self.text(tz))));
                }
                for r in &h.rules {
                    let days: Vec<String> = r.days.iter().map(day_spec).collect();
                    let text = format!(
                        "{} {}-{}",
                        days.join(", "),
                        self.clock(&r.from),
                        self.clock(&r.to)
                    );
                    body.push(stmt(r.span, text));
                }
                for group in self.groups(h.closed.iter().map(|d| d.span).collect()) {
                    let dates: Vec<String> = group
                        .iter()
                        .filter_map(|i| h.closed.get(*i))
                        .map(|d| self.date(d))
                        .collect();
                    let span = group_span(&group, |i| h.closed.get(i).map(|d| d.span));
                    body.push(stmt(span, format!("closed {}", dates.join(", "))));
                }
                self.simple_block(0, h.span, format!("hours {}", h.name.name), body);
            }
            Item::Team(t) => {
                let mut body = Vec::new();
                for group in self.groups(t.agents.iter().map(|a| a.span).collect()) {
                    let agents: Vec<Text> = group
                        .iter()
                        .filter_map(|i| t.agents.get(*i))
                        .cloned()
                        .collect();
                    let span = group_span(&group, |i| t.agents.get(i).map(|a| a.span));
                    body.push(stmt(span, format!("agents {}", self.texts(&agents))));
                }
                if let Some(h) = &t.hours {
                    body.push(stmt(h.span, format!("hours {}", h.name)));
                }
                self.simple_block(0, t.span, format!("team {}", t.name.name), body);
            }
            Item::Field(f) => self.field(f),
            Item::Template(t) => {
                let mut text = format!(
                    "template {} {} lang {}",
                    t.name.name,
                    self.text(&t.wa_name),
                    self.text(&t.lang)
                );
                if !t.params.is_empty() {
                    let names: Vec<&str> = t.params.iter().map(|p| p.name.as_str()).collect();
                    text.push_str(&format!(" with {}", names.join(", ")));
                }
                self.emit(0, t.span.start as usize, t.span.end as usize, text);
            }
            Item::Webhook(w) => {
                let mut body = Vec::new();
                if let Some(s) = &w.secret {
                    body.push(stmt(s.span, format!("secret env({})", self.text(&s.var))));
                }
                if let Some(r) = &w.retry {
                    let mut text = format!("retry {}", self.num(&r.attempts));
                    if let Some(b) = &r.backoff {
                        text.push_str(&format!(" every {}", self.dur(b)));
                    }
                    body.push(stmt(r.span, text));
                }
                if let Some(t) = &w.timeout {
                    body.push(stmt(t.span, format!("timeout {}", self.dur(t))));
                }
                let header = format!("webhook {} {}", w.name.name, self.text(&w.url));
                if body.is_empty() && !self.has_comment(w.span) {
                    self.emit(0, w.span.start as usize, w.span.end as usize, header);
                } else {
                    self.simple_block(0, w.span, header, body);
                }
            }
            Item::Form(f) => {
                let start = f.span.start as usize;
                let mut header = format!("form {} {}", f.name.name, self.text(&f.title));
                if let Some(data) = &f.data {
                    header.push_str(&format!(" data {}", data.webhook.name));
                    if let Some(t) = &data.timeout {
                        header.push_str(&format!(" timeout {}", self.dur(t)));
                    }
                }
                let header_end = f.data.as_ref().map_or(f.title.span.end, |d| d.span.end) as usize;
                if f.screens.is_empty() && !self.has_comment(f.span) {
                    self.emit(0, start, f.span.end as usize, format!("{header} {{}}"));
                    return;
                }
                let first = f
                    .screens
                    .first()
                    .map_or(f.span.end as usize, |s| s.span.start as usize);
                let brace = self.find_brace(header_end, first);
                self.open(0, start, brace, format!("{header} {{"));
                for s in &f.screens {
                    let body = s
                        .inputs
                        .iter()
                        .map(|i| stmt(i.span, self.form_input(i)))
                        .collect();
                    self.simple_block(1, s.span, format!("screen {}", self.text(&s.title)), body);
                }
                self.close(0, f.span.end as usize);
            }
            Item::Intent(i) => {
                let mut body = Vec::new();
                for group in self.groups(i.examples.iter().map(|e| e.span).collect()) {
                    let examples: Vec<Text> = group
                        .iter()
                        .filter_map(|k| i.examples.get(*k))
                        .cloned()
                        .collect();
                    let span = group_span(&group, |k| i.examples.get(k).map(|e| e.span));
                    body.push(stmt(span, format!("examples {}", self.texts(&examples))));
                }
                if let Some(t) = &i.threshold {
                    body.push(stmt(t.span, format!("threshold {}", self.num(t))));
                }
                self.simple_block(0, i.span, format!("intent {}", i.name.name), body);
            }
            Item::Knowledge(k) => {
                let text = format!("knowledge {} from {}", k.name.name, self.text(&k.path));
                self.emit(0, k.span.start as usize, k.span.end as usize, text);
            }
            Item::Ai(a) => {
                let mut body = Vec::new();
                if let Some(m) = &a.model {
                    body.push(stmt(m.span, format!("model {}", self.text(m))));
                }
                if let Some(k) = &a.key {
                    body.push(stmt(k.span, format!("key env({})", self.text(&k.var))));
                }
                if let Some(t) = &a.timeout {
                    body.push(stmt(t.span, format!("timeout {}", self.dur(t))));
                }
                if let Some(r) = &a.retry {
                    body.push(stmt(r.span, format!("retry {}", self.num(r))));
                }
                let header = format!("ai {} {}", a.name.name, self.text(&a.url));
                if body.is_empty() && !self.has_comment(a.span) {
                    self.emit(0, a.span.start as usize, a.span.end as usize, header);
                } else {
                    self.simple_block(0, a.span, header, body);
                }
            }
            Item::Event(e) => {
                let body = e
                    .keys
                    .iter()
                    .map(|k| {
                        let (kw, parts) = self.field_type(&k.ty);
                        let mut text = format!("{}: {kw}", k.name.name);
                        for p in parts {
                            text.push(' ');
                            text.push_str(&p);
                        }
                        if k.optional {
                            text.push_str(" optional");
                        }
                        stmt(k.span, text)
                    })
                    .collect();
                self.simple_block(0, e.span, format!("event {}", e.name.name), body);
            }
            Item::Migrate(m) => {
                let body = m
                    .rules
                    .iter()
                    .map(|r| stmt(r.span, self.migrate_rule(r)))
                    .collect();
                self.simple_block(0, m.span, "migrate".into(), body);
            }
            Item::Stage(s) => self.handler_block(
                s.span,
                s.name.span.end as usize,
                format!("stage {}", s.name.name),
                &s.handlers,
            ),
            Item::Anywhere(a) => self.handler_block(
                a.span,
                a.span.start as usize,
                "anywhere".into(),
                &a.handlers,
            ),
            Item::Test(t) => {
                let body = t
                    .steps
                    .iter()
                    .map(|s| stmt(s.span, self.step(&s.kind)))
                    .collect();
                self.simple_block(0, t.span, format!("test {}", self.text(&t.name)), body);
            }
            Item::Sla(s) => self.sla(s),
        }
    }

    /// Splits literals into statements: two neighbours belong to one statement when only
    /// a comma separates them in the source (`closed A, B` versus `closed A` `closed B`).
    fn groups(&self, spans: Vec<Span>) -> Vec<Vec<usize>> {
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut prev: Option<Span> = None;
        for (i, s) in spans.iter().enumerate() {
            let joined = prev.is_some_and(|p| {
                self.src
                    .get(p.end as usize..s.start as usize)
                    .is_some_and(|gap| gap.trim() == ",")
            });
            match groups.last_mut() {
                Some(g) if joined => g.push(i),
                _ => groups.push(vec![i]),
            }
            prev = Some(*s);
        }
        groups
    }

    fn migrate_rule(&self, r: &ast::MigrateRule) -> String {
        let from = match &r.stage {
            Some(s) => format!("stage {}", s.name),
            None => "otherwise".into(),
        };
        let action = match &r.action {
            ast::MigrateAction::Goto(s) => format!("goto {}", s.name),
            ast::MigrateAction::Keep => "keep".into(),
            ast::MigrateAction::Close { reason, template } => {
                let mut text = "close".to_string();
                if let Some(r) = reason {
                    text.push(' ');
                    text.push_str(&self.text(r));
                }
                if let Some(ast::Message {
                    kind: MessageKind::Template { name, args },
                    ..
                }) = template
                {
                    text.push_str(&format!(" template {}", name.name));
                    if !args.is_empty() {
                        let args: Vec<String> = args.iter().map(|e| self.expr(e)).collect();
                        text.push_str(&format!("({})", args.join(", ")));
                    }
                }
                text
            }
        };
        format!("{from} {action}")
    }

    fn flow_setting(&self, s: &FlowSettingKind) -> String {
        match s {
            FlowSettingKind::Timezone(t) => format!("timezone {}", self.text(t)),
            FlowSettingKind::Start(id) => format!("start {}", id.name),
            FlowSettingKind::OptOut(ts) => format!("optout {}", self.texts(ts)),
            FlowSettingKind::OptIn(ts) => format!("optin {}", self.texts(ts)),
            FlowSettingKind::WindowTemplate(id) => format!("window template {}", id.name),
            FlowSettingKind::Budget(n) => format!("budget {}", self.num(n)),
            FlowSettingKind::Intents { threshold, margin } => {
                let mut text = "intents".to_string();
                if let Some(t) = threshold {
                    text.push_str(&format!(" threshold {}", self.num(t)));
                }
                if let Some(m) = margin {
                    text.push_str(&format!(" margin {}", self.num(m)));
                }
                text
            }
        }
    }

    fn field(&mut self, f: &ast::FieldDecl) {
        let (kw, parts) = self.field_type(&f.ty);
        let mut text = format!("field {}: {kw}", f.name.name);
        for p in parts {
            text.push(' ');
            text.push_str(&p);
        }
        let start = f.span.start as usize;
        match &f.invalid {
            None => self.emit(0, start, f.span.end as usize, text),
            Some(inv) => {
                let gap = self
                    .src
                    .get(f.ty.span.end as usize..inv.span.start as usize)
                    .unwrap_or("");
                let invalid = format!("invalid {}", self.text(inv));
                if gap.contains('\n') {
                    self.emit(0, start, f.ty.span.end as usize, text);
                    self.block_start = true;
                    self.emit(1, inv.span.start as usize, f.span.end as usize, invalid);
                } else {
                    self.emit(0, start, f.span.end as usize, format!("{text} {invalid}"));
                }
            }
        }
    }

    /// The type keyword and its constraints in source order.
    fn field_type(&self, ty: &FieldType) -> (&'static str, Vec<String>) {
        let mut parts: Vec<(u32, String)> = Vec::new();
        let kw = match &ty.kind {
            FieldKind::Text { pattern, length } => {
                if let Some(r) = pattern {
                    parts.push((r.span.start, format!("matching {}", self.regex(r))));
                }
                if let Some((a, b)) = length {
                    parts.push((
                        a.span.start,
                        format!("length between {} and {}", self.num(a), self.num(b)),
                    ));
                }
                "text"
            }
            FieldKind::Number { range } => {
                if let Some((a, b)) = range {
                    parts.push((
                        a.span.start,
                        format!("between {} and {}", self.num(a), self.num(b)),
                    ));
                }
                "number"
            }
            FieldKind::Email => "email",
            FieldKind::Phone => "phone",
            FieldKind::YesNo => "yesno",
            FieldKind::Choice(ts) => {
                if let Some(first) = ts.first() {
                    parts.push((first.span.start, self.texts(ts)));
                }
                "choice"
            }
            FieldKind::Date { after, before } => {
                for (bound, word, short) in [(after, "after", "future"), (before, "before", "past")]
                {
                    match bound {
                        Some(DateBound::Today(span)) => {
                            let text = if self.slice(*span) == Some(short) {
                                short.to_owned()
                            } else {
                                format!("{word} today")
                            };
                            parts.push((span.start, text));
                        }
                        Some(DateBound::Date(d)) => {
                            parts.push((d.span.start, format!("{word} {}", self.date(d))))
                        }
                        None => {}
                    }
                }
                "date"
            }
        };
        parts.sort_by_key(|(at, _)| *at);
        (kw, parts.into_iter().map(|(_, t)| t).collect())
    }

    fn form_input(&self, i: &FormInput) -> String {
        let Some(ty) = &i.ty else {
            return i.name.name.clone();
        };
        let (kw, parts) = self.field_type(ty);
        let mut text = format!("{}: {kw}", i.name.name);
        if let Some(l) = &i.label {
            text.push(' ');
            text.push_str(&self.text(l));
        }
        for p in parts {
            text.push(' ');
            text.push_str(&p);
        }
        if i.optional {
            text.push_str(" optional");
        }
        text
    }

    // --- stages and handlers --------------------------------------------------------

    fn handler_block(&mut self, span: Span, after: usize, header: String, handlers: &[Handler]) {
        let (start, end) = (span.start as usize, span.end as usize);
        if handlers.is_empty() && !self.has_comment(span) {
            self.emit(0, start, end, format!("{header} {{}}"));
            return;
        }
        let first = handlers.first().map_or(end, |h| h.span.start as usize);
        let brace = self.find_brace(after, first);
        self.open(0, start, brace, format!("{header} {{"));
        for h in handlers {
            self.handler(1, h);
        }
        self.close(0, end);
    }

    fn handler(&mut self, indent: usize, h: &Handler) {
        let mut header = self.trigger(h);
        if let Some(g) = &h.guard
            && h.trigger.kind != TriggerKind::When
        {
            header.push_str(&format!(" when {}", self.expr(g)));
        }
        let start = h.span.start as usize;
        let optout = match &h.trigger.kind {
            TriggerKind::Event { optout, .. } => optout.as_ref(),
            _ => None,
        };
        // The `optout` clause follows the handler's span.
        let whole = optout.map_or(h.span, |b| h.span.to(b.span));
        let flat_optout = match optout {
            Some(b) if self.flat_ok(whole) => self.flat_fallback(b).map(|t| format!(" optout {t}")),
            Some(_) => None,
            None => Some(String::new()),
        };
        if let Some(tail) = &flat_optout
            && (self.flat_ok(h.body.span)
                || (h.body.actions.is_empty() && !self.has_comment(h.body.span)))
            && let Some(body) = self.flat_block(&h.body)
            && (h.body.actions.is_empty() || fits(indent, &format!("{header} {body}{tail}")))
        {
            self.emit(
                indent,
                start,
                whole.end as usize,
                format!("{header} {body}{tail}"),
            );
            return;
        }
        self.open(
            indent,
            start,
            h.body.span.start as usize,
            format!("{header} {{"),
        );
        self.actions(indent + 1, &h.body);
        let end = h.body.span.end as usize;
        let Some(b) = optout else {
            self.close(indent, end);
            return;
        };
        if !self.starts_with_brace(b.span)
            && let [only] = b.actions.as_slice()
            && let Some(text) = self.flat_action(only)
        {
            self.close_with(indent, end, format!("}} optout {text}"));
            self.last_end = self.last_end.max(b.span.end as usize);
            return;
        }
        self.close_with(indent, end, "} optout {".into());
        self.actions(indent + 1, b);
        self.close(indent, b.span.end as usize);
    }

    fn trigger(&self, h: &Handler) -> String {
        match &h.trigger.kind {
            TriggerKind::Enter => "on enter".into(),
            TriggerKind::Message => "on message".into(),
            TriggerKind::Keyword(ts) => format!("on keyword {}", self.texts(ts)),
            TriggerKind::Regex(r) => format!("on regex {}", self.regex(r)),
            TriggerKind::Button(ts) => format!("on button {}", self.texts(ts)),
            TriggerKind::Choice(ts) => format!("on choice {}", self.texts(ts)),
            TriggerKind::Media(m) => format!("on {}", m.as_str()),
            TriggerKind::FormSubmitted(f) => format!("on form {} submitted", f.name),
            TriggerKind::Intent(ids) => {
                let names: Vec<&str> = ids.iter().map(|i| i.name.as_str()).collect();
                format!("on intent {}", names.join(", "))
            }
            TriggerKind::Event { name, .. } => format!("on event {}", name.name),
            TriggerKind::When => match &h.guard {
                Some(g) => format!("when {}", self.expr(g)),
                None => "when".into(),
            },
            TriggerKind::Silence(d) => format!("after {} silence", self.dur(d)),
            TriggerKind::InStage(d) => format!("after {} in stage", self.dur(d)),
            TriggerKind::Otherwise => "otherwise".into(),
        }
    }

    fn actions(&mut self, indent: usize, block: &Block) {
        for a in &block.actions {
            self.action(indent, a);
        }
    }

    /// `{ a; b }` or `{}`, when every action fits on one line.
    fn flat_block(&self, block: &Block) -> Option<String> {
        let inner = block
            .actions
            .iter()
            .map(|a| self.flat_action(a))
            .collect::<Option<Vec<String>>>()?;
        let refs: Vec<&str> = inner.iter().map(String::as_str).collect();
        Some(braces(&refs))
    }

    /// An action on one line, or `None` when it holds a block written over several lines.
    fn flat_action(&self, a: &Action) -> Option<String> {
        Some(match &a.kind {
            ActionKind::Reply(m) => {
                let verb = if self
                    .src
                    .get(a.span.start as usize..)
                    .is_some_and(|s| s.starts_with("send"))
                {
                    "send"
                } else {
                    "reply"
                };
                match &m.kind {
                    MessageKind::Text(t) => format!("reply {}", self.text(t)),
                    MessageKind::Buttons { body, buttons } => {
                        format!(
                            "reply buttons {} [{}]",
                            self.text(body),
                            self.texts(buttons)
                        )
                    }
                    MessageKind::List { body, button, rows } => format!(
                        "reply list {} button {} [{}]",
                        self.text(body),
                        self.text(button),
                        self.texts(rows)
                    ),
                    MessageKind::Template { name, args } => {
                        if args.is_empty() {
                            format!("{verb} template {}", name.name)
                        } else {
                            let args: Vec<String> = args.iter().map(|e| self.expr(e)).collect();
                            format!("{verb} template {}({})", name.name, args.join(", "))
                        }
                    }
                    MessageKind::Form { name, body } => {
                        format!("reply form {} {}", name.name, self.text(body))
                    }
                }
            }
            ActionKind::Ask {
                field,
                prompt,
                tries,
                fallback,
            } => {
                let mut text = format!("ask {} {}", field.name, self.text(prompt));
                if let Some(n) = tries {
                    text.push_str(&format!(" tries {}", self.num(n)));
                }
                if let Some(b) = fallback {
                    text.push_str(&format!(" else {}", self.flat_fallback(b)?));
                }
                text
            }
            ActionKind::Set { field, value } => {
                format!("set {} = {}", field.name, self.expr(value))
            }
            ActionKind::Tag(ts) => format!("tag {}", self.texts(ts)),
            ActionKind::Untag(ts) => format!("untag {}", self.texts(ts)),
            ActionKind::Route { team, priority } => match priority {
                Some(p) => format!("route {} priority {}", team.name, p.level.as_str()),
                None => format!("route {}", team.name),
            },
            ActionKind::Assign(t) => format!("assign {}", self.text(t)),
            ActionKind::Priority(p) => format!("priority {}", p.level.as_str()),
            ActionKind::Handoff(team) => match team {
                Some(t) => format!("handoff {}", t.name),
                None => "handoff".into(),
            },
            ActionKind::Post { webhook, body } => {
                format!("post {} {}", webhook.name, self.obj(body))
            }
            ActionKind::Call {
                webhook,
                body,
                save,
                timeout,
                fallback,
            } => {
                let mut parts: Vec<(u32, String)> = Vec::new();
                if let Some(first) = save.first() {
                    let names: Vec<&str> = save.iter().map(|s| s.name.as_str()).collect();
                    parts.push((first.span.start, format!("save {}", names.join(", "))));
                }
                if let Some(t) = timeout {
                    parts.push((t.span.start, format!("timeout {}", self.dur(t))));
                }
                parts.sort_by_key(|(at, _)| *at);
                let mut text = format!("call {} {}", webhook.name, self.obj(body));
                for (_, p) in parts {
                    text.push(' ');
                    text.push_str(&p);
                }
                if let Some(b) = fallback {
                    text.push_str(&format!(" else {}", self.flat_fallback(b)?));
                }
                text
            }
            ActionKind::Answer {
                knowledge,
                via,
                fallback,
            } => {
                let mut text = format!("answer {}", knowledge.name);
                match via {
                    ast::AnswerVia::Threshold(Some(n)) => {
                        text.push_str(&format!(" threshold {}", self.num(n)))
                    }
                    ast::AnswerVia::Threshold(None) => {}
                    ast::AnswerVia::Ai(ai) => text.push_str(&format!(" with {}", ai.name)),
                }
                if let Some(b) = fallback {
                    text.push_str(&format!(" else {}", self.flat_fallback(b)?));
                }
                text
            }
            ActionKind::Classify {
                ai,
                instructions,
                into,
                fallback,
            } => {
                let mut text = format!("classify with {}", ai.name);
                if let Some(t) = instructions {
                    text.push_str(&format!(" {}", self.text(t)));
                }
                if !into.is_empty() {
                    let names: Vec<&str> = into.iter().map(|i| i.name.as_str()).collect();
                    text.push_str(&format!(" into {}", names.join(", ")));
                }
                if let Some(b) = fallback {
                    text.push_str(&format!(" else {}", self.flat_fallback(b)?));
                }
                text
            }
            ActionKind::Goto(s) => format!("goto {}", s.name),
            ActionKind::Close(reason) => match reason {
                Some(r) => format!("close {}", self.text(r)),
                None => "close".into(),
            },
            ActionKind::Ignore => "ignore".into(),
            ActionKind::If {
                cond,
                then,
                otherwise,
            } => {
                if !self.flat_ok(a.span) {
                    return None;
                }
                let mut text = format!("if {} {}", self.expr(cond), self.flat_block(then)?);
                if let Some(b) = otherwise {
                    match self.else_if(b) {
                        Some(inner) => {
                            text.push_str(&format!(" else {}", self.flat_action(inner)?))
                        }
                        None => text.push_str(&format!(" else {}", self.flat_block(b)?)),
                    }
                }
                text
            }
        })
    }

    /// The fallback of `ask`/`call` on one line: `handoff support` or `{ a; b }`.
    fn flat_fallback(&self, b: &Block) -> Option<String> {
        if !self.starts_with_brace(b.span)
            && let [only] = b.actions.as_slice()
        {
            return self.flat_action(only);
        }
        if !self.flat_ok(b.span) && !b.actions.is_empty() {
            return None;
        }
        self.flat_block(b)
    }

    /// The `if` of an `else if`, when the else block is exactly that.
    fn else_if<'b>(&self, b: &'b Block) -> Option<&'b Action> {
        match b.actions.as_slice() {
            [
                only @ Action {
                    kind: ActionKind::If { .. },
                    ..
                },
            ] if !self.starts_with_brace(b.span) => Some(only),
            _ => None,
        }
    }

    fn action(&mut self, indent: usize, a: &Action) {
        let (start, end) = (a.span.start as usize, a.span.end as usize);
        if let Some(text) = self.flat_action(a)
            && (fits(indent, &text) || !matches!(a.kind, ActionKind::If { .. }))
        {
            self.emit(indent, start, end, text);
            return;
        }
        match &a.kind {
            ActionKind::If {
                cond,
                then,
                otherwise,
            } => {
                self.open(
                    indent,
                    start,
                    then.span.start as usize,
                    format!("if {} {{", self.expr(cond)),
                );
                self.actions(indent + 1, then);
                let mut then = then;
                let mut otherwise = otherwise.as_ref();
                loop {
                    let end = then.span.end as usize;
                    let Some(b) = otherwise else {
                        self.close(indent, end);
                        break;
                    };
                    if let Some(Action {
                        kind:
                            ActionKind::If {
                                cond,
                                then: next,
                                otherwise: rest,
                            },
                        ..
                    }) = self.else_if(b)
                    {
                        self.close_with(indent, end, format!("}} else if {} {{", self.expr(cond)));
                        self.actions(indent + 1, next);
                        then = next;
                        otherwise = rest.as_ref();
                    } else {
                        self.close_with(indent, end, "} else {".into());
                        self.actions(indent + 1, b);
                        self.close(indent, b.span.end as usize);
                        break;
                    }
                }
            }
            ActionKind::Ask {
                fallback: Some(b), ..
            }
            | ActionKind::Call {
                fallback: Some(b), ..
            }
            | ActionKind::Answer {
                fallback: Some(b), ..
            }
            | ActionKind::Classify {
                fallback: Some(b), ..
            } => {
                // The head of the action without its fallback, then the block.
                let mut head = a.clone();
                match &mut head.kind {
                    ActionKind::Ask { fallback, .. }
                    | ActionKind::Call { fallback, .. }
                    | ActionKind::Answer { fallback, .. }
                    | ActionKind::Classify { fallback, .. } => *fallback = None,
                    _ => {}
                }
                let head = self.flat_action(&head).unwrap_or_default();
                self.open(
                    indent,
                    start,
                    b.span.start as usize,
                    format!("{head} else {{"),
                );
                self.actions(indent + 1, b);
                self.close(indent, b.span.end as usize);
            }
            _ => self.emit(indent, start, end, String::new()),
        }
    }

    // --- tests ----------------------------------------------------------------------

    fn step(&self, s: &StepKind) -> String {
        match s {
            StepKind::Contact {
                phone,
                name,
                tags,
                returning,
            } => {
                let mut parts: Vec<(u32, String)> = Vec::new();
                if let Some(n) = name {
                    parts.push((n.span.start, format!("named {}", self.text(n))));
                }
                if let Some(first) = tags.first() {
                    parts.push((first.span.start, format!("tagged {}", self.texts(tags))));
                }
                parts.sort_by_key(|(at, _)| *at);
                let mut text = format!("contact {}", self.text(phone));
                for (_, p) in parts {
                    text.push(' ');
                    text.push_str(&p);
                }
                if *returning {
                    text.push_str(" returning");
                }
                text
            }
            StepKind::Send(t) => format!("send {}", self.text(t)),
            StepKind::SendMedia(m) => format!("send {}", m.as_str()),
            StepKind::Tap(t) => format!("tap {}", self.text(t)),
            StepKind::Choose(t) => format!("choose {}", self.text(t)),
            StepKind::Submit { form, values } => {
                format!("submit {} {}", form.name, self.obj(values))
            }
            StepKind::Event { name, values } => {
                format!("event {} {}", name.name, self.obj(values))
            }
            StepKind::Respond { webhook, answer } => match answer {
                Some(body) => format!("respond {} {}", webhook.name, self.obj(body)),
                None => format!("respond {} failed", webhook.name),
            },
            StepKind::Advance(d) => format!("advance {}", self.dur(d)),
            StepKind::Clock { date, time } => {
                format!("clock {} {}", self.date(date), self.clock(time))
            }
            StepKind::Expect(e) => format!("expect {}", self.expectation(e)),
            StepKind::Agent(a) => self.agent_step(a),
        }
    }

    fn expectation(&self, e: &Expectation) -> String {
        match e {
            Expectation::Stage(id) => format!("stage {}", id.name),
            Expectation::Routed(id) => format!("routed {}", id.name),
            Expectation::Assigned(t) => format!("assigned {}", self.text(t)),
            Expectation::Reply(ReplyMatch::Exact(t)) => format!("reply {}", self.text(t)),
            Expectation::Reply(ReplyMatch::Contains(t)) => {
                format!("reply contains {}", self.text(t))
            }
            Expectation::Reply(ReplyMatch::Matching(r)) => {
                format!("reply matching {}", self.regex(r))
            }
            Expectation::Template(id) => format!("template {}", id.name),
            Expectation::Field(e) => format!("field {}", self.expr(e)),
            Expectation::Posted { webhook, body } => {
                format!("posted {} {}", webhook.name, self.obj(body))
            }
            Expectation::Tagged(t) => format!("tagged {}", self.text(t)),
            Expectation::Handoff => "handoff".into(),
            Expectation::Closed(r) => match r {
                Some(r) => format!("closed {}", self.text(r)),
                None => "closed".into(),
            },
            Expectation::SentNothing => "sent nothing".into(),
            Expectation::Intent { intent, above } => match (intent, above) {
                (None, _) => "no intent".into(),
                (Some(i), None) => format!("intent {}", i.name),
                (Some(i), Some(n)) => format!("intent {} above {}", i.name, self.num(n)),
            },
            Expectation::Sla { .. } | Expectation::Event { .. } => {
                self.measure_expectation(e).unwrap_or_default()
            }
        }
    }
}

fn text_opens(line: Option<&Line>) -> bool {
    line.is_some_and(|l| l.text.ends_with('{'))
}

/// The widest a line may be, indentation included, before a block written on one line
/// is broken into one statement per line.
pub(crate) const WIDTH: usize = 100;

/// Whether `text` at `indent` fits in [`WIDTH`] columns.
fn fits(indent: usize, text: &str) -> bool {
    indent * 2 + text.chars().count() <= WIDTH
}

fn braces(inner: &[&str]) -> String {
    if inner.is_empty() {
        "{}".into()
    } else {
        format!("{{ {} }}", inner.join("; "))
    }
}

fn group_span(group: &[usize], span_of: impl Fn(usize) -> Option<Span>) -> Span {
    let spans: Vec<Span> = group.iter().filter_map(|i| span_of(*i)).collect();
    match (spans.first(), spans.last()) {
        (Some(a), Some(b)) => a.to(*b),
        _ => Span::default(),
    }
}

fn day_spec(d: &DaySpec) -> String {
    match d.to {
        Some(to) => format!("{}-{}", d.from.as_str(), to.as_str()),
        None => d.from.as_str().to_owned(),
    }
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn fmt_duration(mut secs: u64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("w", 604_800),
        ("d", 86_400),
        ("h", 3_600),
        ("m", 60),
        ("s", 1),
    ] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}
