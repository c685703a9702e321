//! The one check of a form submission against the script: every input of the form, read
//! from the submitted JSON the way WhatsApp sends it, must pass its field's rules.
//!
//! The daemon (after its token check), `wafl test` and `wafl repl` all call [`check`], so
//! a submission refused in production is refused in tests. A refused submission reaches
//! the engine as [`super::Event::FormRefused`]; an accepted one as a form message with
//! the checked, normalised values.

use super::validate::validate;
use crate::compile::{FieldCheck, Program, Value};
use jiff::civil::Date;
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// Why a submission is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The script has no form of that name.
    UnknownForm,
    /// These inputs break their field rules (or are missing and not `optional`), in
    /// form order.
    Invalid(Vec<String>),
}

/// Checks the submitted values of `form`. `values` holds what the client sent, keyed by
/// input name; keys the form does not have are never read. `today` is the flow's local
/// date (for `after today` and friends). Returns the values to set, normalised as an
/// `ask` answer would be (a choice as declared, a number as a number); optional inputs
/// left empty are absent.
pub fn check(
    program: &Program,
    form: &str,
    values: &serde_json::Map<String, Json>,
    today: Date,
) -> Result<BTreeMap<String, Value>, Refused> {
    let f = program.forms.get(form).ok_or(Refused::UnknownForm)?;
    let mut out = BTreeMap::new();
    let mut invalid = Vec::new();
    for name in &f.inputs {
        let Some(spec) = program.fields.get(name) else {
            continue;
        };
        let optional = f.optional.contains(name);
        match check_value(&spec.kind, values.get(name), optional, today) {
            Ok(Some(v)) => {
                out.insert(name.clone(), v);
            }
            Ok(None) => {}
            Err(()) => invalid.push(name.clone()),
        }
    }
    if invalid.is_empty() {
        Ok(out)
    } else {
        Err(Refused::Invalid(invalid))
    }
}

/// One submitted value against its field: `Ok(None)` for an optional input left empty,
/// `Err` when it breaks the rules.
fn check_value(
    kind: &FieldCheck,
    raw: Option<&Json>,
    optional: bool,
    today: Date,
) -> Result<Option<Value>, ()> {
    let text = match raw {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) if s.trim().is_empty() => None,
        Some(Json::String(s)) => Some(s.clone()),
        Some(Json::Bool(b)) if matches!(kind, FieldCheck::YesNo) => {
            return Ok(Some(Value::Bool(*b)));
        }
        Some(Json::Bool(b)) => Some(b.to_string()),
        Some(Json::Number(n)) => Some(n.to_string()),
        Some(Json::Array(_) | Json::Object(_)) => return Err(()),
    };
    let Some(text) = text else {
        // An unchecked opt-in box is a "no"; any other empty answer must be optional.
        return match kind {
            FieldCheck::YesNo => Ok(Some(Value::Bool(false))),
            _ if optional => Ok(None),
            _ => Err(()),
        };
    };
    if matches!(kind, FieldCheck::YesNo) {
        match text.as_str() {
            "true" => return Ok(Some(Value::Bool(true))),
            "false" => return Ok(Some(Value::Bool(false))),
            _ => {}
        }
    }
    validate(kind, &text, today).map(Some).ok_or(())
}

/// Values typed in a test or at the REPL prompt, as the client would send them: the
/// same JSON the daemon receives, so they go through the same [`check`].
pub fn as_submitted(values: &BTreeMap<String, Value>) -> serde_json::Map<String, Json> {
    values
        .iter()
        .map(|(k, v)| (k.clone(), v.to_json()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_checked_like_ask_answers() {
        let today = jiff::civil::date(2026, 6, 1);
        let num = FieldCheck::Number {
            range: Some((1.0, 8.0)),
        };
        assert_eq!(
            check_value(&num, Some(&json!("3")), false, today),
            Ok(Some(Value::Num(3.0)))
        );
        assert_eq!(
            check_value(&num, Some(&json!(3)), false, today),
            Ok(Some(Value::Num(3.0)))
        );
        assert_eq!(check_value(&num, Some(&json!("9")), false, today), Err(()));
        assert_eq!(check_value(&num, None, false, today), Err(()));
        assert_eq!(check_value(&num, Some(&json!(" ")), true, today), Ok(None));
        assert_eq!(check_value(&num, Some(&json!([1])), true, today), Err(()));
        let yes = FieldCheck::YesNo;
        assert_eq!(
            check_value(&yes, Some(&json!(true)), false, today),
            Ok(Some(Value::Bool(true)))
        );
        assert_eq!(
            check_value(&yes, Some(&json!("false")), false, today),
            Ok(Some(Value::Bool(false)))
        );
        assert_eq!(
            check_value(&yes, None, false, today),
            Ok(Some(Value::Bool(false)))
        );
        let date = FieldCheck::Date {
            after: Some(crate::compile::DateBound::Today),
            before: None,
        };
        assert!(check_value(&date, Some(&json!("2026-06-02")), false, today).is_ok());
        assert_eq!(
            check_value(&date, Some(&json!("2026-06-01")), false, today),
            Err(())
        );
    }
}
