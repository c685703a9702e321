//! Checker pass: the small type system of conditions, `set` and test expectations
//! (E0301), and choice values that are not among a field's options (E0306).
//!
//! Unknown names were already reported by the names pass; they get the type
//! [`Ty::Unknown`], which agrees with everything, so one mistake is reported once.

use super::Cx;
use super::symbols::Symbols;
use super::walk;
use crate::diag::{Diagnostic, codes, did_you_mean};
use crate::syntax::ast::{
    ActionKind, BinOp, Expectation, Expr, ExprKind, FieldKind, Item, StepKind, UnOp,
};
use crate::syntax::span::Span;
use crate::syntax::vocab::{self, PropKind};

/// The type of an expression.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Ty {
    Text,
    /// Text that can only take some values: a choice field's options, the priority
    /// levels, the stage and team names.
    OneOf(Options),
    Number,
    Bool,
    Date,
    /// A moment: `now`, `card.opened_at`.
    Time,
    /// A time of day: `09:00`.
    Clock,
    Duration,
    List(Box<Ty>),
    /// The type of something already reported (or an empty list's items).
    Unknown,
}

/// The values a [`Ty::OneOf`] allows, and what to call them in messages.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Options {
    /// "the options of field `urgency`", "the priority levels".
    pub what: String,
    pub values: Vec<String>,
    /// Where the values are declared, if they are.
    pub decl: Option<Span>,
}

impl Ty {
    /// How messages name the type, with an article ("a number").
    pub fn name(&self) -> String {
        match self {
            Ty::Text | Ty::OneOf(_) => "text".into(),
            Ty::Number => "a number".into(),
            Ty::Bool => "a yes/no value".into(),
            Ty::Date => "a date".into(),
            Ty::Time => "a moment in time".into(),
            Ty::Clock => "a clock time".into(),
            Ty::Duration => "a duration".into(),
            Ty::List(item) => match item.as_ref() {
                Ty::Unknown => "a list".into(),
                t => format!("a list of {}", t.plural()),
            },
            Ty::Unknown => "unknown".into(),
        }
    }

    fn plural(&self) -> String {
        match self {
            Ty::Text | Ty::OneOf(_) => "texts".into(),
            Ty::Number => "numbers".into(),
            Ty::Bool => "yes/no values".into(),
            Ty::Date => "dates".into(),
            Ty::Time => "moments".into(),
            Ty::Clock => "clock times".into(),
            Ty::Duration => "durations".into(),
            Ty::List(_) => "lists".into(),
            Ty::Unknown => "values".into(),
        }
    }

    fn is_texty(&self) -> bool {
        matches!(self, Ty::Text | Ty::OneOf(_))
    }

    fn is_unknown(&self) -> bool {
        matches!(self, Ty::Unknown)
    }

    /// Whether values of the two types can be compared for equality.
    pub fn agrees(&self, other: &Ty) -> bool {
        match (self, other) {
            (Ty::Unknown, _) | (_, Ty::Unknown) => true,
            (a, b) if a.is_texty() && b.is_texty() => true,
            (Ty::List(a), Ty::List(b)) => a.agrees(b),
            (a, b) => a == b,
        }
    }
}

/// The type of a declared field's values.
pub(crate) fn field_ty(name: &str, kind: &FieldKind, decl: Span) -> Ty {
    match kind {
        FieldKind::Text { .. } | FieldKind::Email | FieldKind::Phone => Ty::Text,
        FieldKind::Number { .. } => Ty::Number,
        FieldKind::Date { .. } => Ty::Date,
        FieldKind::YesNo => Ty::Bool,
        FieldKind::Choice(options) => Ty::OneOf(Options {
            what: format!("the options of field `{name}`"),
            values: options.iter().map(|t| t.value.clone()).collect(),
            decl: Some(decl),
        }),
    }
}

/// True when a path starts with one of the built-in objects (`contact`, `card`,
/// `message`).
pub(crate) fn is_root(name: &str) -> bool {
    vocab::ROOTS.iter().any(|(r, _)| *r == name)
}

/// The names of the properties of a built-in object, for messages and "did you mean".
pub(crate) fn properties(root: &str) -> Vec<&'static str> {
    vocab::properties(root).map(|p| p.name).collect()
}

