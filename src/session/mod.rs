//! The session: source files plus their parse and check results. Every front (CLI, REPL,
//! LSP, daemon) goes through this one object, so they all see the same diagnostics.

use crate::check::{self, Checked};
use crate::diag::{self, Diagnostic, codes};
use crate::syntax::source::SourceMap;
use crate::syntax::span::FileId;
use crate::syntax::{self, Parsed};

/// Parse and check results of one file.
#[derive(Clone, Debug, Default)]
pub struct Analysis {
    pub parsed: Parsed,
    pub checked: Checked,
    /// Syntax and checker diagnostics together, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Analysis {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Codes whose findings are likely a cascade from a block the parser had to drop: a
/// stage that failed to parse makes every `goto` to it look like an unknown name.
const CASCADE: &[crate::diag::Code] = &[
    codes::UNKNOWN_NAME,
    codes::UNREACHABLE_STAGE,
    codes::NO_WAY_TO_CLOSE,
    // A dropped handler leaves its stage looking as if it did not answer everything.
    codes::NOT_TOTAL,
    codes::UNUSED,
    codes::MAYBE_UNSET,
    codes::FLOW_HEADER,
    codes::NO_STAGES,
];

/// Parses and checks one source text.
pub fn analyze(file: FileId, text: &str) -> Analysis {
    let parsed = syntax::parse(file, text);
    let checked = check::check(&parsed.file);
    let syntax_failed = parsed.diagnostics.iter().any(Diagnostic::is_error);
    // A literal the parser could not read (a number or duration too large) is kept as a
    // placeholder; what the checker says about that same spot is a cascade.
    let unreadable = |d: &Diagnostic| {
        parsed.diagnostics.iter().any(|p| {
            p.is_error()
                && p.primary.span.start <= d.primary.span.start
                && d.primary.span.end <= p.primary.span.end
        })
    };
    let mut diagnostics = parsed.diagnostics.clone();
    diagnostics.extend(
        checked
            .diagnostics
            .iter()
            .filter(|d| !(unreadable(d) || syntax_failed && CASCADE.contains(&d.code)))
            .cloned(),
    );
    diag::sort(&mut diagnostics);
    Analysis {
        parsed,
        checked,
        diagnostics,
    }
}

/// Files and their analyses.
#[derive(Debug, Default)]
pub struct Session {
    pub sources: SourceMap,
    analyses: Vec<Analysis>,
}

impl Session {
    pub fn new() -> Session {
        Session::default()
    }

    /// Adds a file and analyses it.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        let text = text.into();
        let id = self.sources.add(name, text.clone());
        self.analyses.push(analyze(id, &text));
        id
    }

    /// Replaces a file's text and analyses it again.
    pub fn update(&mut self, id: FileId, text: impl Into<String>) {
        let text = text.into();
        self.sources.replace(id, text.clone());
        if let Some(slot) = self.analyses.get_mut(id.0 as usize) {
            *slot = analyze(id, &text);
        }
    }

    pub fn analysis(&self, id: FileId) -> Option<&Analysis> {
        self.analyses.get(id.0 as usize)
    }

    /// Diagnostics of one file rendered as `wafl check` prints them, without colour.
    pub fn render(&self, id: FileId) -> String {
        self.analysis(id)
            .map(|a| diag::render::to_string(&self.sources, &a.diagnostics))
            .unwrap_or_default()
    }
}
