//! The `test` blocks of a script, run against the engine with a virtual clock.
//!
//! A test plays one contact: it sends text, taps buttons, chooses list rows, submits
//! forms and advances the clock, and checks expectations against what the engine did.
//! The clock starts on Monday 2026-01-05 at 10:00 in the flow's time zone; `advance`
//! fires the due timers in order, each at its own instant. Output expectations (`expect
//! reply`, `template`, `posted`, `sent nothing`) look at what the latest `send`, `tap`,
//! `choose`, `submit` or `advance` produced; state expectations (`stage`, `routed`,
//! `field`...) look at the conversation as it is now.
//!
//! Running is pure: the caller reads files and prints; this module takes a parsed and
//! checked file and returns results with diagnostics.

mod scenario;
pub mod sim;

pub use scenario::{DEFAULT_CONTACT, Scenario, start_instant};

use crate::check::Symbols;
use crate::compile::{self, Program};
use crate::diag::{Diagnostic, codes};
use crate::syntax::ast::{self, Item};
use crate::syntax::span::Span;

/// The result of one `test` block.
#[derive(Clone, Debug)]
pub struct TestResult {
    pub name: String,
    pub span: Span,
    /// The failed expectation, with the transcript so far in a note.
    pub failure: Option<Diagnostic>,
}

impl TestResult {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// Runs the tests of a checked file whose names contain `filter` (all when `None`).
pub fn run_file(file: &ast::File, syms: &Symbols, filter: Option<&str>) -> Vec<TestResult> {
    let program = compile::compile(file, syms);
    tests_of(file, filter)
        .map(|t| run_test(&program, t))
        .collect()
}

/// The `test` blocks of a file whose names contain `filter`.
pub fn tests_of<'a>(
    file: &'a ast::File,
    filter: Option<&'a str>,
) -> impl Iterator<Item = &'a ast::TestDecl> + 'a {
    file.items.iter().filter_map(move |i| match i {
        Item::Test(t) if filter.is_none_or(|f| t.name.value.contains(f)) => Some(t),
        _ => None,
    })
}

/// Runs one test block.
pub fn run_test(program: &Program, test: &ast::TestDecl) -> TestResult {
    let mut sc = Scenario::new(program);
    let mut failure = None;
    for step in &test.steps {
        if let Err(problem) = sc.step(step) {
            let transcript = sc.transcript().join("\n");
            let mut d = Diagnostic::new(
                codes::EXPECTATION_FAILED,
                format!("test `{}` failed", test.name.value),
                step.span,
                problem.expected,
            )
            .with_secondary(test.name.span, "in this test");
            if let Some(got) = problem.got {
                d = d.with_note(format!("got: {got}"));
            }
            d = d.with_note(format!(
                "transcript so far:\n{}",
                if transcript.is_empty() {
                    "  (nothing happened)".to_string()
                } else {
                    transcript
                }
            ));
            failure = Some(d);
            break;
        }
    }
    TestResult {
        name: test.name.value.clone(),
        span: test.span,
        failure,
    }
}

/// Why an expectation did not hold.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// What the step expected ("expected stage `service`"), the primary label.
    pub expected: String,
    /// What there was instead.
    pub got: Option<String>,
}
