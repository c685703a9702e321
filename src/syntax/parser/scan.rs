//! A small string-, comment- and regex-aware scanner that finds the block structure of
//! a file before pest sees it: where top-level declarations start, which braces match,
//! and which lexical problems (unterminated strings, unbalanced braces, nesting too deep)
//! make a piece of text pointless to hand to pest. One linear pass; no backtracking.

/// How deeply brackets (`{`, `(`, `[`) may nest. Deeper input is refused before parsing,
/// so that neither pest nor the tree builder can recurse without bound.
pub(super) const MAX_NESTING: usize = 64;

/// Keywords that start a top-level declaration.
pub(super) use crate::syntax::vocab::DECLARATIONS as TOP_KEYWORDS;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TokKind {
    /// An identifier, keyword or number (any run of `[A-Za-z0-9_]`).
    Word,
    /// A string literal, closed or not.
    Str,
    /// A regular expression literal.
    Regex,
    OpenBrace,
    CloseBrace,
    /// `(` or `[`
    OpenOther,
    /// `)` or `]`
    CloseOther,
    Semi,
    /// Any other character.
    Punct,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Tok {
    pub kind: TokKind,
    pub start: usize,
    pub end: usize,
    /// The first token on its line.
    pub line_start: bool,
    /// The first token on its line, at column zero.
    pub col0: bool,
}

/// A problem the scanner found; reported as is and used to keep pest away from the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LexProblem {
    /// A `"` without a closing quote on its line: `start..end` runs to the end of line.
    UnterminatedString { start: usize, end: usize },
    /// Brackets nested deeper than [`MAX_NESTING`], first exceeded at `at`.
    TooDeep { at: usize },
    /// A `{` that is never closed.
    Unclosed { at: usize },
    /// A `}` with no `{` to close.
    Unopened { at: usize },
}

