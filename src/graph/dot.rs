//! The stage graph as Graphviz DOT: `dot -Tsvg` draws it.

use super::{Graph, Origin, Target};
use std::fmt::Write;

/// DOT text of a stage graph. The start stage is drawn bold behind an entry point,
/// closing stages with a double border, unreachable stages dashed and grey, dead-end
/// stages red; the marks are also written in the labels so they survive without colour.
pub fn render(g: &Graph) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", quote(&g.title));
    out.push_str("  rankdir=LR;\n");
    out.push_str("  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n");
    out.push_str("  edge [fontname=\"Helvetica\", fontsize=10];\n");
    if let Some(start) = &g.start {
        out.push_str(
            "  \"start:\" [shape=circle, style=filled, fillcolor=black, label=\"\", width=0.2];\n",
        );
        let _ = writeln!(out, "  \"start:\" -> {};", quote(start));
    }
    if g.has_anywhere() {
        out.push_str("  \"anywhere:\" [shape=note, label=\"anywhere\\n(every stage)\"];\n");
    }
    if g.reaches(&Target::Closed) {
        out.push_str("  \"closed:\" [shape=doublecircle, label=\"closed\"];\n");
    }
    if g.reaches(&Target::Handoff) {
        out.push_str("  \"handoff:\" [shape=doubleoctagon, label=\"handoff\"];\n");
    }
    for s in &g.stages {
        let mut attrs = Vec::new();
        let mut marks = Vec::new();
        let mut style = vec!["rounded"];
        if g.start.as_deref() == Some(s.name.as_str()) {
            attrs.push("penwidth=2".to_string());
            marks.push("start");
        }
        if s.closing {
            attrs.push("peripheries=2".to_string());
        }
        if s.unreachable {
            style.push("dashed");
            attrs.push("color=gray50, fontcolor=gray50".to_string());
            marks.push("unreachable");
        }
        if s.dead_end {
            attrs.push("color=red, fontcolor=red".to_string());
            marks.push("dead end");
        }
        let label = if marks.is_empty() {
            s.name.clone()
        } else {
            format!("{}\n({})", s.name, marks.join(", "))
        };
        attrs.insert(0, format!("label={}", quote(&label)));
        attrs.push(format!("style={}", quote(&style.join(","))));
        let _ = writeln!(out, "  {} [{}];", quote(&s.name), attrs.join(", "));
    }
    for e in &g.edges {
        let from = match &e.from {
            Origin::Stage(s) => quote(s),
            Origin::Anywhere => quote("anywhere:"),
        };
        let mut attrs = vec![format!("label={}", quote(&e.labels.join("\n")))];
        let dim = match &e.from {
            Origin::Stage(s) => g.stage(s).is_some_and(|st| st.unreachable),
            Origin::Anywhere => false,
        };
        if e.from == Origin::Anywhere || dim {
            attrs.push("style=dashed".to_string());
        }
        if dim {
            attrs.push("color=gray50, fontcolor=gray50".to_string());
        }
        let _ = writeln!(
            out,
            "  {} -> {} [{}];",
            from,
            target(&e.to),
            attrs.join(", ")
        );
    }
    out.push_str("}\n");
    out
}

fn target(to: &Target) -> String {
    match to {
        Target::Stage(s) => quote(s),
        Target::Closed => quote("closed:"),
        Target::Handoff => quote("handoff:"),
    }
}

/// A DOT double-quoted string. Node names of the pseudo-nodes end in `:`, which no stage
/// name contains, so they never collide with a stage.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
