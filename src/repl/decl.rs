//! Rule experimentation at the prompt: declarations typed as input (checked against the
//! script, applied only without errors) and expressions evaluated against a card.

use crate::check::{self, Symbols};
use crate::diag::{self, Diagnostic, codes, render};
use crate::syntax::ast::{self, Item};
use crate::syntax::source::SourceMap;
use crate::syntax::span::FileId;

/// The name that identifies a declaration for replacement: kind and name. `flow` and
/// `anywhere` occur once, so any new one replaces the old.
pub fn key(item: &Item) -> (&'static str, String) {
    match item {
        Item::Flow(_) => ("flow", String::new()),
        Item::Hours(d) => ("hours", d.name.name.clone()),
        Item::Team(d) => ("team", d.name.name.clone()),
        Item::Field(d) => ("field", d.name.name.clone()),
        Item::Template(d) => ("template", d.name.name.clone()),
        Item::Webhook(d) => ("webhook", d.name.name.clone()),
        Item::Form(d) => ("form", d.name.name.clone()),
        Item::Intent(d) => ("intent", d.name.name.clone()),
        Item::Knowledge(d) => ("knowledge", d.name.name.clone()),
        Item::Ai(d) => ("ai", d.name.name.clone()),
        Item::Event(d) => ("event", d.name.name.clone()),
        Item::Stage(d) => ("stage", d.name.name.clone()),
        Item::Anywhere(_) => ("anywhere", String::new()),
        Item::Migrate(_) => ("migrate", String::new()),
        Item::Test(d) => ("test", d.name.value.clone()),
        Item::Sla(d) => ("sla", d.name.name.clone()),
    }
}

/// `stage `triage``, `the flow header`: a declaration as messages name it.
pub fn describe(item: &Item) -> String {
    match key(item) {
        ("flow", _) => "the flow header".into(),
        ("anywhere", _) => "the `anywhere` block".into(),
        ("migrate", _) => "the `migrate` block".into(),
        ("test", name) => format!("test {name:?}"),
        (kind, name) => format!("{kind} `{name}`"),
    }
}

/// What defining a declaration did.
#[derive(Debug)]
pub struct Defined {
    /// The whole file with the declaration in place, when it checked without errors.
    pub applied: Option<(ast::File, Symbols, Vec<Diagnostic>)>,
    /// The report to print: new diagnostics, then what happened.
    pub report: String,
}

/// Parses `text` (already added to `sources` as `id`), puts its declarations into `base`
/// (same kind and name replaces, in place), and checks the result. Diagnostics that
/// `baseline` already had are not shown again. The result is applied when it brings no
/// error the script did not already have.
pub fn define(
    sources: &SourceMap,
    id: FileId,
    text: &str,
    base: &ast::File,
    baseline: &[Diagnostic],
) -> Defined {
    let parsed = crate::syntax::parse(id, text);
    if parsed.diagnostics.iter().any(Diagnostic::is_error) || parsed.file.items.is_empty() {
        let mut report = render::to_string(sources, &parsed.diagnostics);
        if parsed.diagnostics.is_empty() {
            report.push_str("error: nothing to define\n");
        }
        report.push_str("not applied: the declaration does not parse\n");
        return Defined {
            applied: None,
            report,
        };
    }
    let mut file = base.clone();
    let mut done = Vec::new();
    for item in parsed.file.items {
        let k = key(&item);
        let what = describe(&item);
        match file.items.iter().position(|i| key(i) == k) {
            Some(at) => {
                if let Some(slot) = file.items.get_mut(at) {
                    *slot = item;
                }
                done.push(format!("replaced {what}"));
            }
            None => {
                file.items.push(item);
                done.push(format!("defined {what}"));
            }
        }
    }
    let checked = check::check(&file);
    let mut fresh: Vec<Diagnostic> = parsed.diagnostics;
    fresh.extend(
        checked
            .diagnostics
            .iter()
            .filter(|d| d.primary.span.file == id || !baseline.contains(d))
            .cloned(),
    );
    diag::sort(&mut fresh);
    let mut report = render::to_string(sources, &fresh);
    // Errors the script already had (an empty script has no flow header and no stage)
    // do not block a declaration; only the ones it brings do.
    // A script built up at the prompt lacks its header or its stages for a while.
    let unfinished = !base.items.iter().any(|i| matches!(i, Item::Flow(_)))
        || !base.items.iter().any(|i| matches!(i, Item::Stage(_)));
    let known = |d: &Diagnostic| {
        baseline
            .iter()
            .any(|b| b.is_error() && b.code == d.code && b.message == d.message)
            || (unfinished && [codes::FLOW_HEADER, codes::NO_STAGES].contains(&d.code))
    };
    if fresh.iter().any(|d| d.is_error() && !known(d)) {
        report.push_str("not applied: fix the errors above and type it again\n");
        return Defined {
            applied: None,
            report,
        };
    }
    for d in done {
        report.push_str(&d);
        report.push('\n');
    }
    Defined {
        applied: Some((file, checked.symbols, checked.diagnostics)),
        report,
    }
}

/// The prefix that turns an expression into a parsable declaration; the expression
/// starts on the second line, so diagnostics point at a line holding only it.
const EXPR_HEAD: &str = "stage __eval { when\n";
const EXPR_TAIL: &str = "\n{ ignore } }\n";

/// The source text that wraps an expression for parsing.
pub fn expr_source(expr: &str) -> String {
    format!("{EXPR_HEAD}{expr}{EXPR_TAIL}")
}

/// Parses an expression from a source made by [`expr_source`]. On failure, the rendered
/// diagnostics.
pub fn parse_expr(sources: &SourceMap, id: FileId, src: &str) -> Result<ast::Expr, String> {
    let parsed = crate::syntax::parse(id, src);
    let guard = parsed.file.items.iter().find_map(|i| match i {
        Item::Stage(s) => s.handlers.first().and_then(|h| h.guard.clone()),
        _ => None,
    });
    let errors: Vec<Diagnostic> = parsed
        .diagnostics
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect();
    // Errors past the expression are about the wrapper: the expression ended too early.
    let expr_end = src.len().saturating_sub(EXPR_TAIL.len());
    let inside: Vec<Diagnostic> = errors
        .iter()
        .filter(|d| (d.primary.span.start as usize) < expr_end)
        .cloned()
        .collect();
    match guard {
        Some(e) if errors.is_empty() => Ok(e),
        _ if !inside.is_empty() => Err(render::to_string(sources, &inside)),
        _ => Err(format!(
            "error: `{}` is not a whole expression\n",
            src.get(EXPR_HEAD.len()..expr_end).unwrap_or("").trim()
        )),
    }
}

/// Names the expression reads that the script does not declare: single-word paths that
/// are neither fields nor the known roots.
pub fn unknown_names(expr: &ast::Expr, syms: &Symbols) -> Vec<String> {
    let mut out = Vec::new();
    check::walk::each_expr(expr, &mut |e| match &e.kind {
        ast::ExprKind::Path(ids) => {
            if let [id] = ids.as_slice()
                && !syms.fields.contains_key(&id.name)
                && !["contact", "card", "message"].contains(&id.name.as_str())
                && !out.contains(&id.name)
            {
                out.push(id.name.clone());
            }
        }
        ast::ExprKind::InHours { hours, .. } if !syms.hours.contains_key(&hours.name) => {
            out.push(hours.name.clone());
        }
        _ => {}
    });
    out
}