impl LexProblem {
    pub(super) fn pos(self) -> usize {
        match self {
            LexProblem::UnterminatedString { start, .. } => start,
            LexProblem::TooDeep { at }
            | LexProblem::Unclosed { at }
            | LexProblem::Unopened { at } => at,
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Scanned {
    pub toks: Vec<Tok>,
    /// For each token that is a `{`, the index of its matching `}`.
    pub matching: Vec<Option<usize>>,
    pub problems: Vec<LexProblem>,
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Tokenises `src`, skipping whitespace and comments.
pub(super) fn scan(src: &str) -> Scanned {
    let bytes = src.as_bytes();
    let mut out = Scanned::default();
    let mut i = 0;
    let mut line_start = true;
    let mut col0 = true;
    let mut depth = 0usize;
    let mut reported_deep = false;
    let mut prev_word: Option<(usize, usize)> = None;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\n' {
            line_start = true;
            col0 = true;
            i += 1;
            continue;
        }
        if b == b' ' || b == b'\t' || b == b'\r' {
            col0 = false;
            i += 1;
            continue;
        }
        let start = i;
        let kind;
        if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        } else if b == b'/'
            && prev_word
                .and_then(|(s, e)| src.get(s..e))
                .is_some_and(|w| matches!(w, "matching" | "matches" | "regex"))
        {
            i += 1;
            while i < bytes.len() && bytes[i] != b'\n' {
                if bytes[i] == b'\\' && bytes.get(i + 1).is_some_and(|&c| c != b'\n') {
                    i += 2;
                } else if bytes[i] == b'/' {
                    i += 1;
                    break;
                } else {
                    i += 1;
                }
            }
            kind = TokKind::Regex;
        } else if b == b'"' {
            i += 1;
            let mut closed = false;
            while i < bytes.len() && bytes[i] != b'\n' {
                if bytes[i] == b'\\' && bytes.get(i + 1).is_some_and(|&c| c != b'\n') {
                    i += 2;
                } else if bytes[i] == b'"' {
                    i += 1;
                    closed = true;
                    break;
                } else {
                    i += 1;
                }
            }
            // An escape before a multi-byte character may have stopped mid-character.
            while i < bytes.len() && !src.is_char_boundary(i) {
                i += 1;
            }
            if !closed {
                let mut end = i;
                if end > start + 1 && bytes.get(end - 1) == Some(&b'\r') {
                    end -= 1;
                }
                out.problems
                    .push(LexProblem::UnterminatedString { start, end });
            }
            kind = TokKind::Str;
        } else if is_ident_byte(b) {
            while i < bytes.len() && is_ident_byte(bytes[i]) {
                i += 1;
            }
            kind = TokKind::Word;
        } else {
            // One character, whole (it may be multi-byte).
            let len = src[i..].chars().next().map_or(1, char::len_utf8);
            i += len;
            kind = match b {
                b'{' => TokKind::OpenBrace,
                b'}' => TokKind::CloseBrace,
                b'(' | b'[' => TokKind::OpenOther,
                b')' | b']' => TokKind::CloseOther,
                b';' => TokKind::Semi,
                _ => TokKind::Punct,
            };
        }
        match kind {
            TokKind::OpenBrace | TokKind::OpenOther => {
                depth += 1;
                if depth > MAX_NESTING && !reported_deep {
                    reported_deep = true;
                    out.problems.push(LexProblem::TooDeep { at: start });
                }
            }
            TokKind::CloseBrace | TokKind::CloseOther => {
                depth = depth.saturating_sub(1);
                if depth < MAX_NESTING {
                    reported_deep = false;
                }
            }
            _ => {}
        }
        prev_word = (kind == TokKind::Word).then_some((start, i));
        out.toks.push(Tok {
            kind,
            start,
            end: i,
            line_start,
            col0: col0 && line_start,
        });
        line_start = false;
        col0 = false;
    }
    out.matching = vec![None; out.toks.len()];
    let mut stack = Vec::new();
    for (idx, t) in out.toks.iter().enumerate() {
        match t.kind {
            TokKind::OpenBrace => stack.push(idx),
            TokKind::CloseBrace => {
                if let Some(open) = stack.pop() {
                    out.matching[open] = Some(idx);
                }
            }
            _ => {}
        }
    }
    out
}

impl Scanned {
    pub(super) fn text<'s>(&self, src: &'s str, idx: usize) -> &'s str {
        self.toks
            .get(idx)
            .and_then(|t| src.get(t.start..t.end))
            .unwrap_or("")
    }

    /// True when token `idx` may begin a statement: first on its line, first of the
    /// range, or right after a `;` or a `}`.
    pub(super) fn at_statement_start(&self, idx: usize, first: usize) -> bool {
        if idx == first {
            return true;
        }
        let Some(t) = self.toks.get(idx) else {
            return false;
        };
        t.line_start
            || idx
                .checked_sub(1)
                .and_then(|p| self.toks.get(p))
                .is_some_and(|p| matches!(p.kind, TokKind::Semi | TokKind::CloseBrace))
    }
}

/// The last words a declaration without braces can end with: the field types that take
/// no argument, date bounds without one, and numbers (`between 1 and 8`).
const DECLARATION_END_WORDS: &[&str] = &[
    "email", "phone", "yesno", "text", "number", "date", "past", "future", "today",
];

impl Scanned {
    /// True when token `idx`, in the middle of a line at the top level, follows what can
    /// only end a declaration: a string (`invalid "..."`, `from "faq.md"`, `lang "pt"`),
    /// a regular expression, a number or a field type, and is followed by what starts
    /// one (a name, a string or `{`). A declaration keyword after a name (`with field`,
    /// `field team:`) stays a name.
    pub(super) fn after_declaration_end(&self, src: &str, idx: usize) -> bool {
        let Some(prev) = idx.checked_sub(1).and_then(|p| self.toks.get(p)) else {
            return false;
        };
        let ends = match prev.kind {
            TokKind::Str | TokKind::Regex => true,
            TokKind::Word => {
                let w = self.text(src, idx - 1);
                DECLARATION_END_WORDS.contains(&w) || w.bytes().all(|b| b.is_ascii_digit())
            }
            _ => false,
        };
        ends && self
            .toks
            .get(idx + 1)
            .is_some_and(|t| matches!(t.kind, TokKind::Word | TokKind::Str | TokKind::OpenBrace))
    }
}

/// One piece of the file in token indices `[first, last]`, or a stray `}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Piece {
    Chunk { first: usize, last: usize },
    Stray { at: usize },
}

