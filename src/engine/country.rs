//! The country of a phone number, from its international calling code.

/// Calling codes and ISO 3166 alpha-2 countries. Shared codes map to their largest
/// member (`1` to the US, `7` to Russia); longer prefixes are tried first.
const CODES: &[(&str, &str)] = &[
    ("1", "US"),
    ("7", "RU"),
    ("20", "EG"),
    ("27", "ZA"),
    ("30", "GR"),
    ("31", "NL"),
    ("32", "BE"),
    ("33", "FR"),
    ("34", "ES"),
    ("36", "HU"),
    ("39", "IT"),
    ("40", "RO"),
    ("41", "CH"),
    ("43", "AT"),
    ("44", "GB"),
    ("45", "DK"),
    ("46", "SE"),
    ("47", "NO"),
    ("48", "PL"),
    ("49", "DE"),
    ("51", "PE"),
    ("52", "MX"),
    ("53", "CU"),
    ("54", "AR"),
    ("55", "BR"),
    ("56", "CL"),
    ("57", "CO"),
    ("58", "VE"),
    ("60", "MY"),
    ("61", "AU"),
    ("62", "ID"),
    ("63", "PH"),
    ("64", "NZ"),
    ("65", "SG"),
    ("66", "TH"),
    ("81", "JP"),
    ("82", "KR"),
    ("84", "VN"),
    ("86", "CN"),
    ("90", "TR"),
    ("91", "IN"),
    ("92", "PK"),
    ("234", "NG"),
    ("244", "AO"),
    ("238", "CV"),
    ("258", "MZ"),
    ("351", "PT"),
    ("352", "LU"),
    ("353", "IE"),
    ("358", "FI"),
    ("502", "GT"),
    ("503", "SV"),
    ("504", "HN"),
    ("505", "NI"),
    ("506", "CR"),
    ("507", "PA"),
    ("591", "BO"),
    ("593", "EC"),
    ("595", "PY"),
    ("598", "UY"),
    ("971", "AE"),
    ("972", "IL"),
    ("966", "SA"),
];

/// The country of an international number (`+55 11 98888-7777` -> `BR`), if known.
pub fn country_of(phone: &str) -> Option<&'static str> {
    code_of(phone).map(|(_, iso)| iso)
}

/// The calling code of an international number (`+55 11 98888-7777` -> `55`), if known.
pub fn calling_code(phone: &str) -> Option<&'static str> {
    code_of(phone).map(|(code, _)| code)
}

fn code_of(phone: &str) -> Option<(&'static str, &'static str)> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).take(3).collect();
    (1..=digits.len()).rev().find_map(|n| {
        let prefix = digits.get(..n)?;
        CODES.iter().find(|(c, _)| *c == prefix).copied()
    })
}

#[cfg(test)]
mod tests {
    use super::country_of;

    #[test]
    fn longest_prefix_wins() {
        assert_eq!(country_of("+55 11 98888-7777"), Some("BR"));
        assert_eq!(country_of("+351 912 345 678"), Some("PT"));
        assert_eq!(country_of("+1 (555) 010-0100"), Some("US"));
        assert_eq!(country_of("+34 600 000 000"), Some("ES"));
        assert_eq!(country_of(""), None);
    }
}
