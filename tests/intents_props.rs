//! Property tests of intents and knowledge answers: no input makes the classifier, the
//! Markdown reader or an engine step panic, and the verdict does not depend on the order
//! intents, examples and intent handlers are written in, nor on the thread (and so on any
//! per-thread hash seed) it is computed in.

#[path = "support/engine.rs"]
mod support;

use proptest::prelude::*;
use wafl::check::knowledge::sections;
use wafl::classify::{Labelled, Model};
use wafl::engine::{self, Contact, Event, Inbound, State};

/// Cases per property: `WAFL_FUZZ_CASES` raises it for long fuzzing runs.
fn fuzz_cases(default: u32) -> u32 {
    std::env::var("WAFL_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Intents with examples in three languages; order as written here.
const INTENTS: &[(&str, &[&str])] = &[
    (
        "refund",
        &[
            "quero meu dinheiro de volta",
            "quiero un reembolso",
            "I want a refund",
        ],
    ),
    (
        "delivery",
        &[
            "meu pedido não chegou",
            "mi pedido no llegó",
            "where is my package",
        ],
    ),
    (
        "password",
        &[
            "esqueci minha senha",
            "olvidé mi contraseña",
            "I forgot my password",
        ],
    ),
    (
        "invoice",
        &[
            "segunda via do boleto",
            "necesito la factura",
            "send me my bill",
        ],
    ),
];

/// A script with the intents and one handler per intent, in the given orders.
fn script(intent_order: &[usize], example_rot: usize, handler_order: &[usize]) -> String {
    let mut src = String::from("flow \"Props\" { timezone \"UTC\" }\n");
    for &i in intent_order {
        let (name, examples) = INTENTS[i];
        let mut ex: Vec<&str> = examples.to_vec();
        let n = ex.len();
        ex.rotate_left(example_rot % n);
        let quoted: Vec<String> = ex.iter().map(|e| format!("{e:?}")).collect();
        src.push_str(&format!(
            "intent {name} {{ examples {} }}\n",
            quoted.join(", ")
        ));
    }
    src.push_str("stage triage {\n");
    for &i in handler_order {
        let (name, _) = INTENTS[i];
        src.push_str(&format!(
            "  on intent {name} {{ reply \"about {name}\" }}\n"
        ));
    }
    src.push_str("  otherwise { reply \"menu\" }\n}\n");
    src
}

fn order() -> impl Strategy<Value = Vec<usize>> {
    Just((0..INTENTS.len()).collect::<Vec<_>>()).prop_shuffle()
}

/// Messages near the examples: their words, mangled, mixed and shuffled.
fn message() -> impl Strategy<Value = String> {
    let words: Vec<String> = INTENTS
        .iter()
        .flat_map(|(_, ex)| ex.iter())
        .flat_map(|e| e.split(' '))
        .map(str::to_string)
        .collect();
    prop_oneof![
        prop::collection::vec(prop::sample::select(words), 0..8).prop_map(|w| w.join(" ")),
        any::<String>(),
        "[a-zA-Zçãéíóú ?!.,]{0,80}",
    ]
}

/// The replies of one message through the engine, from a fresh conversation in triage.
fn replies(program: &wafl::compile::Program, msg: &str) -> Vec<String> {
    let now = jiff::Timestamp::from_second(1_767_600_000).unwrap_or_default();
    let s = State::new(Contact::new("+55 11 98888-7777"));
    let out = engine::step(program, &s, &Event::Inbound(Inbound::text(msg)), now);
    out.effects
        .iter()
        .filter_map(|e| match &e.kind {
            engine::EffectKind::Send { message, .. } => Some(message.to_string()),
            _ => None,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(fuzz_cases(200)))]

    #[test]
    fn classifying_never_panics(labels in prop::collection::vec(("[a-z]{1,6}", prop::collection::vec(any::<String>(), 0..4)), 0..5), msg in any::<String>()) {
        let input: Vec<Labelled> = labels
            .into_iter()
            .map(|(label, examples)| Labelled { label, examples })
            .collect();
        let m = Model::build(&input);
        let r = m.rank(&msg);
        for s in &r.scores {
            prop_assert!((0.0..=1.0).contains(&s.score), "score {} out of range", s.score);
        }
        let _ = m.held_out();
        let _ = r.deciding_words(3);
    }

    #[test]
    fn reading_markdown_never_panics(md in any::<String>(), lines in prop::collection::vec("(#{0,7} ?)[^\n]{0,30}", 0..12)) {
        let _ = sections(&md);
        let _ = sections(&lines.join("\n"));
    }

    #[test]
    fn engine_steps_with_intents_never_panic(msg in message()) {
        let program = support::program(&script(&[0, 1, 2, 3], 0, &[0, 1, 2, 3]));
        let r = replies(&program, &msg);
        prop_assert_eq!(r.len(), 1, "exactly one reply to {:?}", msg);
    }

    #[test]
    fn verdict_ignores_declaration_and_handler_order(
        intents in order(),
        handlers in order(),
        rot in 0usize..3,
        msg in message(),
    ) {
        let base = support::program(&script(&[0, 1, 2, 3], 0, &[0, 1, 2, 3]));
        let other = support::program(&script(&intents, rot, &handlers));
        let a = base.intents.classify(&msg);
        let b = other.intents.classify(&msg);
        prop_assert_eq!(&a, &b);
        // Each handler names its own intent, so the one that runs is the same.
        prop_assert_eq!(replies(&base, &msg), replies(&other, &msg));
    }

    #[test]
    fn verdict_is_the_same_in_another_thread(msg in message()) {
        let src = script(&[0, 1, 2, 3], 0, &[0, 1, 2, 3]);
        let here = support::program(&src).intents.classify(&msg);
        let m = msg.clone();
        // A fresh thread has fresh per-thread hash keys; nothing in the verdict may show it.
        let there = std::thread::spawn(move || support::program(&src).intents.classify(&m))
            .join()
            .map_err(|_| TestCaseError::fail("the other thread panicked"))?;
        prop_assert_eq!(format!("{here:?}"), format!("{there:?}"));
    }
}
