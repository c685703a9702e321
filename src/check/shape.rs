//! Checker pass: the shape of the stage graph — every stage is reached, every stage can
//! lead to closure, and `on enter` handlers never pass a card around forever.
//!
//! The rules:
//! - A `goto T` anywhere inside a handler of stage `S` (nested `if`/`else`, `ask ... else`
//!   and `call ... else` included) is an edge `S → T`; a `goto T` in an `anywhere`
//!   handler is an edge from every stage. A card starts in the start stage (`start NAME`
//!   in the header, else the first stage declared).
//! - E0404: a script with declarations but no stage at all.
//! - E0401: a stage no path of edges from the start stage reaches.
//! - E0402: a stage from which no path leads to a stage that closes. A stage closes when
//!   one of its handlers, or any `anywhere` handler, contains `close` or `handoff` (an
//!   agent resolves a handed-off card).
//! - E0403: a cycle of unconditional `on enter` moves. A stage's first `on enter`
//!   handler, when it has no `when` guard, moves the card at once if a `goto` stands at
//!   the top level of its block (not inside an `if`, and not after an `ask` or `call`,
//!   which wait for an answer); a cycle of such moves loops without ever waiting for the
//!   customer. Each `goto` of the cycle is labelled.

use super::Cx;
use super::graph::{From, Graph};
use super::walk;
use crate::diag::{Diagnostic, codes};
use crate::syntax::ast::{ActionKind, Handler, Item, TriggerKind};
use crate::syntax::span::Span;

pub(crate) fn run(cx: &mut Cx) {
    let g = Graph::build(cx.file, cx.syms);
    if g.stages.is_empty() {
        no_stages(cx);
        return;
    }
    unreachable(cx, &g);
    no_way_to_close(cx, &g);
    enter_loops(cx, &g);
}

fn no_stages(cx: &mut Cx) {
    // An empty file is left alone: there is nothing yet to point at.
    let Some(first) = cx.file.items.first() else {
        return;
    };
    let at = cx
        .syms
        .flow
        .and_then(|i| cx.file.items.get(i))
        .map(Item::span)
        .unwrap_or_else(|| first.span());
    cx.report(
        Diagnostic::new(
            codes::NO_STAGES,
            "this script has no stage",
            at,
            "a card needs a stage to start in",
        )
        .with_note(
            "a card lives in one stage at a time; the first stage declared is where it starts",
        )
        .with_help("add a stage, e.g. `stage welcome { otherwise { reply \"Hello!\"; close } }`"),
    );
}

fn unreachable(cx: &mut Cx, g: &Graph) {
    let Some(start) = g.start.and_then(|s| g.stages.get(s)) else {
        return;
    };
    let start_name = start.name.name.clone();
    let reached = g.reachable();
    for (i, stage) in g.stages.iter().enumerate() {
        if reached.get(i).copied().unwrap_or(true) {
            continue;
        }
        let name = &stage.name.name;
        // A `goto` from another unreached stage explains why this one is unreached too.
        let from_unreached = g
            .into
            .get(i)
            .into_iter()
            .flatten()
            .filter_map(|&e| g.edges.get(e))
            .find(|e| matches!(e.from, From::Stage(s) if s != i));
        let mut d = Diagnostic::new(
            codes::UNREACHABLE_STAGE,
            format!("stage `{name}` is never reached"),
            stage.name.span,
            if from_unreached.is_some() {
                "only unreached stages lead here"
            } else {
                "no `goto` leads here"
            },
        );
        if let Some(e) = from_unreached
            && let From::Stage(s) = e.from
            && let Some(src) = g.stages.get(s)
        {
            d = d.with_secondary(
                e.span,
                format!(
                    "this `goto` is in `{}`, which is never reached either",
                    src.name.name
                ),
            );
        }
        cx.report(
            d.with_note(format!(
                "a card starts in `{start_name}` and moves only by `goto`"
            ))
            .with_help(format!(
                "add `goto {name}` in a stage that is reached, or remove the stage"
            )),
        );
    }
}

/// True when a handler contains `close` or `handoff`, at any depth.
fn closes(h: &Handler) -> bool {
    let mut found = false;
    walk::each_action(&h.body, &mut |a| {
        found |= matches!(a.kind, ActionKind::Close(_) | ActionKind::Handoff(_));
    });
    found
}

/// Which stages can lead to closure, by stage index.
pub(crate) fn can_close(g: &Graph) -> Vec<bool> {
    let n = g.stages.len();
    if g.anywhere.iter().any(|h| closes(h)) {
        return vec![true; n];
    }
    let mut ok: Vec<bool> = g
        .stages
        .iter()
        .map(|s| s.handlers.iter().any(closes))
        .collect();
    // Walk the edges backwards from the closing stages. An `anywhere` edge leaves every
    // stage, so a closing target of one makes every stage able to close.
    let mut stack: Vec<usize> = (0..n).filter(|&i| ok[i]).collect();
    while let Some(t) = stack.pop() {
        for &e in g.into.get(t).map(Vec::as_slice).unwrap_or(&[]) {
            let Some(edge) = g.edges.get(e) else { continue };
            match edge.from {
                From::Stage(s) => {
                    if !ok[s] {
                        ok[s] = true;
                        stack.push(s);
                    }
                }
                From::Anywhere => {
                    for (s, flag) in ok.iter_mut().enumerate() {
                        if !*flag {
                            *flag = true;
                            stack.push(s);
                        }
                    }
                }
            }
        }
    }
    ok
}

