//! Replay of 10,000 recorded conversations against a candidate (target: under 10 s):
//! the shop conversations of `tests/support/conversations.rs`, 2,000 contacts each of
//! the five kinds, replayed against the same script (all identical, every turn compared)
//! and against a script with one reply reworded (the tracking conversations part at
//! their last turn).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use wafl::publish::replay::{self, Recording, Report};

#[path = "../tests/support/conversations.rs"]
mod conversations;

fn program(src: &str) -> wafl::compile::Program {
    let a = wafl::session::analyze(wafl::syntax::span::FileId(0), src);
    wafl::compile::compile(&a.parsed.file, &a.checked.symbols)
}

fn replay_10k(c: &mut Criterion) {
    let live = program(conversations::SHOP);
    let recordings: Vec<Recording> = (0..2_000u64)
        .flat_map(|i| conversations::recordings_of(&live, i * 10))
        .collect();
    let turns: usize = recordings.iter().map(|r| r.turns.len()).sum();
    let reworded = program(&conversations::SHOP.replace(
        "Order {order}: {status}.",
        "Your order {order} is {status}.",
    ));
    let mut group = c.benchmark_group("replay");
    group.sample_size(10);
    for (name, candidate) in [("identical", &live), ("reworded", &reworded)] {
        group.bench_function(
            format!("{}_conversations_{turns}_turns_{name}", recordings.len()),
            |b| {
                b.iter(|| {
                    let all: Vec<_> = recordings
                        .iter()
                        .map(|r| replay::replay(black_box(candidate), r))
                        .collect();
                    Report::new(candidate, None, all)
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, replay_10k);
criterion_main!(benches);
