//! The replay of many conversations, summed up: how many are identical, how many part
//! and how, per stage and per candidate handler (with where the handler is written), and
//! the divergent conversations side by side. Text for people, JSON for CI.

use super::compare::Class;
use super::drive::{Conversation, TurnPair, Verdict};
use crate::compile::{HandlerKey, Program};
use crate::syntax::source::SourceFile;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Width of one side of the side-by-side rendering, in characters.
const SIDE: usize = 46;

/// Counts by class of divergence.
pub type ByClass = BTreeMap<Class, usize>;

/// One stage: turns the candidate handled in it, and where conversations parted there.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StageRow {
    pub stage: String,
    pub turns: usize,
    pub identical: usize,
    pub diverged: ByClass,
}

/// One handler of the candidate (or of the live bot, when the candidate lacks it).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HandlerRow {
    pub handler: HandlerKey,
    /// `file:line` of the handler in the candidate; `None` when the candidate has no
    /// handler with this key.
    pub location: Option<String>,
    pub turns: usize,
    pub diverged: ByClass,
}

/// The numbers of a replay.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub conversations: usize,
    pub skipped: usize,
    pub identical: usize,
    pub diverged: usize,
    /// Diverged conversations out of those replayed, in percent.
    pub divergence_pct: f64,
    pub by_class: ByClass,
    pub stages: Vec<StageRow>,
    pub handlers: Vec<HandlerRow>,
}

/// A replay of many conversations against one candidate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The candidate's file name, for messages.
    pub candidate: String,
    pub summary: Summary,
    /// Every conversation; rendering shows the divergent ones.
    #[serde(skip)]
    pub conversations: Vec<Conversation>,
}

impl Report {
    /// Sums up replayed conversations. `source` is the candidate's text, for the lines
    /// handlers are written on.
    pub fn new(
        candidate: &Program,
        source: Option<&SourceFile>,
        conversations: Vec<Conversation>,
    ) -> Report {
        let mut by_class = ByClass::new();
        let mut stages: BTreeMap<String, StageRow> = BTreeMap::new();
        let mut handlers: BTreeMap<HandlerKey, HandlerRow> = BTreeMap::new();
        let location = |key: &HandlerKey| -> Option<String> {
            let (_, h) = candidate.handler_by_key(key)?;
            let file = source?;
            let (line, _) = file.line_col(h.span.start as usize);
            Some(format!("{}:{line}", file.name))
        };
        let mut skipped = 0;
        for c in &conversations {
            match &c.verdict {
                Verdict::Skipped { .. } => {
                    skipped += 1;
                    continue;
                }
                Verdict::Identical => *by_class.entry(Class::Identical).or_default() += 1,
                Verdict::Diverged(d) => *by_class.entry(d.class).or_default() += 1,
            }
            for p in &c.pairs {
                let row = stages.entry(p.stage.clone()).or_insert_with(|| StageRow {
                    stage: p.stage.clone(),
                    turns: 0,
                    identical: 0,
                    diverged: ByClass::new(),
                });
                row.turns += 1;
                if p.class == Class::Identical {
                    row.identical += 1;
                } else {
                    *row.diverged.entry(p.class).or_default() += 1;
                }
                for h in &p.handlers {
                    handlers
                        .entry(h.clone())
                        .or_insert_with(|| HandlerRow {
                            handler: h.clone(),
                            location: location(h),
                            turns: 0,
                            diverged: ByClass::new(),
                        })
                        .turns += 1;
                }
            }
            if let Verdict::Diverged(d) = &c.verdict
                && let Some(h) = &d.handler
            {
                *handlers
                    .entry(h.clone())
                    .or_insert_with(|| HandlerRow {
                        handler: h.clone(),
                        location: location(h),
                        turns: 0,
                        diverged: ByClass::new(),
                    })
                    .diverged
                    .entry(d.class)
                    .or_default() += 1;
            }
        }
        let identical = by_class.get(&Class::Identical).copied().unwrap_or(0);
        let replayed = conversations.len() - skipped;
        let diverged = replayed - identical;
        let divergence_pct = if replayed == 0 {
            0.0
        } else {
            diverged as f64 * 100.0 / replayed as f64
        };
        let mut handlers: Vec<HandlerRow> = handlers.into_values().collect();
        // Where most conversations part comes first.
        handlers.sort_by(|a, b| {
            let d = |r: &HandlerRow| r.diverged.values().sum::<usize>();
            d(b).cmp(&d(a)).then_with(|| a.handler.cmp(&b.handler))
        });
        Report {
            candidate: source.map_or_else(|| candidate.name.clone(), |s| s.name.clone()),
            summary: Summary {
                conversations: conversations.len(),
                skipped,
                identical,
                diverged,
                divergence_pct,
                by_class,
                stages: stages.into_values().collect(),
                handlers,
            },
            conversations,
        }
    }

