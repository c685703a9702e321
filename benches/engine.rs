//! The engine on a triage stage of 200 keyword rules (800 keywords): the trigger match
//! alone (fold + automaton) and one full engine step for an inbound text message.
//! Targets: at least 1,000,000 matches/s and 250,000 steps/s on one core.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use wafl::compile::{self, fold};
use wafl::engine::{self, Contact, Event, Inbound, State};
use wafl::syntax::ast::*;
use wafl::syntax::span::Span;

const RULES: usize = 200;
const KEYWORDS_PER_RULE: usize = 4;

fn sp() -> Span {
    Span::default()
}

fn text(s: &str) -> Text {
    Text {
        value: s.into(),
        parts: vec![TextPart::Lit(s.into())],
        span: sp(),
    }
}

fn ident(s: &str) -> Ident {
    Ident {
        name: s.into(),
        span: sp(),
    }
}

fn action(kind: ActionKind) -> Action {
    Action { kind, span: sp() }
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

/// A distinct pronounceable word per index; every fifth ends in an accented syllable.
fn word(i: usize) -> String {
    const SYL: &[&str] = &[
        "ba", "ce", "di", "fo", "gu", "la", "me", "ni", "po", "ru", "sa", "te", "vi", "zo",
    ];
    let mut w = String::new();
    let mut n = i + 1;
    while n > 0 {
        w.push_str(SYL[n % SYL.len()]);
        n /= SYL.len();
    }
    if i % 5 == 0 {
        w.push_str("ção");
    }
    w
}

/// flow + team + a triage stage of 200 keyword rules and `otherwise`.
fn program() -> (compile::Program, String) {
    let mut handlers = Vec::new();
    for r in 0..RULES {
        let kws = (0..KEYWORDS_PER_RULE)
            .map(|k| text(&word(r * KEYWORDS_PER_RULE + k)))
            .collect();
        handlers.push(handler(
            TriggerKind::Keyword(kws),
            vec![
                action(ActionKind::Reply(Message {
                    kind: MessageKind::Text(text("Got it, we are on it.")),
                    span: sp(),
                })),
                action(ActionKind::Route {
                    team: ident("billing"),
                    priority: None,
                }),
            ],
        ));
    }
    handlers.push(handler(
        TriggerKind::Otherwise,
        vec![action(ActionKind::Reply(Message {
            kind: MessageKind::Buttons {
                body: text("How can we help?"),
                buttons: vec![text("Billing"), text("Other")],
            },
            span: sp(),
        }))],
    ));
    let file = File {
        items: vec![
            Item::Flow(FlowDecl {
                name: text("Bench"),
                settings: vec![FlowSetting {
                    kind: FlowSettingKind::Timezone(text("America/Sao_Paulo")),
                    span: sp(),
                }],
                span: sp(),
            }),
            Item::Team(TeamDecl {
                name: ident("billing"),
                agents: vec![text("ana@acme.com")],
                hours: None,
                span: sp(),
            }),
            Item::Stage(StageDecl {
                name: ident("triage"),
                handlers,
                span: sp(),
            }),
        ],
        span: sp(),
    };
    let checked = wafl::check::check(&file);
    // The keyword of rule 150, accented differently and in capitals, near the end.
    let hit = word(150 * KEYWORDS_PER_RULE)
        .to_uppercase()
        .replace("ÇÃO", "CAO");
    let message = format!("Olá, bom dia! Preciso da segunda via da minha fatura, é sobre {hit}.");
    (compile::compile(&file, &checked.symbols), message)
}

fn engine_bench(c: &mut Criterion) {
    let (program, message) = program();
    let now = jiff::Timestamp::from_second(1_767_600_000).unwrap_or_default();
    // A contact with an open card in triage: the message goes straight to dispatch.
    let opened = engine::step(
        &program,
        &State::new(Contact::new("+55 11 98888-7777")),
        &Event::Inbound(Inbound::text("oi")),
        now,
    )
    .state;
    let event = Event::Inbound(Inbound::text(message.clone()));
    let stage = &program.stages[0];
    assert_eq!(
        stage
            .keywords
            .first(&fold::fold(&message))
            .map(|h| h.handler),
        Some(150)
    );

    // The measured step does the real work: the rule-150 handler replies and routes.
    let once = engine::step(&program, &opened, &event, now);
    let kinds: Vec<&str> = once
        .effects
        .iter()
        .filter_map(|e| match &e.kind {
            engine::EffectKind::Send { .. } => Some("send"),
            engine::EffectKind::Route { .. } => Some("route"),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["send", "route"]);

    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(1));
    group.bench_function("trigger_match_200_rules", |b| {
        b.iter(|| stage.keywords.first(&fold::fold(black_box(&message))))
    });
    let folded = fold::fold(&message);
    group.bench_function("fold_only", |b| b.iter(|| fold::fold(black_box(&message))));
    group.bench_function("automaton_only", |b| {
        b.iter(|| stage.keywords.first(black_box(&folded)))
    });
    group.bench_function("engine_step_200_rules", |b| {
        b.iter(|| engine::step(&program, black_box(&opened), black_box(&event), now))
    });
    group.finish();
}

criterion_group!(benches, engine_bench);
criterion_main!(benches);
