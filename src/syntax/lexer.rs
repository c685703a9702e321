//! Token-level lexer (logos) for highlighting and semantic tokens.
//!
//! The parser does not use these tokens: it works from the pest grammar. This lexer serves
//! tools that need a flat, fast classification of every byte (REPL highlighting, LSP
//! semantic tokens), and a test keeps both sides agreeing on token boundaries.
//!
//! **Invariant:** [`tokens`] never panics, and its tokens cover the input contiguously, on
//! char boundaries, with no two adjacent [`TokenKind::Error`] tokens.
//!
//! Boundaries follow the grammar (`grammar/wafl.pest`) exactly: a string ends at the first
//! unescaped `"` (interpolations cannot hold strings), only `\n` ends a line, and a literal
//! glued to a word character (`10min`) is not a literal. One thing a regular lexer cannot
//! decide on its own is settled by hand: `/` starts a regex only after `matching`,
//! `matches` or `regex` (elsewhere it is division).

use std::ops::Range;

use logos::Logos;

/// The class of a token, as highlighting and semantic tokens see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A word the grammar uses as a keyword somewhere (keywords are contextual).
    Keyword,
    Ident,
    /// `"..."`, interpolations included.
    String,
    /// `12`, `3.5`
    Number,
    /// `10m`, `1h30m`
    Duration,
    /// `09:00`
    Clock,
    /// `2026-12-25`
    Date,
    /// `/.../` after `matching`, `matches` or `regex`.
    Regex,
    /// `// ...` to the end of the line.
    Comment,
    /// `== != <= >= < > = + - * /`
    Operator,
    /// `{ } ( ) [ ] , ; : .`
    Punct,
    Whitespace,
    /// Anything else, an unterminated string or regex, or a literal glued to a word (`10min`).
    Error,
}

impl TokenKind {
    /// Whitespace and comments: what the parser skips between tokens.
    pub fn is_trivia(self) -> bool {
        matches!(self, TokenKind::Whitespace | TokenKind::Comment)
    }
}

/// One token: a kind and the byte range `[start, end)` it covers in the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

impl Token {
    pub fn range(self) -> Range<usize> {
        self.start..self.end
    }
}

/// True when `word` is a keyword somewhere in the grammar ([`super::vocab`]).
pub fn is_keyword(word: &str) -> bool {
    super::vocab::is_keyword(word)
}

/// Keywords after which a `/` opens a regex rather than dividing.
const REGEX_OPENERS: &[&str] = &["matches", "matching", "regex"];

/// The regular part of the lexical syntax. Strings and regexes are only recognised by
/// their first character here and finished by hand in [`classify`].
#[derive(Logos, Clone, Copy, Debug, PartialEq, Eq)]
enum Raw {
    #[regex(r"[ \t\r\n]+")]
    Whitespace,
    // The repetition stops at the end of the line, so reading greedily is what we want.
    #[regex(r"//[^\n]*", allow_greedy = true)]
    Comment,
    #[regex(r"[A-Za-z_][A-Za-z0-9_]*")]
    Word,
    #[regex(r"[0-9]+(\.[0-9]+)?")]
    Number,
    #[regex(r"([0-9]+[smhdw])+")]
    Duration,
    #[regex(r"[0-9][0-9]?:[0-9][0-9]")]
    Clock,
    #[regex(r"[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?")]
    Date,
    #[token("\"")]
    Quote,
    #[token("/")]
    Slash,
    #[token("==")]
    #[token("!=")]
    #[token("<=")]
    #[token(">=")]
    #[token("<")]
    #[token(">")]
    #[token("=")]
    #[token("+")]
    #[token("-")]
    #[token("*")]
    Operator,
    #[token("{")]
    #[token("}")]
    #[token("(")]
    #[token(")")]
    #[token("[")]
    #[token("]")]
    #[token(",")]
    #[token(";")]
    #[token(":")]
    #[token(".")]
    Punct,
}

