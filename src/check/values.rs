//! Checker pass: literal values that must exist or make sense. Regexes compile (E0302),
//! time zones exist (E0303), clock times, dates and durations are real (E0304),
//! templates get as many arguments as they declare (E0305), and constraints can hold
//! (E0307).
//!
//! Decisions:
//! - A day range may wrap around the week: `fri-mon` is Friday to Monday, just as an
//!   hours range may cross midnight (`22:00-02:00`). So no day range is reversed.
//! - Durations must be longer than zero where they set a wait or a limit (triggers,
//!   timeouts, backoff, `advance`); inside expressions `0s` is a legitimate value.
//! - `24:00` is allowed only as the end of an hours range, meaning the end of the day.

use super::Cx;
use super::symbols::Symbols;
use super::walk;
use crate::diag::{Diagnostic, codes, did_you_mean};
use crate::syntax::ast::{
    ActionKind, ClockLit, DateBound, DateLit, DurationLit, Expectation, Expr, ExprKind, FieldKind,
    File, FlowSettingKind, Item, MessageKind, NumLit, RegexLit, ReplyMatch, StepKind, Text,
    TriggerKind,
};
use crate::syntax::span::Span;

pub(crate) fn run(cx: &mut Cx) {
    let mut v = Values {
        file: cx.file,
        syms: cx.syms,
        diags: Vec::new(),
    };
    v.items();
    v.handlers();
    for d in v.diags {
        cx.report(d);
    }
}

struct Values<'a> {
    file: &'a File,
    syms: &'a Symbols,
    diags: Vec<Diagnostic>,
}

/// What the `regex` crate says is wrong, without its drawing of the pattern.
fn regex_problem(err: &regex::Error) -> String {
    let text = err.to_string();
    text.lines()
        .rev()
        .find_map(|l| l.trim_start().strip_prefix("error: "))
        .map(str::to_string)
        .unwrap_or_else(|| text.lines().next().unwrap_or("invalid pattern").to_string())
}

fn weekday_name(d: crate::syntax::ast::Weekday) -> &'static str {
    use crate::syntax::ast::Weekday::*;
    match d {
        Mon => "mon",
        Tue => "tue",
        Wed => "wed",
        Thu => "thu",
        Fri => "fri",
        Sat => "sat",
        Sun => "sun",
    }
}

