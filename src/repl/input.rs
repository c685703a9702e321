//! What a line of REPL input is (a command, a declaration, a message) and whether a
//! declaration is finished or needs more lines. Both fronts use the same rules, so a
//! script piped to stdin behaves as the same text typed at a terminal.

use crate::syntax::lexer::{self, TokenKind};
use crate::syntax::span::FileId;

/// Words that open a top-level declaration.
pub use crate::syntax::vocab::DECLARATIONS as DECL_KEYWORDS;

/// The three kinds of input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// `:tap Billing`
    Command,
    /// `stage triage { ... }`
    Declaration,
    /// Anything else: a text message from the current contact.
    Message,
}

/// Classifies input by its first word.
pub fn kind(input: &str) -> InputKind {
    let t = input.trim_start();
    if t.starts_with(':') {
        return InputKind::Command;
    }
    let word: String = t
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let after = t.get(word.len()..).unwrap_or("");
    // `stage` alone or `field: ...` is a message, not a declaration: a declaration keyword
    // is followed by a space and more.
    let followed =
        after.starts_with(|c: char| c.is_whitespace() || c == '{') && !after.trim().is_empty();
    if DECL_KEYWORDS.contains(&word.as_str()) && followed {
        InputKind::Declaration
    } else {
        InputKind::Message
    }
}

/// Open brackets minus closed ones, counted on the lexer's tokens so that brackets in
/// strings and comments do not count.
pub fn bracket_depth(src: &str) -> i64 {
    let mut depth = 0i64;
    for t in lexer::tokens(src) {
        if t.kind != TokenKind::Punct {
            continue;
        }
        match src.get(t.range()) {
            Some("{" | "[" | "(") => depth += 1,
            Some("}" | "]" | ")") => depth -= 1,
            _ => {}
        }
    }
    depth
}

/// Whether a declaration needs more lines: brackets are still open, or the parser's first
/// error is at the very end of the input (it ran out of text, as in `field order:`).
/// An empty last line always finishes the input, so a user can get out of a declaration
/// the parser would wait on forever.
pub fn is_unfinished(input: &str) -> bool {
    if kind(input) != InputKind::Declaration {
        return false;
    }
    if input.ends_with("\n\n") || input.ends_with("\n\r\n") {
        return false;
    }
    if bracket_depth(input) > 0 {
        return true;
    }
    let end = input.trim_end().len();
    let parsed = crate::syntax::parse(FileId(0), input);
    parsed
        .diagnostics
        .iter()
        .find(|d| d.is_error())
        .is_some_and(|d| d.primary.span.start as usize >= end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(kind(":tap Billing"), InputKind::Command);
        assert_eq!(kind("  stage triage {"), InputKind::Declaration);
        assert_eq!(kind("field order: text"), InputKind::Declaration);
        assert_eq!(kind("stage"), InputKind::Message);
        assert_eq!(kind("form please"), InputKind::Declaration);
        assert_eq!(kind("hello there"), InputKind::Message);
        assert_eq!(kind(""), InputKind::Message);
    }

    #[test]
    fn open_braces_wait_for_more() {
        assert!(is_unfinished("stage triage {"));
        assert!(is_unfinished("stage triage {\n  on enter { reply \"}\" "));
        assert!(!is_unfinished("stage triage {\n  otherwise { ignore }\n}"));
        assert!(!is_unfinished("stage triage {\n\n"));
        assert!(!is_unfinished("hello {"));
        assert!(!is_unfinished(":eval (1"));
    }
}