    /// Whether more conversations diverged than `max_pct` percent allows (`--max-divergence`).
    pub fn exceeds(&self, max_pct: f64) -> bool {
        self.summary.divergence_pct > max_pct
    }

    /// The summary and the divergent conversations, as JSON for CI.
    pub fn to_json(&self) -> serde_json::Value {
        let divergent: Vec<&Conversation> = self
            .conversations
            .iter()
            .filter(|c| matches!(c.verdict, Verdict::Diverged(_)))
            .collect();
        serde_json::json!({
            "candidate": self.candidate,
            "summary": self.summary,
            "divergent": divergent,
        })
    }

    /// The report for people: totals, stages, handlers, then each divergent conversation
    /// side by side up to where it parts.
    pub fn render(&self) -> String {
        let s = &self.summary;
        let mut out = String::new();
        let replayed = s.conversations - s.skipped;
        let _ = writeln!(
            out,
            "replayed {replayed} conversation(s) against `{}`: {} identical, {} diverged ({:.1}%)",
            self.candidate, s.identical, s.diverged, s.divergence_pct
        );
        for class in Class::DIVERGENT {
            let n = s.by_class.get(&class).copied().unwrap_or(0);
            let _ = writeln!(out, "  {:<28}{n}", class.label());
        }
        if s.skipped > 0 {
            let _ = writeln!(out, "  {:<28}{}", "skipped", s.skipped);
        }
        if !s.stages.is_empty() {
            out.push_str("\nby stage\n");
            for r in &s.stages {
                let _ = writeln!(
                    out,
                    "  {:<20} {:>5} turn(s), {:>5} identical{}",
                    if r.stage.is_empty() {
                        "(no card)"
                    } else {
                        &r.stage
                    },
                    r.turns,
                    r.identical,
                    classes(&r.diverged)
                );
            }
        }
        if !s.handlers.is_empty() {
            out.push_str("\nby handler\n");
            for r in &s.handlers {
                let _ = writeln!(
                    out,
                    "  {:<24} {}: {} turn(s){}",
                    r.location.as_deref().unwrap_or("(not in the candidate)"),
                    r.handler,
                    r.turns,
                    classes(&r.diverged)
                );
            }
        }
        let divergent: Vec<&Conversation> = self
            .conversations
            .iter()
            .filter(|c| matches!(c.verdict, Verdict::Diverged(_)))
            .collect();
        if !divergent.is_empty() {
            out.push_str("\ndivergent conversations\n");
        }
        for c in divergent {
            self.conversation(c, &mut out);
        }
        out
    }

    fn conversation(&self, c: &Conversation, out: &mut String) {
        let Verdict::Diverged(d) = &c.verdict else {
            return;
        };
        let _ = writeln!(
            out,
            "\n--- {} · turn {} of {} · {} · {}",
            c.contact,
            d.turn + 1,
            c.turns,
            d.at,
            d.class.label()
        );
        let place = match (
            &d.handler,
            d.handler.as_ref().and_then(|h| self.location(h)),
        ) {
            (Some(h), Some(loc)) => format!("{loc}, {h}"),
            (Some(h), None) => format!("{h} (not in the candidate)"),
            (None, _) => format!("stage `{}`", d.stage),
        };
        let _ = writeln!(out, "    at {place}");
        let _ = writeln!(out, "    {}", d.detail);
        let _ = writeln!(out, "    {:<SIDE$} | candidate", "live bot");
        for (i, p) in c.pairs.iter().enumerate() {
            side_by_side(i, p, out);
        }
    }

    fn location(&self, h: &HandlerKey) -> Option<String> {
        self.summary
            .handlers
            .iter()
            .find(|r| &r.handler == h)
            .and_then(|r| r.location.clone())
    }
}

/// `, 2 diverged (1 same route, other wording, 1 candidate error)` or nothing.
fn classes(by: &ByClass) -> String {
    let total: usize = by.values().sum();
    if total == 0 {
        return String::new();
    }
    let parts: Vec<String> = by
        .iter()
        .map(|(c, n)| format!("{n} {}", c.label()))
        .collect();
    format!(", {total} diverged ({})", parts.join(", "))
}

fn side_by_side(i: usize, p: &TurnPair, out: &mut String) {
    let _ = writeln!(out, "  {:>3} {}", i + 1, clip(&p.input, SIDE * 2));
    let rows = p.recorded.len().max(p.candidate.len());
    for r in 0..rows {
        let left = p.recorded.get(r).map(|o| o.to_string()).unwrap_or_default();
        let right = p
            .candidate
            .get(r)
            .map(|o| o.to_string())
            .unwrap_or_default();
        let mark = if super::compare::differs_at(&p.recorded, &p.candidate, r) {
            '!'
        } else {
            ' '
        };
        let _ = writeln!(
            out,
            "  {mark} {:<SIDE$} | {}",
            clip(&left, SIDE),
            clip(&right, SIDE)
        );
    }
}

/// A line cut to `width` characters, `…` marking the cut.
fn clip(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}
