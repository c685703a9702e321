//! The session: source files plus their parse and check results. Every front (CLI, REPL,
//! LSP, daemon) goes through this one object, so they all see the same diagnostics.

use crate::check::knowledge::{Loaded, Resources};
use crate::check::{self, Checked};
use crate::diag::{self, Diagnostic, codes};
use crate::syntax::ast::Item;
use crate::syntax::source::SourceMap;
use crate::syntax::span::FileId;
use crate::syntax::{self, Parsed};
use std::sync::Arc;

/// Parse and check results of one file.
#[derive(Clone, Debug, Default)]
pub struct Analysis {
    pub parsed: Parsed,
    pub checked: Checked,
    /// The files the script refers to (knowledge bases), as the session's loader read them.
    pub resources: Resources,
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

/// Reads a file a script refers to: the script's name (a path or a `file://` URI) and the
/// path as written in the script.
pub type Loader = Arc<dyn Fn(&str, &str) -> Loaded + Send + Sync>;

/// The loader of fronts that work on files: a path is relative to the script's folder.
pub fn file_loader() -> Loader {
    Arc::new(|script: &str, path: &str| {
        let script = script.strip_prefix("file://").unwrap_or(script);
        let base = std::path::Path::new(script)
            .parent()
            .unwrap_or(std::path::Path::new(""));
        let full = base.join(path);
        match std::fs::read(&full) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(t) => Loaded::Text(t),
                Err(_) => Loaded::Missing(format!("`{}` is not UTF-8 text", full.display())),
            },
            Err(e) => Loaded::Missing(format!("cannot read `{}`: {e}", full.display())),
        }
    })
}

/// Parses and checks one source text.
pub fn analyze(file: FileId, text: &str) -> Analysis {
    analyze_with(file, text, "", None)
}

/// Parses and checks one source text named `name`, reading the files it refers to with
/// `loader` (without one, they are not looked at).
pub fn analyze_with(file: FileId, text: &str, name: &str, loader: Option<&Loader>) -> Analysis {
    let parsed = syntax::parse(file, text);
    let mut resources = Resources::default();
    if let Some(load) = loader {
        for item in &parsed.file.items {
            if let Item::Knowledge(k) = item
                && !resources.files.contains_key(&k.path.value)
            {
                resources
                    .files
                    .insert(k.path.value.clone(), load(name, &k.path.value));
            }
        }
    }
    let checked = check::check_with(&parsed.file, &resources);
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
        resources,
        diagnostics,
    }
}

/// Files and their analyses.
#[derive(Default)]
pub struct Session {
    pub sources: SourceMap,
    analyses: Vec<Analysis>,
    /// Reads the files scripts refer to; `None` in fronts without files.
    loader: Option<Loader>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("sources", &self.sources)
            .field("analyses", &self.analyses)
            .field("loader", &self.loader.is_some())
            .finish()
    }
}

impl Session {
    pub fn new() -> Session {
        Session::default()
    }

    /// A session whose scripts may refer to files beside them (knowledge bases).
    pub fn with_files() -> Session {
        Session {
            loader: Some(file_loader()),
            ..Session::default()
        }
    }

    /// Reads the files scripts refer to with this loader from now on.
    pub fn set_loader(&mut self, loader: Loader) {
        self.loader = Some(loader);
    }

    /// Adds a file and analyses it.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        let text = text.into();
        let name = name.into();
        let id = self.sources.add(name.clone(), text.clone());
        self.analyses
            .push(analyze_with(id, &text, &name, self.loader.as_ref()));
        id
    }

    /// Replaces a file's text and analyses it again.
    pub fn update(&mut self, id: FileId, text: impl Into<String>) {
        let text = text.into();
        self.sources.replace(id, text.clone());
        let name = self
            .sources
            .get(id)
            .map(|f| f.name.clone())
            .unwrap_or_default();
        if let Some(slot) = self.analyses.get_mut(id.0 as usize) {
            *slot = analyze_with(id, &text, &name, self.loader.as_ref());
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