/// Cuts the file into top-level chunks. Reports unclosed and unopened braces into
/// `problems`. A declaration keyword at column zero while braces are still open is taken
/// as the start of the next declaration, so one missing `}` costs one block.
pub(super) fn top_level(src: &str, sc: &mut Scanned) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    let mut chunk_first: Option<usize> = None;
    let mut problems = Vec::new();
    let n = sc.toks.len();
    for idx in 0..n {
        let t = sc.toks[idx];
        let word = sc.text(src, idx);
        let is_top = t.kind == TokKind::Word && TOP_KEYWORDS.contains(&word);
        let starts = if stack.is_empty() {
            is_top && (sc.at_statement_start(idx, 0) || sc.after_declaration_end(src, idx))
        } else {
            is_top && t.col0 && looks_like_head(src, sc, idx)
        };
        if starts {
            if let Some(&open) = stack.last() {
                problems.push(LexProblem::Unclosed {
                    at: sc.toks[open].start,
                });
                stack.clear();
            }
            if let Some(first) = chunk_first.take() {
                if idx > first {
                    pieces.push(Piece::Chunk {
                        first,
                        last: idx - 1,
                    });
                }
            }
            chunk_first = Some(idx);
        }
        match t.kind {
            TokKind::OpenBrace => {
                if chunk_first.is_none() {
                    chunk_first = Some(idx);
                }
                stack.push(idx);
            }
            TokKind::CloseBrace => {
                if stack.pop().is_none() {
                    if let Some(first) = chunk_first.take() {
                        if idx > first {
                            pieces.push(Piece::Chunk {
                                first,
                                last: idx - 1,
                            });
                        }
                    }
                    problems.push(LexProblem::Unopened { at: t.start });
                    pieces.push(Piece::Stray { at: idx });
                }
            }
            _ => {
                if chunk_first.is_none() {
                    chunk_first = Some(idx);
                }
            }
        }
    }
    if let Some(&open) = stack.last() {
        problems.push(LexProblem::Unclosed {
            at: sc.toks[open].start,
        });
    }
    if let Some(first) = chunk_first {
        if n > first {
            pieces.push(Piece::Chunk { first, last: n - 1 });
        }
    }
    sc.problems.extend(problems);
    sc.problems.sort_by_key(|p| p.pos());
    pieces
}

/// A declaration keyword inside an open block only restarts the top level when what
/// follows looks like a declaration head; `hours office` inside a team does not.
fn looks_like_head(src: &str, sc: &Scanned, idx: usize) -> bool {
    match sc.text(src, idx) {
        "hours" => {
            sc.toks
                .get(idx + 1)
                .is_some_and(|t| t.kind == TokKind::Word)
                && sc
                    .toks
                    .get(idx + 2)
                    .is_some_and(|t| t.kind == TokKind::OpenBrace)
        }
        _ => true,
    }
}

/// Splits the token range `[first, last]` (a block body) into statements: a new one
/// starts at a token at brace depth zero that is one of `starters` and stands at a
/// statement start. Text before the first starter forms a statement of its own.
pub(super) fn split_statements(
    src: &str,
    sc: &Scanned,
    first: usize,
    last: usize,
    starters: &[&str],
) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut cur: Option<usize> = None;
    for idx in first..=last {
        let Some(t) = sc.toks.get(idx) else { break };
        if depth == 0
            && t.kind == TokKind::Word
            && starters.contains(&sc.text(src, idx))
            && sc.at_statement_start(idx, first)
        {
            if let Some(s) = cur.take() {
                if idx > s {
                    out.push((s, idx - 1));
                }
            }
        }
        if cur.is_none() {
            cur = Some(idx);
        }
        match t.kind {
            TokKind::OpenBrace => depth += 1,
            TokKind::CloseBrace => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if let Some(s) = cur {
        if last >= s {
            out.push((s, last));
        }
    }
    out
}

/// The largest bracket depth in `text`, a piece of one line (an interpolation).
pub(super) fn max_depth(text: &str) -> usize {
    let mut depth = 0usize;
    let mut max = 0usize;
    for b in text.bytes() {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}
