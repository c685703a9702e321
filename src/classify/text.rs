//! Text to features: folding, words, chat abbreviations, stop words, word stems (pt, es
//! and en) and character n-grams, each feature a 64-bit FNV-1a hash.
//!
//! A message's language is not known, so every word contributes the stems of all three
//! languages (usually one or two distinct strings). N-grams are taken inside words, with
//! the word's edges marked, so typos cost a few n-grams and word order costs nothing.

use crate::compile::fold::fold;
use rust_stemmers::{Algorithm, Stemmer};

/// What a feature is made of: a stem of a whole word, or a piece of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Channel {
    Word,
    Gram,
}

/// One feature of a text and the word it came from (its index in the word list).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Feature {
    pub key: u64,
    pub channel: Channel,
    pub word: u16,
}

/// Words longer than this are cut: nobody types them, and they cost time.
const MAX_WORD: usize = 32;
/// Words a text contributes at most; the rest of a very long message is ignored.
const MAX_WORDS: usize = 256;
/// N-gram lengths, in characters, of a word padded with one edge mark on each side.
/// (3-grams alone do as well as 3- and 4-grams on the held-out evaluation, at half the cost.)
const GRAMS: [usize; 1] = [3];

/// The words of a text as the classifier reads them: folded (case and accents), split at
/// anything that is not a letter or digit, chat abbreviations spelled out, stop words and
/// words without a letter dropped.
pub fn words(text: &str) -> Vec<String> {
    let mut buf = Words::default();
    buf.read(text);
    buf.iter().map(str::to_string).collect()
}

/// The words of a text in one buffer (no allocation per word): what [`words`] returns,
/// for the classifier's hot path, which reuses it.
#[derive(Clone, Debug, Default)]
pub struct Words {
    text: String,
    ends: Vec<usize>,
}

