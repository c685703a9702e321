//! Expressions lowered for evaluation: paths resolved to properties, regexes compiled,
//! hours resolved by index, and every condition atom labelled with its source form so the
//! engine can say which condition values made a handler fire.

use super::value::Value;
use crate::syntax::ast::{self, BinOp, ExprKind, TextPart, UnOp};
use regex::Regex;
use std::collections::BTreeMap;

/// A property an expression reads.
#[derive(Clone, Debug, PartialEq)]
pub enum Path {
    ContactPhone,
    ContactName,
    ContactCountry,
    ContactTags,
    ContactNew,
    ContactReturning,
    ContactAttr(String),
    CardStage,
    CardTeam,
    CardAgent,
    CardPriority,
    CardStatus,
    CardCloseReason,
    CardOpenedAt,
    MessageText,
    MessageType,
    /// `event.id`: the id the business system gave the event being handled.
    EventId,
    /// `event.order`: a key of the payload of the event being handled.
    EventKey(String),
    Field(String),
    /// A path the checker would reject; it reads as unset.
    Unknown,
}

/// A compiled expression.
#[derive(Clone, Debug)]
pub enum Expr {
    Lit(Value),
    Path(Path),
    Today,
    Now,
    List(Vec<Expr>),
    Interp(Interp),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    HasTag {
        subject: Box<Expr>,
        tag: String,
        negated: bool,
    },
    /// `inside office`; `hours` indexes [`super::Program::hours`], `None` if unknown.
    InHours {
        hours: Option<usize>,
        negated: bool,
    },
    IsSet {
        expr: Box<Expr>,
        negated: bool,
    },
    /// `x matches /re/`; `None` when the pattern did not compile (never matches).
    Matches {
        expr: Box<Expr>,
        regex: Option<Regex>,
    },
    /// A condition atom whose value is recorded in the trace under `label`.
    Cond {
        label: String,
        inner: Box<Expr>,
    },
}

/// A string with `{expr}` interpolations.
#[derive(Clone, Debug, Default)]
pub struct Interp {
    pub parts: Vec<InterpPart>,
}

#[derive(Clone, Debug)]
pub enum InterpPart {
    Lit(String),
    Expr(Expr),
}

impl Interp {
    pub fn plain(s: impl Into<String>) -> Interp {
        Interp {
            parts: vec![InterpPart::Lit(s.into())],
        }
    }
}

/// Lowering context: the names of hours declarations, by index.
pub struct Lower<'a> {
    pub hours: &'a BTreeMap<String, usize>,
}

impl Lower<'_> {
    pub fn text(&self, t: &ast::Text) -> Interp {
        Interp {
            parts: t
                .parts
                .iter()
                .map(|p| match p {
                    TextPart::Lit(s) => InterpPart::Lit(s.clone()),
                    TextPart::Interp(e) => InterpPart::Expr(self.expr(e)),
                })
                .collect(),
        }
    }

    pub fn expr(&self, e: &ast::Expr) -> Expr {
        match &e.kind {
            ExprKind::Str(t) => {
                if t.is_plain() {
                    Expr::Lit(Value::Str(t.value.clone()))
                } else {
                    Expr::Interp(self.text(t))
                }
            }
            ExprKind::Num(n) => Expr::Lit(Value::Num(*n)),
            ExprKind::Bool(b) => Expr::Lit(Value::Bool(*b)),
            ExprKind::Duration(d) => Expr::Lit(Value::Duration(
                i64::try_from(d.seconds).unwrap_or(i64::MAX),
            )),
            ExprKind::Date(d) => Expr::Lit(date_value(d)),
            ExprKind::Clock(c) => Expr::Lit(Value::Clock(c.hour * 60 + c.minute)),
            ExprKind::Path(ids) => Expr::Path(path(ids)),
            ExprKind::Today => Expr::Today,
            ExprKind::Now => Expr::Now,
            ExprKind::List(items) => Expr::List(items.iter().map(|i| self.expr(i)).collect()),
            ExprKind::Unary { op, expr } => {
                let inner = Box::new(self.expr(expr));
                match op {
                    UnOp::Not => Expr::Not(inner),
                    UnOp::Neg => Expr::Neg(inner),
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let bin = Expr::Bin(*op, Box::new(self.expr(lhs)), Box::new(self.expr(rhs)));
                if matches!(
                    op,
                    BinOp::And | BinOp::Or | BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div
                ) {
                    bin
                } else {
                    cond(e, bin)
                }
            }
            ExprKind::HasTag {
                subject,
                tag,
                negated,
            } => cond(
                e,
                Expr::HasTag {
                    subject: Box::new(self.expr(subject)),
                    tag: tag.value.clone(),
                    negated: *negated,
                },
            ),
            ExprKind::InHours { hours, negated } => cond(
                e,
                Expr::InHours {
                    hours: self.hours.get(&hours.name).copied(),
                    negated: *negated,
                },
            ),
            ExprKind::IsSet { expr, negated } => cond(
                e,
                Expr::IsSet {
                    expr: Box::new(self.expr(expr)),
                    negated: *negated,
                },
            ),
            ExprKind::Matches { expr, regex } => cond(
                e,
                Expr::Matches {
                    expr: Box::new(self.expr(expr)),
                    regex: Regex::new(&regex.source).ok(),
                },
            ),
        }
    }
}

