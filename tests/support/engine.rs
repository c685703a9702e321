//! One helper per boundary for engine tests: a `.flow` source in, its `test` blocks run
//! (or a scenario driven event by event) out. Only syntax errors stop a flow here; the
//! checker's findings are its own tests' business.

#![allow(dead_code)]

use wafl::compile::{self, Program};
use wafl::diag::render;
use wafl::session::Session;
use wafl::testrun::{self, Scenario};

/// Parses and compiles a flow; panics with the rendered syntax errors if it does not parse.
pub fn program(src: &str) -> Program {
    let mut session = Session::new();
    let id = session.add("test.flow", src);
    let analysis = session.analysis(id).expect("file was just added");
    let syntax: Vec<_> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.code.as_str().starts_with("E01"))
        .cloned()
        .collect();
    assert!(
        syntax.is_empty(),
        "the flow does not parse:\n{}",
        render::to_string(&session.sources, &syntax)
    );
    compile::compile(&analysis.parsed.file, &analysis.checked.symbols)
}

/// Runs every `test` block of the flow and returns `(name, rendered failure)` per test.
pub fn run_tests(src: &str) -> Vec<(String, Option<String>)> {
    let mut session = Session::new();
    let id = session.add("test.flow", src);
    let _ = program(src);
    let analysis = session.analysis(id).expect("file was just added");
    testrun::run_file(&analysis.parsed.file, &analysis.checked.symbols, None)
        .into_iter()
        .map(|r| {
            let failure = r
                .failure
                .as_ref()
                .map(|d| render::to_string(&session.sources, std::slice::from_ref(d)));
            (r.name, failure)
        })
        .collect()
}

/// Asserts that the flow has tests and that all of them pass.
pub fn assert_flow(src: &str) {
    let results = run_tests(src);
    assert!(!results.is_empty(), "the flow has no `test` blocks");
    let failures: Vec<String> = results.into_iter().filter_map(|(_, f)| f).collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Plays the flow's first `test` block, then hands the scenario over for events `test`
/// blocks cannot express (agents, delivery statuses, webhook answers).
pub fn with_flow(src: &str, f: impl FnOnce(&mut Scenario<'_>)) {
    let program = program(src);
    let mut session = Session::new();
    let id = session.add("test.flow", src);
    let analysis = session.analysis(id).expect("file was just added");
    let mut sc = Scenario::new(&program);
    if let Some(test) = testrun::tests_of(&analysis.parsed.file, None).next() {
        for step in &test.steps {
            if let Err(p) = sc.step(step) {
                panic!(
                    "{}: {:?}\n{}",
                    p.expected,
                    p.got,
                    sc.transcript().join("\n")
                );
            }
        }
    }
    f(&mut sc);
}

/// The bodies of the messages the latest step sent.
pub fn sent(sc: &Scenario<'_>) -> Vec<String> {
    sc.last_effects()
        .iter()
        .filter_map(|e| match &e.kind {
            wafl::engine::EffectKind::Send { message, .. } => Some(message.body().to_string()),
            _ => None,
        })
        .collect()
}
