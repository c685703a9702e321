//! Graph analysis on hand-built trees; the rendered output of every example is covered
//! by the snapshot tests in `tests/graphs.rs`.

use super::*;
use crate::check::symbols;
use crate::syntax::ast::*;
use crate::syntax::span::Span;

fn sp() -> Span {
    Span::default()
}
fn ident(name: &str) -> Ident {
    Ident {
        name: name.into(),
        span: sp(),
    }
}
fn text(value: &str) -> Text {
    Text {
        value: value.into(),
        parts: vec![TextPart::Lit(value.into())],
        span: sp(),
    }
}
fn act(kind: ActionKind) -> Action {
    Action { kind, span: sp() }
}
fn goto(stage: &str) -> Action {
    act(ActionKind::Goto(ident(stage)))
}
fn handler(kind: TriggerKind, actions: Vec<Action>) -> Handler {
    Handler {
        trigger: Trigger { kind, span: sp() },
        guard: None,
        body: Block {
            actions,
            span: sp(),
        },
        span: sp(),
    }
}
fn stage(name: &str, handlers: Vec<Handler>) -> Item {
    Item::Stage(StageDecl {
        name: ident(name),
        handlers,
        span: sp(),
    })
}

fn graph_of(items: Vec<Item>) -> Graph {
    let file = File { items, span: sp() };
    let mut diags = Vec::new();
    let syms = symbols::collect(&file, &mut diags);
    build(&file, &syms, "")
}

/// entry → billing (keyword) → closed; entry → limbo (button) which loops on itself;
/// `orphan` is never entered.
fn sample() -> Graph {
    graph_of(vec![
        stage(
            "entry",
            vec![
                handler(
                    TriggerKind::Keyword(vec![text("fatura"), text("boleto")]),
                    vec![goto("billing")],
                ),
                handler(
                    TriggerKind::Button(vec![text("Other")]),
                    vec![goto("limbo")],
                ),
            ],
        ),
        stage(
            "billing",
            vec![handler(
                TriggerKind::Silence(DurationLit {
                    seconds: 600,
                    span: sp(),
                }),
                vec![act(ActionKind::Close(None))],
            )],
        ),
        stage(
            "limbo",
            vec![handler(TriggerKind::Otherwise, vec![goto("limbo")])],
        ),
        stage(
            "orphan",
            vec![handler(
                TriggerKind::Enter,
                vec![act(ActionKind::Handoff(None))],
            )],
        ),
    ])
}

#[test]
fn edges_carry_their_trigger() {
    let g = sample();
    let labels: Vec<(&Origin, &Target, String)> = g
        .edges
        .iter()
        .map(|e| (&e.from, &e.to, e.labels.join(" | ")))
        .collect();
    assert_eq!(
        labels,
        vec![
            (
                &Origin::Stage("entry".into()),
                &Target::Stage("billing".into()),
                "keyword \"fatura\", \"boleto\"".to_string()
            ),
            (
                &Origin::Stage("entry".into()),
                &Target::Stage("limbo".into()),
                "button \"Other\"".to_string()
            ),
            (
                &Origin::Stage("billing".into()),
                &Target::Closed,
                "after 10m silence".to_string()
            ),
            (
                &Origin::Stage("limbo".into()),
                &Target::Stage("limbo".into()),
                "otherwise".to_string()
            ),
            (
                &Origin::Stage("orphan".into()),
                &Target::Handoff,
                "on enter".to_string()
            ),
        ]
    );
}

#[test]
fn unreachable_and_dead_end_stages_are_marked() {
    let g = sample();
    let marks = |name: &str| {
        g.stage(name)
            .map(|s| (s.unreachable, s.dead_end, s.closing))
    };
    assert_eq!(g.start.as_deref(), Some("entry"));
    assert_eq!(marks("entry"), Some((false, false, false)));
    assert_eq!(marks("billing"), Some((false, false, true)));
    assert_eq!(marks("limbo"), Some((false, true, false)));
    assert_eq!(marks("orphan"), Some((true, false, true)));
}

#[test]
fn anywhere_edges_leave_every_stage() {
    let g = graph_of(vec![
        stage(
            "entry",
            vec![handler(TriggerKind::Otherwise, vec![goto("help")])],
        ),
        stage("help", vec![]),
        Item::Anywhere(AnywhereDecl {
            handlers: vec![handler(
                TriggerKind::Keyword(vec![text("stop")]),
                vec![act(ActionKind::Close(Some(text("opted out"))))],
            )],
            span: sp(),
        }),
    ]);
    assert!(g.stages.iter().all(|s| !s.dead_end && !s.unreachable));
    let dot = dot::render(&g);
    assert!(
        dot.contains(
            "\"anywhere:\" -> \"closed:\" [label=\"keyword \\\"stop\\\"\", style=dashed];"
        )
    );
    let mermaid = mermaid::render(&g);
    assert!(mermaid.contains("anywhere_ -.->|\"keyword #quot;stop#quot;\"| closed_"));
}

#[test]
fn triggers_between_the_same_stages_share_one_edge() {
    let g = graph_of(vec![
        stage(
            "entry",
            vec![
                handler(TriggerKind::Choice(vec![text("A")]), vec![goto("next")]),
                handler(TriggerKind::Choice(vec![text("B")]), vec![goto("next")]),
            ],
        ),
        stage(
            "next",
            vec![handler(
                TriggerKind::Enter,
                vec![act(ActionKind::Close(None))],
            )],
        ),
    ]);
    assert_eq!(g.edges.len(), 2);
    assert_eq!(g.edges[0].labels, vec!["choice \"A\"", "choice \"B\""]);
    assert!(dot::render(&g).contains("[label=\"choice \\\"A\\\"\\nchoice \\\"B\\\"\"]"));
    assert!(mermaid::render(&g).contains("|\"choice #quot;A#quot;<br/>choice #quot;B#quot;\"|"));
}

#[test]
fn durations_read_as_written() {
    assert_eq!(duration(0), "0s");
    assert_eq!(duration(45), "45s");
    assert_eq!(duration(600), "10m");
    assert_eq!(duration(5400), "1h30m");
    assert_eq!(duration(2 * 86_400), "2d");
    assert_eq!(duration(604_800 + 3_600), "1w1h");
}

#[test]
fn long_labels_are_cut_on_a_char_boundary() {
    let long = "ção ".repeat(40);
    let cut = shorten(&long);
    assert_eq!(cut.chars().count(), LABEL_MAX);
    assert!(cut.ends_with('…'));
}

#[test]
fn empty_script_renders_an_empty_graph() {
    let g = graph_of(Vec::new());
    assert_eq!(dot::render(&g).lines().count(), 5);
    assert!(mermaid::render(&g).contains("flowchart LR"));
}

#[test]
fn mermaid_labels_escape_what_mermaid_reads() {
    let g = graph_of(vec![stage(
        "entry",
        vec![handler(
            TriggerKind::Regex(RegexLit {
                source: "a|b#<c>\\d".into(),
                span: sp(),
            }),
            vec![goto("entry")],
        )],
    )]);
    let m = mermaid::render(&g);
    assert!(m.contains("|\"regex /a#124;b#35;#lt;c#gt;\\d/\"|"), "{m}");
    let d = dot::render(&g);
    assert!(d.contains("[label=\"regex /a|b#<c>\\\\d/\"]"), "{d}");
}
