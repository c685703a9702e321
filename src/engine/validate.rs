//! Validation of answers to `ask` against the field's declared type.
//!
//! The answer is trimmed first. Choices and yes/no words compare after folding (case and
//! accents ignored). Dates are `YYYY-MM-DD` or `DD/MM/YYYY`, or a word for today or
//! tomorrow in English, Portuguese or Spanish; `today` in bounds is the flow's local date.

use crate::compile::fold::fold_answer;
use crate::compile::{DateBound, FieldCheck, Value};
use jiff::civil::Date;

const YES: &[&str] = &[
    "yes", "y", "yeah", "yep", "sure", "ok", "sim", "s", "claro", "si", "vale", "isso",
];
const NO: &[&str] = &["no", "n", "nope", "nao", "not", "nunca", "negativo"];

/// The value an answer sets, or `None` when it does not validate.
pub fn validate(check: &FieldCheck, answer: &str, today: Date) -> Option<Value> {
    let answer = answer.trim();
    match check {
        FieldCheck::Text { pattern, length } => {
            if answer.is_empty() {
                return None;
            }
            if let Some(re) = pattern
                && !re.is_match(answer)
            {
                return None;
            }
            if let Some((min, max)) = length {
                let n = answer.chars().count() as f64;
                if n < *min || n > *max {
                    return None;
                }
            }
            Some(Value::Str(answer.to_string()))
        }
        FieldCheck::Number { range } => {
            let n = parse_number(answer)?;
            if let Some((min, max)) = range
                && (n < *min || n > *max)
            {
                return None;
            }
            Some(Value::Num(n))
        }
        FieldCheck::Email => is_email(answer).then(|| Value::Str(answer.to_string())),
        FieldCheck::Phone => normalise_phone(answer).map(Value::Str),
        FieldCheck::Date { after, before } => {
            let d = parse_date(answer, today)?;
            let resolve = |b: &DateBound| match b {
                DateBound::Today => today,
                DateBound::Date(d) => *d,
            };
            if after.as_ref().is_some_and(|b| d <= resolve(b)) {
                return None;
            }
            if before.as_ref().is_some_and(|b| d >= resolve(b)) {
                return None;
            }
            Some(Value::Date(d))
        }
        FieldCheck::Choice(options) => {
            let folded = fold_answer(answer);
            options
                .iter()
                .find(|o| fold_answer(o) == folded)
                .map(|o| Value::Str(o.clone()))
        }
        FieldCheck::YesNo => {
            let folded = fold_answer(answer);
            let word = folded.trim_end_matches(['.', '!']);
            if YES.contains(&word) {
                Some(Value::Bool(true))
            } else if NO.contains(&word) {
                Some(Value::Bool(false))
            } else {
                None
            }
        }
    }
}

/// Whether a stored value still is a value of a field's type: the same kind of value,
/// and for a choice one of its options. Constraints such as a pattern or a range are the
/// business of the answer that set the value, not of values kept from before a change.
pub fn fits(check: &FieldCheck, value: &Value) -> bool {
    match (check, value) {
        (_, Value::Null) => true,
        (FieldCheck::Text { .. } | FieldCheck::Email | FieldCheck::Phone, Value::Str(_)) => true,
        (FieldCheck::Number { .. }, Value::Num(_)) => true,
        (FieldCheck::Date { .. }, Value::Date(_)) => true,
        (FieldCheck::YesNo, Value::Bool(_)) => true,
        (FieldCheck::Choice(options), Value::Str(s)) => options.iter().any(|o| o == s),
        _ => false,
    }
}

