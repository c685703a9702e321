//! Property tests of the parser: whatever the input (random bytes, random text, or a
//! valid case with spans deleted, inserted or duplicated) parsing returns without
//! panicking, and every diagnostic points inside the source on char boundaries.

use proptest::prelude::*;
use wafl::syntax::{self, span::FileId};

/// The valid cases, the seeds of the mutation strategy.
fn ok_cases() -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir("tests/cases/syntax/ok") {
        let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if let Ok(s) = std::fs::read_to_string(&p) {
                out.push(s);
            }
        }
    }
    assert!(!out.is_empty(), "no seed cases found");
    out
}

/// Parses and checks the invariants every parse must keep.
fn check_parse(src: &str) {
    let parsed = syntax::parse(FileId(0), src);
    for d in &parsed.diagnostics {
        for span in std::iter::once(d.primary.span).chain(d.secondary.iter().map(|l| l.span)) {
            let (s, e) = (span.start as usize, span.end as usize);
            assert!(s <= e, "inverted span {s}..{e} in {d:?}");
            assert!(
                e <= src.len(),
                "span {s}..{e} past the end ({}) in {d:?}",
                src.len()
            );
            assert!(
                src.is_char_boundary(s) && src.is_char_boundary(e),
                "span {s}..{e} not on char boundaries in {d:?}"
            );
        }
        assert!(
            !d.message.contains("kw_"),
            "pest rule name leaked: {}",
            d.message
        );
    }
    for item in &parsed.file.items {
        let span = item.span();
        assert!(span.end as usize <= src.len());
    }
}

/// Moves an index down to a char boundary.
fn floor(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[derive(Clone, Debug)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, String),
    Duplicate(usize, usize, usize),
}

fn apply(src: &str, edits: &[Edit]) -> String {
    let mut s = src.to_string();
    for e in edits {
        let n = s.len().max(1);
        match e {
            Edit::Delete(a, len) => {
                let a = floor(&s, a % n);
                let b = floor(&s, a + len % 40);
                s.replace_range(a..b, "");
            }
            Edit::Insert(a, text) => {
                let a = floor(&s, a % n);
                s.insert_str(a, text);
            }
            Edit::Duplicate(a, len, to) => {
                let a = floor(&s, a % n);
                let b = floor(&s, a + len % 60);
                let piece = s[a..b].to_string();
                let to = floor(&s, to % n);
                s.insert_str(to, &piece);
            }
        }
    }
    s
}

fn edit() -> impl Strategy<Value = Edit> {
    let snippet = prop_oneof![
        Just("{".to_string()),
        Just("}".to_string()),
        Just("\"".to_string()),
        Just("(".to_string()),
        Just("/".to_string()),
        Just("\\".to_string()),
        Just("{x}".to_string()),
        Just(" stage ".to_string()),
        Just("\n".to_string()),
        Just("é".to_string()),
        "[ -~]{0,8}",
    ];
    prop_oneof![
        (any::<usize>(), any::<usize>()).prop_map(|(a, l)| Edit::Delete(a, l)),
        (any::<usize>(), snippet).prop_map(|(a, t)| Edit::Insert(a, t)),
        (any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(a, l, t)| Edit::Duplicate(a, l, t)),
    ]
}

/// Cases per property: `WAFL_FUZZ_CASES` raises it for long fuzzing runs.
fn fuzz_cases(default: u32) -> u32 {
    std::env::var("WAFL_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(fuzz_cases(256)))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        check_parse(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_text_never_panics(s in "\\PC{0,300}") {
        check_parse(&s);
    }

    #[test]
    fn language_soup_never_panics(
        words in proptest::collection::vec(
            prop_oneof![
                Just("stage"), Just("on"), Just("enter"), Just("{"), Just("}"), Just("reply"),
                Just("\"hi {x}\""), Just("when"), Just("("), Just(")"), Just("=="), Just("and"),
                Just("test"), Just("expect"), Just("field"), Just("x"), Just(":"), Just("text"),
                Just("matching"), Just("/a/"), Just("\n"), Just(";"), Just("10m"), Just("if"),
                Just("else"), Just("ask"), Just("\""), Just("-"), Just("not"), Just("["),
            ],
            0..80,
        )
    ) {
        check_parse(&words.join(" "));
    }

    #[test]
    fn mutated_cases_never_panic(
        seed in any::<prop::sample::Index>(),
        edits in proptest::collection::vec(edit(), 1..6),
    ) {
        let cases = ok_cases();
        let src = &cases[seed.index(cases.len())];
        check_parse(&apply(src, &edits));
    }
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    for (open, close) in [("(", ")"), ("{", "}"), ("[", "]")] {
        let deep = open.repeat(100_000);
        check_parse(&deep);
        let in_stage = format!(
            "stage s {{ on message when {}a{} {{ ignore }} }}",
            open.repeat(100_000),
            close.repeat(100_000)
        );
        check_parse(&in_stage);
        let parsed = syntax::parse(FileId(0), &in_stage);
        assert!(
            parsed
                .diagnostics
                .iter()
                .any(|d| d.code.as_str() == "E0103"),
            "expected a nesting diagnostic for {open}"
        );
    }
    let mixed = "({[".repeat(40_000);
    check_parse(&mixed);
}

