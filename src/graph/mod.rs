//! The stages of a script as a graph: which trigger moves a card from one stage to
//! another, which stages no path reaches, and which can never end in a close or a
//! handoff. Rendered as Graphviz DOT ([`dot`]) or Mermaid ([`mermaid`]) text; running
//! Graphviz is the CLI's business. Pure: values in, text out.

pub mod dot;
pub mod mermaid;

use crate::check::Symbols;
use crate::check::walk;
use crate::syntax::ast::{self, ActionKind, Handler, Item, TriggerKind};
use std::collections::{BTreeSet, VecDeque};

/// Longest edge label, in characters; longer guards are cut with `…`.
const LABEL_MAX: usize = 60;

/// The stage graph of one script.
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    /// The flow's name, or `flow` when the header is missing.
    pub title: String,
    /// The start stage, if the script has any stage.
    pub start: Option<String>,
    pub stages: Vec<Stage>,
    pub edges: Vec<Edge>,
}

/// One stage and what the analysis found about it.
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    pub name: String,
    /// No path from the start stage reaches it.
    pub unreachable: bool,
    /// No path from it leads to a close or a handoff.
    pub dead_end: bool,
    /// One of its handlers closes the card or hands it off.
    pub closing: bool,
}

/// Where an edge starts: a stage, or the `anywhere` block every stage inherits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    Stage(String),
    Anywhere,
}

/// Where an edge ends.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    Stage(String),
    /// `close`
    Closed,
    /// `handoff`
    Handoff,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Edge {
    pub from: Origin,
    pub to: Target,
    /// The triggers that take this edge, in source order: `keyword "fatura"`,
    /// `after 10m silence`...
    pub labels: Vec<String>,
}

impl Graph {
    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.name == name)
    }

    /// Whether any edge leads to this target.
    pub fn reaches(&self, to: &Target) -> bool {
        self.edges.iter().any(|e| &e.to == to)
    }

    pub fn has_anywhere(&self) -> bool {
        self.edges.iter().any(|e| e.from == Origin::Anywhere)
    }
}

/// Builds the graph of a parsed and checked script. `src` is the script's text, used to
/// show `when` guards as written.
pub fn build(file: &ast::File, syms: &Symbols, src: &str) -> Graph {
    let title = file
        .items
        .iter()
        .find_map(|i| match i {
            Item::Flow(f) => Some(f.name.value.clone()),
            _ => None,
        })
        .unwrap_or_else(|| "flow".to_string());
    let mut edges: Vec<Edge> = Vec::new();
    for (owner, handler) in walk::handlers(file) {
        let from = match owner {
            // Like the checker, only the first declaration of a stage name counts; a
            // duplicate is reported as E0202 and draws nothing.
            walk::Owner::Stage(s)
                if syms.stages.get(&s.name.name).map(|d| d.1) != Some(s.name.span) =>
            {
                continue;
            }
            walk::Owner::Stage(s) => Origin::Stage(s.name.name.clone()),
            walk::Owner::Anywhere(_) => Origin::Anywhere,
        };
        let label = trigger_label(handler, src);
        walk::each_action(&handler.body, &mut |action| {
            let to = match &action.kind {
                ActionKind::Goto(target) if syms.stages.contains_key(&target.name) => {
                    Target::Stage(target.name.clone())
                }
                ActionKind::Close(_) => Target::Closed,
                ActionKind::Handoff(_) => Target::Handoff,
                _ => return,
            };
            // One edge per pair of ends, listing every trigger that takes it.
            match edges.iter_mut().find(|e| e.from == from && e.to == to) {
                Some(edge) => {
                    if !edge.labels.contains(&label) {
                        edge.labels.push(label.clone());
                    }
                }
                None => edges.push(Edge {
                    from: from.clone(),
                    to,
                    labels: vec![label.clone()],
                }),
            }
        });
    }
    let start = syms.start_stage(file).map(str::to_string);
    let names: Vec<String> = syms.stage_order.clone();
    let reachable = reachable_from(start.as_deref(), &edges);
    let ending = can_end(&names, &edges);
    let stages = names
        .iter()
        .map(|name| Stage {
            name: name.clone(),
            unreachable: !reachable.contains(name.as_str()),
            dead_end: !ending.contains(name.as_str()),
            closing: edges.iter().any(|e| {
                e.from == Origin::Stage(name.clone())
                    && matches!(e.to, Target::Closed | Target::Handoff)
            }),
        })
        .collect();
    Graph {
        title,
        start,
        stages,
        edges,
    }
}

