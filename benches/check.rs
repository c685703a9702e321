//! Parse + check of a generated 10,000-line script (target: under 100 ms on one core).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use wafl::syntax::span::FileId;

#[path = "../tests/support/gen.rs"]
mod generate;

fn parse_and_check(c: &mut Criterion) {
    let src = generate::script(10_000);
    let lines = src.lines().count();
    let mut group = c.benchmark_group("check");
    group.sample_size(20);
    group.bench_function(format!("parse_{lines}_lines"), |b| {
        b.iter(|| wafl::syntax::parse(FileId(0), black_box(&src)))
    });
    group.bench_function(format!("parse_and_check_{lines}_lines"), |b| {
        b.iter(|| wafl::session::analyze(FileId(0), black_box(&src)))
    });
    group.finish();
}

criterion_group!(benches, parse_and_check);
criterion_main!(benches);
