//! Masking personal data by type, for tests made from recorded conversations. A masked
//! value is still a value the script accepts in the same place: an e-mail stays an
//! e-mail, a phone keeps its country, an answer to a text field keeps its shape so that
//! its pattern still matches, a date stays within its bounds. A value that cannot be
//! masked without changing what the script does is kept, and said so.

use crate::compile::{FieldCheck, Value};
use crate::engine::validate;
use jiff::civil::Date;

/// Hands out masked values, numbered so that two different values stay different.
#[derive(Debug, Default)]
pub struct Masker {
    emails: u32,
    phones: u32,
    texts: u32,
}

impl Masker {
    /// A contact's phone number: its calling code kept (the country decides routes),
    /// every other digit replaced, the length kept.
    pub fn contact_phone(&mut self, phone: &str) -> String {
        self.phones += 1;
        let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
        let code = crate::engine::calling_code(phone).unwrap_or("1");
        let rest = digits.len().saturating_sub(code.len()).max(7);
        let tail = format!("{:03}", self.phones % 1000);
        let zeros = "0".repeat(rest.saturating_sub(tail.len()));
        format!("+{code}{zeros}{tail}")
    }

    /// A contact's name.
    pub fn name(&self) -> String {
        "Customer".into()
    }

    /// A value of a field's type, masked; `None` when masking it would change whether it
    /// validates (then the caller keeps it). Numbers, choices and yes/no values say
    /// nothing about a person and are kept as they are.
    pub fn value(&mut self, check: &FieldCheck, v: &Value, today: Date) -> Option<Value> {
        match (check, v) {
            (FieldCheck::Email, Value::Str(_)) => {
                self.emails += 1;
                Some(Value::Str(format!("user{}@example.com", self.emails)))
            }
            (FieldCheck::Phone, Value::Str(s)) => Some(Value::Str(self.contact_phone(s))),
            (FieldCheck::Text { .. }, Value::Str(s)) => {
                let masked = self.text(check, s, today)?;
                Some(Value::Str(masked))
            }
            (FieldCheck::Date { .. }, Value::Date(d)) => {
                date_candidates(*d).into_iter().find_map(|c| {
                    let ok = validate::validate(check, &c.to_string(), today).is_some();
                    ok.then_some(Value::Date(c))
                })
            }
            (FieldCheck::Number { .. } | FieldCheck::Choice(_) | FieldCheck::YesNo, v) => {
                Some(v.clone())
            }
            (_, Value::Null) => Some(Value::Null),
            _ => None,
        }
    }

    /// An answer typed to a field, masked and still valid for it; `None` when no mask
    /// validates.
    pub fn answer(&mut self, check: &FieldCheck, answer: &str, today: Date) -> Option<String> {
        let parsed = validate::validate(check, answer, today)?;
        let masked = self.value(check, &parsed, today)?;
        Some(match masked {
            Value::Str(s) => s,
            other => other.to_string(),
        })
    }

    /// Free text: its shape kept (letters to `x`/`X`, digits to `0`), so patterns and
    /// lengths still hold; other masks are tried when the first does not validate.
    fn text(&mut self, check: &FieldCheck, s: &str, today: Date) -> Option<String> {
        self.texts += 1;
        let shapes = [('X', 'x', '0'), ('A', 'a', '1'), ('Z', 'z', '9')];
        shapes.into_iter().find_map(|(upper, lower, digit)| {
            let masked = shape(s, upper, lower, digit);
            validate::validate(check, &masked, today).map(|_| masked)
        })
    }

    /// Free text a customer wrote that is not an answer to a field: replaced by a
    /// placeholder of the same length.
    pub fn free_text(&mut self, s: &str) -> String {
        self.texts += 1;
        shape(s, 'X', 'x', '0')
    }
}

/// Letters to `upper`/`lower`, digits to `digit`; spaces and punctuation kept.
fn shape(s: &str, upper: char, lower: char, digit: char) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_digit() {
                digit
            } else if c.is_uppercase() {
                upper
            } else if c.is_alphabetic() {
                lower
            } else {
                c
            }
        })
        .collect()
}

/// Dates near a date that say less about it: the first and the fifteenth of its month,
/// then of the months around it.
fn date_candidates(d: Date) -> Vec<Date> {
    let mut out = Vec::new();
    for months in [0i32, 1, -1, 2, -2] {
        let Ok(m) = d
            .first_of_month()
            .checked_add(jiff::Span::new().months(months))
        else {
            continue;
        };
        out.push(m);
        if let Ok(mid) = m.checked_add(jiff::Span::new().days(14)) {
            out.push(mid);
        }
    }
    out.retain(|c| *c != d);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::DateBound;

    fn today() -> Date {
        Date::new(2026, 3, 2).unwrap_or_default()
    }

    #[test]
    fn phones_keep_their_country_and_length() {
        let mut m = Masker::default();
        assert_eq!(m.contact_phone("+55 11 98888-7777"), "+5500000000001");
        assert_eq!(m.contact_phone("+351 912 345 678"), "+351000000002");
        assert_eq!(
            crate::engine::country_of(&m.contact_phone("+44 20 7946 0000")),
            Some("GB")
        );
    }

    #[test]
    fn answers_keep_their_shape_and_validity() {
        let mut m = Masker::default();
        let order = FieldCheck::Text {
            pattern: regex::Regex::new("^[A-Z]{2}[0-9]{4}$").ok(),
            length: None,
        };
        assert_eq!(
            m.answer(&order, "AB1234", today()).as_deref(),
            Some("XX0000")
        );
        let hex = FieldCheck::Text {
            pattern: regex::Regex::new("^[A-F]+[1-8]$").ok(),
            length: None,
        };
        assert_eq!(m.answer(&hex, "CAFE7", today()).as_deref(), Some("AAAA1"));
        let never = FieldCheck::Text {
            pattern: regex::Regex::new("^CAFE$").ok(),
            length: None,
        };
        assert_eq!(m.answer(&never, "CAFE", today()), None);
        assert_eq!(
            m.answer(&FieldCheck::Email, "ana.souza@gmail.com", today())
                .as_deref(),
            Some("user1@example.com")
        );
        let future = FieldCheck::Date {
            after: Some(DateBound::Today),
            before: None,
        };
        assert_eq!(
            m.answer(&future, "2026-03-20", today()).as_deref(),
            Some("2026-03-15")
        );
        assert_eq!(
            m.answer(&FieldCheck::Number { range: None }, "12", today())
                .as_deref(),
            Some("12")
        );
        // An answer that does not validate is not masked either.
        assert_eq!(m.answer(&FieldCheck::Email, "not an email", today()), None);
    }
}
