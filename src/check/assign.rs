//! Checker pass: definite assignment — a field is only used where it is surely collected.
//!
//! The rules:
//! - A field is *used* where a path starting with its name is evaluated: in an
//!   interpolation, a condition (`if`, `when`), a `set` value, a `post` or `call` body, a
//!   template argument. `F is set` and `F is not set` only test it and are not uses.
//! - A field is *assigned* by `ask F` (its `else` fallback ends the handler, so after the
//!   `ask` the field is set), by `set F = ...`, by `call ... save F` (same for its `else`),
//!   and at the start of `on form X submitted` for every input of form `X` that is not
//!   `optional`.
//! - Narrowing: the then-branch of `if F is set` (also `if F is set and ...`) knows `F`,
//!   as does the else-branch of `if F is not set`, the right side of `F is set and ...`,
//!   and a handler guarded by `when F is set`.
//! - `if`/`else` joins by intersection; a `goto` ends the handler.
//! - Across stages, a forward must-analysis runs to a fixed point: a stage is entered
//!   knowing the intersection, over every `goto` into it, of what is known at that `goto`.
//!   The start stage is entered knowing nothing. Every handler of a stage (timers and
//!   `on enter` included) starts from the stage's entry set; `anywhere` handlers start
//!   from nothing, as they run in any stage.
//!
//! E0407 reports a use of a field not known to be collected. Stages no `goto` reaches
//! are left to E0401. Names that do not resolve are left to the names pass.

use super::graph::{From, Graph};
use super::walk;
use super::{Cx, Symbols};
use crate::diag::{Diagnostic, codes};
use crate::syntax::ast::{
    self, ActionKind, BinOp, Block, Expr, ExprKind, Handler, Item, TriggerKind, UnOp,
};
use crate::syntax::span::Span;
use std::collections::HashMap;

/// A set of fields, as a bit mask by field index.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Set(Vec<u64>);

impl Set {
    fn empty(n: usize) -> Set {
        Set(vec![0; n.div_ceil(64)])
    }
    fn has(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
    fn insert(&mut self, i: usize) {
        if let Some(w) = self.0.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }
    fn union(&self, other: &Set) -> Set {
        Set(self.0.iter().zip(&other.0).map(|(a, b)| a | b).collect())
    }
    fn meet(&self, other: &Set) -> Set {
        Set(self.0.iter().zip(&other.0).map(|(a, b)| a & b).collect())
    }
}

/// A use of a field that may not be collected.
struct Unset {
    field: usize,
    span: Span,
}

/// A `goto` with what is known where it runs.
struct Exit {
    from: From,
    to: usize,
    span: Span,
    known: Set,
}

struct Analyzer<'a> {
    fields: HashMap<&'a str, usize>,
    names: Vec<&'a str>,
    /// Fields a submission of each form surely fills.
    forms: HashMap<&'a str, Vec<usize>>,
    graph: &'a Graph<'a>,
    /// Where the current handler runs, for the exits it records.
    from: From,
    exits: Vec<Exit>,
    unset: Vec<Unset>,
}

