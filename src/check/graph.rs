//! The stage graph shared by the flow-level passes: which stage a `goto` leads to, from
//! where, and the handlers each stage answers with.
//!
//! Only the first declaration of a stage name counts (a duplicate is reported by the
//! symbol table), and a `goto` to a name that is not a stage is left out: unknown names
//! are reported by the names pass, so the flow passes stay quiet about them.

use super::Symbols;
use super::walk;
use crate::syntax::ast::{self, ActionKind, Block, Handler, Item};
use crate::syntax::span::Span;
use std::collections::HashMap;

/// Where a `goto` starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum From {
    /// A handler of the stage with this index.
    Stage(usize),
    /// An `anywhere` handler: the edge leaves every stage.
    Anywhere,
}

/// One `goto` that resolves to a stage.
#[derive(Clone, Copy, Debug)]
pub struct Edge {
    pub from: From,
    pub to: usize,
    /// The whole `goto` action.
    pub span: Span,
}

/// Stages, their handlers and the `goto` edges between them.
#[derive(Debug)]
pub struct Graph<'a> {
    /// Stages in source order, first declaration of each name only.
    pub stages: Vec<&'a ast::StageDecl>,
    pub index: HashMap<&'a str, usize>,
    /// Handlers of every `anywhere` block, in source order.
    pub anywhere: Vec<&'a Handler>,
    /// Every resolved `goto`, in source order.
    pub edges: Vec<Edge>,
    /// Indices into `edges` leaving each stage (its own handlers only).
    pub out: Vec<Vec<usize>>,
    /// Indices into `edges` entering each stage, `anywhere` edges included.
    pub into: Vec<Vec<usize>>,
    pub start: Option<usize>,
}

impl<'a> Graph<'a> {
    pub fn build(file: &'a ast::File, syms: &Symbols) -> Graph<'a> {
        let mut stages = Vec::new();
        let mut index = HashMap::new();
        for (i, item) in file.items.iter().enumerate() {
            if let Item::Stage(s) = item
                && syms
                    .stages
                    .get(&s.name.name)
                    .is_some_and(|(at, _)| *at == i)
            {
                index.insert(s.name.name.as_str(), stages.len());
                stages.push(s);
            }
        }
        let anywhere: Vec<&Handler> = walk::anywhere_handlers(file).collect();
        let mut g = Graph {
            out: vec![Vec::new(); stages.len()],
            into: vec![Vec::new(); stages.len()],
            start: syms.start_stage(file).and_then(|n| index.get(n).copied()),
            stages,
            index,
            anywhere,
            edges: Vec::new(),
        };
        for si in 0..g.stages.len() {
            let stage = g.stages[si];
            for h in &stage.handlers {
                g.add_edges(From::Stage(si), &h.body);
            }
        }
        for h in g.anywhere.clone() {
            g.add_edges(From::Anywhere, &h.body);
        }
        g
    }

    fn add_edges(&mut self, from: From, block: &Block) {
        walk::each_action(block, &mut |a| {
            if let ActionKind::Goto(target) = &a.kind
                && let Some(&to) = self.index.get(target.name.as_str())
            {
                let e = self.edges.len();
                self.edges.push(Edge {
                    from,
                    to,
                    span: a.span,
                });
                if let From::Stage(s) = from
                    && let Some(out) = self.out.get_mut(s)
                {
                    out.push(e);
                }
                if let Some(into) = self.into.get_mut(to) {
                    into.push(e);
                }
            }
        });
    }

    /// The stage a name resolves to.
    pub fn stage(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// Stages reachable from the start stage by `goto`, as a mask by stage index.
    pub fn reachable(&self) -> Vec<bool> {
        let n = self.stages.len();
        let mut seen = vec![false; n];
        let Some(start) = self.start else {
            return seen;
        };
        let anywhere_targets: Vec<usize> = self
            .edges
            .iter()
            .filter(|e| e.from == From::Anywhere)
            .map(|e| e.to)
            .collect();
        let mut stack = vec![start];
        seen[start] = true;
        // `anywhere` edges leave every stage, so they are followed once, from the start.
        for &t in &anywhere_targets {
            if !seen[t] {
                seen[t] = true;
                stack.push(t);
            }
        }
        while let Some(s) = stack.pop() {
            for &e in self.out.get(s).map(Vec::as_slice).unwrap_or(&[]) {
                if let Some(edge) = self.edges.get(e)
                    && !seen[edge.to]
                {
                    seen[edge.to] = true;
                    stack.push(edge.to);
                }
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::syntax::ast::TriggerKind as T;

    #[test]
    fn edges_resolve_first_declarations_and_skip_unknown_names() {
        let f = file(vec![
            flow(),
            stage(
                "a",
                vec![on(T::Otherwise, vec![goto("b"), goto("nowhere")])],
            ),
            stage("b", vec![on(T::Otherwise, vec![goto("a")])]),
            stage("a", vec![on(T::Otherwise, vec![goto("b")])]),
            anywhere(vec![on(
                T::Message,
                vec![if_(path("x"), vec![goto("b")], None)],
            )]),
        ]);
        let mut sink = Vec::new();
        let syms = super::super::symbols::collect(&f, &mut sink);
        let g = Graph::build(&f, &syms);
        assert_eq!(g.stages.len(), 2);
        let edges: Vec<(From, usize)> = g.edges.iter().map(|e| (e.from, e.to)).collect();
        assert_eq!(
            edges,
            vec![
                (From::Stage(0), 1),
                (From::Stage(1), 0),
                (From::Anywhere, 1)
            ]
        );
        assert_eq!(g.into[1].len(), 2);
        assert_eq!(g.reachable(), vec![true, true]);
    }

    /// A long chain with loops back to the start runs every flow pass without trouble:
    /// the analyses visit each stage a bounded number of times.
    #[test]
    fn long_chains_stay_cheap() {
        let n = 3000;
        let mut items = vec![flow(), field("order"), field("email")];
        for i in 0..n {
            let next = format!("s{}", (i + 1) % n);
            items.push(stage(
                &format!("s{i}"),
                vec![
                    on(T::Enter, vec![reply(text("hi"))]),
                    on(keywords(&["order"]), vec![ask("order", None), goto(&next)]),
                    on(
                        keywords(&["mail"]),
                        vec![if_(
                            is_set("order", false),
                            vec![reply(text_with("order"))],
                            None,
                        )],
                    ),
                    on(T::Otherwise, vec![ask("email", None), goto(&next)]),
                ],
            ));
        }
        items.push(anywhere(vec![on(keywords(&["bye"]), vec![close()])]));
        let f = file(items);
        let checked = super::super::check(&f);
        assert!(
            checked.diagnostics.is_empty(),
            "{:?}",
            checked.diagnostics.first()
        );
    }
}