fn cond(e: &ast::Expr, inner: Expr) -> Expr {
    Expr::Cond {
        label: show(e),
        inner: Box::new(inner),
    }
}

/// A date literal as a value; an impossible date reads as unset.
pub fn date_value(d: &ast::DateLit) -> Value {
    let (Ok(y), Ok(m), Ok(day)) = (
        i16::try_from(d.year),
        i8::try_from(d.month),
        i8::try_from(d.day),
    ) else {
        return Value::Null;
    };
    jiff::civil::Date::new(y, m, day).map_or(Value::Null, Value::Date)
}

/// Resolves a dotted path.
pub fn path(ids: &[ast::Ident]) -> Path {
    let names: Vec<&str> = ids.iter().map(|i| i.name.as_str()).collect();
    match names.as_slice() {
        // `contact has tag "vip"`: the subject reads as the contact's tags.
        ["contact"] | ["contact", "tags"] => Path::ContactTags,
        ["contact", "phone"] => Path::ContactPhone,
        ["contact", "name"] => Path::ContactName,
        ["contact", "country"] => Path::ContactCountry,
        ["contact", "new"] => Path::ContactNew,
        ["contact", "returning"] => Path::ContactReturning,
        ["contact", "attr", name] => Path::ContactAttr((*name).to_string()),
        ["card", "stage"] => Path::CardStage,
        ["card", "team"] => Path::CardTeam,
        ["card", "agent"] => Path::CardAgent,
        ["card", "priority"] => Path::CardPriority,
        ["card", "status"] => Path::CardStatus,
        ["card", "close_reason"] => Path::CardCloseReason,
        ["card", "opened_at"] => Path::CardOpenedAt,
        ["message", "text"] => Path::MessageText,
        ["message", "type"] => Path::MessageType,
        ["event", "id"] => Path::EventId,
        ["event", key] => Path::EventKey((*key).to_string()),
        [field] => Path::Field((*field).to_string()),
        _ => Path::Unknown,
    }
}

/// The source form of an expression, for trace labels and messages.
pub fn show(e: &ast::Expr) -> String {
    match &e.kind {
        ExprKind::Str(t) => format!("{:?}", t.value),
        ExprKind::Num(n) => Value::Num(*n).to_string(),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Duration(d) => {
            super::value::show_duration(i64::try_from(d.seconds).unwrap_or(i64::MAX))
        }
        ExprKind::Date(d) => format!("{:04}-{:02}-{:02}", d.year, d.month, d.day),
        ExprKind::Clock(c) => format!("{:02}:{:02}", c.hour, c.minute),
        ExprKind::Path(ids) => ids
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join("."),
        ExprKind::Today => "today".into(),
        ExprKind::Now => "now".into(),
        ExprKind::List(items) => format!(
            "[{}]",
            items.iter().map(show).collect::<Vec<_>>().join(", ")
        ),
        ExprKind::Unary { op, expr } => match op {
            UnOp::Not => format!("not {}", show(expr)),
            UnOp::Neg => format!("-{}", show(expr)),
        },
        ExprKind::Binary { op, lhs, rhs } => {
            format!("{} {} {}", show(lhs), op.as_str(), show(rhs))
        }
        ExprKind::HasTag {
            subject,
            tag,
            negated,
        } => format!(
            "{} has {}tag {:?}",
            show(subject),
            if *negated { "no " } else { "" },
            tag.value
        ),
        ExprKind::InHours { hours, negated } => format!(
            "{} {}",
            if *negated { "outside" } else { "inside" },
            hours.name
        ),
        ExprKind::IsSet { expr, negated } => format!(
            "{} is {}set",
            show(expr),
            if *negated { "not " } else { "" }
        ),
        ExprKind::Matches { expr, regex } => format!("{} matches /{}/", show(expr), regex.source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::span::Span;
    use crate::syntax::vocab;

    fn ids(names: &[&str]) -> Vec<ast::Ident> {
        names
            .iter()
            .map(|n| ast::Ident {
                name: (*n).to_string(),
                span: Span::default(),
            })
            .collect()
    }

    /// A property added to the vocabulary must be given a meaning here too.
    #[test]
    fn every_property_of_the_vocabulary_reads_something() {
        for p in vocab::PROPERTIES {
            let path = match p.kind {
                vocab::PropKind::Attributes => path(&ids(&[p.root, p.name, "plan"])),
                _ => path(&ids(&[p.root, p.name])),
            };
            assert_ne!(path, Path::Unknown, "{}.{} reads nothing", p.root, p.name);
        }
    }
}
