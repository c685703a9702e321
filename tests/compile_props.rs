//! Property tests of `wafl build` and `wafl graph`'s pure parts: whatever tree the parser
//! builds from a mangled example, the bundle, the Flow JSON of its forms and both graph
//! renderings are produced without panicking, the Flow JSON screen ids follow Meta's
//! rule (letters and underscores only), and the graph marks the stages the checker flags.

use proptest::prelude::*;
use wafl::compile::bundle;
use wafl::graph;
use wafl::session::analyze;
use wafl::syntax::span::FileId;

/// The examples and the form cases, the seeds of the mutations.
fn seeds() -> Vec<String> {
    let mut out = Vec::new();
    for dir in ["examples", "tests/cases/check/err"] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut paths: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "flow"))
            .collect();
        paths.sort();
        for p in paths {
            if let Ok(s) = std::fs::read_to_string(&p) {
                out.push(s);
            }
        }
    }
    assert!(!out.is_empty(), "no seeds found");
    out
}

fn floor(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Deletes, duplicates or replaces a span of `src`, chosen by the fractions `a` and `b`.
fn mangle(src: &str, op: u8, a: f64, b: f64, insert: &str) -> String {
    let x = floor(src, (a * src.len() as f64) as usize);
    let y = floor(src, x + (b * 40.0) as usize);
    let (head, mid, tail) = (&src[..x], &src[x..y], &src[y..]);
    match op % 3 {
        0 => format!("{head}{tail}"),
        1 => format!("{head}{mid}{mid}{tail}"),
        _ => format!("{head}{insert}{tail}"),
    }
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