/// The type of `root.prop` (`contact.attr` aside, whose sub-properties are all text).
pub(crate) fn property_ty(root: &str, prop: &str, syms: &Symbols) -> Option<Ty> {
    let names = |what: &str, decls: &super::symbols::Decls| {
        Ty::OneOf(Options {
            what: what.into(),
            values: decls.keys().cloned().collect(),
            decl: None,
        })
    };
    Some(match vocab::property(root, prop)?.kind {
        PropKind::Text | PropKind::Attributes => Ty::Text,
        PropKind::Tags => Ty::List(Box::new(Ty::Text)),
        PropKind::Bool => Ty::Bool,
        PropKind::Moment => Ty::Time,
        PropKind::Stage => names("the stages of this flow", &syms.stages),
        PropKind::Team => names("the teams of this flow", &syms.teams),
        PropKind::Priority => Ty::OneOf(Options {
            what: "the priority levels".into(),
            values: vocab::PRIORITIES
                .iter()
                .map(|(_, w)| (*w).to_string())
                .collect(),
            decl: None,
        }),
    })
}

/// The type of a path, or `Unknown` when the names pass reports it.
pub(crate) fn path_ty(path: &[crate::syntax::ast::Ident], syms: &Symbols) -> Ty {
    let Some(first) = path.first() else {
        return Ty::Unknown;
    };
    if is_root(&first.name) {
        return match path {
            [_, prop] => property_ty(&first.name, &prop.name, syms).unwrap_or(Ty::Unknown),
            [root, attr, _] if root.name == "contact" && attr.name == "attr" => Ty::Text,
            _ => Ty::Unknown,
        };
    }
    match (path.len(), syms.fields.get(&first.name)) {
        (1, Some(info)) => field_ty(&info.name, &info.kind, info.span),
        _ => Ty::Unknown,
    }
}