/// The stages an edge from `from` leads to; `anywhere` edges leave every stage.
fn successors<'a>(from: &str, edges: &'a [Edge]) -> impl Iterator<Item = &'a Target> {
    edges.iter().filter_map(move |e| match &e.from {
        Origin::Stage(s) if s == from => Some(&e.to),
        Origin::Anywhere => Some(&e.to),
        Origin::Stage(_) => None,
    })
}

fn reachable_from<'a>(start: Option<&'a str>, edges: &'a [Edge]) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    let mut queue: VecDeque<&str> = start.into_iter().collect();
    while let Some(stage) = queue.pop_front() {
        if !seen.insert(stage) {
            continue;
        }
        for to in successors(stage, edges) {
            if let Target::Stage(next) = to {
                queue.push_back(next.as_str());
            }
        }
    }
    seen
}

/// The stages from which some path ends in a close or a handoff (a fixed point: a stage
/// can end if one of its successors is an end or a stage that can end).
fn can_end<'a>(names: &'a [String], edges: &[Edge]) -> BTreeSet<&'a str> {
    let mut ending: BTreeSet<&str> = BTreeSet::new();
    loop {
        let before = ending.len();
        for name in names {
            if ending.contains(name.as_str()) {
                continue;
            }
            let ends = successors(name, edges).any(|to| match to {
                Target::Closed | Target::Handoff => true,
                Target::Stage(next) => ending.contains(next.as_str()),
            });
            if ends {
                ending.insert(name.as_str());
            }
        }
        if ending.len() == before {
            return ending;
        }
    }
}

/// How a trigger reads on an edge.
pub fn trigger_label(handler: &Handler, src: &str) -> String {
    let quoted = |texts: &[ast::Text]| -> String {
        texts
            .iter()
            .map(|t| format!("\"{}\"", t.value))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let base = match &handler.trigger.kind {
        TriggerKind::Enter => "on enter".to_string(),
        TriggerKind::Message => "message".to_string(),
        TriggerKind::Keyword(words) => format!("keyword {}", quoted(words)),
        TriggerKind::Regex(re) => format!("regex /{}/", re.source),
        TriggerKind::Button(titles) => format!("button {}", quoted(titles)),
        TriggerKind::Choice(rows) => format!("choice {}", quoted(rows)),
        TriggerKind::Media(kind) => kind.as_str().to_string(),
        TriggerKind::FormSubmitted(form) => format!("form {} submitted", form.name),
        TriggerKind::Intent(ids) => format!(
            "intent {}",
            ids.iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        TriggerKind::Event { name, .. } => format!("event {}", name.name),
        TriggerKind::When => String::from("when"),
        TriggerKind::Silence(d) => format!("after {} silence", duration(d.seconds)),
        TriggerKind::InStage(d) => format!("after {} in stage", duration(d.seconds)),
        TriggerKind::Otherwise => "otherwise".to_string(),
    };
    let label = match &handler.guard {
        Some(guard) => {
            let text = source_text(src, guard.span);
            if base == "when" {
                format!("when {text}")
            } else {
                format!("{base} when {text}")
            }
        }
        None => base,
    };
    shorten(&label)
}

/// The source of a span with whitespace runs folded to one space; `…` when the span
/// does not lie in the text.
fn source_text(src: &str, span: crate::syntax::span::Span) -> String {
    match src.get(span.range()) {
        Some(text) => text.split_whitespace().collect::<Vec<_>>().join(" "),
        None => "…".to_string(),
    }
}

fn shorten(label: &str) -> String {
    if label.chars().count() <= LABEL_MAX {
        return label.to_string();
    }
    let mut out: String = label.chars().take(LABEL_MAX.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `5400` → `1h30m`: a duration as the language writes it.
pub fn duration(seconds: u64) -> String {
    if seconds == 0 {
        return "0s".to_string();
    }
    let mut left = seconds;
    let mut out = String::new();
    for (unit, size) in [
        ("w", 604_800),
        ("d", 86_400),
        ("h", 3_600),
        ("m", 60),
        ("s", 1),
    ] {
        let n = left / size;
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
            left %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests;