fn no_way_to_close(cx: &mut Cx, g: &Graph) {
    let ok = can_close(g);
    for (i, stage) in g.stages.iter().enumerate() {
        if ok.get(i).copied().unwrap_or(true) {
            continue;
        }
        let name = &stage.name.name;
        let mut d = Diagnostic::new(
            codes::NO_WAY_TO_CLOSE,
            format!("a card in stage `{name}` can never be closed"),
            stage.name.span,
            "no path from here reaches `close` or `handoff`",
        );
        let first_out = g
            .out
            .get(i)
            .into_iter()
            .flatten()
            .filter_map(|&e| g.edges.get(e))
            .find(|e| e.to != i);
        if let Some(e) = first_out
            && let Some(t) = g.stages.get(e.to)
        {
            d = d.with_secondary(
                e.span,
                format!("`{}` cannot reach closure either", t.name.name),
            );
        }
        cx.report(
            d.with_note(
                "every conversation must be able to end: a stage closes when it or an \
                 `anywhere` handler runs `close` or `handoff`, or when a `goto` leads to \
                 a stage that does",
            )
            .with_help(format!(
                "add `close` where the conversation in `{name}` is done, or a `goto` to a stage that closes"
            )),
        );
    }
}

/// The unconditional move of a stage's `on enter`: the first `goto` at the top level of
/// its first `on enter` handler, before any `ask` or `call`. A `when` guard on that
/// handler makes the move conditional, and a later `on enter` never runs.
fn enter_move(g: &Graph, stage: usize) -> Option<(usize, Span)> {
    let s = g.stages.get(stage)?;
    let h = s
        .handlers
        .iter()
        .find(|h| h.trigger.kind == TriggerKind::Enter)?;
    if h.guard.is_some() {
        return None;
    }
    for a in &h.body.actions {
        match &a.kind {
            ActionKind::Ask { .. } | ActionKind::Call { .. } => return None,
            // An unknown target ends the move silently (the names pass reports it).
            ActionKind::Goto(t) => return g.stage(&t.name).map(|to| (to, a.span)),
            _ => {}
        }
    }
    None
}

/// Cycles of unconditional `on enter` moves, each as the list of (stage, goto span) in
/// the order the card travels, starting at the stage declared first.
pub(crate) fn enter_cycles(g: &Graph) -> Vec<Vec<(usize, Span)>> {
    let n = g.stages.len();
    let next: Vec<Option<(usize, Span)>> = (0..n).map(|s| enter_move(g, s)).collect();
    // Each stage has at most one move, so the moves form a functional graph: follow each
    // path once, colouring stages by the walk that visited them.
    let mut walk_of: Vec<Option<usize>> = vec![None; n];
    let mut cycles = Vec::new();
    for begin in 0..n {
        if walk_of[begin].is_some() {
            continue;
        }
        let mut at = begin;
        loop {
            walk_of[at] = Some(begin);
            let Some((to, _)) = next[at] else { break };
            match walk_of[to] {
                None => at = to,
                Some(w) if w == begin => {
                    // Closed a cycle within this walk: it runs from `to` back to `to`.
                    let mut cycle = Vec::new();
                    let mut s = to;
                    while let Some((t, span)) = next[s] {
                        cycle.push((s, span));
                        s = t;
                        if s == to || cycle.len() > n {
                            break;
                        }
                    }
                    if let Some(first) = (0..cycle.len()).min_by_key(|&k| cycle[k].0) {
                        cycle.rotate_left(first);
                    }
                    cycles.push(cycle);
                    break;
                }
                Some(_) => break,
            }
        }
    }
    cycles
}

fn moves(from: &str, to: &str) -> String {
    if from == to {
        format!("entering `{from}` moves the card back into `{to}` at once")
    } else {
        format!("entering `{from}` moves the card to `{to}` at once")
    }
}

