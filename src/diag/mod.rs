//! Diagnostics as data: every stage reports problems as [`Diagnostic`] values with spans
//! and a stable code; this module renders them (codespan-reporting) and serialises them
//! (JSON). Rendering writes to any `io::Write`/`WriteColor`, so it stays I/O-free.

pub mod codes;
pub mod render;

use crate::syntax::span::Span;
use serde::Serialize;

pub use codes::Code;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A span with a short message, shown under the source line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// One problem found in a script.
///
/// House voice: `message` is a short lowercase title with names in backticks
/// ("unknown stage `triag`"); `primary` points at the culprit; `secondary` at the other
/// half of a conflict ("first defined here"); `notes` state the rule; `help` says how to
/// fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub primary: Label,
    pub secondary: Vec<Label>,
    pub notes: Vec<String>,
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with the severity its code is registered with.
    pub fn new(
        code: Code,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            primary: Label {
                span,
                message: label.into(),
            },
            secondary: Vec::new(),
            notes: Vec::new(),
            help: None,
        }
    }

    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.secondary.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// "did you mean `triage`?" — the closest candidate by edit distance, if close enough.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(&str, f64)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(&name.to_lowercase(), &c.to_lowercase());
        if score >= 0.8 && best.is_none_or(|(_, s)| score > s) {
            best = Some((c, score));
        }
    }
    best.map(|(c, _)| c)
}

/// Sort diagnostics by file and position, so output is stable.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by_key(|d| {
        (
            d.primary.span.file,
            d.primary.span.start,
            d.primary.span.end,
            d.code,
        )
    });
}