pub(crate) fn run(cx: &mut Cx) {
    let mut t = Typer {
        file: cx.file,
        syms: cx.syms,
        diags: Vec::new(),
        event: None,
    };
    for (_, handler) in walk::handlers(cx.file) {
        t.event = match &handler.trigger.kind {
            crate::syntax::ast::TriggerKind::Event { name, .. } => t.event_decl(&name.name),
            _ => None,
        };
        if let Some(guard) = &handler.guard {
            t.expect_bool(guard, "a `when` condition");
        }
        for block in walk::handler_blocks(handler) {
            walk::each_action(block, &mut |action| t.action(action));
        }
    }
    t.event = None;
    for block in walk::sla_blocks(cx.file) {
        walk::each_action(block, &mut |action| t.action(action));
    }
    for item in &cx.file.items {
        match item {
            Item::Test(test) => {
                for step in &test.steps {
                    t.step(&step.kind);
                }
            }
            Item::Migrate(m) => {
                for r in &m.rules {
                    if let crate::syntax::ast::MigrateAction::Close {
                        template: Some(msg),
                        ..
                    } = &r.action
                        && let crate::syntax::ast::MessageKind::Template { args, .. } = &msg.kind
                    {
                        for a in args {
                            t.infer(a);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    cx.diags.append(&mut t.diags);
}

struct Typer<'a> {
    file: &'a crate::syntax::ast::File,
    syms: &'a Symbols,
    diags: Vec<Diagnostic>,
    /// The event of the `on event` handler being typed, for `event.*`.
    event: Option<&'a crate::syntax::ast::EventDecl>,
}

impl<'a> Typer<'a> {
    fn event_decl(&self, name: &str) -> Option<&'a crate::syntax::ast::EventDecl> {
        let (index, _) = self.syms.events.get(name)?;
        match self.file.items.get(*index) {
            Some(Item::Event(e)) => Some(e),
            _ => None,
        }
    }

    /// The type of `event.KEY` in the handler being typed; `Unknown` where the events
    /// pass reports the path.
    fn event_path_ty(&self, path: &[crate::syntax::ast::Ident]) -> Ty {
        let (Some(event), [_, key]) = (self.event, path) else {
            return Ty::Unknown;
        };
        if key.name == "id" {
            return Ty::Text;
        }
        event
            .keys
            .iter()
            .find(|k| k.name.name == key.name)
            .map_or(Ty::Unknown, |k| {
                field_ty(
                    &format!("{}.{}", event.name.name, k.name.name),
                    &k.ty.kind,
                    k.name.span,
                )
            })
    }

    fn action(&mut self, action: &crate::syntax::ast::Action) {
        match &action.kind {
            ActionKind::If { cond, .. } => {
                self.expect_bool(cond, "an `if` condition");
                // The condition's own interpolations were typed by `expect_bool`.
                return;
            }
            ActionKind::Set { field, value } => {
                let have = self.infer(value);
                if let Some(info) = self.syms.fields.get(&field.name) {
                    let want = field_ty(&info.name, &info.kind, info.span);
                    let what = format!("field `{}`", field.name);
                    let rule = "`set` gives a field a value of its own type";
                    self.expect_value(&want, value, &have, &what, rule);
                }
                return;
            }
            _ => {}
        }
        for e in walk::exprs_of_action(action) {
            self.infer(e);
        }
    }

    fn step(&mut self, step: &StepKind) {
        match step {
            StepKind::Expect(Expectation::Field(e)) => {
                self.expect_bool(e, "an `expect field` check")
            }
            StepKind::Expect(Expectation::Posted { body, .. }) => {
                for entry in body {
                    self.infer(&entry.value);
                }
            }
            StepKind::Event { name, values } => {
                let decl = self.event_decl(&name.name);
                for entry in values {
                    let have = self.infer(&entry.value);
                    if let Some(k) =
                        decl.and_then(|d| d.keys.iter().find(|k| k.name.name == entry.key.name))
                    {
                        let want = field_ty(&entry.key.name, &k.ty.kind, k.name.span);
                        let what = format!("key `{}`", entry.key.name);
                        let rule = "an event's value has the type its declaration gives the key";
                        self.expect_value(&want, &entry.value, &have, &what, rule);
                    }
                }
            }
            StepKind::Respond {
                answer: Some(values),
                ..
            } => {
                for entry in values {
                    self.infer(&entry.value);
                }
            }
            StepKind::Submit { values, .. } => {
                for entry in values {
                    let have = self.infer(&entry.value);
                    if let Some(info) = self.syms.fields.get(&entry.key.name) {
                        let want = field_ty(&info.name, &info.kind, info.span);
                        let what = format!("input `{}`", entry.key.name);
                        let rule = "a submitted value has the type of its input";
                        self.expect_value(&want, &entry.value, &have, &what, rule);
                    }
                }
            }
            _ => {}
        }
    }

    /// Reports a value of the wrong type for a field, or a choice that is not an option.
    fn expect_value(&mut self, want: &Ty, value: &Expr, have: &Ty, what: &str, rule: &str) {
        if !want.agrees(have) {
            let mut d = Diagnostic::new(
                codes::TYPE_MISMATCH,
                format!("{what} takes {}, not {}", want.name(), have.name()),
                value.span,
                format!("this is {}", have.name()),
            )
            .with_note(rule.to_string());
            if let Ty::OneOf(o) = want
                && let Some(decl) = o.decl
            {
                d = d.with_secondary(decl, "declared here");
            }
            self.diags
                .push(d.with_help(format!("give it {}", want.name())));
            return;
        }
        self.check_choice(want, value);
    }

    fn expect_bool(&mut self, e: &Expr, what: &str) {
        let ty = self.infer(e);
        if !ty.agrees(&Ty::Bool) {
            let help = match &ty {
                Ty::Text | Ty::OneOf(_) => {
                    "compare it, e.g. `message.text == \"yes\"`, or test it with `is set`"
                }
                Ty::Number => "compare it, e.g. `quantity > 10`",
                Ty::List(_) => {
                    "test membership with `contains`, e.g. `contact.tags contains \"vip\"`"
                }
                _ => "compare it with another value to get a yes/no answer",
            };
            self.diags.push(
                Diagnostic::new(
                    codes::TYPE_MISMATCH,
                    format!("{what} must be yes or no"),
                    e.span,
                    format!("this is {}", ty.name()),
                )
                .with_note("conditions must be comparisons, `is set`, `has tag`, `matches`, `inside`/`outside` hours, or yes/no fields")
                .with_help(help),
            );
        }
    }

    /// E0306: a string literal where a [`Ty::OneOf`] is expected must be one of its values.
    fn check_choice(&mut self, want: &Ty, value: &Expr) {
        let Ty::OneOf(o) = want else { return };
        let ExprKind::Str(text) = &value.kind else {
            return;
        };
        if !text.is_plain() || o.values.contains(&text.value) {
            return;
        }
        let listed = o
            .values
            .iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut d = Diagnostic::new(
            codes::NOT_A_CHOICE,
            format!("`{}` is not one of {}", text.value, o.what),
            value.span,
            "not one of the allowed values",
        )
        .with_note(if listed.is_empty() {
            format!("{} are empty", o.what)
        } else {
            format!("the allowed values are {listed}")
        });
        if let Some(decl) = o.decl {
            d = d.with_secondary(decl, "options declared here");
        }
        let help = did_you_mean(&text.value, o.values.iter().map(String::as_str))
            .map(|s| format!("did you mean `{s}`?"))
            .unwrap_or_else(|| "use one of the allowed values, spelled exactly".into());
        self.diags.push(d.with_help(help));
    }

    fn mismatch(&mut self, at: Span, message: String, label: String) -> Diagnostic {
        Diagnostic::new(codes::TYPE_MISMATCH, message, at, label)
    }

    /// The type of an expression, reporting what is wrong inside it.
    fn infer(&mut self, e: &Expr) -> Ty {
        match &e.kind {
            ExprKind::Str(text) => {
                for inner in walk::interpolations(text) {
                    self.infer(inner);
                }
                Ty::Text
            }
            ExprKind::Num(_) => Ty::Number,
            ExprKind::Bool(_) => Ty::Bool,
            ExprKind::Duration(_) => Ty::Duration,
            ExprKind::Date(_) | ExprKind::Today => Ty::Date,
            ExprKind::Clock(_) => Ty::Clock,
            ExprKind::Now => Ty::Time,
            ExprKind::Path(path) if path.first().is_some_and(|p| p.name == "event") => {
                self.event_path_ty(path)
            }
            ExprKind::Path(path) => path_ty(path, self.syms),
            ExprKind::List(items) => self.list(items),
            ExprKind::Unary { op, expr } => self.unary(*op, expr, e.span),
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs),
            ExprKind::HasTag { subject, .. } => {
                let is_contact = matches!(&subject.kind, ExprKind::Path(p)
                    if p.len() == 1 && p.first().is_some_and(|i| i.name == "contact"));
                if !is_contact {
                    self.infer(subject);
                    let d = self
                        .mismatch(
                            subject.span,
                            "only `contact` has tags".into(),
                            "`has tag` needs `contact` here".into(),
                        )
                        .with_note("tags belong to the contact: `contact has tag \"vip\"`")
                        .with_help(
                            "write `contact has tag ...`, or `contains` to search a text or list",
                        );
                    self.diags.push(d);
                }
                Ty::Bool
            }
            ExprKind::InHours { .. } => Ty::Bool,
            ExprKind::IsSet { expr, .. } => {
                self.infer(expr);
                Ty::Bool
            }
            ExprKind::Matches { expr, .. } => {
                let ty = self.infer(expr);
                if !ty.agrees(&Ty::Text) {
                    let d = self
                        .mismatch(
                            expr.span,
                            format!("`matches` needs text, not {}", ty.name()),
                            format!("this is {}", ty.name()),
                        )
                        .with_note("regular expressions only match text")
                        .with_help("match a text value such as `message.text`");
                    self.diags.push(d);
                }
                Ty::Bool
            }
        }
    }

    fn list(&mut self, items: &[Expr]) -> Ty {
        let mut item_ty = Ty::Unknown;
        let mut first: Option<&Expr> = None;
        for item in items {
            let ty = self.infer(item);
            if ty.is_unknown() {
                continue;
            }
            match first {
                None => {
                    item_ty = ty;
                    first = Some(item);
                }
                Some(f) if !item_ty.agrees(&ty) => {
                    let d = self
                        .mismatch(
                            item.span,
                            format!("a list mixes {} and {}", item_ty.plural(), ty.plural()),
                            format!("this is {}", ty.name()),
                        )
                        .with_secondary(f.span, format!("this is {}", item_ty.name()))
                        .with_note("all items of a list have the same type")
                        .with_help("make every item the same kind of value");
                    self.diags.push(d);
                }
                Some(_) => {
                    // Literal texts of a list keep no options: `[..] contains x` is text.
                    if item_ty != ty && item_ty.is_texty() {
                        item_ty = Ty::Text;
                    }
                }
            }
        }
        Ty::List(Box::new(item_ty))
    }

    fn unary(&mut self, op: UnOp, inner: &Expr, span: Span) -> Ty {
        let ty = self.infer(inner);
        match op {
            UnOp::Not => {
                if !ty.agrees(&Ty::Bool) {
                    let d = self
                        .mismatch(
                            inner.span,
                            format!("`not` needs a yes/no value, not {}", ty.name()),
                            format!("this is {}", ty.name()),
                        )
                        .with_note("`not` turns yes into no and no into yes")
                        .with_help("negate a condition, e.g. `not (order is set)`");
                    self.diags.push(d);
                }
                Ty::Bool
            }
            UnOp::Neg => match ty {
                Ty::Number | Ty::Duration | Ty::Unknown => ty,
                other => {
                    let d = self
                        .mismatch(
                            span,
                            format!("cannot negate {}", other.name()),
                            format!("this is {}", other.name()),
                        )
                        .with_note("only numbers and durations have a minus sign")
                        .with_help("remove the `-`");
                    self.diags.push(d);
                    Ty::Unknown
                }
            },
        }
    }

    fn binary(&mut self, op: BinOp, lhs: &Expr, rhs: &Expr) -> Ty {
        let l = self.infer(lhs);
        let r = self.infer(rhs);
        match op {
            BinOp::And | BinOp::Or => {
                let word = if op == BinOp::And { "and" } else { "or" };
                for (side, ty) in [(lhs, &l), (rhs, &r)] {
                    if !ty.agrees(&Ty::Bool) {
                        let d = self
                            .mismatch(
                                side.span,
                                format!("`{word}` joins yes/no values, not {}", ty.plural()),
                                format!("this is {}", ty.name()),
                            )
                            .with_note(format!("both sides of `{word}` must be conditions"))
                            .with_help(
                                "compare the value, e.g. `x == \"...\"`, or test it with `is set`",
                            );
                        self.diags.push(d);
                    }
                }
                Ty::Bool
            }
            BinOp::Eq | BinOp::Ne => {
                if l.agrees(&r) {
                    self.check_choice(&l, rhs);
                    self.check_choice(&r, lhs);
                } else {
                    self.report_compare(op, lhs, &l, rhs, &r);
                }
                Ty::Bool
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let ordered = |t: &Ty| {
                    matches!(
                        t,
                        Ty::Number | Ty::Date | Ty::Time | Ty::Clock | Ty::Duration | Ty::Unknown
                    )
                };
                // A moment compared with a clock time compares its time of day in the
                // flow's time zone: `now >= 18:00`.
                let time_of_day = matches!((&l, &r), (Ty::Time, Ty::Clock) | (Ty::Clock, Ty::Time));
                if !(l.agrees(&r) || time_of_day) {
                    self.report_compare(op, lhs, &l, rhs, &r);
                } else {
                    for (side, ty) in [(lhs, &l), (rhs, &r)] {
                        if !ordered(ty) {
                            let d = self
                                .mismatch(
                                    side.span,
                                    format!("`{}` does not order {}", op.as_str(), ty.name()),
                                    format!("this is {}", ty.name()),
                                )
                                .with_note("`<`, `<=`, `>` and `>=` compare numbers, dates, times and durations")
                                .with_help("use `==` or `!=` to compare these values");
                            self.diags.push(d);
                            break;
                        }
                    }
                }
                Ty::Bool
            }
            BinOp::Contains => {
                match &l {
                    Ty::Unknown => {}
                    Ty::Text | Ty::OneOf(_) => {
                        if !r.agrees(&Ty::Text) {
                            self.report_compare(op, lhs, &l, rhs, &r);
                        }
                    }
                    Ty::List(item) => {
                        if !item.agrees(&r) {
                            self.report_compare(op, lhs, &l, rhs, &r);
                        } else {
                            self.check_choice(item, rhs);
                        }
                    }
                    other => {
                        let d = self
                            .mismatch(
                                lhs.span,
                                format!("`contains` searches text or a list, not {}", other.name()),
                                format!("this is {}", other.name()),
                            )
                            .with_note("`contains` looks for a part of a text or an item of a list")
                            .with_help("use `==` to compare the whole value");
                        self.diags.push(d);
                    }
                }
                Ty::Bool
            }
            BinOp::In => {
                match &r {
                    Ty::Unknown => {}
                    Ty::List(item) => {
                        if !item.agrees(&l) {
                            self.report_compare(op, lhs, &l, rhs, &r);
                        } else if let ExprKind::List(items) = &rhs.kind {
                            for item in items {
                                self.check_choice(&l, item);
                            }
                        }
                    }
                    other => {
                        let d = self
                            .mismatch(
                                rhs.span,
                                format!("`in` needs a list on its right, not {}", other.name()),
                                format!("this is {}", other.name()),
                            )
                            .with_note("`x in [a, b]` is yes when `x` equals one of the items")
                            .with_help("write the values as a list, e.g. `contact.country in [\"BR\", \"PT\"]`");
                        self.diags.push(d);
                    }
                }
                Ty::Bool
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div => {
                self.arithmetic(op, lhs, &l, rhs, &r)
            }
        }
    }

    fn arithmetic(&mut self, op: BinOp, lhs: &Expr, l: &Ty, rhs: &Expr, r: &Ty) -> Ty {
        use Ty::*;
        let additive = matches!(op, BinOp::Add | BinOp::Sub);
        let result = match (l, r) {
            (Unknown, _) | (_, Unknown) => Some(Unknown),
            (Number, Number) => Some(Number),
            // Calendar and clock arithmetic: `today + 3d`, `now - 2h`, `now - card.opened_at`.
            (Date | Time, Duration) if additive => Some(l.clone()),
            (Duration, Date | Time) if op == BinOp::Add => Some(r.clone()),
            (Duration, Duration) if additive => Some(Duration),
            (Date, Date) | (Time, Time) if op == BinOp::Sub => Some(Duration),
            (Duration, Number) => Some(Duration),
            (Number, Duration) if op == BinOp::Mul => Some(Duration),
            _ => None,
        };
        if let Some(ty) = result {
            return ty;
        }
        let sym = match op {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            _ => "/",
        };
        let d = self
            .mismatch(
                rhs.span,
                format!("cannot compute {} `{sym}` {}", l.name(), r.name()),
                format!("this is {}", r.name()),
            )
            .with_secondary(lhs.span, format!("this is {}", l.name()))
            .with_note("arithmetic works on numbers; dates and moments move by durations (`today + 3d`, `now - 2h`)")
            .with_help(if l.is_texty() || r.is_texty() {
                "to join texts, interpolate them in a string: `\"{a} {b}\"`"
            } else {
                "make both sides numbers, or add a duration to a date or moment"
            });
        self.diags.push(d);
        Unknown
    }

    fn report_compare(&mut self, op: BinOp, lhs: &Expr, l: &Ty, rhs: &Expr, r: &Ty) {
        let (message, note) = match op {
            BinOp::Contains => (
                format!("{} cannot contain {}", l.name(), r.name()),
                "`contains` looks for a text in a text, or an item in a list of the same type",
            ),
            BinOp::In => (
                format!("{} cannot be in {}", l.name(), r.name()),
                "`x in [a, b]` needs items of the same type as `x`",
            ),
            _ => (
                format!("cannot compare {} with {}", l.name(), r.name()),
                "both sides of a comparison must have the same type",
            ),
        };
        let d = self
            .mismatch(rhs.span, message, format!("this is {}", r.name()))
            .with_secondary(lhs.span, format!("this is {}", l.name()))
            .with_note(note)
            .with_help(match (l, r) {
                (Ty::Number, t) | (t, Ty::Number) if t.is_texty() => {
                    "write the number without quotes, or declare the field as `number`"
                }
                (Ty::Date, t) | (t, Ty::Date) if t.is_texty() => {
                    "write dates without quotes, like `2026-12-25`"
                }
                (Ty::Bool, t) | (t, Ty::Bool) if t.is_texty() => {
                    "yes/no fields compare with `true` or `false`, without quotes"
                }
                _ => "compare values of the same kind",
            });
        self.diags.push(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::symbols::FieldInfo;
    use crate::syntax::ast::{ClockLit, DurationLit, Ident, Text, TextPart};

    fn sp() -> Span {
        Span::default()
    }

    fn e(kind: ExprKind) -> Expr {
        Expr { kind, span: sp() }
    }

    fn path(p: &str) -> Expr {
        e(ExprKind::Path(
            p.split('.')
                .map(|n| Ident {
                    name: n.into(),
                    span: sp(),
                })
                .collect(),
        ))
    }

    fn s(v: &str) -> Expr {
        e(ExprKind::Str(Text {
            value: v.into(),
            parts: vec![TextPart::Lit(v.into())],
            span: sp(),
        }))
    }

    fn bin(op: BinOp, l: Expr, r: Expr) -> Expr {
        e(ExprKind::Binary {
            op,
            lhs: Box::new(l),
            rhs: Box::new(r),
        })
    }

    fn syms() -> Symbols {
        let mut syms = Symbols::default();
        let field = |name: &str, kind: FieldKind| FieldInfo {
            name: name.into(),
            kind,
            span: sp(),
            form: None,
        };
        syms.fields.insert(
            "quantity".into(),
            field("quantity", FieldKind::Number { range: None }),
        );
        let opts = ["low", "normal", "high"]
            .map(|o| Text {
                value: o.into(),
                parts: vec![TextPart::Lit(o.into())],
                span: sp(),
            })
            .to_vec();
        syms.fields
            .insert("urgency".into(), field("urgency", FieldKind::Choice(opts)));
        syms
    }

    /// The codes reported while typing `expr` as a condition.
    fn codes_of(expr: &Expr) -> Vec<Diagnostic> {
        let syms = syms();
        let file = crate::syntax::ast::File::default();
        let mut t = Typer {
            file: &file,
            syms: &syms,
            diags: Vec::new(),
            event: None,
        };
        t.expect_bool(expr, "a condition");
        t.diags
    }

    #[test]
    fn number_compared_with_text_is_a_mismatch() {
        let d = codes_of(&bin(BinOp::Eq, path("quantity"), s("10")));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, codes::TYPE_MISMATCH);
        assert_eq!(d[0].message, "cannot compare a number with text");
    }

    #[test]
    fn choice_literal_outside_options_suggests_the_closest() {
        let d = codes_of(&bin(BinOp::Eq, path("urgency"), s("hihg")));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, codes::NOT_A_CHOICE);
        assert_eq!(d[0].help.as_deref(), Some("did you mean `high`?"));
        assert!(codes_of(&bin(BinOp::Eq, s("low"), path("urgency"))).is_empty());
    }

    #[test]
    fn dates_and_moments_move_by_durations() {
        let dur = |secs| {
            e(ExprKind::Duration(DurationLit {
                seconds: secs,
                span: sp(),
            }))
        };
        let since_opened = bin(BinOp::Sub, e(ExprKind::Now), path("card.opened_at"));
        assert!(codes_of(&bin(BinOp::Gt, since_opened, dur(3600))).is_empty());
        let later = bin(BinOp::Add, e(ExprKind::Today), dur(86400));
        assert!(codes_of(&bin(BinOp::Lt, later, e(ExprKind::Today))).is_empty());
        let clock = e(ExprKind::Clock(ClockLit {
            hour: 18,
            minute: 0,
            span: sp(),
        }));
        assert!(codes_of(&bin(BinOp::Ge, e(ExprKind::Now), clock)).is_empty());
        let bad = bin(BinOp::Add, e(ExprKind::Today), e(ExprKind::Today));
        assert_eq!(codes_of(&bin(BinOp::Eq, bad, e(ExprKind::Today))).len(), 1);
    }

    #[test]
    fn contains_and_in_check_their_operands() {
        assert!(codes_of(&bin(BinOp::Contains, path("contact.tags"), s("vip"))).is_empty());
        let d = codes_of(&bin(BinOp::In, path("contact.country"), s("BR")));
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("`in` needs a list"));
        let list = e(ExprKind::List(vec![s("low"), s("medium")]));
        let d = codes_of(&bin(BinOp::In, path("urgency"), list));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, codes::NOT_A_CHOICE);
    }

    #[test]
    fn unknown_names_are_not_reported_twice() {
        assert!(codes_of(&bin(BinOp::Eq, path("nosuch"), s("x"))).is_empty());
        assert!(codes_of(&path("nosuch")).is_empty());
        let d = codes_of(&path("contact.name"));
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("must be yes or no"));
    }
}