impl Words {
    /// Replaces the words with those of `text`.
    pub fn read(&mut self, text: &str) {
        self.text.clear();
        self.ends.clear();
        let folded = fold(text);
        self.text.reserve(folded.len());
        self.ends.reserve(folded.len() / 4);
        for raw in folded.split(|c: char| !c.is_alphanumeric()) {
            if self.ends.len() >= MAX_WORDS {
                break;
            }
            if raw.is_empty() || !raw.chars().any(char::is_alphabetic) {
                continue;
            }
            // At most MAX_WORD characters, cut at a character boundary.
            let cut = raw
                .char_indices()
                .nth(MAX_WORD)
                .map_or(raw.len(), |(i, _)| i);
            let raw = raw.get(..cut).unwrap_or(raw);
            for w in expand(raw).split(' ') {
                if !w.is_empty() && !is_stop(w) {
                    self.text.push_str(w);
                    self.ends.push(self.text.len());
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The words in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .map(|(a, &b)| self.text.get(a..b).unwrap_or(""))
    }
}

/// The features of a text, in order of its words; `words` are the words they refer to.
pub fn features(text: &str) -> (Vec<String>, Vec<Feature>) {
    let ws = words(text);
    let mut out = Vec::with_capacity(ws.len() * 12);
    for (i, w) in ws.iter().enumerate() {
        let i = u16::try_from(i).unwrap_or(u16::MAX);
        word_features(w, i, &mut out);
    }
    (ws, out)
}

/// The features of one word: its distinct stems and its n-grams.
pub fn word_features(w: &str, index: u16, out: &mut Vec<Feature>) {
    stem_features(w, index, out);
    gram_features(w, index, out);
}

/// The distinct stems of a word as features.
pub fn stem_features(w: &str, index: u16, out: &mut Vec<Feature>) {
    let start = out.len();
    for s in stems(w) {
        let key = hash(Channel::Word, s.as_bytes());
        if !out
            .get(start..)
            .is_some_and(|o| o.iter().any(|f| f.key == key))
        {
            out.push(Feature {
                key,
                channel: Channel::Word,
                word: index,
            });
        }
    }
}

/// The key of a word's first three bytes: every stem of the word starts with them, so a
/// word whose prefix no known stem has cannot have a known stem.
pub fn prefix_key(w: &str) -> u64 {
    hash(Channel::Word, w.as_bytes().get(..3).unwrap_or(w.as_bytes()))
}

/// The n-grams of a word as features.
pub fn gram_features(w: &str, index: u16, out: &mut Vec<Feature>) {
    let mut padded = Vec::with_capacity(w.len() + 2);
    padded.push(b' ');
    padded.extend_from_slice(w.as_bytes());
    padded.push(b' ');
    // Character boundaries in the padded word, so n-grams never cut a character.
    let bounds: Vec<usize> = (0..=padded.len())
        .filter(|&b| b == padded.len() || (padded.get(b).is_some_and(|c| (c & 0xC0) != 0x80)))
        .collect();
    let chars = bounds.len().saturating_sub(1);
    for n in GRAMS {
        if chars < n {
            // A word shorter than the n-gram is one n-gram of its own.
            if n == GRAMS[0] {
                out.push(Feature {
                    key: hash(Channel::Gram, &padded),
                    channel: Channel::Gram,
                    word: index,
                });
            }
            continue;
        }
        for s in 0..=chars - n {
            let (Some(&a), Some(&b)) = (bounds.get(s), bounds.get(s + n)) else {
                continue;
            };
            if let Some(g) = padded.get(a..b) {
                out.push(Feature {
                    key: hash(Channel::Gram, g),
                    channel: Channel::Gram,
                    word: index,
                });
            }
        }
    }
}

/// The Portuguese, Spanish and English stems of a folded word, without repeats. Only
/// plain ASCII words are stemmed (folding leaves nearly every pt/es/en word so); others
/// stand for themselves.
pub fn stems(w: &str) -> Vec<String> {
    if w.len() < 3 || !w.bytes().all(|b| b.is_ascii_lowercase()) {
        return vec![w.to_string()];
    }
    let mut out: Vec<String> = Vec::with_capacity(3);
    for alg in [
        Algorithm::Portuguese,
        Algorithm::Spanish,
        Algorithm::English,
    ] {
        let s = Stemmer::create(alg).stem(w).into_owned();
        // A stem of one or two letters says too little to be a feature of its own.
        let s = if s.len() < 3 { w.to_string() } else { s };
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// FNV-1a over the channel and the bytes: fixed, so features hash the same everywhere.
pub fn hash(channel: Channel, bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let tag = match channel {
        Channel::Word => b'w',
        Channel::Gram => b'g',
    };
    for &b in std::iter::once(&tag).chain(bytes) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Chat abbreviations customers type in pt, es and en, spelled out.
fn expand(w: &str) -> &str {
    // Every abbreviation below is at most six letters long.
    if w.len() > 6 {
        return w;
    }
    match w {
        "vc" | "vcs" | "ce" => "voce",
        "pq" | "pk" | "xq" | "porq" => "porque",
        "q" | "k" | "ke" => "que",
        "tb" | "tbm" | "tmb" | "tambem" => "tambem",
        "n" | "nao" | "naum" | "num" => "nao",
        "msg" | "msj" => "mensagem",
        "hj" => "hoje",
        "blz" => "beleza",
        "obg" | "obgd" | "obrigado" | "obrigada" | "vlw" => "obrigado",
        "cmg" => "comigo",
        "td" => "tudo",
        "qdo" | "qnd" => "quando",
        "qto" | "qnto" => "quanto",
        "dps" => "depois",
        "pfv" | "pf" | "pfvr" | "plz" | "pls" => "please",
        "u" => "you",
        "ur" => "your",
        "thx" | "ty" | "tks" => "thanks",
        "r" => "are",
        "im" => "i am",
        "cant" => "can not",
        "dont" => "do not",
        "didnt" => "did not",
        "doesnt" => "does not",
        "wont" => "will not",
        "isnt" => "is not",
        "hasnt" | "havent" => "have not",
        "wasnt" => "was not",
        "asap" => "urgent",
        other => other,
    }
}

/// Words too common in pt, es and en customer messages to tell intents apart: articles,
/// greetings, and the verbs that frame a request ("quero", "need"). Negations ("nao",
/// "no", "not") are kept: they often decide.
fn is_stop(w: &str) -> bool {
    // Every stop word is short; the hashes are sorted at compile time.
    w.len() <= 9
        && STOP_KEYS
            .binary_search(&hash(Channel::Word, w.as_bytes()))
            .is_ok()
}

/// The hashes of [`STOP`], sorted, computed at compile time.
const STOP_KEYS: [u64; STOP.len()] = {
    let mut keys = [0u64; STOP.len()];
    let mut i = 0;
    while i < STOP.len() {
        keys[i] = const_hash(STOP[i].as_bytes());
        i += 1;
    }
    // Insertion sort: a const context has no `sort`.
    let mut a = 1;
    while a < keys.len() {
        let mut b = a;
        while b > 0 && keys[b - 1] > keys[b] {
            let t = keys[b - 1];
            keys[b - 1] = keys[b];
            keys[b] = t;
            b -= 1;
        }
        a += 1;
    }
    keys
};

/// [`hash`] of a word-channel feature, usable in constants.
const fn const_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    h ^= b'w' as u64;
    h = h.wrapping_mul(0x0000_0100_0000_01b3);
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    h
}

/// The stop words, sorted for binary search.
const STOP: &[&str] = &[
    "a", "about", "al", "am", "an", "and", "ao", "aos", "are", "as", "at", "be", "boa", "bom",
    "buenas", "buenos", "but", "by", "can", "como", "con", "could", "da", "das", "day", "de",
    "del", "dia", "dias", "do", "dos", "e", "el", "em", "en", "es", "esta", "este", "esto", "eu",
    "favor", "for", "good", "gostaria", "hello", "hey", "hi", "hola", "i", "in", "is", "it", "la",
    "las", "le", "like", "lo", "los", "me", "meu", "mi", "minha", "mis", "morning", "my", "na",
    "nas", "necesito", "need", "nos", "o", "oi", "ola", "on", "or", "os", "para", "please", "pode",
    "podem", "por", "pra", "preciso", "pro", "puede", "pueden", "que", "quero", "quiero",
    "quisiera", "se", "su", "tarde", "the", "to", "tudo", "um", "uma", "un", "una", "wanna",
    "want", "would", "y", "yo", "you", "your",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_word_hashes_match() {
        for w in STOP {
            assert!(is_stop(w), "{w}");
            assert_eq!(const_hash(w.as_bytes()), hash(Channel::Word, w.as_bytes()));
        }
        assert!(!is_stop("reembolso"));
    }

    #[test]
    fn stop_words_are_sorted() {
        let mut s = STOP.to_vec();
        s.sort_unstable();
        s.dedup();
        assert_eq!(STOP, &s[..]);
    }

    #[test]
    fn words_fold_expand_and_drop() {
        assert_eq!(
            words("Oi, VC pode me AJUDAR com o pedido AB123456? Não chegou!!"),
            vec![
                "voce", "ajudar", "com", "pedido", "ab123456", "nao", "chegou"
            ]
        );
        assert_eq!(words("12345 678"), Vec::<String>::new());
    }

    #[test]
    fn stems_cover_three_languages() {
        let s = stems("reembolso");
        assert!(s.iter().any(|x| x == "reembols"), "{s:?}");
        assert_eq!(stems("ab"), vec!["ab".to_string()]);
    }

    #[test]
    fn grams_respect_characters() {
        let mut out = Vec::new();
        word_features("日本語テキスト", 0, &mut out);
        assert!(out.iter().all(|f| f.word == 0));
        assert!(!out.is_empty());
    }
}
