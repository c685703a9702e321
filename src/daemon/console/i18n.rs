//! The console's words, in one place: `assets/i18n.json` holds every string of the pages
//! by key, one table per language (English and Portuguese). Pages pick the language from
//! `?lang=`, then the `wafl_lang` cookie, then `Accept-Language`, else English.

use std::collections::BTreeMap;
use std::sync::OnceLock;

const CATALOG: &str = include_str!("assets/i18n.json");

/// The languages the console speaks; the first is the fallback.
pub const LANGS: [&str; 2] = ["en", "pt"];

type Table = BTreeMap<String, String>;

fn catalog() -> &'static BTreeMap<String, Table> {
    static CELL: OnceLock<BTreeMap<String, Table>> = OnceLock::new();
    // A test reads the same file and fails when it does not parse.
    CELL.get_or_init(|| serde_json::from_str(CATALOG).unwrap_or_default())
}

/// Every string of a language (English for a language the console does not speak).
pub fn strings(lang: &str) -> &'static Table {
    static EMPTY: Table = Table::new();
    let c = catalog();
    c.get(lang).or_else(|| c.get(LANGS[0])).unwrap_or(&EMPTY)
}

/// One string; the key itself when it is missing, so a gap shows on screen.
pub fn text<'a>(lang: &str, key: &'a str) -> &'a str {
    match strings(lang).get(key) {
        Some(s) => s.as_str(),
        None => key,
    }
}

/// A supported language from a tag such as `pt-BR` or `EN`.
pub fn supported(tag: &str) -> Option<&'static str> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    LANGS.into_iter().find(|l| *l == primary)
}

/// The language of a request: `?lang=`, the cookie, then `Accept-Language` by weight.
pub fn pick(query: Option<&str>, cookie: Option<&str>, accept: Option<&str>) -> &'static str {
    if let Some(l) = query
        .and_then(supported)
        .or_else(|| cookie.and_then(supported))
    {
        return l;
    }
    let mut offered: Vec<(f32, &'static str)> = accept
        .unwrap_or("")
        .split(',')
        .filter_map(|part| {
            let mut bits = part.split(';');
            let lang = supported(bits.next()?)?;
            let q = bits
                .find_map(|b| b.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            Some((q, lang))
        })
        .collect();
    // Stable: equal weights keep the header's order.
    offered.sort_by(|a, b| b.0.total_cmp(&a.0));
    offered.first().map_or(LANGS[0], |(_, l)| l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_parses_and_every_language_has_every_key() {
        let c: BTreeMap<String, Table> =
            serde_json::from_str(CATALOG).expect("assets/i18n.json is valid JSON");
        let en: Vec<_> = c["en"].keys().collect();
        for lang in LANGS {
            let keys: Vec<_> = c[lang].keys().collect();
            assert_eq!(keys, en, "`{lang}` and `en` must have the same keys");
            assert!(c[lang].values().all(|v| !v.trim().is_empty()));
        }
    }

    #[test]
    fn language_comes_from_query_cookie_then_header() {
        assert_eq!(pick(Some("pt"), Some("en"), None), "pt");
        assert_eq!(pick(Some("xx"), Some("pt"), None), "pt");
        assert_eq!(pick(None, None, Some("pt-BR,pt;q=0.9,en;q=0.8")), "pt");
        assert_eq!(pick(None, None, Some("de-DE, en;q=0.5, pt;q=0.7")), "pt");
        assert_eq!(pick(None, None, Some("de")), "en");
        assert_eq!(pick(None, None, None), "en");
        assert_eq!(text("pt", "nav.board"), "Quadro");
        assert_eq!(text("fr", "nav.board"), "Board");
        assert_eq!(text("en", "no.such.key"), "no.such.key");
    }
}