impl<'a> Analyzer<'a> {
    fn new(file: &'a ast::File, syms: &'a Symbols, graph: &'a Graph<'a>) -> Analyzer<'a> {
        let names: Vec<&str> = syms.fields.keys().map(String::as_str).collect();
        let fields: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let mut forms = HashMap::new();
        for item in &file.items {
            let Item::Form(form) = item else { continue };
            // A duplicate form declaration is not the one `on form` refers to.
            if syms
                .forms
                .get(&form.name.name)
                .is_none_or(|(_, at)| *at != form.name.span)
            {
                continue;
            }
            let required: Vec<usize> = form
                .screens
                .iter()
                .flat_map(|s| &s.inputs)
                .filter(|i| !i.optional)
                .filter_map(|i| fields.get(i.name.name.as_str()).copied())
                .collect();
            forms.insert(form.name.name.as_str(), required);
        }
        Analyzer {
            fields,
            names,
            forms,
            graph,
            from: From::Anywhere,
            exits: Vec::new(),
            unset: Vec::new(),
        }
    }

    fn empty(&self) -> Set {
        Set::empty(self.names.len())
    }

    /// The field a path expression reads, if it reads a declared field.
    fn field_of(&self, e: &Expr) -> Option<usize> {
        match &e.kind {
            ExprKind::Path(segs) => segs
                .first()
                .and_then(|s| self.fields.get(s.name.as_str()).copied()),
            _ => None,
        }
    }

    /// Fields known to be set when `e` is true (`when_true`) or false.
    fn facts(&self, e: &Expr, when_true: bool) -> Set {
        match &e.kind {
            ExprKind::IsSet { expr, negated } => {
                let mut s = self.empty();
                if *negated != when_true
                    && let Some(f) = self.field_of(expr)
                {
                    s.insert(f);
                }
                s
            }
            ExprKind::Unary {
                op: UnOp::Not,
                expr,
            } => self.facts(expr, !when_true),
            ExprKind::Binary {
                op: op @ (BinOp::And | BinOp::Or),
                lhs,
                rhs,
            } => {
                let (l, r) = (self.facts(lhs, when_true), self.facts(rhs, when_true));
                // `a and b` true: both hold; `a or b` false: both fail. Otherwise only
                // what both sides agree on.
                if (*op == BinOp::And) == when_true {
                    l.union(&r)
                } else {
                    l.meet(&r)
                }
            }
            _ => self.empty(),
        }
    }

    /// Records the uses of fields in `e` that `known` does not cover. A reported field is
    /// then taken as known, so one missing `ask` is reported once per path.
    fn uses(&mut self, e: &Expr, known: &mut Set) {
        match &e.kind {
            ExprKind::Path(_) => {
                if let Some(f) = self.field_of(e)
                    && !known.has(f)
                {
                    self.unset.push(Unset {
                        field: f,
                        span: e.span,
                    });
                    known.insert(f);
                }
            }
            ExprKind::IsSet { expr, .. } if matches!(expr.kind, ExprKind::Path(_)) => {}
            ExprKind::Binary {
                op: op @ (BinOp::And | BinOp::Or),
                lhs,
                rhs,
            } => {
                self.uses(lhs, known);
                let mut right = known.union(&self.facts(lhs, *op == BinOp::And));
                self.uses(rhs, &mut right);
            }
            _ => {
                for c in walk::children(e) {
                    self.uses(c, known);
                }
            }
        }
    }

    /// Runs a block from `known`; `None` when no path falls through its end.
    fn block(&mut self, b: &Block, known: Set) -> Option<Set> {
        let mut known = known;
        for a in &b.actions {
            match &a.kind {
                ActionKind::If {
                    cond,
                    then,
                    otherwise,
                } => {
                    self.uses(cond, &mut known);
                    let t = self.block(then, known.union(&self.facts(cond, true)));
                    let on_false = known.union(&self.facts(cond, false));
                    let e = match otherwise {
                        Some(b) => self.block(b, on_false),
                        None => Some(on_false),
                    };
                    known = match (t, e) {
                        (Some(t), Some(e)) => t.meet(&e),
                        (Some(s), None) | (None, Some(s)) => s,
                        (None, None) => return None,
                    };
                }
                ActionKind::Goto(target) => {
                    if let Some(to) = self.graph.stage(&target.name) {
                        self.exits.push(Exit {
                            from: self.from,
                            to,
                            span: a.span,
                            known: known.clone(),
                        });
                    }
                    return None;
                }
                kind => {
                    for e in walk::exprs_of_action(a) {
                        self.uses(e, &mut known);
                    }
                    match kind {
                        ActionKind::Ask {
                            field, fallback, ..
                        } => {
                            if let Some(fb) = fallback {
                                self.block(fb, known.clone());
                            }
                            if let Some(&f) = self.fields.get(field.name.as_str()) {
                                known.insert(f);
                            }
                        }
                        ActionKind::Set { field, .. } => {
                            if let Some(&f) = self.fields.get(field.name.as_str()) {
                                known.insert(f);
                            }
                        }
                        ActionKind::Call { save, fallback, .. } => {
                            if let Some(fb) = fallback {
                                self.block(fb, known.clone());
                            }
                            for s in save {
                                if let Some(&f) = self.fields.get(s.name.as_str()) {
                                    known.insert(f);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        Some(known)
    }

    fn handler(&mut self, h: &Handler, entry: &Set) {
        let mut known = entry.clone();
        if let TriggerKind::FormSubmitted(form) = &h.trigger.kind
            && let Some(filled) = self.forms.get(form.name.as_str())
        {
            for &f in filled {
                known.insert(f);
            }
        }
        if let Some(g) = &h.guard {
            self.uses(g, &mut known);
            known = known.union(&self.facts(g, true));
        }
        self.block(&h.body, known);
    }
}

/// What each stage is surely entered with, by stage index; `None` for a stage no `goto`
/// from a reached stage leads to.
fn entry_sets(a: &mut Analyzer) -> Vec<Option<Set>> {
    let g = a.graph;
    let n = g.stages.len();
    let mut entry: Vec<Option<Set>> = vec![None; n];
    let Some(start) = g.start else {
        return entry;
    };
    let nothing = a.empty();
    // `anywhere` handlers start from nothing wherever they run, so their exits are fixed.
    a.from = From::Anywhere;
    for h in &g.anywhere {
        a.handler(h, &nothing);
    }
    let fixed: Vec<Exit> = std::mem::take(&mut a.exits);
    let meet_into = |entry: &mut Vec<Option<Set>>, to: usize, known: &Set| -> bool {
        let Some(slot) = entry.get_mut(to) else {
            return false;
        };
        let next = match slot {
            Some(old) => old.meet(known),
            None => known.clone(),
        };
        let changed = slot.as_ref() != Some(&next);
        *slot = Some(next);
        changed
    };
    entry[start] = Some(nothing.clone());
    for e in &fixed {
        meet_into(&mut entry, e.to, &e.known);
    }
    entry[start] = Some(nothing);
    let mut queued = vec![false; n];
    let mut work: Vec<usize> = (0..n).filter(|&s| entry[s].is_some()).collect();
    for &s in &work {
        queued[s] = true;
    }
    while let Some(s) = work.pop() {
        queued[s] = false;
        let (Some(stage), Some(known)) = (g.stages.get(s), entry[s].clone()) else {
            continue;
        };
        a.from = From::Stage(s);
        for h in &stage.handlers {
            a.handler(h, &known);
        }
        for e in std::mem::take(&mut a.exits) {
            // The start stage is also entered fresh, knowing nothing: it stays empty.
            if e.to != start && meet_into(&mut entry, e.to, &e.known) && !queued[e.to] {
                queued[e.to] = true;
                work.push(e.to);
            }
        }
    }
    // Uses found while iterating were measured against provisional entry sets.
    a.unset.clear();
    entry
}

pub(crate) fn run(cx: &mut Cx) {
    if cx.syms.fields.is_empty() {
        return;
    }
    let g = Graph::build(cx.file, cx.syms);
    let mut a = Analyzer::new(cx.file, cx.syms, &g);
    let entry = entry_sets(&mut a);
    let start = g.start;
    let nothing = a.empty();

    // Final run with the fixed entry sets: every use is measured once, and every exit is
    // kept to explain a stage entered without a field.
    let mut found: Vec<(Unset, Option<usize>)> = Vec::new();
    a.from = From::Anywhere;
    for h in &g.anywhere {
        a.handler(h, &nothing);
    }
    found.extend(a.unset.drain(..).map(|u| (u, None)));
    for (s, stage) in g.stages.iter().enumerate() {
        let Some(known) = entry.get(s).and_then(Option::as_ref) else {
            continue;
        };
        a.from = From::Stage(s);
        for h in &stage.handlers {
            a.handler(h, known);
        }
        found.extend(a.unset.drain(..).map(|u| (u, Some(s))));
    }
    let exits = std::mem::take(&mut a.exits);

    for (u, stage) in found {
        let name = a.names.get(u.field).copied().unwrap_or("?");
        let mut d = Diagnostic::new(
            codes::MAYBE_UNSET,
            format!("field `{name}` may not be collected here"),
            u.span,
            format!("`{name}` may still be unset when this runs"),
        );
        match stage {
            Some(s)
                if !entry
                    .get(s)
                    .and_then(Option::as_ref)
                    .is_some_and(|e| e.has(u.field)) =>
            {
                let witness = exits
                    .iter()
                    .find(|e| e.to == s && !e.known.has(u.field) && Some(s) != start);
                if let Some(e) = witness {
                    let who = match e.from {
                        From::Stage(src) => g
                            .stages
                            .get(src)
                            .map(|st| format!("`{}`", st.name.name))
                            .unwrap_or_default(),
                        From::Anywhere => "an `anywhere` handler".to_string(),
                    };
                    d = d.with_secondary(
                        e.span,
                        format!("{who} can move the card here without asking for `{name}`"),
                    );
                }
            }
            None => {
                d = d.with_note(
                    "`anywhere` handlers run in every stage, so they start with no field collected",
                );
            }
            _ => {}
        }
        cx.report(
            d.with_note(
                "a field is collected by `ask`, `set`, `call ... save` or a submitted form, \
                 and must be collected on every path that reaches its use",
            )
            .with_help(format!(
                "ask for it first (`ask {name} \"...\"`) or guard with `if {name} is set {{ ... }}`"
            )),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::syntax::ast::{ActionKind, BinOp, Item, TriggerKind as T};

    fn unset(items: Vec<Item>) -> Vec<String> {
        check_with(items, super::run)
            .into_iter()
            .map(|d| d.message)
            .collect()
    }

    fn with_fields(mut items: Vec<Item>) -> Vec<Item> {
        items.insert(0, flow());
        items.insert(1, field("order"));
        items.insert(2, field("email"));
        items
    }

    #[test]
    fn ask_assigns_and_narrowing_guards() {
        let items = with_fields(vec![stage(
            "a",
            vec![
                on(
                    T::Otherwise,
                    vec![ask("order", None), reply(text_with("order"))],
                ),
                on(
                    keywords(&["x"]),
                    vec![if_(
                        is_set("email", false),
                        vec![reply(text_with("email"))],
                        None,
                    )],
                ),
                on(
                    keywords(&["y"]),
                    vec![
                        if_(is_set("email", true), vec![ask("email", None)], None),
                        reply(text_with("email")),
                    ],
                ),
                handler(
                    keywords(&["z"]),
                    Some(is_set("order", false)),
                    vec![reply(text_with("order"))],
                ),
                on(
                    keywords(&["w"]),
                    vec![if_(
                        bin(BinOp::And, is_set("order", false), path("order")),
                        vec![],
                        None,
                    )],
                ),
            ],
        )]);
        assert!(unset(items).is_empty());
    }

    #[test]
    fn uses_before_collection_are_reported_once_per_path() {
        let items = with_fields(vec![stage(
            "a",
            vec![on(
                T::Otherwise,
                vec![
                    reply(text_with("order")),
                    reply(text_with("order")),
                    if_(
                        not(is_set("email", false)),
                        vec![],
                        Some(vec![reply(text_with("email"))]),
                    ),
                    if_(path("email"), vec![], None),
                ],
            )],
        )]);
        assert_eq!(
            unset(items),
            vec![
                "field `order` may not be collected here",
                "field `email` may not be collected here"
            ]
        );
    }

    #[test]
    fn entry_sets_intersect_over_incoming_gotos() {
        // `b` is entered from `a` after `order` and `email` are asked, and from `c` after
        // only `order`: in `b`, `order` is known and `email` is not.
        let items = with_fields(vec![
            stage(
                "a",
                vec![
                    on(
                        T::Otherwise,
                        vec![ask("order", None), ask("email", None), goto("b")],
                    ),
                    on(keywords(&["c"]), vec![ask("order", None), goto("c")]),
                ],
            ),
            stage(
                "b",
                vec![on(
                    T::Otherwise,
                    vec![reply(text_with("order")), reply(text_with("email"))],
                )],
            ),
            stage("c", vec![on(T::Enter, vec![goto("b")])]),
        ]);
        let d = check_with(items, super::run);
        assert_eq!(
            codes(&d),
            vec!["E0407"],
            "{:?}",
            d.iter().map(|d| &d.message).collect::<Vec<_>>()
        );
        assert_eq!(d[0].message, "field `email` may not be collected here");
        assert_eq!(
            d[0].secondary[0].message,
            "`c` can move the card here without asking for `email`"
        );
    }

    #[test]
    fn loops_reach_a_fixed_point_and_the_start_knows_nothing() {
        // a -> b -> a: `a` is the start, so it is entered knowing nothing even though
        // `b` only goes back after asking.
        let items = with_fields(vec![
            stage(
                "a",
                vec![on(
                    T::Otherwise,
                    vec![reply(text_with("order")), ask("email", None), goto("b")],
                )],
            ),
            stage(
                "b",
                vec![on(
                    T::Otherwise,
                    vec![reply(text_with("email")), ask("order", None), goto("a")],
                )],
            ),
        ]);
        assert_eq!(
            unset(items),
            vec!["field `order` may not be collected here"]
        );
    }

    #[test]
    fn anywhere_handlers_start_with_nothing_and_set_counts() {
        let items = with_fields(vec![
            stage(
                "a",
                vec![on(T::Otherwise, vec![ask("order", None), goto("b")])],
            ),
            stage("b", vec![on(T::Otherwise, vec![reply(text_with("order"))])]),
            anywhere(vec![
                on(keywords(&["b"]), vec![goto("b")]),
                on(
                    keywords(&["s"]),
                    vec![
                        act(ActionKind::Set {
                            field: id("email"),
                            value: path("contact.name"),
                        }),
                        reply(text_with("email")),
                    ],
                ),
            ]),
        ]);
        let d = check_with(items, super::run);
        assert_eq!(codes(&d), vec!["E0407"]);
        assert_eq!(
            d[0].secondary[0].message,
            "an `anywhere` handler can move the card here without asking for `order`"
        );
    }

    #[test]
    fn forms_fill_required_inputs_and_calls_fill_saved_fields() {
        use crate::syntax::ast::{FieldKind, FieldType, FormDecl, FormInput, Screen};
        let input = |name: &str, optional: bool, typed: bool| FormInput {
            name: id(name),
            label: typed.then(|| text(name)),
            ty: typed.then(|| FieldType {
                kind: FieldKind::Email,
                span: sp(),
            }),
            optional,
            span: sp(),
        };
        let form = Item::Form(FormDecl {
            name: id("booking"),
            title: text("Book"),
            data: None,
            screens: vec![Screen {
                title: text("When"),
                inputs: vec![
                    input("day", false, true),
                    input("notes", true, true),
                    input("email", false, false),
                ],
                span: sp(),
            }],
            span: sp(),
        });
        let call = act(ActionKind::Call {
            webhook: id("stock"),
            body: Vec::new(),
            save: vec![id("order")],
            timeout: None,
            // The fallback ends the handler: its `goto` carries nothing saved.
            fallback: Some(block(vec![reply(text_with("email")), goto("b")])),
        });
        let items = with_fields(vec![
            form,
            stage(
                "a",
                vec![
                    on(
                        T::FormSubmitted(id("booking")),
                        vec![
                            reply(text_with("day")),
                            reply(text_with("email")),
                            reply(text_with("notes")),
                        ],
                    ),
                    on(
                        T::Otherwise,
                        vec![call, reply(text_with("order")), goto("b")],
                    ),
                ],
            ),
            stage("b", vec![on(T::Otherwise, vec![reply(text_with("order"))])]),
        ]);
        let d = check_with(items, super::run);
        let spans: Vec<(String, usize)> = d
            .iter()
            .map(|d| (d.message.clone(), d.secondary.len()))
            .collect();
        assert_eq!(
            spans,
            vec![
                ("field `notes` may not be collected here".to_string(), 0),
                ("field `email` may not be collected here".to_string(), 0),
                ("field `order` may not be collected here".to_string(), 1),
            ]
        );
    }
}
