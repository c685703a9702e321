//! The stage graph as a Mermaid flowchart, for Markdown pages that render it.

use super::{Graph, Origin, Target};
use std::fmt::Write;

/// Mermaid text of a stage graph, with the same marks as the DOT output: the start stage
/// behind an entry point, closing stages thick, unreachable stages dashed, dead-end
/// stages red, each mark also written in the label.
pub fn render(g: &Graph) -> String {
    let mut out = String::new();
    let title = g
        .title
        .replace(['\n', '\r'], " ")
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    let _ = writeln!(out, "---\ntitle: \"{title}\"\n---");
    out.push_str("flowchart LR\n");
    if let Some(start) = &g.start {
        out.push_str("  start_((\"start\"))\n");
        let _ = writeln!(out, "  start_ --> {}", id(start));
    }
    if g.has_anywhere() {
        out.push_str("  anywhere_[/\"anywhere (every stage)\"/]\n");
    }
    if g.reaches(&Target::Closed) {
        out.push_str("  closed_(((\"closed\")))\n");
    }
    if g.reaches(&Target::Handoff) {
        out.push_str("  handoff_{{\"handoff\"}}\n");
    }
    let mut classes: Vec<(&str, String)> = Vec::new();
    for s in &g.stages {
        let mut marks = Vec::new();
        if g.start.as_deref() == Some(s.name.as_str()) {
            marks.push("start");
        }
        if s.unreachable {
            marks.push("unreachable");
            classes.push(("unreachable", id(&s.name)));
        }
        if s.dead_end {
            marks.push("dead end");
            classes.push(("deadend", id(&s.name)));
        }
        if s.closing {
            classes.push(("closing", id(&s.name)));
        }
        let label = if marks.is_empty() {
            s.name.clone()
        } else {
            format!("{}<br/>({})", escape(&s.name), marks.join(", "))
        };
        let _ = writeln!(out, "  {}(\"{}\")", id(&s.name), label);
    }
    for e in &g.edges {
        let from = match &e.from {
            Origin::Stage(s) => id(s),
            Origin::Anywhere => "anywhere_".to_string(),
        };
        let to = match &e.to {
            Target::Stage(s) => id(s),
            Target::Closed => "closed_".to_string(),
            Target::Handoff => "handoff_".to_string(),
        };
        let dim = match &e.from {
            Origin::Stage(s) => g.stage(s).is_some_and(|st| st.unreachable),
            Origin::Anywhere => true,
        };
        let arrow = if dim { "-.->" } else { "-->" };
        let label: Vec<String> = e.labels.iter().map(|l| escape(l)).collect();
        let _ = writeln!(out, "  {from} {arrow}|\"{}\"| {to}", label.join("<br/>"));
    }
    out.push_str("  classDef unreachable stroke-dasharray: 5 5, color:#888;\n");
    out.push_str("  classDef deadend stroke:#c00, color:#c00;\n");
    out.push_str("  classDef closing stroke-width:3px;\n");
    for (class, node) in classes {
        let _ = writeln!(out, "  class {node} {class}");
    }
    out
}

/// The node id of a stage: prefixed so a stage called `end` (a Mermaid keyword) or
/// `start_` cannot clash with the syntax or the pseudo-nodes.
fn id(stage: &str) -> String {
    format!("s_{stage}")
}

/// Text inside a Mermaid quoted label: quotes, angle brackets, `#` (which starts an
/// entity code) and `|` (which ends an edge label) as entity codes.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '|' => out.push_str("#124;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}
