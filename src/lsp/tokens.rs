//! Semantic tokens: the token classes an editor colours, encoded as the protocol's
//! relative (line, UTF-16 column, length) quintuples.

use super::LineIndex;
use crate::check::refs::RefIndex;
use crate::syntax::lexer::{self, TokenKind};
use lsp_types::{SemanticToken, SemanticTokenType, SemanticTokensLegend};

/// Token classes, in legend order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Class {
    Keyword = 0,
    String = 1,
    Number = 2,
    Regexp = 3,
    Comment = 4,
    Operator = 5,
    Variable = 6,
    Namespace = 7,
    Function = 8,
    Type = 9,
    Property = 10,
}

pub(super) fn legend() -> SemanticTokensLegend {
    SemanticTokensLegend {
        token_types: vec![
            SemanticTokenType::KEYWORD,
            SemanticTokenType::STRING,
            SemanticTokenType::NUMBER,
            SemanticTokenType::REGEXP,
            SemanticTokenType::COMMENT,
            SemanticTokenType::OPERATOR,
            SemanticTokenType::VARIABLE,
            SemanticTokenType::NAMESPACE,
            SemanticTokenType::FUNCTION,
            SemanticTokenType::TYPE,
            SemanticTokenType::PROPERTY,
        ],
        token_modifiers: Vec::new(),
    }
}

/// Encodes classified byte ranges (sorted, not overlapping) as protocol tokens. A range
/// that spans lines is split at each line end, as the protocol requires.
pub(super) fn encode(
    index: &LineIndex,
    ranges: &[(std::ops::Range<usize>, Class)],
) -> Vec<SemanticToken> {
    let text = index.text();
    let mut out = Vec::with_capacity(ranges.len());
    let (mut prev_line, mut prev_col) = (0u32, 0u32);
    for (range, class) in ranges {
        let mut start = range.start;
        while start < range.end {
            let line_end = text
                .get(start..range.end)
                .and_then(|s| s.find('\n'))
                .map_or(range.end, |i| start + i);
            let a = index.position(start);
            let b = index.position(line_end);
            if b.character > a.character {
                let delta_line = a.line - prev_line;
                let delta_start = if delta_line == 0 {
                    a.character - prev_col
                } else {
                    a.character
                };
                out.push(SemanticToken {
                    delta_line,
                    delta_start,
                    length: b.character - a.character,
                    token_type: *class as u32,
                    token_modifiers_bitset: 0,
                });
                prev_line = a.line;
                prev_col = a.character;
            }
            start = line_end + 1;
        }
    }
    out
}

/// The classified ranges of a text: token classes from the logos lexer, refined by the
/// name index (a keyword-looking word declared as a name is a name).
pub(super) fn classify(text: &str, refs: &RefIndex) -> Vec<(std::ops::Range<usize>, Class)> {
    let names: std::collections::HashMap<(usize, usize), Class> = refs
        .occurrences
        .iter()
        .map(|o| {
            (
                (o.span.start as usize, o.span.end as usize),
                name_class(o.kind),
            )
        })
        .collect();
    let mut out = Vec::new();
    classify_code(text, 0, text.len(), &names, &mut out);
    out.retain(|(r, _)| r.start < r.end);
    out.sort_by_key(|(r, _)| (r.start, r.end));
    out
}

/// Classifies `text[from..to]` (the whole text, or the code of an interpolation) into
/// `out`, so that a word gets the same class in a string's `{...}` as outside: a
/// declared name its kind's class, a word after `.` (`contact.name`, `card.team`) or
/// before `:` (a payload key, `{ phone: contact.phone }`) a property, even when it is
/// also a keyword.
fn classify_code(
    text: &str,
    from: usize,
    to: usize,
    names: &std::collections::HashMap<(usize, usize), Class>,
    out: &mut Vec<(std::ops::Range<usize>, Class)>,
) {
    let Some(code) = text.get(from..to) else {
        return;
    };
    let toks: Vec<lexer::Token> = lexer::tokens(code)
        .into_iter()
        .map(|t| lexer::Token {
            kind: t.kind,
            start: t.start + from,
            end: t.end + from,
        })
        .collect();
    let next_solid = |i: usize| {
        toks.iter()
            .skip(i + 1)
            .find(|t| !matches!(t.kind, TokenKind::Whitespace | TokenKind::Comment))
    };
    for (i, t) in toks.iter().enumerate() {
        let r = t.range();
        let class = match t.kind {
            TokenKind::Keyword | TokenKind::Ident => {
                let after_dot = r.start > from && text.get(r.start - 1..r.start) == Some(".");
                let before_colon = next_solid(i).is_some_and(|n| {
                    n.kind == TokenKind::Punct && text.get(n.range()) == Some(":")
                });
                if let Some(c) = names.get(&(r.start, r.end)) {
                    Some(*c)
                } else if after_dot || before_colon {
                    Some(Class::Property)
                } else if t.kind == TokenKind::Keyword {
                    Some(Class::Keyword)
                } else {
                    Some(Class::Variable)
                }
            }
            TokenKind::String => {
                // The literal parts are strings; the code inside `{...}` is classified
                // as code.
                let mut at = r.start;
                for inner in lexer::interpolations(text, *t) {
                    out.push((at..inner.start, Class::String));
                    classify_code(text, inner.start, inner.end, names, out);
                    at = inner.end;
                }
                out.push((at..r.end, Class::String));
                None
            }
            TokenKind::Number | TokenKind::Duration | TokenKind::Clock | TokenKind::Date => {
                Some(Class::Number)
            }
            TokenKind::Regex => Some(Class::Regexp),
            TokenKind::Comment => Some(Class::Comment),
            TokenKind::Operator => Some(Class::Operator),
            TokenKind::Punct | TokenKind::Whitespace | TokenKind::Error => None,
        };
        if let Some(c) = class {
            out.push((r, c));
        }
    }
}

fn name_class(kind: crate::check::DeclKind) -> Class {
    use crate::check::DeclKind;
    match kind {
        DeclKind::Field => Class::Variable,
        DeclKind::Stage => Class::Namespace,
        DeclKind::Template | DeclKind::Webhook | DeclKind::Form | DeclKind::Ai => Class::Function,
        DeclKind::Team
        | DeclKind::Hours
        | DeclKind::Intent
        | DeclKind::Knowledge
        | DeclKind::Event
        | DeclKind::Sla => Class::Type,
    }
}
