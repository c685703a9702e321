//! Property tests of `wafl build` and `wafl graph`'s pure parts: whatever tree the parser
//! builds from a mangled example, the bundle, the Flow JSON of its forms and both graph
//! renderings are produced without panicking, the Flow JSON screen ids follow Meta's
//! rule (letters and underscores only), and the graph marks the stages the checker flags.

use proptest::prelude::*;
use wafl::compile::bundle;
use wafl::graph;
use wafl::session::analyze;
use wafl::syntax::span::FileId;

#[path = "support/mangle.rs"]
mod support;
use support::mangle;

fn seeds() -> Vec<String> {
    support::seeds(&["examples", "tests/cases/check/err"])
}

fn build_everything(src: &str) {
    let a = analyze(FileId(0), src);
    let b = bundle::build("x.flow", src, &a.parsed.file, &a.checked.symbols);
    for (_, flow) in &b.forms {
        for screen in flow["screens"].as_array().into_iter().flatten() {
            let id = screen["id"].as_str().unwrap_or("");
            assert!(
                !id.is_empty() && id.chars().all(|c| c.is_ascii_alphabetic() || c == '_'),
                "bad screen id {id:?}"
            );
        }
    }
    let g = graph::build(&a.parsed.file, &a.checked.symbols, src);
    let _ = graph::dot::render(&g);
    let _ = graph::mermaid::render(&g);
    // Without syntax errors (which hold back cascading findings) the graph's marks are
    // the checker's E0401 and E0402.
    if !a.parsed.diagnostics.iter().any(|d| d.is_error()) {
        for (code, marked) in [
            ("E0401", g.stages.iter().filter(|s| s.unreachable).count()),
            ("E0402", g.stages.iter().filter(|s| s.dead_end).count()),
        ] {
            let flagged = a
                .checked
                .diagnostics
                .iter()
                .filter(|d| d.code.as_str() == code)
                .count();
            assert_eq!(
                marked, flagged,
                "{code} disagrees with the graph on:\n{src}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn mangled_scripts_build_and_draw_without_panicking(
        seed in any::<prop::sample::Index>(),
        op in any::<u8>(),
        a in 0.0f64..1.0,
        b in 0.0f64..1.0,
        insert in prop::sample::select(vec![
            "{", "}", "\"", "é", "screen \"1 2 3\" { }", "screen \"Ação\" { x: yesno \"?\" }",
            "day: date \"D\" after 2026-02-30", "n: text \"N\" length between 99999999999 and 1",
            "q: number \"Q\" between -1 and 1e400", "goto nowhere", "close", "handoff",
            "after 0s silence { goto x }", "on keyword \"\\\"\" { close }", "\\n",
        ]),
    ) {
        let seeds = seeds();
        let src = &seeds[seed.index(seeds.len())];
        build_everything(&mangle(src, op, a, b, insert));
    }
}

#[test]
fn every_seed_builds_and_draws() {
    for src in seeds() {
        build_everything(&src);
    }
}

/// A duplicate stage declaration draws nothing: the graph agrees with the checker, which
/// only counts the first declaration (a case the property test once found).
#[test]
fn a_duplicate_stage_is_drawn_as_the_checker_sees_it() {
    build_everything(
        "flow \"D\" { timezone \"UTC\" }\nstage a { otherwise { reply \"x\" } }\nstage a { otherwise { close } }\n",
    );
}
