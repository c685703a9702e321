//! Run-time values: what fields hold, what expressions compute, what webhook bodies carry.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// A value of the flow language. `Null` is an unset field or a missing property.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum Value {
    #[default]
    Null,
    Str(String),
    Num(f64),
    Bool(bool),
    /// A duration in seconds.
    Duration(i64),
    Date(Date),
    /// A clock time as minutes after midnight.
    Clock(u32),
    Timestamp(Timestamp),
    List(Vec<Value>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Truthiness for conditions: only `true` is true.
    pub fn is_true(&self) -> bool {
        matches!(self, Value::Bool(true))
    }

    /// The value as a JSON value for webhook bodies.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Str(s) => J::String(s.clone()),
            Value::Num(n) => {
                if n.fract() == 0.0 && n.abs() < 9.0e15 {
                    J::from(*n as i64)
                } else {
                    serde_json::Number::from_f64(*n).map_or(J::Null, J::Number)
                }
            }
            Value::Bool(b) => J::Bool(*b),
            Value::List(items) => J::Array(items.iter().map(Value::to_json).collect()),
            other => J::String(other.to_string()),
        }
    }

    /// A JSON value from a webhook answer as a flow value.
    pub fn from_json(j: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match j {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => n.as_f64().map_or(Value::Null, Value::Num),
            J::String(s) => Value::Str(s.clone()),
            J::Array(items) => Value::List(items.iter().map(Value::from_json).collect()),
            J::Object(_) => Value::Str(j.to_string()),
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Null => Ok(()),
            Value::Str(s) => f.write_str(s),
            Value::Num(n) => {
                if n.fract() == 0.0 && n.abs() < 9.0e15 {
                    write!(f, "{}", *n as i64)
                } else {
                    write!(f, "{n}")
                }
            }
            Value::Bool(b) => write!(f, "{b}"),
            Value::Duration(s) => f.write_str(&show_duration(*s)),
            Value::Date(d) => write!(f, "{d}"),
            Value::Clock(m) => write!(f, "{:02}:{:02}", m / 60, m % 60),
            Value::Timestamp(t) => write!(f, "{t}"),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// `5400` -> `1h30m`, the way durations are written in scripts.
pub fn show_duration(seconds: i64) -> String {
    if seconds == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = seconds.unsigned_abs();
    if seconds < 0 {
        out.push('-');
    }
    for &(unit, len, _) in crate::syntax::vocab::DURATION_UNITS {
        if rest >= len {
            out.push_str(&format!("{}{unit}", rest / len));
            rest %= len;
        }
    }
    out
}
