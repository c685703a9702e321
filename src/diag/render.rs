//! Turning [`Diagnostic`]s into text (codespan-reporting) and JSON. This is the one
//! place that knows codespan types; the LSP maps diagnostics itself, from the same data.

use super::{Diagnostic, Severity};
use crate::syntax::source::{SourceMap, clamp_to_char_boundary};
use crate::syntax::span::FileId;
use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::{Error as FilesError, Files};
use codespan_reporting::term;
use codespan_reporting::term::termcolor::WriteColor;
use serde::Serialize;
use std::ops::Range;

impl<'a> Files<'a> for SourceMap {
    type FileId = FileId;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        self.get(id)
            .map(|f| f.name.as_str())
            .ok_or(FilesError::FileMissing)
    }

    fn source(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        self.get(id)
            .map(|f| f.text.as_str())
            .ok_or(FilesError::FileMissing)
    }

    fn line_index(&'a self, id: FileId, byte_index: usize) -> Result<usize, FilesError> {
        let f = self.get(id).ok_or(FilesError::FileMissing)?;
        Ok(f.line_index(byte_index))
    }

    fn line_range(&'a self, id: FileId, line_index: usize) -> Result<Range<usize>, FilesError> {
        let f = self.get(id).ok_or(FilesError::FileMissing)?;
        let starts = f.line_starts();
        let start = *starts.get(line_index).ok_or(FilesError::LineTooLarge {
            given: line_index,
            max: starts.len().saturating_sub(1),
        })?;
        let end = starts.get(line_index + 1).copied().unwrap_or(f.text.len());
        Ok(start..end)
    }
}

/// Clamp a span's range into the file so rendering never fails on a stale span.
fn safe_range(map: &SourceMap, file: FileId, range: Range<usize>) -> Range<usize> {
    match map.get(file) {
        Some(f) => {
            let s = clamp_to_char_boundary(&f.text, range.start);
            let e = clamp_to_char_boundary(&f.text, range.end.max(s));
            s..e
        }
        None => 0..0,
    }
}

/// The codespan form of a diagnostic.
pub fn to_codespan(map: &SourceMap, d: &Diagnostic) -> cs::Diagnostic<FileId> {
    let severity = match d.severity {
        Severity::Error => cs::Severity::Error,
        Severity::Warning => cs::Severity::Warning,
    };
    let mut labels = vec![
        cs::Label::primary(
            d.primary.span.file,
            safe_range(map, d.primary.span.file, d.primary.span.range()),
        )
        .with_message(d.primary.message.clone()),
    ];
    for l in &d.secondary {
        labels.push(
            cs::Label::secondary(l.span.file, safe_range(map, l.span.file, l.span.range()))
                .with_message(l.message.clone()),
        );
    }
    let mut notes: Vec<String> = d.notes.iter().map(|n| format!("note: {n}")).collect();
    if let Some(h) = &d.help {
        notes.push(format!("help: {h}"));
    }
    cs::Diagnostic::new(severity)
        .with_code(d.code.as_str())
        .with_message(d.message.clone())
        .with_labels(labels)
        .with_notes(notes)
}

/// Writes diagnostics as codespan renders them (colour decided by the writer).
pub fn emit(
    out: &mut dyn WriteColor,
    map: &SourceMap,
    diags: &[Diagnostic],
) -> std::io::Result<()> {
    let config = term::Config::default();
    for d in diags {
        term::emit_to_write_style(out, &config, map, &to_codespan(map, d))
            .map_err(|e| std::io::Error::other(e.to_string()))?;
    }
    Ok(())
}

/// Renders diagnostics to a plain string, without colour (snapshots, REPL, tests).
pub fn to_string(map: &SourceMap, diags: &[Diagnostic]) -> String {
    let mut buf = term::termcolor::NoColor::new(Vec::new());
    // Writing into a Vec cannot fail.
    let _ = emit(&mut buf, map, diags);
    String::from_utf8_lossy(&buf.into_inner()).into_owned()
}

/// A position as line and column, both one-based; columns count Unicode scalar values.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct JsonRange {
    pub start: Position,
    pub end: Position,
}

#[derive(Clone, Debug, Serialize)]
pub struct JsonLabel {
    pub file: String,
    pub range: JsonRange,
    pub message: String,
}

/// The machine-readable form used by `wafl check --format json`.
#[derive(Clone, Debug, Serialize)]
pub struct JsonDiagnostic {
    pub file: String,
    pub range: JsonRange,
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    pub labels: Vec<JsonLabel>,
    pub notes: Vec<String>,
    pub help: Option<String>,
}

fn json_range(map: &SourceMap, file: FileId, range: Range<usize>) -> (String, JsonRange) {
    match map.get(file) {
        Some(f) => {
            let (sl, sc) = f.line_col(range.start);
            let (el, ec) = f.line_col(range.end);
            (
                f.name.clone(),
                JsonRange {
                    start: Position {
                        line: sl,
                        column: sc,
                    },
                    end: Position {
                        line: el,
                        column: ec,
                    },
                },
            )
        }
        None => (
            String::new(),
            JsonRange {
                start: Position { line: 1, column: 1 },
                end: Position { line: 1, column: 1 },
            },
        ),
    }
}

pub fn to_json(map: &SourceMap, d: &Diagnostic) -> JsonDiagnostic {
    let (file, range) = json_range(map, d.primary.span.file, d.primary.span.range());
    let mut labels = Vec::new();
    for (l, primary) in
        std::iter::once((&d.primary, true)).chain(d.secondary.iter().map(|l| (l, false)))
    {
        let _ = primary;
        let (file, range) = json_range(map, l.span.file, l.span.range());
        labels.push(JsonLabel {
            file,
            range,
            message: l.message.clone(),
        });
    }
    JsonDiagnostic {
        file,
        range,
        severity: d.severity,
        code: d.code.as_str(),
        message: d.message.clone(),
        labels,
        notes: d.notes.clone(),
        help: d.help.clone(),
    }
}
