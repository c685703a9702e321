//! One phone-number format everywhere: E.164 (`+5511999990000`) in and out of the console
//! API, the admin API and the sandbox, whatever spelling a person typed.
//!
//! Accepted spellings: `+55 11 99999-0000`, `+55 (11) 99999.0000`, `0055 11 99999 0000`,
//! `5511999990000` (WhatsApp's own form: digits with the country code, no `+`). A
//! national spelling — a leading `(` or trunk `0`, as in `(11) 99999-0000` or
//! `011 99999-0000` — needs a default country calling code (`[console]
//! default_country_code` in `wafl.toml`); without one it is refused with a message that
//! says so. Storage keys contacts by the digits without `+`, as WhatsApp sends them.

/// A phone number in E.164.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone {
    digits: String,
}

impl Phone {
    /// `+5511999990000`.
    pub fn e164(&self) -> String {
        format!("+{}", self.digits)
    }

    /// The contact key of storage and WhatsApp: the digits without `+`.
    pub fn key(&self) -> &str {
        &self.digits
    }
}

impl std::fmt::Display for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "+{}", self.digits)
    }
}

/// Why a spelling is not a phone number; the message says how to write it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhoneError(pub String);

impl std::fmt::Display for PhoneError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads a phone number in any common spelling. `default_cc` is the country calling code
/// (digits, e.g. `55`) national spellings get.
pub fn parse(text: &str, default_cc: Option<&str>) -> Result<Phone, PhoneError> {
    let t = text.trim();
    let example = "write it in international form, e.g. +55 11 99999-0000";
    if t.is_empty() {
        return Err(PhoneError(format!("the phone number is empty; {example}")));
    }
    if let Some(bad) = t
        .chars()
        .find(|c| !(c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '.' | '(' | ')' | '/')))
    {
        return Err(PhoneError(format!(
            "`{t}` is not a phone number (it contains `{bad}`); {example}"
        )));
    }
    if t.chars().skip(1).any(|c| c == '+') {
        return Err(PhoneError(format!(
            "`{t}` has a `+` inside; put it only in front; {example}"
        )));
    }
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    let international = t.starts_with('+') || digits.starts_with("00");
    let national = !international && (t.starts_with('(') || digits.starts_with('0'));
    let full = if international {
        digits
            .strip_prefix("00")
            .filter(|_| !t.starts_with('+'))
            .unwrap_or(&digits)
            .to_string()
    } else if national {
        let Some(cc) =
            default_cc.filter(|c| !c.is_empty() && c.chars().all(|d| d.is_ascii_digit()))
        else {
            return Err(PhoneError(format!(
                "`{t}` has no country code; {example} (or set [console] default_country_code in wafl.toml)"
            )));
        };
        format!("{cc}{}", digits.trim_start_matches('0'))
    } else {
        digits
    };
    if full.starts_with('0') {
        return Err(PhoneError(format!(
            "`{t}` does not start with a country code; {example}"
        )));
    }
    if !(8..=15).contains(&full.len()) {
        return Err(PhoneError(format!(
            "`{t}` has {} digits with its country code; a phone number has 8 to 15; {example}",
            full.len()
        )));
    }
    Ok(Phone { digits: full })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_spellings_give_one_number() {
        for s in [
            "+55 11 99999-0000",
            "+5511999990000",
            "5511999990000",
            "+55 (11) 99999.0000",
            "0055 11 99999 0000",
            " +55-11-99999-0000 ",
        ] {
            let p = parse(s, None).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(p.e164(), "+5511999990000", "{s}");
            assert_eq!(p.key(), "5511999990000", "{s}");
        }
    }

    #[test]
    fn national_spellings_need_a_default_country_code() {
        let e = parse("(11) 99999-0000", None).expect_err("no country");
        assert!(e.0.contains("no country code"), "{e}");
        assert!(e.0.contains("default_country_code"), "{e}");
        assert_eq!(
            parse("(11) 99999-0000", Some("55")).map(|p| p.e164()),
            Ok("+5511999990000".into())
        );
        assert_eq!(
            parse("011 99999-0000", Some("55")).map(|p| p.e164()),
            Ok("+5511999990000".into())
        );
    }

    #[test]
    fn nonsense_is_refused_with_how_to_write_it() {
        for s in [
            "",
            "abc",
            "+55+11",
            "123",
            "+1234567890123456",
            "555-CALL-NOW",
        ] {
            let e = parse(s, None).expect_err(s);
            assert!(e.0.contains("e.g. +55 11 99999-0000"), "{s}: {e}");
        }
    }
}
