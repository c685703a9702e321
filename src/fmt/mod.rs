//! The formatter: text in, canonical text out. Pure (no I/O), used by `wafl fmt` and by
//! the language server's formatting request.
//!
//! The layout is documented in `docs/editors.md`. In short: 2-space indentation, one
//! statement per line, one space between words, `//` comments kept where they were
//! (own-line comments stay on their own line, trailing comments stay at the end of their
//! line), at most one blank line kept between statements, and a blank line always
//! around multi-line top-level declarations. The one choice kept from the input is
//! whether a short block (`{ route billing; goto service }`) is written on one line, as
//! long as it fits in 100 columns; a longer one is broken into one statement per line.
//! Lines keep their endings: CRLF stays CRLF.
//! Literals (strings, regexes, numbers, durations, times) are copied as written.
//!
//! **Invariant:** formatting never loses text. A file with syntax errors is refused, and
//! every result is parsed again and compared with the input (same tree with spans
//! ignored, same comments, same words) before it is returned.

mod comments;
mod printer;

use crate::diag::Diagnostic;
use crate::syntax::{self, ast, span::FileId};

pub use comments::{Comment, comments};

/// Why a text could not be formatted.
#[derive(Clone, Debug)]
pub enum FmtError {
    /// The text has syntax errors; formatting it could lose text, so it is left alone.
    Syntax(Vec<Diagnostic>),
    /// The printed text did not read back as the same script. This is a bug in the
    /// formatter; the input is left alone.
    Unstable(String),
}

impl std::fmt::Display for FmtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FmtError::Syntax(d) => write!(f, "the file has {} syntax error(s)", d.len()),
            FmtError::Unstable(why) => write!(f, "the formatter could not keep the script: {why}"),
        }
    }
}

/// Formats a whole `.flow` text. A text whose lines end in CRLF keeps CRLF; any other
/// is written with LF.
pub fn format(src: &str) -> Result<String, FmtError> {
    if src.contains("\r\n") {
        // Strings cannot span lines, so every LF of the result ends a line.
        return match format_lf(&src.replace("\r\n", "\n")) {
            Ok(out) => Ok(out.replace('\n', "\r\n")),
            // Positions of the text as given, not of the one with LF endings.
            Err(FmtError::Syntax(_)) => Err(FmtError::Syntax(syntax_errors(src))),
            Err(e) => Err(e),
        };
    }
    format_lf(src)
}

fn syntax_errors(src: &str) -> Vec<Diagnostic> {
    syntax::parse(FileId(0), src)
        .diagnostics
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect()
}

fn format_lf(src: &str) -> Result<String, FmtError> {
    let parsed = syntax::parse(FileId(0), src);
    let errors: Vec<Diagnostic> = parsed
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    if !errors.is_empty() {
        return Err(FmtError::Syntax(errors));
    }
    let found = comments(src, &parsed.file);
    let out = printer::print(src, &parsed.file, &found);
    verify(src, &parsed.file, &found, &out)?;
    Ok(out)
}

/// Checks that `out` is the same script as `src`: it parses cleanly to the same tree,
/// keeps every comment in order, and keeps every word and literal in order.
fn verify(src: &str, tree: &ast::File, found: &[Comment], out: &str) -> Result<(), FmtError> {
    let again = syntax::parse(FileId(0), out);
    if again.diagnostics.iter().any(Diagnostic::is_error) {
        return Err(FmtError::Unstable("the result does not parse".into()));
    }
    if !same_tree(tree, &again.file) {
        return Err(FmtError::Unstable(
            "the result parses to another tree".into(),
        ));
    }
    let texts = |cs: &[Comment]| cs.iter().map(|c| c.text.clone()).collect::<Vec<_>>();
    if texts(found) != texts(&comments(out, &again.file)) {
        return Err(FmtError::Unstable("comments were moved or lost".into()));
    }
    let (a, b) = (words(src, found), words(out, &comments(out, &again.file)));
    if a != b {
        let at = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
        let near = |s: &str| {
            s.chars()
                .skip(at.saturating_sub(20))
                .take(40)
                .collect::<String>()
        };
        return Err(FmtError::Unstable(format!(
            "words were changed near `{}` (became `{}`)",
            near(&a),
            near(&b)
        )));
    }
    Ok(())
}

/// Compares two trees with all spans ignored.
pub fn same_tree(a: &ast::File, b: &ast::File) -> bool {
    a.items.len() == b.items.len() && strip_spans(a) == strip_spans(b)
}

/// The debug form of a tree with every span blanked, for comparing trees.
pub fn strip_spans(file: &ast::File) -> String {
    let text = format!("{:?}", file.items);
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find("Span {") {
        out.push_str(rest.get(..i).unwrap_or(""));
        let tail = rest.get(i..).unwrap_or("");
        match tail.find('}') {
            Some(j) => {
                out.push_str("Span");
                rest = tail.get(j + 1..).unwrap_or("");
            }
            None => {
                rest = tail;
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The text without comments, whitespace and the punctuation the printer may add or
/// drop (`;`, `,`, `(`, `)`, `{`, `}`): what must survive formatting unchanged.
fn words(src: &str, found: &[Comment]) -> String {
    let mut out = String::with_capacity(src.len());
    let mut at = 0;
    let mut push = |s: &str| {
        out.extend(
            s.chars()
                .filter(|c| !c.is_whitespace() && !matches!(c, ';' | ',' | '(' | ')' | '{' | '}')),
        )
    };
    for c in found {
        push(src.get(at..c.start).unwrap_or(""));
        at = c.end;
    }
    push(src.get(at..).unwrap_or(""));
    out
}
