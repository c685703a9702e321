//! Diagnostics in protocol form: the primary label is the range, secondary labels are
//! related information, the stable code is the code, and the words are `wafl check`'s.

use super::LineIndex;
use crate::diag::{self, Severity};
use lsp_types::{
    DiagnosticRelatedInformation, DiagnosticSeverity, DiagnosticTag, Location, NumberOrString, Uri,
};

pub(super) fn diagnostic(
    d: &diag::Diagnostic,
    index: &LineIndex,
    uri: &Uri,
) -> lsp_types::Diagnostic {
    let mut message = d.message.clone();
    for note in &d.notes {
        message.push_str("\nnote: ");
        message.push_str(note);
    }
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let related: Vec<DiagnosticRelatedInformation> = d
        .secondary
        .iter()
        .map(|l| DiagnosticRelatedInformation {
            location: Location::new(uri.clone(), index.range(l.span.range())),
            message: l.message.clone(),
        })
        .collect();
    lsp_types::Diagnostic {
        range: index.range(d.primary.span.range()),
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(d.code.as_str().to_owned())),
        code_description: None,
        source: Some("wafl".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        // Unused declarations are drawn faded rather than underlined.
        tags: (d.code == diag::codes::UNUSED).then(|| vec![DiagnosticTag::UNNECESSARY]),
        data: None,
    }
}
