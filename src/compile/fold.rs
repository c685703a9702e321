//! Keyword folding and whole-word keyword matching: one Aho-Corasick automaton per stage.
//!
//! Folding is NFD, combining marks dropped, lowercase: "Não" and "NAO" both fold to "nao".
//! Keywords and messages are folded the same way, so matching is case- and
//! accent-insensitive; a hit counts only on whole words (its neighbours in the folded
//! message are not letters or digits).

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Folds text for keyword comparison: NFD, combining marks dropped, lowercase.
pub fn fold(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    s.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .filter(|c| !is_combining_mark(*c))
        .collect()
}

/// Folds and trims, and collapses inner runs of whitespace to one space; used to compare
/// whole answers ("  Sim " with "sim").
pub fn fold_answer(s: &str) -> String {
    fold(s).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// All keyword triggers of one stage (or of `anywhere`), compiled into one automaton.
#[derive(Clone, Debug, Default)]
pub struct KeywordMatcher {
    automaton: Option<AhoCorasick>,
    /// Pattern index -> the folded keyword and the handlers that list it, in order.
    patterns: Vec<(String, Vec<usize>)>,
}

/// A keyword hit: the handler (index in its handler list) and the folded keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeywordHit<'a> {
    pub handler: usize,
    pub keyword: &'a str,
}

impl KeywordMatcher {
    /// Builds the automaton from `(keyword, handler index)` pairs; keywords are folded
    /// here, empty ones are skipped.
    pub fn new<'a>(entries: impl IntoIterator<Item = (&'a str, usize)>) -> KeywordMatcher {
        let mut patterns: Vec<(String, Vec<usize>)> = Vec::new();
        for (kw, handler) in entries {
            let folded = fold_answer(kw);
            if folded.is_empty() {
                continue;
            }
            match patterns.iter_mut().find(|(p, _)| *p == folded) {
                Some((_, hs)) => {
                    if !hs.contains(&handler) {
                        hs.push(handler);
                        hs.sort_unstable();
                    }
                }
                None => patterns.push((folded, vec![handler])),
            }
        }
        let automaton = if patterns.is_empty() {
            None
        } else {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .build(patterns.iter().map(|(p, _)| p.as_str()))
                .ok()
        };
        KeywordMatcher {
            automaton,
            patterns,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Every handler with a keyword found as a whole word in `folded` (an already folded
    /// message), sorted by handler, each with the first keyword that hit it.
    pub fn hits<'s>(&'s self, folded: &str) -> Vec<KeywordHit<'s>> {
        let mut out: Vec<KeywordHit<'s>> = Vec::new();
        let Some(ac) = &self.automaton else {
            return out;
        };
        for m in ac.find_overlapping_iter(folded) {
            if !whole_word(folded, m.start(), m.end()) {
                continue;
            }
            let Some((kw, handlers)) = self.patterns.get(m.pattern().as_usize()) else {
                continue;
            };
            for &h in handlers {
                if !out.iter().any(|hit| hit.handler == h) {
                    out.push(KeywordHit {
                        handler: h,
                        keyword: kw,
                    });
                }
            }
        }
        out.sort_by_key(|h| h.handler);
        out
    }

    /// The first handler (in order) that lists a keyword found in `folded`: the trigger
    /// match alone, without guards.
    pub fn first(&self, folded: &str) -> Option<KeywordHit<'_>> {
        let ac = self.automaton.as_ref()?;
        let mut best: Option<KeywordHit<'_>> = None;
        for m in ac.find_overlapping_iter(folded) {
            if !whole_word(folded, m.start(), m.end()) {
                continue;
            }
            let Some((kw, handlers)) = self.patterns.get(m.pattern().as_usize()) else {
                continue;
            };
            if let Some(&h) = handlers.first()
                && best.is_none_or(|b| h < b.handler)
            {
                best = Some(KeywordHit {
                    handler: h,
                    keyword: kw,
                });
            }
        }
        best
    }
}

/// True when the match `[start, end)` is not glued to a letter or digit on either side.
fn whole_word(text: &str, start: usize, end: usize) -> bool {
    let before = text.get(..start).and_then(|s| s.chars().next_back());
    let after = text.get(end..).and_then(|s| s.chars().next());
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_accents_and_case() {
        assert_eq!(fold("Não"), "nao");
        assert_eq!(fold("FATURA"), "fatura");
        assert_eq!(fold("Ação RÁPIDA"), "acao rapida");
        assert_eq!(fold_answer("  Sim   SENHOR "), "sim senhor");
    }

    #[test]
    fn matches_whole_words_only() {
        let m = KeywordMatcher::new([("boleto", 0), ("não", 1), ("segunda via", 2)]);
        let hit = |s: &str| {
            m.hits(&fold(s))
                .iter()
                .map(|h| h.handler)
                .collect::<Vec<_>>()
        };
        assert_eq!(hit("meu BOLETO venceu"), vec![0]);
        assert_eq!(hit("boletos"), Vec::<usize>::new());
        assert_eq!(hit("nao quero"), vec![1]);
        assert_eq!(hit("a Segunda Via, por favor"), vec![2]);
        assert_eq!(hit("nãoboleto"), Vec::<usize>::new());
    }

    #[test]
    fn first_handler_in_order_wins() {
        let m = KeywordMatcher::new([("b", 3), ("a", 1), ("b", 0)]);
        let first = m.first("a b").map(|h| h.handler);
        assert_eq!(first, Some(0));
    }
}