/// Splits `src` into tokens that cover it contiguously. Never panics.
pub fn tokens(src: &str) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::new();
    // Whether the last non-trivia token lets a `/` open a regex.
    let mut regex_allowed = false;
    let mut pos = 0;
    while let Some(rest) = src.get(pos..).filter(|rest| !rest.is_empty()) {
        // A fresh logos lexer per token lets the hand-written rules below decide where a
        // token ends, shorter or longer than the logos match.
        let mut lex = Raw::lexer(rest);
        let Some(raw) = lex.next() else { break };
        let (kind, mut len) = classify(raw, rest, lex.span().end, regex_allowed);
        if len == 0 || !rest.is_char_boundary(len) {
            // Cannot happen with the rules above; taking one char keeps the loop going.
            len = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        let text = rest.get(..len).unwrap_or_default();
        if !kind.is_trivia() {
            regex_allowed = kind == TokenKind::Keyword && REGEX_OPENERS.contains(&text);
        }
        push(&mut out, kind, pos, pos + len);
        pos += len;
    }
    out
}

/// The kind and length of the token at the start of `rest`, given what logos matched
/// (`raw`, `len` bytes long).
fn classify(
    raw: Result<Raw, ()>,
    rest: &str,
    len: usize,
    regex_allowed: bool,
) -> (TokenKind, usize) {
    match raw {
        Ok(Raw::Whitespace) => (TokenKind::Whitespace, len),
        Ok(Raw::Comment) => (TokenKind::Comment, len),
        Ok(Raw::Word) => {
            let word = rest.get(..len).unwrap_or_default();
            let kind = if is_keyword(word) {
                TokenKind::Keyword
            } else {
                TokenKind::Ident
            };
            (kind, len)
        }
        Ok(Raw::Number) => literal(rest, len, TokenKind::Number),
        Ok(Raw::Duration) => literal(rest, len, TokenKind::Duration),
        Ok(Raw::Clock) => literal(rest, len, TokenKind::Clock),
        Ok(Raw::Date) => literal(rest, len, TokenKind::Date),
        Ok(Raw::Quote) => delimited(scan_delimited(rest, '"'), TokenKind::String),
        Ok(Raw::Slash) if regex_allowed => delimited(scan_delimited(rest, '/'), TokenKind::Regex),
        Ok(Raw::Slash | Raw::Operator) => (TokenKind::Operator, len),
        Ok(Raw::Punct) => (TokenKind::Punct, len),
        Err(()) => (TokenKind::Error, len),
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The number of word bytes (`[A-Za-z0-9_]`) at the start of `s`.
fn word_run(s: &str) -> usize {
    s.bytes().take_while(|b| is_word_byte(*b)).count()
}

/// A literal of `len` bytes at the start of `rest`. Like the grammar, whose literal rules
/// all end in `!ident_char` and are tried in turn, a literal glued to a word character is
/// not that literal: `2026-12-255` falls back to the number `2026` (then `-12-255`), and
/// when even the leading number is glued (`10min`, `1.5h`, `1h30`) the whole run of word
/// characters is one error.
fn literal(rest: &str, len: usize, kind: TokenKind) -> (TokenKind, usize) {
    let glued = |at: usize| rest.as_bytes().get(at).is_some_and(|b| is_word_byte(*b));
    if !glued(len) {
        return (kind, len);
    }
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if kind != TokenKind::Number && digits < len && !glued(digits) {
        return (TokenKind::Number, digits);
    }
    (
        TokenKind::Error,
        len + word_run(rest.get(len..).unwrap_or_default()),
    )
}

/// The token for a hand-scanned string or regex: the literal when closed, else an error
/// running to the end of the line.
fn delimited((len, closed): (usize, bool), kind: TokenKind) -> (TokenKind, usize) {
    if closed {
        (kind, len)
    } else {
        (TokenKind::Error, len)
    }
}

/// Appends a token, merging it into the previous one when both are errors.
fn push(out: &mut Vec<Token>, kind: TokenKind, start: usize, end: usize) {
    if start >= end {
        return;
    }
    if kind == TokenKind::Error
        && let Some(last) = out.last_mut()
        && last.kind == TokenKind::Error
        && last.end == start
    {
        last.end = end;
        return;
    }
    out.push(Token { kind, start, end });
}

/// Scans the string or regex at the start of `rest`, which opens with `close`, the way the
/// grammar does: any character but a newline, `close` ending the literal, a backslash
/// taking the next character with it (so `\"` stays in a string, `\/` in a regex, and `\\`
/// cannot escape the end). Interpolations need no care: an unescaped `"` always ends a
/// string, inside `{...}` too. Returns the length of the literal (up to the newline when
/// it is unterminated) and whether it was closed.
fn scan_delimited(rest: &str, close: char) -> (usize, bool) {
    let mut i = close.len_utf8();
    while let Some(c) = rest.get(i..).and_then(|r| r.chars().next()) {
        match c {
            '\n' => return (i, false),
            '\\' => {
                i += 1;
                match rest.get(i..).and_then(|r| r.chars().next()) {
                    Some(next) if next != '\n' => i += next.len_utf8(),
                    _ => return (i, false),
                }
            }
            c if c == close => return (i + c.len_utf8(), true),
            c => i += c.len_utf8(),
        }
    }
    (i.min(rest.len()), false)
}

/// The source ranges of the `{...}` interpolations (braces excluded) inside a string token,
/// for tools that highlight the expressions inside strings. Empty for any other token.
/// Braces nest and escapes are skipped, as in the parser; an unclosed `{` yields nothing.
pub fn interpolations(src: &str, token: Token) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    if token.kind != TokenKind::String {
        return ranges;
    }
    let Some(body) = src.get(token.start..token.end) else {
        return ranges;
    };
    let bytes = body.as_bytes();
    let mut depth = 0usize;
    let mut open = 0;
    // Skip the quotes; every byte looked at is ASCII, so the ranges fall on char boundaries.
    let mut i = 1;
    while i + 1 < bytes.len() {
        match bytes.get(i) {
            Some(b'\\') => i += 1,
            Some(b'{') => {
                if depth == 0 {
                    open = i + 1;
                }
                depth += 1;
            }
            Some(b'}') if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    ranges.push(token.start + open..token.start + i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    ranges
}
#[cfg(test)]
mod tests {
    use super::*;
    use TokenKind::*;

    /// The non-trivia tokens of `src` as (kind, text) pairs.
    fn lex(src: &str) -> Vec<(TokenKind, &str)> {
        tokens(src)
            .into_iter()
            .filter(|t| t.kind != Whitespace)
            .map(|t| (t.kind, &src[t.range()]))
            .collect()
    }

    #[test]
    fn keywords_and_identifiers() {
        assert_eq!(
            lex("stage triage_2 email _x flows"),
            vec![
                (Keyword, "stage"),
                (Ident, "triage_2"),
                (Keyword, "email"),
                (Ident, "_x"),
                (Ident, "flows"),
            ]
        );
        for kw in [
            "mon", "sun", "matching", "handoff", "nothing", "yesno", "env",
        ] {
            assert_eq!(lex(kw), vec![(Keyword, kw)]);
        }
    }

    #[test]
    fn strings_with_escapes_and_interpolation() {
        assert_eq!(
            lex(r#"reply "Hi {contact.name}, say \"yes\" \{ok\}""#),
            vec![
                (Keyword, "reply"),
                (String, r#""Hi {contact.name}, say \"yes\" \{ok\}""#),
            ]
        );
        assert_eq!(
            lex(r#""" "a\\""#),
            vec![(String, r#""""#), (String, r#""a\\""#)]
        );
        // As in the grammar, a quote ends the string even inside an interpolation.
        assert_eq!(
            lex(r#""{x == "a"}" y"#),
            vec![
                (String, r#""{x == ""#),
                (Ident, "a"),
                (String, r#""}""#),
                (Ident, "y")
            ]
        );
    }

    #[test]
    fn unterminated_string_is_one_error_to_end_of_line() {
        let src = "reply \"oops {x}\nreply \"fine\"";
        assert_eq!(
            lex(src),
            vec![
                (Keyword, "reply"),
                (Error, "\"oops {x}"),
                (Keyword, "reply"),
                (String, "\"fine\""),
            ]
        );
        // Only `\n` ends a line, as in the grammar: a `\r` before it belongs to the error.
        assert_eq!(lex("\"abc\r\nx"), vec![(Error, "\"abc\r"), (Ident, "x")]);
        assert_eq!(lex("\"abc\\\nx"), vec![(Error, "\"abc\\"), (Ident, "x")]);
        assert_eq!(lex("\""), vec![(Error, "\"")]);
    }

    #[test]
    fn interpolation_ranges() {
        let src = r#"reply "Hi {contact.name} \{no\} {a + [{b}]} {open" x"#;
        let toks = tokens(src);
        let string = toks.iter().find(|t| t.kind == String).copied();
        let ranges = string.map(|t| interpolations(src, t)).unwrap_or_default();
        let texts: Vec<&str> = ranges.into_iter().map(|r| &src[r]).collect();
        assert_eq!(texts, vec!["contact.name", "a + [{b}]"]);
        let number = Token {
            kind: Number,
            start: 0,
            end: 5,
        };
        assert!(interpolations(src, number).is_empty());
    }

    #[test]
    fn numbers_durations_clocks_dates() {
        assert_eq!(
            lex("12 3.5 30s 10m 1h30m 2d 1w 09:00 9:30 2026-12-25 2026-1-5"),
            vec![
                (Number, "12"),
                (Number, "3.5"),
                (Duration, "30s"),
                (Duration, "10m"),
                (Duration, "1h30m"),
                (Duration, "2d"),
                (Duration, "1w"),
                (Clock, "09:00"),
                (Clock, "9:30"),
                (Date, "2026-12-25"),
                (Date, "2026-1-5"),
            ]
        );
    }

    #[test]
    fn hours_rules_split_exactly() {
        assert_eq!(
            lex("mon-fri 09:00-18:00; closed 2026-12-25, 2027-01-01"),
            vec![
                (Keyword, "mon"),
                (Operator, "-"),
                (Keyword, "fri"),
                (Clock, "09:00"),
                (Operator, "-"),
                (Clock, "18:00"),
                (Punct, ";"),
                (Keyword, "closed"),
                (Date, "2026-12-25"),
                (Punct, ","),
                (Date, "2027-01-01"),
            ]
        );
    }

    #[test]
    fn literals_glued_to_words_are_errors() {
        assert_eq!(lex("10min x"), vec![(Error, "10min"), (Ident, "x")]);
        assert_eq!(lex("1.5h"), vec![(Error, "1.5h")]);
        assert_eq!(lex("1h30"), vec![(Error, "1h30")]);
        // As in the grammar, a glued date or clock time falls back to its leading number.
        assert_eq!(
            lex("2026-12-255"),
            vec![
                (Number, "2026"),
                (Operator, "-"),
                (Number, "12"),
                (Operator, "-"),
                (Number, "255"),
            ]
        );
        assert_eq!(
            lex("09:00am"),
            vec![(Number, "09"), (Punct, ":"), (Error, "00am")]
        );
        // A minus is not a word character, so negation and ranges stay apart.
        assert_eq!(lex("-3"), vec![(Operator, "-"), (Number, "3")]);
    }

    #[test]
    fn regex_only_after_its_keywords() {
        assert_eq!(
            lex(r"field order: text matching /^[A-Z]{2}\/[0-9]{6}$/"),
            vec![
                (Keyword, "field"),
                (Ident, "order"),
                (Punct, ":"),
                (Keyword, "text"),
                (Keyword, "matching"),
                (Regex, r"/^[A-Z]{2}\/[0-9]{6}$/"),
            ]
        );
        assert_eq!(
            lex(r"on regex /pedido\s+\d+/ {"),
            vec![
                (Keyword, "on"),
                (Keyword, "regex"),
                (Regex, r"/pedido\s+\d+/"),
                (Punct, "{"),
            ]
        );
        // Trivia between the keyword and the slash does not matter.
        assert_eq!(
            lex("message.text matches // why\n /a\\\\/ / 2"),
            vec![
                (Keyword, "message"),
                (Punct, "."),
                (Keyword, "text"),
                (Keyword, "matches"),
                (Comment, "// why"),
                (Regex, r"/a\\/"),
                (Operator, "/"),
                (Number, "2"),
            ]
        );
        assert_eq!(
            lex("a / b / c"),
            vec![
                (Ident, "a"),
                (Operator, "/"),
                (Ident, "b"),
                (Operator, "/"),
                (Ident, "c"),
            ]
        );
    }

    #[test]
    fn unterminated_regex_is_one_error_to_end_of_line() {
        assert_eq!(
            lex("matching /abc\\/ x\nfield"),
            vec![
                (Keyword, "matching"),
                (Error, "/abc\\/ x"),
                (Keyword, "field")
            ]
        );
    }

    #[test]
    fn comments_run_to_end_of_line() {
        assert_eq!(
            lex("start entry // the \"first\" stage\nbudget 200"),
            vec![
                (Keyword, "start"),
                (Ident, "entry"),
                (Comment, "// the \"first\" stage"),
                (Keyword, "budget"),
                (Number, "200"),
            ]
        );
        // As in the grammar, a comment stops only at `\n`, so it keeps a `\r` before it.
        assert_eq!(
            lex("// crlf\r\nx"),
            vec![(Comment, "// crlf\r"), (Ident, "x")]
        );
        // Inside a string `//` is text.
        assert_eq!(
            lex(r#""https://crm.example.com""#),
            vec![(String, r#""https://crm.example.com""#)]
        );
    }

    #[test]
    fn operators_and_punctuation() {
        assert_eq!(
            lex("== != <= >= < > = + - * / {}()[],;:."),
            vec![
                (Operator, "=="),
                (Operator, "!="),
                (Operator, "<="),
                (Operator, ">="),
                (Operator, "<"),
                (Operator, ">"),
                (Operator, "="),
                (Operator, "+"),
                (Operator, "-"),
                (Operator, "*"),
                (Operator, "/"),
                (Punct, "{"),
                (Punct, "}"),
                (Punct, "("),
                (Punct, ")"),
                (Punct, "["),
                (Punct, "]"),
                (Punct, ","),
                (Punct, ";"),
                (Punct, ":"),
                (Punct, "."),
            ]
        );
    }

    #[test]
    fn unknown_characters_merge_into_one_error() {
        assert_eq!(
            lex("a @!çã| b"),
            vec![(Ident, "a"), (Error, "@!çã|"), (Ident, "b")]
        );
        // Identifiers are ASCII; a non-ASCII letter splits a word around an error.
        assert_eq!(lex("não"), vec![(Ident, "n"), (Error, "ã"), (Ident, "o")]);
    }

    #[test]
    fn whitespace_is_a_token() {
        let src = "a \t\r\n b\x0C";
        let kinds: Vec<TokenKind> = tokens(src).iter().map(|t| t.kind).collect();
        // The grammar knows no form feed.
        assert_eq!(kinds, vec![Ident, Whitespace, Ident, Error]);
    }

    /// The coverage invariant, shared with the property test.
    fn assert_covers(src: &str) {
        let toks = tokens(src);
        let mut at = 0;
        for (i, t) in toks.iter().enumerate() {
            assert_eq!(t.start, at, "gap or overlap before token {i} in {src:?}");
            assert!(t.end > t.start, "empty token {i} in {src:?}");
            assert!(src.is_char_boundary(t.start) && src.is_char_boundary(t.end));
            if i > 0 {
                assert!(
                    !(t.kind == Error && toks[i - 1].kind == Error),
                    "adjacent errors in {src:?}"
                );
            }
            for r in interpolations(src, *t) {
                assert!(t.start < r.start && r.start <= r.end && r.end < t.end);
                assert!(src.is_char_boundary(r.start) && src.is_char_boundary(r.end));
            }
            at = t.end;
        }
        assert_eq!(at, src.len(), "tokens stop short in {src:?}");
    }

    #[test]
    fn coverage_on_awkward_inputs() {
        for src in [
            "",
            "\"",
            "\\",
            "/",
            "matching /",
            "matching /\\",
            "matching /é\\é",
            "\"\\é\"",
            "\"{\"{\"{\"",
            "\"}}}\"",
            "0:0",
            "2026-1-1",
            "1h1é",
            "\u{0}\u{7f}\u{feff}💥",
            "regex//x\n/",
        ] {
            assert_covers(src);
        }
    }

    mod prop {
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_string_is_covered(src in any::<std::string::String>()) {
                super::assert_covers(&src);
            }

            #[test]
            fn flow_like_strings_are_covered(
                src in r#"([a-z]{1,6}|[0-9]{1,4}|[:\-./\\"{}\n \r;,()\[\]=<>!é]|matching ){0,40}"#
            ) {
                super::assert_covers(&src);
            }
        }
    }
}
