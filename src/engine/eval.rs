//! Expression evaluation over a conversation. Condition atoms record their values in the
//! trace as they are evaluated, so an effect can say which conditions made it happen.

use super::run::Run;
use crate::compile::fold::fold_answer;
use crate::compile::{Expr, Interp, InterpPart, Path, Value};
use crate::syntax::ast::BinOp;
use jiff::SignedDuration;
use std::cmp::Ordering;

/// The longest string `+` builds, in bytes (WhatsApp texts stop at 4096 characters).
const MAX_STRING: usize = 65_536;

impl Run<'_> {
    /// Builds an interpolated string.
    pub(super) fn interp(&mut self, i: &Interp) -> String {
        let mut out = String::new();
        for part in &i.parts {
            match part {
                InterpPart::Lit(s) => out.push_str(s),
                InterpPart::Expr(e) => {
                    let v = self.eval(e);
                    out.push_str(&v.to_string());
                }
            }
        }
        out
    }

    pub(super) fn eval(&mut self, e: &Expr) -> Value {
        match e {
            Expr::Lit(v) => v.clone(),
            Expr::Path(p) => self.path(p),
            Expr::Today => Value::Date(self.today()),
            Expr::Now => Value::Timestamp(self.now),
            Expr::List(items) => Value::List(items.iter().map(|i| self.eval(i)).collect()),
            Expr::Interp(i) => Value::Str(self.interp(i)),
            Expr::Not(inner) => match self.eval(inner) {
                Value::Bool(b) => Value::Bool(!b),
                _ => Value::Null,
            },
            Expr::Neg(inner) => match self.eval(inner) {
                Value::Num(n) => Value::Num(-n),
                Value::Duration(d) => Value::Duration(d.saturating_neg()),
                _ => Value::Null,
            },
            Expr::Bin(op, l, r) => self.binary(*op, l, r),
            Expr::HasTag {
                subject,
                tag,
                negated,
            } => {
                let tags = self.eval(subject);
                let want = fold_answer(tag);
                let has = match tags {
                    Value::List(items) => items
                        .iter()
                        .any(|t| matches!(t, Value::Str(s) if fold_answer(s) == want)),
                    _ => false,
                };
                Value::Bool(has != *negated)
            }
            Expr::InHours { hours, negated } => {
                let inside = hours
                    .and_then(|h| self.p.hours.get(h))
                    .is_some_and(|h| super::hours::inside(h, self.now));
                Value::Bool(inside != *negated)
            }
            Expr::IsSet { expr, negated } => {
                let set = !self.eval(expr).is_null();
                Value::Bool(set != *negated)
            }
            Expr::Matches { expr, regex } => {
                let v = self.eval(expr);
                let hit = match (&v, regex) {
                    (Value::Null, _) | (_, None) => false,
                    (v, Some(re)) => re.is_match(&v.to_string()),
                };
                Value::Bool(hit)
            }
            Expr::Cond { label, inner } => {
                let v = self.eval(inner);
                self.conditions.push((label.clone(), v.to_string()));
                v
            }
        }
    }

    fn binary(&mut self, op: BinOp, l: &Expr, r: &Expr) -> Value {
        // `and` and `or` short-circuit, so only the atoms that decided are traced.
        match op {
            BinOp::And => {
                return Value::Bool(self.eval(l).is_true() && self.eval(r).is_true());
            }
            BinOp::Or => {
                return Value::Bool(self.eval(l).is_true() || self.eval(r).is_true());
            }
            _ => {}
        }
        let a = self.eval(l);
        let b = self.eval(r);
        match op {
            BinOp::Eq => Value::Bool(equal(&a, &b)),
            BinOp::Ne => Value::Bool(!equal(&a, &b)),
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => match self.compare(&a, &b) {
                Some(o) => Value::Bool(match op {
                    BinOp::Lt => o == Ordering::Less,
                    BinOp::Le => o != Ordering::Greater,
                    BinOp::Gt => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                }),
                None => Value::Bool(false),
            },
            BinOp::Contains => Value::Bool(contains(&a, &b)),
            BinOp::In => Value::Bool(contains(&b, &a)),
            BinOp::Add => match (a, b) {
                (Value::Num(x), Value::Num(y)) => Value::Num(x + y),
                (Value::Str(x), y) => {
                    // A cap, so a script that doubles a string in a loop cannot exhaust
                    // memory before the step budget stops it.
                    let joined = format!("{x}{y}");
                    if joined.len() > MAX_STRING {
                        Value::Null
                    } else {
                        Value::Str(joined)
                    }
                }
                (Value::Duration(x), Value::Duration(y)) => Value::Duration(x.saturating_add(y)),
                (Value::Timestamp(t), Value::Duration(d))
                | (Value::Duration(d), Value::Timestamp(t)) => t
                    .checked_add(SignedDuration::from_secs(d))
                    .map_or(Value::Null, Value::Timestamp),
                (Value::Date(t), Value::Duration(d)) => t
                    .checked_add(jiff::Span::new().days(d / 86_400))
                    .map_or(Value::Null, Value::Date),
                _ => Value::Null,
            },
            BinOp::Sub => match (a, b) {
                (Value::Num(x), Value::Num(y)) => Value::Num(x - y),
                (Value::Duration(x), Value::Duration(y)) => Value::Duration(x.saturating_sub(y)),
                (Value::Timestamp(t), Value::Duration(d)) => t
                    .checked_sub(SignedDuration::from_secs(d))
                    .map_or(Value::Null, Value::Timestamp),
                (Value::Timestamp(x), Value::Timestamp(y)) => {
                    Value::Duration(x.as_second().saturating_sub(y.as_second()))
                }
                (Value::Date(t), Value::Duration(d)) => t
                    .checked_sub(jiff::Span::new().days(d / 86_400))
                    .map_or(Value::Null, Value::Date),
                _ => Value::Null,
            },
            BinOp::Mul => match (a, b) {
                (Value::Num(x), Value::Num(y)) => Value::Num(x * y),
                (Value::Duration(d), Value::Num(n)) | (Value::Num(n), Value::Duration(d)) => {
                    let v = d as f64 * n;
                    if v.is_finite() && v.abs() < 9.0e15 {
                        Value::Duration(v as i64)
                    } else {
                        Value::Null
                    }
                }
                _ => Value::Null,
            },
            BinOp::Div => match (a, b) {
                (Value::Num(x), Value::Num(y)) if y != 0.0 => Value::Num(x / y),
                _ => Value::Null,
            },
            BinOp::And | BinOp::Or => Value::Null,
        }
    }

    /// Orders two values; a timestamp compares with a clock time or a date in the flow's
    /// time zone (`now > 18:00`, `now < 2026-12-25`).
    fn compare(&self, a: &Value, b: &Value) -> Option<Ordering> {
        match (a, b) {
            (Value::Num(x), Value::Num(y)) => x.partial_cmp(y),
            (Value::Str(x), Value::Str(y)) => Some(fold_answer(x).cmp(&fold_answer(y))),
            (Value::Duration(x), Value::Duration(y)) => Some(x.cmp(y)),
            (Value::Date(x), Value::Date(y)) => Some(x.cmp(y)),
            (Value::Clock(x), Value::Clock(y)) => Some(x.cmp(y)),
            (Value::Timestamp(x), Value::Timestamp(y)) => Some(x.cmp(y)),
            (Value::Timestamp(t), Value::Clock(c)) => Some(self.local_minutes(*t).cmp(c)),
            (Value::Clock(c), Value::Timestamp(t)) => Some(c.cmp(&self.local_minutes(*t))),
            (Value::Timestamp(t), Value::Date(d)) => {
                Some(self.p.timezone.to_datetime(*t).date().cmp(d))
            }
            (Value::Date(d), Value::Timestamp(t)) => {
                Some(d.cmp(&self.p.timezone.to_datetime(*t).date()))
            }
            _ => None,
        }
    }

    fn local_minutes(&self, t: jiff::Timestamp) -> u32 {
        let dt = self.p.timezone.to_datetime(t);
        dt.hour() as u32 * 60 + dt.minute() as u32
    }

    fn path(&self, p: &Path) -> Value {
        let s = &self.s;
        let opt = |v: &Option<String>| v.clone().map_or(Value::Null, Value::Str);
        let card = s.current_card();
        match p {
            Path::ContactPhone => Value::Str(s.contact.phone.clone()),
            Path::ContactName => opt(&s.contact.name),
            Path::ContactCountry => opt(&s.contact.country),
            Path::ContactTags => {
                Value::List(s.contact.tags.iter().cloned().map(Value::Str).collect())
            }
            Path::ContactNew => Value::Bool(!s.contact.returning),
            Path::ContactReturning => Value::Bool(s.contact.returning),
            Path::ContactAttr(k) => opt(&s.contact.attrs.get(k).cloned()),
            Path::CardStage => card.map_or(Value::Null, |c| Value::Str(c.stage.clone())),
            Path::CardTeam => card.map_or(Value::Null, |c| opt(&c.team)),
            Path::CardAgent => card.map_or(Value::Null, |c| opt(&c.agent)),
            Path::CardPriority => {
                card.map_or(Value::Null, |c| Value::Str(c.priority.as_str().into()))
            }
            Path::CardStatus => card.map_or(Value::Null, |c| Value::Str(c.status.as_str().into())),
            Path::CardCloseReason => card.map_or(Value::Null, |c| opt(&c.close_reason)),
            Path::CardOpenedAt => card.map_or(Value::Null, |c| Value::Timestamp(c.opened_at)),
            Path::MessageText => self
                .msg
                .as_ref()
                .and_then(|m| m.text())
                .map_or(Value::Null, |t| Value::Str(t.to_string())),
            Path::MessageType => self
                .msg
                .as_ref()
                .map_or(Value::Null, |m| Value::Str(m.type_name().into())),
            Path::EventId => self
                .event
                .as_ref()
                .map_or(Value::Null, |e| Value::Str(e.id.clone())),
            Path::EventKey(k) => self
                .event
                .as_ref()
                .and_then(|e| e.payload.get(k))
                .cloned()
                .unwrap_or(Value::Null),
            Path::Field(name) => card
                .and_then(|c| c.fields.get(name))
                .cloned()
                .unwrap_or(Value::Null),
            Path::Unknown => Value::Null,
        }
    }
}

/// Equality; strings compare ignoring case and accents, like keywords.
pub(super) fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Str(x), Value::Str(y)) => x == y || fold_answer(x) == fold_answer(y),
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| equal(a, b))
        }
        (a, b) => a == b,
    }
}

/// `haystack contains needle`: a substring (folded) or a list member.
fn contains(haystack: &Value, needle: &Value) -> bool {
    match (haystack, needle) {
        (Value::Str(h), Value::Str(n)) => fold_answer(h).contains(&fold_answer(n)),
        (Value::List(items), n) => items.iter().any(|i| equal(i, n)),
        _ => false,
    }
}