/// "a, b and c"
fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn enter_loops(cx: &mut Cx, g: &Graph) {
    for cycle in enter_cycles(g) {
        let name = |s: usize| {
            g.stages
                .get(s)
                .map(|st| st.name.name.as_str())
                .unwrap_or("?")
        };
        let Some(&(first, first_span)) = cycle.first() else {
            continue;
        };
        let target = |k: usize| cycle.get((k + 1) % cycle.len()).map_or(first, |c| c.0);
        let listed: Vec<String> = cycle
            .iter()
            .map(|(s, _)| format!("`{}`", name(*s)))
            .collect();
        let mut d = Diagnostic::new(
            codes::ENTER_LOOP,
            if cycle.len() == 1 {
                format!("stage `{}` enters itself forever", name(first))
            } else {
                format!("stages {} pass the card around forever", join_and(&listed))
            },
            first_span,
            moves(name(first), name(target(0))),
        );
        for (k, &(s, span)) in cycle.iter().enumerate().skip(1) {
            d = d.with_secondary(span, moves(name(s), name(target(k))));
        }
        cx.report(
            d.with_note(
                "an `on enter` handler runs as soon as the card enters the stage; a `goto` at \
                 its top level, before any `ask` or `call`, moves on without waiting for the \
                 customer",
            )
            .with_help(
                "wait for the customer somewhere in the loop: `ask` first, put the `goto` \
                 inside an `if`, or move it into a message handler",
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::syntax::ast::TriggerKind as T;

    #[test]
    fn reachability_follows_nested_and_anywhere_gotos() {
        let items = vec![
            flow(),
            stage(
                "a",
                vec![on(
                    T::Otherwise,
                    vec![if_(path("x"), vec![goto("b")], Some(vec![close()]))],
                )],
            ),
            stage(
                "b",
                vec![on(T::Otherwise, vec![ask("f", Some(vec![goto("c")]))])],
            ),
            stage("c", vec![on(T::Otherwise, vec![close()])]),
            stage("d", vec![on(T::Otherwise, vec![goto("e")])]),
            stage("e", vec![on(T::Otherwise, vec![close()])]),
            stage("lost", vec![on(T::Otherwise, vec![goto("lost")])]),
            anywhere(vec![on(keywords(&["help"]), vec![goto("d")])]),
        ];
        let d = check_with(items, run_pass);
        let unreached: Vec<_> = d
            .iter()
            .filter(|d| d.code == codes::UNREACHABLE_STAGE)
            .map(|d| d.message.clone())
            .collect();
        assert_eq!(unreached, vec!["stage `lost` is never reached"]);
        // `lost` only loops to itself, but the `anywhere` edge to `d` leaves it too.
        let stuck: Vec<_> = d
            .iter()
            .filter(|d| d.code == codes::NO_WAY_TO_CLOSE)
            .map(|d| d.message.clone())
            .collect();
        assert!(stuck.is_empty(), "{stuck:?}");
    }

    #[test]
    fn an_anywhere_close_closes_every_stage() {
        let items = vec![
            flow(),
            stage("a", vec![on(T::Otherwise, vec![goto("b")])]),
            stage("b", vec![on(T::Otherwise, vec![goto("a")])]),
            anywhere(vec![on(keywords(&["bye"]), vec![close()])]),
        ];
        assert!(check_with(items, run_pass).is_empty());
    }

    #[test]
    fn closure_flows_back_through_anywhere_edges() {
        // `a` never closes by itself, but the anywhere `goto done` leaves it too.
        let items = vec![
            flow(),
            stage("a", vec![on(T::Otherwise, vec![reply(text("hi"))])]),
            stage("done", vec![on(T::Otherwise, vec![close()])]),
            anywhere(vec![on(keywords(&["bye"]), vec![goto("done")])]),
        ];
        assert!(check_with(items, run_pass).is_empty());
    }

    #[test]
    fn no_stages_is_reported_once_and_empty_files_are_left_alone() {
        assert_eq!(codes(&check_with(vec![flow()], run_pass)), vec!["E0404"]);
        assert!(check_with(vec![], run_pass).is_empty());
    }

    #[test]
    fn enter_cycles_are_found_once_and_waiting_breaks_them() {
        let items = vec![
            flow(),
            stage(
                "a",
                vec![
                    on(T::Enter, vec![reply(text("x")), goto("b")]),
                    on(T::Otherwise, vec![close()]),
                ],
            ),
            stage(
                "b",
                vec![
                    on(T::Enter, vec![goto("c")]),
                    on(T::Otherwise, vec![close()]),
                ],
            ),
            stage(
                "c",
                vec![
                    on(T::Enter, vec![goto("a")]),
                    on(T::Otherwise, vec![close()]),
                ],
            ),
            // Waiting for an answer, or a conditional goto, breaks a loop.
            stage(
                "d",
                vec![
                    on(T::Enter, vec![ask("f", None), goto("e")]),
                    on(T::Otherwise, vec![goto("a")]),
                ],
            ),
            stage(
                "e",
                vec![
                    on(T::Enter, vec![if_(path("f"), vec![goto("d")], None)]),
                    on(T::Otherwise, vec![goto("d")]),
                ],
            ),
            stage(
                "s",
                vec![
                    on(T::Enter, vec![goto("s")]),
                    on(T::Otherwise, vec![goto("d")]),
                ],
            ),
        ];
        let d = check_with(items, run_pass);
        let loops: Vec<_> = d
            .iter()
            .filter(|d| d.code == codes::ENTER_LOOP)
            .map(|d| (d.message.clone(), d.secondary.len()))
            .collect();
        assert_eq!(
            loops,
            vec![
                (
                    "stages `a`, `b` and `c` pass the card around forever".to_string(),
                    2
                ),
                ("stage `s` enters itself forever".to_string(), 0),
            ]
        );
    }

    fn run_pass(cx: &mut Cx) {
        super::run(cx)
    }
}