fn date_text(d: &DateLit) -> String {
    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

fn clock_text(c: &ClockLit) -> String {
    format!("{:02}:{:02}", c.hour, c.minute)
}

/// The date as a calendar day, if it exists.
fn civil(d: &DateLit) -> Option<jiff::civil::Date> {
    let year = i16::try_from(d.year).ok()?;
    let month = i8::try_from(d.month).ok()?;
    let day = i8::try_from(d.day).ok()?;
    jiff::civil::Date::new(year, month, day).ok()
}

fn is_whole(n: f64) -> bool {
    n.fract() == 0.0 && n.is_finite()
}

impl Values<'_> {
    fn regex(&mut self, re: &RegexLit) {
        if let Err(e) = regex::Regex::new(&re.source) {
            self.diags.push(
                Diagnostic::new(
                    codes::BAD_REGEX,
                    "invalid regular expression",
                    re.span,
                    "this pattern does not compile",
                )
                .with_note(format!("the pattern engine says: {}", regex_problem(&e)))
                .with_help("fix the pattern; write `\\/` for a slash and `\\.` for a literal dot"),
            );
        }
    }

    fn timezone(&mut self, tz: &Text) {
        if !tz.is_plain() || jiff::tz::TimeZone::get(&tz.value).is_ok() {
            return;
        }
        let names: Vec<String> = jiff::tz::db()
            .available()
            .map(|n| n.as_str().to_string())
            .collect();
        let help = did_you_mean(&tz.value, names.iter().map(String::as_str))
            .map(|s| format!("did you mean `{s}`?"))
            .unwrap_or_else(|| {
                "use a name like `America/Sao_Paulo`, `Europe/Lisbon` or `UTC`".into()
            });
        self.diags.push(
            Diagnostic::new(
                codes::BAD_TIMEZONE,
                format!("unknown time zone `{}`", tz.value),
                tz.span,
                "not in the time zone database",
            )
            .with_note("time zones are IANA names, written `Region/City`; they are case-sensitive")
            .with_help(help),
        );
    }

    fn clock(&mut self, c: &ClockLit, may_end_day: bool) {
        if may_end_day && c.hour == 24 && c.minute == 0 {
            return;
        }
        if c.hour <= 23 && c.minute <= 59 {
            return;
        }
        let label = if c.hour == 24 && c.minute == 0 {
            "`24:00` may only end an hours range"
        } else if c.hour > 23 {
            "hours run from 00 to 23"
        } else {
            "minutes run from 00 to 59"
        };
        self.diags.push(
            Diagnostic::new(
                codes::BAD_TIME,
                format!("invalid clock time `{}`", clock_text(c)),
                c.span,
                label,
            )
            .with_note(
                "clock times are `HH:MM`, from `00:00` to `23:59`; `24:00` may end an hours range",
            )
            .with_help(if c.hour == 24 {
                "write `00:00` for midnight at the start of a day"
            } else {
                "write a time of day between `00:00` and `23:59`"
            }),
        );
    }

    fn date(&mut self, d: &DateLit) {
        if civil(d).is_some() {
            return;
        }
        let label = if !(1..=12).contains(&d.month) {
            "months run from 01 to 12".to_string()
        } else if let Some(last) =
            civil(&DateLit { day: 1, ..*d }).map(|first| first.days_in_month())
        {
            format!("this month has {last} days")
        } else {
            "this day does not exist".to_string()
        };
        self.diags.push(
            Diagnostic::new(
                codes::BAD_TIME,
                format!("invalid date `{}`", date_text(d)),
                d.span,
                label,
            )
            .with_note("dates are `YYYY-MM-DD` and must exist in the calendar")
            .with_help("check the day and the month"),
        );
    }

    fn duration(&mut self, d: &DurationLit, what: &str) {
        if d.seconds > 0 {
            return;
        }
        self.diags.push(
            Diagnostic::new(
                codes::BAD_TIME,
                format!("{what} of zero"),
                d.span,
                "this lasts no time at all",
            )
            .with_note(format!("{what} must be longer than zero"))
            .with_help("write a positive duration, like `30s`, `10m` or `2h`"),
        );
    }

    fn impossible(&mut self, at: Span, message: String, label: &str, note: &str, help: &str) {
        self.diags.push(
            Diagnostic::new(codes::BAD_CONSTRAINT, message, at, label)
                .with_note(note)
                .with_help(help),
        );
    }

    /// A confidence level, from 0 to 1: `threshold`, `margin`.
    fn ratio(&mut self, n: &NumLit, what: &str) {
        if (0.0..=1.0).contains(&n.value) {
            return;
        }
        self.impossible(
            n.span,
            format!("`{what} {}` cannot work", n.value),
            "must be between 0 and 1",
            "confidences run from 0 (no resemblance) to 1 (the same words as an example)",
            &format!(
                "write e.g. `{what} {}`",
                if what == "margin" { "0.05" } else { "0.4" }
            ),
        );
    }

    /// A count that must be a whole number of at least one: `tries`, `retry`, `budget`.
    fn count(&mut self, n: &NumLit, what: &str) {
        if n.value >= 1.0 && is_whole(n.value) {
            return;
        }
        let label = if is_whole(n.value) {
            "must be at least 1"
        } else {
            "must be a whole number"
        };
        self.impossible(
            n.span,
            format!("`{what} {}` cannot work", n.value),
            label,
            &format!("`{what}` counts, so it is a whole number of at least 1"),
            &format!(
                "write e.g. `{what} {}`",
                if what == "budget" { 200 } else { 3 }
            ),
        );
    }

    fn field_kind(&mut self, kind: &FieldKind, at: Span) {
        match kind {
            FieldKind::Text { pattern, length } => {
                if let Some(re) = pattern {
                    self.regex(re);
                }
                if let Some((min, max)) = length {
                    if !is_whole(min.value) || !is_whole(max.value) {
                        self.impossible(
                            min.span.to(max.span),
                            "text lengths are whole numbers".into(),
                            "not a whole number of characters",
                            "`length between N and M` counts characters",
                            "write whole numbers, e.g. `length between 2 and 80`",
                        );
                    } else if min.value > max.value {
                        self.impossible(
                            min.span.to(max.span),
                            format!("`length between {} and {}` can never hold", min.value, max.value),
                            "the minimum is above the maximum",
                            "no text is at least as long as the first number and at most the second",
                            &format!("swap them: `length between {} and {}`", max.value, min.value),
                        );
                    }
                }
            }
            FieldKind::Number {
                range: Some((lo, hi)),
            } if lo.value > hi.value => {
                self.impossible(
                    lo.span.to(hi.span),
                    format!("`between {} and {}` can never hold", lo.value, hi.value),
                    "the lower bound is above the upper bound",
                    "no number is both at least the first bound and at most the second",
                    &format!("swap them: `between {} and {}`", hi.value, lo.value),
                );
            }
            FieldKind::Date { after, before } => {
                for b in [after, before].into_iter().flatten() {
                    if let DateBound::Date(d) = b {
                        self.date(d);
                    }
                }
                match (after, before) {
                    (Some(DateBound::Today(a)), Some(DateBound::Today(b))) => self.impossible(
                        a.to(*b),
                        "a date cannot be both after and before today".into(),
                        "no date satisfies both bounds",
                        "`past` means `before today` and `future` means `after today`",
                        "keep only one of them",
                    ),
                    (Some(DateBound::Date(a)), Some(DateBound::Date(b))) => {
                        if let (Some(x), Some(y)) = (civil(a), civil(b))
                            && x >= y
                        {
                            self.impossible(
                                a.span.to(b.span),
                                format!(
                                    "no date is after {} and before {}",
                                    date_text(a),
                                    date_text(b)
                                ),
                                "the bounds leave no day",
                                "`after` must be earlier than `before`",
                                "swap the two dates",
                            );
                        }
                    }
                    _ => {}
                }
            }
            FieldKind::Choice(options) => {
                if options.is_empty() {
                    self.impossible(
                        at,
                        "a choice needs options".into(),
                        "no options to choose from",
                        "a choice field takes one of the options listed after `choice`",
                        "list the options: `choice \"low\", \"normal\", \"high\"`",
                    );
                }
                for (i, o) in options.iter().enumerate() {
                    let earlier = options
                        .iter()
                        .take(i)
                        .find(|e| e.value.to_lowercase() == o.value.to_lowercase());
                    if let Some(first) = earlier {
                        self.diags.push(
                            Diagnostic::new(
                                codes::BAD_CONSTRAINT,
                                format!("option `{}` is listed twice", o.value),
                                o.span,
                                "listed again here",
                            )
                            .with_secondary(first.span, "first listed here")
                            .with_note("options are matched without regard to case, so the customer could not tell them apart")
                            .with_help("remove one of them"),
                        );
                    }
                }
            }
            _ => {}
        }
    }

    fn items(&mut self) {
        let file = self.file;
        for item in &file.items {
            match item {
                Item::Flow(flow) => {
                    for s in &flow.settings {
                        match &s.kind {
                            FlowSettingKind::Timezone(tz) => self.timezone(tz),
                            FlowSettingKind::Budget(n) => self.count(n, "budget"),
                            FlowSettingKind::Intents { threshold, margin } => {
                                if let Some(n) = threshold {
                                    self.ratio(n, "threshold");
                                }
                                if let Some(n) = margin {
                                    self.ratio(n, "margin");
                                }
                            }
                            FlowSettingKind::WindowTemplate(id) => {
                                self.arity(id, 0, s.span, "`window template` passes none");
                            }
                            _ => {}
                        }
                    }
                }
                Item::Hours(h) => {
                    if let Some(tz) = &h.timezone {
                        self.timezone(tz);
                    }
                    for rule in &h.rules {
                        self.clock(&rule.from, false);
                        self.clock(&rule.to, true);
                        if (rule.from.hour, rule.from.minute) == (rule.to.hour, rule.to.minute) {
                            let days = rule
                                .days
                                .iter()
                                .map(|d| match d.to {
                                    Some(to) => {
                                        format!("{}-{}", weekday_name(d.from), weekday_name(to))
                                    }
                                    None => weekday_name(d.from).to_string(),
                                })
                                .collect::<Vec<_>>()
                                .join(", ");
                            self.impossible(
                                rule.from.span.to(rule.to.span),
                                format!("`{0}-{0}` opens for no time", clock_text(&rule.from)),
                                "start and end are the same",
                                "an hours range runs from its start to its end; an end before the start crosses midnight",
                                &format!("for a whole day write `{days} 00:00-24:00`"),
                            );
                        }
                    }
                    for d in &h.closed {
                        self.date(d);
                    }
                }
                Item::Field(f) => self.field_kind(&f.ty.kind, f.ty.span),
                Item::Webhook(w) => {
                    if let Some(retry) = &w.retry {
                        self.count(&retry.attempts, "retry");
                        if let Some(b) = &retry.backoff {
                            self.duration(b, "a retry backoff");
                        }
                    }
                    if let Some(t) = &w.timeout {
                        self.duration(t, "a timeout");
                    }
                }
                Item::Form(form) => {
                    for input in form.screens.iter().flat_map(|s| &s.inputs) {
                        if let Some(ty) = &input.ty {
                            self.field_kind(&ty.kind, ty.span);
                        }
                    }
                }
                Item::Test(test) => {
                    for step in &test.steps {
                        match &step.kind {
                            StepKind::Advance(d) => self.duration(d, "an `advance`"),
                            StepKind::Expect(Expectation::Reply(ReplyMatch::Matching(re))) => {
                                self.regex(re)
                            }
                            StepKind::Expect(Expectation::Field(e)) => self.expr(e),
                            StepKind::Expect(Expectation::Posted { body, .. })
                            | StepKind::Submit { values: body, .. }
                            | StepKind::Event { values: body, .. }
                            | StepKind::Respond {
                                answer: Some(body), ..
                            } => {
                                for entry in body {
                                    self.expr(&entry.value);
                                }
                            }
                            StepKind::Clock { date, time } => {
                                self.date(date);
                                self.clock(time, false);
                            }
                            _ => {}
                        }
                    }
                }
                Item::Intent(i) => {
                    if let Some(n) = &i.threshold {
                        self.ratio(n, "threshold");
                    }
                }
                Item::Ai(a) => {
                    if let Some(n) = &a.retry
                        && !(is_whole(n.value) && n.value <= 10.0)
                    {
                        self.impossible(
                            n.span,
                            format!("`retry {}` cannot work", n.value),
                            "must be a whole number from 0 to 10",
                            "`retry` counts the attempts after the first one",
                            "write e.g. `retry 2`",
                        );
                    }
                    if let Some(t) = &a.timeout {
                        self.duration(t, "a timeout");
                    }
                }
                Item::Event(e) => {
                    for k in &e.keys {
                        self.field_kind(&k.ty.kind, k.ty.span);
                    }
                }
                Item::Migrate(m) => {
                    for r in &m.rules {
                        if let crate::syntax::ast::MigrateAction::Close {
                            template: Some(msg),
                            ..
                        } = &r.action
                            && let MessageKind::Template { name, args } = &msg.kind
                        {
                            self.template_arity(name, args, msg.span);
                            for a in args {
                                self.expr(a);
                            }
                        }
                    }
                }
                Item::Sla(sla) => {
                    for target in &sla.targets {
                        self.duration(&target.within, "a service-level target");
                    }
                }
                Item::Team(_)
                | Item::Template(_)
                | Item::Knowledge(_)
                | Item::Stage(_)
                | Item::Anywhere(_) => {}
            }
        }
    }

    fn handlers(&mut self) {
        let file = self.file;
        for (_, handler) in walk::handlers(file) {
            match &handler.trigger.kind {
                TriggerKind::Regex(re) => self.regex(re),
                TriggerKind::Silence(d) => self.duration(d, "a silence wait"),
                TriggerKind::InStage(d) => self.duration(d, "a time in stage"),
                _ => {}
            }
            if let Some(g) = &handler.guard {
                self.expr(g);
            }
            for block in walk::handler_blocks(handler) {
                walk::each_action(block, &mut |action| self.action(action));
            }
        }
        for block in walk::sla_blocks(file) {
            walk::each_action(block, &mut |action| self.action(action));
        }
    }

    /// E0305, E0307 and E0304 in one action (not its nested blocks).
    fn action(&mut self, action: &crate::syntax::ast::Action) {
        match &action.kind {
            ActionKind::Reply(m) => {
                if let MessageKind::Template { name, args } = &m.kind {
                    self.template_arity(name, args, m.span);
                }
            }
            ActionKind::Ask { tries: Some(n), .. } => self.count(n, "tries"),
            ActionKind::Answer {
                via: crate::syntax::ast::AnswerVia::Threshold(Some(n)),
                ..
            } => self.ratio(n, "threshold"),
            ActionKind::Call {
                timeout: Some(t), ..
            } => self.duration(t, "a timeout"),
            _ => {}
        }
        for e in walk::exprs_of_action(action) {
            self.expr(e);
        }
    }

    /// E0305 for `template NAME(args)`, labelled with the count of arguments.
    fn template_arity(&mut self, name: &crate::syntax::ast::Ident, args: &[Expr], at: Span) {
        let got = args.len();
        let label = match got {
            0 => "no arguments here".to_string(),
            1 => "1 argument here".to_string(),
            n => format!("{n} arguments here"),
        };
        self.arity(name, got, at, &label);
    }

    /// E0302 and E0304 inside an expression.
    fn expr(&mut self, e: &Expr) {
        walk::each_expr(e, &mut |e| match &e.kind {
            ExprKind::Matches { regex, .. } => self.regex(regex),
            ExprKind::Clock(c) => self.clock(c, false),
            ExprKind::Date(d) => self.date(d),
            _ => {}
        });
    }

    /// E0305: a template used with another number of arguments than it declares.
    fn arity(&mut self, name: &crate::syntax::ast::Ident, got: usize, at: Span, label: &str) {
        let Some((index, _)) = self.syms.templates.get(&name.name) else {
            return;
        };
        let Some(Item::Template(decl)) = self.file.items.get(*index) else {
            return;
        };
        let want = decl.params.len();
        if want == got {
            return;
        }
        let params = |n: usize| {
            if n == 1 {
                "1 parameter".to_string()
            } else {
                format!("{n} parameters")
            }
        };
        let names = decl
            .params
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let help = if want == 0 {
            format!("remove the arguments after `{}`", name.name)
        } else if got == 0 && label.starts_with("`window") {
            "use a template without parameters as the window template".to_string()
        } else {
            format!("pass one value for each of: {names}")
        };
        self.diags.push(
            Diagnostic::new(
                codes::TEMPLATE_ARITY,
                format!("template `{}` takes {}, got {got}", name.name, params(want)),
                at,
                label,
            )
            .with_secondary(
                decl.name.span,
                format!("declared with {} here", params(want)),
            )
            .with_note("WhatsApp rejects a template whose parameters differ from the approved one")
            .with_help(help),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_problems_are_one_line() {
        // Built at run time so that the lint for invalid literal patterns stays quiet.
        let source = ["pedido (", "\\d+"].concat();
        let err = regex::Regex::new(&source).err();
        let said = err.as_ref().map(regex_problem);
        assert_eq!(said.as_deref(), Some("unclosed group"));
    }

    #[test]
    fn dates_must_exist() {
        let d = |year, month, day| DateLit {
            year,
            month,
            day,
            span: Span::default(),
        };
        assert!(civil(&d(2028, 2, 29)).is_some());
        assert!(civil(&d(2026, 2, 29)).is_none());
        assert!(civil(&d(2026, 13, 1)).is_none());
        assert!(civil(&d(i32::MAX, 1, 1)).is_none());
        assert!(civil(&d(2026, u32::MAX, 1)).is_none());
    }
}
