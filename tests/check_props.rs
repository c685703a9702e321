//! Property tests of the checker: whatever tree the parser builds from a mangled script,
//! checking returns without panicking and every label points inside the source on char
//! boundaries.

use proptest::prelude::*;
use wafl::session::analyze;
use wafl::syntax::span::FileId;

#[path = "support/mangle.rs"]
mod support;
use support::mangle;

fn seeds() -> Vec<String> {
    support::seeds(&["tests/cases/check/ok", "tests/cases/check/err"])
}

fn assert_in_bounds(src: &str) {
    let analysis = analyze(FileId(0), src);
    for d in &analysis.diagnostics {
        for span in std::iter::once(d.primary.span).chain(d.secondary.iter().map(|l| l.span)) {
            let (s, e) = (span.start as usize, span.end as usize);
            assert!(
                s <= e && e <= src.len(),
                "span {s}..{e} out of bounds in {d:?}"
            );
            assert!(
                src.is_char_boundary(s) && src.is_char_boundary(e),
                "span {s}..{e} not on char boundaries in {d:?}"
            );
        }
    }
}

/// Cases per property: `WAFL_FUZZ_CASES` raises it for long fuzzing runs.
fn fuzz_cases(default: u32) -> u32 {
    std::env::var("WAFL_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(fuzz_cases(300)))]

    #[test]
    fn mangled_cases_check_without_panicking(
        seed in any::<prop::sample::Index>(),
        op in any::<u8>(),
        a in 0.0f64..1.0,
        b in 0.0f64..1.0,
        insert in prop::sample::select(vec![
            "{", "}", "\"", "0", "24:00", "0s", "2026-02-30", "/(/", "[]", "contact.", "é",
            "goto x", "set a = ", "tries 0", "between 9 and 1", "choice", "screen \"S\" { }",
            "reply buttons \"b\" []", "{contact.name}", " in ", " + ", " has tag \"v\"",
        ]),
    ) {
        let seeds = seeds();
        let src = seeds[seed.index(seeds.len())].as_str();
        assert_in_bounds(&mangle(src, op, a, b, insert));
    }
}