#[test]
fn long_prefix_runs_are_refused_not_overflowed() {
    let prefixes = format!(
        "stage s {{ on message when {}a {{ ignore }} }}",
        "not ".repeat(100_000)
    );
    check_parse(&prefixes);
    let minus = format!(
        "stage s {{ on enter {{ set x = {}1 }} }}",
        "- ".repeat(100_000)
    );
    check_parse(&minus);
}

#[test]
fn long_operator_chains_are_refused_not_overflowed() {
    let chain = format!(
        "stage s {{ on enter {{ set x = 1{} }} }}",
        " + 1".repeat(100_000)
    );
    check_parse(&chain);
}

#[test]
fn long_else_chains_are_refused_not_overflowed() {
    let elses = format!(
        "stage s {{ on enter {{ if a {{ close }}{} }} }}",
        " else if a { close }".repeat(20_000)
    );
    check_parse(&elses);
}

#[test]
fn long_fallback_chains_are_refused_not_overflowed() {
    let asks = format!(
        "stage s {{ on enter {{ {} close }} }}",
        "ask x \"?\" else ".repeat(20_000)
    );
    check_parse(&asks);
}

#[test]
fn deep_interpolations_are_refused_not_overflowed() {
    let interp = format!(
        "stage s {{ on enter {{ reply \"{{{}a{}}}\" }} }}",
        "(".repeat(50_000),
        ")".repeat(50_000)
    );
    check_parse(&interp);
}

#[test]
fn a_long_script_parses_whole() {
    let mut src = String::from("flow \"Big\" { budget 100 }\n");
    let mut lines = 1;
    let mut i = 0;
    while lines < 10_000 {
        src.push_str(&format!(
            "stage s{i} {{\n  on enter {{ reply \"Hello {{contact.name}}, step {i}\" }}\n  on keyword \"a\", \"b\" when contact has tag \"vip\" and order is set {{\n    set total = quantity * 2 + 1\n    goto s{}\n  }}\n  otherwise {{ ignore }}\n}}\n",
            i + 1
        ));
        lines += 8;
        i += 1;
    }
    // Its speed is measured by `cargo bench --bench check`, not asserted here.
    let parsed = syntax::parse(FileId(0), &src);
    assert!(
        parsed.diagnostics.is_empty(),
        "{:?}",
        parsed.diagnostics.first()
    );
    assert_eq!(parsed.file.items.len(), i + 1);
}

/// The handlers of a stage that survive recovery, by trigger.
fn surviving_handlers(path: &str) -> (usize, usize) {
    let src = std::fs::read_to_string(path).unwrap_or_default();
    let parsed = syntax::parse(FileId(0), &src);
    let handlers = parsed
        .file
        .items
        .iter()
        .map(|i| match i {
            wafl::syntax::ast::Item::Stage(s) => s.handlers.len(),
            _ => 0,
        })
        .sum();
    (handlers, parsed.diagnostics.len())
}

#[test]
fn broken_handlers_are_reported_one_by_one_and_good_ones_kept() {
    // Three broken handlers between two good ones.
    assert_eq!(
        surviving_handlers("tests/cases/syntax/err/broken_handlers.flow"),
        (2, 3)
    );
    // A handler left open at the end of the file costs only that handler.
    assert_eq!(
        surviving_handlers("tests/cases/syntax/err/unclosed_at_eof.flow"),
        (2, 1)
    );
    // A stage left open before the next one costs only the open handler.
    assert_eq!(
        surviving_handlers("tests/cases/syntax/err/unclosed_brace.flow"),
        (1, 1)
    );
}