/// How a type is named in messages: "text", "a number", "one of \"a\", \"b\"".
pub fn type_name(check: &FieldCheck) -> String {
    match check {
        FieldCheck::Text { .. } => "text".into(),
        FieldCheck::Email => "an e-mail address".into(),
        FieldCheck::Phone => "a phone number".into(),
        FieldCheck::Number { .. } => "a number".into(),
        FieldCheck::Date { .. } => "a date".into(),
        FieldCheck::YesNo => "yes or no".into(),
        FieldCheck::Choice(options) => format!(
            "one of {}",
            options
                .iter()
                .map(|o| format!("{o:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `12`, `12.5`, `12,5`, `-3`.
fn parse_number(s: &str) -> Option<f64> {
    let s = s.replace(',', ".");
    let n: f64 = s.parse().ok()?;
    n.is_finite().then_some(n)
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !s.chars().any(char::is_whitespace)
        && domain
            .split_once('.')
            .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && !domain.ends_with('.'))
}

/// A phone number as `+digits` (8 to 15 digits); spaces, dashes, dots and brackets allowed.
fn normalise_phone(s: &str) -> Option<String> {
    let rest = s.strip_prefix('+').unwrap_or(s);
    if !rest
        .chars()
        .all(|c| c.is_ascii_digit() || " -.()".contains(c))
    {
        return None;
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    (8..=15)
        .contains(&digits.len())
        .then(|| format!("+{digits}"))
}

fn parse_date(s: &str, today: Date) -> Option<Date> {
    let folded = fold_answer(s);
    match folded.as_str() {
        "today" | "hoje" | "hoy" => return Some(today),
        "tomorrow" | "amanha" | "manana" => return today.tomorrow().ok(),
        _ => {}
    }
    let num = |x: &str| x.trim().parse::<i32>().ok();
    let (y, m, d) = if let [y, m, d] = s.split('-').collect::<Vec<_>>().as_slice() {
        (num(y)?, num(m)?, num(d)?)
    } else if let [d, m, y] = s.split('/').collect::<Vec<_>>().as_slice() {
        (num(y)?, num(m)?, num(d)?)
    } else {
        return None;
    };
    Date::new(
        i16::try_from(y).ok()?,
        i8::try_from(m).ok()?,
        i8::try_from(d).ok()?,
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Date {
        Date::new(2026, 1, 5).unwrap_or_default()
    }

    #[test]
    fn yes_no_in_three_languages() {
        for (w, v) in [
            ("Sim", true),
            ("sí", true),
            ("YES", true),
            ("não", false),
            ("No", false),
        ] {
            assert_eq!(
                validate(&FieldCheck::YesNo, w, today()),
                Some(Value::Bool(v)),
                "{w}"
            );
        }
        assert_eq!(validate(&FieldCheck::YesNo, "maybe", today()), None);
    }

    #[test]
    fn dates_relative_to_today() {
        let future = FieldCheck::Date {
            after: Some(DateBound::Today),
            before: None,
        };
        assert_eq!(validate(&future, "2026-01-05", today()), None);
        assert!(validate(&future, "06/01/2026", today()).is_some());
        assert!(validate(&future, "amanhã", today()).is_some());
        assert_eq!(validate(&future, "2026-02-30", today()), None);
    }

    #[test]
    fn numbers_emails_phones() {
        let n = FieldCheck::Number {
            range: Some((1.0, 100.0)),
        };
        assert_eq!(validate(&n, "12,5", today()), Some(Value::Num(12.5)));
        assert_eq!(validate(&n, "0", today()), None);
        assert!(validate(&FieldCheck::Email, "a@b.co", today()).is_some());
        assert!(validate(&FieldCheck::Email, "a@b", today()).is_none());
        assert_eq!(
            validate(&FieldCheck::Phone, "+55 (11) 98888-7777", today()),
            Some(Value::Str("+5511988887777".into()))
        );
        assert!(validate(&FieldCheck::Phone, "call me", today()).is_none());
    }

    #[test]
    fn choices_ignore_case_and_accents() {
        let c = FieldCheck::Choice(vec!["Manhã".into(), "Tarde".into()]);
        assert_eq!(
            validate(&c, "manha", today()),
            Some(Value::Str("Manhã".into()))
        );
        assert_eq!(validate(&c, "noite", today()), None);
    }
}
